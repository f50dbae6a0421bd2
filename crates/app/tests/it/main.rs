//! The use cases' rules, fast: each test builds the hall's `App` over a fresh SQLite store
//! (the real repository, so nothing here is mocked that production runs) with stand-ins for
//! the outside providers, and calls the services directly — no HTTP, no browser.
//!
//! - [`door`]: the one door of order changes (allowed moves, `review_since`, stale versions);
//! - [`wizard`]: the step gate and owner checks of 证书新办;
//! - [`permissions`]: who may call what, including the command line's system actor;
//! - [`signin`]: SMS codes under parallel guessing, and logins that tell nothing about
//!   which accounts exist, limited per address;
//! - [`uploads`]: image bombs refused before they are decoded, with the process's peak
//!   memory measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod door;
mod permissions;
mod signin;
mod uploads;
mod wizard;

use app::clock::ManualClock;
use app::identity::{
    CarrierCheck, CarrierOutcome, IdentityCheck, IdentityOutcome, IdentityParts, LivenessRequest,
    LivenessStart,
};
use app::payments::{PaymentParts, PaymentSettings, Payout, Payouts};
use app::ports::{Sms, SmsMessage, SmsReceipt};
use app::GatewayError;
use async_trait::async_trait;
use std::sync::Arc;
use store::testing::{fresh_store, Backend};
use store::SqlStore;

/// 2026-11-23 10:00 Beijing time.
pub const T0: i64 = 1_795_399_200_000;

/// An SMS provider that accepts everything, named like the sandbox so the outbox lists
/// what it "delivered".
struct NoSms;

#[async_trait]
impl Sms for NoSms {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    fn is_sandbox(&self) -> bool {
        true
    }
    async fn send(&self, _: &SmsMessage) -> Result<SmsReceipt, GatewayError> {
        Ok(SmsReceipt {
            provider_ref: "t".into(),
        })
    }
}

/// Identity providers that pass everyone.
struct Pass;

#[async_trait]
impl IdentityCheck for Pass {
    fn name(&self) -> &'static str {
        "test"
    }
    async fn start(&self, _: &LivenessRequest) -> Result<LivenessStart, GatewayError> {
        Ok(LivenessStart {
            biz_token: "b".into(),
            url: "/".into(),
        })
    }
    async fn outcome(&self, _: &str, _: &LivenessRequest) -> Result<IdentityOutcome, GatewayError> {
        Ok(IdentityOutcome {
            passed: true,
            reason: String::new(),
            provider_ref: "r".into(),
        })
    }
}

#[async_trait]
impl CarrierCheck for Pass {
    fn name(&self) -> &'static str {
        "test"
    }
    async fn check(&self, _: &str, _: &str, _: &str) -> Result<CarrierOutcome, GatewayError> {
        Ok(CarrierOutcome {
            matched: true,
            unsupported_number: false,
            provider_ref: "c".into(),
        })
    }
}

#[async_trait]
impl Payouts for Pass {
    fn name(&self) -> &'static str {
        "test"
    }
    fn is_sandbox(&self) -> bool {
        true
    }
    async fn send(&self, _: &Payout) -> Result<String, GatewayError> {
        Ok("p".into())
    }
}

/// A hall over a fresh SQLite store, its clock at `T0`.
pub struct Hall {
    pub app: app::App,
    pub store: SqlStore,
    pub clock: Arc<ManualClock>,
}

pub async fn hall() -> Hall {
    hall_on(Backend::Sqlite).await
}

/// A hall over a fresh database of `backend`, its clock at `T0`.
pub async fn hall_on(backend: Backend) -> Hall {
    let store = fresh_store(backend).await.unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let dir = std::env::temp_dir()
        .join("certhall-tests")
        .join(format!("app-blobs-{}", rand::random::<u64>()));
    let blobs = store::FileBlobs::new(dir, store::Vault::random()).unwrap();
    let cost = app::secrets::PasswordCost::for_tests();
    let app = app::App::new(app::Parts {
        storage: Arc::new(store.clone()),
        blobs: Arc::new(blobs),
        catalogue: Arc::new(domain::Catalogue::builtin().unwrap()),
        sms: Arc::new(NoSms),
        clock: clock.clone(),
        policy: app::policy::AuthPolicy {
            argon2_memory_kib: cost.memory_kib,
            argon2_iterations: cost.iterations,
            ..Default::default()
        },
        templates: Arc::new(app::policy::SmsTemplates::default()),
        code_key: Arc::new(vec![1; 32]),
        totp_issuer: "test".into(),
        identity: IdentityParts {
            check: Arc::new(Pass),
            carrier: Arc::new(Pass),
            policy: Default::default(),
        },
        desk: app::desk::DeskParts::sandbox(None),
        payments: PaymentParts {
            gateways: Vec::new(),
            payouts: Arc::new(Pass),
            settings: PaymentSettings::default(),
        },
    });
    Hall { app, store, clock }
}

impl Hall {
    /// A registered applicant's account id.
    pub async fn user(&self, phone: &str) -> i64 {
        use app::ports::UserStore;
        self.store
            .create_user(
                &domain::Phone::parse(phone).unwrap(),
                None,
                T0,
                Default::default(),
            )
            .await
            .unwrap()
            .id
    }

    /// An order of `user` with every wizard step done up to the uploads, read back.
    pub async fn order_at_uploads(&self, user: i64) -> app::orders::OrderRecord {
        let w = self.app.wizard();
        let no = w.start_order(user).await.unwrap();
        let no = no.as_str();
        w.accept_agreement(user, no, true, "127.0.0.1")
            .await
            .unwrap();
        w.choose_application(user, no, "szjt-sm2", "szjt-platforms", true)
            .await
            .unwrap();
        w.save_form(user, no, domain::form::FormInput::sample(1))
            .await
            .unwrap()
            .unwrap();
        w.confirm_preview(user, no).await.unwrap();
        w.my_order(user, no).await.unwrap()
    }

    /// The door over this hall's store, at the hall's clock.
    pub fn door(&self) -> app::orders::OrderBook {
        app::orders::OrderBook::new(
            Arc::new(self.store.clone()),
            self.clock.clone(),
            Arc::new(domain::Catalogue::builtin().unwrap()),
        )
    }
}
