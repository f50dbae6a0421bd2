//! The hall over real HTTP: accounts, limits, the edge's refusals, staff roles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::clock::Clock;
use app::model::Role;
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

const PHONE: &str = "13800138000";

struct Browser {
    c: Client,
    base: String,
    csrf: String,
}

impl Browser {
    async fn new(hall: &TestHall) -> Self {
        let (c, csrf) = support::api::session_client(&hall.base).await;
        Self {
            c,
            base: hall.base.clone(),
            csrf,
        }
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .c
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        f.push(("_csrf", &self.csrf));
        self.c
            .post(format!("{}{path}", self.base))
            .form(&f)
            .send()
            .await
            .unwrap()
    }
}

async fn register(hall: &TestHall, b: &Browser, phone: &str, password: Option<&str>) {
    let (s, _) = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": phone, "purpose": "login"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let code = hall.last_code(phone).await;
    let body = match password {
        Some(p) => json!({"phone": phone, "code": code, "password": p, "password_confirm": p}),
        None => json!({"phone": phone, "code": code}),
    };
    let (s, v) = b.post("/api/v1/auth/login/code", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn register_logout_and_log_in_with_password() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    register(&hall, &b, PHONE, Some("abc12345")).await;
    let (s, body) = b.get("/api/v1/account").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("138****8000") && !body.contains(PHONE),
        "{body}"
    );
    let (s, _) = b.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b.get("/api/v1/account").await.0,
        StatusCode::UNAUTHORIZED,
        "the session really ended"
    );
    let (s, v) = b
        .post(
            "/api/v1/auth/login/password",
            json!({"account": PHONE, "password": "wrong999"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("账号或密码错误"))
    );
    let (s, _) = b
        .post(
            "/api/v1/auth/login/password",
            json!({"account": PHONE, "password": "abc12345"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b.get("/api/v1/account").await.0, StatusCode::OK);
    // The login created a fresh session token: the pages see the user.
    let (_, page) = b.get("/account").await;
    assert!(page.contains("个人中心") && page.contains("138****8000"));
}

#[tokio::test]
async fn the_same_reply_whether_or_not_registered() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    register(&hall, &b, PHONE, Some("abc12345")).await;
    let a = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": PHONE, "purpose": "reset_password"}),
        )
        .await;
    let n = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": "13900139000", "purpose": "reset_password"}),
        )
        .await;
    assert_eq!(a.0, n.0);
    assert_eq!(a.1["message"], n.1["message"]);
    hall.drain().await;
    assert!(
        hall.app
            .sandbox()
            .inbox("13900139000")
            .await
            .unwrap()
            .is_empty(),
        "no account, no reset code sent"
    );
}

#[tokio::test]
async fn malformed_phone_names_the_field_in_chinese() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    let (s, v) = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": "12345", "purpose": "login"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["field"], "phone");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("手机号码格式不正确"));
    // The page keeps what was typed and shows the message beside the field.
    let r = b
        .form("/register", &[("phone", "12345"), ("action", "send_code")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("value=\"12345\"")
            && html.contains("class=\"field-error\">手机号码格式不正确")
    );
    // Malformed JSON and a missing field: 400 in Chinese, not a 422 or 500.
    let r =
        b.c.post(format!("{}/api/v1/auth/code", b.base))
            .header("x-csrf-token", &b.csrf)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("请求内容不是有效的JSON"));
    let (s, _) = b.post("/api/v1/auth/code", json!({"phone": PHONE})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn five_wrong_codes_void_the_code() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    b.post(
        "/api/v1/auth/code",
        json!({"phone": PHONE, "purpose": "login"}),
    )
    .await;
    let code = hall.last_code(PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 1..=5 {
        let (s, v) = b
            .post(
                "/api/v1/auth/login/code",
                json!({"phone": PHONE, "code": wrong}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "try {i}");
        assert_eq!(v["error"]["field"], "code");
    }
    let (s, v) = b
        .post(
            "/api/v1/auth/login/code",
            json!({"phone": PHONE, "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("已失效"),
        "{v}"
    );
}

#[tokio::test]
async fn codes_expire_cool_down_and_are_limited_per_day() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    b.post(
        "/api/v1/auth/code",
        json!({"phone": PHONE, "purpose": "login"}),
    )
    .await;
    let (s, v) = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": PHONE, "purpose": "login"}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "60 s cool-down");
    assert!(v["error"]["message"].as_str().unwrap().contains("秒后再试"));
    // Expiry after 5 minutes.
    let code = hall.last_code(PHONE).await;
    hall.clock.advance(5 * 60_000 + 1);
    let (s, _) = b
        .post(
            "/api/v1/auth/login/code",
            json!({"phone": PHONE, "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // 10 a day: the first request above was number 1.
    for i in 2..=10 {
        hall.clock.advance(61_000);
        let (s, v) = b
            .post(
                "/api/v1/auth/code",
                json!({"phone": PHONE, "purpose": "login"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "request {i}: {v}");
    }
    hall.clock.advance(61_000);
    let (s, v) = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": PHONE, "purpose": "login"}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(v["error"]["message"].as_str().unwrap().contains("今日"));
    // The next Beijing day the count starts again.
    hall.clock.advance(24 * 3_600_000);
    assert_eq!(
        b.post(
            "/api/v1/auth/code",
            json!({"phone": PHONE, "purpose": "login"})
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn per_ip_limit_holds_across_phones() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    let limit = hall.policy.code_ip_hourly_limit;
    for i in 0..limit {
        let (s, v) = b
            .post(
                "/api/v1/auth/code",
                json!({"phone": format!("1390000{:04}", i), "purpose": "login"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _) = b
        .post(
            "/api/v1/auth/code",
            json!({"phone": "13711112222", "purpose": "login"}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn password_lockout_after_five_failures() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    register(&hall, &b, PHONE, Some("abc12345")).await;
    for _ in 0..4 {
        assert_eq!(
            b.post(
                "/api/v1/auth/login/password",
                json!({"account": PHONE, "password": "nope1234"})
            )
            .await
            .0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        b.post(
            "/api/v1/auth/login/password",
            json!({"account": PHONE, "password": "nope1234"})
        )
        .await
        .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        b.post(
            "/api/v1/auth/login/password",
            json!({"account": PHONE, "password": "abc12345"})
        )
        .await
        .0,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    hall.clock.advance(15 * 60_000 + 1);
    assert_eq!(
        b.post(
            "/api/v1/auth/login/password",
            json!({"account": PHONE, "password": "abc12345"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let (rows, _) = app::ports::AuditStore::audit_all(&hall.store)
        .await
        .unwrap();
    assert!(
        rows.iter().any(|r| r.event.action == "user.locked"),
        "lockout is audited"
    );
}

#[tokio::test]
async fn sessions_time_out_and_log_out_everywhere() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b1 = Browser::new(&hall).await;
    register(&hall, &b1, PHONE, Some("abc12345")).await;
    hall.clock.advance(29 * 60_000);
    assert_eq!(
        b1.get("/api/v1/account").await.0,
        StatusCode::OK,
        "used within 30 minutes"
    );
    hall.clock.advance(29 * 60_000);
    assert_eq!(
        b1.get("/api/v1/account").await.0,
        StatusCode::OK,
        "sliding idle timeout"
    );
    hall.clock.advance(31 * 60_000);
    assert_eq!(
        b1.get("/api/v1/account").await.0,
        StatusCode::UNAUTHORIZED,
        "idle 31 minutes"
    );
    // Absolute: 12 h even when used every 20 minutes.
    b1.post(
        "/api/v1/auth/login/password",
        json!({"account": PHONE, "password": "abc12345"}),
    )
    .await;
    for _ in 0..35 {
        hall.clock.advance(20 * 60_000);
        assert_eq!(b1.get("/api/v1/account").await.0, StatusCode::OK);
    }
    hall.clock.advance(20 * 60_000);
    assert_eq!(
        b1.get("/api/v1/account").await.0,
        StatusCode::UNAUTHORIZED,
        "12 hours after login"
    );
    // Log out everywhere ends the other browser's session too.
    let b2 = Browser::new(&hall).await;
    b1.post(
        "/api/v1/auth/login/password",
        json!({"account": PHONE, "password": "abc12345"}),
    )
    .await;
    b2.post(
        "/api/v1/auth/login/password",
        json!({"account": PHONE, "password": "abc12345"}),
    )
    .await;
    let (s, v) = b1.post("/api/v1/auth/logout-all", json!({})).await;
    assert_eq!((s, v["sessions_ended"].as_i64()), (StatusCode::OK, Some(2)));
    assert_eq!(b2.get("/api/v1/account").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reset_password_and_change_phone() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    register(&hall, &b, PHONE, None).await;
    let (s, v) = b
        .post(
            "/api/v1/account/password",
            json!({"password": "abc12345", "password_confirm": "abc12345"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a first password needs no current one: {v}"
    );
    let (s, v) = b.post("/api/v1/account/password", json!({"current_password": "bad", "password": "xyz12345", "password_confirm": "xyz12345"})).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("current_password"))
    );
    b.post(
        "/api/v1/auth/code",
        json!({"phone": PHONE, "purpose": "reset_password"}),
    )
    .await;
    let code = hall.last_code(PHONE).await;
    let (s, _) = b.post("/api/v1/auth/password/reset", json!({"phone": PHONE, "code": code, "password": "new12345!", "password_confirm": "new12345!"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b.get("/api/v1/account").await.0,
        StatusCode::UNAUTHORIZED,
        "a reset ends every session"
    );
    assert_eq!(
        b.post(
            "/api/v1/auth/login/password",
            json!({"account": PHONE, "password": "new12345!"})
        )
        .await
        .0,
        StatusCode::OK
    );
    // Change the mobile number with a code sent to the new one.
    b.post(
        "/api/v1/auth/code",
        json!({"phone": "13900139000", "purpose": "change_phone"}),
    )
    .await;
    let code = hall.last_code("13900139000").await;
    let (s, v) = b
        .post(
            "/api/v1/account/phone",
            json!({"phone": "13900139000", "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        b.post(
            "/api/v1/auth/login/password",
            json!({"account": "13900139000", "password": "new12345!"})
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_edge_refuses_without_csrf_oversized_bodies_and_unknown_routes() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    // No token, wrong token, foreign origin.
    let r =
        b.c.post(format!("{}/login", hall.base))
            .form(&[("phone", PHONE)])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("页面已过期"));
    let r =
        b.c.post(format!("{}/api/v1/auth/code", hall.base))
            .header("x-csrf-token", "0".repeat(64))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r =
        b.c.post(format!("{}/api/v1/auth/code", hall.base))
            .header("x-csrf-token", &b.csrf)
            .header("origin", "https://evil.example")
            .json(&json!({"phone": PHONE, "purpose": "login"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A 2 MB form body.
    let big = "x".repeat(2 * 1024 * 1024);
    let r = b.form("/login", &[("phone", &big)]).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("提交内容过大"));
    // Unknown routes: the 404 page; unknown API routes: JSON 404; a method the route does not
    // take: 405 (framework_errors_answer_in_the_halls_shape).
    let (s, html) = b.get("/no/such/page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("页面不存在") && html.contains("400-112-3838"));
    let (s, body) = b.get("/api/v1/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("not_found"));
    assert_eq!(
        b.c.delete(format!("{}/faq", hall.base))
            .header("x-csrf-token", &b.csrf)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    // A form without any of its fields gets messages, not a 500.
    let r = b.form("/login", &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Garbage in a form body.
    let r =
        b.c.post(format!("{}/login", hall.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("_csrf={}&%%%=%ZZ", b.csrf))
            .send()
            .await
            .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

/// The hall's page: HTML with the message, never the framework's English plain text.
async fn expect_page(r: reqwest::Response, status: StatusCode, words: &str) {
    assert_eq!(r.status(), status);
    let ct = r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let body = r.text().await.unwrap();
    assert!(
        body.contains(words) && body.contains("400-112-3838"),
        "{body}"
    );
}

/// The API's error shape with its code and a Chinese message.
async fn expect_json(r: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], code, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{msg}"
    );
}

#[tokio::test]
async fn framework_errors_answer_in_the_halls_shape() {
    // Before: axum's own English text/plain 400s and a 404 for TRACE (issue 13 item 11).
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    let url = |p: &str| format!("{}{p}", hall.base);
    // A duplicated query field on a page and on the API.
    let r =
        b.c.get(url("/register?next=/a&next=/b"))
            .send()
            .await
            .unwrap();
    expect_page(r, StatusCode::BAD_REQUEST, "请求有误").await;
    let r =
        b.c.get(url("/sandbox/sms.json?phone=1&phone=2"))
            .send()
            .await
            .unwrap();
    expect_json(r, StatusCode::BAD_REQUEST, "bad_request").await;
    // TRACE (and any method a route does not take): 405 with `Allow`, in both shapes.
    let trace = reqwest::Method::from_bytes(b"TRACE").unwrap();
    let r =
        b.c.request(trace.clone(), url("/faq"))
            .send()
            .await
            .unwrap();
    let allow = r.headers()[reqwest::header::ALLOW]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allow.contains("GET"), "{allow}");
    expect_page(r, StatusCode::METHOD_NOT_ALLOWED, "不支持的请求方式").await;
    let r =
        b.c.request(trace, url("/api/v1/session"))
            .send()
            .await
            .unwrap();
    assert!(r.headers().contains_key(reqwest::header::ALLOW));
    expect_json(r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    // An upload without a multipart boundary, and one that is not multipart at all.
    register(&hall, &b, PHONE, None).await;
    for ct in ["multipart/form-data", "text/plain"] {
        let r =
            b.c.post(url("/api/v1/orders/XB0000000000/uploads/license"))
                .header("x-csrf-token", &b.csrf)
                .header("content-type", ct)
                .body("--x\r\n")
                .send()
                .await
                .unwrap();
        expect_json(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    // A path segment of the wrong type on a staff form.
    let staff = staff_browser(&hall, Role::Admin, "admin2").await;
    let r = staff.form("/staff/jobs/abc/retry", &[]).await;
    expect_page(r, StatusCode::BAD_REQUEST, "请求有误").await;
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let r = reqwest::get(format!("{}/", hall.base)).await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("<script>") && html.contains("网上营业厅") && html.contains("400-112-3838")
    );
    for path in [
        "/faq",
        "/login",
        "/register",
        "/password/reset",
        "/staff/login",
        "/sandbox/sms",
    ] {
        assert_eq!(
            reqwest::get(format!("{}{path}", hall.base))
                .await
                .unwrap()
                .status(),
            StatusCode::OK,
            "{path}"
        );
    }
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", hall.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/auth/code"]["post"].is_object());
    assert_eq!(
        reqwest::get(format!("{}/readyz", hall.base))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

struct RealSms;
#[async_trait::async_trait]
impl app::ports::Sms for RealSms {
    fn name(&self) -> &'static str {
        "real"
    }
    fn is_sandbox(&self) -> bool {
        false
    }
    async fn send(
        &self,
        _: &app::ports::SmsMessage,
    ) -> Result<app::ports::SmsReceipt, app::GatewayError> {
        Err(app::GatewayError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn sandbox_inbox_is_404_with_a_real_provider_and_failed_sends_retry() {
    let hall = TestHall::builder(Backend::Sqlite)
        .sms(Arc::new(RealSms))
        .start()
        .await;
    assert_eq!(
        reqwest::get(format!("{}/sandbox/sms", hall.base))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reqwest::get(format!("{}/sandbox/sms.json?phone={PHONE}", hall.base))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let b = Browser::new(&hall).await;
    b.post(
        "/api/v1/auth/code",
        json!({"phone": PHONE, "purpose": "login"}),
    )
    .await;
    assert_eq!(hall.drain().await, 1);
    let jobs = hall.store.list_jobs(None, 5).await.unwrap();
    assert_eq!(
        jobs[0].status,
        app::model::JobStatus::Pending,
        "retried later"
    );
    assert!(jobs[0].run_at > hall.clock.now());
    assert_eq!(hall.drain().await, 0, "not before its backoff");
}

async fn staff_browser(hall: &TestHall, role: Role, name: &str) -> Browser {
    let c = hall
        .app
        .admin()
        .create_staff(app::authz::Operator::Cli, name, "", role)
        .await
        .unwrap();
    let b = Browser::new(hall).await;
    let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.clock.now());
    let r = b
        .form(
            "/staff/login",
            &[
                ("username", name),
                ("password", &c.password),
                ("totp", &totp),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name} logs in");
    b
}

#[tokio::test]
async fn staff_log_in_with_totp_and_see_only_their_role() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let c = hall
        .app
        .admin()
        .create_staff(app::authz::Operator::Cli, "boss", "", Role::Admin)
        .await
        .unwrap();
    let b = Browser::new(&hall).await;
    let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.clock.now());
    let r = b
        .form(
            "/staff/login",
            &[
                ("username", "boss"),
                ("password", &c.password),
                ("totp", "000000"),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong TOTP is refused"
    );
    let r = b
        .form(
            "/staff/login",
            &[
                ("username", "boss"),
                ("password", &c.password),
                ("totp", &totp),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let b2 = Browser::new(&hall).await;
    let r = b2
        .form(
            "/staff/login",
            &[
                ("username", "boss"),
                ("password", &c.password),
                ("totp", &totp),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the same TOTP code cannot be replayed"
    );

    let reviewer = staff_browser(&hall, Role::Reviewer, "rev").await;
    let finance = staff_browser(&hall, Role::Finance, "fin").await;
    let table = [
        ("/staff", [true, true, true]),
        ("/staff/accounts", [true, false, false]),
        ("/staff/audit", [true, false, false]),
        ("/staff/jobs", [true, false, false]),
        ("/staff/outbox", [true, true, false]),
    ];
    for (path, allowed) in table {
        for (who, ok) in [
            (&b, allowed[0]),
            (&reviewer, allowed[1]),
            (&finance, allowed[2]),
        ] {
            let (s, _) = who.get(path).await;
            assert_eq!(s == StatusCode::OK, ok, "{path}: {s}");
            if !ok {
                assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
            }
        }
    }
    let r = reviewer
        .form(
            "/staff/accounts",
            &[("username", "sneaky"), ("role", "admin")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a reviewer cannot create staff"
    );
    // An applicant, or nobody, reaches no staff page.
    let applicant = Browser::new(&hall).await;
    register(&hall, &applicant, PHONE, None).await;
    let r = applicant
        .c
        .get(format!("{}/staff/accounts", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/staff/login");
    // Disabling ends the reviewer's session at once.
    let r = b.form("/staff/accounts/rev/disable", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(reviewer.get("/staff").await.0, StatusCode::SEE_OTHER);
    let (_, audit) = b.get("/staff/audit").await;
    for action in [
        "staff.login",
        "staff.login_failed",
        "staff.disabled",
        "user.login",
        "code.requested",
    ] {
        assert!(audit.contains(action), "{action} is audited");
    }
    assert!(!audit.contains(PHONE), "no phone in the audit log");
    let (_, outbox) = b.get("/staff/outbox").await;
    assert!(outbox.contains("138****8000") && !outbox.contains(PHONE));
    assert!(matches!(
        hall.app.admin().verify_audit().await.unwrap(),
        app::audit::ChainCheck::Intact { .. }
    ));
}

#[tokio::test]
async fn browser_flow_through_forms_without_javascript() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::new(&hall).await;
    let r = b
        .form(
            "/register",
            &[
                ("phone", PHONE),
                ("action", "send_code"),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("验证码已发送"));
    let code = hall.last_code(PHONE).await;
    let r = b
        .form(
            "/register",
            &[
                ("phone", PHONE),
                ("code", &code),
                ("password", "abc12345"),
                ("password_confirm", "abc12345"),
                ("action", "submit"),
                ("next", "//evil.example"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/account", "no open redirect");
    let session_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("certhall_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
    let r = b.form("/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r =
        b.c.get(format!("{}/account", hall.base))
            .send()
            .await
            .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "logged out: the account page sends to login"
    );
    let r = b
        .form(
            "/login",
            &[
                ("tab", "password"),
                ("account", PHONE),
                ("password", "abc12345"),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, html) = b.get("/account").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("我的业务单") && html.contains("我的订单"));
}

#[tokio::test]
async fn the_openapi_document_validates_as_openapi_3() {
    // An independent validator (PyPI openapi-spec-validator, installed by scripts/test.sh).
    let hall = TestHall::start(Backend::Sqlite).await;
    let doc = reqwest::get(format!("{}/api/v1/openapi.json", hall.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let path = std::env::temp_dir().join(format!("certhall-openapi-{}.json", std::process::id()));
    std::fs::write(&path, doc).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')")
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "openapi.json is not valid OpenAPI 3 (or the validator is missing: run scripts/test.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_operation_the_csrf_check_guards_documents_its_403() {
    // Every state-changing request outside the exempt prefixes can be refused by the edge's
    // CSRF check (`页面已过期或请求来源不明`), so the document must say so.
    let doc: Value = serde_json::from_str(include_str!("../../../web/openapi.json")).unwrap();
    let mut guarded = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if web::edge::CSRF_EXEMPT.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for (method, op) in ops.as_object().unwrap() {
            if matches!(method.as_str(), "post" | "put" | "patch" | "delete") {
                guarded += 1;
                assert!(
                    op["responses"].get("403").is_some(),
                    "{method} {path} does not document the CSRF 403"
                );
            }
        }
    }
    assert!(guarded > 20, "{guarded}");
}

#[tokio::test]
async fn sandbox_pages_ask_for_the_secret_when_the_hall_is_reachable_from_elsewhere() {
    let hall = TestHall::builder(Backend::Sqlite)
        .web_config(web::WebConfig {
            sandbox_secret: Some(web::sandbox_gate::SandboxSecret::new("0123456789abcdef")),
            ..web::WebConfig::default()
        })
        .start()
        .await;
    let b = support::applicant::Browser::login(&hall, PHONE).await;
    // Every page still says that messages are not really sent; the inbox asks for the key.
    let (s, home) = b.get("/").await;
    assert!(
        s == StatusCode::OK && home.contains("短信不会真实发送"),
        "{home}"
    );
    for path in ["/sandbox/sms", "/sandbox/payouts"] {
        let (s, page) = b.get(path).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            page.contains("沙箱访问密钥") && page.contains("id=\"unlock-form\""),
            "{page}"
        );
        assert!(!page.contains("您的验证码为"), "{page}");
    }
    let (s, body) = b.get(&format!("/sandbox/sms.json?phone={PHONE}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let r =
        b.c.get(format!("{}/sandbox/sms.json?phone={PHONE}", hall.base))
            .header("x-sandbox-key", "0123456789abcdef")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A wrong key is refused; the right one opens the pages in this browser only.
    let (s, _, page) = b
        .form(
            "/sandbox/unlock",
            &[("secret", "nope"), ("next", "/sandbox/sms")],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("访问密钥不正确"), "{page}");
    let (s, loc, _) = b
        .form(
            "/sandbox/unlock",
            &[
                ("secret", " 0123456789abcdef "),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, "/sandbox/sms"));
    let (s, page) = b.get(&format!("/sandbox/sms?phone={PHONE}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("您的验证码为"), "{page}");
    let (s, _) = b.get("/sandbox/payouts").await;
    assert_eq!(s, StatusCode::OK);
    let other = support::applicant::Browser::new(&hall).await;
    assert_eq!(other.get("/sandbox/sms").await.0, StatusCode::UNAUTHORIZED);
    // Without a secret (loopback, the default) the pages are open.
    let open = TestHall::start(Backend::Sqlite).await;
    assert_eq!(
        reqwest::get(format!("{}/sandbox/sms", open.base))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
