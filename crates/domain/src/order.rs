//! 证书新办 业务单: the draft an applicant builds step by step, its form (B4) parsed by the
//! field parsers, the price, and the state machine the server enforces. Pure: times and the
//! client address are handed in.

use crate::catalogue::{Catalogue, CertType, Project};
use crate::{
    Address, BankAccount, BankName, Date, Email, IdNumber, JobTitle, Money, PersonName, Phone,
    TaxNumber, UnitName,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Most 机构个人证书 one order may hold.
pub const MAX_PERSONS: usize = 20;

/// The wizard steps, in the order the hall shows and enforces them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// 电子认证服务协议.
    Agreement = 1,
    /// 选择应用: project, 办理指南, 已知悉, sub-option.
    Application = 2,
    /// 录入信息.
    Data = 3,
    /// 预览申请信息 and 《单位授权委托书》.
    Preview = 4,
    /// 上传资料, then submission.
    Uploads = 5,
}

impl Step {
    /// Its number as the applicant counts the steps (第N步).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Its title as the wizard shows it.
    pub fn title(self) -> &'static str {
        match self {
            Step::Agreement => "电子认证服务协议",
            Step::Application => "选择应用",
            Step::Data => "录入信息",
            Step::Preview => "预览申请信息",
            Step::Uploads => "上传资料",
        }
    }
}

/// State of an order. The whole life of a 证书新办 order, in the guide's order:
///
/// ```text
/// draft ─submit→ pending_verification ─identity passed→ pending_payment
///   pending_payment ─bank transfer voucher uploaded→ in_review   (review waits for the match)
///   pending_payment ─online payment credited→ pending_financial ─micro-deposit code→ in_review
/// in_review ─approve→ approved ─certificates issued→ issued ─key posted→ shipped ─invoice→ completed
/// in_review ─reject→ rejected ─handler edits and resubmits→ in_review
/// draft | pending_verification | pending_payment | rejected ─cancel→ cancelled
/// ```
///
/// 金融认证 (D4/D5) is a flag beside the state, kept by the payment use cases: a bank
/// transfer's matched payer account or the micro-deposit code passes it; finance may fail it
/// later (FAQ 六), which holds the PINs without stopping review. Each use case checks its
/// transition with [`OrderState::may_move`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Being filled in by the applicant.
    Draft,
    /// Materials submitted; the handler's identity check comes next (待认证).
    PendingVerification,
    /// Identity passed; waiting for the payment (待支付).
    PendingPayment,
    /// Paid online; waiting for the micro-deposit code (待金融认证).
    PendingFinancial,
    /// Waiting for (or under) review by CA staff (待审核).
    InReview,
    /// Rejected by a reviewer; the handler may edit and resubmit (已驳回).
    Rejected,
    /// Approved; certificates to be made (待制证).
    Approved,
    /// Certificates issued; the USB key is to be posted (待邮寄).
    Issued,
    /// Posted (已邮寄).
    Shipped,
    /// Done: delivered and invoiced (已完成).
    Completed,
    /// Cancelled (已取消).
    Cancelled,
}

impl OrderState {
    /// Every state, in life order.
    pub const ALL: [OrderState; 11] = [
        Self::Draft,
        Self::PendingVerification,
        Self::PendingPayment,
        Self::PendingFinancial,
        Self::InReview,
        Self::Rejected,
        Self::Approved,
        Self::Issued,
        Self::Shipped,
        Self::Completed,
        Self::Cancelled,
    ];

    /// Stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingVerification => "pending_verification",
            Self::PendingPayment => "pending_payment",
            Self::PendingFinancial => "pending_financial",
            Self::InReview => "in_review",
            Self::Rejected => "rejected",
            Self::Approved => "approved",
            Self::Issued => "issued",
            Self::Shipped => "shipped",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
    /// The label shown to the applicant.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::PendingVerification => "待认证",
            Self::PendingPayment => "待支付",
            Self::PendingFinancial => "待金融认证",
            Self::InReview => "待审核",
            Self::Rejected => "已驳回",
            Self::Approved => "待制证",
            Self::Issued => "待邮寄",
            Self::Shipped => "已邮寄",
            Self::Completed => "已完成",
            Self::Cancelled => "已取消",
        }
    }
    /// Whether a use case may move an order from `self` to `to`.
    pub fn may_move(self, to: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, to),
            (Draft, PendingVerification)
                | (PendingVerification, PendingPayment)
                | (PendingPayment, InReview)
                | (PendingPayment, PendingFinancial)
                | (PendingFinancial, InReview)
                | (InReview, Approved)
                | (InReview, Rejected)
                | (Rejected, InReview)
                | (Approved, Issued)
                | (Issued, Shipped)
                | (Shipped, Completed)
                | (
                    Draft
                        | PendingVerification
                        | PendingPayment
                        | PendingFinancial
                        | InReview
                        | Rejected,
                    Cancelled
                )
        )
    }
    /// Whether the order is finished (nothing more happens to it).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }
}

/// 金融认证 of an order (D4, D5): passed by the matched payer account of a bank transfer or
/// by the micro-deposit code; failed by finance (FAQ 六). PINs are held until it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinState {
    /// Not decided yet.
    Pending,
    /// Passed.
    Passed,
    /// Failed; the handler re-fills 金融认证信息.
    Failed,
}

impl FinState {
    /// Stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Passed => "passed",
            Self::Failed => "failed",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Passed, Self::Failed]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
    /// The label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待认证",
            Self::Passed => "已通过",
            Self::Failed => "未通过",
        }
    }
}

/// Why a step was refused; `Display` is the message for the applicant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The agreement box was not ticked.
    #[error("请勾选“我同意并接受《隐私保护》”后再进入下一步")]
    NotAgreed,
    /// A later step was tried before the agreement.
    #[error("请先阅读并同意电子认证服务协议")]
    NeedAgreement,
    /// 已知悉 was not confirmed.
    #[error("请阅读办理指南并点击“已知悉”")]
    NotAcknowledged,
    /// No or an unknown project.
    #[error("请选择办理的项目")]
    UnknownProject,
    /// No or an unknown sub-option.
    #[error("请选择项目下的平台")]
    UnknownOption,
    /// A later step was tried before choosing the application.
    #[error("请先完成“选择应用”")]
    NeedApplication,
    /// A later step was tried before the form was saved valid.
    #[error("请先完成“录入信息”")]
    NeedData,
    /// Uploads or submission before the preview was confirmed.
    #[error("请先完成“预览申请信息”并打印授权委托书")]
    NeedPreview,
    /// Submission with a file missing.
    #[error("请上传{0}")]
    MissingUpload(String),
    /// An upload kind the order does not need.
    #[error("此业务单无需上传该资料")]
    UnknownUpload,
    /// The order is no longer a draft.
    #[error("业务单已{0},不能再修改")]
    Closed(&'static str),
}

/// One 机构个人证书 holder as typed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonInput {
    /// 申请人姓名.
    pub name: String,
    /// 申请人身份证号码.
    pub id_number: String,
    /// 申请人手机号码.
    pub phone: String,
    /// 办理年限.
    pub years: String,
}

/// The 录入信息 form as typed (every field a string, so a form can be shown again exactly).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormInput {
    /// 机构证书 chosen.
    pub org_cert: bool,
    /// 机构证书 办理年限.
    pub org_years: String,
    /// 是否办理电子印章: "yes" / "no".
    pub seal: String,
    /// 单位名称.
    pub unit_name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// 单位地址.
    pub unit_address: String,
    /// 法人姓名.
    pub legal_name: String,
    /// 法人身份证号码.
    pub legal_id: String,
    /// 法人手机号码.
    pub legal_phone: String,
    /// 单位经办人姓名.
    pub handler_name: String,
    /// 经办人身份证号码.
    pub handler_id: String,
    /// 经办人移动电话.
    pub handler_phone: String,
    /// 常用联系邮箱.
    pub handler_email: String,
    /// 职务.
    pub handler_title: String,
    /// 开户名.
    pub bank_account_name: String,
    /// 开户银行.
    pub bank_name: String,
    /// 银行账号.
    pub bank_account: String,
    /// 申请人信息, one per 机构个人证书.
    pub persons: Vec<PersonInput>,
    /// 收件人.
    pub mail_recipient: String,
    /// 收件人电话.
    pub mail_phone: String,
    /// 收件地址.
    pub mail_address: String,
    /// 发票抬头.
    pub invoice_title: String,
    /// 纳税人识别号.
    pub invoice_tax_no: String,
    /// 发票接收邮箱.
    pub invoice_email: String,
}

impl fmt::Debug for FormInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FormInput(persons={}, ..)", self.persons.len())
    }
}

impl fmt::Debug for PersonInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonInput(..)")
    }
}

/// The single-valued fields of the form: (name, label, required). Person fields are
/// `persons.{i}.name`, `persons.{i}.id_number`, `persons.{i}.phone`, `persons.{i}.years`.
pub const FIELDS: &[(&str, &str)] = &[
    ("org_years", "机构证书办理年限"),
    ("seal", "是否办理电子印章"),
    ("unit_name", "单位名称"),
    ("credit_code", "统一社会信用代码"),
    ("unit_address", "单位地址"),
    ("legal_name", "法人姓名"),
    ("legal_id", "法人身份证号码"),
    ("legal_phone", "法人手机号码"),
    ("handler_name", "单位经办人姓名"),
    ("handler_id", "身份证号码"),
    ("handler_phone", "移动电话"),
    ("handler_email", "常用联系邮箱"),
    ("handler_title", "职务"),
    ("bank_account_name", "开户名"),
    ("bank_name", "开户银行"),
    ("bank_account", "银行账号"),
    ("mail_recipient", "收件人"),
    ("mail_phone", "收件人电话"),
    ("mail_address", "收件地址"),
    ("invoice_title", "发票抬头"),
    ("invoice_tax_no", "纳税人识别号"),
    ("invoice_email", "发票接收邮箱"),
];

impl FormInput {
    /// The typed value of a single-valued field or of `persons.{i}.{field}`; "" if unknown.
    pub fn get(&self, name: &str) -> &str {
        if let Some(rest) = name.strip_prefix("persons.") {
            let mut it = rest.splitn(2, '.');
            let i: Option<usize> = it.next().and_then(|i| i.parse().ok());
            let Some(p) = i.and_then(|i| self.persons.get(i)) else {
                return "";
            };
            return match it.next() {
                Some("name") => &p.name,
                Some("id_number") => &p.id_number,
                Some("phone") => &p.phone,
                Some("years") => &p.years,
                _ => "",
            };
        }
        match name {
            "org_years" => &self.org_years,
            "seal" => &self.seal,
            "unit_name" => &self.unit_name,
            "credit_code" => &self.credit_code,
            "unit_address" => &self.unit_address,
            "legal_name" => &self.legal_name,
            "legal_id" => &self.legal_id,
            "legal_phone" => &self.legal_phone,
            "handler_name" => &self.handler_name,
            "handler_id" => &self.handler_id,
            "handler_phone" => &self.handler_phone,
            "handler_email" => &self.handler_email,
            "handler_title" => &self.handler_title,
            "bank_account_name" => &self.bank_account_name,
            "bank_name" => &self.bank_name,
            "bank_account" => &self.bank_account,
            "mail_recipient" => &self.mail_recipient,
            "mail_phone" => &self.mail_phone,
            "mail_address" => &self.mail_address,
            "invoice_title" => &self.invoice_title,
            "invoice_tax_no" => &self.invoice_tax_no,
            "invoice_email" => &self.invoice_email,
            _ => "",
        }
    }

    /// Sets a field by name (the inverse of [`FormInput::get`]); person rows are created up
    /// to [`MAX_PERSONS`]. Unknown names are ignored. Used to read forms with person rows.
    pub fn set(&mut self, name: &str, value: String) {
        if let Some(rest) = name.strip_prefix("persons.") {
            let mut it = rest.splitn(2, '.');
            let Some(i) = it.next().and_then(|i| i.parse::<usize>().ok()) else {
                return;
            };
            if i >= MAX_PERSONS {
                return;
            }
            while self.persons.len() <= i {
                self.persons.push(PersonInput::default());
            }
            let p = &mut self.persons[i];
            match it.next() {
                Some("name") => p.name = value,
                Some("id_number") => p.id_number = value,
                Some("phone") => p.phone = value,
                Some("years") => p.years = value,
                _ => {}
            }
            return;
        }
        let slot = match name {
            "org_cert" => {
                self.org_cert = matches!(value.as_str(), "1" | "true" | "on" | "yes");
                return;
            }
            "org_years" => &mut self.org_years,
            "seal" => &mut self.seal,
            "unit_name" => &mut self.unit_name,
            "credit_code" => &mut self.credit_code,
            "unit_address" => &mut self.unit_address,
            "legal_name" => &mut self.legal_name,
            "legal_id" => &mut self.legal_id,
            "legal_phone" => &mut self.legal_phone,
            "handler_name" => &mut self.handler_name,
            "handler_id" => &mut self.handler_id,
            "handler_phone" => &mut self.handler_phone,
            "handler_email" => &mut self.handler_email,
            "handler_title" => &mut self.handler_title,
            "bank_account_name" => &mut self.bank_account_name,
            "bank_name" => &mut self.bank_name,
            "bank_account" => &mut self.bank_account,
            "mail_recipient" => &mut self.mail_recipient,
            "mail_phone" => &mut self.mail_phone,
            "mail_address" => &mut self.mail_address,
            "invoice_title" => &mut self.invoice_title,
            "invoice_tax_no" => &mut self.invoice_tax_no,
            "invoice_email" => &mut self.invoice_email,
            _ => return,
        };
        *slot = value;
    }

    /// Parses every field; on failure, a Chinese message per field name.
    pub fn parse(&self, project: &Project, today: Date) -> Result<Application, FieldErrors> {
        let mut errs = FieldErrors::default();
        macro_rules! field {
            ($name:literal, $e:expr) => {
                match $e {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errs.add($name, e.to_string());
                        None
                    }
                }
            };
        }
        if self.persons.len() > MAX_PERSONS {
            errs.add(
                "persons",
                format!("一次最多办理{MAX_PERSONS}张机构个人证书"),
            );
        }
        if !self.org_cert && self.persons.is_empty() {
            errs.add(
                "org_cert",
                "请至少选择一张证书:机构证书或机构个人证书".into(),
            );
        }
        if self.org_cert && !project.allows(CertType::Org) {
            errs.add("org_cert", "该项目不办理机构证书".into());
        }
        if !self.persons.is_empty() && !project.allows(CertType::OrgPerson) {
            errs.add("persons", "该项目不办理机构个人证书".into());
        }
        let org_years = if self.org_cert {
            field!("org_years", parse_years(&self.org_years))
        } else {
            Some(0)
        };
        let seal = match self.seal.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => {
                errs.add("seal", "请选择是否办理电子印章".into());
                None
            }
        };
        let unit_name = field!("unit_name", UnitName::parse(&self.unit_name));
        let credit_code = field!("credit_code", crate::CreditCode::parse(&self.credit_code));
        let unit_address = field!("unit_address", Address::parse(&self.unit_address));
        let legal_name = field!("legal_name", PersonName::parse(&self.legal_name));
        let legal_id = field!("legal_id", IdNumber::parse(&self.legal_id, today));
        let legal_phone = field!("legal_phone", Phone::parse(&self.legal_phone));
        let handler_name = field!("handler_name", PersonName::parse(&self.handler_name));
        let handler_id = field!("handler_id", IdNumber::parse(&self.handler_id, today));
        let handler_phone = field!("handler_phone", Phone::parse(&self.handler_phone));
        let handler_email = field!("handler_email", Email::parse(&self.handler_email));
        let handler_title = field!("handler_title", JobTitle::parse(&self.handler_title));
        let bank_account_name = field!(
            "bank_account_name",
            UnitName::parse(&self.bank_account_name)
        );
        let bank_name = field!("bank_name", BankName::parse(&self.bank_name));
        let bank_account = field!("bank_account", BankAccount::parse(&self.bank_account));
        let mail_recipient = field!("mail_recipient", PersonName::parse(&self.mail_recipient));
        let mail_phone = field!("mail_phone", Phone::parse(&self.mail_phone));
        let mail_address = field!("mail_address", Address::parse(&self.mail_address));
        let invoice_title = field!("invoice_title", UnitName::parse(&self.invoice_title));
        let invoice_tax_no = field!("invoice_tax_no", TaxNumber::parse(&self.invoice_tax_no));
        let invoice_email = field!("invoice_email", Email::parse(&self.invoice_email));
        if let (Some(a), Some(u)) = (&bank_account_name, &unit_name) {
            if a.as_str() != u.as_str() {
                errs.add(
                    "bank_account_name",
                    "开户名须与单位名称一致(金融认证向单位对公账户打款)".into(),
                );
            }
        }
        let mut persons = Vec::new();
        for (i, p) in self.persons.iter().enumerate() {
            let mut one = |what: &str, r: Result<(), String>| {
                if let Err(m) = r {
                    errs.add_owned(format!("persons.{i}.{what}"), m);
                }
            };
            let name = PersonName::parse(&p.name);
            let id = IdNumber::parse(&p.id_number, today);
            let phone = Phone::parse(&p.phone);
            let years = parse_years(&p.years);
            one("name", name.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            one(
                "id_number",
                id.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
            one(
                "phone",
                phone.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
            one(
                "years",
                years.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
            if let (Ok(name), Ok(id_number), Ok(phone), Ok(years)) = (name, id, phone, years) {
                persons.push(Applicant {
                    name,
                    id_number,
                    phone,
                    years,
                });
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let missing = || FieldErrors::one("form", "申请信息不完整");
        Ok(Application {
            org_years: org_years.filter(|y| *y > 0),
            seal: seal.ok_or_else(missing)?,
            unit_name: unit_name.ok_or_else(missing)?,
            credit_code: credit_code.ok_or_else(missing)?,
            unit_address: unit_address.ok_or_else(missing)?,
            legal_name: legal_name.ok_or_else(missing)?,
            legal_id: legal_id.ok_or_else(missing)?,
            legal_phone: legal_phone.ok_or_else(missing)?,
            handler_name: handler_name.ok_or_else(missing)?,
            handler_id: handler_id.ok_or_else(missing)?,
            handler_phone: handler_phone.ok_or_else(missing)?,
            handler_email: handler_email.ok_or_else(missing)?,
            handler_title: handler_title.ok_or_else(missing)?,
            bank_account_name: bank_account_name.ok_or_else(missing)?,
            bank_name: bank_name.ok_or_else(missing)?,
            bank_account: bank_account.ok_or_else(missing)?,
            persons,
            mail_recipient: mail_recipient.ok_or_else(missing)?,
            mail_phone: mail_phone.ok_or_else(missing)?,
            mail_address: mail_address.ok_or_else(missing)?,
            invoice_title: invoice_title.ok_or_else(missing)?,
            invoice_tax_no: invoice_tax_no.ok_or_else(missing)?,
            invoice_email: invoice_email.ok_or_else(missing)?,
        })
    }
}

/// Why 办理年限 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("请选择办理年限(1-5年)")]
pub struct YearsError;

fn parse_years(s: &str) -> Result<u8, YearsError> {
    match s.trim().parse::<u8>() {
        Ok(y @ 1..=5) => Ok(y),
        _ => Err(YearsError),
    }
}

/// Messages by field name, in form order of discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    fn one(field: &str, msg: &str) -> Self {
        let mut e = Self::default();
        e.add(field, msg.into());
        e
    }
    fn add(&mut self, field: &str, msg: String) {
        self.0.entry(field.into()).or_insert(msg);
    }
    fn add_owned(&mut self, field: String, msg: String) {
        self.0.entry(field).or_insert(msg);
    }
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One 机构个人证书 holder, parsed.
#[derive(Clone, Debug)]
pub struct Applicant {
    /// 姓名.
    pub name: PersonName,
    /// 身份证号码.
    pub id_number: IdNumber,
    /// 手机号码.
    pub phone: Phone,
    /// 办理年限.
    pub years: u8,
}

/// The form, every field parsed: what a valid application holds.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct Application {
    /// 机构证书 years, if ordered.
    pub org_years: Option<u8>,
    /// 是否办理电子印章.
    pub seal: bool,
    pub unit_name: UnitName,
    pub credit_code: crate::CreditCode,
    pub unit_address: Address,
    pub legal_name: PersonName,
    pub legal_id: IdNumber,
    pub legal_phone: Phone,
    pub handler_name: PersonName,
    pub handler_id: IdNumber,
    pub handler_phone: Phone,
    pub handler_email: Email,
    pub handler_title: JobTitle,
    pub bank_account_name: UnitName,
    pub bank_name: BankName,
    pub bank_account: BankAccount,
    pub persons: Vec<Applicant>,
    pub mail_recipient: PersonName,
    pub mail_phone: Phone,
    pub mail_address: Address,
    pub invoice_title: UnitName,
    pub invoice_tax_no: TaxNumber,
    pub invoice_email: Email,
}

/// One priced line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceLine {
    /// What (机构证书, 机构个人证书 - 张三, 电子印章).
    pub label: String,
    /// Years (0 for the seal).
    pub years: u8,
    /// Amount.
    pub amount: Money,
}

impl Application {
    /// The certificate lines: (type, years), 机构证书 first.
    pub fn cert_lines(&self) -> Vec<(CertType, u8)> {
        let mut v = Vec::new();
        if let Some(y) = self.org_years {
            v.push((CertType::Org, y));
        }
        for p in &self.persons {
            v.push((CertType::OrgPerson, p.years));
        }
        v
    }

    /// Priced lines and the total.
    pub fn price(&self, project: &Project) -> Result<(Vec<PriceLine>, Money), crate::MoneyError> {
        let mut lines = Vec::new();
        let per = |t: CertType| project.price_per_year(t).unwrap_or(Money::ZERO);
        if let Some(y) = self.org_years {
            lines.push(PriceLine {
                label: CertType::Org.label().into(),
                years: y,
                amount: per(CertType::Org).checked_mul(i64::from(y))?,
            });
        }
        for p in &self.persons {
            lines.push(PriceLine {
                label: format!("{}({})", CertType::OrgPerson.label(), p.name.as_str()),
                years: p.years,
                amount: per(CertType::OrgPerson).checked_mul(i64::from(p.years))?,
            });
        }
        if self.seal {
            lines.push(PriceLine {
                label: "电子印章".into(),
                years: 0,
                amount: Money::from_fen(project.seal_price_fen),
            });
        }
        let total = Money::checked_sum(lines.iter().map(|l| l.amount))?;
        Ok((lines, total))
    }
}

/// The recorded acceptance of the service agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// Agreement version.
    pub version: String,
    /// When (Unix ms).
    pub at: i64,
    /// From which client address.
    pub ip: String,
}

/// An uploaded file as the draft refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRef {
    /// Blob id in the blob store.
    pub blob: String,
    /// `image/jpeg`, `image/png` or `application/pdf` (decided by content).
    pub mime: String,
    /// Size after re-encoding.
    pub size: u64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: String,
    /// When (Unix ms).
    pub at: i64,
}

/// The draft: everything the wizard has recorded. Stored sealed (it holds personal data).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    /// Number of steps completed (0..=5, see [`Step`]).
    pub progress: u8,
    /// Agreement acceptance.
    pub agreement: Option<Acceptance>,
    /// Chosen project code.
    pub project: Option<String>,
    /// Chosen sub-option code.
    pub option: Option<String>,
    /// The 录入信息 form last saved valid.
    pub form: FormInput,
    /// Uploads by kind (see [`Draft::required_uploads`]).
    pub uploads: BTreeMap<String, UploadRef>,
}

impl Draft {
    /// Whether `step` may be done now (every earlier step is complete).
    pub fn can_do(&self, step: Step) -> Result<(), StepError> {
        let need = step as u8 - 1;
        if self.progress >= need {
            return Ok(());
        }
        Err(match self.progress {
            0 => StepError::NeedAgreement,
            1 => StepError::NeedApplication,
            2 => StepError::NeedData,
            _ => StepError::NeedPreview,
        })
    }

    /// The first step not yet completed (where "continue" leads).
    pub fn next_step(&self) -> Step {
        match self.progress {
            0 => Step::Agreement,
            1 => Step::Application,
            2 => Step::Data,
            3 => Step::Preview,
            _ => Step::Uploads,
        }
    }

    /// Step 1: the box "我同意并接受《隐私保护》" ticked.
    pub fn accept_agreement(
        &mut self,
        agreed: bool,
        version: &str,
        at: i64,
        ip: &str,
    ) -> Result<(), StepError> {
        if !agreed {
            return Err(StepError::NotAgreed);
        }
        self.agreement = Some(Acceptance {
            version: version.into(),
            at,
            ip: ip.into(),
        });
        self.progress = self.progress.max(1);
        Ok(())
    }

    /// Step 2: project, 已知悉, sub-option.
    pub fn choose_application(
        &mut self,
        catalogue: &Catalogue,
        project: &str,
        option: &str,
        acknowledged: bool,
    ) -> Result<(), StepError> {
        self.can_do(Step::Application)?;
        let p = catalogue
            .project(project)
            .ok_or(StepError::UnknownProject)?;
        if !acknowledged {
            return Err(StepError::NotAcknowledged);
        }
        let o = p.option(option).ok_or(StepError::UnknownOption)?;
        let changed = self.project.as_deref() != Some(p.code.as_str());
        self.project = Some(p.code.clone());
        self.option = Some(o.code.clone());
        self.progress = if changed { 2 } else { self.progress.max(2) };
        Ok(())
    }

    /// The chosen project.
    pub fn project<'c>(&self, catalogue: &'c Catalogue) -> Option<&'c Project> {
        self.project.as_deref().and_then(|c| catalogue.project(c))
    }

    /// Step 3: the form. A valid form is saved and the preview must be confirmed again;
    /// an invalid one changes nothing.
    pub fn save_form(
        &mut self,
        catalogue: &Catalogue,
        form: FormInput,
        today: Date,
    ) -> Result<Result<Application, FieldErrors>, StepError> {
        self.can_do(Step::Data)?;
        let project = self.project(catalogue).ok_or(StepError::NeedApplication)?;
        match form.parse(project, today) {
            Ok(app) => {
                // An ID copy belongs to the person in its row: when a row now holds someone
                // else (a row removed above it, or the number changed), its upload goes.
                for (i, old) in self.form.persons.iter().enumerate() {
                    let same = form.persons.get(i).is_some_and(|p| same_person(p, old));
                    if !same {
                        self.uploads.remove(&format!("person_id_{i}"));
                    }
                }
                self.form = form;
                self.progress = 3;
                // Person rows may have shrunk: drop their uploads.
                let keep: Vec<String> = self
                    .required_uploads()
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                self.uploads.retain(|k, _| keep.contains(k));
                Ok(Ok(app))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// The saved application, parsed again (valid once step 3 is done).
    pub fn application(
        &self,
        catalogue: &Catalogue,
        today: Date,
    ) -> Result<Application, StepError> {
        if self.progress < 3 {
            return Err(StepError::NeedData);
        }
        let project = self.project(catalogue).ok_or(StepError::NeedApplication)?;
        self.form
            .parse(project, today)
            .map_err(|_| StepError::NeedData)
    }

    /// Step 4: 预览申请信息 confirmed (the letter is now generated and printable).
    pub fn confirm_preview(&mut self) -> Result<(), StepError> {
        self.can_do(Step::Preview)?;
        self.progress = self.progress.max(4);
        Ok(())
    }

    /// The files this order needs: (kind, label).
    pub fn required_uploads(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("letter".to_owned(), "授权委托书扫描件".to_owned()),
            ("license".to_owned(), "营业执照扫描件".to_owned()),
        ];
        for (i, p) in self.form.persons.iter().enumerate() {
            v.push((
                format!("person_id_{i}"),
                format!("申请人身份证复印件({})", p.name.trim()),
            ));
        }
        v.push(("seal_form".to_owned(), "《数字证书印模采集表》".to_owned()));
        v
    }

    /// Step 5: stores (or replaces) an upload; returns the replaced one.
    pub fn set_upload(
        &mut self,
        kind: &str,
        file: UploadRef,
    ) -> Result<Option<UploadRef>, StepError> {
        self.can_do(Step::Uploads)?;
        if !self.required_uploads().iter().any(|(k, _)| k == kind) {
            return Err(StepError::UnknownUpload);
        }
        Ok(self.uploads.insert(kind.to_owned(), file))
    }

    /// Checks the draft is complete for submission.
    pub fn check_submit(&self) -> Result<(), StepError> {
        self.can_do(Step::Uploads)?;
        for (k, label) in self.required_uploads() {
            if !self.uploads.contains_key(&k) {
                return Err(StepError::MissingUpload(label));
            }
        }
        Ok(())
    }
}

fn same_person(a: &PersonInput, b: &PersonInput) -> bool {
    let norm = |s: &str| s.trim().to_ascii_uppercase();
    norm(&a.id_number) == norm(&b.id_number) && a.name.trim() == b.name.trim()
}

/// Refuses changes except to a draft or to an order a reviewer rejected (已驳回: the handler
/// clicks 编辑, fixes what the reason names and resubmits).
pub fn require_editable(state: OrderState) -> Result<(), StepError> {
    match state {
        OrderState::Rejected => Ok(()),
        other => require_draft(other),
    }
}

/// Refuses any change to an order that is not a draft.
pub fn require_draft(state: OrderState) -> Result<(), StepError> {
    match state {
        OrderState::Draft => Ok(()),
        OrderState::Cancelled => Err(StepError::Closed("取消")),
        _ => Err(StepError::Closed("提交")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 11, 23).unwrap()
    }

    /// A complete, valid form with one 机构证书 and two 机构个人证书.
    pub fn valid_form() -> FormInput {
        let mut f = FormInput {
            org_cert: true,
            org_years: "2".into(),
            seal: "yes".into(),
            unit_name: "深圳市某某科技有限公司".into(),
            credit_code: "91110000600037341L".into(),
            unit_address: "广东省深圳市福田区深南大道1号".into(),
            legal_name: "李大明".into(),
            legal_id: "11010519491231002X".into(),
            legal_phone: "13900139000".into(),
            handler_name: "张小明".into(),
            handler_id: "11010519491231002X".into(),
            handler_phone: "13800138000".into(),
            handler_email: "zhangsan@qq.com".into(),
            handler_title: "财务经理".into(),
            bank_account_name: "深圳市某某科技有限公司".into(),
            bank_name: "中国工商银行深圳市分行".into(),
            bank_account: "44201500100052526093".into(),
            mail_recipient: "张小明".into(),
            mail_phone: "13800138000".into(),
            mail_address: "广东省深圳市福田区深南大道1号".into(),
            invoice_title: "深圳市某某科技有限公司".into(),
            invoice_tax_no: "91110000600037341L".into(),
            invoice_email: "zhangsan@qq.com".into(),
            persons: Vec::new(),
        };
        for n in ["王一", "赵二"] {
            f.persons.push(PersonInput {
                name: n.into(),
                id_number: "11010519491231002X".into(),
                phone: "13700137000".into(),
                years: "1".into(),
            });
        }
        f
    }

    #[test]
    fn steps_are_enforced_in_order() {
        let c = Catalogue::builtin().unwrap();
        let mut d = Draft::default();
        assert_eq!(
            d.choose_application(&c, "szjt-sm2", "szjt-platforms", true),
            Err(StepError::NeedAgreement)
        );
        assert_eq!(
            d.save_form(&c, valid_form(), today()).err(),
            Some(StepError::NeedAgreement)
        );
        assert_eq!(d.confirm_preview(), Err(StepError::NeedAgreement));
        assert_eq!(
            d.accept_agreement(false, "v", 1, "ip"),
            Err(StepError::NotAgreed)
        );
        d.accept_agreement(true, "2026.1", 5, "127.0.0.1").unwrap();
        assert_eq!(d.agreement.as_ref().unwrap().version, "2026.1");
        assert_eq!(
            d.choose_application(&c, "szjt-sm2", "szjt-platforms", false),
            Err(StepError::NotAcknowledged)
        );
        assert_eq!(
            d.choose_application(&c, "nope", "szjt-platforms", true),
            Err(StepError::UnknownProject)
        );
        assert_eq!(
            d.save_form(&c, valid_form(), today()).err(),
            Some(StepError::NeedApplication)
        );
        d.choose_application(&c, "szjt-sm2", "szjt-platforms", true)
            .unwrap();
        assert_eq!(d.confirm_preview(), Err(StepError::NeedData));
        let mut bad = valid_form();
        bad.handler_phone = "123".into();
        let errs = d.save_form(&c, bad, today()).unwrap().unwrap_err();
        assert!(errs.0.contains_key("handler_phone"));
        assert_eq!(d.progress, 2, "an invalid form changes nothing");
        assert_eq!(d.form, FormInput::default());
        d.save_form(&c, valid_form(), today()).unwrap().unwrap();
        assert_eq!(d.progress, 3);
        let upload = UploadRef {
            blob: "b".into(),
            mime: "image/png".into(),
            size: 1,
            sha256: "00".into(),
            at: 1,
        };
        assert_eq!(
            d.set_upload("letter", upload.clone()),
            Err(StepError::NeedPreview)
        );
        d.confirm_preview().unwrap();
        assert_eq!(
            d.check_submit(),
            Err(StepError::MissingUpload("授权委托书扫描件".into()))
        );
        assert_eq!(
            d.set_upload("../x", upload.clone()),
            Err(StepError::UnknownUpload)
        );
        for (k, _) in d.required_uploads() {
            d.set_upload(&k, upload.clone()).unwrap();
        }
        assert_eq!(d.required_uploads().len(), 5);
        d.check_submit().unwrap();
        // Editing the data again requires a new preview.
        d.save_form(&c, valid_form(), today()).unwrap().unwrap();
        assert_eq!(d.check_submit(), Err(StepError::NeedPreview));
        assert_eq!(d.uploads.len(), 5, "same people, same files");
        // Removing the first 申请人: the second moves up, and neither row keeps an ID copy
        // that is not theirs.
        let mut fewer = valid_form();
        fewer.persons.remove(0);
        d.save_form(&c, fewer, today()).unwrap().unwrap();
        assert!(!d.uploads.contains_key("person_id_0") && !d.uploads.contains_key("person_id_1"));
        assert_eq!(d.uploads.len(), 3);
        assert_eq!(
            require_draft(OrderState::PendingVerification),
            Err(StepError::Closed("提交"))
        );
    }

    #[test]
    fn states_round_trip_and_only_listed_moves_are_allowed() {
        for st in OrderState::ALL {
            assert_eq!(OrderState::parse(st.as_str()), Some(st));
            assert!(!st.may_move(st), "{st:?} to itself");
            assert!(!OrderState::Cancelled.may_move(st));
            assert!(!OrderState::Completed.may_move(st));
        }
        assert_eq!(OrderState::parse("paid"), None);
        assert!(OrderState::InReview.may_move(OrderState::Approved));
        assert!(!OrderState::PendingPayment.may_move(OrderState::Approved));
        // A paid order waiting for 金融认证 or review may be cancelled (then refunded by
        // finance); once approved it may not.
        assert!(OrderState::InReview.may_move(OrderState::Cancelled));
        assert!(OrderState::PendingFinancial.may_move(OrderState::Cancelled));
        assert!(!OrderState::Approved.may_move(OrderState::Cancelled));
        assert!(!OrderState::Issued.may_move(OrderState::Cancelled));
        assert!(OrderState::Rejected.may_move(OrderState::InReview));
    }

    #[test]
    fn every_field_is_parsed_and_priced() {
        let c = Catalogue::builtin().unwrap();
        let p = c.project("szjt-sm2").unwrap();
        let app = valid_form().parse(p, today()).unwrap();
        let (lines, total) = app.price(p).unwrap();
        assert_eq!(lines.len(), 4);
        // 2 years 机构证书 + 2 × 1 year 机构个人证书 + seal.
        assert_eq!(total.fen(), 2 * 50000 + 2 * 30000 + 20000);
        assert_eq!(
            app.cert_lines(),
            vec![
                (CertType::Org, 2),
                (CertType::OrgPerson, 1),
                (CertType::OrgPerson, 1)
            ]
        );

        let mut f = FormInput::default();
        let errs = f.parse(p, today()).unwrap_err();
        for (name, _) in FIELDS.iter().filter(|(n, _)| *n != "org_years") {
            assert!(errs.0.contains_key(*name), "{name} has no message");
        }
        assert!(errs.0.contains_key("org_cert"));
        f.set("persons.1.years", "9".into());
        f.set("persons.99.name", "x".into());
        assert_eq!(f.persons.len(), 2);
        let errs = f.parse(p, today()).unwrap_err();
        assert_eq!(errs.0["persons.1.years"], "请选择办理年限(1-5年)");
        assert!(errs.0.contains_key("persons.0.id_number"));

        let mut f = valid_form();
        f.legal_id = "110105194912310021".into();
        f.handler_id = "110105491231002".into();
        f.credit_code = "91110000600037341M".into();
        f.bank_account_name = "别的公司有限公司".into();
        let errs = f.parse(p, today()).unwrap_err();
        assert_eq!(errs.0.len(), 4, "{errs:?}");
        assert_eq!(f.get("credit_code"), "91110000600037341M");
        assert_eq!(f.get("persons.1.name"), "赵二");
    }
}
