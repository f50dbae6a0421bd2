//! A local stand-in for Alipay and WeChat Pay that checks requests the way they do (RSA2 over
//! the sorted pairs; WeChat Pay's `Authorization` signature and merchant) and signs its answers
//! with the platform keys, plus notifications signed like theirs and gateways configured for
//! it. The gateways' own tests use it, and certhall's hall tests include this file by path
//! (`#[path]`), so both speak to one fake. The keys are in `crates/gateways/tests/data/`.

#![allow(dead_code)] // each including binary uses part of it

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use gateways::payments::alipay::{
    rsa2_sign, rsa2_verify, sign_content, signing_key, verify_content, verifying_key, Alipay,
    AlipayConfig,
};
use gateways::payments::wechat::{encrypt_resource, WechatConfig, WechatPay};
use gateways::payments::{form_decode, form_encode};

/// The test keys, beside the gateways crate whichever crate includes this file.
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateways/tests/data");

/// A test key or certificate by name (`alipay_merchant_key`, `wechat_platform_pub`, …).
pub fn pem(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/test_{name}.pem")).unwrap()
}

/// Our Alipay app id.
pub const ALIPAY_APP: &str = "2021000000000001";
/// Our Alipay merchant PID (`seller_id` of our notifications).
pub const ALIPAY_SELLER: &str = "2088000000000001";
/// Our WeChat Pay merchant id.
pub const MCHID: &str = "1900000109";
/// Our WeChat app id.
pub const APPID: &str = "wxd678efh567hg6787";
/// The WeChat Pay API v3 key that seals notification resources.
pub const V3KEY: &str = "0123456789abcdef0123456789ABCDEF";

/// A local server that checks requests the way Alipay and WeChat Pay would and answers
/// with their signatures; its base URL.
pub async fn gateway_server() -> String {
    async fn alipay(body: Bytes) -> axum::response::Response {
        let pairs = form_decode(&body).unwrap();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        // Alipay answers an app it does not know with an unsigned `error_response`, and a
        // request whose signature does not hold with an unsigned error member: it cannot
        // tell whom to sign for. Business errors are signed.
        if get("app_id") != ALIPAY_APP {
            return r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}"#.into_response();
        }
        let signed = rsa2_verify(
            &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
            &sign_content(&pairs, &[]),
            &get("sign"),
        );
        if !signed || get("sign_type") != "RSA2" {
            return r#"{"alipay_trade_refund_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}"#.into_response();
        }
        let biz: serde_json::Value = serde_json::from_str(&get("biz_content")).unwrap_or_default();
        let member = if get("method") == "alipay.trade.refund" && biz["refund_amount"] == "2400.00"
        {
            format!(
                r#"{{"code":"10000","msg":"Success","trade_no":"2026112322001400000000000001","out_trade_no":"{}","refund_fee":"2400.00","fund_change":"Y"}}"#,
                biz["out_trade_no"].as_str().unwrap_or("")
            )
        } else {
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL","sub_msg":"退款金额超限"}"#.to_owned()
        };
        let sign = rsa2_sign(&signing_key(&pem("alipay_platform_key")).unwrap(), &member);
        format!(r#"{{"alipay_trade_refund_response":{member},"sign":"{sign}"}}"#).into_response()
    }
    async fn wechat(
        method: axum::http::Method,
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
            "{method}\n{}\n{}\n{}\n{}\n",
            uri.path(),
            field("timestamp").unwrap_or_default(),
            field("nonce_str").unwrap_or_default(),
            String::from_utf8_lossy(&body)
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let header = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        // The v3 rules: a request without a User-Agent, or (platform-public-key mode) without
        // the Wechatpay-Serial of the key it expects answers in, is refused, unsigned.
        if header("user-agent").is_empty() || header("wechatpay-serial") != "PLATFORM-SERIAL-1" {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                [("content-type", "application/json")],
                r#"{"code":"PARAM_ERROR","message":"请求头缺少User-Agent或Wechatpay-Serial"}"#,
            )
                .into_response();
        }
        let ok = auth.starts_with("WECHATPAY2-SHA256-RSA2048 ")
            && field("mchid").as_deref() == Some(MCHID)
            && rsa2_verify(
                &verifying_key(&pem("wechat_merchant_pub")).unwrap(),
                &msg,
                &field("signature").unwrap_or_default(),
            );
        if !ok {
            // WeChat Pay does not sign the answer to a request it could not authenticate.
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                r#"{"code":"SIGN_ERROR","message":"签名错误"}"#,
            )
                .into_response();
        }
        let (status, answer) = if uri.path() == "/v3/pay/transactions/native"
            && v["amount"]["total"] == 240_000
            && v["amount"]["currency"] == "CNY"
            && v["appid"] == APPID
        {
            (
                200,
                r#"{"code_url":"weixin://wxpay/bizpayurl?pr=TESTQR1"}"#.to_owned(),
            )
        } else if uri.path() == "/v3/refund/domestic/refunds" && v["amount"]["refund"] == 240_000 {
            let no = v["out_refund_no"].as_str().unwrap_or("").to_owned();
            let status = refund_step(&no, true);
            (
                200,
                format!(
                    r#"{{"refund_id":"50000000382019052709732678859","out_refund_no":"{no}","status":"{status}"}}"#
                ),
            )
        } else if let Some(no) = uri.path().strip_prefix("/v3/refund/domestic/refunds/") {
            match refund_step(no, false) {
                "" => (
                    404,
                    r#"{"code":"RESOURCE_NOT_EXISTS","message":"退款单不存在"}"#.to_owned(),
                ),
                status => (
                    200,
                    format!(
                        r#"{{"refund_id":"50000000382019052709732678859","out_refund_no":"{no}","status":"{status}"}}"#
                    ),
                ),
            }
        } else {
            (
                400,
                r#"{"code":"PARAM_ERROR","message":"参数错误"}"#.to_owned(),
            )
        };
        // The platform's own wall clock.
        let ts = (app::clock::Clock::now(&app::clock::SystemClock) / 1000).to_string();
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
        .route("/v3/refund/domestic/refunds", axum::routing::post(wechat))
        .route(
            "/v3/refund/domestic/refunds/{no}",
            axum::routing::get(wechat),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    base
}

/// What the WeChat Pay stand-in answers about refund number `no`, step by step: the refund
/// request answers the first status, each query the next (the last one repeats). Without a
/// script: `PROCESSING`, then `SUCCESS`, as a refund to a balance goes.
static REFUND_SCRIPTS: std::sync::Mutex<Vec<(String, Vec<&'static str>, usize)>> =
    std::sync::Mutex::new(Vec::new());

/// Scripts the refund statuses of refund number `no` (e.g. `["PROCESSING", "ABNORMAL"]`).
pub fn script_refund(no: &str, statuses: &[&'static str]) {
    let mut s = REFUND_SCRIPTS.lock().unwrap();
    s.retain(|(n, _, _)| n != no);
    s.push((no.to_owned(), statuses.to_vec(), 0));
}

fn refund_step(no: &str, request: bool) -> &'static str {
    let mut s = REFUND_SCRIPTS.lock().unwrap();
    if !s.iter().any(|(n, _, _)| n == no) {
        s.push((no.to_owned(), vec!["PROCESSING", "SUCCESS"], 0));
    }
    let (_, steps, i) = s.iter_mut().find(|(n, _, _)| n == no).unwrap();
    if !request && *i == 0 {
        return ""; // never asked for: not known to WeChat Pay
    }
    let step = steps[(*i).min(steps.len() - 1)];
    *i += 1;
    step
}

/// A WeChat Pay refund notification (`REFUND.SUCCESS`, `REFUND.ABNORMAL`…) for refund number
/// `refund_no` of payment `trade_no`, signed with key `key` at `ts` (seconds).
pub fn wechat_refund_notify(
    key: &str,
    ts: i64,
    trade_no: &str,
    refund_no: &str,
    status: &str,
) -> (Vec<(&'static str, String)>, Vec<u8>) {
    let r = serde_json::json!({
        "mchid": MCHID, "out_trade_no": trade_no, "transaction_id": "4200000000202611230000000001",
        "out_refund_no": refund_no, "refund_id": "50000000382019052709732678859",
        "refund_status": status, "success_time": "2026-11-23T11:05:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 240_000, "refund": 240_000, "payer_total": 240_000, "payer_refund": 240_000}
    });
    let nonce = "rfnd84lkja48";
    let body = serde_json::json!({
        "id": "EV-2018022511223320874",
        "create_time": "2026-11-23T11:05:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": format!("REFUND.{status}"),
        "summary": "退款通知",
        "resource": {
            "original_type": "refund", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": encrypt_resource(V3KEY.as_bytes(), nonce, "refund", r.to_string().as_bytes()),
            "associated_data": "refund", "nonce": nonce
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

/// Alipay configured for the local server at `server`.
pub fn alipay(server: &str) -> Alipay {
    Alipay::new(AlipayConfig {
        app_id: ALIPAY_APP.into(),
        private_key_pem: pem("alipay_merchant_key").into(),
        alipay_public_key_pem: pem("alipay_platform_pub"),
        seller_id: ALIPAY_SELLER.into(),
        gateway_url: format!("{server}/gateway.do"),
    })
    .unwrap()
}

/// WeChat Pay configured for the local server at `server`.
pub fn wechat(server: &str) -> WechatPay {
    WechatPay::new(WechatConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        serial_no: "MERCHANT-SERIAL-1".into(),
        private_key_pem: pem("wechat_merchant_key").into(),
        platform_public_key_pem: pem("wechat_platform_pub"),
        platform_serial: "PLATFORM-SERIAL-1".into(),
        api_v3_key: V3KEY.to_owned().into(),
        base_url: server.into(),
    })
    .unwrap()
}

/// An Alipay asynchronous notification (form body) signed with key `key`.
pub fn alipay_notify(
    key: &str,
    trade_no: &str,
    amount: &str,
    status: &str,
    app_id: &str,
) -> Vec<u8> {
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
        ("seller_id", ALIPAY_SELLER),
        ("body", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let sig = rsa2_sign(&signing_key(&pem(key)).unwrap(), &verify_content(&pairs));
    pairs.push(("sign".into(), sig));
    form_encode(&pairs).into_bytes()
}

/// A WeChat Pay notification (headers, JSON body with the encrypted transaction) signed with
/// key `key` at `ts` (seconds).
pub fn wechat_notify(
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
