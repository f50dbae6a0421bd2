//! Orders: the records, their storage port, the one door every change goes through
//! ([`door`]), and the applicant's 证书新办 use cases ([`Wizard`]): create an order, do the
//! wizard steps in the order the server enforces, upload, submit, cancel, list. An applicant
//! reaches only their own orders: anyone else's number is answered exactly like a missing
//! one ([`AppError::NotFound`]).

pub mod door;

use crate::blobs::Blobs;
use crate::clock::Millis;
use crate::payments::Billing;
use crate::ports::StoreResult;
use crate::review::Review;
use crate::uploads;
use crate::{AppError, AppResult};
use async_trait::async_trait;
use domain::order::{
    require_editable, Application, Draft, FieldErrors, FinState, FormInput, OrderState, Step,
    StepError, UploadRef,
};
use domain::{Catalogue, Date, OrderNo};
pub use door::OrderBook;
pub use door::OrderChange;
use std::sync::Arc;

/// An order as stored.
#[derive(Clone, Debug)]
pub struct OrderRecord {
    /// Row id.
    pub id: i64,
    /// 业务单号.
    pub no: OrderNo,
    /// Owner (the handler's account).
    pub user_id: i64,
    /// State.
    pub state: OrderState,
    /// Everything the wizard recorded (sealed at rest).
    pub draft: Draft,
    /// Bumped by every save; a save with an older version is refused.
    pub version: i64,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// When the payment arrived (bank transfer matched or online payment credited); set by
    /// the payment use cases only.
    pub paid_at: Option<Millis>,
    /// 金融认证; set by the payment use cases only.
    pub fin_state: FinState,
    /// Since when the order waits for review: set by the door whenever a change moves the
    /// order into `in_review` (also after a resubmission).
    pub review_since: Option<Millis>,
}

/// One entry of an order's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    /// When.
    pub at: Millis,
    /// Who: `user:ID`, `staff:ID`, `system`.
    pub actor: String,
    /// What happened, in Chinese, without personal data.
    pub what: String,
}

/// Persistence of orders. Each method is one transaction.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates an order numbered `XB` + `date` + the next sequence of that day (allocated in
    /// the same transaction, unique on every database) and records `event`.
    async fn create_order(
        &self,
        user_id: i64,
        date: Date,
        draft: &Draft,
        event: &OrderEvent,
    ) -> StoreResult<OrderRecord>;
    /// An order by number.
    async fn order_by_no(&self, no: &OrderNo) -> StoreResult<Option<OrderRecord>>;
    /// Orders of an account, newest first.
    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>>;
    /// Orders in `state`, those waiting longest for review first, then by id (the staff
    /// queues).
    async fn orders_in_state(&self, state: OrderState) -> StoreResult<Vec<OrderRecord>>;
    /// Applies a change made by the door ([`door::OrderBook`]) with its history entry and
    /// effects, if the row still has `change.version`. False if someone saved in between
    /// (nothing written). Stores that change an order together with rows of their own apply
    /// it through the same SQL in their transaction.
    async fn apply(&self, change: &OrderChange) -> StoreResult<bool>;
    /// The history of an order, oldest first.
    async fn order_events(&self, order_id: i64) -> StoreResult<Vec<OrderEvent>>;
    /// The id of every blob some record refers to: the uploads of every order's draft (in
    /// any state) and every other place a blob id is kept (identity photos…). The blob sweep
    /// deletes old files not in this set, so a store that cannot tell says so (the default)
    /// and nothing is swept.
    async fn referenced_blobs(&self) -> StoreResult<std::collections::HashSet<String>> {
        Err(crate::StoreError::Other(
            "this store cannot list the blobs it refers to".into(),
        ))
    }
}

/// What a list shows of an order.
#[derive(Clone, Debug)]
pub struct OrderSummary {
    /// 业务单号.
    pub no: OrderNo,
    /// State.
    pub state: OrderState,
    /// Unit name, if entered.
    pub unit_name: String,
    /// Where "继续办理" leads (a wizard step path segment).
    pub next: &'static str,
    /// The wizard step a draft is at (meaningless for other states).
    pub step: domain::order::Step,
    /// Created.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// Expected review date (`YYYY年M月D日`) while 待审核.
    pub expected_review: Option<String>,
    /// 金融认证 (a failed one gives the row its 金融认证 action, FAQ 六).
    pub fin_state: FinState,
}

impl OrderSummary {
    /// What 我的业务单 shows as the state: a draft says which step it is at
    /// ("草稿 · 第3步 录入信息"), any other state its label.
    pub fn status(&self) -> String {
        if self.state == OrderState::Draft {
            format!(
                "{} · 第{}步 {}",
                self.state.label(),
                self.step.number(),
                self.step.title()
            )
        } else {
            self.state.label().to_owned()
        }
    }
}

/// The result of saving the 录入信息 form.
pub type FormResult = Result<(), FieldErrors>;

fn step(e: StepError) -> AppError {
    AppError::Conflict(e.to_string())
}

/// The path segment of each wizard step.
pub fn step_path(draft: &Draft) -> &'static str {
    match draft.next_step() {
        Step::Agreement => "agreement",
        Step::Application => "application",
        Step::Data => "data",
        Step::Preview => "preview",
        Step::Uploads => "uploads",
    }
}

/// Beijing date of a time.
pub fn beijing_date(ms: Millis) -> Date {
    let days = (ms + 8 * 3_600_000).div_euclid(86_400_000);
    Date::from_days_since_epoch(days).unwrap_or(Date::MIN)
}

/// 证书新办 for the applicant: the wizard's steps, submission, cancelling, 我的业务单 and an
/// order's history. Every step's gate is decided here ([`Wizard::open_step`]); pages only show
/// what it answers.
#[derive(Clone)]
pub struct Wizard {
    pub(crate) book: OrderBook,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) billing: Billing,
    pub(crate) review: Review,
}

impl Wizard {
    fn today(&self) -> Date {
        beijing_date(self.book.now())
    }

    fn actor(user_id: i64) -> String {
        format!("user:{user_id}")
    }

    /// The projects, prices and agreement the wizard offers.
    pub fn catalogue(&self) -> &Catalogue {
        &self.book.catalogue
    }

    /// The order `no` if it belongs to `user_id`; anything else is `NotFound`.
    pub async fn my_order(&self, user_id: i64, no: &str) -> AppResult<OrderRecord> {
        self.book.mine(user_id, no).await
    }

    /// One of the applicant's orders, if `step` may be shown now: the order must be
    /// editable (a draft, or rejected and being edited) and every earlier step done. The
    /// refusal is the step's Chinese message.
    pub async fn open_step(&self, user_id: i64, no: &str, step: Step) -> AppResult<OrderRecord> {
        let o = self.my_order(user_id, no).await?;
        require_editable(o.state).map_err(self::step)?;
        o.draft.can_do(step).map_err(self::step)?;
        Ok(o)
    }

    /// 证书新办: a new order (or the applicant's untouched one, so reloading the start page
    /// does not pile up empty orders).
    pub async fn start_order(&self, user_id: i64) -> AppResult<OrderNo> {
        let mine = self.book.store.orders_of_user(user_id).await?;
        if let Some(o) = mine
            .iter()
            .find(|o| o.state == OrderState::Draft && o.draft.progress == 0)
        {
            return Ok(o.no.clone());
        }
        let rec = self
            .book
            .store
            .create_order(
                user_id,
                self.today(),
                &Draft::default(),
                &self
                    .book
                    .event(Self::actor(user_id), "创建业务单(证书新办)"),
            )
            .await?;
        Ok(rec.no)
    }

    async fn change(
        &self,
        user_id: i64,
        no: &str,
        what: String,
        f: impl FnOnce(&mut Draft) -> Result<(), StepError>,
    ) -> AppResult<()> {
        let o = self.my_order(user_id, no).await?;
        require_editable(o.state).map_err(step)?;
        let mut d = o.draft.clone();
        f(&mut d).map_err(step)?;
        self.book
            .save(
                self.book
                    .change(&o, Self::actor(user_id), what)
                    .with_draft(d),
            )
            .await
    }

    /// Step 1: the agreement box, recorded with version, time and client address.
    pub async fn accept_agreement(
        &self,
        user_id: i64,
        no: &str,
        agreed: bool,
        ip: &str,
    ) -> AppResult<()> {
        let version = self.book.catalogue.agreement.version.clone();
        let now = self.book.now();
        self.change(
            user_id,
            no,
            format!("同意《电子认证服务协议》(版本 {version})"),
            |d| d.accept_agreement(agreed, &version, now, ip),
        )
        .await
    }

    /// Step 2: project, 已知悉, sub-option.
    pub async fn choose_application(
        &self,
        user_id: i64,
        no: &str,
        project: &str,
        option: &str,
        acknowledged: bool,
    ) -> AppResult<()> {
        let name = self
            .book
            .catalogue
            .project(project)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let c = self.book.catalogue.clone();
        self.change(user_id, no, format!("选择应用:{name}"), |d| {
            d.choose_application(&c, project, option, acknowledged)
        })
        .await
    }

    /// Step 3: the form. `Ok(Err(errors))` when a field was refused (nothing saved).
    pub async fn save_form(
        &self,
        user_id: i64,
        no: &str,
        form: FormInput,
    ) -> AppResult<FormResult> {
        let o = self.my_order(user_id, no).await?;
        require_editable(o.state).map_err(step)?;
        let mut d = o.draft.clone();
        match d
            .save_form(&self.book.catalogue, form, self.today())
            .map_err(step)?
        {
            Err(errors) => Ok(Err(errors)),
            Ok(_) => {
                let c = self
                    .book
                    .change(&o, Self::actor(user_id), "保存申请信息")
                    .with_draft(d.clone());
                self.book.save(c).await?;
                // Files of 申请人 rows that are gone or now hold someone else.
                for (k, u) in &o.draft.uploads {
                    if !d.uploads.contains_key(k) {
                        let _ = self.blobs.delete(&u.blob).await;
                    }
                }
                Ok(Ok(()))
            }
        }
    }

    /// The saved application of one of the applicant's orders (for the preview and the
    /// letter), once the preview may be shown.
    pub async fn application(
        &self,
        user_id: i64,
        no: &str,
    ) -> AppResult<(OrderRecord, Application)> {
        let o = self.my_order(user_id, no).await?;
        let a = self.book.application(&o)?;
        Ok((o, a))
    }

    /// The saved application of an order already read (its owner's or a staff member's).
    pub fn application_of(&self, o: &OrderRecord) -> AppResult<Application> {
        self.book.application(o)
    }

    /// Step 4: 预览申请信息 confirmed.
    pub async fn confirm_preview(&self, user_id: i64, no: &str) -> AppResult<()> {
        self.change(
            user_id,
            no,
            "确认申请信息,生成《单位授权委托书》".into(),
            |d| d.confirm_preview(),
        )
        .await
    }

    /// Step 5: stores or replaces one file. `bytes` was limited in size while reading.
    pub async fn upload(&self, user_id: i64, no: &str, kind: &str, bytes: &[u8]) -> AppResult<()> {
        let o = self.open_step(user_id, no, Step::Uploads).await?;
        let label = o
            .draft
            .required_uploads()
            .into_iter()
            .find(|(k, _)| k == kind)
            .map(|(_, l)| l)
            .ok_or_else(|| step(StepError::UnknownUpload))?;
        let file = uploads::check("file", bytes).await?;
        let size = file.bytes.len() as u64;
        let blob = self.blobs.put(file.bytes).await?;
        let mut d = o.draft.clone();
        let upload = UploadRef {
            blob: blob.clone(),
            mime: file.mime.into(),
            size,
            sha256: file.sha256.clone(),
            at: self.book.now(),
        };
        let old = match d.set_upload(kind, upload) {
            Ok(old) => old,
            Err(e) => {
                let _ = self.blobs.delete(&blob).await;
                return Err(step(e));
            }
        };
        let what = uploads::upload_event(old.is_some(), &label, file.mime, size, &file.sha256);
        let c = self
            .book
            .change(&o, Self::actor(user_id), what)
            .with_draft(d);
        if let Err(e) = self.book.save(c).await {
            let _ = self.blobs.delete(&blob).await;
            return Err(e);
        }
        if let Some(old) = old {
            let _ = self.blobs.delete(&old.blob).await;
        }
        Ok(())
    }

    /// An uploaded file for its owner: (mime, bytes).
    pub async fn uploaded_file(
        &self,
        user_id: i64,
        no: &str,
        kind: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        let o = self.my_order(user_id, no).await?;
        let u = o.draft.uploads.get(kind).ok_or(AppError::NotFound)?;
        Ok((u.mime.clone(), self.blobs.get(&u.blob).await?))
    }

    /// Submits the materials: the order moves to 待认证 (a rejected order, edited, goes
    /// back to 待审核). Answers the state it moved to.
    pub async fn submit_order(&self, user_id: i64, no: &str) -> AppResult<OrderState> {
        let o = self.my_order(user_id, no).await?;
        require_editable(o.state).map_err(step)?;
        o.draft.check_submit().map_err(step)?;
        let mut d = o.draft.clone();
        d.progress = 5;
        let (to, what) = if o.state == OrderState::Rejected {
            (
                OrderState::InReview,
                "修改后重新提交申请资料,等待审核(待审核)",
            )
        } else {
            (
                OrderState::PendingVerification,
                "提交申请资料,等待经办人在线认证(待认证)",
            )
        };
        let c = self
            .book
            .move_to(&o, to, Self::actor(user_id), what)?
            .with_draft(d);
        self.book.save(c).await?;
        Ok(to)
    }

    /// Cancels an order: a draft, or one waiting for payment, for 金融认证 or for review,
    /// or a rejected one (see [`Billing::cancel_paid_order`]; `confirmed` is the handler's
    /// explicit confirmation, required there because money is involved).
    pub async fn cancel_order(&self, user_id: i64, no: &str, confirmed: bool) -> AppResult<()> {
        let o = self.my_order(user_id, no).await?;
        if matches!(
            o.state,
            OrderState::PendingPayment
                | OrderState::PendingFinancial
                | OrderState::InReview
                | OrderState::Rejected
        ) {
            return self.billing.cancel_paid_order(user_id, &o, confirmed).await;
        }
        require_editable(o.state).map_err(step)?;
        let c = self.book.move_to(
            &o,
            OrderState::Cancelled,
            Self::actor(user_id),
            "取消业务单",
        )?;
        self.book.save(c).await
    }

    /// 我的业务单 - 证书申请.
    pub async fn my_orders(&self, user_id: i64) -> AppResult<Vec<OrderSummary>> {
        Ok(self
            .book
            .store
            .orders_of_user(user_id)
            .await?
            .into_iter()
            .map(|o| OrderSummary {
                expected_review: match (o.state, o.review_since) {
                    (OrderState::InReview, Some(since)) => {
                        Some(beijing_date(self.review.due(since).at).zh())
                    }
                    _ => None,
                },
                unit_name: o.draft.form.get("unit_name").to_owned(),
                next: step_path(&o.draft),
                step: o.draft.next_step(),
                no: o.no,
                state: o.state,
                fin_state: o.fin_state,
                created_at: o.created_at,
                updated_at: o.updated_at,
            })
            .collect())
    }

    /// The history of one of the applicant's orders.
    pub async fn order_history(
        &self,
        user_id: i64,
        no: &str,
    ) -> AppResult<(OrderRecord, Vec<OrderEvent>)> {
        let o = self.my_order(user_id, no).await?;
        let ev = self.book.store.order_events(o.id).await?;
        Ok((o, ev))
    }
}
