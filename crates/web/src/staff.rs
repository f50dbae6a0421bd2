//! The staff console under `/staff`: login with password + TOTP, home with the queues of the
//! member's role, and the admin pages (accounts, audit log, SMS outbox, jobs). Permissions
//! are checked by the use cases; these handlers only render what they are given.

use crate::edge::{cookie, Ctx, Form, PageStaff, STAFF_COOKIE};
use crate::error::PageError;
use crate::pages::{render, FieldErrors, Layout};
use crate::AppState;
use app::authz::{Permission, StaffActor};
use app::model::{AuditRow, Job, JobStatus, OutboxSms, Role, Staff};
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// Frame of staff pages.
pub(crate) fn staff_layout(
    state: &AppState,
    ctx: &Ctx,
    actor: Option<&StaffActor>,
    title: &str,
    active: &'static str,
) -> Layout {
    let mut l = Layout::anonymous(state, ctx).page(title, active);
    l.staff = Some(
        actor
            .map(|a| format!("{}({})", a.display_name, a.role.label()))
            .unwrap_or_default(),
    );
    l
}

pub(crate) fn fail(state: &AppState, ctx: &Ctx, actor: &StaffActor, e: AppError) -> Response {
    PageError {
        layout: staff_layout(state, ctx, Some(actor), "无权访问", ""),
        error: e,
    }
    .into_response()
}

/// Navigation entries a staff member may see.
pub struct Nav {
    /// Path.
    pub href: &'static str,
    /// Label.
    pub label: &'static str,
}

pub(crate) fn nav_for(actor: &StaffActor) -> Vec<Nav> {
    let mut v = vec![
        Nav {
            href: "/staff",
            label: "工作台",
        },
        Nav {
            href: "/staff/catalogue",
            label: "业务目录",
        },
    ];
    let entries = [
        (Permission::ReviewOrders, "/staff/review", "审核"),
        (Permission::IssueCertificates, "/staff/production", "制证"),
        (Permission::ShipOrders, "/staff/shipping", "邮寄"),
        (
            Permission::RevokeCertificates,
            "/staff/certificates",
            "证书注销",
        ),
        (Permission::ManageStaff, "/staff/calendar", "工作日历"),
        (Permission::ManageStaff, "/staff/accounts", "员工账号"),
        (Permission::ViewOutbox, "/staff/outbox", "短信记录"),
        (Permission::ManageJobs, "/staff/jobs", "后台任务"),
        (Permission::ViewAudit, "/staff/audit", "审计日志"),
        (Permission::ManagePayments, "/staff/finance", "财务对账"),
    ];
    for (p, href, label) in entries {
        if actor.can(p) {
            v.push(Nav { href, label });
        }
    }
    v
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct StaffLoginPage {
    l: Layout,
    username: String,
    error: String,
}

/// `GET /staff/login`.
pub async fn login_form(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(&StaffLoginPage {
        l: staff_layout(&state, &ctx, None, "员工登录", "staff"),
        username: String::new(),
        error: String::new(),
    })
}

/// Fields of the staff login form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct StaffLoginForm {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// TOTP code.
    pub totp: String,
}

/// `POST /staff/login`.
pub async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StaffLoginForm>,
) -> Response {
    match state
        .app
        .accounts()
        .staff_login(&f.username, &f.password, &f.totp, &ctx.ip)
        .await
    {
        Ok(s) => {
            let mut resp = Redirect::to("/staff").into_response();
            let max_age = state.app.accounts().session_max_age_ms() / 1000;
            resp.headers_mut().append(
                SET_COOKIE,
                cookie(
                    STAFF_COOKIE,
                    &s.token,
                    state.cfg.secure_cookies,
                    Some(max_age),
                    "Strict",
                ),
            );
            resp
        }
        Err(e) => {
            let status = crate::error::status_of(&e);
            if let AppError::Internal(cause) = &e {
                tracing::error!(error = %cause, "staff login failed");
            }
            let page = StaffLoginPage {
                l: staff_layout(&state, &ctx, None, "员工登录", "staff"),
                username: f.username,
                error: e.to_string(),
            };
            (status, render(&page)).into_response()
        }
    }
}

/// `POST /staff/logout`.
pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Some(token) = ctx.cookie(STAFF_COOKIE) {
        let _ = state.app.accounts().logout(token, &ctx.ip).await;
    }
    let mut resp = Redirect::to("/staff/login").into_response();
    resp.headers_mut().append(
        SET_COOKIE,
        cookie(
            STAFF_COOKIE,
            "",
            state.cfg.secure_cookies,
            Some(0),
            "Strict",
        ),
    );
    resp
}

/// A queue card on the staff home page.
pub struct Queue {
    /// Title.
    pub title: &'static str,
    /// What it holds.
    pub description: &'static str,
    /// Whether it is a work queue (shows its count) or a group of links.
    pub is_queue: bool,
    /// The queue's page and how many orders wait there, when known.
    pub link: Option<(&'static str, usize)>,
}

#[derive(Template)]
#[template(path = "staff/home.html")]
struct StaffHome {
    l: Layout,
    nav: Vec<Nav>,
    role: &'static str,
    queues: Vec<Queue>,
    warning: String,
}

/// `GET /staff`: the queues of the member's role.
pub async fn home(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    let a = &s.actor;
    let count = |r: Result<usize, AppError>| r.unwrap_or(0);
    let mut queues = Vec::new();
    if a.can(Permission::ReviewOrders) {
        queues.push(Queue {
            title: "待审核",
            description: "已付款并通过认证、等待审核的业务单,按提交时间排序,三个工作日内处理",
            is_queue: true,
            link: None,
        });
    }
    if a.can(Permission::ManagePayments) {
        queues.push(Queue {
            title: "待确认款项",
            description: "公对公转账待匹配、网厅缴费待核对的订单",
            is_queue: true,
            link: None,
        });
    }
    if a.can(Permission::IssueCertificates) {
        queues.push(Queue {
            title: "待制证",
            description: "审核通过、等待签发证书的业务单",
            is_queue: true,
            link: None,
        });
    }
    if a.can(Permission::ShipOrders) {
        queues.push(Queue {
            title: "待邮寄",
            description: "已制证、等待寄出USB Key的业务单",
            is_queue: true,
            link: None,
        });
    }
    if a.can(Permission::ManageStaff) {
        queues.push(Queue {
            title: "系统管理",
            description: "员工账号、短信记录、后台任务与审计日志",
            is_queue: false,
            link: None,
        });
    }
    for q in queues.iter_mut() {
        q.link = match q.title {
            "待审核" => Some((
                "/staff/review",
                count(state.app.review().queue(a).await.map(|v| v.len())),
            )),
            "待制证" => Some((
                "/staff/production",
                count(state.app.production().queue(a).await.map(|v| v.len())),
            )),
            "待邮寄" => Some((
                "/staff/shipping",
                count(state.app.delivery().queue(a).await.map(|v| v.len())),
            )),
            _ => None,
        };
    }
    render(&StaffHome {
        l: staff_layout(&state, &ctx, Some(a), "工作台", "staff"),
        nav: nav_for(a),
        role: a.role.label(),
        queues,
        warning: if a.can(Permission::ManageStaff) {
            let missing = state.app.admin().calendar_missing_years();
            if missing.is_empty() {
                String::new()
            } else {
                format!(
                    "{} 年的节假日安排尚未导入,审核期限仅按周末计算。请在国务院公布后于“工作日历”导入。",
                    missing.iter().map(|y| y.to_string()).collect::<Vec<_>>().join("、")
                )
            }
        } else {
            String::new()
        },
    })
}

#[derive(Template)]
#[template(path = "staff/accounts.html")]
struct AccountsPage {
    l: Layout,
    me: i64,
    nav: Vec<Nav>,
    staff: Vec<Staff>,
    roles: Vec<(&'static str, &'static str)>,
    errors: FieldErrors,
    created: Option<(String, String, String, String)>,
    form_username: String,
    form_name: String,
}

impl AccountsPage {
    fn fmt_time(&self, ms: &i64) -> String {
        app::clock::format_beijing(*ms)
    }
}

async fn accounts_page(
    state: &AppState,
    ctx: &Ctx,
    a: &StaffActor,
) -> Result<AccountsPage, AppError> {
    Ok(AccountsPage {
        l: staff_layout(state, ctx, Some(a), "员工账号", "staff"),
        me: a.id,
        nav: nav_for(a),
        staff: state
            .app
            .admin()
            .list_staff(app::authz::Operator::Staff(a))
            .await?,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        errors: FieldErrors::default(),
        created: None,
        form_username: String::new(),
        form_name: String::new(),
    })
}

/// `GET /staff/accounts` (admin).
pub async fn accounts(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    match accounts_page(&state, &ctx, &s.actor).await {
        Ok(p) => render(&p),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

/// Fields of the new-staff form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NewStaffForm {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role name.
    pub role: String,
}

/// `POST /staff/accounts`: creates an account and shows its one-time secrets.
pub async fn create_account(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Form(f): Form<NewStaffForm>,
) -> Response {
    let a = &s.actor;
    let role = Role::parse(&f.role);
    let result = match role {
        Some(role) => {
            state
                .app
                .admin()
                .create_staff(
                    app::authz::Operator::Staff(a),
                    &f.username,
                    &f.display_name,
                    role,
                )
                .await
        }
        None => Err(AppError::invalid("role", "请选择角色")),
    };
    let mut page = match accounts_page(&state, &ctx, a).await {
        Ok(p) => p,
        Err(e) => return fail(&state, &ctx, a, e),
    };
    match result {
        Ok(c) => {
            page.staff = state
                .app
                .admin()
                .list_staff(app::authz::Operator::Staff(a))
                .await
                .unwrap_or(page.staff);
            page.created = Some((c.staff.username, c.password, c.totp_base32, c.otpauth_uri));
            render(&page)
        }
        Err(AppError::Invalid { field, message }) => {
            page.errors.0.insert(field.into(), message);
            page.form_username = f.username;
            page.form_name = f.display_name;
            (axum::http::StatusCode::BAD_REQUEST, render(&page)).into_response()
        }
        Err(e) => fail(&state, &ctx, a, e),
    }
}

/// `POST /staff/accounts/{username}/disable` and `/enable`.
pub async fn toggle_account(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path((username, op)): Path<(String, String)>,
) -> Response {
    let disabled = match op.as_str() {
        "disable" => true,
        "enable" => false,
        _ => {
            return crate::pages::not_found_page(staff_layout(
                &state,
                &ctx,
                Some(&s.actor),
                "页面不存在",
                "",
            ))
        }
    };
    match state
        .app
        .admin()
        .set_staff_disabled(app::authz::Operator::Staff(&s.actor), &username, disabled)
        .await
    {
        Ok(()) => Redirect::to("/staff/accounts").into_response(),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    l: Layout,
    nav: Vec<Nav>,
    rows: Vec<AuditRow>,
    next_before: Option<i64>,
    names: std::collections::BTreeMap<String, String>,
}

impl AuditPage {
    fn fmt_time(&self, ms: &i64) -> String {
        app::clock::format_beijing(*ms)
    }
    /// `staff:3` shown with the login name; other actors as they are.
    fn who(&self, actor: &str) -> String {
        match self.names.get(actor) {
            Some(name) => format!("{name}({actor})"),
            None => actor.to_owned(),
        }
    }
    fn action_label(&self, action: &str) -> &'static str {
        action_label(action)
    }
}

/// Chinese names of audited actions.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "staff.login" => "员工登录",
        "staff.login_failed" => "员工登录失败",
        "staff.locked" => "员工账号锁定",
        "staff.logout" => "员工退出",
        "staff.created" => "创建员工账号",
        "staff.disabled" => "停用员工账号",
        "staff.enabled" => "启用员工账号",
        "user.registered" => "用户注册",
        "user.login" => "用户登录",
        "user.login_failed" => "用户登录失败",
        "user.login_refused" => "拒绝登录(已锁定)",
        "user.locked" => "用户账号锁定",
        "user.logout" => "用户退出",
        "user.password_set" => "设置密码",
        "user.password_changed" => "修改密码",
        "user.password_reset" => "重置密码",
        "user.phone_changed" => "更换手机号码",
        "session.logout_all" => "退出所有设备",
        "code.requested" => "获取验证码",
        "code.voided" => "验证码错误次数过多作废",
        "code.ip_limited" => "验证码请求超出IP限制",
        "job.retried" => "重试后台任务",
        "review.claim" => "领取审核",
        "review.approve" => "审核通过",
        "review.reject" => "审核驳回",
        "production.issue" => "签发证书",
        "production.done" => "制证完成",
        "production.pins_sent" => "发送证书PIN码短信",
        "shipping.post" => "邮寄USB Key",
        "shipping.delivered" => "确认签收并开具发票",
        "calendar.import" => "导入节假日安排",
        _ => "其他操作",
    }
}

/// Paging query.
#[derive(Debug, Deserialize, Default)]
pub struct BeforeQuery {
    /// Show rows before this sequence number.
    #[serde(default)]
    pub before: Option<i64>,
    /// Status filter.
    #[serde(default)]
    pub status: Option<String>,
}

/// `GET /staff/audit` (admin).
pub async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Query(q): Query<BeforeQuery>,
) -> Response {
    match state.app.admin().audit_page(&s.actor, q.before).await {
        Ok(rows) => {
            let next_before = (rows.len() == 100)
                .then(|| rows.last().map(|r| r.seq))
                .flatten();
            let names = state
                .app
                .admin()
                .list_staff(app::authz::Operator::Staff(&s.actor))
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|m| (format!("staff:{}", m.id), m.username))
                .collect();
            render(&AuditPage {
                l: staff_layout(&state, &ctx, Some(&s.actor), "审计日志", "staff"),
                nav: nav_for(&s.actor),
                rows,
                next_before,
                names,
            })
        }
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

#[derive(Template)]
#[template(path = "staff/outbox.html")]
struct OutboxPage {
    l: Layout,
    nav: Vec<Nav>,
    rows: Vec<OutboxSms>,
}

impl OutboxPage {
    fn fmt_time(&self, ms: &i64) -> String {
        app::clock::format_beijing(*ms)
    }
    fn fmt_opt(&self, ms: &Option<i64>) -> String {
        ms.map(app::clock::format_beijing)
            .unwrap_or_else(|| "-".into())
    }
}

/// `GET /staff/outbox`: every SMS with template, masked recipient and result; never the text,
/// which may hold a code or PIN.
pub async fn outbox(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    match state.app.admin().outbox(&s.actor).await {
        Ok(rows) => render(&OutboxPage {
            l: staff_layout(&state, &ctx, Some(&s.actor), "短信记录", "staff"),
            nav: nav_for(&s.actor),
            rows,
        }),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

#[derive(Template)]
#[template(path = "staff/jobs.html")]
struct JobsPage {
    l: Layout,
    nav: Vec<Nav>,
    rows: Vec<Job>,
    filter: String,
}

impl JobsPage {
    fn fmt_time(&self, ms: &i64) -> String {
        app::clock::format_beijing(*ms)
    }
}

/// `GET /staff/jobs` (admin).
pub async fn jobs(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Query(q): Query<BeforeQuery>,
) -> Response {
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(JobStatus::parse);
    match state.app.admin().jobs(&s.actor, status).await {
        Ok(rows) => render(&JobsPage {
            l: staff_layout(&state, &ctx, Some(&s.actor), "后台任务", "staff"),
            nav: nav_for(&s.actor),
            rows,
            filter: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        }),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

/// `POST /staff/jobs/{id}/retry` (admin).
pub async fn retry_job(
    State(state): State<AppState>,
    ctx: Ctx,
    s: PageStaff,
    Path(id): Path<i64>,
) -> Response {
    match state.app.admin().retry_job(&s.actor, id).await {
        Ok(()) => Redirect::to("/staff/jobs").into_response(),
        Err(e) => fail(&state, &ctx, &s.actor, e),
    }
}

#[derive(Template)]
#[template(path = "staff/catalogue.html")]
struct CataloguePage {
    l: Layout,
    nav: Vec<Nav>,
    c: std::sync::Arc<domain::Catalogue>,
}

impl CataloguePage {
    fn price(&self, p: &domain::catalogue::Project, t: &domain::CertType) -> String {
        p.price_per_year(*t)
            .map(|m| m.yuan_string())
            .unwrap_or_default()
    }
    fn seal_price(&self, p: &domain::catalogue::Project) -> String {
        domain::Money::from_fen(p.seal_price_fen).yuan_string()
    }
}

/// `GET /staff/catalogue`: the projects, prices and agreement in force (read-only; the
/// catalogue is public information, so every staff role may read it).
pub async fn catalogue(State(state): State<AppState>, ctx: Ctx, s: PageStaff) -> Response {
    render(&CataloguePage {
        l: staff_layout(&state, &ctx, Some(&s.actor), "业务目录", "staff"),
        nav: nav_for(&s.actor),
        c: state.app.catalogue().clone(),
    })
}
