//! What every request goes through: request id, client address, body limit, CSRF check,
//! security headers, one log event. Also the extractors handlers use.

use crate::error::{error_page, ApiError};
use crate::pages::Layout;
use crate::AppState;
use app::model::Principal;
use app::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::time::Instant;

/// Cookie holding the applicant session token.
pub const USER_COOKIE: &str = "certhall_session";
/// Cookie holding the staff session token.
pub const STAFF_COOKIE: &str = "certhall_staff";
/// Cookie holding the CSRF token (double submit).
pub const CSRF_COOKIE: &str = "certhall_csrf";
/// Form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// Header carrying the CSRF token (JSON API).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Paths whose POSTs come from machines that cannot hold our cookie (OCSP clients, payment
/// gateways); they authenticate by other means.
pub const CSRF_EXEMPT: &[&str] = &["/ocsp", "/api/v1/callbacks/"];

/// Per-request facts the edge worked out.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Short id tying log lines of one request together.
    pub request_id: String,
    /// Client address.
    pub ip: String,
    /// The CSRF token to embed in forms.
    pub csrf: String,
    /// Cookies of the request.
    pub cookies: Vec<(String, String)>,
}

impl Ctx {
    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The cookies of every `Cookie` header, parsed by the `cookie` crate (pieces without a name
/// or an `=` are skipped; values are kept as sent, with no percent-decoding).
fn parse_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v).filter_map(Result::ok))
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect()
}

fn client_ip(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            if let Ok(ip) = first.trim().parse::<std::net::IpAddr>() {
                return ip.to_string();
            }
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "0.0.0.0".into())
}

/// A `Set-Cookie` value with the hall's attributes: `Path=/`, `HttpOnly`, `SameSite=`
/// `same_site` (`"Lax"`, `"None"`, anything else is `Strict`), `Secure` when `secure`, and
/// `Max-Age` when given (0 removes the cookie). Written by the `cookie` crate.
pub fn cookie(
    name: &str,
    value: &str,
    secure: bool,
    max_age: Option<i64>,
    same_site: &str,
) -> HeaderValue {
    let same_site = match same_site {
        "Lax" => SameSite::Lax,
        "None" => SameSite::None,
        _ => SameSite::Strict,
    };
    let mut c = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .secure(secure);
    if let Some(age) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(age));
    }
    HeaderValue::from_str(&c.build().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/sandbox/sms.json")
}

fn refuse(state: &AppState, ctx: &Ctx, path: &str, status: StatusCode, message: &str) -> Response {
    if is_api(path) {
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "csrf"
        };
        return (
            status,
            axum::Json(
                serde_json::json!({"error": {"code": code, "message": message, "field": null}}),
            ),
        )
            .into_response();
    }
    let title = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "提交内容过大"
    } else {
        "页面已过期"
    };
    error_page(Layout::anonymous(state, ctx), status, title, message)
}

/// What a client error the framework answered by itself (an extractor's rejection: a
/// duplicated query field, a bad path segment, an upload without a multipart boundary; an
/// unknown method) says in the hall's words, or `None` when the response is the hall's own.
/// The hall never answers `text/plain` itself, so a client error in plain text (or with no
/// body type at all) is the framework's.
fn framework_message(status: StatusCode) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match status {
        StatusCode::BAD_REQUEST => (
            "bad_request",
            "请求有误",
            "请求中的参数或上传内容无法识别(例如参数重复、格式不对,或上传内容不完整),请刷新页面后重试",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "不支持的请求方式",
            "该地址不支持这种请求方式,请从页面上的链接或按钮进入",
        ),
        StatusCode::LENGTH_REQUIRED => (
            "length_required",
            "请求有误",
            "请求缺少内容长度,请刷新页面后重试",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "提交内容过大",
            "提交的内容超过大小限制,请压缩文件后重试",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "请求有误",
            "提交内容的类型不对(表单、JSON或上传文件),请刷新页面后重试",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "invalid_body",
            "请求有误",
            "提交的内容缺少字段或格式不对,请检查后重试",
        ),
        _ => return None,
    })
}

fn framework_error(state: &AppState, ctx: &Ctx, path: &str, response: Response) -> Response {
    let plain = match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.as_bytes().starts_with(b"text/plain"),
    };
    let Some((code, title, message)) = framework_message(response.status()).filter(|_| plain)
    else {
        return response;
    };
    let (parts, _) = response.into_parts();
    let mut answer = if is_api(path) {
        (
            parts.status,
            axum::Json(
                serde_json::json!({"error": {"code": code, "message": message, "field": null}}),
            ),
        )
            .into_response()
    } else {
        error_page(Layout::anonymous(state, ctx), parts.status, title, message)
    };
    // Keep what the framework said in headers (`Allow` on a 405).
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The edge middleware.
pub async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let cookies = parse_cookies(req.headers());
    let existing = cookies
        .iter()
        .find(|(k, _)| k == CSRF_COOKIE)
        .map(|(_, v)| v.clone())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let csrf = existing
        .clone()
        .unwrap_or_else(|| app::secrets::random_hex(32));
    let ctx = Ctx {
        request_id: app::secrets::random_hex(6),
        ip: client_ip(&req, state.cfg.trust_proxy),
        csrf: csrf.clone(),
        cookies,
    };

    let response = match check(&state, &ctx, &method, &path, existing.as_deref(), req).await {
        Ok(mut req) => {
            req.extensions_mut().insert(ctx.clone());
            next.run(req).await
        }
        Err(resp) => resp,
    };
    let mut response = framework_error(&state, &ctx, &path, response);
    let h = response.headers_mut();
    // A handler serving someone's uploaded file sets its own, stricter policy
    // ([`untrusted_file`]); keep it rather than sending two.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if existing.is_none() {
        h.append(
            header::SET_COOKIE,
            cookie(CSRF_COOKIE, &csrf, state.cfg.secure_cookies, None, "Strict"),
        );
    }
    // One event per request; the query string is left out because it may hold personal data.
    tracing::info!(
        request.id = %ctx.request_id,
        http.method = %method,
        http.path = %path,
        http.status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn check(
    state: &AppState,
    ctx: &Ctx,
    method: &Method,
    path: &str,
    cookie_token: Option<&str>,
    req: Request,
) -> Result<Request, Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let multipart = content_type.is_some_and(|v| v.starts_with("multipart/form-data"));
    let limit = if multipart {
        state.cfg.max_upload_bytes
    } else {
        state.cfg.max_body_bytes
    };
    let too_large = || {
        if path == "/ocsp" {
            // An OCSP client reads OCSP: RFC 6960 §2.3 malformedRequest, not a page.
            return crate::pki_routes::malformed_response();
        }
        let msg = format!("提交的内容超过{}KB,请精简后重试", limit / 1024);
        refuse(state, ctx, path, StatusCode::PAYLOAD_TOO_LARGE, &msg)
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|len| len > limit) {
        linger(req.into_body()).await;
        return Err(too_large());
    }
    // TRACE is safe (RFC 9110 §9.2.1) and no route takes it: it gets the 405, not a CSRF 403.
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok(req);
    }
    let exempt = CSRF_EXEMPT.iter().any(|p| path.starts_with(p));
    let header_token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !exempt && foreign_origin(req.headers()) {
        return Err(csrf_refused(state, ctx, path));
    }
    if multipart {
        // Uploads are streamed by their handler, which enforces its own per-file limit; the
        // token comes from the header (script uploads) or the form action's query (`?_csrf=`).
        let sent = header_token.or_else(|| {
            req.uri()
                .query()
                .and_then(|q| form_field(q.as_bytes(), CSRF_FIELD))
        });
        return if exempt || tokens_match(cookie_token, sent) {
            Ok(req)
        } else {
            Err(csrf_refused(state, ctx, path))
        };
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    if !exempt
        && !tokens_match(
            cookie_token,
            header_token.or_else(|| form_field(&bytes, CSRF_FIELD)),
        )
    {
        return Err(csrf_refused(state, ctx, path));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Reads and discards what the client is still sending (at most 64 MiB or 5 s) before a
/// refusal is answered, so the client reads the 413 instead of a reset connection: a socket
/// closed with unread data makes the peer's TCP stack drop the response (nginx calls this a
/// lingering close). Nothing is kept, so memory stays flat.
async fn linger(body: Body) {
    use axum::body::HttpBody;
    const CAP: u64 = 64 * 1024 * 1024;
    let drain = async move {
        let mut body = std::pin::pin!(body);
        let mut seen = 0u64;
        while seen < CAP {
            match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
}

fn tokens_match(cookie_token: Option<&str>, sent: Option<String>) -> bool {
    match (cookie_token, sent) {
        (Some(c), Some(s)) => app::secrets::constant_time_eq(c, &s),
        _ => false,
    }
}

fn csrf_refused(state: &AppState, ctx: &Ctx, path: &str) -> Response {
    refuse(
        state,
        ctx,
        path,
        StatusCode::FORBIDDEN,
        "页面已过期或请求来源不明,请刷新页面后重试",
    )
}

/// Whether the request's `Origin` names another site.
fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin != "null" && origin.split("://").nth(1).unwrap_or("") != host
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// A urlencoded form; a body that does not parse gets a Chinese 400 page, not a bare error.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let ctx = req.extensions().get::<Ctx>().cloned();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|_| {
            let layout = ctx
                .as_ref()
                .map(|c| Layout::anonymous(state, c))
                .unwrap_or_else(|| Layout::bare(state));
            error_page(
                layout,
                StatusCode::BAD_REQUEST,
                "表单内容有误",
                "提交的表单内容无法识别,请刷新页面后重新填写",
            )
        })
    }
}

/// A JSON body; malformed JSON gets the API's error shape with a Chinese message.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            let msg = format!("请求内容不是有效的JSON或缺少字段(第{}行第{}列)", e.line(), e.column());
            (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"error": {"code": "invalid_json", "message": msg, "field": null}}))).into_response()
        })
    }
}

/// The logged-in applicant, for pages: no session redirects to the login page.
pub struct PageUser {
    /// The account.
    pub user: app::model::User,
    /// The session token (for logout).
    pub token: String,
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/account");
            Redirect::to(&format!("/login?next={}", urlencode(next))).into_response()
        };
        match user_of(state, &ctx).await {
            Ok(Some((user, token))) => Ok(Self { user, token }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(crate::error::PageError {
                layout: Layout::anonymous(state, &ctx),
                error: e,
            }
            .into_response()),
        }
    }
}

/// The logged-in applicant, for the JSON API: no session answers 401.
pub struct ApiUser {
    /// The account.
    pub user: app::model::User,
    /// The session token.
    pub token: String,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        match user_of(state, &ctx).await {
            Ok(Some((user, token))) => Ok(Self { user, token }),
            Ok(None) => Err(ApiError(AppError::Unauthenticated).into_response()),
            Err(e) => Err(ApiError(e).into_response()),
        }
    }
}

/// The applicant behind the session cookie, if any.
pub async fn user_of(
    state: &AppState,
    ctx: &Ctx,
) -> Result<Option<(app::model::User, String)>, AppError> {
    let Some(token) = ctx.cookie(USER_COOKIE) else {
        return Ok(None);
    };
    match state.app.accounts().resolve_session(token).await? {
        Some(Principal::User(id)) => Ok(Some((
            state.app.accounts().current_user(id).await?,
            token.to_owned(),
        ))),
        _ => Ok(None),
    }
}

/// The logged-in staff member, for staff pages: no session redirects to the staff login.
pub struct PageStaff {
    /// Who acts, with the role the app layer checks.
    pub actor: app::authz::StaffActor,
    /// The session token.
    pub token: String,
}

impl FromRequestParts<AppState> for PageStaff {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let to_login = || Redirect::to("/staff/login").into_response();
        let Some(token) = ctx.cookie(STAFF_COOKIE) else {
            return Err(to_login());
        };
        match state.app.accounts().resolve_session(token).await {
            Ok(Some(Principal::Staff(id))) => {
                match state.app.accounts().staff_actor(id, Some(&ctx.ip)).await {
                    Ok(actor) => Ok(Self {
                        actor,
                        token: token.to_owned(),
                    }),
                    Err(_) => Err(to_login()),
                }
            }
            Ok(_) => Err(to_login()),
            Err(e) => Err(crate::error::PageError {
                layout: Layout::anonymous(state, &ctx),
                error: e,
            }
            .into_response()),
        }
    }
}

/// What [`urlencode`] leaves as it is: ASCII letters, digits and `-_.~/`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a string for a query parameter or an RFC 5987 `filename*` (UTF-8 bytes as
/// `%XX`, upper-case hex), keeping `/` so a local path stays readable.
pub fn urlencode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The policy of a file someone uploaded (a scan, an ID photo): a sandboxed document with an
/// opaque origin, so even a file that slipped past the content checks can never run script in
/// the hall's origin, send forms or load anything but itself.
pub const UNTRUSTED_FILE_CSP: &str = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// An uploaded file shown in the browser: its checked type, the sandboxing policy above,
/// `nosniff` (from [`edge`]), and `inline` with an ASCII file name made of `stem` (letters,
/// digits, `-`, `_` only) and the type's extension. A type that is not a PNG, JPEG or PDF is
/// only offered as a download.
pub fn untrusted_file(mime: &str, stem: &str, bytes: Vec<u8>) -> Response {
    let known: Option<(&'static str, &str)> = match mime {
        "image/png" => Some(("image/png", "png")),
        "image/jpeg" => Some(("image/jpeg", "jpg")),
        "application/pdf" => Some(("application/pdf", "pdf")),
        _ => None,
    };
    let mut stem: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    if stem.is_empty() {
        stem.push_str("file");
    }
    let (mime, disposition) = match known {
        Some((mime, ext)) => (mime, format!("inline; filename=\"{stem}.{ext}\"")),
        None => (
            "application/octet-stream",
            format!("attachment; filename=\"{stem}.bin\""),
        ),
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(UNTRUSTED_FILE_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// A safe local redirect target: only paths on this site.
pub fn local_next(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/staff") =>
        {
            n.to_owned()
        }
        _ => default.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_keeps_the_halls_attributes() {
        let v = cookie(USER_COOKIE, "ab12", true, Some(43_200), "Lax");
        assert_eq!(
            v.to_str().ok(),
            Some("certhall_session=ab12; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=43200")
        );
        let v = cookie(CSRF_COOKIE, "ff", false, None, "Strict");
        assert_eq!(
            v.to_str().ok(),
            Some("certhall_csrf=ff; HttpOnly; SameSite=Strict; Path=/")
        );
        let v = cookie(STAFF_COOKIE, "", false, Some(0), "Strict");
        assert_eq!(
            v.to_str().ok(),
            Some("certhall_staff=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
        );
        // An unknown spelling never loosens the policy; a value no header may carry is
        // replaced, not sent.
        let v = cookie("c", "1", false, None, "lax");
        assert!(v.to_str().is_ok_and(|s| s.contains("SameSite=Strict")));
        assert_eq!(cookie("c", "a\nb", false, None, "Lax"), "invalid=1");
    }

    #[test]
    fn request_cookies_from_every_header() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static(
                "certhall_csrf=00ff ; junk; =nameless;; certhall_session=\"q\"",
            ),
        );
        h.append(header::COOKIE, HeaderValue::from_static("a=b=c"));
        assert_eq!(
            parse_cookies(&h),
            vec![
                ("certhall_csrf".to_owned(), "00ff".to_owned()),
                ("certhall_session".to_owned(), "\"q\"".to_owned()),
                ("a".to_owned(), "b=c".to_owned()),
            ]
        );
        assert!(parse_cookies(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn urlencode_keeps_unreserved_and_slash() {
        assert_eq!(
            urlencode("/orders/XB1?x=1&y=a b+中"),
            "/orders/XB1%3Fx%3D1%26y%3Da%20b%2B%E4%B8%AD"
        );
        assert_eq!(urlencode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(
            urlencode("电子发票-1.pdf"),
            "%E7%94%B5%E5%AD%90%E5%8F%91%E7%A5%A8-1.pdf"
        );
    }
}
