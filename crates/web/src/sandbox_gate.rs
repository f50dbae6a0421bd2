//! The sandbox pages that show other people's messages and codes (短信沙箱 `/sandbox/sms`,
//! its JSON, and the micro-deposit statement `/sandbox/payouts`) are open on a developer's
//! machine; when the hall listens on a non-loopback address the binary gives the edge a
//! secret ([`crate::WebConfig::sandbox_secret`], printed at first start), and these pages ask
//! for it first. The secret is kept in an HttpOnly cookie of the browser that typed it.

use crate::edge::{cookie, local_next, Ctx, Form};
use crate::pages::{layout_for, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::fmt;

/// The cookie holding the typed secret.
pub const COOKIE: &str = "certhall_sandbox";

/// Header an API client may send the secret in instead.
pub const HEADER: &str = "x-sandbox-key";

/// The sandbox pages' secret; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SandboxSecret(String);

impl SandboxSecret {
    /// A secret (the binary makes one at random and keeps it in the data directory).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Whether `typed` is the secret (constant time; surrounding spaces ignored).
    pub fn matches(&self, typed: &str) -> bool {
        app::secrets::constant_time_eq(typed.trim(), &self.0)
    }
}

impl fmt::Debug for SandboxSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SandboxSecret(…)")
    }
}

/// Whether this request may see the sandbox pages: no secret configured, or the right one in
/// the cookie or the header.
pub fn allowed(state: &AppState, ctx: &Ctx, header: Option<&str>) -> bool {
    match &state.cfg.sandbox_secret {
        None => true,
        Some(s) => {
            ctx.cookie(COOKIE).is_some_and(|c| s.matches(c)) || header.is_some_and(|h| s.matches(h))
        }
    }
}

#[derive(Template)]
#[template(path = "sandbox_unlock.html")]
struct UnlockPage {
    l: crate::pages::Layout,
    next: String,
    error: String,
}

/// Where the unlock form may send the browser back to: a sandbox page only.
fn sandbox_next(next: Option<&str>) -> String {
    let n = local_next(next, "/sandbox/sms");
    if n.starts_with("/sandbox/") {
        n
    } else {
        "/sandbox/sms".into()
    }
}

/// The page asking for the secret (401), returning to `next` once it is given.
pub async fn unlock_page(state: &AppState, ctx: &Ctx, next: &str, error: &str) -> Response {
    let l = layout_for(state, ctx).await.page("沙箱访问密钥", "");
    (
        StatusCode::UNAUTHORIZED,
        render(&UnlockPage {
            l,
            next: sandbox_next(Some(next)),
            error: error.into(),
        }),
    )
        .into_response()
}

/// The unlock form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct UnlockForm {
    /// What was typed.
    pub secret: String,
    /// Where to go back to.
    pub next: String,
}

/// `POST /sandbox/unlock`.
pub async fn unlock(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<UnlockForm>,
) -> Response {
    let next = sandbox_next(Some(&f.next));
    match &state.cfg.sandbox_secret {
        Some(s) if s.matches(&f.secret) => {
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut().append(
                SET_COOKIE,
                cookie(
                    COOKIE,
                    f.secret.trim(),
                    state.cfg.secure_cookies,
                    Some(12 * 3600),
                    "Strict",
                ),
            );
            resp
        }
        Some(_) => unlock_page(&state, &ctx, &next, "访问密钥不正确").await,
        None => Redirect::to(&next).into_response(),
    }
}
