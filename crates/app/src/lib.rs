//! certhall's use cases. Handlers in `web` and commands in the binary call these; they decide
//! and authorise, then act through the ports in [`ports`]. No SQL, no HTML here.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod blobs;
pub mod clock;
pub mod delivery;
pub mod desk;
pub mod error;
pub mod identity;
pub mod jobs;
pub mod model;
pub mod orders;
pub mod payments;
pub mod policy;
pub mod ports;
pub mod production;
pub mod review;
pub mod secrets;
pub mod staff;
pub mod uploads;

use std::sync::Arc;

pub use error::{AppError, AppResult, GatewayError, StoreError};

/// Everything a use case needs, shared by all requests.
#[derive(Clone)]
pub struct App {
    /// Persistence.
    pub store: Arc<dyn ports::Store>,
    /// Orders (证书新办 drafts and their history).
    pub orders: Arc<dyn orders::OrderStore>,
    /// Uploaded files.
    pub blobs: Arc<dyn blobs::Blobs>,
    /// Projects, prices and the service agreement.
    pub catalogue: Arc<domain::Catalogue>,
    /// SMS provider.
    pub sms: Arc<dyn ports::Sms>,
    /// Time.
    pub clock: Arc<dyn clock::Clock>,
    /// Account rules.
    pub policy: policy::AuthPolicy,
    /// SMS texts.
    pub templates: Arc<policy::SmsTemplates>,
    /// Key of the SMS-code HMAC (32 bytes from the data directory's key file).
    pub code_key: Arc<Vec<u8>>,
    /// Issuer name shown in authenticator apps.
    pub totp_issuer: String,
    /// 经办人在线认证: providers, attempts, limits.
    pub identity: identity::IdentityPorts,
    /// Review, production and delivery (issue 7): their ports and settings.
    pub desk: desk::Desk,
    /// Payments: store, gateways, payouts, settings (`payments.rs`).
    pub payments: Arc<payments::Payments>,
}

impl App {
    /// Now, from the injected clock.
    pub fn now(&self) -> clock::Millis {
        self.clock.now()
    }

    /// An audit event happening now.
    pub fn event(
        &self,
        actor: String,
        action: &str,
        subject: String,
        ip: Option<&str>,
        detail: serde_json::Value,
    ) -> model::AuditEvent {
        model::AuditEvent {
            at: self.now(),
            actor,
            action: action.into(),
            subject,
            ip: ip.map(str::to_owned),
            detail,
        }
    }
}
