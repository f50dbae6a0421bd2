//! The one error edge: every failure becomes a status code and a Chinese message the user can
//! act on, as an HTML page or as JSON. Internal causes are logged with the request id only.

use crate::pages::Layout;
use app::AppError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

/// Status code of an application error.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AppError::Unauthorized(_) | AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Conflict(_) | AppError::WrongState(_) | AppError::Stale => StatusCode::CONFLICT,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Short machine-readable code for JSON clients.
pub fn code_of(e: &AppError) -> &'static str {
    match e {
        AppError::Invalid { .. } => "invalid",
        AppError::Unauthorized(_) => "unauthorized",
        AppError::Unauthenticated => "unauthenticated",
        AppError::Forbidden => "forbidden",
        AppError::NotFound => "not_found",
        AppError::RateLimited(_) => "rate_limited",
        AppError::Conflict(_) | AppError::WrongState(_) | AppError::Stale => "conflict",
        AppError::Unavailable(_) => "unavailable",
        AppError::Internal(_) => "internal",
    }
}

fn log_internal(e: &AppError) {
    if let AppError::Internal(cause) | AppError::Unavailable(cause) = e {
        tracing::error!(error = %cause, "request failed");
    }
}

/// An error answered as JSON: `{"error": {"code", "message", "field"}}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_internal(&self.0);
        let field = match &self.0 {
            AppError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        let body = json!({"error": {"code": code_of(&self.0), "message": self.0.to_string(), "field": field}});
        (status_of(&self.0), axum::Json(body)).into_response()
    }
}

/// The full-page error template.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Layout.
    pub l: Layout,
    /// Heading.
    pub title: String,
    /// What happened and what to do.
    pub message: String,
    /// Status code shown small.
    pub status: u16,
}

/// An error answered as an HTML page.
pub struct PageError {
    /// Layout to render with.
    pub layout: Layout,
    /// The error.
    pub error: AppError,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        log_internal(&self.error);
        let status = status_of(&self.error);
        let title = match status {
            StatusCode::NOT_FOUND => "页面不存在",
            StatusCode::FORBIDDEN => "无权访问",
            StatusCode::TOO_MANY_REQUESTS => "操作过于频繁",
            StatusCode::BAD_REQUEST => "请求有误",
            _ if status.is_server_error() => "系统繁忙",
            _ => "无法完成操作",
        };
        error_page(self.layout, status, title, &self.error.to_string())
    }
}

/// Renders the error page with any status and message.
pub fn error_page(layout: Layout, status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage {
        l: layout,
        title: title.into(),
        message: message.into(),
        status: status.as_u16(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}
