//! WeChat Pay (API v3) alone against the local fake (`fake_pay`): native pay is signed and its
//! signed answer checked, notifications are verified (platform signature, serial, five-minute
//! replay window, AEAD-sealed resource) and read as they are, and a refund is signed both
//! ways.

use crate::fake_pay::{self, gateway_server, pem, wechat_notify, APPID, MCHID, V3KEY};
use app::payments::{
    NoticeStatus, Notification, PayRequest, PayStart, PaymentGateway, RefundAnswer, RefundRequest,
    RefundStatus,
};
use gateways::payments::alipay::{rsa2_sign, signing_key};
use gateways::payments::wechat::{WechatConfig, WechatPay};

const TRADE: &str = "XB20261123000001P0002";
/// 2026-11-23 10:05 Beijing time, in seconds.
const TS: i64 = 1_795_399_500;
const PLATFORM: &str = "wechat_platform_key";

fn request(amount_fen: i64) -> PayRequest {
    PayRequest {
        trade_no: TRADE.into(),
        amount_fen,
        subject: "数字证书 业务单".into(),
        notify_url: "http://hall.example/api/v1/callbacks/wechat".into(),
        return_url: "http://hall.example/orders/XB20261123000001/payment".into(),
    }
}

fn notification((headers, body): (Vec<(&'static str, String)>, Vec<u8>)) -> Notification {
    Notification {
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        body,
    }
}

fn with_merchant_key(server: &str, key: &str) -> WechatPay {
    WechatPay::new(WechatConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        serial_no: "MERCHANT-SERIAL-1".into(),
        private_key_pem: pem(key).into(),
        platform_public_key_pem: pem("wechat_platform_pub"),
        platform_serial: "PLATFORM-SERIAL-1".into(),
        api_v3_key: V3KEY.to_owned().into(),
        base_url: server.into(),
    })
    .unwrap()
}

#[tokio::test]
async fn native_pay_is_signed_and_answers_a_signed_code_url() {
    let server = gateway_server().await;
    let gw = fake_pay::wechat(&server);
    assert_eq!(
        gw.start(&request(240_000)).await.unwrap(),
        PayStart::QrCode("weixin://wxpay/bizpayurl?pr=TESTQR1".into())
    );
    // The server checks what it is asked: another amount is a PARAM_ERROR.
    let e = gw.start(&request(1)).await.unwrap_err();
    assert!(e.to_string().contains("PARAM_ERROR"), "{e}");
    // A request signed with a key WeChat Pay does not know for us: SIGN_ERROR, answered
    // unsigned and reported as WeChat Pay's code and message.
    let e = with_merchant_key(&server, "alipay_merchant_key")
        .start(&request(240_000))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "provider refused: 微信支付 SIGN_ERROR 签名错误 (HTTP 401)"
    );
}

/// The local server refuses what WeChat Pay may refuse: no `User-Agent`, no
/// `Wechatpay-Serial` (the platform-public-key mode); the provider sends both.
#[tokio::test]
async fn requests_carry_a_user_agent_and_the_platform_serial() {
    let server = gateway_server().await;
    // A correctly signed request without the two headers is refused: the check is real.
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{server}/v3/pay/transactions/native"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("wechatpay-signature").is_none());
    // The provider's requests pass it (and its unsigned error answers read as such).
    assert!(fake_pay::wechat(&server)
        .start(&request(240_000))
        .await
        .is_ok());
    assert!(gateways::USER_AGENT.starts_with("certhall/"));
}

#[tokio::test]
async fn notifications_are_verified_and_read() {
    let gw = fake_pay::wechat("http://127.0.0.1:9");
    let now = TS * 1000;
    let n = gw
        .verify(
            &notification(wechat_notify(
                PLATFORM, TS, TRADE, 240_000, "SUCCESS", MCHID,
            )),
            now,
        )
        .unwrap();
    assert_eq!(
        (
            n.trade_no.as_str(),
            n.provider_ref.as_str(),
            n.amount_fen,
            n.currency.as_str(),
            n.merchant.as_str(),
            n.status
        ),
        (
            TRADE,
            "4200000000202611230000000001",
            240_000,
            "CNY",
            MCHID,
            NoticeStatus::Paid
        )
    );
    let n = gw
        .verify(
            &notification(wechat_notify(PLATFORM, TS, TRADE, 240_000, "NOTPAY", MCHID)),
            now,
        )
        .unwrap();
    assert_eq!(n.status, NoticeStatus::Pending);
    // Within the replay window either side of our clock.
    for skew in [-299, 299] {
        assert!(gw
            .verify(
                &notification(wechat_notify(
                    PLATFORM,
                    TS + skew,
                    TRADE,
                    240_000,
                    "SUCCESS",
                    MCHID
                )),
                now,
            )
            .is_ok());
    }
    // What the hall refuses is read faithfully: another amount, another merchant.
    let n = gw
        .verify(
            &notification(wechat_notify(PLATFORM, TS, TRADE, 1, "SUCCESS", MCHID)),
            now,
        )
        .unwrap();
    assert_eq!(n.amount_fen, 1);
    let n = gw
        .verify(
            &notification(wechat_notify(
                PLATFORM,
                TS,
                TRADE,
                240_000,
                "SUCCESS",
                "1900000999",
            )),
            now,
        )
        .unwrap();
    assert_ne!(n.merchant, gw.merchant());

    // Refused: forged, replayed outside five minutes, another platform serial, a tampered
    // ciphertext under a valid signature (only the AEAD tag catches it).
    let forged = wechat_notify("wechat_merchant_key", TS, TRADE, 240_000, "SUCCESS", MCHID);
    let stale = wechat_notify(PLATFORM, TS - 600, TRADE, 240_000, "SUCCESS", MCHID);
    let (mut h, body) = wechat_notify(PLATFORM, TS, TRADE, 240_000, "SUCCESS", MCHID);
    h[4].1 = "OTHER-SERIAL".into();
    let other_serial = (h, body);
    let (mut h, body) = wechat_notify(PLATFORM, TS, TRADE, 240_000, "SUCCESS", MCHID);
    let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ct = v["resource"]["ciphertext"].as_str().unwrap().to_owned();
    v["resource"]["ciphertext"] = serde_json::Value::String(format!("A{}", &ct[1..]));
    let tampered = v.to_string().into_bytes();
    h[3].1 = rsa2_sign(
        &signing_key(&pem(PLATFORM)).unwrap(),
        &format!(
            "{}\n{}\n{}\n",
            h[1].1,
            h[2].1,
            String::from_utf8_lossy(&tampered)
        ),
    );
    let resealed = (h, tampered);
    let (h, body) = wechat_notify(PLATFORM, TS, TRADE, 240_000, "SUCCESS", MCHID);
    let mut changed = body.clone();
    changed.push(b' ');
    for (what, n) in [
        ("forged", forged),
        ("stale", stale),
        ("other serial", other_serial),
        ("tampered ciphertext", resealed),
        ("body changed after signing", (h, changed)),
    ] {
        assert!(gw.verify(&notification(n), now).is_err(), "{what}");
    }
    assert_eq!((gw.ack(true).status, gw.ack(false).status), (200, 400));
}

fn refund(no: &str, amount_fen: i64) -> RefundRequest {
    RefundRequest {
        trade_no: TRADE.into(),
        refund_no: no.into(),
        total_fen: 240_000,
        amount_fen,
        reason: "申请人放弃办理".into(),
        notify_url: "http://hall.example/api/v1/callbacks/wechat/refund".into(),
    }
}

#[tokio::test]
async fn a_refund_is_signed_both_ways() {
    let server = gateway_server().await;
    let gw = fake_pay::wechat(&server);
    let no = format!("{TRADE}R1");
    // PROCESSING is not refunded: the answer says so, and a query follows it to SUCCESS.
    assert_eq!(
        gw.refund(&refund(&no, 240_000)).await.unwrap(),
        RefundAnswer {
            refund_ref: "50000000382019052709732678859".into(),
            status: RefundStatus::Processing
        }
    );
    assert_eq!(
        gw.query_refund(&refund(&no, 240_000)).await.unwrap().status,
        RefundStatus::Succeeded
    );
    let e = gw.refund(&refund(&no, 100)).await.unwrap_err();
    assert!(e.to_string().contains("PARAM_ERROR"), "{e}");
    let e = with_merchant_key(&server, "alipay_merchant_key")
        .refund(&refund(&no, 240_000))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SIGN_ERROR 签名错误"), "{e}");
    assert!(!e.to_string().contains("signature"), "{e}");
}

#[tokio::test]
async fn refund_states_are_read_from_answers_queries_and_notifications() {
    let server = gateway_server().await;
    let gw = fake_pay::wechat(&server);
    let no = format!("{TRADE}R9");
    fake_pay::script_refund(&no, &["PROCESSING", "PROCESSING", "ABNORMAL"]);
    let st = |a: RefundAnswer| a.status;
    assert_eq!(
        st(gw.refund(&refund(&no, 240_000)).await.unwrap()),
        RefundStatus::Processing
    );
    assert_eq!(
        st(gw.query_refund(&refund(&no, 240_000)).await.unwrap()),
        RefundStatus::Processing
    );
    assert_eq!(
        st(gw.query_refund(&refund(&no, 240_000)).await.unwrap()),
        RefundStatus::Abnormal
    );
    // A refund number WeChat Pay never saw: its (signed) 404, reported with its code.
    let e = gw
        .query_refund(&refund("XB-NEVER-ASKED", 240_000))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("RESOURCE_NOT_EXISTS"), "{e}");
    // Refund notifications: verified, decrypted, read.
    let now = TS * 1000;
    for (status, want) in [
        ("SUCCESS", RefundStatus::Succeeded),
        ("ABNORMAL", RefundStatus::Abnormal),
        ("CLOSED", RefundStatus::Closed),
    ] {
        let n = gw
            .verify_refund(
                &notification(fake_pay::wechat_refund_notify(
                    PLATFORM, TS, TRADE, &no, status,
                )),
                now,
            )
            .unwrap();
        assert_eq!(
            (
                n.trade_no.as_str(),
                n.refund_no.as_str(),
                n.merchant.as_str(),
                n.answer.status
            ),
            (TRADE, no.as_str(), MCHID, want)
        );
    }
    let forged = fake_pay::wechat_refund_notify("wechat_merchant_key", TS, TRADE, &no, "SUCCESS");
    assert!(gw.verify_refund(&notification(forged), now).is_err());
    let stale = fake_pay::wechat_refund_notify(PLATFORM, TS - 600, TRADE, &no, "SUCCESS");
    assert!(gw.verify_refund(&notification(stale), now).is_err());
}
