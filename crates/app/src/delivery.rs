//! 邮寄 and 发票 (F3, F5) and the applicant's progress (E4): the key is posted through the
//! [`crate::desk::Courier`] (postage collect), the tracking number goes by SMS; once the
//! recipient signed for it the order completes and the e-invoice is issued behind a link with
//! an unguessable token, sent by SMS.

use crate::authz::{Permission, StaffActor};
use crate::clock::Millis;
use crate::desk::{InvoiceData, MailLabel, OrderMove, Shipment};
use crate::model::{Effects, OutgoingSms};
use crate::orders::{OrderEvent, OrderRecord};
use crate::{App, AppError, AppResult};
use base64::Engine;
use domain::order::OrderState;
use sha2::{Digest, Sha256};

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

impl App {
    /// 待邮寄: orders whose certificates are issued.
    pub async fn shipping_queue(&self, actor: &StaffActor) -> AppResult<Vec<OrderRecord>> {
        actor.require(Permission::ShipOrders)?;
        let mut v = self.orders.orders_in_state(OrderState::Issued).await?;
        v.extend(self.orders.orders_in_state(OrderState::Shipped).await?);
        Ok(v)
    }

    /// The mailing label of an order (printable; 邮费到付).
    pub async fn mail_label(&self, actor: &StaffActor, no: &str) -> AppResult<MailLabel> {
        actor.require(Permission::ShipOrders)?;
        let o = self.order_by_no(no).await?;
        let a = self.application_of(&o)?;
        Ok(MailLabel {
            order_no: o.no.to_string(),
            recipient: a.mail_recipient.as_str().to_owned(),
            phone: a.mail_phone.as_str().to_owned(),
            address: a.mail_address.as_str().to_owned(),
            sender: self.desk.config.sender.clone(),
            postage_collect: true,
        })
    }

    /// 邮寄: books the courier, records the tracking number, SMS to the handler.
    pub async fn ship_order(&self, actor: &StaffActor, no: &str) -> AppResult<String> {
        actor.require(Permission::ShipOrders)?;
        let o = self.order_by_no(no).await?;
        if o.state != OrderState::Issued {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,不能邮寄",
                o.state.label()
            )));
        }
        let label = self.mail_label(actor, no).await?;
        let a = self.application_of(&o)?;
        let tracking = self
            .desk
            .courier
            .book(&label)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        let courier = self.desk.courier.name().to_owned();
        let ev = self.order_event_by(
            actor.audit_name(),
            format!("USB Key已邮寄(邮费到付),运单号 {tracking}"),
        );
        let effects = Effects {
            audit: vec![self.event(
                actor.audit_name(),
                "shipping.post",
                format!("order:{}", o.no),
                actor.ip.as_deref(),
                serde_json::json!({ "courier": courier, "tracking_no": tracking }),
            )],
            sms: vec![OutgoingSms {
                phone: a.handler_phone.clone(),
                template: "shipped".into(),
                params: vec![
                    ("courier".into(), courier_label(&courier).into()),
                    ("tracking".into(), tracking.clone()),
                ],
                order_no: Some(o.no.to_string()),
                queued_at: self.now(),
            }],
        };
        let shipment = Shipment {
            courier,
            tracking_no: tracking.clone(),
            shipped_at: self.now(),
            delivered_at: None,
        };
        let mv = OrderMove {
            id: o.id,
            version: o.version,
            state: OrderState::Shipped,
            draft: &o.draft,
            event: &ev,
        };
        if !o.state.may_move(OrderState::Shipped) {
            return Err(AppError::Conflict("业务单状态不允许邮寄".into()));
        }
        if !self
            .desk
            .store
            .ship(mv, &shipment, actor.id, effects)
            .await?
        {
            return Err(AppError::Conflict(
                "业务单已被他人处理,请刷新页面后重试".into(),
            ));
        }
        // PINs still held (金融认证 passed late) go with the key at the latest.
        self.release_pins(no).await?;
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
        let o = self.order_by_no(no).await?;
        if o.state != OrderState::Shipped {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,不能确认签收",
                o.state.label()
            )));
        }
        let a = self.application_of(&o)?;
        let project = o
            .draft
            .project(&self.catalogue)
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
            issued_at: self.now(),
            provider: self.desk.invoicing.name().into(),
        };
        inv.invoice_no = self
            .desk
            .invoicing
            .issue(&inv)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let link = format!(
            "{}/invoices/{token}",
            self.desk.config.public_url.trim_end_matches('/')
        );
        let ev = self.order_event_by(
            who.clone(),
            format!("已签收,业务办理完成;电子发票 {} 已开具", inv.invoice_no),
        );
        let effects = Effects {
            audit: vec![self.event(
                who,
                "shipping.delivered",
                format!("order:{}", o.no),
                ip,
                serde_json::json!({ "invoice_no": inv.invoice_no, "total_fen": inv.total_fen }),
            )],
            sms: vec![OutgoingSms {
                phone: a.handler_phone.clone(),
                template: "invoice".into(),
                params: vec![("link".into(), link.clone())],
                order_no: Some(o.no.to_string()),
                queued_at: self.now(),
            }],
        };
        let mv = OrderMove {
            id: o.id,
            version: o.version,
            state: OrderState::Completed,
            draft: &o.draft,
            event: &ev,
        };
        if !self
            .desk
            .store
            .complete(mv, &inv, &token_hash(&token), self.now(), effects)
            .await?
        {
            return Err(AppError::Conflict(
                "业务单已被他人处理,请刷新页面后重试".into(),
            ));
        }
        Ok(link)
    }

    /// The invoice of one of the applicant's own orders (the order page's download link;
    /// someone else's order is `NotFound`, like a missing one).
    pub async fn my_invoice(&self, user_id: i64, no: &str) -> AppResult<InvoiceData> {
        let o = self.my_order(user_id, no).await?;
        self.desk
            .store
            .invoice(o.id)
            .await?
            .ok_or(AppError::NotFound)
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
        self.desk
            .store
            .invoice_by_token(&token_hash(token))
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The sandbox courier's tracking page: (order number masked, shipment, order state).
    pub async fn sandbox_tracking(&self, tracking_no: &str) -> AppResult<(Shipment, String)> {
        let (order_id, s) = self
            .desk
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

    /// The progress of one of the applicant's orders (E4), beyond its history.
    pub async fn order_progress(&self, o: &OrderRecord) -> AppResult<Progress> {
        let mut p = Progress::default();
        if let (OrderState::InReview, Some(since)) = (o.state, o.review_since) {
            let due = self.review_due(since);
            let d = crate::orders::beijing_date(due.at);
            p.expected_review = Some(d.zh());
            p.expected_weekends_only = !due.missing_years.is_empty();
        }
        if o.state == OrderState::Rejected {
            if let Some(d) = self
                .desk
                .store
                .decisions(o.id)
                .await?
                .into_iter()
                .rev()
                .find(|d| d.decision == "rejected")
            {
                p.rejection = d.reasons;
            }
        }
        if let Some(s) = self.desk.store.shipment(o.id).await? {
            p.tracking = Some((
                courier_label(&s.courier).into(),
                s.tracking_no.clone(),
                self.desk.courier.tracking_url(&s.tracking_no),
            ));
        }
        p.invoice_no = self.desk.store.invoice(o.id).await?.map(|i| i.invoice_no);
        for l in self.desk.store.cert_lines(o.id).await? {
            if let Some(serial) = l.sign_serial {
                let label = if l.kind == "org" {
                    "机构证书"
                } else {
                    "机构个人证书"
                };
                p.certificates.push((label.into(), serial));
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
        Ok(self.orders.order_events(o.id).await?)
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
