//! 邮寄 and 发票 (F3, F5) and the applicant's progress (E4): the key is posted through the
//! [`crate::desk::Courier`] (postage collect), the tracking number goes by SMS; once the
//! recipient signed for it the order completes and the e-invoice is issued behind a link with
//! an unguessable token, sent by SMS.

use crate::authz::{Permission, StaffActor};
use crate::clock::Millis;
use crate::desk::{
    Courier, DeliveryStore, DeskConfig, InvoiceData, Invoicing, MailLabel, ProductionStore,
    ReviewStore, Shipment,
};
use crate::model::OutgoingSms;
use crate::orders::door::stale_unless;
use crate::orders::{OrderBook, OrderEvent, OrderRecord};
use crate::production::Production;
use crate::review::Review;
use crate::{AppError, AppResult};
use base64::Engine;
use domain::order::{OrderState, Wanted};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What the applicant's order page shows beyond the history.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Expected review date (Beijing, `YYYY年M月D日`) while 待审核.
    pub expected_review: Option<String>,
    /// Whether that date ignores holidays (no schedule for the year).
    pub expected_weekends_only: bool,
    /// Reasons of the last rejection while 已驳回.
    pub rejection: Vec<String>,
    /// Tracking number and page.
    pub tracking: Option<(String, String, String)>,
    /// Invoice number (the link itself went by SMS only: its token is not stored).
    pub invoice_no: Option<String>,
    /// Certificates issued: (label, serial).
    pub certificates: Vec<(String, String)>,
}

/// The hash under which an invoice token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 邮寄 and 发票 for production staff, and what the applicant sees of an order's progress.
#[derive(Clone)]
pub struct Delivery {
    pub(crate) book: OrderBook,
    pub(crate) store: Arc<dyn DeliveryStore>,
    pub(crate) decisions: Arc<dyn ReviewStore>,
    pub(crate) lines: Arc<dyn ProductionStore>,
    pub(crate) courier: Arc<dyn Courier>,
    pub(crate) invoicing: Arc<dyn Invoicing>,
    pub(crate) config: Arc<DeskConfig>,
    pub(crate) production: Production,
    pub(crate) review: Review,
}

impl Delivery {
    /// 待邮寄 and 已邮寄: orders whose certificates are issued, with their shipment once
    /// posted.
    pub async fn queue(
        &self,
        actor: &StaffActor,
    ) -> AppResult<Vec<(OrderRecord, Option<Shipment>)>> {
        actor.require(Permission::ShipOrders)?;
        let mut v = self.book.store.orders_in_state(OrderState::Issued).await?;
        v.extend(self.book.store.orders_in_state(OrderState::Shipped).await?);
        let ids: Vec<i64> = v.iter().map(|o| o.id).collect();
        let mut shipments = self.store.shipments_of(&ids).await?;
        Ok(v.into_iter()
            .map(|o| {
                let s = shipments
                    .iter()
                    .position(|(id, _)| *id == o.id)
                    .map(|i| shipments.swap_remove(i).1);
                (o, s)
            })
            .collect())
    }

    /// The mailing label of an order (printable; 邮费到付).
    pub async fn mail_label(&self, actor: &StaffActor, no: &str) -> AppResult<MailLabel> {
        actor.require(Permission::ShipOrders)?;
        let o = self.book.get(no).await?;
        let a = self.book.application(&o)?;
        Ok(MailLabel {
            order_no: o.no.to_string(),
            recipient: a.mail_recipient.as_str().to_owned(),
            phone: a.mail_phone.as_str().to_owned(),
            address: a.mail_address.as_str().to_owned(),
            sender: self.config.sender.clone(),
            postage_collect: true,
        })
    }

    /// 邮寄: books the courier, records the tracking number, SMS to the handler.
    pub async fn ship_order(&self, actor: &StaffActor, no: &str) -> AppResult<String> {
        actor.require(Permission::ShipOrders)?;
        let o = self.book.get(no).await?;
        o.state.require(&[OrderState::Issued], Wanted::Ship)?;
        let label = self.mail_label(actor, no).await?;
        let a = self.book.application(&o)?;
        let tracking = self
            .courier
            .book(&label)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        let courier = self.courier.name().to_owned();
        let change = self
            .book
            .move_to(
                &o,
                OrderState::Shipped,
                actor.audit_name(),
                format!("USB Key已邮寄(邮费到付),运单号 {tracking}"),
            )?
            .audit(self.book.audit_event(
                actor.audit_name(),
                "shipping.post",
                format!("order:{}", o.no),
                actor.ip.as_deref(),
                serde_json::json!({ "courier": courier, "tracking_no": tracking }),
            ))
            .sms(OutgoingSms {
                phone: a.handler_phone.clone(),
                template: "shipped".into(),
                params: vec![
                    ("courier".into(), courier_label(&courier).into()),
                    ("tracking".into(), tracking.clone()),
                ],
                order_no: Some(o.no.to_string()),
                queued_at: self.book.now(),
            });
        let shipment = Shipment {
            courier,
            tracking_no: tracking.clone(),
            shipped_at: self.book.now(),
            delivered_at: None,
        };
        stale_unless(self.store.ship(&change, &shipment, actor.id).await?)?;
        // PINs still held (金融认证 passed late) go with the key at the latest.
        self.production.release_pins(no).await?;
        Ok(tracking)
    }

    /// 已签收 (staff, or the courier's delivery notice): the order completes and the invoice
    /// is issued; the handler gets the download link by SMS. Returns the link.
    pub async fn complete_order(&self, actor: &StaffActor, no: &str) -> AppResult<String> {
        actor.require(Permission::ShipOrders)?;
        self.complete_as(actor.audit_name(), actor.ip.as_deref(), no)
            .await
    }

    async fn complete_as(&self, who: String, ip: Option<&str>, no: &str) -> AppResult<String> {
        let o = self.book.get(no).await?;
        o.state
            .require(&[OrderState::Shipped], Wanted::ConfirmDelivery)?;
        let a = self.book.application(&o)?;
        let project = o
            .draft
            .project(&self.book.catalogue)
            .ok_or_else(|| AppError::Internal("order without project".into()))?;
        let (lines, total) = a
            .price(project)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut inv = InvoiceData {
            invoice_no: String::new(),
            order_no: o.no.to_string(),
            title: a.invoice_title.as_str().to_owned(),
            tax_no: a.invoice_tax_no.as_str().to_owned(),
            lines: lines
                .iter()
                .map(|l| (l.label.clone(), l.years, l.amount.fen()))
                .collect(),
            total_fen: total.fen(),
            issued_at: self.book.now(),
            provider: self.invoicing.name().into(),
        };
        inv.invoice_no = self
            .invoicing
            .issue(&inv)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let link = format!(
            "{}/invoices/{token}",
            self.config.public_url.trim_end_matches('/')
        );
        let change = self
            .book
            .move_to(
                &o,
                OrderState::Completed,
                who.clone(),
                format!("已签收,业务办理完成;电子发票 {} 已开具", inv.invoice_no),
            )?
            .audit(self.book.audit_event(
                who,
                "shipping.delivered",
                format!("order:{}", o.no),
                ip,
                serde_json::json!({ "invoice_no": inv.invoice_no, "total_fen": inv.total_fen }),
            ))
            .sms(OutgoingSms {
                phone: a.handler_phone.clone(),
                template: "invoice".into(),
                params: vec![("link".into(), link.clone())],
                order_no: Some(o.no.to_string()),
                queued_at: self.book.now(),
            });
        stale_unless(
            self.store
                .complete(&change, &inv, &token_hash(&token))
                .await?,
        )?;
        Ok(link)
    }

    /// The invoice of one of the applicant's own orders (the order page's download link;
    /// someone else's order is `NotFound`, like a missing one).
    pub async fn my_invoice(&self, user_id: i64, no: &str) -> AppResult<InvoiceData> {
        let o = self.book.mine(user_id, no).await?;
        self.store.invoice(o.id).await?.ok_or(AppError::NotFound)
    }

    /// The invoice behind a download token (anyone holding the link).
    pub async fn invoice_by_token(&self, token: &str) -> AppResult<InvoiceData> {
        if token.len() != 43
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AppError::NotFound);
        }
        self.store
            .invoice_by_token(&token_hash(token))
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The sandbox courier's tracking page: (order number masked, shipment, order state).
    pub async fn sandbox_tracking(&self, tracking_no: &str) -> AppResult<(Shipment, String)> {
        let (order_id, s) = self
            .store
            .shipment_by_tracking(tracking_no)
            .await?
            .ok_or(AppError::NotFound)?;
        let _ = order_id;
        let state = if s.delivered_at.is_some() {
            "已签收"
        } else {
            "运输中"
        };
        Ok((s, state.into()))
    }

    /// The applicant's order page: one of their orders, its history and its progress
    /// beyond the history (E4).
    pub async fn order_page(
        &self,
        user_id: i64,
        no: &str,
    ) -> AppResult<(OrderRecord, Vec<OrderEvent>, Progress)> {
        let o = self.book.mine(user_id, no).await?;
        let events = self.book.store.order_events(o.id).await?;
        let p = self.progress(&o).await?;
        Ok((o, events, p))
    }

    async fn progress(&self, o: &OrderRecord) -> AppResult<Progress> {
        let mut p = Progress::default();
        if let (OrderState::InReview, Some(since)) = (o.state, o.review_since) {
            let due = self.review.due(since);
            let d = crate::orders::beijing_date(due.at);
            p.expected_review = Some(d.zh());
            p.expected_weekends_only = !due.missing_years.is_empty();
        }
        if o.state == OrderState::Rejected {
            if let Some(d) = self
                .decisions
                .decisions(o.id)
                .await?
                .into_iter()
                .rev()
                .find(|d| d.decision == "rejected")
            {
                p.rejection = d.reasons;
            }
        }
        if let Some(s) = self.store.shipment(o.id).await? {
            p.tracking = Some((
                courier_label(&s.courier).into(),
                s.tracking_no.clone(),
                self.courier.tracking_url(&s.tracking_no),
            ));
        }
        p.invoice_no = self.store.invoice(o.id).await?.map(|i| i.invoice_no);
        for l in self.lines.cert_lines(o.id).await? {
            if let Some(serial) = l.sign_serial {
                p.certificates.push((l.kind.label().into(), serial));
            }
        }
        Ok(p)
    }

    /// The history of an order for staff (any role that works on orders).
    pub async fn staff_order_events(
        &self,
        actor: &StaffActor,
        o: &OrderRecord,
    ) -> AppResult<Vec<OrderEvent>> {
        if !(actor.can(Permission::ReviewOrders)
            || actor.can(Permission::IssueCertificates)
            || actor.can(Permission::ShipOrders))
        {
            return Err(AppError::Forbidden);
        }
        Ok(self.book.store.order_events(o.id).await?)
    }
}

/// The name of a courier provider shown to people.
pub fn courier_label(name: &str) -> &'static str {
    match name {
        "sandbox" => "沙箱快递",
        "sf" => "顺丰速运",
        _ => "快递",
    }
}

/// Milliseconds left until `due` (negative when overdue), for countdowns.
pub fn remaining(due: Millis, now: Millis) -> Millis {
    due - now
}
