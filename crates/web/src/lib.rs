//! certhall's HTTP edge (axum): applicant pages, staff console, JSON API, static assets.
//! Handlers parse and authenticate, call an `app` use case, and render; they never decide
//! permissions and never touch SQL.
#![forbid(unsafe_code)]

pub mod api;
pub mod certs;
pub mod config;
pub mod edge;
pub mod error;
pub mod identity;
pub mod listener;
pub mod orders_api;
pub mod pages;
pub mod payments;
pub mod pdf;
pub mod pki_routes;
pub mod review;
pub mod revocation;
pub mod sandbox_gate;
pub mod staff;
pub mod wizard;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use std::sync::Arc;

pub use config::{Brand, WebConfig};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: app::App,
    /// Edge settings.
    pub cfg: Arc<WebConfig>,
}

async fn static_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, mime) = match name.as_str() {
        "app.css" => (include_str!("../static/app.css"), "text/css; charset=utf-8"),
        "app.js" => (
            include_str!("../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "favicon.svg" => (include_str!("../static/favicon.svg"), "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: edge::Ctx,
    uri: axum::http::Uri,
) -> Response {
    if uri.path().starts_with("/api/") {
        return error::ApiError(app::AppError::NotFound).into_response();
    }
    pages::not_found_page(pages::layout_for(&state, &ctx).await)
}

/// The whole router; `extra` routes (CRL, OCSP…) are merged in before the edge middleware.
pub fn router(state: AppState, extra: Option<Router>) -> Router {
    let sandbox = state.app.sandbox().sms_is_sandbox();
    let mut r = Router::new()
        .route("/", get(pages::home))
        .route("/faq", get(pages::faq))
        .route("/apply", get(wizard::start_page).post(wizard::start))
        .route("/orders/{no}", get(wizard::order))
        .route(
            "/orders/{no}/agreement",
            get(wizard::agreement).post(wizard::agreement_post),
        )
        .route(
            "/orders/{no}/application",
            get(wizard::application).post(wizard::application_post),
        )
        .route(
            "/orders/{no}/data",
            get(wizard::data).post(wizard::data_post),
        )
        .route(
            "/orders/{no}/preview",
            get(wizard::preview).post(wizard::preview_post),
        )
        .route("/orders/{no}/letter", get(wizard::letter))
        .route("/orders/{no}/letter.pdf", get(wizard::letter_pdf))
        .route("/orders/{no}/uploads", get(wizard::uploads))
        .route(
            "/orders/{no}/uploads/{kind}",
            // The handler streams and enforces its own per-file limit.
            get(wizard::upload_get)
                .post(wizard::upload_post)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/orders/{no}/submit", post(wizard::submit))
        .route("/orders/{no}/cancel", post(wizard::cancel))
        .route("/templates/seal-form.pdf", get(wizard::seal_form_pdf))
        .route("/register", get(pages::register_form).post(pages::register))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/password/reset", get(pages::reset_form).post(pages::reset))
        .route("/account", get(pages::account))
        .route("/account/password", post(pages::account_password))
        .route("/account/phone", post(pages::account_phone))
        .route("/account/orders/{no}/code", post(pages::account_code))
        .route("/logout", post(pages::logout))
        .route("/logout-all", post(pages::logout_all))
        .route("/staff/login", get(staff::login_form).post(staff::login))
        .route("/staff/logout", post(staff::logout))
        .route("/staff", get(staff::home))
        .route(
            "/staff/accounts",
            get(staff::accounts).post(staff::create_account),
        )
        .route(
            "/staff/accounts/{username}/{op}",
            post(staff::toggle_account),
        )
        .route("/staff/audit", get(staff::audit))
        .route("/staff/catalogue", get(staff::catalogue))
        .route("/staff/outbox", get(staff::outbox))
        .route("/staff/jobs", get(staff::jobs))
        .route("/staff/jobs/{id}/retry", post(staff::retry_job))
        .route("/api/v1/session", get(api::session))
        .route("/api/v1/auth/code", post(api::request_code))
        .route("/api/v1/auth/login/code", post(api::login_code))
        .route("/api/v1/auth/login/password", post(api::login_password))
        .route("/api/v1/auth/password/reset", post(api::reset_password))
        .route("/api/v1/auth/logout", post(api::logout))
        .route("/api/v1/auth/logout-all", post(api::logout_all))
        .route("/api/v1/account", get(api::account))
        .route("/api/v1/account/password", post(api::change_password))
        .route("/api/v1/account/phone", post(api::change_phone))
        .route("/api/v1/catalogue", get(orders_api::catalogue))
        .route(
            "/api/v1/orders",
            get(orders_api::list).post(orders_api::create),
        )
        .route("/api/v1/orders/{no}", get(orders_api::show))
        .route("/api/v1/orders/{no}/agreement", post(orders_api::agreement))
        .route(
            "/api/v1/orders/{no}/application",
            post(orders_api::application),
        )
        .route("/api/v1/orders/{no}/data", put(orders_api::data))
        .route("/api/v1/orders/{no}/preview", post(orders_api::preview))
        .route(
            "/api/v1/orders/{no}/uploads/{kind}",
            post(orders_api::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/v1/orders/{no}/submit", post(orders_api::submit))
        .route("/api/v1/orders/{no}/cancel", post(orders_api::cancel))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/static/{name}", get(static_file))
        .merge(identity::routes())
        .merge(review::routes())
        .merge(payments::routes())
        .merge(certs::routes())
        .merge(revocation::routes());
    if sandbox {
        r = r
            .route("/sandbox/sms", get(pages::sandbox_sms))
            .route("/sandbox/sms.json", get(api::sandbox_sms));
    }
    if state.cfg.sandbox_secret.is_some() {
        r = r.route("/sandbox/unlock", axum::routing::post(sandbox_gate::unlock));
    }
    let mut r: Router = r.fallback(not_found).with_state(state.clone());
    if let Some(extra) = extra {
        r = r.merge(extra);
    }
    r.layer(axum::middleware::from_fn_with_state(state, edge::edge))
}

/// The router type handlers are served by.
pub type RouterType = Router;

/// Serves `router` on `listener` until `shutdown` completes; handlers see the client address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // `tap_io` only so axum gives handlers the client address (`ConnectInfo<SocketAddr>`)
    // from the guarded listener.
    let guarded = listener::Guarded::new(listener).tap_io(|_| {});
    axum::serve(
        guarded,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
