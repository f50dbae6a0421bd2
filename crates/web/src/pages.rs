//! Applicant pages: home, register, login, password reset, 个人中心, FAQ, sandbox inbox.

use crate::edge::{cookie, local_next, Ctx, Form, PageUser, CSRF_FIELD, USER_COOKIE};
use crate::error::{error_page, PageError};
use crate::AppState;
use app::model::CodePurpose;
use app::AppError;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Brand and contacts.
    pub brand: crate::config::Brand,
    /// The CSRF token for forms.
    pub csrf: String,
    /// Masked phone of the logged-in applicant.
    pub user: Option<String>,
    /// Display name of the logged-in staff member (staff pages).
    pub staff: Option<String>,
    /// Which navigation item is current.
    pub active: &'static str,
    /// Whether the sandbox SMS inbox is on.
    pub sandbox_sms: bool,
    /// Page title.
    pub title: String,
}

impl Layout {
    /// A page for someone not logged in.
    pub fn anonymous(state: &AppState, ctx: &Ctx) -> Self {
        Self {
            brand: state.cfg.brand.clone(),
            csrf: ctx.csrf.clone(),
            user: None,
            staff: None,
            active: "",
            sandbox_sms: state.app.sandbox().sms_is_sandbox(),
            title: String::new(),
        }
    }
    /// A frame without request context (only for errors before the edge ran).
    pub fn bare(state: &AppState) -> Self {
        Self::anonymous(
            state,
            &Ctx {
                request_id: String::new(),
                ip: String::new(),
                csrf: String::new(),
                cookies: Vec::new(),
            },
        )
    }
    /// Sets the title and current navigation item.
    pub fn page(mut self, title: &str, active: &'static str) -> Self {
        self.title = title.into();
        self.active = active;
        self
    }
    /// Marks the applicant as logged in.
    pub fn with_user(mut self, masked_phone: String) -> Self {
        self.user = Some(masked_phone);
        self
    }
    /// The name of the CSRF form field.
    pub fn csrf_field(&self) -> &'static str {
        CSRF_FIELD
    }
}

/// Messages beside fields, by field name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// The message for `field`, or "" when there is none.
    pub fn of(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }
    /// Whether `field` has a message.
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
}

/// Renders a template or answers with a plain 500 if the template itself fails.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "系统繁忙,请稍后重试").into_response()
        }
    }
}

/// The layout for a request, with the applicant if logged in.
pub async fn layout_for(state: &AppState, ctx: &Ctx) -> Layout {
    let l = Layout::anonymous(state, ctx);
    match crate::edge::user_of(state, ctx).await {
        Ok(Some((user, _))) => l.with_user(user.phone.masked()),
        _ => l,
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
}

/// `GET /`: the hall's front page.
pub async fn home(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(&HomePage {
        l: layout_for(&state, &ctx).await.page("首页", "home"),
    })
}

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqPage {
    l: Layout,
    approved: String,
    rejected: String,
    fin_failed: String,
}

/// `GET /faq`: the guide's six questions. The SMS it quotes are the hall's own templates
/// filled with the guide's examples, so what it quotes is what is sent.
pub async fn faq(State(state): State<AppState>, ctx: Ctx) -> Response {
    let sms = |t: &str| state.app.guide_sms(t).unwrap_or_default();
    render(&FaqPage {
        approved: sms("review_approved"),
        rejected: sms("review_rejected"),
        fin_failed: sms(app::payments::FIN_FAILED_SMS),
        l: layout_for(&state, &ctx).await.page("常见问题", "faq"),
    })
}

/// The shared state of the register, login and reset forms.
#[derive(Debug, Clone, Default)]
pub struct AuthView {
    /// What the person typed into the phone (or account) field.
    pub phone: String,
    /// A notice above the form (e.g. 验证码已发送).
    pub notice: String,
    /// A form-wide error.
    pub error: String,
    /// Field errors.
    pub errors: FieldErrors,
    /// Where to go after success.
    pub next: String,
    /// Which login tab is open: `code` or `password`.
    pub tab: String,
}

impl AuthView {
    fn with_error(mut self, e: AppError) -> (StatusCode, Self) {
        let status = crate::error::status_of(&e);
        match e {
            AppError::Invalid { field, message } => {
                self.errors.0.insert(field.into(), message);
            }
            AppError::Internal(cause) | AppError::Unavailable(cause) => {
                tracing::error!(error = %cause, "auth form failed");
                self.error = "系统繁忙,请稍后重试".into();
            }
            other => self.error = other.to_string(),
        }
        (status, self)
    }
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    l: Layout,
    v: AuthView,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    v: AuthView,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    l: Layout,
    v: AuthView,
}

/// Query of the auth pages.
#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    /// Where to go after logging in.
    #[serde(default)]
    pub next: Option<String>,
    /// Which tab to open.
    #[serde(default)]
    pub tab: Option<String>,
}

/// `GET /register`.
pub async fn register_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Response {
    let v = AuthView {
        next: local_next(q.next.as_deref(), "/account"),
        ..Default::default()
    };
    render(&RegisterPage {
        l: Layout::anonymous(&state, &ctx).page("注册", "register"),
        v,
    })
}

/// `GET /login`.
pub async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Response {
    let tab = if q.tab.as_deref() == Some("password") {
        "password"
    } else {
        "code"
    };
    let v = AuthView {
        next: local_next(q.next.as_deref(), "/account"),
        tab: tab.into(),
        ..Default::default()
    };
    render(&LoginPage {
        l: Layout::anonymous(&state, &ctx).page("登录", "login"),
        v,
    })
}

/// `GET /password/reset`.
pub async fn reset_form(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(&ResetPage {
        l: Layout::anonymous(&state, &ctx).page("找回密码", "login"),
        v: AuthView::default(),
    })
}

/// The fields of the register, login and reset forms. Every field is optional here so that a
/// missing one gets a message beside it instead of a parse failure.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AuthForm {
    /// `send_code` to send a code; anything else submits.
    pub action: String,
    /// Mobile number.
    pub phone: String,
    /// Account (the mobile number) for password login.
    pub account: String,
    /// SMS code.
    pub code: String,
    /// Password.
    pub password: String,
    /// Password again.
    pub password_confirm: String,
    /// Where to go after success.
    pub next: String,
    /// Which login tab was used.
    pub tab: String,
}

fn session_cookie_response(state: &AppState, token: &str, to: &str) -> Response {
    let max_age = state.app.accounts().session_max_age_ms() / 1000;
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().append(
        SET_COOKIE,
        cookie(
            USER_COOKIE,
            token,
            state.cfg.secure_cookies,
            Some(max_age),
            "Lax",
        ),
    );
    resp
}

async fn send_code(
    state: &AppState,
    ctx: &Ctx,
    phone: &str,
    purpose: CodePurpose,
    mut v: AuthView,
) -> (StatusCode, AuthView) {
    match state
        .app
        .accounts()
        .request_code(phone, purpose, &ctx.ip)
        .await
    {
        Ok(msg) => {
            v.notice = msg.into();
            (StatusCode::OK, v)
        }
        Err(e) => v.with_error(e),
    }
}

/// `POST /register`: send a code, or register (and log in) with it.
pub async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AuthForm>,
) -> Response {
    let v = AuthView {
        phone: f.phone.clone(),
        next: local_next(Some(&f.next), "/account"),
        ..Default::default()
    };
    let l = Layout::anonymous(&state, &ctx).page("注册", "register");
    if f.action == "send_code" {
        let (status, v) = send_code(&state, &ctx, &f.phone, CodePurpose::Login, v).await;
        return (status, render(&RegisterPage { l, v })).into_response();
    }
    let password =
        (!f.password.is_empty()).then_some((f.password.as_str(), f.password_confirm.as_str()));
    match state
        .app
        .accounts()
        .login_with_code(&f.phone, &f.code, password, &ctx.ip)
        .await
    {
        Ok(s) => session_cookie_response(&state, &s.token, &v.next),
        Err(e) => {
            let (status, v) = v.with_error(e);
            (status, render(&RegisterPage { l, v })).into_response()
        }
    }
}

/// `POST /login`: send a code, log in with a code, or log in with a password.
pub async fn login(State(state): State<AppState>, ctx: Ctx, Form(f): Form<AuthForm>) -> Response {
    let l = Layout::anonymous(&state, &ctx).page("登录", "login");
    let tab = if f.tab == "password" {
        "password"
    } else {
        "code"
    };
    let phone = if tab == "password" {
        f.account.clone()
    } else {
        f.phone.clone()
    };
    let v = AuthView {
        phone,
        next: local_next(Some(&f.next), "/account"),
        tab: tab.into(),
        ..Default::default()
    };
    if f.action == "send_code" {
        let (status, v) = send_code(&state, &ctx, &f.phone, CodePurpose::Login, v).await;
        return (status, render(&LoginPage { l, v })).into_response();
    }
    let result = if tab == "password" {
        state
            .app
            .accounts()
            .login_with_password(&f.account, &f.password, &ctx.ip)
            .await
    } else {
        state
            .app
            .accounts()
            .login_with_code(&f.phone, &f.code, None, &ctx.ip)
            .await
    };
    match result {
        Ok(s) => session_cookie_response(&state, &s.token, &v.next),
        Err(e) => {
            let (status, v) = v.with_error(e);
            (status, render(&LoginPage { l, v })).into_response()
        }
    }
}

/// `POST /password/reset`: send a code, or set a new password with it.
pub async fn reset(State(state): State<AppState>, ctx: Ctx, Form(f): Form<AuthForm>) -> Response {
    let l = Layout::anonymous(&state, &ctx).page("找回密码", "login");
    let v = AuthView {
        phone: f.phone.clone(),
        ..Default::default()
    };
    if f.action == "send_code" {
        let (status, v) = send_code(&state, &ctx, &f.phone, CodePurpose::ResetPassword, v).await;
        return (status, render(&ResetPage { l, v })).into_response();
    }
    match state
        .app
        .accounts()
        .reset_password(&f.phone, &f.code, &f.password, &f.password_confirm, &ctx.ip)
        .await
    {
        Ok(()) => Redirect::to("/login?tab=password&reset=1").into_response(),
        Err(e) => {
            let (status, v) = v.with_error(e);
            (status, render(&ResetPage { l, v })).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    has_password: bool,
    registered_at: String,
    notice: String,
    errors: FieldErrors,
    new_phone: String,
    section: String,
    orders: Vec<app::orders::OrderSummary>,
    pays: app::payments::MyPayments,
    /// The order whose 随机码 was refused (its message is `errors["deposit_code"]`).
    code_for: String,
}

impl AccountPage {
    fn time(&self, ms: &i64) -> String {
        app::clock::format_beijing(*ms)
    }
    fn yuan(&self, fen: &i64) -> String {
        app::payments::yuan(*fen)
    }
    fn paid_time(&self, p: &app::payments::MyPayment) -> String {
        app::clock::format_beijing(p.payment.paid_at.unwrap_or(p.payment.created_at))
    }
}

/// Query of the account page.
#[derive(Debug, Deserialize, Default)]
pub struct AccountQuery {
    /// A notice to show (`password`, `phone`).
    #[serde(default)]
    pub done: Option<String>,
}

async fn account_page(state: &AppState, ctx: &Ctx, user: &app::model::User) -> AccountPage {
    let orders = match state.app.wizard().my_orders(user.id).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "order list failed");
            Vec::new()
        }
    };
    let pays = match state.app.billing().my_payments(user.id).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "payment list failed");
            app::payments::MyPayments::default()
        }
    };
    AccountPage {
        orders,
        pays,
        code_for: String::new(),
        l: Layout::anonymous(state, ctx)
            .with_user(user.phone.masked())
            .page("个人中心", "account"),
        has_password: user.password_hash.is_some(),
        registered_at: app::clock::format_beijing(user.created_at),
        notice: String::new(),
        errors: FieldErrors::default(),
        new_phone: String::new(),
        section: String::new(),
    }
}

/// `GET /account`: 个人中心.
pub async fn account(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Query(q): Query<AccountQuery>,
) -> Response {
    let mut page = account_page(&state, &ctx, &user.user).await;
    page.notice = match q.done.as_deref() {
        Some("password") => "密码已保存".into(),
        Some("phone") => "手机号码已更换,请使用新号码登录".into(),
        Some("code") => "随机码验证通过,金融认证已通过,业务单进入资料审核环节".into(),
        _ => String::new(),
    };
    render(&page)
}

/// Fields of the account forms.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    /// `send_code` for the phone form's code button.
    pub action: String,
    /// Current password.
    pub current_password: String,
    /// New password.
    pub password: String,
    /// New password again.
    pub password_confirm: String,
    /// New phone.
    pub phone: String,
    /// Code sent to the new phone.
    pub code: String,
}

fn account_error(mut page: AccountPage, section: &str, e: AppError) -> Response {
    let status = crate::error::status_of(&e);
    page.section = section.into();
    match e {
        AppError::Invalid { field, message } => {
            page.errors.0.insert(field.into(), message);
        }
        AppError::Internal(cause) => {
            tracing::error!(error = %cause, "account form failed");
            page.errors
                .0
                .insert("form".into(), "系统繁忙,请稍后重试".into());
        }
        other => {
            page.errors
                .0
                .insert(format!("{section}_form"), other.to_string());
        }
    }
    (status, render(&page)).into_response()
}

/// The 随机码 form of 我的订单.
#[derive(Debug, Deserialize)]
pub struct AccountCodeForm {
    /// What was typed.
    #[serde(default)]
    pub code: String,
}

/// `POST /account/orders/{no}/code`: 我的订单's 随机码 entry (the guide: "进入'个人中心'—
/// '我的订单'中输入随机码验证"). The same use case as the payment page's form.
pub async fn account_code(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    axum::extract::Path(no): axum::extract::Path<String>,
    Form(f): Form<AccountCodeForm>,
) -> Response {
    match state
        .app
        .billing()
        .enter_deposit_code(user.user.id, &no, &f.code)
        .await
    {
        Ok(()) => Redirect::to("/account?done=code").into_response(),
        Err(AppError::Internal(cause)) => account_error(
            account_page(&state, &ctx, &user.user).await,
            "code",
            AppError::Internal(cause),
        ),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let message = match e {
                AppError::Invalid { message, .. } => message,
                other => other.to_string(),
            };
            let mut page = account_page(&state, &ctx, &user.user).await;
            // Beside its form while the code may still be entered; at the top once it may
            // not (the fifth wrong code fails 金融认证 and the form goes).
            if page.pays.code_open.iter().any(|(n, _, _)| *n == no) {
                page.code_for = no;
                page.errors.0.insert("deposit_code".into(), message);
            } else {
                page.errors.0.insert("form".into(), message);
            }
            (status, render(&page)).into_response()
        }
    }
}

/// `POST /account/password`: set or change the password.
pub async fn account_password(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Form(f): Form<AccountForm>,
) -> Response {
    let current = (!f.current_password.is_empty()).then_some(f.current_password.as_str());
    match state
        .app
        .accounts()
        .change_password(
            user.user.id,
            current,
            &f.password,
            &f.password_confirm,
            &ctx.ip,
        )
        .await
    {
        Ok(()) => Redirect::to("/account?done=password").into_response(),
        Err(e) => account_error(account_page(&state, &ctx, &user.user).await, "password", e),
    }
}

/// `POST /account/phone`: send a code to the new number, or move the account to it.
pub async fn account_phone(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Form(f): Form<AccountForm>,
) -> Response {
    let mut page = account_page(&state, &ctx, &user.user).await;
    page.new_phone = f.phone.clone();
    page.section = "phone".into();
    if f.action == "send_code" {
        return match state
            .app
            .accounts()
            .request_code(&f.phone, CodePurpose::ChangePhone, &ctx.ip)
            .await
        {
            Ok(msg) => {
                page.notice = msg.into();
                render(&page)
            }
            Err(e) => account_error(page, "phone", e),
        };
    }
    match state
        .app
        .accounts()
        .change_phone(user.user.id, &f.phone, &f.code, &ctx.ip)
        .await
    {
        Ok(()) => Redirect::to("/account?done=phone").into_response(),
        Err(e) => account_error(page, "phone", e),
    }
}

fn clear_user_cookie(state: &AppState, to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().append(
        SET_COOKIE,
        cookie(USER_COOKIE, "", state.cfg.secure_cookies, Some(0), "Lax"),
    );
    resp
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Some(token) = ctx.cookie(USER_COOKIE) {
        if let Err(e) = state.app.accounts().logout(token, &ctx.ip).await {
            return PageError {
                layout: Layout::anonymous(&state, &ctx),
                error: e,
            }
            .into_response();
        }
    }
    clear_user_cookie(&state, "/")
}

/// `POST /logout-all`: ends every session of the account.
pub async fn logout_all(State(state): State<AppState>, ctx: Ctx, user: PageUser) -> Response {
    match state
        .app
        .accounts()
        .logout_everywhere(app::model::Principal::User(user.user.id), &ctx.ip)
        .await
    {
        Ok(_) => clear_user_cookie(&state, "/login?all=1"),
        Err(e) => PageError {
            layout: Layout::anonymous(&state, &ctx),
            error: e,
        }
        .into_response(),
    }
}

#[derive(Template)]
#[template(path = "sandbox_sms.html")]
struct SandboxSmsPage {
    l: Layout,
    phone: String,
    error: String,
    messages: Vec<(String, String)>,
}

/// Query of the sandbox inbox.
#[derive(Debug, Deserialize, Default)]
pub struct PhoneQuery {
    /// The phone to show.
    #[serde(default)]
    pub phone: Option<String>,
}

/// `GET /sandbox/sms`: what the sandbox "delivered" to a phone; 404 with a real provider.
pub async fn sandbox_sms(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PhoneQuery>,
) -> Response {
    if !crate::sandbox_gate::allowed(&state, &ctx, None) {
        return crate::sandbox_gate::unlock_page(&state, &ctx, "/sandbox/sms", "").await;
    }
    let l = layout_for(&state, &ctx).await.page("短信沙箱", "");
    if !state.app.sandbox().sms_is_sandbox() {
        return not_found_page(l);
    }
    let phone = q.phone.unwrap_or_default();
    let mut page = SandboxSmsPage {
        l,
        phone: phone.clone(),
        error: String::new(),
        messages: Vec::new(),
    };
    if !phone.is_empty() {
        match state.app.sandbox().inbox(&phone).await {
            Ok(list) => {
                page.messages = list
                    .into_iter()
                    .map(|(m, text)| {
                        (
                            app::clock::format_beijing(m.sent_at.unwrap_or(m.created_at)),
                            text,
                        )
                    })
                    .collect()
            }
            Err(e) => page.error = e.to_string(),
        }
    }
    render(&page)
}

/// The 404 page.
pub fn not_found_page(l: Layout) -> Response {
    error_page(
        l.page("页面不存在", ""),
        StatusCode::NOT_FOUND,
        "页面不存在",
        "您访问的页面不存在或已被移除,请返回首页。",
    )
}

/// A time as Beijing wall-clock text (for templates).
pub fn beijing(ms: &i64) -> String {
    app::clock::format_beijing(*ms)
}
