//! A real hall for tests: the real router on a real socket over a database of its own (a
//! copy of the migrated template, see `store::testing`), sandbox providers unless a test gives
//! others, a manual clock, and cheap password hashing. Jobs run only when the test drains
//! them. Made by [`TestHall::builder`], or [`TestHall::start`] for every default.

use app::clock::ManualClock;
use app::secrets::PasswordCost;
use std::sync::Arc;
pub use store::testing::Backend;

/// A running test hall.
pub struct TestHall {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The use cases, for draining jobs and checking state.
    pub app: app::App,
    /// The clock the hall reads.
    pub clock: Arc<ManualClock>,
    /// The store.
    pub store: store::SqlStore,
    /// The database URL (a SQLite file, or a PostgreSQL database).
    pub db_url: String,
    /// Where uploaded files are kept.
    pub blob_dir: std::path::PathBuf,
}

/// 2026-11-23 10:00:00 Beijing time, where test clocks start.
pub const T0: i64 = 1_795_399_200_000;

/// How a test hall is made: the backend, then whatever differs from the defaults (sandbox
/// SMS, sandbox identity providers, only the sandbox payment gateway, default edge settings).
///
/// ```ignore
/// let hall = TestHall::builder(Backend::Sqlite).sms(recorder).start().await;
/// ```
pub struct TestHallBuilder {
    backend: Backend,
    web_config: web::WebConfig,
    sms: Arc<dyn app::ports::Sms>,
    identity: Option<gateways::identity::IdentityProviders>,
    gateways: Vec<Arc<dyn app::payments::PaymentGateway>>,
}

impl TestHallBuilder {
    /// The edge settings (default: `WebConfig::default()`).
    pub fn web_config(mut self, cfg: web::WebConfig) -> Self {
        self.web_config = cfg;
        self
    }

    /// The SMS provider (default: the sandbox, whose inbox tests read).
    pub fn sms(mut self, sms: Arc<dyn app::ports::Sms>) -> Self {
        self.sms = sms;
        self
    }

    /// The identity providers (default: the sandbox ones of the default configuration).
    pub fn identity(mut self, idp: gateways::identity::IdentityProviders) -> Self {
        self.identity = Some(idp);
        self
    }

    /// Payment gateways offered after the sandbox one.
    pub fn gateways(mut self, extra: Vec<Arc<dyn app::payments::PaymentGateway>>) -> Self {
        self.gateways.extend(extra);
        self
    }

    /// Starts the hall: a database of its own (a copy of the migrated template), the router
    /// on `127.0.0.1:0`, the clock at [`T0`].
    pub async fn start(self) -> TestHall {
        let clock = Arc::new(ManualClock::new(T0));
        let db_url = store::testing::migrated_url(self.backend)
            .await
            .unwrap_or_else(|e| panic!("test database: {e}"));
        let db = store::Db::connect(&db_url)
            .await
            .unwrap_or_else(|e| panic!("test database: {e}"));
        let vault = store::Vault::random();
        let store = store::SqlStore::new(db, vault.clone());
        let blob_dir = std::env::temp_dir()
            .join("certhall-tests")
            .join(format!("blobs-{}", hex::encode(rand::random::<[u8; 8]>())));
        let blobs = store::FileBlobs::new(blob_dir.clone(), vault)
            .unwrap_or_else(|e| panic!("blobs: {e}"))
            .with_clock(clock.clone());
        let idp = match self.identity {
            Some(idp) => idp,
            None => gateways::identity::build(&Default::default())
                .unwrap_or_else(|e| panic!("identity: {e}")),
        };
        let app = assemble_app(&store, blobs, clock.clone(), self.sms, idp, self.gateways);
        let router = web::router(
            web::AppState {
                app: app.clone(),
                cfg: Arc::new(self.web_config),
            },
            None,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .unwrap_or_else(|e| panic!("addr: {e}"))
        );
        tokio::spawn(web::serve(listener, router, std::future::pending()));
        TestHall {
            base,
            app,
            clock,
            store,
            db_url,
            blob_dir,
        }
    }
}

/// The use cases of a test hall over `store`: every port a sandbox or the given provider,
/// cheap password hashing, an ephemeral CA. (The one place that builds `app::App`.)
fn assemble_app(
    store: &store::SqlStore,
    blobs: store::FileBlobs,
    clock: Arc<ManualClock>,
    sms: Arc<dyn app::ports::Sms>,
    idp: gateways::identity::IdentityProviders,
    extra: Vec<Arc<dyn app::payments::PaymentGateway>>,
) -> app::App {
    let cost = PasswordCost::for_tests();
    let policy = app::policy::AuthPolicy {
        argon2_memory_kib: cost.memory_kib,
        argon2_iterations: cost.iterations,
        ..Default::default()
    };
    let payments = Arc::new(app::payments::Payments {
        store: Arc::new(store.clone()),
        gateways: std::iter::once(Arc::new(gateways::payments::SandboxGateway::new())
            as Arc<dyn app::payments::PaymentGateway>)
        .chain(extra)
        .collect(),
        payouts: Arc::new(gateways::payments::SandboxPayouts),
        settings: app::payments::PaymentSettings::default(),
    });
    app::App {
        store: Arc::new(store.clone()),
        orders: Arc::new(store.clone()),
        blobs: Arc::new(blobs),
        catalogue: Arc::new(
            domain::Catalogue::builtin().unwrap_or_else(|e| panic!("catalogue: {e}")),
        ),
        sms,
        clock: clock.clone(),
        policy,
        templates: Arc::new(app::policy::SmsTemplates::default()),
        code_key: Arc::new(vec![7u8; 32]),
        totp_issuer: "深圳CA".into(),
        identity: app::identity::IdentityPorts {
            check: idp.check,
            carrier: idp.carrier,
            store: Arc::new(store.clone()),
            policy: idp.policy,
        },
        desk: app::desk::Desk::sandbox(
            Arc::new(store.clone()),
            Some(Arc::new(
                crate::hall_ca::HallCa::ephemeral(store::ca::CaStore::new(
                    store.db().clone(),
                    store.vault().clone(),
                ))
                .unwrap_or_else(|e| panic!("test CA: {e}")),
            )),
        ),
        payments,
    }
}

impl TestHall {
    /// A builder for a hall on `backend`; [`TestHallBuilder::start`] starts it.
    pub fn builder(backend: Backend) -> TestHallBuilder {
        TestHallBuilder {
            backend,
            web_config: web::WebConfig::default(),
            sms: Arc::new(gateways::sms::SandboxSms),
            identity: None,
            gateways: Vec::new(),
        }
    }

    /// Starts a hall on `backend` with every default: `TestHall::builder(backend).start()`.
    pub async fn start(backend: Backend) -> TestHall {
        Self::builder(backend).start().await
    }

    /// Runs queued jobs (SMS sending) now.
    pub async fn drain(&self) -> usize {
        self.app
            .drain_jobs()
            .await
            .unwrap_or_else(|e| panic!("jobs: {e}"))
    }

    /// The newest code the sandbox delivered to `phone`.
    pub async fn last_code(&self, phone: &str) -> String {
        self.drain().await;
        let inbox = self
            .app
            .sandbox_inbox(phone)
            .await
            .unwrap_or_else(|e| panic!("inbox: {e}"));
        let (msg, _) = inbox
            .first()
            .unwrap_or_else(|| panic!("no SMS for {phone}"));
        msg.params
            .iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("SMS has no code"))
    }
}
