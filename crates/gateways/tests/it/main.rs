//! The gateways crate's integration tests, one binary: each provider against a local server
//! that checks requests the way the real service does (signatures, digests, timestamps) and
//! answers like it, including its failures. `fake_pay` (Alipay, WeChat Pay) and `fake_faceid`
//! (Tencent FaceID) are stand-ins that certhall's hall tests include too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_faceid;
mod fake_pay;

mod alipay;
mod nuonuo;
mod sf_courier;
mod tencent_faceid;
mod tencent_sms;
mod wechat;
