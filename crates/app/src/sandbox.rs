//! The sandbox providers' own pages (the default install): the SMS inbox of a phone, the
//! gateway's checkout, the bank statement of micro-deposits, the courier's tracking. Each
//! answers `NotFound` when a real provider is configured.

use crate::delivery::Delivery;
use crate::desk::Shipment;
use crate::model::OutboxSms;
use crate::payments::{Billing, DepositRecord, PaymentRecord};
use crate::policy::SmsTemplates;
use crate::ports::{OutboxStore, Sms};
use crate::{AppError, AppResult};
use std::sync::Arc;

/// What the sandbox providers show.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) sms: Arc<dyn Sms>,
    pub(crate) templates: Arc<SmsTemplates>,
    pub(crate) billing: Billing,
    pub(crate) delivery: Delivery,
}

impl Sandbox {
    /// Whether SMS go to the sandbox (readable at `/sandbox/sms`) instead of phones.
    pub fn sms_is_sandbox(&self) -> bool {
        self.sms.is_sandbox()
    }

    /// Latest sandbox messages for `phone`, newest first, rendered; `NotFound` when a real
    /// provider is on.
    pub async fn inbox(&self, phone_input: &str) -> AppResult<Vec<(OutboxSms, String)>> {
        if !self.sms.is_sandbox() {
            return Err(AppError::NotFound);
        }
        let phone = crate::accounts::parse_phone(phone_input)?;
        let rows = self.outbox.outbox_for_phone(&phone, 20).await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let text = self.templates.render(&m.template, &m.params);
                (m, text)
            })
            .collect())
    }

    /// The sandbox bank statement of micro-deposits.
    pub async fn payouts(&self) -> AppResult<Vec<DepositRecord>> {
        self.billing.sandbox_payouts().await
    }

    /// The sandbox gateway's checkout page.
    pub async fn checkout(&self, trade_no: &str) -> AppResult<PaymentRecord> {
        self.billing.sandbox_checkout(trade_no).await
    }

    /// The sandbox gateway's 确认支付; returns the order number.
    pub async fn pay(&self, trade_no: &str) -> AppResult<String> {
        self.billing.sandbox_pay(trade_no).await
    }

    /// The sandbox courier's tracking page: shipment and its state.
    pub async fn tracking(&self, tracking_no: &str) -> AppResult<(Shipment, String)> {
        self.delivery.sandbox_tracking(tracking_no).await
    }
}
