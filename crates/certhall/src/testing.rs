//! A real hall on a fresh database for tests: the real router on a real socket, the sandbox
//! SMS provider, a manual clock, and cheap password hashing. Jobs run only when the test
//! drains them.

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
    /// The database URL (a SQLite file, or a PostgreSQL schema).
    pub db_url: String,
    /// Where uploaded files are kept.
    pub blob_dir: std::path::PathBuf,
}

/// 2026-11-23 10:00:00 Beijing time, where test clocks start.
pub const T0: i64 = 1_795_399_200_000;

/// Starts a hall on `backend` with default settings.
pub async fn start(backend: Backend) -> TestHall {
    start_with(backend, web::WebConfig::default()).await
}

/// Starts a hall on `backend` with the given edge settings.
pub async fn start_with(backend: Backend, cfg: web::WebConfig) -> TestHall {
    start_custom(backend, cfg, Arc::new(gateways::sms::SandboxSms)).await
}

/// Starts a hall with a given SMS provider.
pub async fn start_custom(
    backend: Backend,
    cfg: web::WebConfig,
    sms: Arc<dyn app::ports::Sms>,
) -> TestHall {
    let idp =
        gateways::identity::build(&Default::default()).unwrap_or_else(|e| panic!("identity: {e}"));
    start_all(backend, cfg, sms, idp, Vec::new()).await
}

/// Starts a hall with given SMS and identity providers.
pub async fn start_full(
    backend: Backend,
    cfg: web::WebConfig,
    sms: Arc<dyn app::ports::Sms>,
    idp: gateways::identity::IdentityProviders,
) -> TestHall {
    start_all(backend, cfg, sms, idp, Vec::new()).await
}

/// Starts a hall whose payment gateways are `extra` after the sandbox one.
pub async fn start_with_gateways(
    backend: Backend,
    extra: Vec<Arc<dyn app::payments::PaymentGateway>>,
) -> TestHall {
    let idp =
        gateways::identity::build(&Default::default()).unwrap_or_else(|e| panic!("identity: {e}"));
    start_all(
        backend,
        web::WebConfig::default(),
        Arc::new(gateways::sms::SandboxSms),
        idp,
        extra,
    )
    .await
}

async fn start_all(
    backend: Backend,
    cfg: web::WebConfig,
    sms: Arc<dyn app::ports::Sms>,
    idp: gateways::identity::IdentityProviders,
    extra: Vec<Arc<dyn app::payments::PaymentGateway>>,
) -> TestHall {
    let clock = Arc::new(ManualClock::new(T0));
    let db_url = store::testing::fresh_url(backend)
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let db = store::Db::connect(&db_url)
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    db.migrate(T0)
        .await
        .unwrap_or_else(|e| panic!("migrate: {e}"));
    let vault = store::Vault::random();
    let store = store::SqlStore::new(db, vault.clone());
    let blob_dir = std::env::temp_dir()
        .join("certhall-tests")
        .join(format!("blobs-{}", hex::encode(rand::random::<[u8; 8]>())));
    let blobs =
        store::FileBlobs::new(blob_dir.clone(), vault).unwrap_or_else(|e| panic!("blobs: {e}"));
    let blobs = blobs.with_clock(clock.clone());
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
    let app = app::App {
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
                crate::hall_ca::HallCa::ephemeral(
                    store::ca::CaStore::new(store.db().clone(), store.vault().clone()),
                    clock.clone(),
                )
                .unwrap_or_else(|e| panic!("test CA: {e}")),
            )),
        ),
        payments,
    };
    let router = web::router(
        web::AppState {
            app: app.clone(),
            cfg: Arc::new(cfg),
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

impl TestHall {
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
