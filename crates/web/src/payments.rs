//! 在线支付 and 金融认证 pages: the applicant's payment page (`/orders/{no}/payment`: choice
//! of method, voucher upload, online payment, micro-deposit code, re-filling 金融认证信息),
//! the sandbox gateway's checkout and the sandbox bank statement of micro-deposits, the
//! gateways' callbacks (`/api/v1/callbacks/{gateway}`, CSRF-exempt, authenticated by their
//! signatures), the JSON API, and finance's pages under `/staff/finance`.

use crate::edge::{ApiUser, Ctx, Form, Json, PageStaff, PageUser};
use crate::error::{ApiError, PageError};
use crate::pages::{render, Layout};
use crate::wizard::{max_file_bytes, read_file_part};
use crate::AppState;
use app::authz::StaffActor;
use app::payments::{
    yuan, CreditRecord, DepositRecord, Notification, PayStart, PaymentRecord, PaymentView,
    ReconLine, BANK_TRANSFER,
};
use app::AppError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/{no}/payment", get(payment_page))
        .route(
            "/orders/{no}/payment/voucher",
            post(voucher_post).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/orders/{no}/payment/voucher/{id}", get(voucher_get))
        .route("/orders/{no}/payment/online", post(online_post))
        .route("/orders/{no}/payment/code", post(code_post))
        .route("/orders/{no}/payment/resend", post(resend_post))
        .route("/orders/{no}/payment/financial", post(financial_post))
        .route(
            "/sandbox/pay/{trade_no}",
            get(sandbox_pay_page).post(sandbox_pay_post),
        )
        .route("/sandbox/payouts", get(sandbox_payouts))
        .route("/api/v1/callbacks/{gateway}", post(callback))
        .route("/api/v1/callbacks/{gateway}/refund", post(refund_callback))
        .route("/api/v1/orders/{no}/payment", get(api_show))
        .route("/api/v1/orders/{no}/payment/online", post(api_online))
        .route("/api/v1/orders/{no}/payment/code", post(api_code))
        .route("/staff/finance", get(finance_page))
        .route(
            "/staff/finance/import",
            post(finance_import).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/staff/finance/credits/{id}/match", post(finance_match))
        .route("/staff/finance/credits/{id}/reject", post(finance_reject))
        .route("/staff/finance/fail", post(finance_fail))
        .route("/staff/finance/payments/{id}/refund", post(finance_refund))
        .route(
            "/staff/finance/payments/{id}/refund-resolved",
            post(finance_refund_resolved),
        )
        .route("/staff/finance/reconciliation.csv", get(finance_recon_csv))
}

fn user_layout(state: &AppState, ctx: &Ctx, user: &PageUser, title: &str) -> Layout {
    Layout::anonymous(state, ctx)
        .with_user(user.user.phone.masked())
        .page(title, "account")
}

fn page_error(state: &AppState, ctx: &Ctx, user: &PageUser, e: AppError) -> Response {
    PageError {
        layout: user_layout(state, ctx, user, "在线支付"),
        error: e,
    }
    .into_response()
}

fn see(path: String) -> Response {
    Redirect::to(&path).into_response()
}

/// One payment as shown.
pub struct PaymentRow {
    id: i64,
    method: &'static str,
    provider: String,
    amount: String,
    state: &'static str,
    at: String,
    has_voucher: bool,
}

fn payment_row(state: &AppState, p: &PaymentRecord) -> PaymentRow {
    let channel = state.app.billing().channel_label(&p.provider);
    let channel = channel.as_str();
    PaymentRow {
        id: p.id,
        method: if p.method == BANK_TRANSFER {
            "公对公转账汇款"
        } else {
            "网厅缴费"
        },
        provider: channel.to_owned(),
        amount: yuan(p.amount_fen),
        state: p.state.label(),
        at: app::clock::format_beijing(p.paid_at.unwrap_or(p.created_at)),
        has_voucher: p.voucher_blob.is_some(),
    }
}

#[derive(Template)]
#[template(path = "payments/pay.html")]
struct PayPage {
    l: Layout,
    no: String,
    state: &'static str,
    pending_payment: bool,
    amount: String,
    unit: String,
    payee_name: String,
    payee_bank: String,
    payee_account: String,
    /// (gateway name, button label).
    gateways: Vec<(&'static str, String)>,
    payments: Vec<PaymentRow>,
    fin_state: &'static str,
    fin_failed: bool,
    fin_passed: bool,
    deposit: Option<(String, String, String, i64)>,
    code_open: bool,
    can_resend: bool,
    masked_account: String,
    bank_account_name: String,
    bank_name: String,
    bank_account: String,
    fin_reason: Option<String>,
    error: String,
    error_field: String,
    notice: String,
    qr: String,
}

/// The 网厅缴费 buttons. The guide offers 支付宝 and 微信; while only the sandbox gateway is
/// configured (the default install) both are shown, each going to the sandbox 收银台 and
/// marked as a demonstration, until a real gateway is configured.
fn gateway_buttons(choices: Vec<(&'static str, &'static str)>) -> Vec<(&'static str, String)> {
    const SANDBOX: &str = "sandbox";
    if !choices.is_empty() && choices.iter().all(|(name, _)| *name == SANDBOX) {
        return vec![
            (SANDBOX, "支付宝(演示)".into()),
            (SANDBOX, "微信支付(演示)".into()),
        ];
    }
    choices
        .into_iter()
        .map(|(name, label)| (name, label.to_owned()))
        .collect()
}

fn pay_page(state: &AppState, l: Layout, v: &PaymentView) -> PayPage {
    let s = &state.app.billing().settings();
    let o = &v.order;
    PayPage {
        l,
        no: o.no.to_string(),
        state: o.state.label(),
        pending_payment: o.state == domain::order::OrderState::PendingPayment,
        amount: yuan(v.amount.fen()),
        unit: v.unit_name.clone(),
        payee_name: s.payee_name.clone(),
        payee_bank: s.payee_bank.clone(),
        payee_account: s.payee_account.clone(),
        gateways: gateway_buttons(state.app.billing().gateway_choices()),
        payments: v.payments.iter().map(|p| payment_row(state, p)).collect(),
        fin_state: o.fin_state.label(),
        fin_failed: o.fin_state == domain::order::FinState::Failed,
        fin_passed: o.fin_state == domain::order::FinState::Passed,
        deposit: v.deposits.first().map(|d: &DepositRecord| {
            (
                d.state.label().to_owned(),
                app::clock::format_beijing(d.created_at),
                app::clock::format_beijing(d.expires_at),
                d.attempts,
            )
        }),
        code_open: v.code_open,
        can_resend: v.can_resend,
        masked_account: v.masked_account.clone(),
        bank_account_name: o.draft.form.get("bank_account_name").to_owned(),
        bank_name: o.draft.form.get("bank_name").to_owned(),
        bank_account: o.draft.form.get("bank_account").to_owned(),
        fin_reason: v.fin_reason.clone(),
        error: String::new(),
        error_field: String::new(),
        notice: String::new(),
        qr: String::new(),
    }
}

async fn show(
    state: &AppState,
    ctx: &Ctx,
    user: &PageUser,
    no: &str,
    status: StatusCode,
    f: impl FnOnce(&mut PayPage),
) -> Response {
    match state.app.billing().payment_view(user.user.id, no).await {
        Ok(v) => {
            let mut p = pay_page(state, user_layout(state, ctx, user, "在线支付"), &v);
            f(&mut p);
            (status, render(&p)).into_response()
        }
        Err(e) => page_error(state, ctx, user, e),
    }
}

/// `GET /orders/{no}/payment`.
pub async fn payment_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    show(&state, &ctx, &user, &no, StatusCode::OK, |_| {}).await
}

fn failed(
    state: &AppState,
    ctx: &Ctx,
    user: &PageUser,
    no: &str,
    e: AppError,
) -> impl std::future::Future<Output = Response> {
    let (state, ctx, no) = (state.clone(), ctx.clone(), no.to_owned());
    let user = PageUser {
        user: user.user.clone(),
        token: user.token.clone(),
    };
    async move {
        match e {
            AppError::Invalid { field, message } => {
                show(&state, &ctx, &user, &no, StatusCode::BAD_REQUEST, |p| {
                    p.error = message;
                    p.error_field = field.into();
                })
                .await
            }
            AppError::Conflict(message) => {
                show(&state, &ctx, &user, &no, StatusCode::CONFLICT, |p| {
                    p.error = message;
                })
                .await
            }
            e => page_error(&state, &ctx, &user, e),
        }
    }
}

/// `POST /orders/{no}/payment/voucher?_csrf=…`: the 汇款凭证.
pub async fn voucher_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    mp: Multipart,
) -> Response {
    // Owner and state first, before reading the body.
    if let Err(e) = state.app.billing().payment_view(user.user.id, &no).await {
        return page_error(&state, &ctx, &user, e);
    }
    let r = match read_file_part(mp, max_file_bytes(&state)).await {
        Ok(bytes) => {
            state
                .app
                .billing()
                .upload_voucher(user.user.id, &no, &bytes)
                .await
        }
        Err(m) => Err(AppError::invalid("file", m)),
    };
    match r {
        Ok(()) => see(format!("/orders/{no}/payment")),
        Err(e) => failed(&state, &ctx, &user, &no, e).await,
    }
}

/// `GET /orders/{no}/payment/voucher/{id}`.
pub async fn voucher_get(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path((no, id)): Path<(String, String)>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return page_error(&state, &ctx, &user, AppError::NotFound);
    };
    match state
        .app
        .billing()
        .voucher_file(user.user.id, &no, id)
        .await
    {
        Ok((mime, bytes)) => crate::edge::untrusted_file(&mime, "voucher", bytes),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// The 网厅缴费 form.
#[derive(Debug, Deserialize)]
pub struct GatewayForm {
    /// Gateway name.
    #[serde(default)]
    pub gateway: String,
}

/// `POST /orders/{no}/payment/online`.
pub async fn online_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(f): Form<GatewayForm>,
) -> Response {
    match state
        .app
        .billing()
        .start_online_payment(user.user.id, &no, &f.gateway)
        .await
    {
        Ok(PayStart::Redirect(url)) => see(url),
        Ok(PayStart::QrCode(code)) => {
            show(&state, &ctx, &user, &no, StatusCode::OK, |p| p.qr = code).await
        }
        Err(e) => failed(&state, &ctx, &user, &no, e).await,
    }
}

/// The code form.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    /// The six digits.
    #[serde(default)]
    pub code: String,
}

/// `POST /orders/{no}/payment/code`.
pub async fn code_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    match state
        .app
        .billing()
        .enter_deposit_code(user.user.id, &no, &f.code)
        .await
    {
        Ok(()) => see(format!("/orders/{no}/payment")),
        Err(e) => failed(&state, &ctx, &user, &no, e).await,
    }
}

/// `POST /orders/{no}/payment/resend`.
pub async fn resend_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match state.app.billing().resend_deposit(user.user.id, &no).await {
        Ok(()) => see(format!("/orders/{no}/payment")),
        Err(e) => failed(&state, &ctx, &user, &no, e).await,
    }
}

/// 金融认证信息 re-filled.
#[derive(Debug, Deserialize)]
pub struct FinancialForm {
    /// 开户名.
    #[serde(default)]
    pub bank_account_name: String,
    /// 开户银行.
    #[serde(default)]
    pub bank_name: String,
    /// 银行账号.
    #[serde(default)]
    pub bank_account: String,
}

/// `POST /orders/{no}/payment/financial`.
pub async fn financial_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(f): Form<FinancialForm>,
) -> Response {
    match state
        .app
        .billing()
        .refill_financial(
            user.user.id,
            &no,
            &f.bank_account_name,
            &f.bank_name,
            &f.bank_account,
        )
        .await
    {
        Ok(()) => see(format!("/orders/{no}/payment")),
        Err(e) => failed(&state, &ctx, &user, &no, e).await,
    }
}

// ---- sandbox ----

#[derive(Template)]
#[template(path = "payments/sandbox_pay.html")]
struct SandboxPayPage {
    l: Layout,
    trade_no: String,
    order_no: String,
    amount: String,
    merchant: String,
    paid: bool,
}

/// `GET /sandbox/pay/{trade_no}`: the sandbox gateway's checkout.
pub async fn sandbox_pay_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(trade_no): Path<String>,
) -> Response {
    let l = crate::pages::layout_for(&state, &ctx)
        .await
        .page("沙箱支付网关", "");
    match state.app.sandbox().checkout(&trade_no).await {
        Ok(p) => render(&SandboxPayPage {
            l,
            trade_no: p.trade_no,
            order_no: p.order_no,
            amount: yuan(p.amount_fen),
            merchant: state
                .app
                .billing()
                .merchant_of("sandbox")
                .unwrap_or_default(),
            paid: p.state != app::payments::PayState::Created,
        }),
        Err(e) => PageError {
            layout: l,
            error: e,
        }
        .into_response(),
    }
}

/// `POST /sandbox/pay/{trade_no}`: 确认支付; the sandbox signs and delivers its
/// notification, then returns the payer to the hall (the return itself credits nothing).
pub async fn sandbox_pay_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(trade_no): Path<String>,
) -> Response {
    match state.app.sandbox().pay(&trade_no).await {
        Ok(no) => see(format!("/orders/{no}/payment")),
        Err(e) => PageError {
            layout: crate::pages::layout_for(&state, &ctx).await,
            error: e,
        }
        .into_response(),
    }
}

#[derive(Template)]
#[template(path = "payments/sandbox_payouts.html")]
struct PayoutsPage {
    l: Layout,
    rows: Vec<(String, String, String, String, String, String)>,
}

/// `GET /sandbox/payouts`: the bank statement the unit's finance would see.
pub async fn sandbox_payouts(State(state): State<AppState>, ctx: Ctx) -> Response {
    if !crate::sandbox_gate::allowed(&state, &ctx, None) {
        return crate::sandbox_gate::unlock_page(&state, &ctx, "/sandbox/payouts", "").await;
    }
    let l = crate::pages::layout_for(&state, &ctx)
        .await
        .page("沙箱银行流水(小额打款)", "");
    match state.app.sandbox().payouts().await {
        Ok(ds) => render(&PayoutsPage {
            l,
            rows: ds
                .into_iter()
                .map(|d| {
                    (
                        app::clock::format_beijing(d.created_at),
                        d.account_name,
                        domain::BankAccount::parse(&d.account)
                            .map(|a| a.masked())
                            .unwrap_or_default(),
                        yuan(d.amount_fen),
                        d.memo,
                        d.order_no,
                    )
                })
                .collect(),
        }),
        Err(e) => PageError {
            layout: l,
            error: e,
        }
        .into_response(),
    }
}

// ---- callbacks ----

/// `POST /api/v1/callbacks/{gateway}`: a gateway's notification, authenticated by its
/// signature; answered the way that gateway expects.
pub async fn callback(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = notification(&headers, &body);
    match state.app.billing().payment_notify(&gateway, &n).await {
        Ok(ack) => (
            StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, ack.content_type)],
            ack.body,
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /api/v1/callbacks/{gateway}/refund`: a gateway's refund notification (WeChat Pay
/// `REFUND.*`), authenticated by its signature.
pub async fn refund_callback(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = notification(&headers, &body);
    match state.app.billing().refund_notify(&gateway, &n).await {
        Ok(ack) => (
            StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, ack.content_type)],
            ack.body,
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

fn notification(headers: &HeaderMap, body: &Bytes) -> Notification {
    Notification {
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    }
}

// ---- JSON API ----

fn view_json(v: &PaymentView) -> serde_json::Value {
    serde_json::json!({
        "order_no": v.order.no.to_string(),
        "state": v.order.state.as_str(),
        "amount_fen": v.amount.fen(),
        "fin_state": v.order.fin_state.as_str(),
        "code_open": v.code_open,
        "can_resend": v.can_resend,
        "payments": v.payments.iter().map(|p| serde_json::json!({
            "id": p.id, "method": p.method, "provider": p.provider, "amount_fen": p.amount_fen,
            "state": p.state.as_str(), "paid_at": p.paid_at,
        })).collect::<Vec<_>>(),
        "micro_deposits": v.deposits.iter().map(|d| serde_json::json!({
            "state": d.state.as_str(), "sent_at": d.created_at, "expires_at": d.expires_at, "attempts": d.attempts,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/orders/{no}/payment`.
pub async fn api_show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
) -> Response {
    match state.app.billing().payment_view(user.user.id, &no).await {
        Ok(v) => axum::Json(view_json(&v)).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /api/v1/orders/{no}/payment/online` `{"gateway": "sandbox"}`.
pub async fn api_online(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
    Json(f): Json<GatewayForm>,
) -> Response {
    match state
        .app
        .billing()
        .start_online_payment(user.user.id, &no, &f.gateway)
        .await
    {
        Ok(PayStart::Redirect(url)) => {
            axum::Json(serde_json::json!({"redirect": url})).into_response()
        }
        Ok(PayStart::QrCode(code)) => {
            axum::Json(serde_json::json!({"code_url": code})).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /api/v1/orders/{no}/payment/code` `{"code": "123456"}`.
pub async fn api_code(
    State(state): State<AppState>,
    user: ApiUser,
    Path(no): Path<String>,
    Json(f): Json<CodeForm>,
) -> Response {
    match state
        .app
        .billing()
        .enter_deposit_code(user.user.id, &no, &f.code)
        .await
    {
        Ok(()) => match state.app.billing().payment_view(user.user.id, &no).await {
            Ok(v) => axum::Json(view_json(&v)).into_response(),
            Err(e) => ApiError(e).into_response(),
        },
        Err(e) => ApiError(e).into_response(),
    }
}

// ---- finance ----

fn staff_layout(state: &AppState, ctx: &Ctx, a: &StaffActor) -> Layout {
    let mut l = Layout::anonymous(state, ctx).page("财务对账", "");
    l.staff = Some(format!("{}({})", a.display_name, a.role.label()));
    l
}

fn staff_fail(state: &AppState, ctx: &Ctx, a: &StaffActor, e: AppError) -> Response {
    PageError {
        layout: staff_layout(state, ctx, a),
        error: e,
    }
    .into_response()
}

/// A credit as finance sees it.
pub struct CreditRow {
    id: i64,
    entry_ref: String,
    booked_on: String,
    amount: String,
    payer_name: String,
    payer_account: String,
    memo: String,
    state: &'static str,
    order_no: String,
    reason: String,
}

fn credit_row(c: CreditRecord) -> CreditRow {
    CreditRow {
        id: c.id,
        entry_ref: c.entry_ref,
        booked_on: c.booked_on,
        amount: yuan(c.amount_fen),
        payer_name: c.payer_name,
        payer_account: domain::BankAccount::parse(&c.payer_account)
            .map(|a| a.masked())
            .unwrap_or_else(|_| "****".into()),
        memo: c.memo,
        state: c.state.label(),
        order_no: c.order_no.unwrap_or_default(),
        reason: c.reason,
    }
}

#[derive(Template)]
#[template(path = "payments/finance.html")]
struct FinancePage {
    l: Layout,
    nav: Vec<crate::staff::Nav>,
    manual: Vec<CreditRow>,
    all: Vec<CreditRow>,
    refundable: Vec<(i64, String, String, String, String)>,
    duplicates: Vec<(i64, String, String, String, String)>,
    report: Vec<String>,
    error: String,
    today: String,
}

async fn finance_show(
    state: &AppState,
    ctx: &Ctx,
    s: &PageStaff,
    status: StatusCode,
    report: Vec<String>,
    error: String,
) -> Response {
    let a = &s.actor;
    let r = async {
        let manual = state.app.billing().finance_credits(a, true).await?;
        let all = state.app.billing().finance_credits(a, false).await?;
        let refundable = state.app.billing().refundable(a).await?;
        let duplicates = state.app.billing().duplicate_payments(a).await?;
        Ok::<_, AppError>((manual, all, refundable, duplicates))
    }
    .await;
    let row = |p: app::payments::PaymentRecord| {
        (
            p.id,
            p.order_no,
            state.app.billing().channel_label(&p.provider),
            yuan(p.amount_fen),
            p.state.label().to_owned(),
        )
    };
    match r {
        Ok((manual, all, refundable, duplicates)) => {
            let mut l = staff_layout(state, ctx, a);
            l.csrf = ctx.csrf.clone();
            let page = FinancePage {
                l,
                nav: crate::staff::nav_for(a),
                manual: manual.into_iter().map(credit_row).collect(),
                all: all.into_iter().map(credit_row).collect(),
                refundable: refundable.into_iter().map(row).collect(),
                duplicates: duplicates
                    .into_iter()
                    .map(row)
                    .map(|(id, no, pr, amt, st)| {
                        let st = if st == app::payments::PayState::Paid.label() {
                            "重复付款,待退款".to_owned()
                        } else {
                            format!("重复付款,待退款({st})")
                        };
                        (id, no, pr, amt, st)
                    })
                    .collect(),
                report,
                error,
                today: app::orders::beijing_date(state.app.now()).to_string(),
            };
            (status, render(&page)).into_response()
        }
        Err(e) => staff_fail(state, ctx, a, e),
    }
}

/// Query of the finance page: what was just done.
#[derive(Debug, Deserialize, Default)]
pub struct FinanceQuery {
    /// The order whose 金融认证 was just failed.
    #[serde(default)]
    pub failed: Option<String>,
}

/// `GET /staff/finance`: the manual matching queue, imported credits, refunds; after a
/// 金融认证 failure, its confirmation.
pub async fn finance_page(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    axum::extract::Query(q): axum::extract::Query<FinanceQuery>,
) -> Response {
    // Only a well-formed order number is echoed back.
    if let Some(no) = q
        .failed
        .as_deref()
        .and_then(|n| domain::OrderNo::parse(n).ok())
    {
        let done = vec![format!(
            "业务单 {no} 金融认证不通过已记录,已短信通知经办人重新填写金融认证信息"
        )];
        return finance_show(&state, &ctx, &s, StatusCode::OK, done, String::new()).await;
    }
    finance_show(&state, &ctx, &s, StatusCode::OK, Vec::new(), String::new()).await
}

/// `POST /staff/finance/import?_csrf=…`: a camt.053 or CSV statement.
pub async fn finance_import(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    // The role first: a body that is not multipart must not tell another role more than 403.
    let importer = match state
        .app
        .billing()
        .importer(app::authz::Operator::Staff(&s.actor))
    {
        Ok(i) => i,
        Err(e) => return staff_fail(&state, &ctx, &s.actor, e),
    };
    let read = match mp {
        Ok(mp) => read_file_part(mp, max_file_bytes(&state)).await,
        Err(_) => Err("请选择要导入的银行对账单文件".to_owned()),
    };
    let r = match read {
        Ok(bytes) => importer.import("upload", &bytes).await,
        Err(m) => Err(AppError::invalid("file", m)),
    };
    match r {
        Ok(rep) => {
            let mut lines = vec![format!(
                "{} 对账单:{} 笔记录,新增 {} 笔{};自动匹配 {} 笔,转人工 {} 笔,无需匹配 {} 笔",
                rep.format,
                rep.entries,
                rep.new_entries,
                if rep.duplicate_file {
                    "(该文件已导入过,未作改动)"
                } else {
                    ""
                },
                rep.matched.len(),
                rep.manual.len(),
                rep.ignored
            )];
            lines.extend(rep.matched.iter().map(|(r, o)| format!("✔ {r} → {o}")));
            lines.extend(rep.manual.iter().map(|(r, why)| format!("✘ {r}:{why}")));
            finance_show(&state, &ctx, &s, StatusCode::OK, lines, String::new()).await
        }
        Err(AppError::Invalid { message, .. }) => {
            finance_show(
                &state,
                &ctx,
                &s,
                StatusCode::BAD_REQUEST,
                Vec::new(),
                message,
            )
            .await
        }
        Err(e) => staff_fail(&state, &ctx, &s.actor, e),
    }
}

/// Finance's forms.
#[derive(Debug, Deserialize)]
pub struct FinanceForm {
    /// Order number (match).
    #[serde(default)]
    pub order_no: String,
    /// Reason (reject, fail, refund).
    #[serde(default)]
    pub reason: String,
}

async fn finance_done(
    state: &AppState,
    ctx: &Ctx,
    s: &PageStaff,
    r: Result<(), AppError>,
) -> Response {
    match r {
        Ok(()) => see("/staff/finance".into()),
        Err(AppError::Invalid { message, .. }) | Err(AppError::Conflict(message)) => {
            finance_show(state, ctx, s, StatusCode::BAD_REQUEST, Vec::new(), message).await
        }
        Err(e) => staff_fail(state, ctx, &s.actor, e),
    }
}

/// `POST /staff/finance/credits/{id}/match`.
pub async fn finance_match(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(id): Path<String>,
    Form(f): Form<FinanceForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return staff_fail(&state, &ctx, &s.actor, AppError::NotFound);
    };
    let r = state
        .app
        .billing()
        .finance_match(&s.actor, id, &f.order_no)
        .await;
    finance_done(&state, &ctx, &s, r).await
}

/// `POST /staff/finance/credits/{id}/reject`.
pub async fn finance_reject(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(id): Path<String>,
    Form(f): Form<FinanceForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return staff_fail(&state, &ctx, &s.actor, AppError::NotFound);
    };
    let r = state
        .app
        .billing()
        .finance_reject(&s.actor, id, &f.reason)
        .await;
    finance_done(&state, &ctx, &s, r).await
}

/// `POST /staff/finance/fail`: 金融认证不通过 (FAQ 六) for `order_no` with `reason`.
pub async fn finance_fail(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Form(f): Form<FinanceForm>,
) -> Response {
    let r = state
        .app
        .billing()
        .fail_financial(&s.actor, f.order_no.trim(), &f.reason)
        .await;
    match r {
        Ok(()) => see(format!(
            "/staff/finance?failed={}",
            crate::edge::urlencode(f.order_no.trim())
        )),
        r => finance_done(&state, &ctx, &s, r).await,
    }
}

/// `POST /staff/finance/payments/{id}/refund`.
pub async fn finance_refund(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(id): Path<String>,
    Form(f): Form<FinanceForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return staff_fail(&state, &ctx, &s.actor, AppError::NotFound);
    };
    let r = state.app.billing().refund(&s.actor, id, &f.reason).await;
    finance_done(&state, &ctx, &s, r).await
}

/// `POST /staff/finance/payments/{id}/refund-resolved`: a 退款异常 refund handled outside
/// the gateway (its note in `reason`).
pub async fn finance_refund_resolved(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(id): Path<String>,
    Form(f): Form<FinanceForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return staff_fail(&state, &ctx, &s.actor, AppError::NotFound);
    };
    let r = state
        .app
        .billing()
        .resolve_abnormal_refund(&s.actor, id, &f.reason)
        .await;
    finance_done(&state, &ctx, &s, r).await
}

/// `?day=YYYY-MM-DD`.
#[derive(Debug, Deserialize)]
pub struct DayQuery {
    /// Beijing date.
    #[serde(default)]
    pub day: String,
}

/// `GET /staff/finance/reconciliation.csv?day=…`: the daily reconciliation report.
pub async fn finance_recon_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Query(q): Query<DayQuery>,
) -> Response {
    match state.app.billing().reconciliation(&s.actor, &q.day).await {
        Ok(lines) => {
            let lines: Vec<ReconLine> = lines;
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"reconciliation-{}.csv\"",
                            q.day.replace(|c: char| !c.is_ascii_digit() && c != '-', "")
                        ),
                    ),
                ],
                app::payments::reconciliation_csv(&lines),
            )
                .into_response()
        }
        Err(e) => staff_fail(&state, &ctx, &s.actor, e),
    }
}
