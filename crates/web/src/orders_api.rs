//! `/api/v1/orders…`: the 证书新办 steps as JSON, through the same use cases (and so the same
//! step order, owner checks and field messages) as the pages.

use crate::edge::{ApiUser, Ctx, Json};
use crate::error::ApiError;
use crate::AppState;
use app::AppError;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::order::{FieldErrors, FormInput};
use serde::Deserialize;
use serde_json::{json, Value};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

/// 400 with every refused field: `{"error": {"code": "invalid", "message", "field", "fields"}}`.
fn field_errors(errs: FieldErrors) -> Response {
    let (field, message) = errs
        .0
        .iter()
        .next()
        .map(|(f, m)| (f.clone(), m.clone()))
        .unwrap_or_default();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {
            "code": "invalid",
            "message": message,
            "field": field,
            "fields": errs.0,
        }})),
    )
        .into_response()
}

/// `GET /api/v1/catalogue`: projects, prices and the current agreement.
pub async fn catalogue(State(state): State<AppState>) -> ApiResult {
    let c = &state.app.catalogue();
    let projects: Vec<Value> = c
        .projects
        .iter()
        .map(|p| {
            json!({
                "code": p.code,
                "name": p.name,
                "guide": p.guide,
                "cert_types": p.cert_types.iter().map(|t| json!({"type": t.key(), "label": t.label(), "price_per_year_fen": p.price_per_year(*t).map(|m| m.fen())})).collect::<Vec<_>>(),
                "seal_price_fen": p.seal_price_fen,
                "options": p.options.iter().map(|o| json!({"code": o.code, "name": o.name})).collect::<Vec<_>>(),
            })
        })
        .collect();
    ok(json!({
        "agreement": {"version": c.agreement.version, "title": c.agreement.title, "text": c.agreement.text},
        "projects": projects,
    }))
}

/// `GET /api/v1/orders`: 我的业务单.
pub async fn list(State(state): State<AppState>, user: ApiUser) -> ApiResult {
    let v = state.app.wizard().my_orders(user.user.id).await?;
    ok(json!({"orders": v.iter().map(|o| json!({
        "order_no": o.no.as_str(),
        "state": o.state.as_str(),
        "state_label": o.state.label(),
        "status": o.status(),
        "unit_name": o.unit_name,
        "next_step": o.next,
        "expected_review": o.expected_review,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    })).collect::<Vec<_>>()}))
}

/// `POST /api/v1/orders`: 证书新办.
pub async fn create(State(state): State<AppState>, user: ApiUser) -> ApiResult {
    let no = state.app.wizard().start_order(user.user.id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"order_no": no.as_str(), "next_step": "agreement"})),
    )
        .into_response())
}

/// `GET /api/v1/orders/{no}`: the draft (the owner's own data, unmasked, for editing), the
/// price once the data is valid, uploads and history.
pub async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
) -> ApiResult {
    let (o, events) = state.app.wizard().order_history(user.user.id, &no).await?;
    let price = state.app.wizard().application_of(&o).ok().and_then(|a| {
        let p = o.draft.project(state.app.catalogue())?;
        a.price(p).ok()
    });
    ok(json!({
        "order_no": o.no.as_str(),
        "state": o.state.as_str(),
        "state_label": o.state.label(),
        "steps_done": o.draft.progress,
        "next_step": app::orders::step_path(&o.draft),
        "agreement": o.draft.agreement.as_ref().map(|a| json!({"version": a.version, "at": a.at})),
        "project": o.draft.project,
        "option": o.draft.option,
        "form": o.draft.form,
        "price": price.map(|(lines, total)| json!({"lines": lines, "total_fen": total.fen()})),
        "uploads": o.draft.required_uploads().into_iter().map(|(k, label)| {
            let u = o.draft.uploads.get(&k);
            json!({"kind": k, "label": label, "uploaded": u.is_some(), "mime": u.map(|u| u.mime.clone()), "size": u.map(|u| u.size), "sha256": u.map(|u| u.sha256.clone())})
        }).collect::<Vec<_>>(),
        "history": events.iter().map(|e| json!({"at": e.at, "what": e.what})).collect::<Vec<_>>(),
    }))
}

/// Body of `POST …/agreement`.
#[derive(Debug, Deserialize)]
pub struct AgreeBody {
    /// "我同意并接受《隐私保护》".
    pub agree: bool,
}

/// `POST /api/v1/orders/{no}/agreement`.
pub async fn agreement(
    State(state): State<AppState>,
    ctx: Ctx,
    user: ApiUser,
    Path(no): Path<String>,
    Json(b): Json<AgreeBody>,
) -> ApiResult {
    state
        .app
        .wizard()
        .accept_agreement(user.user.id, &no, b.agree, &ctx.ip)
        .await?;
    ok(json!({"next_step": "application"}))
}

/// Body of `POST …/application`.
#[derive(Debug, Deserialize)]
pub struct ApplicationBody {
    /// Project code.
    pub project: String,
    /// Sub-option code.
    pub option: String,
    /// 已知悉.
    pub acknowledged: bool,
}

/// `POST /api/v1/orders/{no}/application`.
pub async fn application(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
    Json(b): Json<ApplicationBody>,
) -> ApiResult {
    state
        .app
        .wizard()
        .choose_application(user.user.id, &no, &b.project, &b.option, b.acknowledged)
        .await?;
    ok(json!({"next_step": "data"}))
}

/// `PUT /api/v1/orders/{no}/data`: the whole 录入信息 form.
pub async fn data(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
    Json(form): Json<FormInput>,
) -> ApiResult {
    match state
        .app
        .wizard()
        .save_form(user.user.id, &no, form)
        .await?
    {
        Ok(()) => ok(json!({"next_step": "preview"})),
        Err(errs) => Ok(field_errors(errs)),
    }
}

/// `POST /api/v1/orders/{no}/preview`: 预览申请信息 confirmed.
pub async fn preview(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
) -> ApiResult {
    state
        .app
        .wizard()
        .confirm_preview(user.user.id, &no)
        .await?;
    ok(json!({"next_step": "uploads", "letter_pdf": format!("/orders/{no}/letter.pdf")}))
}

/// `POST /api/v1/orders/{no}/uploads/{kind}`: one file in the multipart field `file`.
pub async fn upload(
    State(state): State<AppState>,
    user: ApiUser,
    Path((no, kind)): Path<(String, String)>,
    mp: Multipart,
) -> ApiResult {
    // Owner and step first, so a refusal does not depend on the body.
    let o = state.app.wizard().my_order(user.user.id, &no).await?;
    domain::order::require_editable(o.state).map_err(|e| AppError::Conflict(e.to_string()))?;
    o.draft
        .can_do(domain::order::Step::Uploads)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let bytes = crate::wizard::read_file_part(mp, crate::wizard::max_file_bytes(&state))
        .await
        .map_err(|m| AppError::invalid("file", m))?;
    state
        .app
        .wizard()
        .upload(user.user.id, &no, &kind, &bytes)
        .await?;
    ok(json!({"uploaded": kind}))
}

/// `POST /api/v1/orders/{no}/submit`: the order moves to 待认证; `next` is the identity QR page.
pub async fn submit(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
) -> ApiResult {
    state.app.wizard().submit_order(user.user.id, &no).await?;
    ok(json!({
        "state": "pending_verification",
        "state_label": "待认证",
        "next": format!("/orders/{no}/identity"),
    }))
}

/// `POST /api/v1/orders/{no}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
) -> ApiResult {
    // The API call is the explicit confirmation (the page asks with a checkbox).
    state
        .app
        .wizard()
        .cancel_order(user.user.id, &no, true)
        .await?;
    ok(json!({"state": "cancelled", "state_label": "已取消"}))
}
