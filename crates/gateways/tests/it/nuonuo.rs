//! 诺诺 (Nuonuo open platform) against a local stand-in that checks every request the way the
//! platform does — `X-Nuonuo-Sign` recomputed over the exact body, URL parameters, access
//! token, `userTax`, method — and answers like it: accepted (开票中), then issued with the
//! file addresses, an error code, a token that expired, a request that hangs past our
//! timeout (asked again with the same `senid`: one invoice).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use gateways::invoicing::nuonuo::{
    senid_for, sign, BillingRequest, InvoiceState, Nuonuo, NuonuoConfig, FAST_RED, QUERY_RESULT,
    REQUEST_BILLING,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const APP_KEY: &str = "SD63236305";
const SECRET: &str = "SDDED2523BED4643";
const TAX: &str = "91440300MA5XXXXX1X";

#[derive(Default)]
struct Platform {
    /// Tokens handed out; the last one is valid unless `expired`.
    tokens: AtomicUsize,
    expired: AtomicBool,
    /// The next 开票 request is recorded, then answered after the client gave up.
    hang_next: AtomicBool,
    bad_signatures: AtomicUsize,
    /// senid → invoiceSerialNum; orderNo → senid.
    by_senid: Mutex<HashMap<String, String>>,
    by_order: Mutex<HashMap<String, String>>,
    queries: Mutex<HashMap<String, usize>>,
    files: AtomicUsize,
    methods: Mutex<Vec<String>>,
}

fn answer(code: &str, describe: &str, result: Value) -> axum::response::Response {
    axum::Json(json!({"code": code, "describe": describe, "result": result})).into_response()
}

async fn token(State(p): State<Arc<Platform>>, body: Bytes) -> axum::response::Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if form.get("client_id").map(String::as_str) != Some(APP_KEY)
        || form.get("client_secret").map(String::as_str) != Some(SECRET)
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        return axum::Json(json!({"error": "invalid_client", "error_description": "应用信息错误"}))
            .into_response();
    }
    let n = p.tokens.fetch_add(1, Ordering::SeqCst) + 1;
    p.expired.store(false, Ordering::SeqCst);
    axum::Json(json!({"access_token": format!("TOKEN-{n}"), "expires_in": 86400})).into_response()
}

async fn services(
    State(p): State<Arc<Platform>>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let hv = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let qv = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (senid, nonce, ts) = (qv("senid"), qv("nonce"), qv("timestamp"));
    let now = app::clock::Clock::now(&app::clock::SystemClock) / 1000;
    let fresh = ts.parse::<i64>().is_ok_and(|t| (t - now).abs() <= 600);
    let body_text = String::from_utf8_lossy(&body).into_owned();
    if senid.len() != 32
        || nonce.len() != 8
        || !nonce.bytes().all(|b| b.is_ascii_digit())
        || !fresh
        || qv("appkey") != APP_KEY
        || hv("x-nuonuo-sign") != sign(SECRET, APP_KEY, &senid, &nonce, &ts, &body_text)
    {
        p.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return answer("E9999", "签名校验失败", Value::Null);
    }
    let current = format!("TOKEN-{}", p.tokens.load(Ordering::SeqCst));
    if hv("accesstoken") != current || p.expired.load(Ordering::SeqCst) {
        return answer("070301", "accessToken已失效", Value::Null);
    }
    if hv("usertax") != TAX {
        return answer("E9107", "税号与授权不符", Value::Null);
    }
    let method = hv("method");
    p.methods.lock().unwrap().push(method.clone());
    let v: Value = serde_json::from_str(&body_text).unwrap_or_default();
    match method.as_str() {
        REQUEST_BILLING => {
            let o = &v["order"];
            if o["buyerName"].as_str().unwrap_or("").is_empty() {
                return answer("E1001", "购方名称不能为空", Value::Null);
            }
            let order_no = o["orderNo"].as_str().unwrap_or("").to_owned();
            let serial = {
                let mut s = p.by_senid.lock().unwrap();
                let mut by_order = p.by_order.lock().unwrap();
                match (s.get(&senid), by_order.get(&order_no)) {
                    (Some(serial), _) => serial.clone(),
                    (None, Some(_)) => {
                        return answer("E9106", "订单编号不能重复", Value::Null);
                    }
                    (None, None) => {
                        let serial = format!("2612{:016}", s.len() + 1);
                        s.insert(senid.clone(), serial.clone());
                        by_order.insert(order_no, senid.clone());
                        serial
                    }
                }
            };
            if p.hang_next.swap(false, Ordering::SeqCst) {
                // Accepted, but the answer comes after the client stopped waiting.
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            }
            answer("E0000", "开票提交成功", json!({"invoiceSerialNum": serial}))
        }
        QUERY_RESULT => {
            let serial = v["serialNos"][0].as_str().unwrap_or("").to_owned();
            let n = {
                let mut q = p.queries.lock().unwrap();
                let n = q.entry(serial.clone()).or_default();
                *n += 1;
                *n
            };
            let base = hv("host");
            let item = if n == 1 {
                json!({"serialNo": serial, "status": "20", "statusMsg": "开票中"})
            } else {
                json!({"serialNo": serial, "status": "2", "statusMsg": "开票完成", "invoiceNo": format!("2644{serial}"),
                       "pdfUrl": format!("http://{base}/files/{serial}.pdf"), "ofdUrl": format!("http://{base}/files/{serial}.ofd"),
                       "xmlUrl": format!("http://{base}/files/{serial}.xml")})
            };
            answer("E0000", "获取成功", json!([item]))
        }
        FAST_RED => answer(
            "E0000",
            "提交成功",
            json!({"invoiceSerialNum": format!("H{senid}")}),
        ),
        _ => answer("E9103", "方法不存在", Value::Null),
    }
}

async fn file(
    State(p): State<Arc<Platform>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    p.files.fetch_add(1, Ordering::SeqCst);
    format!("%PDF-1.7 诺诺 {name}").into_response()
}

async fn platform() -> (Arc<Platform>, String) {
    let p = Arc::new(Platform::default());
    let app = axum::Router::new()
        .route("/accessToken", axum::routing::post(token))
        .route("/open/v1/services", axum::routing::post(services))
        .route("/files/{name}", axum::routing::get(file))
        .with_state(p.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (p, base)
}

fn config(base: &str, secret: &str) -> NuonuoConfig {
    NuonuoConfig {
        app_key: APP_KEY.into(),
        app_secret: secret.to_owned().into(),
        user_tax: TAX.into(),
        saler_name: "深圳某某数字证书认证中心有限公司".into(),
        saler_address_phone: String::new(),
        saler_account: String::new(),
        clerk: "张开票".into(),
        goods_code: "3040201990000000000".into(),
        tax_rate: "0.06".into(),
        api_url: format!("{base}/open/v1/services"),
        token_url: format!("{base}/accessToken"),
        access_token: None,
        token_error_codes: vec!["070301".into()],
        timeout_ms: 1_000,
        callback_url: String::new(),
    }
}

fn billing(order_no: &str, buyer: &str) -> BillingRequest {
    BillingRequest {
        order_no: order_no.into(),
        buyer_name: buyer.into(),
        buyer_tax_no: "91440300MA5YYYYY2Y".into(),
        buyer_phone: String::new(),
        lines: vec![("数字证书服务费(机构证书,1年)".into(), 240_000)],
        order_time: "2026-11-23 10:05:00".into(),
    }
}

#[tokio::test]
async fn an_invoice_is_accepted_then_issued_and_its_files_fetched() {
    let (p, base) = platform().await;
    let nn = Nuonuo::new(config(&base, SECRET)).unwrap();
    let serial = nn
        .request_billing(&billing("XB20261123000001", "深圳市某某科技有限公司"))
        .await
        .unwrap();
    assert_eq!(p.tokens.load(Ordering::SeqCst), 1, "one token fetched");
    assert_eq!(nn.query(&serial).await.unwrap(), InvoiceState::Issuing);
    let InvoiceState::Issued {
        invoice_no,
        pdf_url,
        ofd_url,
        xml_url,
    } = nn.query(&serial).await.unwrap()
    else {
        panic!("issued on the second query")
    };
    assert_eq!(invoice_no, format!("2644{serial}"));
    for url in [&pdf_url, &ofd_url, &xml_url] {
        let bytes = nn.fetch_file(url).await.unwrap();
        assert!(String::from_utf8(bytes).unwrap().contains(&serial));
    }
    assert_eq!(p.files.load(Ordering::SeqCst), 3);
    // 红冲 of the issued invoice, idempotent on the order.
    let red = nn
        .red("XB20261123000001", &invoice_no, "申请退款")
        .await
        .unwrap();
    assert_eq!(red, format!("H{}", senid_for("XB20261123000001", "red")));
    assert_eq!(p.bad_signatures.load(Ordering::SeqCst), 0);
    assert_eq!(
        p.methods.lock().unwrap().clone(),
        [REQUEST_BILLING, QUERY_RESULT, QUERY_RESULT, FAST_RED]
    );
}

#[tokio::test]
async fn a_timeout_is_asked_again_with_the_same_senid_and_gives_one_invoice() {
    let (p, base) = platform().await;
    let nn = Nuonuo::new(config(&base, SECRET)).unwrap();
    let req = billing("XB20261123000002", "深圳市某某科技有限公司");
    p.hang_next.store(true, Ordering::SeqCst);
    let e = nn.request_billing(&req).await.unwrap_err();
    assert!(matches!(e, app::GatewayError::Unavailable(_)), "{e:?}");
    // The platform accepted it; asked again (even by another process: the senid comes
    // from the order), it answers the same invoice.
    let again = Nuonuo::new(config(&base, SECRET)).unwrap();
    let serial = again.request_billing(&req).await.unwrap();
    assert_eq!(serial, nn.request_billing(&req).await.unwrap());
    assert_eq!(p.by_senid.lock().unwrap().len(), 1, "one invoice");
    assert_eq!(
        p.by_senid.lock().unwrap().keys().next().unwrap(),
        &senid_for("XB20261123000002", "bill")
    );
}

#[tokio::test]
async fn errors_tokens_and_signatures_as_the_platform_answers_them() {
    let (p, base) = platform().await;
    let nn = Nuonuo::new(config(&base, SECRET)).unwrap();
    // The platform's refusal, in its words.
    let e = nn
        .request_billing(&billing("XB20261123000003", ""))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "provider refused: 诺诺 E1001 购方名称不能为空"
    );
    // An expired token is fetched again and the same request goes through once.
    p.expired.store(true, Ordering::SeqCst);
    nn.request_billing(&billing("XB20261123000003", "深圳市某某科技有限公司"))
        .await
        .unwrap();
    assert_eq!(p.tokens.load(Ordering::SeqCst), 2);
    assert_eq!(p.by_senid.lock().unwrap().len(), 1);
    // A wrong secret: no token for it, and with a token set up in the console (never
    // expiring) the platform's signature check refuses the request.
    let wrong = Nuonuo::new(config(&base, "not-the-secret")).unwrap();
    let e = wrong.query("26120000000000000001").await.unwrap_err();
    assert!(e.to_string().contains("invalid_client"), "{e}");
    let wrong = Nuonuo::new(NuonuoConfig {
        access_token: Some("TOKEN-2".to_owned().into()),
        ..config(&base, "not-the-secret")
    })
    .unwrap();
    let e = wrong.query("26120000000000000001").await.unwrap_err();
    assert_eq!(e.to_string(), "provider refused: 诺诺 E9999 签名校验失败");
    assert_eq!(p.bad_signatures.load(Ordering::SeqCst), 1);
    // A body changed after signing is refused by the signature check.
    let token = "TOKEN-2";
    let body = r#"{"serialNos":["1"],"isOfferInvoiceDetail":"0"}"#;
    let ts = (app::clock::Clock::now(&app::clock::SystemClock) / 1000).to_string();
    let senid = "0123456789abcdef0123456789abcdef";
    let sig = sign(SECRET, APP_KEY, senid, "12345678", &ts, body);
    let r: Value = reqwest::Client::new()
        .post(format!(
            "{base}/open/v1/services?senid={senid}&nonce=12345678&timestamp={ts}&appkey={APP_KEY}"
        ))
        .header("X-Nuonuo-Sign", sig)
        .header("accessToken", token)
        .header("userTax", TAX)
        .header("method", QUERY_RESULT)
        .body(body.replace("\"1\"", "\"2\""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["code"], "E9999");
    assert_eq!(p.bad_signatures.load(Ordering::SeqCst), 2);
}
