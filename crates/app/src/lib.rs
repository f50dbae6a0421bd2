//! certhall's use cases. Handlers in `web` and commands in the binary call these; they decide
//! and authorise, then act through the ports. No SQL, no HTML here.
//!
//! [`App`] is the composition root: built once from [`Parts`] (the ports and settings the
//! binary configures), it hands out the use-case services — [`accounts::Accounts`],
//! [`staff::Admin`], [`orders::Wizard`], [`identity::Verification`], [`payments::Billing`],
//! [`review::Review`], [`production::Production`], [`delivery::Delivery`], [`certificates::Certificates`], [`jobs::Jobs`],
//! [`sandbox::Sandbox`]. Each holds privately the ports it needs; nothing outside this crate
//! reaches a port through them.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod bids;
pub mod blobs;
pub mod certificates;
pub mod clock;
pub mod delivery;
pub mod desk;
pub mod error;
pub mod faults;
pub mod identity;
pub mod jobs;
pub mod model;
pub mod orders;
pub mod payments;
pub mod policy;
pub mod ports;
pub mod production;
pub mod review;
pub mod revocation;
pub mod sandbox;
pub mod seals;
pub mod secrets;
pub mod staff;
pub mod uploads;

use std::sync::Arc;

pub use error::{AppError, AppResult, GatewayError, StoreError};

/// Every storage port, implemented together by the hall's database (`store::SqlStore`).
pub trait Storage:
    ports::Health
    + ports::LimitStore
    + ports::CodeStore
    + ports::UserStore
    + ports::StaffStore
    + ports::SessionStore
    + ports::AuditStore
    + ports::OutboxStore
    + ports::JobStore
    + orders::OrderStore
    + identity::IdentityStore
    + desk::ReviewStore
    + desk::ProductionStore
    + desk::DeliveryStore
    + desk::CalendarStore
    + payments::PaymentStore
    + payments::StatementStore
    + payments::DepositStore
    + certificates::CertStore
    + desk::SealStore
    + 'static
{
}

impl<T> Storage for T where
    T: ports::Health
        + ports::LimitStore
        + ports::CodeStore
        + ports::UserStore
        + ports::StaffStore
        + ports::SessionStore
        + ports::AuditStore
        + ports::OutboxStore
        + ports::JobStore
        + orders::OrderStore
        + identity::IdentityStore
        + desk::ReviewStore
        + desk::ProductionStore
        + desk::DeliveryStore
        + desk::CalendarStore
        + payments::PaymentStore
        + payments::StatementStore
        + payments::DepositStore
        + certificates::CertStore
        + desk::SealStore
        + 'static
{
}

/// What the hall is built from: the storage, the providers and the settings.
pub struct Parts<S: Storage> {
    /// The database.
    pub storage: Arc<S>,
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
    /// Key of the SMS-code and micro-deposit-code HMACs (32 bytes from the key file).
    pub code_key: Arc<Vec<u8>>,
    /// Issuer name shown in authenticator apps.
    pub totp_issuer: String,
    /// 经办人在线认证 providers and limits.
    pub identity: identity::IdentityParts,
    /// The CA, courier, invoicing and desk settings.
    pub desk: desk::DeskParts,
    /// Payment gateways, payouts and settings.
    pub payments: payments::PaymentParts,
}

struct Services {
    accounts: accounts::Accounts,
    admin: staff::Admin,
    wizard: orders::Wizard,
    verification: identity::Verification,
    billing: payments::Billing,
    review: review::Review,
    production: production::Production,
    delivery: delivery::Delivery,
    certificates: certificates::Certificates,
    revocations: revocation::Revocations,
    seals: seals::Seals,
    sandbox_bids: bids::SandboxBidDesk,
    jobs: jobs::Jobs,
    sandbox: sandbox::Sandbox,
    clock: Arc<dyn clock::Clock>,
    catalogue: Arc<domain::Catalogue>,
}

/// The use cases of the hall, shared by all requests (cheap to clone).
#[derive(Clone)]
pub struct App(Arc<Services>);

impl App {
    /// Builds every use-case service from `parts`, each with the ports it needs.
    pub fn new<S: Storage>(parts: Parts<S>) -> Self {
        let st = parts.storage;
        let clock = parts.clock;
        let book = orders::OrderBook {
            store: st.clone(),
            clock: clock.clone(),
            catalogue: parts.catalogue.clone(),
        };
        let calendar = desk::SharedCalendar::default();
        let desk_config = Arc::new(parts.desk.config);
        let review = review::Review {
            book: book.clone(),
            store: st.clone(),
            blobs: parts.blobs.clone(),
            calendar: calendar.clone(),
            config: desk_config.clone(),
        };
        let certificates = certificates::Certificates {
            book: book.clone(),
            lines: st.clone(),
            store: st.clone(),
            ca: parts.desk.ca.clone(),
            users: st.clone(),
            window: desk_config.renewal,
            bids: parts.desk.bids.clone(),
        };
        let revocations = revocation::Revocations {
            book: book.clone(),
            lines: st.clone(),
            ca: parts.desk.ca.clone(),
            users: st.clone(),
            audit: st.clone(),
            seals: st.clone(),
        };
        let seals = seals::Seals {
            store: st.clone(),
            checker: parts.desk.seal_checker.clone(),
        };
        let sandbox_bids = bids::SandboxBidDesk {
            bids: parts.desk.bids.clone(),
            clock: clock.clone(),
        };
        let production = production::Production {
            book: book.clone(),
            store: st.clone(),
            ca: parts.desk.ca,
            faults: parts.desk.faults,
        };
        let delivery = delivery::Delivery {
            book: book.clone(),
            store: st.clone(),
            decisions: st.clone(),
            lines: st.clone(),
            courier: parts.desk.courier,
            invoicing: parts.desk.invoicing,
            config: desk_config.clone(),
            production: production.clone(),
            review: review.clone(),
        };
        let billing = payments::Billing {
            book: book.clone(),
            payments: st.clone(),
            statements: st.clone(),
            deposits: st.clone(),
            gateways: Arc::new(parts.payments.gateways),
            payouts: parts.payments.payouts,
            settings: Arc::new(parts.payments.settings),
            blobs: parts.blobs.clone(),
            audit: st.clone(),
            claims: st.clone(),
            claim_ttl_ms: desk_config.claim_ttl_ms,
            code_key: parts.code_key.clone(),
            production: production.clone(),
            jobs: st.clone(),
        };
        let verification = identity::Verification {
            book: book.clone(),
            store: st.clone(),
            check: parts.identity.check,
            carrier: parts.identity.carrier,
            policy: parts.identity.policy,
            blobs: parts.blobs.clone(),
            limits: st.clone(),
            audit: st.clone(),
        };
        let wizard = orders::Wizard {
            book: book.clone(),
            blobs: parts.blobs.clone(),
            billing: billing.clone(),
            review: review.clone(),
        };
        let accounts = accounts::Accounts {
            codes: st.clone(),
            users: st.clone(),
            staff: st.clone(),
            sessions: st.clone(),
            audit: st.clone(),
            limits: st.clone(),
            clock: clock.clone(),
            policy: parts.policy.clone(),
            code_key: parts.code_key,
        };
        let admin = staff::Admin {
            staff: st.clone(),
            audit: st.clone(),
            outbox: st.clone(),
            jobs: st.clone(),
            calendars: st.clone(),
            calendar,
            health: st.clone(),
            clock: clock.clone(),
            policy: parts.policy,
            totp_issuer: parts.totp_issuer,
        };
        let jobs = jobs::Jobs {
            store: st.clone(),
            outbox: st.clone(),
            sms: parts.sms.clone(),
            templates: parts.templates.clone(),
            blobs: parts.blobs,
            orders: st.clone(),
            verification: verification.clone(),
            billing: billing.clone(),
            certificates: certificates.clone(),
            clock: clock.clone(),
        };
        let sandbox = sandbox::Sandbox {
            outbox: st,
            sms: parts.sms,
            templates: parts.templates,
            billing: billing.clone(),
            delivery: delivery.clone(),
        };
        App(Arc::new(Services {
            accounts,
            admin,
            wizard,
            verification,
            billing,
            review,
            production,
            delivery,
            certificates,
            revocations,
            seals,
            sandbox_bids,
            jobs,
            sandbox,
            clock,
            catalogue: parts.catalogue,
        }))
    }

    /// Signing in and sessions (applicants and staff).
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.0.accounts
    }
    /// The admin's console.
    pub fn admin(&self) -> &staff::Admin {
        &self.0.admin
    }
    /// 证书新办 for the applicant.
    pub fn wizard(&self) -> &orders::Wizard {
        &self.0.wizard
    }
    /// 经办人在线认证.
    pub fn verification(&self) -> &identity::Verification {
        &self.0.verification
    }
    /// 在线支付, 金融认证 and finance.
    pub fn billing(&self) -> &payments::Billing {
        &self.0.billing
    }
    /// 审核.
    pub fn review(&self) -> &review::Review {
        &self.0.review
    }
    /// 制证.
    pub fn production(&self) -> &production::Production {
        &self.0.production
    }
    /// 邮寄, 发票 and the applicant's order page.
    pub fn delivery(&self) -> &delivery::Delivery {
        &self.0.delivery
    }
    /// 我的证书 and proofs of possession.
    pub fn certificates(&self) -> &certificates::Certificates {
        &self.0.certificates
    }
    /// 证书注销 from the staff console.
    pub fn revocations(&self) -> &revocation::Revocations {
        &self.0.revocations
    }
    /// 电子印章 status and checks for anyone.
    pub fn seals(&self) -> &seals::Seals {
        &self.0.seals
    }
    /// The sandbox bid calendar's tester page.
    pub fn sandbox_bids(&self) -> &bids::SandboxBidDesk {
        &self.0.sandbox_bids
    }
    /// The job queue and the daily sweeps.
    pub fn jobs(&self) -> &jobs::Jobs {
        &self.0.jobs
    }
    /// The sandbox providers' pages.
    pub fn sandbox(&self) -> &sandbox::Sandbox {
        &self.0.sandbox
    }
    /// An SMS the guide quotes, as the hall sends it, filled with the guide's example
    /// values (the FAQ page quotes these, so what it shows is what is sent).
    pub fn guide_sms(&self, template: &str) -> Option<String> {
        self.0.jobs.templates.guide_example(template)
    }
    /// Now, from the injected clock.
    pub fn now(&self) -> clock::Millis {
        self.0.clock.now()
    }
    /// Projects, prices and the service agreement.
    pub fn catalogue(&self) -> &Arc<domain::Catalogue> {
        &self.0.catalogue
    }
}
