//! `SfExpress` against a local HTTP server that plays the 丰桥 platform: it recomputes the
//! msgDigest with its own copy of the check word (an independent MD5 + Java URL encoding
//! here), checks partner, service code, the timestamp's freshness, 收方付 (邮费到付) and the
//! recipient, and answers like 顺丰 (apiResultData as a JSON string).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::desk::{Courier, MailLabel};
use app::GatewayError;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use gateways::courier::{SfConfig, SfExpress};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const PARTNER: &str = "SZCA_TEST";
const CHECK_WORD: &str = "fBkTmQ2xV9";

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Value>>>);

/// Java URLEncoder, written again here from its specification.
fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"*-._".contains(&b) {
                (b as char).to_string()
            } else if b == b' ' {
                "+".into()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn digest(data: &str, ts: &str) -> String {
    use base64::Engine;
    use md5::Digest;
    let m = md5::Md5::digest(urlenc(&format!("{data}{ts}{CHECK_WORD}")).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(m)
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn service(State(seen): State<Seen>, body: Bytes) -> Json<Value> {
    let f = form(&body);
    let fail = |code: &str, msg: &str| {
        Json(
            json!({"apiErrorMsg": msg, "apiResponseID": "r", "apiResultCode": code, "apiResultData": null}),
        )
    };
    if f.get("partnerID").map(String::as_str) != Some(PARTNER) {
        return fail("A1001", "partnerID 不存在");
    }
    if f.get("serviceCode").map(String::as_str) != Some("EXP_RECE_CREATE_ORDER") {
        return fail("A1004", "无对应服务权限");
    }
    let (Some(data), Some(ts), Some(d)) =
        (f.get("msgData"), f.get("timestamp"), f.get("msgDigest"))
    else {
        return fail("A1002", "缺少参数");
    };
    // The fake server's own wall clock, as the real one checks against its own.
    let now = app::clock::Clock::now(&app::clock::SystemClock);
    if (now - ts.parse::<i64>().unwrap_or(0)).abs() > 5 * 60_000 {
        return fail("A1002", "时间戳无效");
    }
    if *d != digest(data, ts) {
        return fail("A1003", "数字签名无效");
    }
    let m: Value = serde_json::from_str(data).unwrap();
    seen.0.lock().unwrap().push(m.clone());
    if m["payMethod"] != 2 {
        let inner = json!({"success": false, "errorCode": "8016", "errorMsg": "付款方式错误", "msgData": null});
        return Json(
            json!({"apiResultCode": "A1000", "apiErrorMsg": "", "apiResultData": inner.to_string()}),
        );
    }
    let inner = json!({
        "success": true, "errorCode": "S0000", "errorMsg": null,
        "msgData": {"orderId": m["orderId"], "waybillNoInfoList": [{"waybillType": 1, "waybillNo": "SF1234567890123"}]}
    });
    Json(
        json!({"apiResultCode": "A1000", "apiErrorMsg": "", "apiResponseID": "x", "apiResultData": inner.to_string()}),
    )
}

async fn server() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/std/service", post(service))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/std/service", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn cfg(url: &str, check_word: &str) -> SfConfig {
    SfConfig {
        partner_id: PARTNER.into(),
        check_word: check_word.to_owned().into(),
        url: url.into(),
        monthly_card: String::new(),
        sender_name: "深圳CA 制证中心".into(),
        sender_phone: "075583000000".into(),
        sender_address: "广东省深圳市福田区深南大道1号".into(),
    }
}

fn label(collect: bool) -> MailLabel {
    MailLabel {
        order_no: "XB20261123000001".into(),
        recipient: "张小明".into(),
        phone: "13612345678".into(),
        address: "广东省深圳市南山区科技园 1号 A座".into(),
        sender: "深圳CA".into(),
        postage_collect: collect,
    }
}

#[tokio::test]
async fn books_a_postage_collect_pickup_with_a_valid_digest() {
    let (url, seen) = server().await;
    let sf = SfExpress::new(cfg(&url, CHECK_WORD)).unwrap();
    let no = sf.book(&label(true)).await.unwrap();
    assert_eq!(no, "SF1234567890123");
    let m = seen.0.lock().unwrap()[0].clone();
    assert_eq!(m["orderId"], "XB20261123000001");
    assert_eq!(m["contactInfoList"][1]["contact"], "张小明");
    assert_eq!(
        m["contactInfoList"][1]["address"],
        "广东省深圳市南山区科技园 1号 A座"
    );
    assert_eq!(m["contactInfoList"][0]["contactType"], 1);
    assert!(sf.tracking_url(&no).ends_with("/SF1234567890123"));
}

#[tokio::test]
async fn a_wrong_check_word_and_prepaid_postage_are_refused() {
    let (url, _) = server().await;
    let sf = SfExpress::new(cfg(&url, "wrong")).unwrap();
    match sf.book(&label(true)).await {
        Err(GatewayError::Refused(m)) => assert!(m.contains("A1003"), "{m}"),
        other => panic!("{other:?}"),
    }
    let sf = SfExpress::new(cfg(&url, CHECK_WORD)).unwrap();
    match sf.book(&label(false)).await {
        Err(GatewayError::Refused(m)) => assert!(m.contains("8016"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Nobody listening: unavailable, safe to retry.
    let sf = SfExpress::new(cfg("http://127.0.0.1:9/std/service", CHECK_WORD)).unwrap();
    assert!(matches!(
        sf.book(&label(true)).await,
        Err(GatewayError::Unavailable(_))
    ));
}
