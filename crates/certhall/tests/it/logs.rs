//! Logs of a whole account flow hold no personal data. In a process of its own, so the global
//! subscriber sees every event of the hall and nothing of other tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use certhall::testing::{Backend, TestHall};
use serde_json::json;

const PHONE: &str = "13800138000";

#[tokio::test]
async fn logs_never_hold_a_phone_number_or_a_code() {
    if support::own_process::in_own_process("logs::logs_never_hold_a_phone_number_or_a_code") {
        return;
    }
    let buf = support::logs::capture();
    let hall = TestHall::start(Backend::Sqlite).await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let session: serde_json::Value = c
        .get(format!("{}/api/v1/session", hall.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: serde_json::Value| {
        c.post(format!("{}{path}", hall.base))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    post(
        "/api/v1/auth/code",
        json!({"phone": PHONE, "purpose": "login"}),
    )
    .await
    .unwrap();
    let code1 = hall.last_code(PHONE).await;
    let r = post("/api/v1/auth/login/code", json!({"phone": PHONE, "code": code1, "password": "abc12345", "password_confirm": "abc12345"})).await.unwrap();
    assert_eq!(r.status(), 200);
    post(
        "/api/v1/auth/login/password",
        json!({"account": PHONE, "password": "wrong999"}),
    )
    .await
    .unwrap();
    c.get(format!("{}/sandbox/sms.json?phone={PHONE}", hall.base))
        .send()
        .await
        .unwrap();
    post(
        "/api/v1/auth/code",
        json!({"phone": "13900139000", "purpose": "login"}),
    )
    .await
    .unwrap();
    let code = hall.last_code("13900139000").await;
    let logs = buf.text();
    assert!(
        logs.contains("http.path=/api/v1/auth/code"),
        "the edge logged requests: {logs}"
    );
    for secret in [
        PHONE,
        "13900139000",
        "abc12345",
        code.as_str(),
        code1.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
    assert!(!logs.contains("138****8000"), "not even the masked phone");
}
