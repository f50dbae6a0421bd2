//! 证书新办 业务单: the draft an applicant builds step by step, its form (B4) parsed by the
//! field parsers, the price, and the state machine the server enforces. Pure: times and the
//! client address are handed in.

use crate::catalogue::{Catalogue, Project};
use crate::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use crate::form::{
    Applicant, Application, FieldErrors, FormInput, PersonInput, PriceLine, FIELDS, MAX_PERSONS,
    PERSON_FIELDS,
};

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

/// What a use case wanted to do with an order whose state does not allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Move it to a state.
    Become(OrderState),
    /// Review it.
    Review,
    /// Verify the handler's identity.
    Verify,
    /// Issue its certificates.
    Produce,
    /// Post its key.
    Ship,
    /// Confirm delivery.
    ConfirmDelivery,
    /// Cancel it.
    Cancel,
    /// Pay for it.
    Pay,
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wanted::Become(to) => write!(f, "不能变为“{}”", to.label()),
            Wanted::Review => f.write_str("无需审核"),
            Wanted::Verify => f.write_str("无需认证"),
            Wanted::Produce => f.write_str("不能制证"),
            Wanted::Ship => f.write_str("不能邮寄"),
            Wanted::ConfirmDelivery => f.write_str("不能确认签收"),
            Wanted::Cancel => f.write_str("不能取消"),
            Wanted::Pay => f.write_str("不能缴费"),
        }
    }
}

/// The one refusal of an action the order's state does not allow; its `Display` is the
/// message for the person who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("业务单当前状态为“{}”,{wanted}", .current.label())]
pub struct WrongState {
    /// The state the order is in.
    pub current: OrderState,
    /// What was asked.
    pub wanted: Wanted,
}

impl OrderState {
    /// `Ok` if the order may move to `to` ([`OrderState::may_move`]), else the refusal.
    pub fn check_move(self, to: OrderState) -> Result<(), WrongState> {
        if self.may_move(to) {
            Ok(())
        } else {
            Err(self.refuse(Wanted::Become(to)))
        }
    }
    /// The refusal of `wanted` in this state.
    pub fn refuse(self, wanted: Wanted) -> WrongState {
        WrongState {
            current: self,
            wanted,
        }
    }
    /// `Ok` if the order is in one of `states`, else the refusal of `wanted`.
    pub fn require(self, states: &[OrderState], wanted: Wanted) -> Result<(), WrongState> {
        if states.contains(&self) {
            Ok(())
        } else {
            Err(self.refuse(wanted))
        }
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
    /// The 录入信息 form last saved valid, as typed.
    pub form: FormInput,
    /// That form parsed, when it was saved.
    pub application: Option<Application>,
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
        if changed {
            self.application = None;
        }
        self.progress = if changed { 2 } else { self.progress.max(2) };
        Ok(())
    }

    /// The chosen project.
    pub fn project<'c>(&self, catalogue: &'c Catalogue) -> Option<&'c Project> {
        self.project.as_deref().and_then(|c| catalogue.project(c))
    }

    /// Step 3: the form. A valid form is saved with its parsed [`Application`], and the
    /// preview must be confirmed again; an invalid one changes nothing.
    pub fn save_form(
        &mut self,
        catalogue: &Catalogue,
        form: FormInput,
        today: Date,
    ) -> Result<Result<Application, FieldErrors>, StepError> {
        self.can_do(Step::Data)?;
        let project = self.project(catalogue).ok_or(StepError::NeedApplication)?;
        let mut form = form;
        match form.parse(project, today) {
            Ok(app) => {
                form.normalise(&app);
                // An ID copy belongs to the person in its row: when a row now holds someone
                // else (a row removed above it, or the number changed), its upload goes.
                for i in form.changed_person_rows(&self.form) {
                    self.uploads.remove(&format!("person_id_{i}"));
                }
                self.form = form;
                self.application = Some(app.clone());
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

    /// Replaces part of a saved form (金融认证信息 re-filled after FAQ 六) if the whole form
    /// is still valid with it; the stored [`Application`] follows. Nothing changes otherwise.
    pub fn amend_form(
        &mut self,
        catalogue: &Catalogue,
        changes: &[(&str, String)],
        today: Date,
    ) -> Result<Result<Application, FieldErrors>, StepError> {
        let project = self.project(catalogue).ok_or(StepError::NeedApplication)?;
        if self.progress < 3 {
            return Err(StepError::NeedData);
        }
        let mut form = self.form.clone();
        for (k, v) in changes {
            form.set(k, v.clone());
        }
        match form.parse(project, today) {
            Ok(app) => {
                form.normalise(&app);
                self.form = form;
                self.application = Some(app.clone());
                Ok(Ok(app))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// The saved application: the one parsed when the form was saved (valid once step 3 is
    /// done). Drafts stored before applications were kept with them are parsed from their
    /// form with every rule that does not depend on the day.
    pub fn application(&self, catalogue: &Catalogue) -> Result<Application, StepError> {
        if self.progress < 3 {
            return Err(StepError::NeedData);
        }
        if let Some(a) = &self.application {
            return Ok(a.clone());
        }
        let project = self.project(catalogue).ok_or(StepError::NeedApplication)?;
        self.form
            .parse(project, Date::MAX)
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
                format!("申请人身份证复印件({})", p.get("name").trim()),
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
    use crate::CertType;

    fn today() -> Date {
        Date::new(2026, 11, 23).unwrap()
    }

    /// A complete, valid form with one 机构证书 and two 机构个人证书.
    pub fn valid_form() -> FormInput {
        let mut f = FormInput::sample(2);
        f.set("persons.1.name", "赵二".into());
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
        bad.set("handler_phone", "123".into());
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
        for field in FIELDS
            .iter()
            .filter(|f| f.only_if.is_none() && f.name != "org_cert")
        {
            assert!(
                errs.0.contains_key(field.name),
                "{} has no message",
                field.name
            );
        }
        assert!(errs.0.contains_key("org_cert"));
        f.set("persons.1.years", "9".into());
        f.set("persons.99.name", "x".into());
        assert_eq!(f.persons.len(), 2);
        let errs = f.parse(p, today()).unwrap_err();
        assert_eq!(errs.0["persons.1.years"], "请选择办理年限(1-5年)");
        assert!(errs.0.contains_key("persons.0.id_number"));

        let mut f = valid_form();
        f.set("legal_id", "110105194912310021".into());
        f.set("handler_id", "110105491231002".into());
        f.set("credit_code", "91110000600037341M".into());
        f.set("bank_account_name", "别的公司有限公司".into());
        let errs = f.parse(p, today()).unwrap_err();
        assert_eq!(errs.0.len(), 4, "{errs:?}");
        assert_eq!(f.get("credit_code"), "91110000600037341M");
        assert_eq!(f.get("persons.1.name"), "赵二");
    }

    #[test]
    fn a_saved_application_stays_valid_the_next_day_and_follows_amendments() {
        let c = Catalogue::builtin().unwrap();
        let mut d = Draft::default();
        d.accept_agreement(true, "v", 1, "ip").unwrap();
        d.choose_application(&c, "szjt-sm2", "szjt-platforms", true)
            .unwrap();
        d.save_form(&c, valid_form(), today()).unwrap().unwrap();
        let stored = d.application.clone().unwrap();
        assert_eq!(d.application(&c).unwrap().unit_name, stored.unit_name);
        let json = serde_json::to_string(&d).unwrap();
        let back: Draft = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.application(&c).unwrap().handler_id.as_str(),
            "11010519491231002X"
        );
        let mut d2 = back.clone();
        let refused = d2
            .amend_form(&c, &[("bank_account", "12".into())], today())
            .unwrap();
        assert!(refused.unwrap_err().0.contains_key("bank_account"));
        assert_eq!(d2.form.get("bank_account"), "44201500100052526093");
        d2.amend_form(&c, &[("bank_account", "6222021234567890".into())], today())
            .unwrap()
            .unwrap();
        assert_eq!(
            d2.application(&c).unwrap().bank_account.as_str(),
            "6222021234567890"
        );
        // A draft stored before applications were kept is parsed from its form.
        let mut legacy = back;
        legacy.application = None;
        assert!(legacy.application(&c).is_ok());
    }

    #[test]
    fn the_state_refusal_says_what_and_why() {
        let e = OrderState::Approved
            .check_move(OrderState::Cancelled)
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("“待制证”") && text.ends_with(",不能变为“已取消”"),
            "{text}"
        );
        let text = OrderState::Draft.refuse(Wanted::Produce).to_string();
        assert!(
            text.contains("“草稿”") && text.ends_with(",不能制证"),
            "{text}"
        );
        assert!(OrderState::InReview
            .require(&[OrderState::InReview], Wanted::Review)
            .is_ok());
    }
}
