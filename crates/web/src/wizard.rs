//! 证书新办 pages: 电子认证服务协议 → 选择应用 → 录入信息 → 预览申请信息 → 《单位授权委托书》 →
//! 上传资料 → 待认证, plus the order page with its history. Every form works without script;
//! the steps are enforced by the use cases, so a page reached by URL out of order shows the
//! step's Chinese message and changes nothing.

use crate::edge::{Ctx, Form, PageUser};
use crate::error::PageError;
use crate::pages::{render, FieldErrors, Layout};
use crate::AppState;
use app::orders::OrderRecord;
use app::AppError;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::form::{Audience, Field, Input, PERSON_FIELDS, SECTIONS};
use domain::order::{Application, Draft, FormInput, OrderState, Step, MAX_PERSONS};
use domain::Catalogue;
use serde::Deserialize;

/// One input of the 录入信息 form as a template shows it (from the form's description,
/// [`domain::form::FIELDS`]).
pub struct FieldView {
    /// Form name.
    pub name: String,
    /// Label.
    pub label: &'static str,
    /// What was typed.
    pub value: String,
    /// Message beside the field.
    pub error: String,
    /// `checkbox`, `years`, `yesno` or `line` (a one-line input of type [`Self::html_type`]).
    pub kind: &'static str,
    /// `text`, `tel`, `email`.
    pub html_type: &'static str,
    /// The browser's `maxlength`: generous (twice the field's length plus 8), so a value
    /// pasted with spaces around or between its groups, or one character too long, reaches the
    /// server whole, which trims, normalises and says what is wrong beside the field.
    pub max: usize,
    /// Long values (addresses): the input takes the whole width of its section.
    pub wide: bool,
    /// 温馨提示 under the field.
    pub hint: &'static str,
    /// Required (a checkbox, or a field required only when a box is ticked, is not marked).
    pub required: bool,
}

impl FieldView {
    /// Whether a checkbox is ticked.
    pub fn ticked(&self) -> bool {
        domain::form::is_ticked(&self.value)
    }
}

/// A titled group of fields; the repeated one is the 申请人 rows.
pub struct SectionView {
    /// Heading.
    pub title: &'static str,
    /// Note under the heading.
    pub note: &'static str,
    /// Inputs.
    pub fields: Vec<FieldView>,
    /// The 申请人 rows go here.
    pub repeated: bool,
}

/// One 申请人 row.
pub struct PersonView {
    /// Index.
    pub index: usize,
    /// Its fields.
    pub fields: Vec<FieldView>,
}

fn field_view(form: &FormInput, errors: &FieldErrors, f: &Field, name: String) -> FieldView {
    FieldView {
        value: form.get(&name).to_owned(),
        error: errors.of(&name).to_owned(),
        name,
        label: f.label,
        kind: match f.input {
            Input::Checkbox => "checkbox",
            Input::Years => "years",
            Input::YesNo => "yesno",
            _ => "line",
        },
        html_type: f.input.html_type(),
        max: f.max * 2 + 8,
        wide: f.max >= 100,
        hint: f.hint,
        required: f.input != Input::Checkbox && f.only_if.is_none(),
    }
}

fn sections(form: &FormInput, errors: &FieldErrors) -> Vec<SectionView> {
    SECTIONS
        .iter()
        .map(|sec| SectionView {
            title: sec.title,
            note: sec.note,
            repeated: sec.repeated,
            fields: if sec.repeated {
                Vec::new()
            } else {
                Field::of_section(sec.key)
                    .map(|f| field_view(form, errors, f, f.name.to_owned()))
                    .collect()
            },
        })
        .collect()
}

fn persons(form: &FormInput, errors: &FieldErrors) -> Vec<PersonView> {
    (0..form.persons.len())
        .map(|i| PersonView {
            index: i,
            fields: PERSON_FIELDS
                .iter()
                .map(|f| field_view(form, errors, f, format!("persons.{i}.{}", f.name)))
                .collect(),
        })
        .collect()
}

/// The frame of every wizard page.
pub struct WizardFrame {
    /// Layout.
    pub l: Layout,
    /// 业务单号.
    pub no: String,
    /// Which header item is current (1 选择应用 … 5 在线支付).
    pub header: u8,
    /// A message for the whole page.
    pub error: String,
}

fn frame(
    state: &AppState,
    ctx: &Ctx,
    user: &PageUser,
    no: &str,
    header: u8,
    title: &str,
) -> WizardFrame {
    WizardFrame {
        l: Layout::anonymous(state, ctx)
            .with_user(user.user.phone.masked())
            .page(title, "apply"),
        no: no.to_owned(),
        header,
        error: String::new(),
    }
}

fn page_error(state: &AppState, ctx: &Ctx, user: &PageUser, e: AppError) -> Response {
    PageError {
        layout: Layout::anonymous(state, ctx).with_user(user.user.phone.masked()),
        error: e,
    }
    .into_response()
}

fn see(path: String) -> Response {
    Redirect::to(&path).into_response()
}

fn with_status(status: StatusCode, r: Response) -> Response {
    (status, r).into_response()
}

/// Loads the order and, with `step`, has the use case check that the step may be shown now.
async fn load(
    state: &AppState,
    user: &PageUser,
    no: &str,
    step: Option<Step>,
) -> Result<OrderRecord, AppError> {
    let w = state.app.wizard();
    match step {
        Some(step) => w.open_step(user.user.id, no, step).await,
        None => w.my_order(user.user.id, no).await,
    }
}

// ---- start ----

#[derive(Template)]
#[template(path = "wizard/start.html")]
struct StartPage {
    l: Layout,
    drafts: Vec<app::orders::OrderSummary>,
}

/// `GET /apply`: 证书新办 — what to prepare, and the button that opens a new order.
pub async fn start_page(State(state): State<AppState>, ctx: Ctx, user: PageUser) -> Response {
    let drafts = match state.app.wizard().my_orders(user.user.id).await {
        Ok(v) => v
            .into_iter()
            .filter(|o| o.state == OrderState::Draft)
            .collect(),
        Err(e) => return page_error(&state, &ctx, &user, e),
    };
    render(&StartPage {
        l: Layout::anonymous(&state, &ctx)
            .with_user(user.user.phone.masked())
            .page("证书新办", "apply"),
        drafts,
    })
}

/// `POST /apply`: opens an order and goes to the agreement.
pub async fn start(State(state): State<AppState>, ctx: Ctx, user: PageUser) -> Response {
    match state.app.wizard().start_order(user.user.id).await {
        Ok(no) => see(format!("/orders/{no}/agreement")),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

// ---- step 1 ----

#[derive(Template)]
#[template(path = "wizard/agreement.html")]
struct AgreementPage {
    l: Layout,
    f: WizardFrame,
    title: String,
    text: String,
    version: String,
    agreed: bool,
}

fn agreement_page(state: &AppState, f: WizardFrame, d: &Draft) -> AgreementPage {
    let a = &state.app.catalogue().agreement;
    AgreementPage {
        l: f.l.clone(),
        f,
        title: a.title.clone(),
        text: a.text.clone(),
        version: a.version.clone(),
        agreed: d.agreement.is_some(),
    }
}

/// `GET /orders/{no}/agreement`.
pub async fn agreement(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match load(&state, &user, &no, Some(Step::Agreement)).await {
        Ok(o) => render(&agreement_page(
            &state,
            frame(&state, &ctx, &user, &no, 1, "电子认证服务协议"),
            &o.draft,
        )),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// Fields of the agreement form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AgreeForm {
    /// The box "我同意并接受《隐私保护》".
    pub agree: Option<String>,
}

/// `POST /orders/{no}/agreement`.
pub async fn agreement_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(f): Form<AgreeForm>,
) -> Response {
    match state
        .app
        .wizard()
        .accept_agreement(user.user.id, &no, f.agree.is_some(), &ctx.ip)
        .await
    {
        Ok(()) => see(format!("/orders/{no}/application")),
        Err(AppError::Conflict(msg)) => match load(&state, &user, &no, None).await {
            Ok(o) => {
                let mut fr = frame(&state, &ctx, &user, &no, 1, "电子认证服务协议");
                fr.error = msg;
                with_status(
                    StatusCode::CONFLICT,
                    render(&agreement_page(&state, fr, &o.draft)),
                )
            }
            Err(e) => page_error(&state, &ctx, &user, e),
        },
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

// ---- step 2 ----

#[derive(Template)]
#[template(path = "wizard/application.html")]
struct ApplicationPage {
    l: Layout,
    f: WizardFrame,
    catalogue: std::sync::Arc<Catalogue>,
    project: String,
    option: String,
}

/// `GET /orders/{no}/application`.
pub async fn application(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match load(&state, &user, &no, Some(Step::Application)).await {
        Ok(o) => render(&ApplicationPage {
            l: Layout::anonymous(&state, &ctx)
                .with_user(user.user.phone.masked())
                .page("选择应用", "apply"),
            f: frame(&state, &ctx, &user, &no, 1, "选择应用"),
            catalogue: state.app.catalogue().clone(),
            project: o.draft.project.clone().unwrap_or_default(),
            option: o.draft.option.clone().unwrap_or_default(),
        }),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// Fields of the 选择应用 form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ApplicationForm {
    /// Project code.
    pub project: String,
    /// Sub-option code.
    pub option: String,
    /// 已知悉: the page's button sends it.
    pub acknowledged: Option<String>,
}

/// `POST /orders/{no}/application`.
pub async fn application_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(f): Form<ApplicationForm>,
) -> Response {
    match state
        .app
        .wizard()
        .choose_application(
            user.user.id,
            &no,
            &f.project,
            &f.option,
            f.acknowledged.is_some(),
        )
        .await
    {
        Ok(()) => see(format!("/orders/{no}/data")),
        Err(AppError::Conflict(msg)) => {
            let mut fr = frame(&state, &ctx, &user, &no, 1, "选择应用");
            fr.error = msg;
            with_status(
                StatusCode::CONFLICT,
                render(&ApplicationPage {
                    l: fr.l.clone(),
                    f: fr,
                    catalogue: state.app.catalogue().clone(),
                    project: f.project,
                    option: f.option,
                }),
            )
        }
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

// ---- step 3 ----

#[derive(Template)]
#[template(path = "wizard/data.html")]
struct DataPage {
    l: Layout,
    f: WizardFrame,
    errors: FieldErrors,
    sections: Vec<SectionView>,
    persons: Vec<PersonView>,
    can_add: bool,
    prices: String,
}

fn data_page(
    state: &AppState,
    fr: WizardFrame,
    d: &Draft,
    form: &FormInput,
    errors: FieldErrors,
) -> DataPage {
    let prices = d
        .project(state.app.catalogue())
        .map(|p| {
            let mut parts: Vec<String> = p
                .cert_types
                .iter()
                .filter_map(|t| {
                    p.price_per_year(*t)
                        .map(|m| format!("{} {}/年", t.label(), m.yuan_string()))
                })
                .collect();
            parts.push(format!(
                "电子印章 {}",
                domain::Money::from_fen(p.seal_price_fen).yuan_string()
            ));
            parts.join(";")
        })
        .unwrap_or_default();
    DataPage {
        l: fr.l.clone(),
        f: fr,
        sections: sections(form, &errors),
        persons: persons(form, &errors),
        can_add: form.persons.len() < MAX_PERSONS,
        errors,
        prices,
    }
}

/// `GET /orders/{no}/data`: the form as last saved (a new order starts with one 机构证书).
pub async fn data(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match load(&state, &user, &no, Some(Step::Data)).await {
        Ok(o) => {
            let mut form = o.draft.form.clone();
            if o.draft.progress < 3 && form == FormInput::default() {
                form.set("org_cert", "1".into());
                form.set("org_years", "1".into());
            }
            render(&data_page(
                &state,
                frame(&state, &ctx, &user, &no, 2, "录入信息"),
                &o.draft,
                &form,
                FieldErrors::default(),
            ))
        }
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// Reads the 录入信息 form (person rows are `persons.{i}.{field}`) and the button pressed.
pub fn read_form(pairs: Vec<(String, String)>) -> (FormInput, String) {
    let mut form = FormInput::default();
    let mut action = String::from("save");
    for (k, v) in pairs {
        match k.as_str() {
            "action" => action = v,
            "_csrf" => {}
            _ => form.set(&k, v),
        }
    }
    (form, action)
}

/// `POST /orders/{no}/data`: 添加/删除机构个人证书 (re-shows the form, nothing saved) or
/// 保存并下一步 (saved only when every field is valid).
pub async fn data_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let o = match load(&state, &user, &no, Some(Step::Data)).await {
        Ok(o) => o,
        Err(e) => return page_error(&state, &ctx, &user, e),
    };
    let (mut form, action) = read_form(pairs);
    let fr = frame(&state, &ctx, &user, &no, 2, "录入信息");
    if action == "add_person" {
        if form.persons.len() < MAX_PERSONS {
            let mut p = domain::order::PersonInput::default();
            p.set("years", "1".into());
            form.persons.push(p);
        }
        return render(&data_page(
            &state,
            fr,
            &o.draft,
            &form,
            FieldErrors::default(),
        ));
    }
    if let Some(i) = action
        .strip_prefix("remove:")
        .and_then(|i| i.parse::<usize>().ok())
    {
        if i < form.persons.len() {
            form.persons.remove(i);
        }
        return render(&data_page(
            &state,
            fr,
            &o.draft,
            &form,
            FieldErrors::default(),
        ));
    }
    match state
        .app
        .wizard()
        .save_form(user.user.id, &no, form.clone())
        .await
    {
        Ok(Ok(())) => see(format!("/orders/{no}/preview")),
        Ok(Err(errs)) => {
            let mut fr = fr;
            fr.error = format!("有{}项信息需要修改,请查看标红的提示", errs.0.len());
            with_status(
                StatusCode::BAD_REQUEST,
                render(&data_page(&state, fr, &o.draft, &form, FieldErrors(errs.0))),
            )
        }
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

// ---- step 4: preview and letter ----

/// A label and a (masked) value of the preview.
pub struct Row {
    /// Label.
    pub label: &'static str,
    /// Value.
    pub value: String,
}

fn preview_rows(a: &Application) -> Vec<(String, Vec<Row>)> {
    let mut v = Vec::new();
    // 证书类型: what is applied for, before who for.
    let mut certs = Vec::new();
    if let Some(y) = a.org_years {
        certs.push(Row {
            label: "机构证书",
            value: format!("{}年", y.get()),
        });
    }
    for (i, p) in a.persons.iter().enumerate() {
        certs.push(Row {
            label: "机构个人证书",
            value: format!("{}年(申请人{}:{})", p.years.get(), i + 1, p.name.as_str()),
        });
    }
    certs.push(Row {
        label: "是否办理电子印章",
        value: if a.seal { "是" } else { "否" }.into(),
    });
    v.push(("证书类型".to_owned(), certs));
    for sec in SECTIONS.iter().filter(|s| s.listed) {
        if sec.repeated {
            for (i, p) in a.persons.iter().enumerate() {
                let rows = PERSON_FIELDS
                    .iter()
                    .filter_map(|f| {
                        p.shows(f.name).map(|x| Row {
                            label: f.short_label(),
                            value: f.show(x, Audience::Applicant),
                        })
                    })
                    .collect();
                v.push((format!("{}({})", sec.title, i + 1), rows));
            }
            continue;
        }
        let rows = Field::of_section(sec.key)
            .filter_map(|f| {
                a.shows(f.name).map(|x| Row {
                    label: f.label,
                    value: f.show(x, Audience::Applicant),
                })
            })
            .collect();
        v.push((sec.title.to_owned(), rows));
    }
    v
}

#[derive(Template)]
#[template(path = "wizard/preview.html")]
struct PreviewPage {
    l: Layout,
    f: WizardFrame,
    project: String,
    option: String,
    groups: Vec<(String, Vec<Row>)>,
    lines: Vec<domain::order::PriceLine>,
    total: String,
}

/// `GET /orders/{no}/preview`: everything entered, masked, with the price total.
pub async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    let r = async {
        let o = load(&state, &user, &no, Some(Step::Preview)).await?;
        let a = state.app.wizard().application_of(&o)?;
        let c = &state.app.catalogue();
        let p = o.draft.project(c).ok_or(AppError::NotFound)?;
        let (lines, total) = a.price(p).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok::<_, AppError>(PreviewPage {
            l: Layout::anonymous(&state, &ctx)
                .with_user(user.user.phone.masked())
                .page("预览申请信息", "apply"),
            f: frame(&state, &ctx, &user, &no, 3, "预览申请信息"),
            project: p.name.clone(),
            option: o
                .draft
                .option
                .as_deref()
                .and_then(|x| p.option(x))
                .map(|x| x.name.clone())
                .unwrap_or_default(),
            groups: preview_rows(&a),
            lines,
            total: total.yuan_string(),
        })
    }
    .await;
    match r {
        Ok(p) => render(&p),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// `POST /orders/{no}/preview`: 下一步 → the letter.
pub async fn preview_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match state.app.wizard().confirm_preview(user.user.id, &no).await {
        Ok(()) => see(format!("/orders/{no}/letter")),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// What the 《单位授权委托书》 shows (the guide's sample).
pub struct Letter {
    /// 委托单位.
    pub unit: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// 经办人姓名.
    pub handler: String,
    /// 身份证号.
    pub handler_id: String,
    /// 手机号码.
    pub phone: String,
    /// 电子邮箱.
    pub email: String,
    /// "机构证书_1年", one per certificate.
    pub certs: Vec<String>,
    /// 是否办理电子印章.
    pub seal: bool,
    /// 业务单号.
    pub no: String,
}

/// The items of 具体负责以下办理事项.
pub const LETTER_ITEMS: &[&str] = &[
    "签署服务协议",
    "递交申请资料",
    "缴费",
    "领取发票",
    "领取数字证书和/或电子印章(含接收密码)",
];

/// The validity clause.
pub const LETTER_VALIDITY: &str = "授权期限:自本授权委托书签署之日起至所办理的数字证书或电子印章失效之日或委托单位书面撤销授权之日止。";

/// The acknowledgement paragraph.
pub const LETTER_DECLARATION: &str = "委托单位已充分知悉上述委托授权行为的法律后果,为办理数字证书和/或电子印章服务作出上述授权。上述授权内容均是委托单位的真实意思表示。经办人以委托单位的名义办理数字证书、电子印章事宜的一切行为,申请单位均予以承认并自愿承担由此产生的法律责任。";

fn letter_of(no: &str, a: &Application) -> Letter {
    Letter {
        unit: a.unit_name.as_str().into(),
        credit_code: a.credit_code.as_str().into(),
        handler: a.handler_name.as_str().into(),
        handler_id: a.handler_id.as_str().into(),
        phone: a.handler_phone.as_str().into(),
        email: a.handler_email.as_str().into(),
        certs: a
            .cert_lines()
            .into_iter()
            .map(|(t, y)| format!("{}_{}年", t.label(), y))
            .collect(),
        seal: a.seal,
        no: no.into(),
    }
}

async fn letter_data(state: &AppState, user: &PageUser, no: &str) -> Result<Letter, AppError> {
    let o = load(state, user, no, Some(Step::Uploads)).await?;
    let a = state.app.wizard().application_of(&o)?;
    Ok(letter_of(no, &a))
}

#[derive(Template)]
#[template(path = "wizard/letter.html")]
struct LetterPage {
    l: Layout,
    f: WizardFrame,
    d: Letter,
    items: &'static [&'static str],
    validity: &'static str,
    declaration: &'static str,
}

/// `GET /orders/{no}/letter`: the 《单位授权委托书》 to print (the owner's own data, in full).
pub async fn letter(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match letter_data(&state, &user, &no).await {
        Ok(d) => render(&LetterPage {
            l: Layout::anonymous(&state, &ctx)
                .with_user(user.user.phone.masked())
                .page("单位授权委托书", "apply"),
            f: frame(&state, &ctx, &user, &no, 3, "单位授权委托书"),
            d,
            items: LETTER_ITEMS,
            validity: LETTER_VALIDITY,
            declaration: LETTER_DECLARATION,
        }),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// `GET /orders/{no}/letter.pdf`: the same letter as a PDF.
pub async fn letter_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match letter_data(&state, &user, &no).await {
        Ok(d) => pdf_response(&format!("单位授权委托书-{no}.pdf"), crate::pdf::letter(&d)),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// `GET /templates/seal-form.pdf`: the blank 《数字证书印模采集表》.
pub async fn seal_form_pdf() -> Response {
    pdf_response("数字证书印模采集表.pdf", crate::pdf::seal_form())
}

fn pdf_response(name: &str, bytes: Vec<u8>) -> Response {
    let disposition = format!(
        "attachment; filename=\"document.pdf\"; filename*=UTF-8''{}",
        crate::edge::urlencode(name)
    );
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

// ---- step 5: uploads ----

/// One required file on the uploads page.
pub struct UploadView {
    /// Kind (URL segment).
    pub kind: String,
    /// Label.
    pub label: String,
    /// Uploaded: mime, size, short hash, time.
    pub done: Option<(String, String, String)>,
    /// Message beside it.
    pub error: String,
}

#[derive(Template)]
#[template(path = "wizard/uploads.html")]
struct UploadsPage {
    l: Layout,
    f: WizardFrame,
    files: Vec<UploadView>,
    max_mb: usize,
}

fn uploads_page(state: &AppState, f: WizardFrame, d: &Draft, errors: &FieldErrors) -> UploadsPage {
    let files = d
        .required_uploads()
        .into_iter()
        .map(|(kind, label)| UploadView {
            done: d.uploads.get(&kind).map(|u| {
                (
                    match u.mime.as_str() {
                        "application/pdf" => "PDF".to_owned(),
                        "image/png" => "PNG图片".to_owned(),
                        _ => "JPG图片".to_owned(),
                    },
                    format!("{:.1}KB", u.size as f64 / 1024.0),
                    app::clock::format_beijing(u.at),
                )
            }),
            error: errors.of(&kind).to_owned(),
            kind,
            label,
        })
        .collect();
    UploadsPage {
        l: f.l.clone(),
        f,
        files,
        max_mb: max_file_bytes(state) / (1024 * 1024),
    }
}

/// Per-file limit: the upload request limit less room for the multipart framing.
pub fn max_file_bytes(state: &AppState) -> usize {
    state.cfg.max_upload_bytes.saturating_sub(64 * 1024).max(1)
}

/// `GET /orders/{no}/uploads`.
pub async fn uploads(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match load(&state, &user, &no, Some(Step::Uploads)).await {
        Ok(o) => {
            let mut fr = frame(&state, &ctx, &user, &no, 4, "上传资料");
            fr.l.csrf = ctx.csrf.clone();
            render(&uploads_page(&state, fr, &o.draft, &FieldErrors::default()))
        }
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// Reads the `file` part of a multipart body, stopping as soon as it passes `limit` bytes.
/// Returns the bytes or the message for the applicant. The file name is only checked,
/// never used.
pub async fn read_file_part(mut mp: Multipart, limit: usize) -> Result<Vec<u8>, String> {
    let too_big = || format!("文件大小不能超过{}MB", limit / (1024 * 1024));
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err("请选择要上传的文件".into()),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(_) => return Err("上传中断或内容无法识别,请重新上传".into()),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_owned();
        if name.contains('/')
            || name.contains('\\')
            || name.contains("..")
            || name.chars().any(char::is_control)
        {
            return Err("文件名不能包含路径或特殊字符,请重命名后上传".into());
        }
        let mut field = field;
        let mut buf = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    if buf.len() + c.len() > limit {
                        return Err(too_big());
                    }
                    buf.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
                Err(_) => return Err("上传中断,请重新上传".into()),
            }
        }
        check_extension(&name, &buf)?;
        return Ok(buf);
    }
}

/// A file whose name claims another type than its content is refused (the type itself is
/// decided by content).
fn check_extension(name: &str, bytes: &[u8]) -> Result<(), String> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let Some(ext) = ext else { return Ok(()) };
    let claimed = match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "pdf" => "application/pdf",
        _ => return Ok(()),
    };
    match app::uploads::sniff(bytes) {
        Some(real) if real != claimed => Err(format!(
            "文件扩展名(.{ext})与文件内容({})不符,请确认文件后重新上传",
            match real {
                "application/pdf" => "PDF",
                "image/png" => "PNG图片",
                _ => "JPG图片",
            }
        )),
        _ => Ok(()),
    }
}

/// `POST /orders/{no}/uploads/{kind}?_csrf=…`: one file, streamed with the size limit.
pub async fn upload_post(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path((no, kind)): Path<(String, String)>,
    mp: Multipart,
) -> Response {
    let o = match load(&state, &user, &no, Some(Step::Uploads)).await {
        Ok(o) => o,
        Err(e) => return page_error(&state, &ctx, &user, e),
    };
    let result = match read_file_part(mp, max_file_bytes(&state)).await {
        Ok(bytes) => {
            state
                .app
                .wizard()
                .upload(user.user.id, &no, &kind, &bytes)
                .await
        }
        Err(msg) => Err(AppError::invalid("file", msg)),
    };
    match result {
        Ok(()) => see(format!("/orders/{no}/uploads")),
        Err(AppError::Invalid { message, .. }) | Err(AppError::Conflict(message)) => {
            let mut errs = FieldErrors::default();
            errs.0.insert(kind.clone(), message.clone());
            let mut fr = frame(&state, &ctx, &user, &no, 4, "上传资料");
            fr.error = message;
            with_status(
                StatusCode::BAD_REQUEST,
                render(&uploads_page(&state, fr, &o.draft, &errs)),
            )
        }
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// `GET /orders/{no}/uploads/{kind}`: the owner's preview of an uploaded file.
pub async fn upload_get(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path((no, kind)): Path<(String, String)>,
) -> Response {
    match state
        .app
        .wizard()
        .uploaded_file(user.user.id, &no, &kind)
        .await
    {
        Ok((mime, bytes)) => crate::edge::untrusted_file(&mime, &kind, bytes),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// `POST /orders/{no}/submit`: 下一步 after the uploads; the order moves to 待认证 and the
/// handler goes straight to the identity QR page (the guide: after the uploads the PC shows
/// the QR code to scan with the phone).
pub async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
) -> Response {
    match state.app.wizard().submit_order(user.user.id, &no).await {
        // A rejected order, edited and resubmitted, goes back to review (its identity check
        // and payment stand): it lands on the order, which says so.
        Ok(OrderState::InReview) => see(format!("/orders/{no}?done=resubmitted")),
        Ok(_) => see(format!("/orders/{no}/identity")),
        Err(AppError::Conflict(msg)) => match load(&state, &user, &no, None).await {
            Ok(o) if matches!(o.state, OrderState::Draft | OrderState::Rejected) => {
                let mut fr = frame(&state, &ctx, &user, &no, 4, "上传资料");
                fr.error = msg;
                with_status(
                    StatusCode::CONFLICT,
                    render(&uploads_page(&state, fr, &o.draft, &FieldErrors::default())),
                )
            }
            Ok(_) => page_error(&state, &ctx, &user, AppError::Conflict(msg)),
            Err(e) => page_error(&state, &ctx, &user, e),
        },
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

// ---- the order page ----

#[derive(Template)]
#[template(path = "wizard/order.html")]
struct OrderPage {
    l: Layout,
    no: String,
    state: &'static str,
    is_draft: bool,
    next: &'static str,
    unit: String,
    created: String,
    events: Vec<EventView>,
    is_rejected: bool,
    progress: app::delivery::Progress,
    notice: &'static str,
}

/// Query of the order page.
#[derive(Debug, Deserialize, Default)]
pub struct OrderQuery {
    /// What was just done (`resubmitted`).
    #[serde(default)]
    pub done: Option<String>,
}

/// One line of 办理记录: when, what (for people), and the SHA-256 an upload recorded.
struct EventView {
    at: String,
    text: String,
    /// Hex digits as recorded (empty: none).
    hash: String,
}

impl EventView {
    fn of(e: app::orders::OrderEvent) -> Self {
        let (text, hash) = app::uploads::split_event_hash(&e.what);
        Self {
            at: app::clock::format_beijing(e.at),
            text,
            hash: hash.unwrap_or_default(),
        }
    }

    /// The hash as shown: its first 16 digits (the whole one is in the tooltip).
    fn short_hash(&self) -> String {
        let digits = self.hash.trim_end_matches('…');
        format!("{}…", digits.get(..16).unwrap_or(digits))
    }
}

/// `GET /orders/{no}`: state and history.
pub async fn order(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    axum::extract::Query(q): axum::extract::Query<OrderQuery>,
) -> Response {
    match state.app.delivery().order_page(user.user.id, &no).await {
        Ok((o, ev, progress)) => render(&OrderPage {
            notice: match (q.done.as_deref(), o.state) {
                (Some("resubmitted"), OrderState::InReview) => "已重新提交,等待审核",
                _ => "",
            },
            is_rejected: o.state == OrderState::Rejected,
            progress,
            l: Layout::anonymous(&state, &ctx)
                .with_user(user.user.phone.masked())
                .page(&format!("业务单 {}", o.no), "account"),
            no: o.no.to_string(),
            state: o.state.label(),
            is_draft: o.state == OrderState::Draft,
            next: app::orders::step_path(&o.draft),
            unit: o.draft.form.get("unit_name").to_owned(),
            created: app::clock::format_beijing(o.created_at),
            events: ev.into_iter().map(EventView::of).collect(),
        }),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}

/// The cancel form: `confirm=yes` is the ticked 确认取消 box (needed once money may be
/// involved: 待支付, 待金融认证, 待审核).
#[derive(Deserialize, Default)]
pub struct CancelForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /orders/{no}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    user: PageUser,
    Path(no): Path<String>,
    Form(f): Form<CancelForm>,
) -> Response {
    match state
        .app
        .wizard()
        .cancel_order(user.user.id, &no, f.confirm == "yes")
        .await
    {
        Ok(()) => see(format!("/orders/{no}")),
        Err(e) => page_error(&state, &ctx, &user, e),
    }
}
