//! 证书注销 in the staff console (issue 19 item 6, issue 15 item 4): `/staff/certificates` finds
//! certificates by 业务单号 or serial, `/staff/certificates/{serial}/revoke` shows what will be
//! revoked (the pair) with the reason and 说明 to give, and its POST revokes and says what was
//! done: both serials, the CRL published, OCSP, the SMS. Every decision is
//! `app::revocation`'s; this module only shows.

use crate::edge::{Ctx, Form, PageStaff};
use crate::pages::{render, FieldErrors, Layout};
use crate::staff::{fail, nav_for, staff_layout, Nav};
use crate::AppState;
use app::authz::StaffActor;
use app::clock::format_beijing;
use app::revocation::{ConsoleCert, RevokeReason, Revoked};
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/certificates", get(search))
        .route(
            "/staff/certificates/{serial}/revoke",
            get(confirm).post(revoke),
        )
}

/// A certificate as the pages show it.
struct Row {
    serial: String,
    partner: String,
    kind: &'static str,
    usage: &'static str,
    holder: String,
    status: &'static str,
    revoked: bool,
    not_after: String,
    revoked_at: String,
    order: String,
}

fn row(c: &ConsoleCert) -> Row {
    Row {
        serial: c.cert.serial.clone(),
        partner: c.partner.clone().unwrap_or_default(),
        kind: c.cert.kind.label(),
        usage: match c.signing {
            Some(true) => "签名证书",
            Some(false) => "加密证书",
            None => "",
        },
        holder: c.cert.holder.clone(),
        status: c.status.label(),
        revoked: c.cert.revoked_at.is_some(),
        not_after: format_beijing(c.cert.not_after),
        revoked_at: c.cert.revoked_at.map(format_beijing).unwrap_or_default(),
        order: c
            .order
            .as_ref()
            .map(|(no, line)| format!("{no} · 第{}张", line + 1))
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "staff/certificates.html")]
struct SearchPage {
    l: Layout,
    nav: Vec<Nav>,
    q: String,
    searched: bool,
    rows: Vec<Row>,
    errors: FieldErrors,
    error: String,
}

/// The query of the search page.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// 业务单号 or serial.
    #[serde(default)]
    q: String,
}

/// `GET /staff/certificates?q=`: the search and its results.
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Query(query): Query<SearchQuery>,
) -> Response {
    let a = &s.actor;
    let mut page = SearchPage {
        l: staff_layout(&state, &ctx, Some(a), "证书注销", "staff"),
        nav: nav_for(a),
        q: query.q.trim().to_owned(),
        searched: false,
        rows: Vec::new(),
        errors: FieldErrors::default(),
        error: String::new(),
    };
    if page.q.is_empty() {
        // The empty form; still only for those who may revoke.
        if let Err(e) = a.require(app::authz::Permission::RevokeCertificates) {
            return fail(&state, &ctx, a, e);
        }
        return render(&page);
    }
    match state.app.revocations().find(a, &page.q).await {
        Ok(v) => {
            page.searched = true;
            page.rows = v.iter().map(row).collect();
            render(&page)
        }
        Err(AppError::Invalid { field, message }) => {
            page.errors.0.insert(field.into(), message);
            (StatusCode::BAD_REQUEST, render(&page)).into_response()
        }
        Err(e @ (AppError::Conflict(_) | AppError::Unavailable(_))) => {
            let status = crate::error::status_of(&e);
            page.error = e.to_string();
            (status, render(&page)).into_response()
        }
        Err(e) => fail(&state, &ctx, a, e),
    }
}

#[derive(Template)]
#[template(path = "staff/certificate_revoke.html")]
struct ConfirmPage {
    l: Layout,
    nav: Vec<Nav>,
    c: Row,
    reasons: Vec<(&'static str, &'static str)>,
    reason: String,
    note: String,
    errors: FieldErrors,
    error: String,
    done: Option<Done>,
}

/// What the result says.
struct Done {
    serial: String,
    partner: String,
    partner_usage: &'static str,
    reason: &'static str,
    crl_number: i64,
    sms_sent: bool,
    seals_revoked: u64,
    order: String,
    at: String,
}

fn done(r: &Revoked, reason: RevokeReason, c: &Row) -> Done {
    Done {
        serial: r.serial.clone(),
        partner: r.partner.clone().unwrap_or_default(),
        partner_usage: match c.usage {
            "签名证书" => "加密证书",
            "加密证书" => "签名证书",
            _ => "证书",
        },
        reason: reason.label(),
        crl_number: r.crl_number,
        sms_sent: r.sms_sent,
        seals_revoked: r.seals_revoked,
        order: r.order.clone().unwrap_or_default(),
        at: format_beijing(r.at),
    }
}

async fn confirm_page(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
    serial: &str,
) -> Result<ConfirmPage, AppError> {
    let found = state
        .app
        .revocations()
        .find(a, serial)
        .await
        .map_err(|e| match e {
            // A serial that is no serial is a page that does not exist.
            AppError::Invalid { .. } => AppError::NotFound,
            other => other,
        })?;
    let wanted = app::certificates::normalise_serial(serial).map_err(|_| AppError::NotFound)?;
    let c = found
        .iter()
        .find(|c| c.cert.serial == wanted)
        .ok_or(AppError::NotFound)?;
    Ok(ConfirmPage {
        l: staff_layout(state, ctx, Some(a), "确认注销证书", "staff"),
        nav: nav_for(a),
        c: row(c),
        reasons: RevokeReason::ALL
            .iter()
            .map(|r| (r.key(), r.label()))
            .collect(),
        reason: String::new(),
        note: String::new(),
        errors: FieldErrors::default(),
        error: String::new(),
        done: None,
    })
}

/// `GET /staff/certificates/{serial}/revoke`: what will be revoked, the reason and 说明.
pub async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(serial): Path<String>,
) -> Response {
    match confirm_page(&state, &ctx, &s.actor, &serial).await {
        Ok(p) => render(&p),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

/// The posted form.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// RFC 5280 reason name.
    #[serde(default)]
    reason: String,
    /// 说明.
    #[serde(default)]
    note: String,
}

/// `POST /staff/certificates/{serial}/revoke`: revokes the pair and shows what was done.
pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(serial): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let a = &s.actor;
    let r = state
        .app
        .revocations()
        .revoke(a, &serial, &f.reason, &f.note)
        .await;
    // The page after: the certificate as it now stands.
    let mut page = match confirm_page(&state, &ctx, a, &serial).await {
        Ok(p) => p,
        Err(e) => return fail(&state, &ctx, a, r.err().unwrap_or(e)),
    };
    page.reason = f.reason.clone();
    page.note = f.note.clone();
    match r {
        Ok(done_r) => {
            let reason = RevokeReason::parse(&f.reason).unwrap_or(RevokeReason::Unspecified);
            page.l = staff_layout(&state, &ctx, Some(a), "证书已注销", "staff");
            page.done = Some(done(&done_r, reason, &page.c));
            render(&page)
        }
        Err(AppError::Invalid { field, message }) => {
            page.errors.0.insert(field.into(), message);
            (StatusCode::BAD_REQUEST, render(&page)).into_response()
        }
        Err(e @ (AppError::Conflict(_) | AppError::Unavailable(_))) => {
            let status = crate::error::status_of(&e);
            page.error = e.to_string();
            (status, render(&page)).into_response()
        }
        Err(e) => fail(&state, &ctx, a, e),
    }
}
