//! The one door every change of an order goes through. [`OrderBook::change`] and
//! [`OrderBook::move_to`] make an [`OrderChange`] (checking the move against
//! [`OrderState::may_move`] once, here, and deriving `review_since`); the use case adds what
//! changes with it (draft, payment facts, audit rows, SMS) and hands it to the store, which
//! applies it with the expected version in the same transaction as the use case's own rows
//! (a payment, a decision, a shipment…) through one SQL function. A stale version writes
//! nothing and answers [`AppError::Stale`]; a forbidden move answers
//! [`AppError::WrongState`], whose text is [`domain::order::WrongState`]'s.

use super::{OrderEvent, OrderRecord, OrderStore};
use crate::clock::{Clock, Millis};
use crate::model::{AuditEvent, Effects, OutgoingSms};
use crate::{AppError, AppResult};
use domain::order::{Application, Draft, FinState, OrderState};
use domain::{Catalogue, OrderNo};
use std::sync::Arc;

/// One change of one order, made by [`OrderBook`] and applied by the store. Every field is
/// readable (the store writes them); outside this crate none can be made but through the
/// door (`non_exhaustive`), so every change went through the state check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OrderChange {
    /// Order row id.
    pub order_id: i64,
    /// 业务单号 (the sealed draft's associated data).
    pub order_no: OrderNo,
    /// The version read; the change applies only if the row still has it.
    pub version: i64,
    /// The state it was in.
    pub from: OrderState,
    /// The state it ends in (`from` when it stays).
    pub to: OrderState,
    /// A new draft, if it changes.
    pub draft: Option<Draft>,
    /// When the payment arrived (kept if already set).
    pub paid_at: Option<Millis>,
    /// 金融认证, if it changes.
    pub fin_state: Option<FinState>,
    /// Set when the order enters 待审核 (also after a resubmission): the three working days
    /// count from here.
    pub review_since: Option<Millis>,
    /// The history entry.
    pub event: OrderEvent,
    /// Audit rows and SMS that commit with the change.
    pub effects: Effects,
}

impl OrderChange {
    /// Replaces the draft.
    pub fn with_draft(mut self, d: Draft) -> Self {
        self.draft = Some(d);
        self
    }
    /// Records the payment's arrival.
    pub fn paid(mut self, at: Millis) -> Self {
        self.paid_at = Some(at);
        self
    }
    /// Sets 金融认证.
    pub fn fin(mut self, f: FinState) -> Self {
        self.fin_state = Some(f);
        self
    }
    /// Adds an audit row.
    pub fn audit(mut self, ev: AuditEvent) -> Self {
        self.effects.audit.push(ev);
        self
    }
    /// Adds an SMS.
    pub fn sms(mut self, s: OutgoingSms) -> Self {
        self.effects.sms.push(s);
        self
    }
    /// Adds audit rows and SMS.
    pub fn effects(mut self, fx: Effects) -> Self {
        self.effects.audit.extend(fx.audit);
        self.effects.sms.extend(fx.sms);
        self
    }
    /// Whether the state changes.
    pub fn moves(&self) -> bool {
        self.from != self.to
    }
}

/// Orders as every use case reads and changes them: the store, the clock, the catalogue and
/// the door. Cheap to clone. Public so storage tests can make the changes the use cases
/// make; the web edge has no store to build one with.
#[derive(Clone)]
pub struct OrderBook {
    pub(crate) store: Arc<dyn OrderStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) catalogue: Arc<Catalogue>,
}

impl crate::audit::Audits for OrderBook {
    fn now(&self) -> Millis {
        self.clock.now()
    }
}

impl OrderBook {
    /// The door over `store`.
    pub fn new(
        store: Arc<dyn OrderStore>,
        clock: Arc<dyn Clock>,
        catalogue: Arc<Catalogue>,
    ) -> Self {
        Self {
            store,
            clock,
            catalogue,
        }
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// An audit event happening now.
    pub fn audit_event(
        &self,
        actor: String,
        action: &str,
        subject: String,
        ip: Option<&str>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        crate::audit::Audits::audit_event(self, actor, action, subject, ip, detail)
    }

    /// An order's history entry by `actor` (`user:ID`, `staff:ID`, `system`) happening now.
    pub fn event(&self, actor: impl Into<String>, what: impl Into<String>) -> OrderEvent {
        OrderEvent {
            at: self.now(),
            actor: actor.into(),
            what: what.into(),
        }
    }

    /// The order `no` if it belongs to `user_id`; anything else is `NotFound`, exactly like a
    /// missing one.
    pub async fn mine(&self, user_id: i64, no: &str) -> AppResult<OrderRecord> {
        match self.get(no).await {
            Ok(o) if o.user_id == user_id => Ok(o),
            _ => Err(AppError::NotFound),
        }
    }

    /// Any order by number (staff and system use cases, which check roles themselves).
    pub async fn get(&self, no: &str) -> AppResult<OrderRecord> {
        let no = OrderNo::parse(no.trim()).map_err(|_| AppError::NotFound)?;
        self.store.order_by_no(&no).await?.ok_or(AppError::NotFound)
    }

    /// The saved application of an order.
    pub fn application(&self, o: &OrderRecord) -> AppResult<Application> {
        o.draft
            .application(&self.catalogue)
            .map_err(|e| AppError::Conflict(e.to_string()))
    }

    /// A change of `o` that keeps its state (a draft saved, facts recorded).
    pub fn change(
        &self,
        o: &OrderRecord,
        actor: impl Into<String>,
        what: impl Into<String>,
    ) -> OrderChange {
        OrderChange {
            order_id: o.id,
            order_no: o.no.clone(),
            version: o.version,
            from: o.state,
            to: o.state,
            draft: None,
            paid_at: None,
            fin_state: None,
            review_since: None,
            event: self.event(actor, what),
            effects: Effects::default(),
        }
    }

    /// A move of `o` to `to`, if the state machine allows it; the refusal names the state.
    pub fn move_to(
        &self,
        o: &OrderRecord,
        to: OrderState,
        actor: impl Into<String>,
        what: impl Into<String>,
    ) -> AppResult<OrderChange> {
        o.state.check_move(to)?;
        let mut c = self.change(o, actor, what);
        c.to = to;
        if to == OrderState::InReview {
            c.review_since = Some(c.event.at);
        }
        Ok(c)
    }

    /// Moves `o` to `to` when allowed, otherwise keeps its state: for facts that arrive
    /// whatever the order does (money credited to an order cancelled meanwhile).
    pub fn move_if_allowed(
        &self,
        o: &OrderRecord,
        to: OrderState,
        actor: impl Into<String>,
        what: impl Into<String>,
    ) -> OrderChange {
        let actor = actor.into();
        let what = what.into();
        self.move_to(o, to, actor.clone(), what.clone())
            .unwrap_or_else(|_| self.change(o, actor, what))
    }

    /// Applies a change on its own (no other rows with it).
    pub async fn save(&self, c: OrderChange) -> AppResult<()> {
        stale_unless(self.store.apply(&c).await?)
    }
}

/// `Ok` when the store applied a change, [`AppError::Stale`] when the version had moved on.
pub(crate) fn stale_unless(applied: bool) -> AppResult<()> {
    if applied {
        Ok(())
    } else {
        Err(AppError::Stale)
    }
}

/// How often a use case driven by an outside event (a gateway's notification, a statement
/// line, PINs after 金融认证) re-reads the order and tries again when someone changed it in
/// between.
pub(crate) const RETRIES: usize = 5;
