//! 审核 (E1–E3): the review queue with its due time (three working days on the official
//! holiday calendar), claims so two reviewers cannot decide one order at once, approval
//! (only once the payment arrived), rejection with reasons from a configured list plus free
//! text, and what changed since the last rejection. Also the calendar a year's schedule is
//! loaded into at run time.

use crate::authz::{Permission, StaffActor};
use crate::clock::Millis;
use crate::desk::{Decision, OrderMove};
use crate::model::{Effects, OutgoingSms};
use crate::orders::{OrderEvent, OrderRecord};
use crate::{App, AppError, AppResult};
use domain::calendar::YearSchedule;
use domain::order::{Draft, OrderState, FIELDS};
use domain::{DateTime, Phone};

/// Beijing is UTC+8 all year.
const BEIJING: i32 = 8 * 3600;

/// The due time of a review and whether holidays were known for it.
#[derive(Debug, Clone)]
pub struct Due {
    /// When the review is due.
    pub at: Millis,
    /// Years in the period with no official schedule (weekends only were counted).
    pub missing_years: Vec<i32>,
}

/// A row of the review queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The order.
    pub order: OrderRecord,
    /// Due time.
    pub due: Option<Due>,
    /// Claimed by (staff id, since).
    pub claim: Option<(i64, Millis)>,
    /// Whether the order was resubmitted after a rejection.
    pub resubmitted: bool,
}

/// One changed field since the rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// Label.
    pub label: String,
    /// Before.
    pub before: String,
    /// After.
    pub after: String,
}

/// What changed between the draft at the last rejection and now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed fields.
    pub fields: Vec<FieldChange>,
    /// Labels of replaced (or added) files.
    pub files: Vec<String>,
}

/// The review page's data.
#[derive(Debug, Clone)]
pub struct ReviewView {
    /// The order.
    pub order: OrderRecord,
    /// History.
    pub events: Vec<OrderEvent>,
    /// Decisions so far.
    pub decisions: Vec<Decision>,
    /// Claim (staff id, since).
    pub claim: Option<(i64, Millis)>,
    /// Due time while in review.
    pub due: Option<Due>,
    /// Changes since the last rejection, if it was rejected before.
    pub changes: Option<Changes>,
}

/// Compares two drafts field by field (labels from the form) and file by file.
pub fn changes(before: &Draft, after: &Draft) -> Changes {
    let mut c = Changes::default();
    let (b, a) = (&before.form, &after.form);
    if b.org_cert != a.org_cert {
        let yn = |x: bool| if x { "是" } else { "否" }.to_owned();
        c.fields.push(FieldChange {
            label: "办理机构证书".into(),
            before: yn(b.org_cert),
            after: yn(a.org_cert),
        });
    }
    for (name, label) in FIELDS {
        if b.get(name) != a.get(name) {
            c.fields.push(FieldChange {
                label: (*label).into(),
                before: b.get(name).into(),
                after: a.get(name).into(),
            });
        }
    }
    let n = b.persons.len().max(a.persons.len());
    for i in 0..n {
        for (f, label) in [
            ("name", "姓名"),
            ("id_number", "身份证号码"),
            ("phone", "手机号码"),
            ("years", "办理年限"),
        ] {
            let key = format!("persons.{i}.{f}");
            if b.get(&key) != a.get(&key) {
                c.fields.push(FieldChange {
                    label: format!("申请人{} {label}", i + 1),
                    before: b.get(&key).into(),
                    after: a.get(&key).into(),
                });
            }
        }
    }
    for (kind, label) in after.required_uploads() {
        let old = before.uploads.get(&kind).map(|u| &u.sha256);
        let new = after.uploads.get(&kind).map(|u| &u.sha256);
        if old != new {
            c.files.push(label);
        }
    }
    c
}

fn handler_phone(d: &Draft) -> AppResult<Phone> {
    Phone::parse(d.form.handler_phone.trim())
        .map_err(|_| AppError::Conflict("业务单缺少有效的经办人手机号码".into()))
}

impl App {
    /// The due time of a review that started at `since`.
    pub fn review_due(&self, since: Millis) -> Due {
        let cal = self.desk.calendar();
        let start = DateTime::from_unix_seconds(since.div_euclid(1000), BEIJING)
            .unwrap_or_else(|| DateTime::start_of_day(domain::Date::MIN));
        let due = cal.add_working_days(start, self.desk.config.review_working_days);
        Due {
            at: due.to_unix_seconds(BEIJING) * 1000,
            missing_years: cal.missing_years(start.date(), due.date()),
        }
    }

    /// Years from this one to the next with no official schedule (the admin warning).
    pub fn calendar_missing_years(&self) -> Vec<i32> {
        let today = crate::orders::beijing_date(self.now());
        let next = today.add_days(30).unwrap_or(today);
        self.desk.calendar().missing_years(today, next)
    }

    /// 待审核: orders waiting for review, oldest first, with due time and claim.
    pub async fn review_queue(&self, actor: &StaffActor) -> AppResult<Vec<QueueItem>> {
        actor.require(Permission::ReviewOrders)?;
        let mut out = Vec::new();
        for o in self.orders.orders_in_state(OrderState::InReview).await? {
            let claim = self.desk.store.review_claim(o.id).await?;
            let resubmitted = self
                .desk
                .store
                .decisions(o.id)
                .await?
                .iter()
                .any(|d| d.decision == "rejected");
            out.push(QueueItem {
                due: o.review_since.map(|s| self.review_due(s)),
                claim,
                resubmitted,
                order: o,
            });
        }
        Ok(out)
    }

    /// The review page of an order (any state; decisions only while 待审核).
    pub async fn review_view(&self, actor: &StaffActor, no: &str) -> AppResult<ReviewView> {
        actor.require(Permission::ReviewOrders)?;
        let o = self.order_by_no(no).await?;
        if matches!(o.state, OrderState::Draft | OrderState::Cancelled) {
            return Err(AppError::NotFound);
        }
        let decisions = self.desk.store.decisions(o.id).await?;
        let changes = decisions
            .iter()
            .rev()
            .find_map(|d| d.snapshot.as_ref())
            .filter(|_| o.state == OrderState::InReview)
            .map(|snap| changes(snap, &o.draft));
        Ok(ReviewView {
            events: self.orders.order_events(o.id).await?,
            claim: self.desk.store.review_claim(o.id).await?,
            due: match (o.state, o.review_since) {
                (OrderState::InReview, Some(s)) => Some(self.review_due(s)),
                _ => None,
            },
            decisions,
            changes,
            order: o,
        })
    }

    /// An uploaded file of an order, for a reviewer: (mime, bytes).
    pub async fn review_file(
        &self,
        actor: &StaffActor,
        no: &str,
        kind: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        actor.require(Permission::ReviewOrders)?;
        let o = self.order_by_no(no).await?;
        let u = o.draft.uploads.get(kind).ok_or(AppError::NotFound)?;
        Ok((u.mime.clone(), self.blobs.get(&u.blob).await?))
    }

    /// Takes the review of an order (or keeps one's own claim). Another reviewer's fresh
    /// claim is a conflict naming them.
    pub async fn claim_review(&self, actor: &StaffActor, no: &str) -> AppResult<OrderRecord> {
        actor.require(Permission::ReviewOrders)?;
        let o = self.order_by_no(no).await?;
        if o.state != OrderState::InReview {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,无需审核",
                o.state.label()
            )));
        }
        let now = self.now();
        let audit = self.event(
            actor.audit_name(),
            "review.claim",
            format!("order:{}", o.no),
            actor.ip.as_deref(),
            serde_json::json!({}),
        );
        let (holder, _) = self
            .desk
            .store
            .claim_review(
                o.id,
                actor.id,
                now,
                now - self.desk.config.claim_ttl_ms,
                Effects::audit(audit),
            )
            .await?;
        if holder != actor.id {
            let name = self
                .store
                .staff_by_id(holder)
                .await?
                .map(|s| s.display_name)
                .unwrap_or_else(|| format!("#{holder}"));
            return Err(AppError::Conflict(format!(
                "该业务单已由审核员“{name}”领取审核,请选择其他业务单"
            )));
        }
        Ok(o)
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        actor: &StaffActor,
        o: &OrderRecord,
        to: OrderState,
        decision: Decision,
        what: String,
        sms: OutgoingSms,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        if !o.state.may_move(to) {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,不能变为“{}”",
                o.state.label(),
                to.label()
            )));
        }
        let ev = self.order_event_by(actor.audit_name(), what);
        let action = if to == OrderState::Approved {
            "review.approve"
        } else {
            "review.reject"
        };
        let effects = Effects {
            audit: vec![self.event(
                actor.audit_name(),
                action,
                format!("order:{}", o.no),
                actor.ip.as_deref(),
                detail,
            )],
            sms: vec![sms],
        };
        let mv = OrderMove {
            id: o.id,
            version: o.version,
            state: to,
            draft: &o.draft,
            event: &ev,
        };
        if self.desk.store.decide(mv, &decision, effects).await? {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "业务单已被他人处理,请刷新页面后重试".into(),
            ))
        }
    }

    /// 审核通过: only for the reviewer holding the claim, and only once the payment arrived.
    /// The handler gets the guide's approval SMS.
    pub async fn approve_order(&self, actor: &StaffActor, no: &str) -> AppResult<()> {
        let o = self.claim_review(actor, no).await?;
        if o.paid_at.is_none() {
            return Err(AppError::Conflict(
                "款项尚未到账(未匹配到公对公转账或网厅缴费),不能审核通过".into(),
            ));
        }
        let sms = OutgoingSms {
            phone: handler_phone(&o.draft)?,
            template: "review_approved".into(),
            params: vec![],
            order_no: Some(o.no.to_string()),
            queued_at: self.now(),
        };
        let decision = Decision {
            staff_id: actor.id,
            at: self.now(),
            decision: "approved".into(),
            reasons: vec![],
            snapshot: None,
        };
        self.decide(
            actor,
            &o,
            OrderState::Approved,
            decision,
            "审核通过,等待制证".into(),
            sms,
            serde_json::json!({}),
        )
        .await
    }

    /// 审核驳回 with reasons from the configured list (by index) and/or free text; the
    /// handler gets the guide's rejection SMS with 驳回原因, and the draft is kept so the
    /// resubmission can be compared.
    pub async fn reject_order(
        &self,
        actor: &StaffActor,
        no: &str,
        chosen: &[String],
        note: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ReviewOrders)?;
        let list = &self.desk.config.reject_reasons;
        let mut reasons = Vec::new();
        for c in chosen {
            let r = c
                .parse::<usize>()
                .ok()
                .and_then(|i| list.get(i))
                .or_else(|| list.iter().find(|r| *r == c))
                .ok_or_else(|| AppError::invalid("reasons", "请从列表中选择驳回原因"))?;
            if !reasons.contains(r) {
                reasons.push(r.clone());
            }
        }
        let note = note.trim();
        if note.chars().count() > 200 {
            return Err(AppError::invalid("note", "补充说明不能超过200个字"));
        }
        if note.chars().any(|c| c.is_control()) {
            return Err(AppError::invalid("note", "补充说明不能包含控制字符"));
        }
        if !note.is_empty() {
            reasons.push(note.trim_end_matches(['。', '.']).to_owned());
        }
        if reasons.is_empty() {
            return Err(AppError::invalid(
                "reasons",
                "请至少选择一项驳回原因或填写补充说明",
            ));
        }
        let o = self.claim_review(actor, no).await?;
        let reason = reasons.join(";");
        let sms = OutgoingSms {
            phone: handler_phone(&o.draft)?,
            template: "review_rejected".into(),
            params: vec![("reason".into(), reason.clone())],
            order_no: Some(o.no.to_string()),
            queued_at: self.now(),
        };
        let decision = Decision {
            staff_id: actor.id,
            at: self.now(),
            decision: "rejected".into(),
            reasons: reasons.clone(),
            snapshot: Some(o.draft.clone()),
        };
        self.decide(
            actor,
            &o,
            OrderState::Rejected,
            decision,
            format!("审核驳回,驳回原因:{reason}"),
            sms,
            serde_json::json!({ "reasons": reasons.len() }),
        )
        .await
    }

    /// The holiday calendar as loaded: (year, source, loaded at run time).
    pub fn calendar_years(&self) -> Vec<(i32, String)> {
        let cal = self.desk.calendar();
        cal.years()
            .map(|y| {
                let src = cal
                    .schedule(y)
                    .map(|s| s.source().to_owned())
                    .unwrap_or_default();
                (y, src)
            })
            .collect()
    }

    /// Loads the schedules stored in the database into the calendar (at start).
    pub async fn load_calendar(&self) -> AppResult<usize> {
        let years = self.desk.store.calendar_years().await?;
        let mut n = 0;
        let mut cal = self.desk.calendar();
        for (_, text) in years {
            match YearSchedule::parse_toml(&text) {
                Ok(s) => {
                    if cal.insert(s).is_ok() {
                        n += 1;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "stored holiday schedule ignored"),
            }
        }
        self.set_calendar(cal);
        Ok(n)
    }

    fn set_calendar(&self, cal: domain::calendar::WorkCalendar) {
        match self.desk.calendar.write() {
            Ok(mut c) => *c = cal,
            Err(e) => *e.into_inner() = cal,
        }
    }

    /// Imports a year's official schedule (TOML as shipped in `data/`), checked, stored and
    /// applied at once. `actor` is `None` from the command line.
    pub async fn import_calendar(&self, actor: Option<&StaffActor>, text: &str) -> AppResult<i32> {
        if let Some(a) = actor {
            a.require(Permission::ManageStaff)?;
        }
        let s = YearSchedule::parse_toml(text)
            .map_err(|e| AppError::invalid("file", format!("节假日安排文件无效:{e}")))?;
        let year = s.year();
        let mut cal = self.desk.calendar();
        cal.insert(s)
            .map_err(|e| AppError::invalid("file", format!("节假日安排与已有年份冲突:{e}")))?;
        let by = actor
            .map(|a| a.audit_name())
            .unwrap_or_else(|| "cli".into());
        let ev = self.event(
            by.clone(),
            "calendar.import",
            format!("calendar:{year}"),
            actor.and_then(|a| a.ip.as_deref()),
            serde_json::json!({ "year": year }),
        );
        self.desk
            .store
            .put_calendar_year(year, text, self.now(), &by, Effects::audit(ev))
            .await?;
        self.set_calendar(cal);
        Ok(year)
    }
}
