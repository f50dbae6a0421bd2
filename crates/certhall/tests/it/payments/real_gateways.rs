//! Alipay (RSA2) and WeChat Pay (API v3) through the hall, against a local server that checks
//! requests and signs answers the way those gateways do: the redirect or QR code, forged and
//! replayed notifications refused, ten parallel ones credit once, refunds signed both ways.

use super::*;
use app::payments::PaymentGateway;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use gateways::payments::alipay::{
    rsa2_sign, rsa2_verify, sign_content, signing_key, verifying_key, Alipay, AlipayConfig,
};
use gateways::payments::wechat::{encrypt_resource, WechatConfig, WechatPay};
use gateways::payments::{form_decode, form_encode};
use std::sync::Arc;

fn pem(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/test_{name}.pem")).unwrap()
}

pub const ALIPAY_APP: &str = "2021000000000001";
pub const MCHID: &str = "1900000109";
pub const APPID: &str = "wxd678efh567hg6787";
pub const V3KEY: &str = "0123456789abcdef0123456789ABCDEF";

/// A local server that checks requests the way Alipay and WeChat Pay would and answers
/// with their signatures.
async fn gateway_server() -> String {
    async fn alipay(body: Bytes) -> axum::response::Response {
        let pairs = form_decode(&body).unwrap();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let ok = rsa2_verify(
            &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
            &sign_content(&pairs, &[]),
            &get("sign"),
        ) && get("app_id") == ALIPAY_APP
            && get("sign_type") == "RSA2"
            && get("method") == "alipay.trade.refund";
        let biz: serde_json::Value = serde_json::from_str(&get("biz_content")).unwrap_or_default();
        let member = if ok && biz["refund_amount"] == "2400.00" {
            format!(
                r#"{{"code":"10000","msg":"Success","trade_no":"2026112322001400000000000001","out_trade_no":"{}","refund_fee":"2400.00","fund_change":"Y"}}"#,
                biz["out_trade_no"].as_str().unwrap_or("")
            )
        } else {
            r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}"#.to_owned()
        };
        let sign = rsa2_sign(&signing_key(&pem("alipay_platform_key")).unwrap(), &member);
        format!(r#"{{"alipay_trade_refund_response":{member},"sign":"{sign}"}}"#).into_response()
    }
    async fn wechat(
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let field = |k: &str| {
            let i = auth.find(&format!("{k}=\"")).map(|i| i + k.len() + 2)?;
            let end = auth[i..].find('"')? + i;
            Some(auth[i..end].to_owned())
        };
        let msg = format!(
            "POST\n{}\n{}\n{}\n{}\n",
            uri.path(),
            field("timestamp").unwrap_or_default(),
            field("nonce_str").unwrap_or_default(),
            String::from_utf8_lossy(&body)
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let ok = auth.starts_with("WECHATPAY2-SHA256-RSA2048 ")
            && field("mchid").as_deref() == Some(MCHID)
            && rsa2_verify(
                &verifying_key(&pem("wechat_merchant_pub")).unwrap(),
                &msg,
                &field("signature").unwrap_or_default(),
            );
        let (status, answer) = if !ok {
            (
                401,
                r#"{"code":"SIGN_ERROR","message":"签名错误"}"#.to_owned(),
            )
        } else if uri.path() == "/v3/pay/transactions/native"
            && v["amount"]["total"] == 240_000
            && v["amount"]["currency"] == "CNY"
            && v["appid"] == APPID
        {
            (
                200,
                r#"{"code_url":"weixin://wxpay/bizpayurl?pr=TESTQR1"}"#.to_owned(),
            )
        } else if uri.path() == "/v3/refund/domestic/refunds" && v["amount"]["refund"] == 240_000 {
            (
                200,
                r#"{"refund_id":"50000000382019052709732678859","status":"PROCESSING"}"#.to_owned(),
            )
        } else {
            (
                400,
                r#"{"code":"PARAM_ERROR","message":"参数错误"}"#.to_owned(),
            )
        };
        let ts = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs())
        .to_string();
        let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
        let sig = rsa2_sign(
            &signing_key(&pem("wechat_platform_key")).unwrap(),
            &format!("{ts}\n{nonce}\n{answer}\n"),
        );
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [
                ("content-type", "application/json".to_owned()),
                ("wechatpay-timestamp", ts),
                ("wechatpay-nonce", nonce.to_owned()),
                ("wechatpay-signature", sig),
                ("wechatpay-serial", "PLATFORM-SERIAL-1".to_owned()),
            ],
            answer,
        )
            .into_response()
    }
    let app = axum::Router::new()
        .route("/gateway.do", axum::routing::post(alipay))
        .route("/v3/pay/transactions/native", axum::routing::post(wechat))
        .route("/v3/refund/domestic/refunds", axum::routing::post(wechat));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    base
}

async fn hall_with_real(server: &str) -> TestHall {
    let alipay = Alipay::new(AlipayConfig {
        app_id: ALIPAY_APP.into(),
        private_key_pem: pem("alipay_merchant_key").into(),
        alipay_public_key_pem: pem("alipay_platform_pub"),
        gateway_url: format!("{server}/gateway.do"),
    })
    .unwrap();
    let wechat = WechatPay::new(WechatConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        serial_no: "MERCHANT-SERIAL-1".into(),
        private_key_pem: pem("wechat_merchant_key").into(),
        platform_public_key_pem: pem("wechat_platform_pub"),
        platform_serial: "PLATFORM-SERIAL-1".into(),
        api_v3_key: V3KEY.to_owned().into(),
        base_url: server.into(),
    })
    .unwrap();
    TestHall::builder(Backend::Sqlite)
        .gateways(vec![
            Arc::new(alipay) as Arc<dyn PaymentGateway>,
            Arc::new(wechat),
        ])
        .start()
        .await
}

async fn post(
    hall: &TestHall,
    gw: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut r = reqwest::Client::new().post(format!("{}/api/v1/callbacks/{gw}", hall.base));
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let r = r.body(body).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Paid payments and credit events of an order.
async fn credits(hall: &TestHall, no: &str) -> (usize, usize) {
    let o = hall.app.order_by_no(no).await.unwrap();
    let paid = hall
        .app
        .payments
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()
        .iter()
        .filter(|p| p.state == PayState::Paid)
        .count();
    let ev = hall.app.order_history(o.user_id, no).await.unwrap().1;
    (
        paid,
        ev.iter().filter(|e| e.what.contains("支付成功")).count(),
    )
}

fn alipay_notify(key: &str, trade_no: &str, amount: &str, status: &str, app_id: &str) -> Vec<u8> {
    let mut pairs: Vec<(String, String)> = [
        ("notify_time", "2026-11-23 10:05:00"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
        ("app_id", app_id),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("trade_no", "2026112322001404000000000001"),
        ("out_trade_no", trade_no),
        ("total_amount", amount),
        ("trade_status", status),
        ("subject", "数字证书 业务单"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let sig = rsa2_sign(
        &signing_key(&pem(key)).unwrap(),
        &sign_content(&pairs, &["sign_type"]),
    );
    pairs.push(("sign".into(), sig));
    form_encode(&pairs).into_bytes()
}

#[tokio::test]
async fn alipay_rsa2_against_a_local_server() {
    let server = gateway_server().await;
    let hall = hall_with_real(&server).await;
    let (b, no) = pending_payment(&hall, "13800000051").await;
    let (s, loc, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "alipay")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    // The page-pay redirect carries a request Alipay accepts: RSA2 over the sorted pairs.
    let (url, query) = loc.split_once('?').unwrap();
    assert_eq!(url, format!("{server}/gateway.do"));
    let pairs = form_decode(query.as_bytes()).unwrap();
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).unwrap().1.clone();
    assert!(rsa2_verify(
        &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
        &sign_content(&pairs, &[]),
        &get("sign")
    ));
    let biz: serde_json::Value = serde_json::from_str(&get("biz_content")).unwrap();
    assert_eq!(biz["total_amount"], "2400.00");
    assert!(get("notify_url").ends_with("/api/v1/callbacks/alipay"));
    let trade_no = biz["out_trade_no"].as_str().unwrap().to_owned();
    let form = [(
        "content-type",
        "application/x-www-form-urlencoded".to_owned(),
    )];

    // Refused: signed with another key (forged), changed after signing, wrong amount,
    // another merchant, an unknown order.
    let mut refused = vec![
        alipay_notify(
            "alipay_merchant_key",
            &trade_no,
            "2400.00",
            "TRADE_SUCCESS",
            ALIPAY_APP,
        ),
        String::from_utf8(alipay_notify(
            "alipay_platform_key",
            &trade_no,
            "2400.00",
            "TRADE_SUCCESS",
            ALIPAY_APP,
        ))
        .unwrap()
        .replace("total_amount=2400.00", "total_amount=0.01")
        .into_bytes(),
        alipay_notify(
            "alipay_platform_key",
            &trade_no,
            "0.01",
            "TRADE_SUCCESS",
            ALIPAY_APP,
        ),
        alipay_notify(
            "alipay_platform_key",
            &trade_no,
            "2400.00",
            "TRADE_SUCCESS",
            "2021000000009999",
        ),
        alipay_notify(
            "alipay_platform_key",
            "XB20261123000001PFFFF",
            "2400.00",
            "TRADE_SUCCESS",
            ALIPAY_APP,
        ),
    ];
    refused.push(b"sign=abc&sign_type=RSA2".to_vec());
    for body in refused {
        assert_eq!(
            post(&hall, "alipay", &form, body).await,
            (StatusCode::OK, "fail".into())
        );
    }
    assert_eq!(credits(&hall, &no).await, (0, 0));
    // Out of order: WAIT_BUYER_PAY first is acknowledged and credits nothing.
    let wait = alipay_notify(
        "alipay_platform_key",
        &trade_no,
        "2400.00",
        "WAIT_BUYER_PAY",
        ALIPAY_APP,
    );
    assert_eq!(
        post(&hall, "alipay", &form, wait).await,
        (StatusCode::OK, "success".into())
    );
    assert_eq!(credits(&hall, &no).await, (0, 0));
    // The valid one, ten times in parallel, then replayed, then a late TRADE_CLOSED.
    let ok = alipay_notify(
        "alipay_platform_key",
        &trade_no,
        "2400.00",
        "TRADE_SUCCESS",
        ALIPAY_APP,
    );
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (base, body) = (hall.base.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/callbacks/alipay"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), "success");
    }
    assert_eq!(post(&hall, "alipay", &form, ok).await.1, "success");
    let closed = alipay_notify(
        "alipay_platform_key",
        &trade_no,
        "2400.00",
        "TRADE_CLOSED",
        ALIPAY_APP,
    );
    assert_eq!(post(&hall, "alipay", &form, closed).await.1, "success");
    let c = credits(&hall, &no).await;
    eprintln!("alipay: 6 refused, 1 pending, 10 parallel + 1 replay + 1 closed → credits {c:?}");
    assert_eq!(c, (1, 1));
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(o.state, OrderState::PendingFinancial);

    // Refund of a finally rejected order through the local server.
    let user = o.user_id;
    let code = code_from_statement(&b, &no).await;
    hall.app.enter_deposit_code(user, &no, &code).await.unwrap();
    let o = hall.app.order_by_no(&no).await.unwrap();
    hall.app
        .move_order(
            &o,
            OrderState::Rejected,
            &o.draft,
            hall.app.order_event_by("staff:9".into(), "审核驳回(测试)"),
        )
        .await
        .unwrap();
    let fin = finance();
    let p = hall.app.refundable(&fin).await.unwrap();
    assert_eq!(p.len(), 1);
    hall.app
        .refund(&fin, p[0].id, "申请人放弃办理")
        .await
        .unwrap();
    let p = hall
        .app
        .payments
        .store
        .payment_by_id(p[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.state, p.refunded_fen), (PayState::Refunded, 240_000));
    assert_eq!(
        p.refund_ref.as_deref(),
        Some("2026112322001400000000000001")
    );
    assert!(hall.app.refund(&fin, p.id, "again").await.is_err());
}

fn wechat_notify(
    key: &str,
    ts: i64,
    trade_no: &str,
    total: i64,
    state: &str,
    mchid: &str,
) -> (Vec<(&'static str, String)>, Vec<u8>) {
    let tx = serde_json::json!({
        "mchid": mchid, "appid": APPID, "out_trade_no": trade_no,
        "transaction_id": "4200000000202611230000000001", "trade_type": "NATIVE",
        "trade_state": state, "trade_state_desc": "支付成功", "success_time": "2026-11-23T10:05:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
    });
    let nonce = "fdasflkja484";
    let body = serde_json::json!({
        "id": "EV-2018022511223320873",
        "create_time": "2026-11-23T10:05:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": if state == "SUCCESS" { "TRANSACTION.SUCCESS" } else { "TRANSACTION.NOTPAY" },
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": encrypt_resource(V3KEY.as_bytes(), nonce, "transaction", tx.to_string().as_bytes()),
            "associated_data": "transaction", "nonce": nonce
        }
    })
    .to_string();
    let hnonce = format!("N{}", hex::encode(rand::random::<[u8; 8]>()));
    let sig = rsa2_sign(
        &signing_key(&pem(key)).unwrap(),
        &format!("{ts}\n{hnonce}\n{body}\n"),
    );
    (
        vec![
            ("content-type", "application/json".into()),
            ("wechatpay-timestamp", ts.to_string()),
            ("wechatpay-nonce", hnonce),
            ("wechatpay-signature", sig),
            ("wechatpay-serial", "PLATFORM-SERIAL-1".into()),
        ],
        body.into_bytes(),
    )
}

#[tokio::test]
async fn wechat_pay_v3_against_a_local_server() {
    let server = gateway_server().await;
    let hall = hall_with_real(&server).await;
    let (b, no) = pending_payment(&hall, "13800000061").await;
    // Native pay: the local server checked our signature and answered a signed code_url.
    let (s, _, page) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "wechat")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("weixin://wxpay/bizpayurl?pr=TESTQR1"),
        "{page}"
    );
    let o = hall.app.order_by_no(&no).await.unwrap();
    let trade_no = hall
        .app
        .payments
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()[0]
        .trade_no
        .clone();
    let now = hall.app.now() / 1000;
    let k = "wechat_platform_key";

    // Refused: forged signature, replay outside five minutes, wrong serial, tampered
    // ciphertext, wrong amount, another merchant.
    let mut refused = vec![
        wechat_notify(
            "wechat_merchant_key",
            now,
            &trade_no,
            240_000,
            "SUCCESS",
            MCHID,
        ),
        wechat_notify(k, now - 600, &trade_no, 240_000, "SUCCESS", MCHID),
        wechat_notify(k, now, &trade_no, 1, "SUCCESS", MCHID),
        wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", "1900000999"),
    ];
    let (mut h, body) = wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", MCHID);
    h[4].1 = "OTHER-SERIAL".into();
    refused.push((h, body));
    let (h, body) = wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", MCHID);
    let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ct = v["resource"]["ciphertext"].as_str().unwrap().to_owned();
    v["resource"]["ciphertext"] = serde_json::Value::String(format!("A{}", &ct[1..]));
    let tampered = v.to_string().into_bytes();
    // Re-sign the tampered body so only the AEAD tag can catch it.
    let ts = h[1].1.clone();
    let nonce = h[2].1.clone();
    let sig = rsa2_sign(
        &signing_key(&pem(k)).unwrap(),
        &format!("{ts}\n{nonce}\n{}\n", String::from_utf8_lossy(&tampered)),
    );
    let mut h2 = h.clone();
    h2[3].1 = sig;
    refused.push((h2, tampered));
    for (h, body) in refused {
        let (s, answer) = post(&hall, "wechat", &h, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer.contains("FAIL"));
    }
    assert_eq!(credits(&hall, &no).await, (0, 0));
    // Out of order: NOTPAY first.
    let (h, body) = wechat_notify(k, now, &trade_no, 240_000, "NOTPAY", MCHID);
    assert_eq!(post(&hall, "wechat", &h, body).await.0, StatusCode::OK);
    assert_eq!(credits(&hall, &no).await, (0, 0));
    // Ten identical valid notifications in parallel, then a replay of the same.
    let (h, body) = wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", MCHID);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (base, h, body) = (hall.base.clone(), h.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = reqwest::Client::new().post(format!("{base}/api/v1/callbacks/wechat"));
            for (k, v) in &h {
                r = r.header(*k, v);
            }
            r.body(body).send().await.unwrap().status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(post(&hall, "wechat", &h, body).await.0, StatusCode::OK);
    let c = credits(&hall, &no).await;
    eprintln!("wechat: 6 refused, 1 NOTPAY, 10 parallel + 1 replay → credits {c:?}");
    assert_eq!(c, (1, 1));
    assert_eq!(
        hall.app.order_by_no(&no).await.unwrap().state,
        OrderState::PendingFinancial
    );
    // Refund of a finally rejected order through the v3 refund API (signed both ways).
    let o = hall.app.order_by_no(&no).await.unwrap();
    let code = code_from_statement(&b, &no).await;
    hall.app
        .enter_deposit_code(o.user_id, &no, &code)
        .await
        .unwrap();
    let o = hall.app.order_by_no(&no).await.unwrap();
    hall.app
        .move_order(
            &o,
            OrderState::Rejected,
            &o.draft,
            hall.app.order_event_by("staff:9".into(), "审核驳回(测试)"),
        )
        .await
        .unwrap();
    let fin = finance();
    let p = hall.app.refundable(&fin).await.unwrap();
    hall.app
        .refund(&fin, p[0].id, "申请人放弃办理")
        .await
        .unwrap();
    let p = hall
        .app
        .payments
        .store
        .payment_by_id(p[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.state, PayState::Refunded);
    assert_eq!(
        p.refund_ref.as_deref(),
        Some("50000000382019052709732678859")
    );
}
