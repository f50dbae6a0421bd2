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
        AppError::Unavailable(_) | AppError::DatabaseDown(_) | AppError::StorageFull(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
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
        AppError::DatabaseDown(_) => "maintenance",
        AppError::StorageFull(_) => "storage_full",
        AppError::Internal(_) => "internal",
    }
}

fn log_internal(e: &AppError) {
    match e {
        AppError::Internal(cause) | AppError::Unavailable(cause) => {
            tracing::error!(error = %cause, "request failed")
        }
        AppError::DatabaseDown(cause) => tracing::error!(error = %cause, "database unreachable"),
        AppError::StorageFull(cause) => {
            tracing::error!(error = %cause, "storage full: writes are refused until space is freed")
        }
        _ => {}
    }
}

/// `Retry-After` for answers a client should simply repeat later.
fn retry_after(e: &AppError, mut r: Response) -> Response {
    if matches!(e, AppError::DatabaseDown(_) | AppError::Unavailable(_)) {
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("30"),
        );
    }
    r
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
        retry_after(
            &self.0,
            (status_of(&self.0), axum::Json(body)).into_response(),
        )
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
            _ if matches!(self.error, AppError::DatabaseDown(_)) => "系统维护中",
            _ if matches!(self.error, AppError::StorageFull(_)) => "存储空间不足",
            _ if status.is_server_error() => "系统繁忙",
            _ => "无法完成操作",
        };
        let e = &self.error;
        retry_after(e, error_page(self.layout, status, title, &e.to_string()))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_database_down_or_full_is_a_503_in_chinese_with_retry_after_when_retrying_helps() {
        let down = ApiError(AppError::DatabaseDown("refused".into())).into_response();
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()[axum::http::header::RETRY_AFTER], "30");
        let full = ApiError(AppError::StorageFull("disk".into())).into_response();
        assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(full
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .is_none());
        assert_eq!(
            AppError::StorageFull("x".into()).to_string(),
            "存储空间不足,请联系客服"
        );
        assert_eq!(code_of(&AppError::DatabaseDown("x".into())), "maintenance");
    }
}
