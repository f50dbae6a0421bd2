//! `certhall ca …`: the clap wiring of the CA commands, where the CA passphrase comes from,
//! the development-CA bootstrap of `serve`, and the glue that hands the CA service (crate
//! `ca`) its storage (`store::ca::CaStore` on the hall's database) and the hall's clock.
//! Everything the CA does — issuing, revoking, CRLs, OCSP — is in `ca`.
//!
//! `DATA/ca/` holds `ca.toml`, `root.pem`, `issuing.pem` and the encrypted keys (see
//! `ca::files`); the passphrase comes from `CERTHALL_CA_PASSPHRASE`, the file named by
//! `CERTHALL_CA_PASSPHRASE_FILE`, the development CA's own file, or a prompt.

use crate::hall_ca::{beijing_today, HallClock};
use crate::Common;
use anyhow::{anyhow, bail, Context, Result};
use app::clock::Clock as HallClockTrait;
use ca::files::{Import, InitOptions};
use ca::pki::crl::Reason;
use ca::pki::issue::serial_hex;
use ca::pki::{IssueRequest, SubjectData, Usage};
use ca::{Ca, CaStorage, Publisher};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::ca::CaStore;

/// `certhall ca …` actions.
#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// Create the SM2 root and issuing CA (or import an existing issuing CA).
    Init(Box<InitArgs>),
    /// Issue a certificate from a PKCS#10 CSR (PEM or DER).
    Issue(IssueArgs),
    /// Revoke a certificate by serial (hex), with the other certificate of its dual pair; or,
    /// with `--issuing-ca`, the issuing CA certificate itself (by the root: `ca arl` then
    /// publishes it).
    Revoke {
        /// Serial number, hex as printed by `ca issue` / `ca show` (not with `--issuing-ca`).
        #[arg(required_unless_present = "issuing_ca", conflicts_with = "issuing_ca")]
        serial: Option<String>,
        /// Revoke the issuing CA certificate with the root.
        #[arg(long)]
        issuing_ca: bool,
        /// RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, superseded,
        /// cessationOfOperation, privilegeWithdrawn.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Write a full CRL of the issuing CA (DER) and keep it for `GET /crl/issuing.crl`.
    Crl {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the root's CRL (the ARL: revoked CA certificates; needs `root.key`) and keep it
    /// for `GET /crl/root.crl`, where the issuing CA certificate's CRLDP points.
    Arl {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the chain (issuing CA, then root) as PEM.
    ExportChain {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the CA certificates, configuration and issuance counts.
    Show,
}

/// `ca init` options; the names and URLs go to `DATA/ca/ca.toml`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Organisation (O) of the CA certificates.
    #[arg(long, default_value = "certhall CA")]
    pub org: String,
    /// Root CA common name.
    #[arg(long, default_value = "certhall SM2 Root CA")]
    pub root_cn: String,
    /// Issuing CA common name.
    #[arg(long, default_value = "certhall SM2 Issuing CA")]
    pub issuing_cn: String,
    /// Root validity in years.
    #[arg(long, default_value_t = 20)]
    pub root_years: u16,
    /// Issuing CA validity in years.
    #[arg(long, default_value_t = 10)]
    pub issuing_years: u16,
    /// Public base URL for CRL, OCSP and CA-issuer links.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// certificatePolicies OID: the CPS's, under an arc the CA owns (required unless `--dev`).
    #[arg(long, alias = "cps-oid")]
    pub policy_oid: Option<String>,
    /// The CPS's URI, emitted as the CPS qualifier (required unless `--dev`).
    #[arg(long)]
    pub cps_uri: Option<String>,
    /// A development CA: placeholder policy OID and CPS URI, marked as such.
    #[arg(long)]
    pub dev: bool,
    /// Identifier extensions: `2023` (GM/T 0015-2023 OIDs, default) or `2012` (IdentifyCode CHOICE).
    #[arg(long, default_value = "2023")]
    pub profile_edition: String,
    /// Also emit the USCC under the 2012 组织机构代码 arc 1.2.156.10260.4.1.4.
    #[arg(long)]
    pub unit_code_2012_arc: bool,
    /// Where the DN carries the USCC: serialNumber, OU (SZCA style) or none.
    #[arg(long, default_value = "serialNumber")]
    pub unit_code_in_dn: String,
    /// Where a 机构个人证书's DN carries the 身份证号码: serialNumber or none.
    #[arg(long, default_value = "serialNumber")]
    pub person_id_in_dn: String,
    /// Import this issuing CA certificate (PEM) instead of making one.
    #[arg(long, requires_all = ["import_key", "import_root"])]
    pub import_cert: Option<PathBuf>,
    /// The imported issuing CA's private key (PKCS#8 PEM, plain or encrypted with the passphrase).
    #[arg(long)]
    pub import_key: Option<PathBuf>,
    /// The root certificate (PEM) of the imported issuing CA.
    #[arg(long)]
    pub import_root: Option<PathBuf>,
}

/// `ca issue` options.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The PKCS#10 request (PEM or DER) from the USB key.
    #[arg(long)]
    pub csr: PathBuf,
    /// org (机构证书) or org-individual (机构个人证书).
    #[arg(long)]
    pub profile: String,
    /// 办理年限, 1–5.
    #[arg(long)]
    pub years: u16,
    /// 单位名称.
    #[arg(long)]
    pub org: String,
    /// 统一社会信用代码.
    #[arg(long)]
    pub uscc: String,
    /// 申请人姓名 (org-individual).
    #[arg(long)]
    pub person: Option<String>,
    /// 申请人身份证号码 (org-individual).
    #[arg(long)]
    pub id_number: Option<String>,
    /// Also make the encryption key pair and certificate, enveloped to the CSR's key.
    #[arg(long)]
    pub with_encryption: bool,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// The CA's directory inside the data directory.
pub fn ca_dir(data: &Path) -> PathBuf {
    data.join("ca")
}

/// Where `serve` keeps the passphrase of the development CA it generates on a fresh data
/// directory (mode 0600, beside the encrypted keys). A production CA made with
/// `certhall ca init` never has this file.
pub const DEV_PASSPHRASE_FILE: &str = "dev-passphrase";

fn env_passphrase_set() -> bool {
    std::env::var("CERTHALL_CA_PASSPHRASE").is_ok()
        || std::env::var("CERTHALL_CA_PASSPHRASE_FILE").is_ok()
}

/// The CA passphrase: `CERTHALL_CA_PASSPHRASE`, the file in `CERTHALL_CA_PASSPHRASE_FILE`,
/// the development CA's own file (see [`ensure_dev_ca`]), or a prompt on a terminal.
pub fn passphrase(common: &Common) -> Result<String> {
    let dev = ca_dir(&common.data).join(DEV_PASSPHRASE_FILE);
    if !env_passphrase_set() && dev.exists() {
        return read_passphrase_file(&dev);
    }
    operator_passphrase()
}

/// The passphrase `serve` would open the CA in `dir` with, without asking anyone: the
/// environment's, else the development CA's file; `None` when neither is there.
pub fn passphrase_for_doctor(dir: &Path) -> Option<String> {
    if let Ok(p) = std::env::var("CERTHALL_CA_PASSPHRASE") {
        return Some(p);
    }
    if let Ok(f) = std::env::var("CERTHALL_CA_PASSPHRASE_FILE") {
        return read_passphrase_file(Path::new(&f)).ok();
    }
    read_passphrase_file(&dir.join(DEV_PASSPHRASE_FILE)).ok()
}

/// The operator's passphrase only (environment, file named there, or a prompt): what
/// `ca init` uses, so a real CA never takes a leftover development passphrase.
fn operator_passphrase() -> Result<String> {
    if let Ok(p) = std::env::var("CERTHALL_CA_PASSPHRASE") {
        return Ok(p);
    }
    if let Ok(f) = std::env::var("CERTHALL_CA_PASSPHRASE_FILE") {
        return read_passphrase_file(Path::new(&f));
    }
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!("CA key passphrase: ");
        let mut s = String::new();
        std::io::stdin().read_line(&mut s)?;
        return Ok(s.trim_end_matches(['\r', '\n']).to_string());
    }
    bail!("no CA passphrase: set CERTHALL_CA_PASSPHRASE or CERTHALL_CA_PASSPHRASE_FILE")
}

fn read_passphrase_file(f: &Path) -> Result<String> {
    let s = std::fs::read_to_string(f)
        .with_context(|| format!("cannot read CA passphrase file {}", f.display()))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_string())
}

/// Whether `serve` can open the CA without asking: it exists and its passphrase is in the
/// environment or is the development CA's file.
fn ca_openable(common: &Common) -> bool {
    let dir = ca_dir(&common.data);
    ca::files::exists(&dir) && (env_passphrase_set() || dir.join(DEV_PASSPHRASE_FILE).exists())
}

fn init_options(a: InitArgs) -> InitOptions {
    let import = match (a.import_cert, a.import_key, a.import_root) {
        (Some(cert), Some(key), Some(root)) => Some(Import { cert, key, root }),
        _ => None,
    };
    let (policy_oid, cps_uri) = if a.dev {
        (
            a.policy_oid
                .unwrap_or_else(|| ca::files::DEV_POLICY_OID.into()),
            a.cps_uri.or_else(|| {
                Some(format!(
                    "{}{}",
                    a.base_url.trim_end_matches('/'),
                    ca::files::DEV_CPS_PATH
                ))
            }),
        )
    } else {
        (a.policy_oid.unwrap_or_default(), a.cps_uri)
    };
    InitOptions {
        org: a.org,
        root_cn: a.root_cn,
        issuing_cn: a.issuing_cn,
        root_years: a.root_years,
        issuing_years: a.issuing_years,
        base_url: a.base_url,
        policy_oid,
        cps_uri,
        development: a.dev,
        profile: ca::files::ProfileConfig {
            edition: a.profile_edition,
            unit_code_2012_arc: a.unit_code_2012_arc,
            unit_code_in_dn: a.unit_code_in_dn,
            person_id_in_dn: a.person_id_in_dn,
        },
        import,
    }
}

/// On a data directory without a CA, and with no passphrase in the environment (the default
/// install), makes a development CA with a random passphrase kept in
/// `DATA/ca/dev-passphrase`, so the hall issues, publishes CRLs and answers OCSP out of the
/// box. Returns the CA directory when it made one. A real CA is made with `certhall ca init`
/// (passphrase from the environment or a prompt) before the first `serve`.
pub async fn ensure_dev_ca(
    common: &Common,
    base_url: &str,
    clock: Arc<dyn HallClockTrait>,
) -> Result<Option<PathBuf>> {
    let dir = ca_dir(&common.data);
    if ca::files::exists(&dir) || env_passphrase_set() {
        return Ok(None);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pass = hex::encode(rand::random::<[u8; 24]>());
    let file = dir.join(DEV_PASSPHRASE_FILE);
    if file.exists() {
        // A start that crashed half-way: start again from nothing in this directory.
        for f in ["root.key", "issuing.key", "km.key", DEV_PASSPHRASE_FILE] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    write_secret(&file, &pass)?;
    let opts = InitOptions {
        org: "certhall Dev CA".into(),
        root_cn: "certhall SM2 Dev Root CA".into(),
        issuing_cn: "certhall SM2 Dev Issuing CA".into(),
        root_years: 20,
        issuing_years: 10,
        base_url: base_url.into(),
        policy_oid: ca::files::DEV_POLICY_OID.into(),
        cps_uri: Some(format!(
            "{}{}",
            base_url.trim_end_matches('/'),
            ca::files::DEV_CPS_PATH
        )),
        development: true,
        profile: Default::default(),
        import: None,
    };
    init_with(common, opts, &pass, clock).await?;
    Ok(Some(dir))
}

fn write_secret(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Opens the database of the data directory, migrated.
pub async fn open_db(common: &Common, clock: &dyn HallClockTrait) -> Result<store::Db> {
    std::fs::create_dir_all(&common.data)
        .with_context(|| format!("cannot create {}", common.data.display()))?;
    let config = crate::config::Config::load(common.config.as_deref())?;
    let db = store::Db::connect(&config.database_url(&common.data))
        .await
        .map_err(|e| anyhow!("cannot open database: {e}"))?;
    db.migrate(clock.now()).await.map_err(|e| anyhow!("{e}"))?;
    Ok(db)
}

/// The CA tables of the hall's database, sealing with the hall's keys file.
pub async fn open_ca_store(common: &Common, clock: &dyn HallClockTrait) -> Result<CaStore> {
    let db = open_db(common, clock).await?;
    let config = crate::config::Config::load(common.config.as_deref())?;
    let keys = crate::keys::load_or_create(&config.keys_file(&common.data))?;
    Ok(CaStore::new(db, keys.vault))
}

/// Opens the CA of the data directory with `passphrase`, over the hall's database and clock.
pub async fn open_ca(
    common: &Common,
    passphrase: &str,
    clock: Arc<dyn HallClockTrait>,
) -> Result<Ca> {
    let storage: Arc<dyn CaStorage> = Arc::new(open_ca_store(common, clock.as_ref()).await?);
    Ok(Ca::open(
        &ca_dir(&common.data),
        passphrase,
        storage,
        Arc::new(HallClock(clock)),
    )?)
}

/// The CA for `serve` (the staff desk's production step and the `/ocsp`, `/crl`, `/ca`
/// routes), when one exists and its passphrase is in the environment or the development
/// CA's file; `None` otherwise (production is then refused with a message).
pub async fn open_for_serve(
    common: &Common,
    clock: Arc<dyn HallClockTrait>,
) -> Result<Option<Arc<Ca>>> {
    if !ca::files::exists(&ca_dir(&common.data)) {
        return Ok(None);
    }
    if !ca_openable(common) {
        tracing::warn!(
            "CA present but no CERTHALL_CA_PASSPHRASE(_FILE): production is refused, /ocsp and /crl are not served"
        );
        return Ok(None);
    }
    Ok(Some(Arc::new(
        open_ca(common, &passphrase(common)?, clock).await?,
    )))
}

/// The CA's publisher behind `web::pki_routes` (the web crate's trait, on this side of the
/// crate graph).
struct WebPublisher(Arc<Publisher>);

impl web::pki_routes::PkiPublisher for WebPublisher {
    fn ocsp<'a>(&'a self, request: &'a [u8]) -> web::pki_routes::BoxFut<'a, Vec<u8>> {
        Box::pin(self.0.ocsp(request))
    }
    fn decode_get(&self, path: &str) -> Option<Vec<u8>> {
        ca::pki::ocsp::decode_get(path).ok()
    }
    fn crl<'a>(&'a self, issuer: &'a str) -> web::pki_routes::BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(self.0.crl(issuer))
    }
    fn ca_cert(&self, issuer: &str) -> Option<Vec<u8>> {
        self.0.ca_cert(issuer)
    }
    fn malformed(&self) -> Vec<u8> {
        self.0.malformed()
    }
    fn ocsp_meta(&self, response: &[u8]) -> Option<web::pki_routes::OcspMeta> {
        ca::pki::ocsp::response_meta(response).map(|m| web::pki_routes::OcspMeta {
            this_update: m.this_update,
            next_update: m.next_update,
            etag: m.etag,
        })
    }
    fn now(&self) -> std::time::SystemTime {
        self.0.ca().now()
    }
}

/// The CA's HTTP routes for `serve`: a publisher over `ca`, refreshed now and then every
/// minute in the background (OCSP responses past half their validity, a CRL past half its).
pub async fn pki_routes(ca: Arc<Ca>) -> Result<web::RouterType> {
    let publisher = Arc::new(Publisher::new(ca)?);
    publisher.report_unfinished().await;
    publisher.refresh().await?;
    tokio::spawn(publisher.clone().refresh_loop());
    Ok(pki_router(publisher))
}

/// The `/crl`, `/ca`, `/ocsp` router of a publisher.
pub fn pki_router(publisher: Arc<Publisher>) -> web::RouterType {
    web::pki_routes::pki_router(Arc::new(WebPublisher(publisher)))
}

/// Append one CA event to the hall's tamper-evident audit log (SPEC I3), actor `cli`.
/// Details carry serials, profiles and reasons, never personal data.
pub(crate) async fn audit(
    common: &Common,
    clock: &Arc<dyn HallClockTrait>,
    action: &str,
    subject: String,
    detail: serde_json::Value,
) -> Result<()> {
    let hall = crate::open(common, clock.clone()).await?;
    hall.app
        .admin()
        .record(app::authz::Operator::Cli, action, subject, detail)
        .await
        .map_err(|e| anyhow!("audit log: {e}"))
}

/// Run a `ca` action on the hall's clock.
pub async fn run(common: &Common, action: CaAction, clock: Arc<dyn HallClockTrait>) -> Result<()> {
    match action {
        CaAction::Init(a) => {
            let opts = init_options(*a);
            if ca::files::exists(&ca_dir(&common.data)) {
                bail!(
                    "a CA already exists in {}; refusing to overwrite it",
                    ca_dir(&common.data).display()
                );
            }
            init_with(common, opts, &operator_passphrase()?, clock).await
        }
        CaAction::Issue(a) => issue(common, a, clock).await,
        CaAction::Revoke {
            serial,
            issuing_ca,
            reason,
        } => {
            let reason: Reason = reason.parse()?;
            let files = ca::CaFiles::load(&ca_dir(&common.data))?;
            let storage = open_ca_store(common, clock.as_ref()).await?;
            let now = ca::Clock::now(&HallClock(clock.clone()));
            if issuing_ca {
                let serial = ca::service::revoke_issuing_ca(&storage, &files, reason, now).await?;
                audit(
                    common,
                    &clock,
                    "ca.revoke_issuing_ca",
                    format!("ca:{serial}"),
                    serde_json::json!({ "reason": reason.code() }),
                )
                .await?;
                println!(
                    "revoked the issuing CA {serial} ({reason:?}) under the root; run `certhall ca arl` to publish the root's CRL (ARL)"
                );
                return Ok(());
            }
            let serial = serial.unwrap_or_default();
            let done =
                ca::service::revoke(&storage, &files.issuing.label, &serial, reason, now).await?;
            for s in std::iter::once(&done.serial).chain(done.partner.as_ref()) {
                audit(
                    common,
                    &clock,
                    "ca.revoke",
                    format!("cert:{s}"),
                    serde_json::json!({ "reason": reason.code(), "pair_of": (s != &done.serial).then_some(&done.serial) }),
                )
                .await?;
            }
            println!("revoked {} ({reason:?})", done.serial);
            if let Some(p) = &done.partner {
                println!(
                    "revoked {p} ({reason:?}) with it: the other certificate of the same dual pair (signing + encryption)"
                );
            }
            println!("run `certhall ca crl` to publish a new CRL");
            Ok(())
        }
        CaAction::Arl { out } => {
            let ca = open_ca(common, &passphrase(common)?, clock.clone()).await?;
            let der = ca.make_arl().await?;
            std::fs::write(&out, &der)
                .with_context(|| format!("cannot write {}", out.display()))?;
            audit(
                common,
                &clock,
                "ca.arl",
                "ca:root".into(),
                serde_json::json!({ "bytes": der.len() }),
            )
            .await?;
            println!(
                "ARL (the root's CRL) written to {} ({} bytes); served at /crl/root.crl",
                out.display(),
                der.len()
            );
            Ok(())
        }
        CaAction::Crl { out } => {
            let ca = open_ca(common, &passphrase(common)?, clock.clone()).await?;
            let der = ca.make_crl().await?;
            std::fs::write(&out, &der)
                .with_context(|| format!("cannot write {}", out.display()))?;
            audit(
                common,
                &clock,
                "ca.crl",
                "ca:issuing".into(),
                serde_json::json!({ "bytes": der.len() }),
            )
            .await?;
            println!("CRL written to {} ({} bytes)", out.display(), der.len());
            Ok(())
        }
        CaAction::ExportChain { out } => {
            let files = ca::CaFiles::load(&ca_dir(&common.data))?;
            std::fs::write(&out, files.chain_pem())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("chain (issuing CA, root) written to {}", out.display());
            Ok(())
        }
        CaAction::Show => show(common, clock).await,
    }
}

async fn show(common: &Common, clock: Arc<dyn HallClockTrait>) -> Result<()> {
    let files = ca::CaFiles::load(&ca_dir(&common.data))?;
    for c in [&files.root, &files.issuing] {
        let t = &c.cert.tbs_certificate;
        println!("{:<8} subject   {}", c.label, t.subject);
        println!(
            "{:<8} serial    {}",
            "",
            serial_hex(t.serial_number.as_bytes())
        );
        println!(
            "{:<8} validity  {} – {}",
            "", t.validity.not_before, t.validity.not_after
        );
        println!("{:<8} key id    {}", "", hex::encode_upper(&c.key_id));
    }
    println!(
        "base URL  {}   policy {}   CPS {}",
        files.cfg.base_url,
        files.cfg.policy_oid,
        files.cfg.cps_uri.as_deref().unwrap_or("(none)")
    );
    if files.cfg.development {
        println!("DEVELOPMENT CA: placeholder policy OID and CPS URI, not for production");
    }
    let p = &files.cfg.profile;
    println!(
        "profile   GM/T 0015-{}  unit code in DN: {}  ID number in DN: {}{}",
        p.edition,
        p.unit_code_in_dn,
        p.person_id_in_dn,
        if p.unit_code_2012_arc {
            "  + 2012 arc 1.2.156.10260.4.1.4"
        } else {
            ""
        }
    );
    let storage = open_ca_store(common, clock.as_ref()).await?;
    let label = &files.issuing.label;
    let counts = storage.counts(label).await?;
    let shown: Vec<String> = counts.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!(
        "certificates  {}",
        if shown.is_empty() {
            "none".into()
        } else {
            shown.join(", ")
        }
    );
    for r in storage.list(label, 20).await? {
        println!(
            "  {}  {:<15} {:<4} {:<9} {}",
            r.serial, r.profile, r.key_usage, r.status, r.subject
        );
    }
    let unfinished = storage.unfinished(label).await?;
    if !unfinished.is_empty() {
        println!(
            "unfinished  {} serial(s) recorded but never stored (a pipeline stopped between recording and storing; never signed again):",
            unfinished.len()
        );
        for u in unfinished {
            println!("  {}  {:<15} {}", u.serial, u.profile, u.key_usage);
        }
    }
    Ok(())
}

async fn init_with(
    common: &Common,
    opts: InitOptions,
    pass: &str,
    clock: Arc<dyn HallClockTrait>,
) -> Result<()> {
    let dir = ca_dir(&common.data);
    let now = ca::clock::whole_seconds(ca::Clock::now(&HallClock(clock.clone())));
    let created = ca::files::create(&dir, &opts, pass, now)?;
    open_db(common, clock.as_ref()).await?;
    audit(
        common,
        &clock,
        "ca.init",
        "ca:issuing".into(),
        serde_json::json!({ "imported": created.imported, "issuing_serial": created.issuing_serial }),
    )
    .await?;
    println!("CA ready in {}", dir.display());
    println!(
        "  root     {}",
        created.files.root.cert.tbs_certificate.subject
    );
    println!(
        "  issuing  {}",
        created.files.issuing.cert.tbs_certificate.subject
    );
    println!("  keys encrypted (PKCS#8 PBES2): root.key, issuing.key, km.key");
    Ok(())
}

/// The typed subject of `ca issue`: the profile name, and the USCC and ID number parsed as
/// the hall's forms parse them (GB 32100, GB 11643, on today's date).
fn subject_of(a: &IssueArgs, today: domain::Date) -> Result<SubjectData> {
    let kind = ca::pki::parse_profile(&a.profile)?;
    let uscc = domain::CreditCode::parse(&a.uscc).map_err(|e| {
        anyhow!("--uscc is not a valid 统一社会信用代码 (GB 32100 format and check character): {e}")
    })?;
    let person = match (&a.person, &a.id_number) {
        (Some(p), Some(i)) => Some((
            p.as_str(),
            domain::IdNumber::parse(i, today).map_err(|e| {
                anyhow!("--id-number is not a valid 身份证号码 (GB 11643 format, birth date and check character): {e}")
            })?,
        )),
        (None, None) => None,
        _ => bail!("--person and --id-number go together"),
    };
    Ok(SubjectData::new(kind, &a.org, uscc, person)?)
}

async fn issue(common: &Common, a: IssueArgs, clock: Arc<dyn HallClockTrait>) -> Result<()> {
    let today = beijing_today(ca::Clock::now(&HallClock(clock.clone())))
        .context("the clock is out of range")?;
    let subject = subject_of(&a, today)?;
    let kind = subject.kind();
    ca::pki::profile::check_years(a.years)?;
    let meta =
        std::fs::metadata(&a.csr).with_context(|| format!("cannot read {}", a.csr.display()))?;
    if meta.len() > ca::pki::csr::MAX_CSR_LEN as u64 {
        bail!(
            "certificate request is too large: {} bytes, at most {} accepted",
            meta.len(),
            ca::pki::csr::MAX_CSR_LEN
        );
    }
    let bytes =
        std::fs::read(&a.csr).with_context(|| format!("cannot read {}", a.csr.display()))?;
    let csr = ca::pki::csr::parse_csr(&bytes).map_err(|e| anyhow!("{}: {e}", a.csr.display()))?;
    let ca = open_ca(common, &passphrase(common)?, clock.clone()).await?;
    let (sign, enc) = if a.with_encryption {
        let pair = ca
            .issue_with_encryption(subject, csr.public_key, a.years)
            .await?;
        (pair.sign, Some((pair.enc, pair.envelope)))
    } else {
        let mut issued = ca
            .issue(&[IssueRequest {
                usage: Usage::Signing,
                subject,
                public_key: csr.public_key,
                years: a.years,
            }])
            .await?;
        (issued.remove(0), None)
    };
    let profile = ca::pki::profile_name(kind);
    let serials = std::iter::once(&sign).chain(enc.as_ref().map(|(e, _)| e));
    for i in serials {
        audit(
            common,
            &clock,
            "ca.issue",
            format!("cert:{}", serial_hex(&i.serial)),
            serde_json::json!({ "profile": profile, "years": a.years, "encryption_pair": a.with_encryption }),
        )
        .await?;
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    std::fs::write(a.out.join("cert.pem"), sign.pem())?;
    std::fs::write(a.out.join("chain.pem"), ca.chain_pem())?;
    println!("issued {profile} serial {}", serial_hex(&sign.serial));
    if let Some((enc, env)) = enc {
        std::fs::write(a.out.join("enc-cert.pem"), enc.pem())?;
        std::fs::write(a.out.join("enc-key.envelope"), &env.der)?;
        std::fs::write(a.out.join("enc-key.skfblob"), &env.skf_blob)?;
        println!(
            "issued encryption certificate serial {} (key enveloped to the CSR's key; escrow copy kept)",
            serial_hex(&enc.serial)
        );
    }
    println!("written to {}", a.out.display());
    Ok(())
}
