//! The certhall command line: `serve`, `migrate`, `staff …`, `audit verify` (and the CA
//! commands). `main.rs` only calls [`run`]; tests drive the same functions.

pub mod anchors;
mod bench;
pub mod ca_cmd;
pub mod config;
pub mod doctor;
pub mod hall_ca;
pub mod keys;
pub mod seal_cmd;
pub mod testing;
pub mod token_cmd;

use anyhow::{bail, Context, Result};
use app::audit::ChainCheck;
use app::authz::Operator;
use app::clock::{Clock, SystemClock};
use app::model::Role;
use clap::{Args, Parser, Subcommand};
use config::Config;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// certhall: the online business hall and SM2 CA.
#[derive(Debug, Parser)]
#[command(
    name = "certhall",
    version,
    about = "网上营业厅 and SM2 certificate authority"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command that opens the hall's data shares.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Directory of the SQLite database, keys and files (created if missing).
    #[arg(long, default_value = "./data", global = true)]
    pub data: PathBuf,
    /// Configuration file (TOML).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hall: migrations, first admin, job worker, HTTP.
    Serve {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// Address to listen on (overrides the config file).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Shared options.
        #[command(flatten)]
        common: Common,
    },
    /// Staff accounts.
    Staff {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// What to do.
        #[command(subcommand)]
        action: StaffAction,
    },
    /// The SM2 certificate authority.
    Ca {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// What to do.
        #[command(subcommand)]
        action: ca_cmd::CaAction,
    },
    /// Benchmarks (`bench pki`).
    Bench {
        /// Which.
        #[command(subcommand)]
        what: bench::BenchWhat,
    },
    /// Bank statements (`bank import FILE`: camt.053 or CSV, matched to orders).
    Bank {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// What to do.
        #[command(subcommand)]
        action: BankAction,
    },
    /// The audit log.
    Audit {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// What to do.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// A software token playing the USB key (tests and testers by hand).
    Token {
        /// The token file.
        #[arg(long, default_value = "./token.json")]
        file: PathBuf,
        /// The environment variable holding the PIN.
        #[arg(long, default_value = "CERTHALL_TOKEN_PIN")]
        pin_env: String,
        /// What to do.
        #[command(subcommand)]
        action: token_cmd::TokenAction,
    },
    /// Electronic seals (`seal verify FILE [--document DOC]`).
    Seal {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// What to do.
        #[command(subcommand)]
        action: seal_cmd::SealAction,
    },
    /// Check a data directory (database, disk, keys, CA, audit chain, production, files) and
    /// say what to do; changes nothing; exits non-zero when a check failed.
    Doctor {
        /// Shared options.
        #[command(flatten)]
        common: Common,
    },
    /// The working-day calendar (审核时效).
    Calendar {
        /// Shared options.
        #[command(flatten)]
        common: Common,
        /// What to do.
        #[command(subcommand)]
        action: CalendarAction,
    },
}

/// `certhall calendar …`.
#[derive(Debug, Subcommand)]
pub enum CalendarAction {
    /// Load a year's official holiday schedule (TOML, as `data/cn-holidays-2026.toml`) into
    /// the database; a running hall picks it up at its next start.
    Import {
        /// The TOML file.
        file: PathBuf,
    },
    /// List the years with a schedule.
    Show,
}

/// `certhall staff …`.
#[derive(Debug, Subcommand)]
pub enum StaffAction {
    /// Create an account; prints its initial password and TOTP secret once.
    Add {
        /// Login name.
        username: String,
        /// admin, reviewer, finance or production.
        #[arg(long)]
        role: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List accounts.
    List,
    /// Disable an account (its sessions end).
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Login name.
        username: String,
    },
}

/// `certhall bank …`.
#[derive(Debug, Subcommand)]
pub enum BankAction {
    /// Import a statement (ISO 20022 camt.053 XML or the CSV of docs/PAYMENTS.md) and match
    /// its credits to orders; importing the same file again changes nothing.
    Import {
        /// The statement file.
        file: PathBuf,
    },
}

/// `certhall bank import FILE`.
pub async fn bank_import(hall: &Hall, file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let r = hall
        .app
        .billing()
        .import_statement(Operator::Cli, &name, &bytes)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{} statement {}: {} entries, {} new{}; matched {}, manual queue {}, ignored {}",
        r.format,
        name,
        r.entries,
        r.new_entries,
        if r.duplicate_file {
            " (this file was imported before: nothing changed)"
        } else {
            ""
        },
        r.matched.len(),
        r.manual.len(),
        r.ignored
    );
    for (entry, order) in &r.matched {
        println!("  matched  {entry} -> {order}");
    }
    for (entry, why) in &r.manual {
        println!("  manual   {entry}: {why}");
    }
    Ok(())
}

/// `certhall audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain; names the first changed or missing row.
    Verify,
}

/// Everything `serve` and the commands build from the configuration.
pub struct Hall {
    /// The use cases.
    pub app: app::App,
    /// The database.
    pub db: store::Db,
    /// Loaded configuration.
    pub config: Config,
    /// The sandbox pages' secret (`serve` sets it when listening on a non-loopback address).
    pub sandbox_secret: Option<web::sandbox_gate::SandboxSecret>,
}

/// Opens the database (migrating it), loads keys and providers, and builds the use cases
/// (without a CA: production is refused).
pub async fn open(common: &Common, clock: Arc<dyn Clock>) -> Result<Hall> {
    open_with_ca(common, clock, None, None).await
}

/// The public address the sample configuration and the defaults give.
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// `[desk] public_url` (links in SMS: the e-invoice) and `[payments] public_url` (gateways'
/// notify and return URLs, the FAQ 六 SMS) left at their default follow the address the
/// hall listens on (`http://LISTEN`). When that address is not one others can use (0.0.0.0,
/// [::]) and they were not set, answers a warning saying what to set.
pub fn derive_public_urls(config: &mut Config, listen: &str) -> Option<String> {
    let derived = format!("http://{listen}");
    let mut defaulted = false;
    for url in [&mut config.desk.public_url, &mut config.payments.public_url] {
        if url.trim_end_matches('/') == DEFAULT_PUBLIC_URL {
            *url = derived.clone();
            defaulted = true;
        }
    }
    let unspecified = listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_unspecified());
    (defaulted && unspecified).then(|| {
        format!(
            "warning: the hall listens on {listen}, which is no address to give out: set [desk] public_url and [payments] public_url to the https address applicants and payment gateways reach (SMS links and payment return URLs are built from them)"
        )
    })
}

/// [`open`] with the CA the production step issues through.
pub async fn open_with_ca(
    common: &Common,
    clock: Arc<dyn Clock>,
    ca: Option<Arc<dyn app::desk::CertAuthority>>,
    listen: Option<&str>,
) -> Result<Hall> {
    std::fs::create_dir_all(&common.data)
        .with_context(|| format!("cannot create data directory {}", common.data.display()))?;
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(warning) = listen.and_then(|l| derive_public_urls(&mut config, l)) {
        println!("{warning}");
    }
    let url = config.database_url(&common.data);
    let db = store::Db::connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open database: {e}"))?;
    db.migrate(clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The keys file is made only once the database answered, so a start that never reached
    // its database leaves no fresh keys behind for it.
    let keys = keys::load_or_create(&config.keys_file(&common.data))?;
    let sms_cfg = match &config.sms {
        Some(c) => c.clone(),
        None => toml::from_str("").context("sms defaults")?,
    };
    let sms = gateways::sms::build(&sms_cfg).map_err(|e| anyhow::anyhow!("[sms]: {e}"))?;
    let blobs = store::FileBlobs::new(common.data.join("blobs"), keys.vault.clone())
        .map_err(|e| anyhow::anyhow!("blob directory: {e}"))?
        .with_clock(clock.clone());
    let catalogue = config.catalogue()?;
    let store = Arc::new(store::SqlStore::new(db.clone(), keys.vault));
    let idp = gateways::identity::build(&config.identity)
        .map_err(|e| anyhow::anyhow!("[identity]: {e}"))?;
    let identity = app::identity::IdentityParts {
        check: idp.check,
        carrier: idp.carrier,
        policy: idp.policy,
    };
    let (gateways, payouts) = gateways::payments::build(&config.payments, &common.data)
        .map_err(|e| anyhow::anyhow!("[payments]: {e}"))?;
    let seal_checker: Option<Arc<dyn app::seals::SealChecker>> = match &ca {
        Some(_) => Some(Arc::new(seal_cmd::HallSealChecker::for_data(
            &common.data,
            clock.clone(),
        )?)),
        None => None,
    };
    let app = app::App::new(app::Parts {
        storage: store,
        blobs: Arc::new(blobs),
        catalogue: Arc::new(catalogue),
        sms,
        clock,
        policy: config.auth.clone(),
        templates: Arc::new(config.templates()),
        code_key: Arc::new(keys.code_key),
        totp_issuer: config.brand.short.clone(),
        identity,
        desk: app::desk::DeskParts {
            seal_checker,
            config: config.desk.clone(),
            courier: gateways::courier::build(&config.courier)
                .map_err(|e| anyhow::anyhow!("[courier]: {e}"))?,
            ..app::desk::DeskParts::sandbox(ca)
        },
        payments: app::payments::PaymentParts {
            gateways,
            payouts,
            settings: config.payments.settings(),
        },
    });
    app.admin()
        .load_calendar()
        .await
        .map_err(|e| anyhow::anyhow!("holiday calendar: {e}"))?;
    Ok(Hall {
        app,
        db,
        config,
        sandbox_secret: None,
    })
}

/// The web settings from the configuration.
pub fn web_config(config: &Config) -> web::WebConfig {
    web::WebConfig {
        brand: config.brand.clone(),
        secure_cookies: config.server.secure_cookies,
        trust_proxy: config.server.trust_proxy,
        max_body_bytes: config.server.max_body_bytes,
        max_upload_bytes: config.server.max_upload_bytes,
        sandbox_secret: None,
    }
}

/// Whether `listen` (`host:port`) is a loopback address: 127.0.0.0/8, `[::1]`, `localhost`.
pub fn is_loopback_listen(listen: &str) -> bool {
    if let Ok(a) = listen.parse::<std::net::SocketAddr>() {
        return a.ip().is_loopback();
    }
    let host = listen.rsplit_once(':').map_or(listen, |(h, _)| h);
    host.eq_ignore_ascii_case("localhost")
}

/// The file in the data directory that keeps the sandbox pages' secret.
pub const SANDBOX_SECRET_FILE: &str = "sandbox-secret";

/// The sandbox pages' secret for a hall listening on `listen`: none on a loopback address
/// (a developer's machine); otherwise the one in `DATA/sandbox-secret`, made (mode 0600) the
/// first time. Answers the secret and whether it was just made.
pub fn sandbox_secret(data: &Path, listen: &str) -> Result<Option<(String, bool)>> {
    if is_loopback_listen(listen) {
        return Ok(None);
    }
    let path = data.join(SANDBOX_SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(Some((s.trim().to_owned(), false))),
        Ok(_) => anyhow::bail!(
            "{} is empty: delete it to make a new secret",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data)?;
            let secret = app::secrets::random_hex(16);
            keys::write_private(&path, &format!("{secret}\n"))?;
            Ok(Some((secret, true)))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The router of a hall (pages, API and any extra routes).
pub fn router(hall: &Hall) -> axum_router::Router {
    router_with(hall, None)
}

/// The router of a hall with extra routes (the CA's `/crl`, `/ca`, `/ocsp`).
pub fn router_with(hall: &Hall, extra: Option<axum_router::Router>) -> axum_router::Router {
    web::router(
        web::AppState {
            app: hall.app.clone(),
            cfg: Arc::new(web::WebConfig {
                sandbox_secret: hall.sandbox_secret.clone(),
                ..web_config(&hall.config)
            }),
        },
        extra,
    )
}

/// Re-export of the router type so callers need not depend on axum.
pub mod axum_router {
    pub use web::RouterType as Router;
}

fn print_credentials(c: &app::staff::StaffCredentials, now: i64) {
    println!("  用户名 username : {}", c.staff.username);
    println!("  初始密码 password: {}", c.password);
    println!("  TOTP 密钥 secret : {}", c.totp_base32);
    println!("  TOTP URI         : {}", c.otpauth_uri);
    println!(
        "  当前动态口令      : {} (changes every 30 s; add the secret to an authenticator app)",
        app::secrets::totp_now(&c.staff.totp_secret, now)
    );
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve { common, listen } => serve(&common, listen, clock).await,
        Command::Migrate { common } => {
            let hall = open(&common, clock).await?;
            let tables = hall
                .db
                .table_names()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "database is up to date; {} tables: {}",
                tables.len(),
                tables.join(", ")
            );
            Ok(())
        }
        Command::Ca { common, action } => ca_cmd::run(&common, action, clock).await,
        Command::Doctor { common } => doctor::run(&common, clock).await,
        Command::Bench { what } => bench::run(what, clock).await,
        Command::Token {
            file,
            pin_env,
            action,
        } => token_cmd::run(&file, &pin_env, action),
        Command::Seal { common, action } => seal_cmd::run(&common, action, clock).await,
        Command::Bank {
            common,
            action: BankAction::Import { file },
        } => {
            let hall = open(&common, clock).await?;
            bank_import(&hall, &file).await
        }
        Command::Staff { common, action } => {
            let hall = open(&common, clock.clone()).await?;
            staff_command(&hall, action, clock.now()).await
        }
        Command::Audit {
            common,
            action: AuditAction::Verify,
        } => {
            let hall = open(&common, clock).await?;
            let anchors = anchors::read(&common.data)?;
            match hall
                .app
                .admin()
                .verify_audit_with(&anchors)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                ChainCheck::Intact {
                    rows,
                    unkeyed,
                    anchors: n,
                } => {
                    println!(
                        "audit log intact: {rows} rows, every hash links, every MAC checks{}; \
                         the head is the last row; {n} anchors outside the database reached",
                        if unkeyed > 0 {
                            format!(
                                " ({unkeyed} rows written before the chain was keyed have none)"
                            )
                        } else {
                            String::new()
                        }
                    );
                    anchors::record(&hall.app, &common.data).await?;
                    Ok(())
                }
                ChainCheck::Broken { seq, problem } => {
                    bail!("audit log BROKEN at row {seq}: {problem}")
                }
            }
        }
        Command::Calendar { common, action } => {
            let hall = open(&common, clock).await?;
            match action {
                CalendarAction::Import { file } => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let year = hall
                        .app
                        .admin()
                        .import_calendar(Operator::Cli, &text)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("holiday schedule of {year} imported");
                }
                CalendarAction::Show => {
                    for (y, src) in hall.app.admin().calendar_years() {
                        println!("{y}  {src}");
                    }
                }
            }
            Ok(())
        }
    }
}

async fn staff_command(hall: &Hall, action: StaffAction, now: i64) -> Result<()> {
    let err = |e: app::AppError| match e {
        app::AppError::Invalid { message, .. } => anyhow::anyhow!("{message}"),
        other => anyhow::anyhow!("{other}"),
    };
    match action {
        StaffAction::Add {
            username,
            role,
            name,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role}: use admin, reviewer, finance or production")
            })?;
            let c = hall
                .app
                .admin()
                .create_staff(Operator::Cli, &username, &name, role)
                .await
                .map_err(err)?;
            println!("staff account created ({}):", role.label());
            print_credentials(&c, now);
        }
        StaffAction::List => {
            for s in hall
                .app
                .admin()
                .list_staff(Operator::Cli)
                .await
                .map_err(err)?
            {
                println!(
                    "{:<20} {:<10} {:<8} {}",
                    s.username,
                    s.role.as_str(),
                    if s.disabled { "disabled" } else { "active" },
                    s.display_name
                );
            }
        }
        StaffAction::Disable { username } => {
            hall.app
                .admin()
                .set_staff_disabled(Operator::Cli, &username, true)
                .await
                .map_err(err)?;
            println!("{username} disabled; its sessions ended");
        }
        StaffAction::Enable { username } => {
            hall.app
                .admin()
                .set_staff_disabled(Operator::Cli, &username, false)
                .await
                .map_err(err)?;
            println!("{username} enabled");
        }
    }
    Ok(())
}

/// Raises the open-files soft limit to the hard limit (each connection is a file descriptor;
/// the usual soft limit of 1,024 is reached by a few hundred slow clients). Returns the limit
/// now in force.
pub fn raise_open_files() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let cur = getrlimit(Resource::Nofile);
    if let (Some(soft), Some(hard)) = (cur.current, cur.maximum) {
        if soft < hard {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(hard),
                    maximum: Some(hard),
                },
            );
        }
    }
    getrlimit(Resource::Nofile).current
}

/// `certhall serve`.
pub async fn serve(common: &Common, listen: Option<String>, clock: Arc<dyn Clock>) -> Result<()> {
    if let Some(n) = raise_open_files() {
        tracing::info!(open_files = n, "open-files limit");
    }
    let config = Config::load(common.config.as_deref())?;
    let listen = listen.unwrap_or_else(|| config.server.listen.clone());
    if let Some(dir) =
        ca_cmd::ensure_dev_ca(common, &format!("http://{listen}"), clock.clone()).await?
    {
        println!(
            "first start: generated a development SM2 CA in {} (its passphrase is in {}; for a real CA run `certhall ca init` first)",
            dir.display(),
            dir.join(ca_cmd::DEV_PASSPHRASE_FILE).display()
        );
    }
    let ca = ca_cmd::open_for_serve(common, clock.clone()).await?;
    let port = ca
        .as_ref()
        .map(|ca| Arc::new(hall_ca::HallCa::new(ca.clone())) as Arc<dyn app::desk::CertAuthority>);
    let sandbox = sandbox_secret(&common.data, &listen)?;
    let mut hall = open_with_ca(common, clock.clone(), port, Some(&listen)).await?;
    hall.sandbox_secret = sandbox
        .as_ref()
        .map(|(s, _)| web::sandbox_gate::SandboxSecret::new(s.clone()));
    if let Some(c) = hall
        .app
        .admin()
        .ensure_first_admin()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        println!("first start: created the admin staff account (shown once):");
        print_credentials(&c, clock.now());
        println!("  staff console    : http://{listen}/staff/login");
    }
    let jobs = hall.app.jobs().clone();
    jobs.schedule_identity_purge()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    jobs.schedule_blob_sweep()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Lines a stopped process left 签发中 (its lease ran out): finished before serving.
    match hall.app.production().recover().await {
        Ok(0) => {}
        Ok(n) => println!("finished {n} certificate line(s) a stopped process left 签发中"),
        Err(e) => tracing::warn!(error = %e, "cannot finish lines left 签发中; 制证 retries them"),
    }
    jobs.schedule_cert_reminders()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sms = jobs.sms_provider();
    anchors::record(&hall.app, &common.data).await?;
    tokio::spawn(anchors::every_minute(hall.app.clone(), common.data.clone()));
    tokio::spawn(jobs.worker(std::time::Duration::from_millis(300)));
    let pki = match ca {
        Some(ca) => Some(ca_cmd::pki_routes(ca).await?),
        None => None,
    };
    match &sandbox {
        Some((secret, true)) => {
            println!("first start on a non-loopback address: the sandbox pages (/sandbox/sms, /sandbox/payouts) ask for this access key (shown once; kept in {}):", common.data.join(SANDBOX_SECRET_FILE).display());
            println!("  沙箱访问密钥 sandbox key: {secret}");
        }
        Some((_, false)) => println!(
            "the sandbox pages (/sandbox/sms, /sandbox/payouts) ask for the access key in {}",
            common.data.join(SANDBOX_SECRET_FILE).display()
        ),
        None => {}
    }
    let router = router_with(&hall, pki);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!(
        "certhall 网上营业厅 listening on http://{listen}  (data: {}, sms: {sms})",
        data_display(&common.data),
    );
    axum_serve(listener, router).await
}

fn data_display(p: &Path) -> String {
    p.display().to_string()
}

/// Serves a router until Ctrl-C / SIGTERM, with client addresses available to handlers.
pub async fn axum_serve(listener: tokio::net::TcpListener, router: web::RouterType) -> Result<()> {
    web::serve(listener, router, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("server failed")
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_urls_follow_the_listen_address_unless_set() {
        let mut c = super::Config::default();
        assert!(super::derive_public_urls(&mut c, "127.0.0.1:9090").is_none());
        assert_eq!(c.desk.public_url, "http://127.0.0.1:9090");
        assert_eq!(c.payments.public_url, "http://127.0.0.1:9090");
        let mut c = super::Config::default();
        c.desk.public_url = "https://wt.example.cn".into();
        let warning = super::derive_public_urls(&mut c, "0.0.0.0:8080").unwrap();
        assert!(warning.contains("[payments] public_url"), "{warning}");
        assert_eq!(c.desk.public_url, "https://wt.example.cn", "set: kept");
        let mut c = super::Config::default();
        c.desk.public_url = "https://wt.example.cn".into();
        c.payments.public_url = "https://wt.example.cn".into();
        assert!(super::derive_public_urls(&mut c, "0.0.0.0:8080").is_none());
    }

    #[test]
    fn the_sandbox_secret_is_made_once_for_addresses_reachable_from_elsewhere() {
        use super::{is_loopback_listen, sandbox_secret, SANDBOX_SECRET_FILE};
        for l in [
            "127.0.0.1:8080",
            "127.1.2.3:80",
            "[::1]:8080",
            "localhost:8080",
        ] {
            assert!(is_loopback_listen(l), "{l}");
        }
        for l in [
            "0.0.0.0:8080",
            "[::]:8080",
            "192.168.1.5:8080",
            "hall.example.cn:443",
        ] {
            assert!(!is_loopback_listen(l), "{l}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(sandbox_secret(dir.path(), "127.0.0.1:8080")
            .unwrap()
            .is_none());
        assert!(!dir.path().join(SANDBOX_SECRET_FILE).exists());
        let (first, made) = sandbox_secret(dir.path(), "0.0.0.0:8080").unwrap().unwrap();
        assert!(made && first.len() == 32);
        let (again, made) = sandbox_secret(dir.path(), "0.0.0.0:8080").unwrap().unwrap();
        assert!(!made && again == first, "kept across starts");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SANDBOX_SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn serve_raises_the_open_files_limit_to_the_hard_limit() {
        use rustix::process::{getrlimit, Resource};
        let n = super::raise_open_files();
        let now = getrlimit(Resource::Nofile);
        assert_eq!(n, now.current);
        assert_eq!(
            now.current, now.maximum,
            "soft limit raised to the hard one"
        );
    }
}
