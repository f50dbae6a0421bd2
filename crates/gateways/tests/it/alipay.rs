//! Alipay (RSA2) alone against the local fake (`fake_pay`): the page-pay redirect is signed
//! over the sorted pairs, notifications are verified with the platform key and read as they
//! are (the hall refuses wrong amounts and other merchants from what they say), and a refund
//! is signed both ways.

use crate::fake_pay::{self, alipay_notify, gateway_server, pem, ALIPAY_APP, ALIPAY_SELLER};
use app::payments::{
    NoticeStatus, Notification, PayRequest, PayStart, PaymentGateway, RefundRequest,
};
use gateways::payments::alipay::{
    rsa2_verify, sign_content, verify_content, verifying_key, Alipay, AlipayConfig,
};
use gateways::payments::form_decode;

const TRADE: &str = "XB20261123000001P0001";

fn request() -> PayRequest {
    PayRequest {
        trade_no: TRADE.into(),
        amount_fen: 240_000,
        subject: "数字证书 业务单".into(),
        notify_url: "http://hall.example/api/v1/callbacks/alipay".into(),
        return_url: "http://hall.example/orders/XB20261123000001/payment".into(),
    }
}

fn notification(body: Vec<u8>) -> Notification {
    Notification {
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body,
    }
}

fn refund_of(amount_fen: i64) -> RefundRequest {
    RefundRequest {
        trade_no: TRADE.into(),
        refund_no: format!("{TRADE}R1"),
        total_fen: 240_000,
        amount_fen,
        reason: "申请人放弃办理".into(),
        notify_url: "http://hall.example/api/v1/callbacks/alipay/refund".into(),
    }
}

#[tokio::test]
async fn the_page_pay_redirect_is_rsa2_signed_over_the_sorted_pairs() {
    let server = gateway_server().await;
    let gw = fake_pay::alipay(&server);
    let PayStart::Redirect(url) = gw.start(&request()).await.unwrap() else {
        panic!("Alipay page pay redirects")
    };
    let (to, query) = url.split_once('?').unwrap();
    assert_eq!(to, format!("{server}/gateway.do"));
    let pairs = form_decode(query.as_bytes()).unwrap();
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).unwrap().1.clone();
    assert!(rsa2_verify(
        &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
        &sign_content(&pairs, &[]),
        &get("sign")
    ));
    assert_eq!(
        (get("app_id"), get("method"), get("sign_type")),
        (
            ALIPAY_APP.to_owned(),
            "alipay.trade.page.pay".to_owned(),
            "RSA2".to_owned()
        )
    );
    let biz: serde_json::Value = serde_json::from_str(&get("biz_content")).unwrap();
    assert_eq!(
        (biz["out_trade_no"].as_str(), biz["total_amount"].as_str()),
        (Some(TRADE), Some("2400.00"))
    );
    assert_eq!(get("notify_url"), request().notify_url);
    // Changed after signing: the signature no longer holds.
    let mut tampered = pairs.clone();
    for (k, v) in &mut tampered {
        if k == "biz_content" {
            *v = v.replace("2400.00", "0.01");
        }
    }
    assert!(!rsa2_verify(
        &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
        &sign_content(&tampered, &[]),
        &get("sign")
    ));
}

#[tokio::test]
async fn notifications_signed_by_the_platform_are_read_and_others_refused() {
    let gw = fake_pay::alipay("http://127.0.0.1:9");
    let k = "alipay_platform_key";
    let n = gw
        .verify(
            &notification(alipay_notify(
                k,
                TRADE,
                "2400.00",
                "TRADE_SUCCESS",
                ALIPAY_APP,
            )),
            0,
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
            "2026112322001404000000000001",
            240_000,
            "CNY",
            ALIPAY_APP,
            NoticeStatus::Paid
        )
    );
    for (status, want) in [
        ("WAIT_BUYER_PAY", NoticeStatus::Pending),
        ("TRADE_FINISHED", NoticeStatus::Paid),
        ("TRADE_CLOSED", NoticeStatus::Closed),
    ] {
        let n = gw
            .verify(
                &notification(alipay_notify(k, TRADE, "2400.00", status, ALIPAY_APP)),
                0,
            )
            .unwrap();
        assert_eq!(n.status, want, "{status}");
    }
    // What the hall refuses is read faithfully: another amount, another merchant.
    let n = gw
        .verify(
            &notification(alipay_notify(k, TRADE, "0.01", "TRADE_SUCCESS", ALIPAY_APP)),
            0,
        )
        .unwrap();
    assert_eq!(n.amount_fen, 1);
    let n = gw
        .verify(
            &notification(alipay_notify(
                k,
                TRADE,
                "2400.00",
                "TRADE_SUCCESS",
                "2021000000009999",
            )),
            0,
        )
        .unwrap();
    assert_ne!(n.merchant, gw.merchant());
    // Refused: signed with the merchant's own key (forged), changed after signing, no
    // signature worth the name, another signature type.
    let forged = alipay_notify(
        "alipay_merchant_key",
        TRADE,
        "2400.00",
        "TRADE_SUCCESS",
        ALIPAY_APP,
    );
    let changed = String::from_utf8(alipay_notify(
        k,
        TRADE,
        "2400.00",
        "TRADE_SUCCESS",
        ALIPAY_APP,
    ))
    .unwrap()
    .replace("total_amount=2400.00", "total_amount=0.01")
    .into_bytes();
    let rsa1 = String::from_utf8(alipay_notify(
        k,
        TRADE,
        "2400.00",
        "TRADE_SUCCESS",
        ALIPAY_APP,
    ))
    .unwrap()
    .replace("sign_type=RSA2", "sign_type=RSA")
    .into_bytes();
    for (what, body) in [
        ("forged", forged),
        ("changed", changed),
        ("garbage", b"sign=abc&sign_type=RSA2".to_vec()),
        ("RSA", rsa1),
        ("not a form", b"%zz".to_vec()),
    ] {
        assert!(gw.verify(&notification(body), 0).is_err(), "{what}");
    }
    assert_eq!(
        (gw.ack(true).body.as_str(), gw.ack(false).body.as_str()),
        ("success", "fail")
    );
}

#[tokio::test]
async fn a_refund_is_signed_both_ways() {
    let server = gateway_server().await;
    let gw = fake_pay::alipay(&server);
    assert_eq!(
        gw.refund(&refund_of(240_000)).await.unwrap(),
        app::payments::RefundAnswer {
            refund_ref: "2026112322001400000000000001".into(),
            status: app::payments::RefundStatus::Succeeded
        }
    );
    // The server refuses (a signed error answer): the gateway says so, with Alipay's words.
    let e = gw.refund(&refund_of(100)).await.unwrap_err();
    assert!(
        e.to_string().contains("40004 Business Failed")
            && e.to_string()
                .contains("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL 退款金额超限"),
        "{e}"
    );
    // An answer not signed by the key we trust is refused, whatever it says.
    let trusting_another = Alipay::new(AlipayConfig {
        app_id: ALIPAY_APP.into(),
        private_key_pem: pem("alipay_merchant_key").into(),
        alipay_public_key_pem: pem("alipay_merchant_pub"),
        seller_id: ALIPAY_SELLER.into(),
        gateway_url: format!("{server}/gateway.do"),
    })
    .unwrap();
    let e = trusting_another
        .refund(&refund_of(240_000))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");
    // A request we signed with another key is refused by the server, which cannot sign
    // its answer for us: reported as Alipay's error, not as a signature failure of ours.
    let wrong_key = Alipay::new(AlipayConfig {
        app_id: ALIPAY_APP.into(),
        private_key_pem: pem("alipay_platform_key").into(),
        alipay_public_key_pem: pem("alipay_platform_pub"),
        seller_id: ALIPAY_SELLER.into(),
        gateway_url: format!("{server}/gateway.do"),
    })
    .unwrap();
    let e = wrong_key.refund(&refund_of(240_000)).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("支付宝 40002 Invalid Arguments (isv.invalid-signature 验签出错)"),
        "{e}"
    );
    assert!(!e.to_string().contains("mismatch"), "{e}");
}

/// Alipay's unsigned answers: `error_response` for an app it does not know, and what a
/// local server answers when it must not be believed (an unsigned success).
#[tokio::test]
async fn unsigned_error_answers_are_reported_as_alipay_says_them() {
    let server = gateway_server().await;
    let unknown_app = Alipay::new(AlipayConfig {
        app_id: "2021000000009999".into(),
        private_key_pem: pem("alipay_merchant_key").into(),
        alipay_public_key_pem: pem("alipay_platform_pub"),
        seller_id: ALIPAY_SELLER.into(),
        gateway_url: format!("{server}/gateway.do"),
    })
    .unwrap();
    let e = unknown_app.refund(&refund_of(240_000)).await.unwrap_err();
    assert!(matches!(e, app::GatewayError::Refused(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "provider refused: 支付宝 40002 Invalid Arguments (isv.invalid-app-id 无效的AppID参数)"
    );
    // An unsigned success is never believed.
    async fn unsigned_success() -> &'static str {
        r#"{"alipay_trade_refund_response":{"code":"10000","msg":"Success","trade_no":"1","fund_change":"Y"}}"#
    }
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let app = axum::Router::new().route("/gateway.do", axum::routing::post(unsigned_success));
    tokio::spawn(async move { axum::serve(l, app).await });
    let e = fake_pay::alipay(&base)
        .refund(&refund_of(240_000))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("未签名"), "{e}");
}

/// The vectors of `tests/data/vectors/gen_alipay.py`, made with Alipay's own Python SDK
/// (`get_sign_content`, `sign_with_rsa2`): a genuine notification with empty `body=` and
/// `passback_params=` is accepted, one signed over the string without them is refused.
#[test]
fn notifications_are_verified_over_alipays_own_string_empties_kept() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors");
    let read = |f: &str| std::fs::read(format!("{dir}/{f}")).unwrap();
    let genuine = read("alipay_notify_empty_values.form");
    // Our string is the SDK's, byte for byte.
    let pairs = form_decode(&genuine).unwrap();
    assert_eq!(
        verify_content(&pairs).into_bytes(),
        read("alipay_notify_empty_values.content")
    );
    let gw = fake_pay::alipay("http://127.0.0.1:9");
    let n = gw.verify(&notification(genuine.clone()), 0).unwrap();
    assert_eq!(
        (n.trade_no.as_str(), n.amount_fen, n.status),
        (TRADE, 240_000, NoticeStatus::Paid)
    );
    let forged = read("alipay_notify_empties_dropped.form");
    let e = gw.verify(&notification(forged), 0).unwrap_err();
    assert!(e.to_string().contains("signature mismatch"), "{e}");
    // Genuine, but for another merchant (Alipay's checklist: seller_id must be ours).
    let other_seller = Alipay::new(AlipayConfig {
        app_id: ALIPAY_APP.into(),
        private_key_pem: pem("alipay_merchant_key").into(),
        alipay_public_key_pem: pem("alipay_platform_pub"),
        seller_id: "2088000000009999".into(),
        gateway_url: "http://127.0.0.1:9/gateway.do".into(),
    })
    .unwrap();
    let e = other_seller.verify(&notification(genuine), 0).unwrap_err();
    assert!(e.to_string().contains("seller_id"), "{e}");
}
