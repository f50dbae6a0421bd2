//! 经办人在线认证 pages (issue 5): the PC page with the QR code (`/orders/{no}/identity`,
//! kept current by `static/identity.js` polling the JSON status), the phone pages reached by
//! the QR link (`/m/identity/{no}`: ID card photos, 活体认证, "请查看PC端继续操作"), the
//! sandbox's liveness page, the JSON API of both sides, and the staff view of the photos.
//!
//! The link's secret travels in the query (`?t=`), which the edge never logs; the first
//! phone to open it claims it and gets its own cookie (`certhall_idv`), and the link dies.

use crate::edge::{self, ApiUser, Ctx, PageStaff, PageUser};
use crate::error::{error_page, ApiError, PageError};
use crate::pages::{render, Layout};
use crate::AppState;
use app::identity::{IdentityView, CARRIER_ADVICE};
use app::AppError;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

/// Cookie of the phone that claimed a link.
pub const PHONE_COOKIE: &str = "certhall_idv";

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/{no}/identity", get(pc_page))
        .route("/orders/{no}/identity/renew", post(pc_renew))
        .route("/api/v1/orders/{no}/identity", get(api_status))
        .route("/api/v1/orders/{no}/identity/renew", post(api_renew))
        .route("/m/identity/{no}", get(phone_page))
        .route(
            "/m/identity/{no}/photos/{side}",
            post(phone_photo).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/m/identity/{no}/liveness", post(phone_liveness))
        .route("/m/identity/{no}/liveness/done", get(phone_done))
        .route("/sandbox/liveness", get(sandbox_liveness))
        .route("/staff/orders/{no}/identity/{side}", get(staff_photo))
        .route("/static/identity.js", get(script))
        .route("/static/identity.css", get(style))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/identity.js"),
    )
        .into_response()
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/identity.css"),
    )
        .into_response()
}

/// `http(s)://host` of this request (links in the QR code and the provider's return URL).
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if state.cfg.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

fn link_of(base: &str, no: &str, token: &str) -> String {
    format!("{base}/m/identity/{no}?t={token}")
}

/// The QR code of `text` as an SVG element.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build()
            .split_once("<svg")
            .map(|(_, rest)| format!("<svg role=\"img\" aria-label=\"认证二维码\"{rest}"))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// One carrier line as the PC page shows it.
pub struct CarrierRow {
    /// 经办人 / 申请人N.
    pub role: String,
    /// Masked number.
    pub phone: String,
    /// Matched.
    pub ok: bool,
}

#[derive(Template)]
#[template(path = "identity/pc.html")]
struct PcPage {
    l: Layout,
    no: String,
    status: &'static str,
    label: &'static str,
    reason: String,
    carrier: Vec<CarrierRow>,
    advice: &'static str,
    passed: bool,
    next: String,
    qr: String,
    link: String,
    error: String,
}

fn pc_view(
    state: &AppState,
    ctx: &Ctx,
    user: &PageUser,
    headers: &HeaderMap,
    no: &str,
    v: IdentityView,
    error: String,
) -> Response {
    let link = v
        .token
        .as_deref()
        .map(|t| link_of(&base_url(state, headers), no, t))
        .unwrap_or_default();
    render(&PcPage {
        l: Layout::anonymous(state, ctx)
            .with_user(user.user.phone.masked())
            .page("经办人在线认证", "account"),
        no: no.to_owned(),
        status: v.status,
        label: v.label,
        reason: v.reason,
        carrier: v
            .carrier
            .into_iter()
            .map(|c| CarrierRow {
                role: c.role,
                phone: c.phone_masked,
                ok: c.matched,
            })
            .collect(),
        advice: CARRIER_ADVICE,
        passed: v.passed,
        next: v.next,
        qr: if link.is_empty() {
            String::new()
        } else {
            qr_svg(&link)
        },
        link,
        error,
    })
}

fn user_error(state: &AppState, ctx: &Ctx, user: &PageUser, e: AppError) -> Response {
    PageError {
        layout: Layout::anonymous(state, ctx).with_user(user.user.phone.masked()),
        error: e,
    }
    .into_response()
}

/// `GET /orders/{no}/identity`: the QR page.
pub async fn pc_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Response {
    match state.app.verification().page(user.user.id, &no).await {
        Ok(v) => pc_view(&state, &ctx, &user, &headers, &no, v, String::new()),
        Err(e) => user_error(&state, &ctx, &user, e),
    }
}

/// `POST /orders/{no}/identity/renew`: 刷新二维码.
pub async fn pc_renew(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match state.app.verification().renew_link(user.user.id, &no).await {
        Ok(_) => Redirect::to(&format!("/orders/{no}/identity")).into_response(),
        Err(e) => user_error(&state, &ctx, &user, e),
    }
}

fn api_view(state: &AppState, headers: &HeaderMap, no: &str, v: IdentityView) -> Response {
    let link = v
        .token
        .as_deref()
        .map(|t| link_of(&base_url(state, headers), no, t));
    let mut body = serde_json::to_value(&v).unwrap_or_default();
    body["link"] = serde_json::json!(link);
    body["qr_svg"] = serde_json::json!(link.as_deref().map(qr_svg));
    body["advice"] = serde_json::json!(CARRIER_ADVICE);
    axum::Json(body).into_response()
}

/// `GET /api/v1/orders/{no}/identity`: the PC side's status (the page polls it).
pub async fn api_status(
    State(state): State<AppState>,
    user: ApiUser,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Response {
    match state.app.verification().status(user.user.id, &no).await {
        Ok(v) => api_view(&state, &headers, &no, v),
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /api/v1/orders/{no}/identity/renew`: a new QR link.
pub async fn api_renew(
    State(state): State<AppState>,
    user: ApiUser,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Response {
    match state.app.verification().renew_link(user.user.id, &no).await {
        Ok(v) => api_view(&state, &headers, &no, v),
        Err(e) => ApiError(e).into_response(),
    }
}

// ---- the phone ----

#[derive(Template)]
#[template(path = "identity/phone.html")]
struct PhonePage {
    l: Layout,
    no: String,
    step: &'static str,
    front: bool,
    back: bool,
    error: String,
    reason: String,
}

fn phone_layout(state: &AppState, ctx: &Ctx) -> Layout {
    Layout::anonymous(state, ctx).page("经办人身份认证", "")
}

fn phone_error(state: &AppState, ctx: &Ctx, e: AppError) -> Response {
    let (status, title) = match &e {
        AppError::NotFound => (StatusCode::NOT_FOUND, "链接无效"),
        AppError::Conflict(_) => (StatusCode::GONE, "二维码已失效"),
        AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "认证服务暂时不可用"),
        _ => {
            return PageError {
                layout: phone_layout(state, ctx),
                error: e,
            }
            .into_response()
        }
    };
    let message = match &e {
        AppError::NotFound => {
            "此认证链接无效。请在电脑端打开业务单的“经办人在线认证”页面,用手机重新扫描页面上的二维码。".to_owned()
        }
        AppError::Unavailable(_) => app::identity::UNAVAILABLE.to_owned(),
        other => other.to_string(),
    };
    error_page(phone_layout(state, ctx), status, title, &message)
}

#[derive(Deserialize)]
pub struct LinkQuery {
    t: Option<String>,
}

async fn phone_render(
    state: &AppState,
    ctx: &Ctx,
    no: &str,
    secret: &str,
    error: String,
    status: StatusCode,
) -> Response {
    let (o, a) = match state.app.verification().phone_attempt(no, secret).await {
        Ok(x) => x,
        Err(e) => return phone_error(state, ctx, e),
    };
    use app::identity::AttemptStatus as S;
    let step = match a.status {
        _ if o.state != domain::order::OrderState::PendingVerification && a.status != S::Failed => {
            "passed"
        }
        S::Passed => "passed",
        S::Failed => "failed",
        S::Superseded => {
            return phone_error(
                state,
                ctx,
                AppError::Conflict("二维码已更新,请用手机重新扫描电脑端的新二维码".into()),
            )
        }
        S::Uploaded => "liveness",
        S::Issued | S::Scanned => "photos",
    };
    let page = PhonePage {
        l: phone_layout(state, ctx),
        no: no.to_owned(),
        step,
        front: a.front_blob.is_some() || a.front_sha256.is_some(),
        back: a.back_blob.is_some() || a.back_sha256.is_some(),
        error,
        reason: a.result.map(|r| r.reason).unwrap_or_default(),
    };
    let mut r = render(&page);
    *r.status_mut() = status;
    r
}

fn phone_secret(ctx: &Ctx) -> Option<String> {
    ctx.cookie(PHONE_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
}

/// `GET /m/identity/{no}[?t=…]`: with `t`, claims the link for this phone and redirects to
/// itself without it; without, shows the phone's current step.
pub async fn phone_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(no): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Response {
    if let Some(token) = q.t {
        // The same phone opening the link again just continues.
        if let Some(secret) = phone_secret(&ctx) {
            if let Ok((_, a)) = state.app.verification().phone_attempt(&no, &secret).await {
                if a.status != app::identity::AttemptStatus::Superseded {
                    return Redirect::to(&format!("/m/identity/{no}")).into_response();
                }
            }
        }
        return match state.app.verification().claim_link(&no, &token).await {
            Ok(secret) => {
                let mut r = Redirect::to(&format!("/m/identity/{no}")).into_response();
                r.headers_mut().append(
                    header::SET_COOKIE,
                    edge::cookie(
                        PHONE_COOKIE,
                        &secret,
                        state.cfg.secure_cookies,
                        Some(app::identity::PHONE_SESSION / 1000),
                        "Lax",
                    ),
                );
                r
            }
            Err(e) => phone_error(&state, &ctx, e),
        };
    }
    let Some(secret) = phone_secret(&ctx) else {
        return phone_error(&state, &ctx, AppError::NotFound);
    };
    phone_render(&state, &ctx, &no, &secret, String::new(), StatusCode::OK).await
}

/// Reads the first non-empty `file` part (the form has a camera input and an album input).
async fn read_photo(mut mp: Multipart, limit: usize) -> Result<Vec<u8>, String> {
    let too_big = || format!("照片大小不能超过{}MB", limit / (1024 * 1024));
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err("请拍摄或选择身份证照片".into()),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(_) => return Err("上传中断或内容无法识别,请重新上传".into()),
        };
        if field.name() != Some("file") {
            continue;
        }
        let mut buf = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    if buf.len() + c.len() > limit {
                        return Err(too_big());
                    }
                    buf.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
                Err(_) => return Err("上传中断,请重新上传".into()),
            }
        }
        if !buf.is_empty() {
            return Ok(buf);
        }
    }
}

/// `POST /m/identity/{no}/photos/{front|back}?_csrf=…`: one ID card photo.
pub async fn phone_photo(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((no, side)): Path<(String, String)>,
    mp: Multipart,
) -> Response {
    let Some(secret) = phone_secret(&ctx) else {
        return phone_error(&state, &ctx, AppError::NotFound);
    };
    // Who and where first, before reading the body.
    if let Err(e) = state.app.verification().phone_attempt(&no, &secret).await {
        return phone_error(&state, &ctx, e);
    }
    let result = match read_photo(mp, crate::wizard::max_file_bytes(&state)).await {
        Ok(bytes) => {
            state
                .app
                .verification()
                .phone_upload(&no, &secret, &side, &bytes)
                .await
        }
        Err(msg) => Err(AppError::invalid("file", msg)),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/m/identity/{no}")).into_response(),
        Err(AppError::Invalid { message, .. }) => {
            phone_render(&state, &ctx, &no, &secret, message, StatusCode::BAD_REQUEST).await
        }
        Err(e) => phone_error(&state, &ctx, e),
    }
}

/// `POST /m/identity/{no}/liveness`: 开始活体认证 (to the provider's page).
pub async fn phone_liveness(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Response {
    let Some(secret) = phone_secret(&ctx) else {
        return phone_error(&state, &ctx, AppError::NotFound);
    };
    match state
        .app
        .verification()
        .phone_start_liveness(&no, &secret, &base_url(&state, &headers))
        .await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => phone_refused(&state, &ctx, &no, &secret, e).await,
    }
}

/// The phone page again with why a liveness step was refused: an outage (503, try again,
/// nothing changed), a limit or a conflict (409); anything else is the error page.
async fn phone_refused(
    state: &AppState,
    ctx: &Ctx,
    no: &str,
    secret: &str,
    e: AppError,
) -> Response {
    let (message, status) = match e {
        AppError::Unavailable(_) => (
            app::identity::UNAVAILABLE.to_owned(),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        e @ (AppError::RateLimited(_) | AppError::Conflict(_)) => {
            (e.to_string(), StatusCode::CONFLICT)
        }
        e => return phone_error(state, ctx, e),
    };
    phone_render(state, ctx, no, secret, message, status).await
}

#[derive(Deserialize)]
pub struct DoneQuery {
    token: Option<String>,
}

/// `GET /m/identity/{no}/liveness/done?token=…`: back from the provider; runs the checks.
pub async fn phone_done(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(no): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let Some(secret) = phone_secret(&ctx) else {
        return phone_error(&state, &ctx, AppError::NotFound);
    };
    let token = q.token.unwrap_or_default();
    match state
        .app
        .verification()
        .phone_finish_liveness(&no, &secret, &token, &base_url(&state, &headers))
        .await
    {
        Ok(_) => phone_render(&state, &ctx, &no, &secret, String::new(), StatusCode::OK).await,
        // A limit cannot be hit here (starting counted it); the same mapping as the start.
        Err(e) => phone_refused(&state, &ctx, &no, &secret, e).await,
    }
}

#[derive(Template)]
#[template(path = "identity/sandbox_liveness.html")]
struct SandboxLiveness {
    l: Layout,
    next: String,
    token: String,
}

#[derive(Deserialize)]
pub struct SandboxQuery {
    token: Option<String>,
    next: Option<String>,
}

/// `GET /sandbox/liveness`: the sandbox provider's stand-in for the vendor's H5 page. Only
/// sends the phone back to this hall's own return path.
pub async fn sandbox_liveness(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SandboxQuery>,
) -> Response {
    let next = q.next.unwrap_or_default();
    let token = q.token.unwrap_or_default();
    let ok_next = next.starts_with("/m/identity/")
        && next.ends_with("/liveness/done")
        && next.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/');
    let ok_token =
        !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_alphanumeric());
    if state.app.verification().provider_name() != "sandbox" || !ok_next || !ok_token {
        return phone_error(&state, &ctx, AppError::NotFound);
    }
    render(&SandboxLiveness {
        l: phone_layout(&state, &ctx),
        next,
        token,
    })
}

/// `GET /staff/orders/{no}/identity/{front|back}`: a reviewer sees the ID photos (audited).
pub async fn staff_photo(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: PageStaff,
    Path((no, side)): Path<(String, String)>,
) -> Response {
    match state
        .app
        .verification()
        .photo_for_staff(&staff.actor, &no, &side)
        .await
    {
        Ok(bytes) => {
            let mime = app::uploads::sniff(&bytes).unwrap_or("application/octet-stream");
            crate::edge::untrusted_file(mime, &format!("identity-{side}"), bytes)
        }
        Err(e) => PageError {
            layout: Layout::anonymous(&state, &ctx),
            error: e,
        }
        .into_response(),
    }
}
