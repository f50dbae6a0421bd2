//! `TencentSms` against a local HTTP server that plays Tencent Cloud SMS: it checks the
//! TC3-HMAC-SHA256 signature (recomputed here, independently of the crate's signer), the
//! timestamp window, the action headers, the template id and the template parameters, and
//! answers with Tencent's JSON.

// A test binary: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use app::error::GatewayError;
use app::ports::{Sms, SmsMessage};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use domain::Phone;
use gateways::sms::{TencentSms, TencentSmsConfig};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET_ID: &str = "AKIDcerthallTEST0001";
const SECRET_KEY: &str = "certhall-test-secret-key-0123456789";
const SDK_APP_ID: &str = "1400987654";
const SIGN_NAME: &str = "深圳CA";
const TEMPLATE_ID: &str = "2233445";
const SERIAL_NO: &str = "2433:310045836717093512983901";
const PHONE: &str = "13800138000";
const BLACKLISTED: &str = "13900139000";

/// How the fake Tencent behaves.
#[derive(Clone, Copy)]
enum Mode {
    /// Checks everything and answers like Tencent.
    Honest,
    /// Answers 503 to everything.
    Down,
    /// Never answers in time.
    Hang,
}

struct Fake {
    mode: Mode,
    expected_params: Vec<String>,
    requests: AtomicUsize,
}

// ---- an independent TC3-HMAC-SHA256, as the server side computes it ----

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn expected_signature(
    key: &str,
    date: &str,
    timestamp: &str,
    content_type: &str,
    host: &str,
    body: &[u8],
) -> String {
    let canonical_headers = format!("content-type:{content_type}\nhost:{host}\n");
    let canonical_request = [
        "POST",
        "/",
        "",
        &canonical_headers,
        "content-type;host",
        &sha_hex(body),
    ]
    .join("\n");
    let string_to_sign = [
        "TC3-HMAC-SHA256",
        timestamp,
        &format!("{date}/sms/tc3_request"),
        &sha_hex(canonical_request.as_bytes()),
    ]
    .join("\n");
    let k_date = hmac(format!("TC3{key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, b"sms");
    let k_signing = hmac(&k_service, b"tc3_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

fn tencent_error(code: &str, message: &str) -> Response {
    // Tencent answers API errors with HTTP 200 and an Error object.
    Json(
        json!({"Response": {"Error": {"Code": code, "Message": message},
        "RequestId": "6e1d7a40-0000-4000-8000-000000000001"}}),
    )
    .into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn send_sms(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    match fake.mode {
        Mode::Down => return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return StatusCode::OK.into_response();
        }
        Mode::Honest => {}
    }

    if header(&headers, "x-tc-action") != "SendSms" {
        return tencent_error("InvalidAction", "bad action");
    }
    if header(&headers, "x-tc-version") != "2021-01-11" {
        return tencent_error("NoSuchVersion", "bad version");
    }
    if header(&headers, "x-tc-region").is_empty() {
        return tencent_error("InvalidParameter", "region missing");
    }

    // Authorization: TC3-HMAC-SHA256 Credential=ID/DATE/sms/tc3_request, SignedHeaders=content-type;host, Signature=HEX
    let auth = header(&headers, "authorization");
    let Some(rest) = auth.strip_prefix("TC3-HMAC-SHA256 ") else {
        return tencent_error("AuthFailure.InvalidAuthorization", "algorithm");
    };
    let parts: Vec<&str> = rest.split(", ").collect();
    let (Some(credential), Some(signed_headers), Some(signature)) = (
        parts.first().and_then(|p| p.strip_prefix("Credential=")),
        parts.get(1).and_then(|p| p.strip_prefix("SignedHeaders=")),
        parts.get(2).and_then(|p| p.strip_prefix("Signature=")),
    ) else {
        return tencent_error("AuthFailure.InvalidAuthorization", "shape");
    };
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 4 || scope[2] != "sms" || scope[3] != "tc3_request" {
        return tencent_error("AuthFailure.InvalidAuthorization", "credential scope");
    }
    if signed_headers != "content-type;host" {
        return tencent_error("AuthFailure.InvalidAuthorization", "signed headers");
    }
    if scope[0] != SECRET_ID {
        return tencent_error("AuthFailure.SecretIdNotFound", "unknown secret id");
    }

    let timestamp_text = header(&headers, "x-tc-timestamp");
    let Ok(timestamp) = timestamp_text.parse::<i64>() else {
        return tencent_error("AuthFailure.SignatureFailure", "timestamp");
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (now - timestamp).abs() > 300 {
        return tencent_error("AuthFailure.SignatureExpire", "signature expired");
    }
    // The scope date must be the UTC date of the timestamp.
    let date = time::OffsetDateTime::from_unix_timestamp(timestamp)
        .unwrap()
        .date();
    let date = format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    if scope[1] != date {
        return tencent_error("AuthFailure.SignatureFailure", "credential date");
    }
    let wanted = expected_signature(
        SECRET_KEY,
        &date,
        timestamp_text,
        header(&headers, "content-type"),
        header(&headers, "host"),
        &body,
    );
    if signature != wanted {
        return tencent_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        );
    }

    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return tencent_error("InvalidParameter", "body is not JSON");
    };
    if req["SmsSdkAppId"] != SDK_APP_ID {
        return tencent_error("FailedOperation.SmsSdkAppIdVerifyFail", "app id");
    }
    if req["SignName"] != SIGN_NAME {
        return tencent_error(
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "sign name",
        );
    }
    if req["TemplateId"] != TEMPLATE_ID {
        return tencent_error("FailedOperation.TemplateIncorrectOrUnapproved", "template");
    }
    if req["TemplateParamSet"] != json!(fake.expected_params) {
        return tencent_error(
            "InvalidParameterValue.TemplateParameterFormatError",
            "params",
        );
    }
    let phone = req["PhoneNumberSet"][0].as_str().unwrap_or("").to_owned();
    if req["PhoneNumberSet"].as_array().map(Vec::len) != Some(1) || !phone.starts_with("+86") {
        return tencent_error("InvalidParameterValue.IncorrectPhoneNumber", "phone");
    }
    let (serial, code, message) = if phone == format!("+86{BLACKLISTED}") {
        (
            "",
            "FailedOperation.PhoneNumberInBlacklist",
            format!("{phone} is in the blacklist"),
        )
    } else {
        (SERIAL_NO, "Ok", "send success".to_owned())
    };
    Json(json!({"Response": {
        "SendStatusSet": [{"SerialNo": serial, "PhoneNumber": phone, "Fee": 1,
            "SessionContext": "", "Code": code, "Message": message, "IsoCode": "CN"}],
        "RequestId": "6e1d7a40-0000-4000-8000-000000000002"}}))
    .into_response()
}

/// Starts the fake on 127.0.0.1:0 and returns its base URL.
async fn start(mode: Mode, expected_params: &[&str]) -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake {
        mode,
        expected_params: expected_params.iter().map(|s| (*s).to_owned()).collect(),
        requests: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/", post(send_sms))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), fake)
}

fn config(endpoint: &str, secret_key: &str, timeout_ms: u64) -> TencentSmsConfig {
    serde_json::from_value(json!({
        "endpoint": endpoint,
        "region": "ap-guangzhou",
        "secret_id": SECRET_ID,
        "secret_key": secret_key,
        "sdk_app_id": SDK_APP_ID,
        "sign_name": SIGN_NAME,
        "templates": {"login_code": TEMPLATE_ID},
        "timeout_ms": timeout_ms,
    }))
    .unwrap()
}

fn message(phone: &str, template: &str, code: &str) -> SmsMessage {
    SmsMessage {
        phone: Phone::parse(phone).unwrap(),
        template: template.into(),
        params: vec![("code".into(), code.into()), ("minutes".into(), "5".into())],
        text: format!("【深圳CA】您的验证码为{code},5分钟内有效。"),
    }
}

#[tokio::test]
async fn good_send_returns_the_serial_no() {
    let (url, fake) = start(Mode::Honest, &["482913", "5"]).await;
    let sms = TencentSms::new(config(&url, SECRET_KEY, 5_000)).unwrap();
    let receipt = sms
        .send(&message(PHONE, "login_code", "482913"))
        .await
        .unwrap();
    assert_eq!(receipt.provider_ref, SERIAL_NO);
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn wrong_params_are_refused_by_the_server() {
    // The server expects other parameters: shows that it really checks them.
    let (url, _fake) = start(Mode::Honest, &["000000", "5"]).await;
    let sms = TencentSms::new(config(&url, SECRET_KEY, 5_000)).unwrap();
    match sms.send(&message(PHONE, "login_code", "482913")).await {
        Err(GatewayError::Refused(m)) => {
            assert!(m.contains("TemplateParameterFormatError"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let (url, _fake) = start(Mode::Honest, &["482913", "5"]).await;
    let sms = TencentSms::new(config(&url, "not-the-secret", 5_000)).unwrap();
    match sms.send(&message(PHONE, "login_code", "482913")).await {
        Err(GatewayError::Refused(m)) => {
            assert!(m.contains("AuthFailure.SignatureFailure"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn per_number_refusal_names_the_code_not_the_phone() {
    let (url, _fake) = start(Mode::Honest, &["482913", "5"]).await;
    let sms = TencentSms::new(config(&url, SECRET_KEY, 5_000)).unwrap();
    match sms
        .send(&message(BLACKLISTED, "login_code", "482913"))
        .await
    {
        Err(GatewayError::Refused(m)) => {
            assert!(m.contains("FailedOperation.PhoneNumberInBlacklist"), "{m}");
            assert!(!m.contains(BLACKLISTED), "phone in error: {m}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn template_without_an_id_is_refused_without_a_request() {
    let (url, fake) = start(Mode::Honest, &["482913", "5"]).await;
    let sms = TencentSms::new(config(&url, SECRET_KEY, 5_000)).unwrap();
    match sms.send(&message(PHONE, "reset_code", "482913")).await {
        Err(GatewayError::Refused(m)) => assert!(m.contains("reset_code"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn server_503_is_unavailable() {
    let (url, fake) = start(Mode::Down, &[]).await;
    let sms = TencentSms::new(config(&url, SECRET_KEY, 5_000)).unwrap();
    match sms.send(&message(PHONE, "login_code", "482913")).await {
        Err(GatewayError::Unavailable(m)) => assert!(m.contains("503"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn hanging_server_is_unavailable_after_the_timeout() {
    let (url, _fake) = start(Mode::Hang, &[]).await;
    let sms = TencentSms::new(config(&url, SECRET_KEY, 300)).unwrap();
    let started = Instant::now();
    let result = sms.send(&message(PHONE, "login_code", "482913")).await;
    let took = started.elapsed();
    match result {
        Err(GatewayError::Unavailable(m)) => assert!(m.contains("timeout"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn closed_port_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let sms = TencentSms::new(config(&url, SECRET_KEY, 2_000)).unwrap();
    assert!(matches!(
        sms.send(&message(PHONE, "login_code", "482913")).await,
        Err(GatewayError::Unavailable(_))
    ));
}

/// Sends `body` with headers signed for `signed_body` at `timestamp`, as a tampering
/// middlebox or a replay would.
async fn raw_send(url: &str, signed_body: &[u8], body: &[u8], timestamp: i64) -> Value {
    let host = url.trim_start_matches("http://");
    let authorization = gateways::sms::tc3_authorization(
        SECRET_ID,
        SECRET_KEY,
        "sms",
        host,
        timestamp,
        signed_body,
    );
    reqwest::Client::new()
        .post(url)
        .header("content-type", gateways::sms::CONTENT_TYPE)
        .header("authorization", authorization)
        .header("x-tc-action", "SendSms")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("x-tc-version", "2021-01-11")
        .header("x-tc-region", "ap-guangzhou")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn body_with(params: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "PhoneNumberSet": [format!("+86{PHONE}")],
        "SmsSdkAppId": SDK_APP_ID,
        "SignName": SIGN_NAME,
        "TemplateId": TEMPLATE_ID,
        "TemplateParamSet": params,
    }))
    .unwrap()
}

#[tokio::test]
async fn tampered_body_and_stale_timestamp_are_refused() {
    let (url, _fake) = start(Mode::Honest, &["482913", "5"]).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = body_with(&["482913", "5"]);

    // Control: the same signer and the untouched body are accepted.
    let ok = raw_send(&url, &good, &good, now).await;
    assert_eq!(
        ok["Response"]["SendStatusSet"][0]["SerialNo"], SERIAL_NO,
        "{ok}"
    );

    // The body is changed after signing (another recipient).
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replace(PHONE, "13700137000");
    let r = raw_send(&url, &good, tampered.as_bytes(), now).await;
    assert_eq!(
        r["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{r}"
    );

    // A correctly signed request from ten minutes ago.
    let r = raw_send(&url, &good, &good, now - 600).await;
    assert_eq!(
        r["Response"]["Error"]["Code"], "AuthFailure.SignatureExpire",
        "{r}"
    );
}
