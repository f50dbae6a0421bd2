//! 审核 (E1–E3): the review queue with its due time (three working days on the official
//! holiday calendar), claims so two reviewers cannot decide one order at once, approval
//! (only once the payment arrived), rejection with reasons from a configured list plus free
//! text, and what changed since the last rejection. Also the calendar a year's schedule is
//! loaded into at run time.

use crate::authz::{Permission, StaffActor};
use crate::blobs::Blobs;
use crate::clock::Millis;
use crate::desk::{Decision, DeskConfig, ReviewStore, SharedCalendar};
use crate::model::{Effects, OutgoingSms};
use crate::orders::{OrderBook, OrderEvent, OrderRecord};
use crate::{AppError, AppResult};
use domain::form::{Audience, FIELDS, PERSON_FIELDS};
use domain::order::{Draft, OrderState, Wanted};
use domain::{DateTime, Phone};
use std::sync::Arc;

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
    /// Claimed by (staff id, display name, since).
    pub claim: Option<(i64, String, Millis)>,
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
    /// Claim (staff id, display name, since).
    pub claim: Option<(i64, String, Millis)>,
    /// Due time while in review.
    pub due: Option<Due>,
    /// Changes since the last rejection, if it was rejected before.
    pub changes: Option<Changes>,
}

/// Compares two drafts field by field (labels from the form's description) and file by
/// file. Values are shown as a reviewer sees them.
pub fn changes(before: &Draft, after: &Draft) -> Changes {
    let mut c = Changes::default();
    let (b, a) = (&before.form, &after.form);
    for f in FIELDS {
        let (old, new) = (b.get(f.name), a.get(f.name));
        if old != new {
            c.fields.push(FieldChange {
                label: f.label.into(),
                before: f.display(old, Audience::Reviewer),
                after: f.display(new, Audience::Reviewer),
            });
        }
    }
    let n = b.persons.len().max(a.persons.len());
    for i in 0..n {
        for f in PERSON_FIELDS {
            let key = format!("persons.{i}.{}", f.name);
            let (old, new) = (b.get(&key), a.get(&key));
            if old != new {
                let shown = |v: &str| {
                    if v.is_empty() {
                        String::new()
                    } else {
                        f.display(v, Audience::Reviewer)
                    }
                };
                c.fields.push(FieldChange {
                    label: format!("申请人{} {}", i + 1, f.short_label()),
                    before: shown(old),
                    after: shown(new),
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
    Phone::parse(d.form.get("handler_phone").trim())
        .map_err(|_| AppError::Conflict("业务单缺少有效的经办人手机号码".into()))
}

/// 审核 for reviewers: the queue, the review page, claims, approval and rejection.
#[derive(Clone)]
pub struct Review {
    pub(crate) book: OrderBook,
    pub(crate) store: Arc<dyn ReviewStore>,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) calendar: SharedCalendar,
    pub(crate) config: Arc<DeskConfig>,
}

impl Review {
    /// The rejection reasons reviewers choose from.
    pub fn reject_reasons(&self) -> &[String] {
        &self.config.reject_reasons
    }

    /// The due time of a review that started at `since`.
    pub fn due(&self, since: Millis) -> Due {
        let cal = self.calendar.get();
        let start = DateTime::from_unix_seconds(since.div_euclid(1000), BEIJING)
            .unwrap_or_else(|| DateTime::start_of_day(domain::Date::MIN));
        let due = cal.add_working_days(start, self.config.review_working_days);
        Due {
            at: due.to_unix_seconds(BEIJING) * 1000,
            missing_years: cal.missing_years(start.date(), due.date()),
        }
    }

    /// 待审核: orders waiting for review, oldest first, with due time and claim (one query).
    pub async fn queue(&self, actor: &StaffActor) -> AppResult<Vec<QueueItem>> {
        actor.require(Permission::ReviewOrders)?;
        Ok(self
            .store
            .review_queue()
            .await?
            .into_iter()
            .map(|r| QueueItem {
                due: r.order.review_since.map(|s| self.due(s)),
                claim: r.claim,
                resubmitted: r.resubmitted,
                order: r.order,
            })
            .collect())
    }

    /// The review page of an order (any state; decisions only while 待审核).
    pub async fn view(&self, actor: &StaffActor, no: &str) -> AppResult<ReviewView> {
        actor.require(Permission::ReviewOrders)?;
        let o = self.book.get(no).await?;
        if matches!(o.state, OrderState::Draft | OrderState::Cancelled) {
            return Err(AppError::NotFound);
        }
        let decisions = self.store.decisions(o.id).await?;
        let changes = decisions
            .iter()
            .rev()
            .find_map(|d| d.snapshot.as_ref())
            .filter(|_| o.state == OrderState::InReview)
            .map(|snap| changes(snap, &o.draft));
        Ok(ReviewView {
            events: self.book.store.order_events(o.id).await?,
            claim: self.store.review_claim(o.id).await?,
            due: match (o.state, o.review_since) {
                (OrderState::InReview, Some(s)) => Some(self.due(s)),
                _ => None,
            },
            decisions,
            changes,
            order: o,
        })
    }

    /// An uploaded file of an order, for a reviewer: (mime, bytes).
    pub async fn file(
        &self,
        actor: &StaffActor,
        no: &str,
        kind: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        actor.require(Permission::ReviewOrders)?;
        let o = self.book.get(no).await?;
        let u = o.draft.uploads.get(kind).ok_or(AppError::NotFound)?;
        Ok((u.mime.clone(), self.blobs.get(&u.blob).await?))
    }

    /// Takes the review of an order (or keeps one's own claim). Another reviewer's fresh
    /// claim is a conflict naming them.
    pub async fn claim(&self, actor: &StaffActor, no: &str) -> AppResult<OrderRecord> {
        actor.require(Permission::ReviewOrders)?;
        let o = self.book.get(no).await?;
        o.state.require(&[OrderState::InReview], Wanted::Review)?;
        let now = self.book.now();
        let audit = self.book.audit_event(
            actor.audit_name(),
            "review.claim",
            format!("order:{}", o.no),
            actor.ip.as_deref(),
            serde_json::json!({}),
        );
        let (holder, name, _) = self
            .store
            .claim_review(
                o.id,
                actor.id,
                now,
                now - self.config.claim_ttl_ms,
                Effects::audit(audit),
            )
            .await?;
        if holder != actor.id {
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
        let action = if to == OrderState::Approved {
            "review.approve"
        } else {
            "review.reject"
        };
        let change = self
            .book
            .move_to(o, to, actor.audit_name(), what)?
            .audit(self.book.audit_event(
                actor.audit_name(),
                action,
                format!("order:{}", o.no),
                actor.ip.as_deref(),
                detail,
            ))
            .sms(sms);
        crate::orders::door::stale_unless(self.store.decide(&change, &decision).await?)
    }

    /// 审核通过: only for the reviewer holding the claim, and only once the payment arrived.
    /// The handler gets the guide's approval SMS.
    pub async fn approve(&self, actor: &StaffActor, no: &str) -> AppResult<()> {
        let o = self.claim(actor, no).await?;
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
            queued_at: self.book.now(),
        };
        let decision = Decision {
            staff_id: actor.id,
            staff_name: actor.display_name.clone(),
            at: self.book.now(),
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
    pub async fn reject(
        &self,
        actor: &StaffActor,
        no: &str,
        chosen: &[String],
        note: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ReviewOrders)?;
        let list = &self.config.reject_reasons;
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
        let o = self.claim(actor, no).await?;
        let reason = reasons.join(";");
        let sms = OutgoingSms {
            phone: handler_phone(&o.draft)?,
            template: "review_rejected".into(),
            params: vec![("reason".into(), reason.clone())],
            order_no: Some(o.no.to_string()),
            queued_at: self.book.now(),
        };
        let decision = Decision {
            staff_id: actor.id,
            staff_name: actor.display_name.clone(),
            at: self.book.now(),
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
}
