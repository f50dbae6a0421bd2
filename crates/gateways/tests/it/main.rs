//! The gateways crate's integration tests, one binary: each provider against a local server
//! that checks requests the way the real service does (signatures, digests, timestamps) and
//! answers like it, including its failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sf_courier;
mod tencent_sms;
