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
    /// The hall's keys file (copy it into a data directory to run the command line on the
    /// hall's database).
    pub keys_file: std::path::PathBuf,
    /// The blob store the hall writes to.
    pub blobs: Arc<dyn app::blobs::Blobs>,
    /// The test CA production issues through.
    pub ca: Arc<dyn app::desk::CertAuthority>,
    /// The payment gateways (the sandbox first).
    pub gateways: Vec<Arc<dyn app::payments::PaymentGateway>>,
    /// The account rules the hall runs with.
    pub policy: app::policy::AuthPolicy,
    /// The CA behind `ca`, kept to reopen it in [`TestHall::restarted`].
    hall_ca: Arc<crate::hall_ca::HallCa>,
    seal_maker: Arc<TestSealMaker>,
}

/// The test hall's seal-maker (制章人): a key and a certificate from the hall's CA, trusted
/// by the hall's seal checker.
pub struct TestSealMaker {
    key: pki::sm2::SecretKey,
    /// The maker's certificate (DER).
    pub cert: Vec<u8>,
}

impl TestSealMaker {
    fn new(ca: &ca::Ca) -> Self {
        let key = pki::keys::generate();
        let cert = seal::make::seal_maker_cert(
            ca.signer().as_ref(),
            &ca.files().issuing,
            &key.public_key(),
            "certhall Test",
            ca.now(),
            5,
            &mut rand::rngs::OsRng,
        )
        .unwrap_or_else(|e| panic!("seal maker: {e}"));
        Self { key, cert }
    }

    fn checker(
        &self,
        ca: &ca::Ca,
        clock: Arc<dyn app::clock::Clock>,
    ) -> Arc<dyn app::seals::SealChecker> {
        let trust = seal::verify::Trust {
            cas: vec![ca.files().root.der.clone(), ca.files().issuing.der.clone()],
            seal_makers: vec![self.cert.clone()],
        };
        Arc::new(crate::seal_cmd::HallSealChecker::new(trust, clock))
    }

    /// A 2020-edition 单位印章 `es_id` named `name`, bound to `unit_cert` (DER), with the
    /// picture `png`, valid from `now` for a year.
    pub fn make(
        &self,
        es_id: &str,
        name: &str,
        unit_cert: &[u8],
        png: Vec<u8>,
        now: std::time::SystemTime,
    ) -> Vec<u8> {
        let spec = seal::make::SealSpec {
            edition: seal::Edition::Gbt38540_2020,
            es_id: es_id.into(),
            kind: seal::make::SealKind::Unit,
            name: name.into(),
            signer_certs: vec![unit_cert.to_vec()],
            created: now,
            valid_start: now,
            valid_end: now + std::time::Duration::from_secs(365 * 86_400),
            picture_png: png,
            width_mm: 42,
            height_mm: 42,
        };
        let signer = pki::KeySigner::new(&self.key).unwrap_or_else(|e| panic!("signer: {e}"));
        seal::make::make_seal(&spec, &signer, &self.cert).unwrap_or_else(|e| panic!("seal: {e}"))
    }
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
        // The hall's keys in a keys file of its own (fresh random keys), so the command line
        // can be run on the same database with the same keys (`keys_file`).
        let keys_file = std::env::temp_dir()
            .join("certhall-tests")
            .join(format!("keys-{}", hex::encode(rand::random::<[u8; 8]>())))
            .join("keys.toml");
        let vault = crate::keys::load_or_create(&keys_file)
            .unwrap_or_else(|e| panic!("keys file: {e}"))
            .vault;
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
        let hall_ca = Arc::new(
            crate::hall_ca::HallCa::ephemeral(
                store::ca::CaStore::new(store.db().clone(), store.vault().clone()),
                clock.clone(),
            )
            .unwrap_or_else(|e| panic!("test CA: {e}")),
        );
        let seal_maker = Arc::new(TestSealMaker::new(hall_ca.ca()));
        let seals = seal_maker.checker(hall_ca.ca(), clock.clone());
        let Assembled {
            app,
            blobs,
            ca,
            gateways,
            policy,
        } = assemble_app(
            &store,
            blobs,
            clock.clone(),
            hall_ca.clone(),
            Sides {
                sms: self.sms,
                idp,
                extra: self.gateways,
                faults: Arc::new(app::faults::NoFaults),
                seals,
            },
        );
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
            keys_file,
            blobs,
            ca,
            gateways,
            policy,
            hall_ca,
            seal_maker,
        }
    }
}

/// The providers of a test hall that a test may choose.
struct Sides {
    sms: Arc<dyn app::ports::Sms>,
    idp: gateways::identity::IdentityProviders,
    extra: Vec<Arc<dyn app::payments::PaymentGateway>>,
    faults: Arc<dyn app::faults::FaultPoints>,
    seals: Arc<dyn app::seals::SealChecker>,
}

/// What [`assemble_app`] built, and the ports tests reach through the hall.
struct Assembled {
    app: app::App,
    blobs: Arc<dyn app::blobs::Blobs>,
    ca: Arc<dyn app::desk::CertAuthority>,
    gateways: Vec<Arc<dyn app::payments::PaymentGateway>>,
    policy: app::policy::AuthPolicy,
}

/// The use cases of a test hall over `store`: every port a sandbox or the given provider,
/// cheap password hashing, the test CA. (The one place that builds `app::App`.)
fn assemble_app(
    store: &store::SqlStore,
    blobs: store::FileBlobs,
    clock: Arc<ManualClock>,
    hall_ca: Arc<crate::hall_ca::HallCa>,
    sides: Sides,
) -> Assembled {
    let Sides {
        sms,
        idp,
        extra,
        faults,
        seals,
    } = sides;
    let cost = PasswordCost::for_tests();
    let policy = app::policy::AuthPolicy {
        argon2_memory_kib: cost.memory_kib,
        argon2_iterations: cost.iterations,
        ..Default::default()
    };
    let ca: Arc<dyn app::desk::CertAuthority> = hall_ca;
    let blobs: Arc<dyn app::blobs::Blobs> = Arc::new(blobs);
    let gateways: Vec<Arc<dyn app::payments::PaymentGateway>> =
        std::iter::once(Arc::new(gateways::payments::SandboxGateway::new())
            as Arc<dyn app::payments::PaymentGateway>)
        .chain(extra)
        .collect();
    let app = app::App::new(app::Parts {
        storage: Arc::new(store.clone()),
        blobs: blobs.clone(),
        catalogue: Arc::new(
            domain::Catalogue::builtin().unwrap_or_else(|e| panic!("catalogue: {e}")),
        ),
        sms,
        clock: clock.clone(),
        policy: policy.clone(),
        templates: Arc::new(app::policy::SmsTemplates::default()),
        code_key: Arc::new(vec![7u8; 32]),
        totp_issuer: "深圳CA".into(),
        identity: app::identity::IdentityParts {
            check: idp.check,
            carrier: idp.carrier,
            policy: idp.policy,
        },
        desk: app::desk::DeskParts {
            faults,
            seal_checker: Some(seals),
            ..app::desk::DeskParts::sandbox(Some(ca.clone()))
        },
        payments: app::payments::PaymentParts {
            gateways: gateways.clone(),
            payouts: Arc::new(gateways::payments::SandboxPayouts),
            settings: app::payments::PaymentSettings::default(),
        },
    });
    Assembled {
        app,
        blobs,
        ca,
        gateways,
        policy,
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

    /// The use cases of this hall as a restarted process builds them: a new connection
    /// pool to the same database, the keys read again from the keys file, the same blob
    /// directory and CA (reopened over the new pool), sandbox providers, and `faults` as
    /// production's kill points. Nothing in memory is shared with [`TestHall::app`] but the
    /// clock (the world's time) and the CA's keys (its files).
    pub async fn restarted<F>(&self, faults: Arc<F>) -> app::App
    where
        F: app::faults::FaultPoints + ca::FaultPoints + 'static,
    {
        let db = store::Db::connect(&self.db_url)
            .await
            .unwrap_or_else(|e| panic!("test database: {e}"));
        let vault = crate::keys::load_or_create(&self.keys_file)
            .unwrap_or_else(|e| panic!("keys file: {e}"))
            .vault;
        let store = store::SqlStore::new(db, vault.clone());
        let blobs = store::FileBlobs::new(self.blob_dir.clone(), vault)
            .unwrap_or_else(|e| panic!("blobs: {e}"))
            .with_clock(self.clock.clone());
        let hall_ca = Arc::new(
            self.hall_ca
                .reopened(
                    store::ca::CaStore::new(store.db().clone(), store.vault().clone()),
                    self.clock.clone(),
                    Some(faults.clone() as Arc<dyn ca::FaultPoints>),
                )
                .unwrap_or_else(|e| panic!("test CA: {e}")),
        );
        let seals = self.seal_maker.checker(hall_ca.ca(), self.clock.clone());
        let idp = gateways::identity::build(&Default::default())
            .unwrap_or_else(|e| panic!("identity: {e}"));
        assemble_app(
            &store,
            blobs,
            self.clock.clone(),
            hall_ca,
            Sides {
                sms: Arc::new(gateways::sms::SandboxSms),
                idp,
                extra: Vec::new(),
                faults,
                seals,
            },
        )
        .app
    }

    /// The CA's `/crl`, `/ca` and `/ocsp` routes (what `serve` mounts beside the pages) over
    /// this hall's CA, on a listener of their own, with a first CRL made: answers their base
    /// URL and the issuing CA certificate (PEM).
    pub async fn serve_pki(&self) -> (String, String) {
        let ca = self.hall_ca.ca().clone();
        let publisher =
            Arc::new(ca::Publisher::new(ca.clone()).unwrap_or_else(|e| panic!("publisher: {e}")));
        publisher
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("first CRL: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .unwrap_or_else(|e| panic!("addr: {e}"))
        );
        tokio::spawn(web::serve(
            listener,
            crate::ca_cmd::pki_router(publisher),
            std::future::pending(),
        ));
        (base, ca.files().issuing.pem())
    }

    /// The hall's seal-maker (makes seals its seal checker trusts).
    pub fn seal_maker(&self) -> &TestSealMaker {
        &self.seal_maker
    }

    /// A payment gateway of the hall by name.
    pub fn gateway(&self, name: &str) -> Option<&Arc<dyn app::payments::PaymentGateway>> {
        self.gateways.iter().find(|g| g.name() == name)
    }

    /// Any order by number, read from the store (tests check what the use cases wrote).
    pub async fn order(&self, no: &str) -> app::orders::OrderRecord {
        use app::orders::OrderStore;
        let no = domain::OrderNo::parse(no).unwrap_or_else(|e| panic!("order number {no}: {e}"));
        self.store
            .order_by_no(&no)
            .await
            .unwrap_or_else(|e| panic!("order {no}: {e}"))
            .unwrap_or_else(|| panic!("no order {no}"))
    }

    /// Moves an order the way a use case not under test would (identity passed, payment
    /// arrived…): checked against the state machine, by SQL, with a history entry and
    /// `review_since` set when it enters review. For tests that start an order further on.
    pub async fn force_state(&self, no: &str, to: domain::order::OrderState, what: &str) {
        let o = self.order(no).await;
        assert!(
            o.state.may_move(to),
            "{no}: {} cannot become {}",
            o.state.label(),
            to.label()
        );
        let now = app::clock::Clock::now(&*self.clock);
        let review_since = (to == domain::order::OrderState::InReview).then_some(now);
        store::testing::force_state(&self.store, o.id, to, now, review_since, what)
            .await
            .unwrap_or_else(|e| panic!("force_state: {e}"));
    }

    /// Runs queued jobs (SMS sending) now.
    pub async fn drain(&self) -> usize {
        self.app
            .jobs()
            .drain()
            .await
            .unwrap_or_else(|e| panic!("jobs: {e}"))
    }

    /// The newest code the sandbox delivered to `phone`.
    pub async fn last_code(&self, phone: &str) -> String {
        self.drain().await;
        let inbox = self
            .app
            .sandbox()
            .inbox(phone)
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

/// The storage traits, for tests that read what the use cases wrote through `TestHall::store`.
pub mod storage {
    pub use app::desk::{CalendarStore, DeliveryStore, ProductionStore, ReviewStore};
    pub use app::identity::IdentityStore;
    pub use app::orders::OrderStore;
    pub use app::payments::{DepositStore, PaymentStore, StatementStore};
    pub use app::ports::{
        AuditStore, CodeStore, Health, JobStore, LimitStore, OutboxStore, SessionStore, StaffStore,
        UserStore,
    };
}
