//! 我的证书 (issue 14): the page in 个人中心 (`/certificates`), the certificate download, the
//! claim by serial with proof of possession, and the same over `/api/v1/certificates…`.
//! Every decision (whose certificate, the challenge, the proof) is `app::certificates`'.

use crate::edge::{ApiUser, Ctx, Form, Json, PageUser};
use crate::error::ApiError;
use crate::pages::{render, FieldErrors, Layout};
use crate::AppState;
use app::certificates::{MyCert, ProofInput, Purpose, Source};
use app::AppError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/certificates", get(page))
        .route("/certificates/challenge", post(page_challenge))
        .route("/certificates/claim", post(page_claim))
        .route("/certificates/{serial}/download", get(download))
        .route("/api/v1/certificates", get(api_list))
        .route("/api/v1/certificates/challenge", post(api_challenge))
        .route("/api/v1/certificates/claim", post(api_claim))
        .route("/api/v1/certificates/{serial}", get(api_show))
        .route("/sandbox/bids", get(sandbox_bids).post(sandbox_bid_add))
}

/// A row of the page.
pub struct Row {
    /// The certificate.
    pub c: MyCert,
}

impl Row {
    /// 机构证书 / 机构个人证书.
    pub fn kind(&self) -> &'static str {
        self.c.kind.label()
    }
    /// notBefore (Beijing date).
    pub fn from(&self) -> String {
        day(self.c.cert.not_before)
    }
    /// notAfter (Beijing date).
    pub fn until(&self) -> String {
        day(self.c.cert.not_after)
    }
    /// Where it came from.
    pub fn source(&self) -> String {
        match &self.c.source {
            Source::Order(no, _) => format!("业务单 {no}"),
            Source::Claimed(_) => "认领".into(),
        }
    }
    /// What 我的证书 says of a renewal now.
    pub fn renewal(&self) -> String {
        use domain::renewal::{ManualWhy, Route};
        match self.c.renewal {
            Route::Live => format!("可实时续期(至 {})", day(self.c.window.1)),
            Route::Manual(ManualWhy::TooEarly(at)) => {
                format!("{} 起可实时续期", day(at))
            }
            Route::Manual(ManualWhy::ExpiredLong) => "过期已久,需人工审核续期".into(),
            Route::Revoked => "已吊销,不能续期".into(),
        }
    }
    /// The bid openings ahead, as the page lists them.
    pub fn bid_lines(&self) -> Vec<String> {
        self.c
            .bids
            .iter()
            .map(|o| {
                format!(
                    "{} 开标:{}({})",
                    app::clock::format_beijing(o.opens_at),
                    o.project,
                    o.platform
                )
            })
            .collect()
    }
    /// CSS class of the status tag.
    pub fn tag(&self) -> &'static str {
        self.c.status.key()
    }
}

fn day(ms: i64) -> String {
    let s = app::clock::format_beijing(ms);
    s.split(' ').next().unwrap_or_default().to_owned()
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertPage {
    l: Layout,
    rows: Vec<Row>,
    errors: FieldErrors,
    notice: String,
    challenge: String,
    challenge_until: String,
    serial: String,
    certificate: String,
    csr: String,
    signature: String,
}

async fn page_for(state: &AppState, ctx: &Ctx, user: &app::model::User) -> CertPage {
    let rows = match state.app.certificates().mine(user.id).await {
        Ok(v) => v.into_iter().map(|c| Row { c }).collect(),
        Err(e) => {
            tracing::error!(error = %e, "certificate list failed");
            Vec::new()
        }
    };
    CertPage {
        l: Layout::anonymous(state, ctx)
            .with_user(user.phone.masked())
            .page("我的证书", "account"),
        rows,
        errors: FieldErrors::default(),
        notice: String::new(),
        challenge: String::new(),
        challenge_until: String::new(),
        serial: String::new(),
        certificate: String::new(),
        csr: String::new(),
        signature: String::new(),
    }
}

fn with_error(mut p: CertPage, e: AppError) -> Response {
    let status = crate::error::status_of(&e);
    match e {
        AppError::Invalid { field, message } => {
            p.errors.0.insert(field.into(), message);
        }
        AppError::Internal(cause) => {
            tracing::error!(error = %cause, "certificate claim failed");
            p.errors
                .0
                .insert("form".into(), "系统繁忙,请稍后重试".into());
        }
        other => {
            p.errors.0.insert("form".into(), other.to_string());
        }
    }
    (status, render(&p)).into_response()
}

/// `GET /certificates`: 我的证书.
pub async fn page(State(state): State<AppState>, ctx: Ctx, user: PageUser) -> Response {
    render(&page_for(&state, &ctx, &user.user).await)
}

/// `POST /certificates/challenge`: a fresh challenge shown on the claim form.
pub async fn page_challenge(State(state): State<AppState>, ctx: Ctx, user: PageUser) -> Response {
    let mut p = page_for(&state, &ctx, &user.user).await;
    match state
        .app
        .certificates()
        .challenge(user.user.id, Purpose::Claim)
        .await
    {
        Ok(c) => {
            p.challenge = c.hex;
            p.challenge_until = app::clock::format_beijing(c.expires_at);
            render(&p)
        }
        Err(e) => with_error(p, e),
    }
}

/// Fields of the claim form and body of the claim API.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ClaimForm {
    /// 证书序列号.
    pub serial: String,
    /// The certificate (PEM), optional.
    pub certificate: String,
    /// The challenge (hex).
    pub challenge: String,
    /// New request: PEM, or base64 DER.
    pub csr: String,
    /// Signature: base64 DER.
    pub signature: String,
}

fn decode_csr(s: &str) -> Result<Vec<u8>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid("csr", "请提交新的证书请求(PKCS#10)"));
    }
    if s.contains("-----BEGIN") {
        return Ok(s.as_bytes().to_vec());
    }
    b64(s).ok_or_else(|| AppError::invalid("csr", "证书请求应为PEM或Base64编码的DER"))
}

fn b64(s: &str) -> Option<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

impl ClaimForm {
    fn input(&self) -> Result<ProofInput, AppError> {
        let signature = if self.signature.trim().is_empty() {
            Vec::new()
        } else {
            b64(&self.signature)
                .ok_or_else(|| AppError::invalid("signature", "签名应为Base64编码的DER"))?
        };
        Ok(ProofInput {
            serial: self.serial.clone(),
            certificate: Some(self.certificate.clone()).filter(|c| !c.trim().is_empty()),
            challenge: self.challenge.clone(),
            csr: decode_csr(&self.csr)?,
            signature,
        })
    }
}

/// `POST /certificates/claim`: claim by serial with proof of possession.
pub async fn page_claim(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Form(f): Form<ClaimForm>,
) -> Response {
    let mut p = page_for(&state, &ctx, &user.user).await;
    p.serial = f.serial.clone();
    p.certificate = f.certificate.clone();
    p.csr = f.csr.clone();
    p.signature = f.signature.clone();
    let r = match f.input() {
        Ok(input) => {
            state
                .app
                .certificates()
                .claim(user.user.id, Some(&ctx.ip), &input)
                .await
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(c) => {
            let mut p = page_for(&state, &ctx, &user.user).await;
            p.notice = format!("证书 {} 已加入我的证书", c.cert.serial);
            render(&p)
        }
        Err(e) => with_error(p, e),
    }
}

/// `GET /certificates/{serial}/download`: the signing certificate (PEM).
pub async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(serial): Path<String>,
) -> Response {
    match state
        .app
        .certificates()
        .my_certificate(user.user.id, &serial)
        .await
    {
        Ok(c) => (
            [
                (header::CONTENT_TYPE, "application/x-pem-file".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.pem\"", c.cert.serial),
                ),
            ],
            c.cert.pem,
        )
            .into_response(),
        Err(e) => crate::error::PageError {
            layout: Layout::anonymous(&state, &ctx).with_user(user.user.phone.masked()),
            error: e,
        }
        .into_response(),
    }
}

/// The JSON of one certificate.
pub fn cert_json(c: &MyCert) -> Value {
    json!({
        "serial": c.cert.serial,
        "kind": c.kind.key(),
        "kind_label": c.kind.label(),
        "holder": c.holder,
        "not_before": c.cert.not_before,
        "not_after": c.cert.not_after,
        "status": c.status.key(),
        "status_label": c.status.label(),
        "enc_serial": c.enc_serial,
        "source": match &c.source {
            Source::Order(no, line) => json!({"order_no": no, "line": line}),
            Source::Claimed(at) => json!({"claimed_at": at}),
        },
        "actions": c.actions.iter().map(|a| a.key()).collect::<Vec<_>>(),
        "bid_openings": c.bids.iter().map(|o| json!({
            "serial": o.serial,
            "opens_at": o.opens_at,
            "project": o.project,
            "platform": o.platform,
        })).collect::<Vec<_>>(),
        "renewal": {
            "route": c.renewal.key(),
            "window_opens": c.window.0,
            "window_closes": c.window.1,
        },
        "certificate": c.cert.pem,
    })
}

/// `GET /api/v1/certificates`.
pub async fn api_list(State(state): State<AppState>, u: ApiUser) -> Result<Response, ApiError> {
    let v = state.app.certificates().mine(u.user.id).await?;
    Ok(axum::Json(json!({
        "certificates": v.iter().map(cert_json).collect::<Vec<_>>()
    }))
    .into_response())
}

/// `GET /api/v1/certificates/{serial}`.
pub async fn api_show(
    State(state): State<AppState>,
    u: ApiUser,
    Path(serial): Path<String>,
) -> Result<Response, ApiError> {
    let c = state
        .app
        .certificates()
        .my_certificate(u.user.id, &serial)
        .await?;
    Ok(axum::Json(cert_json(&c)).into_response())
}

/// Body of `POST /api/v1/certificates/challenge`.
#[derive(Debug, Deserialize)]
pub struct ChallengeBody {
    /// `claim` or `renew`.
    pub purpose: String,
}

/// `POST /api/v1/certificates/challenge`.
pub async fn api_challenge(
    State(state): State<AppState>,
    u: ApiUser,
    Json(b): Json<ChallengeBody>,
) -> Result<Response, ApiError> {
    let purpose = Purpose::parse(&b.purpose)
        .ok_or_else(|| AppError::invalid("purpose", "用途应为 claim 或 renew"))?;
    let c = state
        .app
        .certificates()
        .challenge(u.user.id, purpose)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"challenge": c.hex, "expires_at": c.expires_at})),
    )
        .into_response())
}

/// `POST /api/v1/certificates/claim`.
pub async fn api_claim(
    State(state): State<AppState>,
    ctx: Ctx,
    u: ApiUser,
    Json(b): Json<ClaimForm>,
) -> Result<Response, ApiError> {
    let input = b.input()?;
    let c = state
        .app
        .certificates()
        .claim(u.user.id, Some(&ctx.ip), &input)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(cert_json(&c))).into_response())
}

#[derive(Template)]
#[template(path = "sandbox_bids.html")]
struct SandboxBidsPage {
    l: Layout,
    rows: Vec<app::bids::BidOpening>,
    errors: FieldErrors,
    notice: String,
    serial: String,
    opens_at: String,
    project: String,
}

async fn bids_page(state: &AppState, ctx: &Ctx) -> Result<SandboxBidsPage, AppError> {
    let rows = state.app.sandbox_bids().list().await?;
    Ok(SandboxBidsPage {
        l: crate::pages::layout_for(state, ctx)
            .await
            .page("沙箱:投标开标日历", "sandbox"),
        rows,
        errors: FieldErrors::default(),
        notice: String::new(),
        serial: String::new(),
        opens_at: String::new(),
        project: String::new(),
    })
}

/// `GET /sandbox/bids`: the sandbox trading platform's openings (a tester enters them).
pub async fn sandbox_bids(State(state): State<AppState>, ctx: Ctx) -> Response {
    match bids_page(&state, &ctx).await {
        Ok(p) => render(&p),
        Err(e) => crate::error::PageError {
            layout: crate::pages::layout_for(&state, &ctx).await,
            error: e,
        }
        .into_response(),
    }
}

/// Fields of the sandbox opening form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct BidForm {
    /// Certificate serial (hex).
    pub serial: String,
    /// `YYYY-MM-DD HH:MM`, Beijing.
    pub opens_at: String,
    /// Project name.
    pub project: String,
}

/// `POST /sandbox/bids`: adds an opening.
pub async fn sandbox_bid_add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<BidForm>,
) -> Response {
    let r = state
        .app
        .sandbox_bids()
        .add(&f.serial, &f.opens_at, &f.project)
        .await;
    let mut p = match bids_page(&state, &ctx).await {
        Ok(p) => p,
        Err(e) => {
            return crate::error::PageError {
                layout: crate::pages::layout_for(&state, &ctx).await,
                error: e,
            }
            .into_response()
        }
    };
    match r {
        Ok(()) => {
            p.notice = "已记录开标时间".into();
            render(&p)
        }
        Err(e) => {
            let status = crate::error::status_of(&e);
            p.serial = f.serial;
            p.opens_at = f.opens_at;
            p.project = f.project;
            match e {
                AppError::Invalid { field, message } => {
                    p.errors.0.insert(field.into(), message);
                }
                other => {
                    p.errors.0.insert("form".into(), other.to_string());
                }
            }
            (status, render(&p)).into_response()
        }
    }
}
