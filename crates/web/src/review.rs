//! Staff pages of issue 7 — 审核 (`/staff/review…`), 制证 (`/staff/production…`), 邮寄
//! (`/staff/shipping…`), 工作日历 (`/staff/calendar`) — plus the invoice download behind its
//! token, the sandbox courier's tracking page, and the token-writing station's JSON API
//! (`/api/v1/station/…`, a 制证 staff session). Every decision is made by the use cases.

use crate::edge::{Ctx, Form, PageStaff, STAFF_COOKIE};
use crate::error::ApiError;
use crate::pages::{render, Layout};
use crate::staff::{fail, nav_for, staff_layout, Nav};
use crate::AppState;
use app::authz::StaffActor;
use app::clock::format_beijing;
use app::desk::MailLabel;
use app::model::Principal;
use app::production::PlannedLine;
use app::review::{Changes, Due, QueueItem};
use app::AppError;
use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use domain::form::{Audience, FormInput, FIELDS, PERSON_FIELDS};
use domain::order::OrderState;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/review", get(review_queue))
        .route("/staff/review/{no}", get(review_order))
        .route("/staff/review/{no}/files/{kind}", get(review_file))
        .route("/staff/review/{no}/claim", post(claim))
        .route("/staff/review/{no}/approve", post(approve))
        .route("/staff/review/{no}/reject", post(reject))
        .route("/staff/production", get(production_queue))
        .route("/staff/production/{no}", get(production_order))
        .route("/staff/production/{no}/issue", post(production_issue))
        .route("/staff/shipping", get(shipping_queue))
        .route("/staff/shipping/{no}/label", get(shipping_label))
        .route("/staff/shipping/{no}/post", post(shipping_post))
        .route("/staff/shipping/{no}/delivered", post(shipping_delivered))
        .route("/staff/calendar", get(calendar).post(calendar_import))
        .route("/invoices/{token}", get(invoice_pdf))
        .route("/orders/{no}/invoice.pdf", get(my_invoice_pdf))
        .route("/sandbox/courier/{tracking}", get(tracking_page))
        .route("/api/v1/station/work", get(station_work))
        .route(
            "/api/v1/station/orders/{no}/lines/{line}",
            post(station_issue),
        )
}

fn see(path: String) -> Response {
    Redirect::to(&path).into_response()
}

fn fmt_left(due: i64, now: i64) -> String {
    let left = due - now;
    let abs = left.abs();
    let (d, h, m) = (
        abs / 86_400_000,
        (abs % 86_400_000) / 3_600_000,
        (abs % 3_600_000) / 60_000,
    );
    let span = if d > 0 {
        format!("{d}天{h}小时")
    } else {
        format!("{h}小时{m}分")
    };
    if left >= 0 {
        format!("剩余 {span}")
    } else {
        format!("已超时 {span}")
    }
}

// ---- review ----

struct QueueRow {
    no: String,
    unit: String,
    since: String,
    due: String,
    left: String,
    overdue: bool,
    weekends_only: bool,
    paid: bool,
    fin: &'static str,
    claim: String,
    resubmitted: bool,
}

#[derive(Template)]
#[template(path = "staff/review_queue.html")]
struct ReviewQueuePage {
    l: Layout,
    nav: Vec<Nav>,
    rows: Vec<QueueRow>,
    now: String,
}

fn due_row(due: &Option<Due>, now: i64) -> (String, String, bool, bool) {
    match due {
        Some(d) => (
            format_beijing(d.at),
            fmt_left(d.at, now),
            d.at < now,
            !d.missing_years.is_empty(),
        ),
        None => ("-".into(), String::new(), false, false),
    }
}

fn queue_rows(state: &AppState, items: Vec<QueueItem>) -> Vec<QueueRow> {
    let now = state.app.now();
    let mut rows = Vec::new();
    for q in items {
        let (due, left, overdue, weekends_only) = due_row(&q.due, now);
        let claim = q.claim.map(|(_, name, _)| name).unwrap_or_default();
        rows.push(QueueRow {
            no: q.order.no.to_string(),
            unit: q.order.draft.form.get("unit_name").to_owned(),
            since: q.order.review_since.map(format_beijing).unwrap_or_default(),
            due,
            left,
            overdue,
            weekends_only,
            paid: q.order.paid_at.is_some(),
            fin: q.order.fin_state.label(),
            claim,
            resubmitted: q.resubmitted,
        });
    }
    rows
}

/// `GET /staff/review`: 待审核, oldest first, with the countdown to the due time.
pub async fn review_queue(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    match state.app.review().queue(&s.actor).await {
        Ok(items) => render(&ReviewQueuePage {
            l: staff_layout(&state, &ctx, Some(&s.actor), "待审核", "staff"),
            nav: nav_for(&s.actor),
            rows: queue_rows(&state, items),
            now: format_beijing(state.app.now()),
        }),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

struct FileRow {
    kind: String,
    label: String,
    mime: String,
    is_image: bool,
}

#[derive(Template)]
#[template(path = "staff/review_order.html")]
struct ReviewOrderPage {
    l: Layout,
    nav: Vec<Nav>,
    no: String,
    state: &'static str,
    in_review: bool,
    fields: Vec<(String, String)>,
    persons: Vec<Vec<(String, String)>>,
    files: Vec<FileRow>,
    paid: String,
    fin: &'static str,
    identity: String,
    idv: Option<IdvBox>,
    payments: Vec<PayRow>,
    deposits: Vec<DepositRow>,
    due: String,
    left: String,
    overdue: bool,
    weekends_only: bool,
    claim: String,
    mine: bool,
    changes: Option<Changes>,
    decisions: Vec<(String, String, String, String)>,
    events: Vec<(String, String)>,
    reasons: Vec<(usize, String)>,
    error: String,
}

/// The real 经办人在线认证 result (identity use cases), as the review page shows it.
struct IdvBox {
    passed: bool,
    label: &'static str,
    at: String,
    provider: String,
    provider_ref: String,
    reason: String,
    /// (人员, masked number, matched, carrier reference).
    carrier: Vec<(String, String, bool, String)>,
    front: bool,
    back: bool,
    purged: String,
}

/// One payment of the order (payments tables).
struct PayRow {
    method: &'static str,
    provider: String,
    amount: String,
    state: &'static str,
    paid_at: String,
    refund: String,
}

/// One micro-deposit (金融认证).
struct DepositRow {
    amount: String,
    account: String,
    state: &'static str,
    sent: String,
    expires: String,
    attempts: i64,
}

fn tail4(v: &str) -> String {
    let n = v.chars().count();
    let tail: String = v.chars().skip(n.saturating_sub(4)).collect();
    format!("****{tail}")
}

fn idv_box(v: app::identity::StaffIdentity) -> IdvBox {
    use app::identity::AttemptStatus;
    IdvBox {
        passed: v.status == AttemptStatus::Passed,
        label: v.status.label(),
        at: v.finished_at.map(format_beijing).unwrap_or_default(),
        provider: v.provider,
        provider_ref: v.provider_ref,
        reason: v.reason,
        carrier: v
            .carrier
            .into_iter()
            .map(|c| (c.role, c.phone_masked, c.matched, c.provider_ref))
            .collect(),
        front: v.front,
        back: v.back,
        purged: v.photos_purged_at.map(format_beijing).unwrap_or_default(),
    }
}

fn pay_row(state: &AppState, p: &app::payments::PaymentRecord) -> PayRow {
    PayRow {
        method: if p.method == app::payments::BANK_TRANSFER {
            "公对公转账汇款"
        } else {
            "网厅缴费"
        },
        provider: state.app.billing().channel_label(&p.provider),
        amount: app::payments::yuan(p.amount_fen),
        state: p.state.label(),
        paid_at: p.paid_at.map(format_beijing).unwrap_or_default(),
        refund: match p.refunded_at {
            Some(t) => format!(
                "{}元 · {}",
                app::payments::yuan(p.refunded_fen),
                format_beijing(t)
            ),
            None => String::new(),
        },
    }
}

fn deposit_row(d: &app::payments::DepositRecord) -> DepositRow {
    DepositRow {
        amount: app::payments::yuan(d.amount_fen),
        account: tail4(&d.account),
        state: d.state.label(),
        sent: format_beijing(d.created_at),
        expires: format_beijing(d.expires_at),
        attempts: d.attempts,
    }
}

/// What a reviewer reads of the form, from its description: the certificate choice, then
/// every listed field (ID numbers and phones in full, to check against the scans; bank
/// accounts masked), then each 申请人's row.
/// Label and value pairs.
type Rows = Vec<(String, String)>;

fn reviewer_fields(f: &FormInput) -> (Rows, Vec<Rows>) {
    let mut fields = vec![(
        "证书类型".to_owned(),
        if f.ticked("org_cert") {
            format!("机构证书 {} 年", f.get("org_years"))
        } else {
            "不办理机构证书".into()
        },
    )];
    for field in FIELDS
        .iter()
        .filter(|x| x.section != "cert" || x.name == "seal")
    {
        fields.push((
            field.label.into(),
            field.display(f.get(field.name), Audience::Reviewer),
        ));
    }
    let persons = f
        .persons
        .iter()
        .map(|p| {
            PERSON_FIELDS
                .iter()
                .map(|field| {
                    (
                        field.short_label().to_owned(),
                        field.display(p.get(field.name), Audience::Reviewer),
                    )
                })
                .collect()
        })
        .collect();
    (fields, persons)
}

async fn review_page(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
    no: &str,
    error: String,
) -> Result<ReviewOrderPage, AppError> {
    let v = state.app.review().view(a, no).await?;
    let now = state.app.now();
    let o = &v.order;
    let (fields, persons) = reviewer_fields(&o.draft.form);
    let files = o
        .draft
        .required_uploads()
        .into_iter()
        .filter_map(|(kind, label)| {
            o.draft.uploads.get(&kind).map(|u| FileRow {
                is_image: u.mime.starts_with("image/"),
                mime: u.mime.clone(),
                kind,
                label,
            })
        })
        .collect();
    let (due, left, overdue, weekends_only) = due_row(&v.due, now);
    let (claim, mine) = match &v.claim {
        Some((id, name, _)) => (name.clone(), *id == a.id),
        None => (String::new(), false),
    };
    let mut decisions = Vec::new();
    for d in &v.decisions {
        decisions.push((
            format_beijing(d.at),
            d.staff_name.clone(),
            if d.decision == "approved" {
                "审核通过".to_owned()
            } else {
                "审核驳回".to_owned()
            },
            d.reasons.join(";"),
        ));
    }
    // The real results, from the identity and payments use cases.
    let idv = state
        .app
        .verification()
        .for_staff(a, no)
        .await?
        .map(idv_box);
    let identity = match &idv {
        Some(b) if b.passed => format!("认证通过({})", b.at),
        Some(b) => b.label.to_owned(),
        None => "无认证记录".to_owned(),
    };
    let (_, pays, deps) = state.app.billing().order_payments_for_staff(a, no).await?;
    Ok(ReviewOrderPage {
        l: staff_layout(state, ctx, Some(a), &format!("审核 {}", o.no), "staff"),
        nav: nav_for(a),
        no: o.no.to_string(),
        state: o.state.label(),
        in_review: o.state == OrderState::InReview,
        fields,
        persons,
        files,
        paid: o
            .paid_at
            .map(|t| format!("已到账({})", format_beijing(t)))
            .unwrap_or_else(|| "未到账".into()),
        fin: o.fin_state.label(),
        identity,
        idv,
        payments: pays.iter().map(|p| pay_row(state, p)).collect(),
        deposits: deps.iter().map(deposit_row).collect(),
        due,
        left,
        overdue,
        weekends_only,
        claim,
        mine,
        changes: v.changes.clone(),
        decisions,
        events: v
            .events
            .iter()
            .map(|e| (format_beijing(e.at), e.what.clone()))
            .collect(),
        reasons: state
            .app
            .review()
            .reject_reasons()
            .iter()
            .cloned()
            .enumerate()
            .collect(),
        error,
    })
}

/// `GET /staff/review/{no}`: form data beside the scans, payment, 金融认证, history, diff.
pub async fn review_order(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    match review_page(&state, &ctx, &s.actor, &no, String::new()).await {
        Ok(p) => render(&p),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

/// `GET /staff/review/{no}/files/{kind}`: a scan, for the reviewer only.
pub async fn review_file(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path((no, kind)): Path<(String, String)>,
) -> Response {
    match state.app.review().file(&s.actor, &no, &kind).await {
        Ok((mime, bytes)) => crate::edge::untrusted_file(&mime, &kind, bytes),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

async fn after(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
    no: &str,
    r: Result<(), AppError>,
    ok_to: String,
) -> Response {
    match r {
        Ok(()) => see(ok_to),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. })) => {
            let status = crate::error::status_of(&e);
            match review_page(state, ctx, a, no, e.to_string()).await {
                Ok(p) => (status, render(&p)).into_response(),
                Err(e2) => fail(state, ctx, a, e2),
            }
        }
        Err(e) => fail(state, ctx, a, e),
    }
}

/// `POST /staff/review/{no}/claim`.
pub async fn claim(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    let r = state.app.review().claim(&s.actor, &no).await.map(|_| ());
    after(
        &state,
        &ctx,
        &s.actor,
        &no,
        r,
        format!("/staff/review/{no}"),
    )
    .await
}

/// `POST /staff/review/{no}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    let r = state.app.review().approve(&s.actor, &no).await;
    after(&state, &ctx, &s.actor, &no, r, "/staff/review".into()).await
}

/// `POST /staff/review/{no}/reject`: fields `reason` (repeated, index into the list) and
/// `note`.
pub async fn reject(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let reasons: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "reason")
        .map(|(_, v)| v.clone())
        .collect();
    let note = f
        .iter()
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let r = state
        .app
        .review()
        .reject(&s.actor, &no, &reasons, note)
        .await;
    after(&state, &ctx, &s.actor, &no, r, "/staff/review".into()).await
}

// ---- production ----

struct OrderRow {
    no: String,
    unit: String,
    state: &'static str,
    fin: &'static str,
    updated: String,
    tracking: String,
}

fn order_rows(v: Vec<app::orders::OrderRecord>) -> Vec<OrderRow> {
    v.into_iter()
        .map(|o| OrderRow {
            no: o.no.to_string(),
            unit: o.draft.form.get("unit_name").to_owned(),
            state: o.state.label(),
            fin: o.fin_state.label(),
            updated: format_beijing(o.updated_at),
            tracking: String::new(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "staff/production_queue.html")]
struct ProductionQueuePage {
    l: Layout,
    nav: Vec<Nav>,
    rows: Vec<OrderRow>,
}

/// `GET /staff/production`: 待制证.
pub async fn production_queue(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    match state.app.production().queue(&s.actor).await {
        Ok(v) => render(&ProductionQueuePage {
            l: staff_layout(&state, &ctx, Some(&s.actor), "待制证", "staff"),
            nav: nav_for(&s.actor),
            rows: order_rows(v),
        }),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

struct LineRow {
    label: &'static str,
    holder: String,
    years: u8,
    status: &'static str,
    sign_serial: String,
    enc_serial: String,
    pin: &'static str,
}

#[derive(Template)]
#[template(path = "staff/production_order.html")]
struct ProductionOrderPage {
    l: Layout,
    nav: Vec<Nav>,
    no: String,
    state: &'static str,
    fin: &'static str,
    can_issue: bool,
    has_ca: bool,
    lines: Vec<LineRow>,
    error: String,
}

fn line_row(l: &PlannedLine) -> LineRow {
    let st = l.stored.as_ref();
    LineRow {
        label: l.kind.label(),
        holder: l.holder.clone(),
        years: l.years,
        status: match st.map(|s| s.status.as_str()) {
            Some("issued") => "已签发",
            Some(_) => "签发中",
            None => "待签发",
        },
        sign_serial: st.and_then(|s| s.sign_serial.clone()).unwrap_or_default(),
        enc_serial: st.and_then(|s| s.enc_serial.clone()).unwrap_or_default(),
        pin: match st {
            Some(s) if s.pin_sent_at.is_some() => "已短信发送并清除",
            Some(s) if s.pin_held => "已加密保存,待金融认证通过后发送",
            _ => "-",
        },
    }
}

async fn production_page(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
    no: &str,
    error: String,
) -> Result<ProductionOrderPage, AppError> {
    let (o, lines) = state.app.production().lines(a, no).await?;
    Ok(ProductionOrderPage {
        l: staff_layout(state, ctx, Some(a), &format!("制证 {}", o.no), "staff"),
        nav: nav_for(a),
        no: o.no.to_string(),
        state: o.state.label(),
        fin: o.fin_state.label(),
        can_issue: o.state == OrderState::Approved && lines.iter().any(|l| l.stored.is_none()),
        has_ca: state.app.production().has_ca(),
        lines: lines.iter().map(line_row).collect(),
        error,
    })
}

/// `GET /staff/production/{no}`.
pub async fn production_order(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    match production_page(&state, &ctx, &s.actor, &no, String::new()).await {
        Ok(p) => render(&p),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

/// `POST /staff/production/{no}/issue`: every line not yet issued, keys made in the CA
/// (sandbox path: there is no USB key here; the station API takes the token's CSR).
pub async fn production_issue(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    match state
        .app
        .production()
        .issue_all_sandbox(&s.actor, &no)
        .await
    {
        Ok(_) => see(format!("/staff/production/{no}")),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. } | AppError::Unavailable(_))) => {
            let status = crate::error::status_of(&e);
            match production_page(&state, &ctx, &s.actor, &no, e.to_string()).await {
                Ok(p) => (status, render(&p)).into_response(),
                Err(e2) => fail(&state, &ctx, &s.actor, e2),
            }
        }
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

// ---- shipping ----

#[derive(Template)]
#[template(path = "staff/shipping_queue.html")]
struct ShippingQueuePage {
    l: Layout,
    nav: Vec<Nav>,
    rows: Vec<OrderRow>,
    error: String,
}

async fn shipping_page(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
    error: String,
) -> Result<ShippingQueuePage, AppError> {
    let v = state.app.delivery().queue(a).await?;
    let mut rows = Vec::new();
    for (o, shipment) in v {
        let tracking = shipment.map(|s| s.tracking_no).unwrap_or_default();
        let mut r = order_rows(vec![o]);
        if let Some(mut r) = r.pop() {
            r.tracking = tracking;
            rows.push(r);
        }
    }
    Ok(ShippingQueuePage {
        l: staff_layout(state, ctx, Some(a), "待邮寄", "staff"),
        nav: nav_for(a),
        rows,
        error,
    })
}

/// `GET /staff/shipping`: 待邮寄 and 已邮寄 (to confirm delivery).
pub async fn shipping_queue(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    match shipping_page(&state, &ctx, &s.actor, String::new()).await {
        Ok(p) => render(&p),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

#[derive(Template)]
#[template(path = "staff/label.html")]
struct LabelPage {
    l: Layout,
    label: MailLabel,
}

/// `GET /staff/shipping/{no}/label`: the printable mailing label (邮费到付).
pub async fn shipping_label(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    match state.app.delivery().mail_label(&s.actor, &no).await {
        Ok(label) => render(&LabelPage {
            l: staff_layout(&state, &ctx, Some(&s.actor), "邮寄面单", "staff"),
            label,
        }),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

async fn shipping_result<T>(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
    r: Result<T, AppError>,
) -> Response {
    match r {
        Ok(_) => see("/staff/shipping".into()),
        Err(e @ (AppError::Conflict(_) | AppError::Unavailable(_))) => {
            let status = crate::error::status_of(&e);
            match shipping_page(state, ctx, a, e.to_string()).await {
                Ok(p) => (status, render(&p)).into_response(),
                Err(e2) => fail(state, ctx, a, e2),
            }
        }
        Err(e) => fail(state, ctx, a, e),
    }
}

/// `POST /staff/shipping/{no}/post`.
pub async fn shipping_post(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    let r = state.app.delivery().ship_order(&s.actor, &no).await;
    shipping_result(&state, &ctx, &s.actor, r).await
}

/// `POST /staff/shipping/{no}/delivered`.
pub async fn shipping_delivered(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(no): Path<String>,
) -> Response {
    let r = state.app.delivery().complete_order(&s.actor, &no).await;
    shipping_result(&state, &ctx, &s.actor, r).await
}

// ---- calendar ----

#[derive(Template)]
#[template(path = "staff/calendar.html")]
struct CalendarPage {
    l: Layout,
    nav: Vec<Nav>,
    years: Vec<(i32, String)>,
    missing: Vec<i32>,
    error: String,
    done: String,
}

/// `GET /staff/calendar` (admin): the loaded schedules and the import form.
pub async fn calendar(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    let app::staff::CalendarView { years, missing } =
        match state.app.admin().calendar_view(&s.actor) {
            Ok(v) => v,
            Err(e) => return fail(&state, &ctx, &s.actor, e),
        };
    render(&CalendarPage {
        l: staff_layout(&state, &ctx, Some(&s.actor), "工作日历", "staff"),
        nav: nav_for(&s.actor),
        years,
        missing,
        error: String::new(),
        done: String::new(),
    })
}

/// `POST /staff/calendar`: field `toml`, a year's schedule.
pub async fn calendar_import(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let text = f
        .iter()
        .find(|(k, _)| k == "toml")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let (error, done, status) = match state
        .app
        .admin()
        .import_calendar(app::authz::Operator::Staff(&s.actor), text)
        .await
    {
        Ok(y) => (
            String::new(),
            format!("已导入 {y} 年节假日安排"),
            StatusCode::OK,
        ),
        Err(e @ AppError::Invalid { .. }) => (
            e.to_string(),
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return fail(&state, &ctx, &s.actor, e),
    };
    (
        status,
        render(&CalendarPage {
            l: staff_layout(&state, &ctx, Some(&s.actor), "工作日历", "staff"),
            nav: nav_for(&s.actor),
            years: state.app.admin().calendar_years(),
            missing: state.app.admin().calendar_missing_years(),
            error,
            done,
        }),
    )
        .into_response()
}

// ---- invoice, tracking ----

/// `GET /invoices/{token}`: the e-invoice PDF (the token is the only key).
pub async fn invoice_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    invoice_response(
        &state,
        &ctx,
        state.app.delivery().invoice_by_token(&token).await,
    )
}

/// `GET /orders/{no}/invoice.pdf`: the same PDF for the logged-in owner of the order.
pub async fn my_invoice_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    user: crate::edge::PageUser,
    Path(no): Path<String>,
) -> Response {
    invoice_response(
        &state,
        &ctx,
        state.app.delivery().my_invoice(user.user.id, &no).await,
    )
}

fn invoice_response(
    state: &AppState,
    ctx: &Ctx,
    found: app::AppResult<app::desk::InvoiceData>,
) -> Response {
    match found {
        Ok(inv) => {
            let disposition = format!(
                "attachment; filename=\"invoice.pdf\"; filename*=UTF-8''{}",
                crate::edge::urlencode(&format!("电子发票-{}.pdf", inv.invoice_no))
            );
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                crate::pdf::invoice(&inv),
            )
                .into_response()
        }
        Err(e) => crate::error::PageError {
            layout: Layout::anonymous(state, ctx),
            error: e,
        }
        .into_response(),
    }
}

#[derive(Template)]
#[template(path = "staff/tracking.html")]
struct TrackingPage {
    l: Layout,
    tracking: String,
    shipped: String,
    status: String,
}

/// `GET /sandbox/courier/{tracking}`: the sandbox courier's tracking page.
pub async fn tracking_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tracking): Path<String>,
) -> Response {
    match state.app.sandbox().tracking(&tracking).await {
        Ok((s, status)) => render(&TrackingPage {
            l: Layout::anonymous(&state, &ctx).page("快递查询(沙箱)", ""),
            tracking: s.tracking_no,
            shipped: format_beijing(s.shipped_at),
            status,
        }),
        Err(e) => crate::error::PageError {
            layout: Layout::anonymous(&state, &ctx),
            error: e,
        }
        .into_response(),
    }
}

// ---- token-writing station API ----

/// A 制证 staff session for the station's JSON API (401 JSON instead of a redirect).
pub struct ApiStaff(pub StaffActor);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let deny = || ApiError(AppError::Unauthenticated).into_response();
        let Some(token) = ctx.cookie(STAFF_COOKIE) else {
            return Err(deny());
        };
        match state.app.accounts().resolve_session(token).await {
            Ok(Some(Principal::Staff(id))) => state
                .app
                .accounts()
                .staff_actor(id, Some(&ctx.ip))
                .await
                .map(ApiStaff)
                .map_err(|_| deny()),
            Ok(_) => Err(deny()),
            Err(e) => Err(ApiError(e).into_response()),
        }
    }
}

/// `GET /api/v1/station/work`: orders with certificates to write, and their lines.
pub async fn station_work(State(state): State<AppState>, s: ApiStaff) -> Response {
    match state.app.production().station_work(&s.0).await {
        Ok(v) => axum::Json(serde_json::json!({
            "orders": v.iter().map(|(o, lines)| serde_json::json!({
                "order_no": o.no.to_string(),
                "lines": lines.iter().map(|l| serde_json::json!({
                    "line": l.line,
                    "profile": l.kind.key(),
                    "years": l.years,
                    "holder": l.holder,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Body of a station issuance: the token's CSR (PEM or base64 DER).
#[derive(Debug, serde::Deserialize)]
pub struct StationCsr {
    /// PKCS#10 request made in the USB key.
    pub csr: String,
}

/// `POST /api/v1/station/orders/{no}/lines/{line}`: CSR in, signing certificate, encryption
/// certificate and key envelope out.
pub async fn station_issue(
    State(state): State<AppState>,
    s: ApiStaff,
    Path((no, line)): Path<(String, i64)>,
    crate::edge::Json(body): crate::edge::Json<StationCsr>,
) -> Response {
    let b64 = base64::engine::general_purpose::STANDARD;
    let csr = if body.csr.contains("-----BEGIN") {
        body.csr.into_bytes()
    } else {
        match b64.decode(body.csr.trim()) {
            Ok(b) => b,
            Err(_) => {
                return ApiError(AppError::invalid("csr", "证书请求应为PEM或Base64编码的DER"))
                    .into_response()
            }
        }
    };
    match state
        .app
        .production()
        .issue_line(&s.0, &no, line, Some(csr))
        .await
    {
        Ok(i) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({
                "sign_serial": i.sign_serial,
                "sign_cert": i.sign_pem,
                "enc_serial": i.enc_serial,
                "enc_cert": i.enc_pem,
                "enc_key_envelope": b64.encode(&i.envelope),
                "chain": i.chain_pem,
            })),
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}
