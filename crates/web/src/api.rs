//! The JSON API under `/api/v1`: the same use cases as the pages, described by
//! `GET /api/v1/openapi.json`.

use crate::edge::{cookie, ApiUser, Ctx, Json, USER_COOKIE};
use crate::error::ApiError;
use crate::AppState;
use app::model::{CodePurpose, Principal};
use app::AppError;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

/// `GET /api/v1/session`: the CSRF token to send back in `X-CSRF-Token`, and whether a user is
/// logged in.
pub async fn session(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let user = crate::edge::user_of(&state, &ctx).await?;
    ok(json!({"csrf_token": ctx.csrf, "authenticated": user.is_some()}))
}

/// Body of `POST /api/v1/auth/code`.
#[derive(Debug, Deserialize)]
pub struct CodeRequest {
    /// Mobile number.
    pub phone: String,
    /// `login`, `reset_password` or `change_phone`.
    pub purpose: String,
}

/// `POST /api/v1/auth/code`.
pub async fn request_code(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(b): Json<CodeRequest>,
) -> ApiResult {
    let purpose = CodePurpose::parse(&b.purpose).ok_or_else(|| {
        AppError::invalid("purpose", "用途应为 login、reset_password 或 change_phone")
    })?;
    let message = state
        .app
        .accounts()
        .request_code(&b.phone, purpose, &ctx.ip)
        .await?;
    ok(
        json!({"message": message, "cooldown_seconds": state.app.accounts().code_cooldown_ms() / 1000}),
    )
}

/// Body of `POST /api/v1/auth/login/code`.
#[derive(Debug, Deserialize)]
pub struct CodeLogin {
    /// Mobile number.
    pub phone: String,
    /// SMS code.
    pub code: String,
    /// Optional password to set (registration).
    #[serde(default)]
    pub password: Option<String>,
    /// The password again.
    #[serde(default)]
    pub password_confirm: Option<String>,
}

fn with_session(state: &AppState, token: &str) -> Response {
    let mut resp = axum::Json(json!({"authenticated": true})).into_response();
    let max_age = state.app.accounts().session_max_age_ms() / 1000;
    resp.headers_mut().append(
        SET_COOKIE,
        cookie(
            USER_COOKIE,
            token,
            state.cfg.secure_cookies,
            Some(max_age),
            "Lax",
        ),
    );
    resp
}

/// `POST /api/v1/auth/login/code`: log in (registering on first use) with an SMS code.
pub async fn login_code(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(b): Json<CodeLogin>,
) -> ApiResult {
    let pw = b
        .password
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| (p, b.password_confirm.as_deref().unwrap_or("")));
    let s = state
        .app
        .accounts()
        .login_with_code(&b.phone, &b.code, pw, &ctx.ip)
        .await?;
    Ok(with_session(&state, &s.token))
}

/// Body of `POST /api/v1/auth/login/password`.
#[derive(Debug, Deserialize)]
pub struct PasswordLogin {
    /// The account (mobile number).
    pub account: String,
    /// Password.
    pub password: String,
}

/// `POST /api/v1/auth/login/password`.
pub async fn login_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(b): Json<PasswordLogin>,
) -> ApiResult {
    let s = state
        .app
        .accounts()
        .login_with_password(&b.account, &b.password, &ctx.ip)
        .await?;
    Ok(with_session(&state, &s.token))
}

/// Body of `POST /api/v1/auth/password/reset`.
#[derive(Debug, Deserialize)]
pub struct ResetBody {
    /// Mobile number.
    pub phone: String,
    /// SMS code.
    pub code: String,
    /// New password.
    pub password: String,
    /// New password again.
    pub password_confirm: String,
}

/// `POST /api/v1/auth/password/reset`.
pub async fn reset_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(b): Json<ResetBody>,
) -> ApiResult {
    state
        .app
        .accounts()
        .reset_password(&b.phone, &b.code, &b.password, &b.password_confirm, &ctx.ip)
        .await?;
    ok(json!({"message": "密码已重置,请使用新密码登录"}))
}

/// `POST /api/v1/auth/logout`.
pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    if let Some(t) = ctx.cookie(USER_COOKIE) {
        state.app.accounts().logout(t, &ctx.ip).await?;
    }
    let mut resp = axum::Json(json!({"authenticated": false})).into_response();
    resp.headers_mut().append(
        SET_COOKIE,
        cookie(USER_COOKIE, "", state.cfg.secure_cookies, Some(0), "Lax"),
    );
    Ok(resp)
}

/// `POST /api/v1/auth/logout-all`.
pub async fn logout_all(State(state): State<AppState>, ctx: Ctx, u: ApiUser) -> ApiResult {
    let n = state
        .app
        .accounts()
        .logout_everywhere(Principal::User(u.user.id), &ctx.ip)
        .await?;
    let mut resp = axum::Json(json!({"sessions_ended": n})).into_response();
    resp.headers_mut().append(
        SET_COOKIE,
        cookie(USER_COOKIE, "", state.cfg.secure_cookies, Some(0), "Lax"),
    );
    Ok(resp)
}

/// `GET /api/v1/account`.
pub async fn account(u: ApiUser) -> ApiResult {
    ok(json!({
        "id": u.user.id,
        "phone_masked": u.user.phone.masked(),
        "has_password": u.user.password_hash.is_some(),
        "registered_at": app::clock::format_beijing(u.user.created_at),
    }))
}

/// Body of `POST /api/v1/account/password`.
#[derive(Debug, Deserialize)]
pub struct ChangePassword {
    /// Current password (when one is set).
    #[serde(default)]
    pub current_password: Option<String>,
    /// New password.
    pub password: String,
    /// New password again.
    pub password_confirm: String,
}

/// `POST /api/v1/account/password`.
pub async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    u: ApiUser,
    Json(b): Json<ChangePassword>,
) -> ApiResult {
    state
        .app
        .accounts()
        .change_password(
            u.user.id,
            b.current_password.as_deref(),
            &b.password,
            &b.password_confirm,
            &ctx.ip,
        )
        .await?;
    ok(json!({"message": "密码已保存"}))
}

/// Body of `POST /api/v1/account/phone`.
#[derive(Debug, Deserialize)]
pub struct ChangePhone {
    /// New mobile number.
    pub phone: String,
    /// Code sent to it (purpose `change_phone`).
    pub code: String,
}

/// `POST /api/v1/account/phone`.
pub async fn change_phone(
    State(state): State<AppState>,
    ctx: Ctx,
    u: ApiUser,
    Json(b): Json<ChangePhone>,
) -> ApiResult {
    state
        .app
        .accounts()
        .change_phone(u.user.id, &b.phone, &b.code, &ctx.ip)
        .await?;
    ok(json!({"message": "手机号码已更换"}))
}

/// Query of `/sandbox/sms.json`.
#[derive(Debug, Deserialize)]
pub struct PhoneParam {
    /// The phone.
    #[serde(default)]
    pub phone: String,
}

/// `GET /sandbox/sms.json?phone=NNN`: the sandbox's latest messages to a phone, newest first.
pub async fn sandbox_sms(
    State(state): State<AppState>,
    ctx: crate::edge::Ctx,
    headers: axum::http::HeaderMap,
    Query(q): Query<PhoneParam>,
) -> ApiResult {
    let key = headers
        .get(crate::sandbox_gate::HEADER)
        .and_then(|v| v.to_str().ok());
    if !crate::sandbox_gate::allowed(&state, &ctx, key) {
        return Err(AppError::Unauthorized("请提供沙箱访问密钥(X-Sandbox-Key)".into()).into());
    }
    let list = state.app.sandbox().inbox(&q.phone).await?;
    let messages: Vec<Value> = list
        .into_iter()
        .map(|(m, text)| json!({"id": m.id, "template": m.template, "text": text, "params": m.params.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<_, _>>(), "sent_at": m.sent_at}))
        .collect();
    ok(json!({"phone": q.phone, "messages": messages}))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.admin().ready().await {
        Ok(()) => axum::Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            let status = match e {
                AppError::StorageFull(_) => "storage full",
                _ => "database unreachable",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": status, "message": e.to_string()})),
            )
                .into_response()
        }
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    let doc: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap_or(Value::Null);
    axum::Json(doc).into_response()
}
