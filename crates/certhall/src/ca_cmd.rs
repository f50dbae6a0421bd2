//! `certhall ca …`: set up the SM2 CA, issue from a CSR (with the dual encryption certificate),
//! revoke, write CRLs, export the chain, show the state. The same use cases the staff console
//! will call. Files live in `DATA/ca/`; the issuance log, revocations and CRLs in the database.
//!
//! `DATA/ca/` holds `ca.toml` (names, URLs, policy OID, CRL/OCSP validity), `root.pem`,
//! `issuing.pem`, and the private keys `root.key`, `issuing.key`, `km.key` (the key manager's
//! escrow key) as PKCS#8 encrypted with PBES2 under the CA passphrase, which comes from
//! `CERTHALL_CA_PASSPHRASE`, the file named by `CERTHALL_CA_PASSPHRASE_FILE`, or a prompt.

use crate::Common;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use pki::crl::{build_crl, Reason, RevokedEntry};
use pki::issue::{make_issuing, make_root, serial_hex, CaNames, Issued};
use pki::ocsp::{CertState, Responder, StatusLookup};
use pki::{CaCert, IssueRequest, Issuer, KeySigner, Profile, PublishConfig, SubjectData, Usage};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use store::ca::{CaStore, RecordRow, SerialStatus};

/// `certhall ca …` actions.
#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// Create the SM2 root and issuing CA (or import an existing issuing CA).
    Init(InitArgs),
    /// Issue a certificate from a PKCS#10 CSR (PEM or DER).
    Issue(IssueArgs),
    /// Revoke a certificate by serial (hex).
    Revoke {
        /// Serial number, hex as printed by `ca issue` / `ca show`.
        serial: String,
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
    /// certificatePolicies OID (the CPS's).
    #[arg(long, default_value = "1.3.6.1.4.1.99999.1.1")]
    pub policy_oid: String,
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

/// `DATA/ca/ca.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// O of the CA certificates.
    pub org: String,
    /// Root CN.
    pub root_cn: String,
    /// Issuing CA CN.
    pub issuing_cn: String,
    /// Public base URL.
    pub base_url: String,
    /// certificatePolicies OID.
    pub policy_oid: String,
    /// CRL nextUpdate − thisUpdate, hours.
    #[serde(default = "default_crl_hours")]
    pub crl_validity_hours: u64,
    /// OCSP nextUpdate − thisUpdate, hours (responses re-signed after half of it).
    #[serde(default = "default_ocsp_hours")]
    pub ocsp_validity_hours: u64,
}

fn default_crl_hours() -> u64 {
    24 * 7
}
fn default_ocsp_hours() -> u64 {
    24
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
    dir.join("ca.toml").exists() && (env_passphrase_set() || dir.join(DEV_PASSPHRASE_FILE).exists())
}

/// On a data directory without a CA, and with no passphrase in the environment (the default
/// install), makes a development CA with a random passphrase kept in
/// `DATA/ca/dev-passphrase`, so the hall issues, publishes CRLs and answers OCSP out of the
/// box. Returns the CA directory when it made one. A real CA is made with `certhall ca init`
/// (passphrase from the environment or a prompt) before the first `serve`.
pub async fn ensure_dev_ca(common: &Common, base_url: &str) -> Result<Option<PathBuf>> {
    let dir = ca_dir(&common.data);
    if dir.join("ca.toml").exists() || env_passphrase_set() {
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
    write_private(&file, &pass)?;
    let args = InitArgs {
        org: "certhall Dev CA".into(),
        root_cn: "certhall SM2 Dev Root CA".into(),
        issuing_cn: "certhall SM2 Dev Issuing CA".into(),
        root_years: 20,
        issuing_years: 10,
        base_url: base_url.into(),
        policy_oid: "1.3.6.1.4.1.99999.1.1".into(),
        import_cert: None,
        import_key: None,
        import_root: None,
    };
    init_with(common, args, pass).await?;
    Ok(Some(dir))
}

fn now_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn from_ms(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// Whole-second "now" from the system clock (the binary's clock; pki never reads one).
pub fn clock_now() -> SystemTime {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs())
}

fn read_pem_cert(label: &str, path: &Path) -> Result<CaCert> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let der = pki::csr::pem_or_der(&text, &["CERTIFICATE"], "certificate")
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    CaCert::from_der(label, &der).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
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

/// The CA certificates and configuration (no private key needed).
pub struct CaFiles {
    /// ca.toml
    pub cfg: CaConfig,
    /// The root certificate.
    pub root: CaCert,
    /// The issuing CA certificate.
    pub issuing: CaCert,
}

impl CaFiles {
    /// Read `DATA/ca`.
    pub fn load(data: &Path) -> Result<Self> {
        let dir = ca_dir(data);
        let cfg_path = dir.join("ca.toml");
        let text = std::fs::read_to_string(&cfg_path).with_context(|| {
            format!(
                "no CA in {} (run `certhall ca init --data {}` first)",
                dir.display(),
                data.display()
            )
        })?;
        let cfg: CaConfig =
            toml::from_str(&text).with_context(|| format!("{} is invalid", cfg_path.display()))?;
        Ok(Self {
            cfg,
            root: read_pem_cert("root", &dir.join("root.pem"))?,
            issuing: read_pem_cert("issuing", &dir.join("issuing.pem"))?,
        })
    }

    /// The chain, issuing CA then root.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.issuing.pem(), self.root.pem())
    }

    /// Publication settings.
    pub fn publish(&self) -> Result<PublishConfig> {
        Ok(PublishConfig {
            base_url: self.cfg.base_url.trim_end_matches('/').to_string(),
            policy_oid: self
                .cfg
                .policy_oid
                .parse()
                .map_err(|e| anyhow!("policy_oid {}: {e:?}", self.cfg.policy_oid))?,
        })
    }
}

/// A CA opened for signing: certificates, keys, and the database.
pub struct Ca {
    /// Certificates and configuration.
    pub files: CaFiles,
    /// The issuing side.
    pub issuer: Issuer<KeySigner>,
    /// The issuing CA's secret key (shared with the OCSP responder and CRL signer).
    issuing_key: sm2::SecretKey,
    /// The key manager's escrow public key.
    pub km_public: sm2::PublicKey,
    /// The CA tables.
    pub store: CaStore,
}

/// Open the database of the data directory, migrated.
pub async fn open_db(common: &Common) -> Result<store::Db> {
    std::fs::create_dir_all(&common.data)
        .with_context(|| format!("cannot create {}", common.data.display()))?;
    let config = crate::config::Config::load(common.config.as_deref())?;
    let db = store::Db::connect(&config.database_url(&common.data))
        .await
        .map_err(|e| anyhow!("cannot open database: {e}"))?;
    db.migrate(now_ms(SystemTime::now()))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(db)
}

/// The CA tables of the hall's database, sealing with the hall's keys file.
pub async fn open_ca_store(common: &Common) -> Result<CaStore> {
    let db = open_db(common).await?;
    let config = crate::config::Config::load(common.config.as_deref())?;
    let keys = crate::keys::load_or_create(&config.keys_file(&common.data))?;
    Ok(CaStore::new(db, keys.vault))
}

impl Ca {
    /// Load files and decrypt the keys with `passphrase`.
    pub async fn open(common: &Common, passphrase: &str) -> Result<Self> {
        let files = CaFiles::load(&common.data)?;
        let dir = ca_dir(&common.data);
        let read = |n: &str| {
            std::fs::read_to_string(dir.join(n))
                .with_context(|| format!("cannot read {}", dir.join(n).display()))
        };
        let issuing_key = pki::keys::decrypt_pem(&read("issuing.key")?, passphrase)?;
        let km = pki::keys::decrypt_pem(&read("km.key")?, passphrase)?;
        if issuing_key.public_key() != files.issuing.public_key()? {
            bail!("issuing.key does not match issuing.pem");
        }
        let issuer = Issuer {
            ca: files.issuing.clone(),
            signer: KeySigner::new(&issuing_key)?,
            publish: files.publish()?,
        };
        let store = open_ca_store(common).await?;
        Ok(Self {
            files,
            issuer,
            issuing_key,
            km_public: km.public_key(),
            store,
        })
    }

    /// Assemble from parts (the benchmark makes its CA in a temporary directory).
    pub fn from_parts(
        files: CaFiles,
        issuing_key: sm2::SecretKey,
        km_public: sm2::PublicKey,
        store: CaStore,
    ) -> Result<Self> {
        let issuer = Issuer {
            ca: files.issuing.clone(),
            signer: KeySigner::new(&issuing_key)?,
            publish: files.publish()?,
        };
        Ok(Self {
            files,
            issuer,
            issuing_key,
            km_public,
            store,
        })
    }

    /// A CA held in memory on `db` (tests, demos, the bench; nothing written to disk): a
    /// new root and issuing CA named `names` valid from `now` ([`new_ca`]), a fresh key
    /// manager key, base URL `http://127.0.0.1:8080`, a private test policy OID and the
    /// default CRL and OCSP validity.
    pub fn in_memory(names: &CaNames, now: SystemTime, store: CaStore) -> Result<Self> {
        let new = new_ca(names, now)?;
        let files = CaFiles {
            cfg: CaConfig {
                org: names.org.clone(),
                root_cn: names.root_cn.clone(),
                issuing_cn: names.issuing_cn.clone(),
                base_url: "http://127.0.0.1:8080".into(),
                policy_oid: "1.3.6.1.4.1.99999.1.1".into(),
                crl_validity_hours: default_crl_hours(),
                ocsp_validity_hours: default_ocsp_hours(),
            },
            root: new.root,
            issuing: new.issuing,
        };
        let km = pki::keys::generate();
        Self::from_parts(files, new.issuing_key, km.public_key(), store)
    }

    /// A signer over the issuing CA key (for CRLs and the OCSP responder).
    pub fn issuing_signer(&self) -> Result<KeySigner> {
        Ok(KeySigner::new(&self.issuing_key)?)
    }

    /// The issuance pipeline with durable storage: prepare (profile, TBS, lint) → record in
    /// the database (committed) → sign → store. A crash after the record leaves the serial
    /// recorded with its TBS; nothing is signed before the record commits.
    pub async fn issue_durable(
        &self,
        reqs: &[IssueRequest],
        now: SystemTime,
    ) -> Result<Vec<Issued>> {
        let mut rng = rand::rngs::OsRng;
        let prepared = reqs
            .iter()
            .map(|r| self.issuer.prepare(r, now, &mut rng))
            .collect::<pki::Result<Vec<_>>>()?;
        let rows: Vec<RecordRow> = prepared
            .iter()
            .map(|p| RecordRow {
                serial: serial_hex(&p.serial),
                profile: p.profile.as_str().into(),
                key_usage: p.usage.as_str().into(),
                subject: p.subject.clone(),
                tbs: p.tbs_der.clone(),
                not_after: (p.not_after as i64) * 1000,
            })
            .collect();
        let label = self.issuer.ca.label.clone();
        self.store
            .record(&label, &rows, now_ms(now))
            .await
            .map_err(|e| anyhow!("issuance log: {e}"))?;
        let issued = prepared
            .iter()
            .map(|p| self.issuer.sign(p))
            .collect::<pki::Result<Vec<_>>>()?;
        let certs: Vec<(String, Vec<u8>)> = issued
            .iter()
            .map(|i| (serial_hex(&i.serial), i.der.clone()))
            .collect();
        self.store
            .store(&label, &certs, now_ms(now))
            .await
            .map_err(|e| anyhow!("storing certificates: {e}"))?;
        Ok(issued)
    }

    /// Build, keep and return a full CRL of the issuing CA.
    pub async fn make_crl(&self, now: SystemTime) -> Result<Vec<u8>> {
        let label = &self.issuer.ca.label;
        let rows = self
            .store
            .revoked(label, now_ms(now))
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(RevokedEntry {
                    serial: pki::issue::parse_serial_hex(&r.serial)?,
                    revoked_at: from_ms(r.at),
                    reason: Reason::from_code(r.reason as u8)?,
                })
            })
            .collect::<pki::Result<Vec<_>>>()?;
        let number = self
            .store
            .next_crl_number(label)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let next = now + Duration::from_secs(self.files.cfg.crl_validity_hours * 3600);
        let der = build_crl(
            &self.issuer.ca,
            &self.issuer.signer,
            &entries,
            number as u64,
            now,
            next,
        )?;
        self.store
            .put_crl(label, number, now_ms(now), now_ms(next), &der)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        Ok(der)
    }
}

/// Statuses fetched from the database for the serials of one OCSP request.
pub struct PrefetchedStatus(pub std::collections::HashMap<Vec<u8>, CertState>);

impl StatusLookup for PrefetchedStatus {
    fn status(&self, serial: &[u8]) -> CertState {
        self.0.get(serial).copied().unwrap_or(CertState::Unknown)
    }
}

/// Map a database status to the responder's.
pub fn to_cert_state(s: &SerialStatus) -> CertState {
    match s {
        SerialStatus::Good => CertState::Good,
        SerialStatus::Unknown => CertState::Unknown,
        SerialStatus::Revoked { at, reason } => CertState::Revoked {
            at: from_ms(*at),
            reason: Reason::from_code(*reason as u8).unwrap_or(Reason::Unspecified),
        },
    }
}

/// The OCSP responder and CRL source behind `/ocsp` and `/crl/<issuer>.crl`.
pub struct CaPublisher {
    /// The responder (pre-signed cache inside).
    pub responder: Responder<KeySigner>,
    /// The CA (for CRL regeneration).
    pub ca: Ca,
}

impl CaPublisher {
    /// From an opened CA.
    pub fn new(ca: Ca) -> Result<Self> {
        let validity = Duration::from_secs(ca.files.cfg.ocsp_validity_hours * 3600);
        Ok(Self {
            responder: Responder::new(ca.issuer.ca.clone(), ca.issuing_signer()?, validity)?,
            ca,
        })
    }

    /// Answer an OCSP request (DER), looking the serials up in the database first.
    pub async fn ocsp(&self, req: &[u8], now: SystemTime) -> Vec<u8> {
        let mut map = std::collections::HashMap::new();
        if let Ok(p) = pki::ocsp::parse_request(req) {
            for id in &p.cert_ids {
                let serial = id.serial_number.as_bytes().to_vec();
                let st = match self
                    .ca
                    .store
                    .status(&self.responder.ca().label, &serial_hex(&serial))
                    .await
                {
                    Ok(s) => to_cert_state(&s),
                    Err(_) => {
                        return pki::ocsp::error_response(x509_ocsp::OcspResponseStatus::TryLater)
                    }
                };
                map.insert(serial, st);
            }
        }
        self.responder.respond(req, &PrefetchedStatus(map), now)
    }

    /// The newest CRL of `label`.
    pub async fn crl(&self, label: &str) -> Option<Vec<u8>> {
        self.ca
            .store
            .latest_crl(label)
            .await
            .ok()
            .flatten()
            .map(|c| c.2)
    }

    /// Re-sign pre-signed OCSP responses past half their validity, with the current status,
    /// and make a new CRL when none exists or half of the newest one's validity has passed.
    pub async fn refresh(&self, now: SystemTime) -> Result<(usize, bool)> {
        let label = self.responder.ca().label.clone();
        let due = self.responder.due_for_refresh(now);
        for serial in &due {
            let st = self
                .ca
                .store
                .status(&label, &serial_hex(serial))
                .await
                .map_err(|e| anyhow!("{e}"))?;
            self.responder.presign(serial, to_cert_state(&st), now)?;
        }
        let half = Duration::from_secs(self.ca.files.cfg.crl_validity_hours * 1800);
        let stale = match self
            .ca
            .store
            .latest_crl(&label)
            .await
            .map_err(|e| anyhow!("{e}"))?
        {
            None => true,
            Some((_, next, _)) => from_ms(next) < now + half,
        };
        if stale {
            self.ca.make_crl(now).await?;
        }
        Ok((due.len(), stale))
    }

    /// Refresh every minute, forever (spawned by `serve`).
    pub async fn refresh_loop(self: std::sync::Arc<Self>) {
        loop {
            if let Err(e) = self.refresh(clock_now()).await {
                tracing::warn!(error = %e, "CA refresh failed");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
}

impl web::pki_routes::PkiPublisher for CaPublisher {
    fn ocsp<'a>(&'a self, request: &'a [u8]) -> web::pki_routes::BoxFut<'a, Vec<u8>> {
        Box::pin(async move { CaPublisher::ocsp(self, request, clock_now()).await })
    }
    fn decode_get(&self, path: &str) -> Option<Vec<u8>> {
        pki::ocsp::decode_get(path).ok()
    }
    fn crl<'a>(&'a self, issuer: &'a str) -> web::pki_routes::BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(async move { CaPublisher::crl(self, issuer).await })
    }
    fn ca_cert(&self, issuer: &str) -> Option<Vec<u8>> {
        let f = &self.ca.files;
        [&f.root, &f.issuing]
            .into_iter()
            .find(|c| c.label == issuer)
            .map(|c| c.der.clone())
    }
    fn malformed(&self) -> Vec<u8> {
        pki::ocsp::error_response(x509_ocsp::OcspResponseStatus::MalformedRequest)
    }
}

/// The CA's HTTP routes for `serve`, when a CA exists in the data directory and its
/// passphrase is in the environment; `None` (with a log line) otherwise.
pub async fn pki_routes(common: &Common) -> Result<Option<web::RouterType>> {
    if !ca_dir(&common.data).join("ca.toml").exists() {
        return Ok(None);
    }
    if !ca_openable(common) {
        tracing::warn!(
            "CA present but no CERTHALL_CA_PASSPHRASE(_FILE): /ocsp and /crl are not served"
        );
        return Ok(None);
    }
    let publisher = std::sync::Arc::new(CaPublisher::new(
        Ca::open(common, &passphrase(common)?).await?,
    )?);
    publisher.refresh(clock_now()).await?;
    tokio::spawn(publisher.clone().refresh_loop());
    Ok(Some(web::pki_routes::pki_router(publisher)))
}

/// The CA for the staff desk's production step, when one exists and its passphrase is in
/// the environment (otherwise production is refused with a message).
pub async fn open_for_production(common: &Common) -> Result<Option<Ca>> {
    if !ca_openable(common) {
        return Ok(None);
    }
    Ok(Some(Ca::open(common, &passphrase(common)?).await?))
}

/// Append one CA event to the hall's tamper-evident audit log (SPEC I3), actor `cli`.
/// Details carry serials, profiles and reasons, never personal data.
async fn audit(
    common: &Common,
    action: &str,
    subject: String,
    detail: serde_json::Value,
) -> Result<()> {
    let hall = crate::open(common, std::sync::Arc::new(app::clock::SystemClock)).await?;
    hall.app
        .admin()
        .record(app::authz::Operator::Cli, action, subject, detail)
        .await
        .map_err(|e| anyhow!("audit log: {e}"))
}

/// Run a `ca` action.
pub async fn run(common: &Common, action: CaAction) -> Result<()> {
    match action {
        CaAction::Init(a) => init(common, a).await,
        CaAction::Issue(a) => issue(common, a).await,
        CaAction::Revoke { serial, reason } => {
            let reason: Reason = reason.parse()?;
            let serial = serial_hex(&pki::issue::parse_serial_hex(&serial)?);
            let files = CaFiles::load(&common.data)?;
            let store = open_ca_store(common).await?;
            store
                .revoke(
                    &files.issuing.label,
                    &serial,
                    i64::from(reason.code()),
                    now_ms(clock_now()),
                )
                .await
                .map_err(|e| match e {
                    app::StoreError::NotFound => {
                        anyhow!("serial {serial} is not an unrevoked certificate of this CA")
                    }
                    other => anyhow!("{other}"),
                })?;
            audit(
                common,
                "ca.revoke",
                format!("cert:{serial}"),
                serde_json::json!({ "reason": reason.code() }),
            )
            .await?;
            println!("revoked {serial} ({reason:?}); run `certhall ca crl` to publish a new CRL");
            Ok(())
        }
        CaAction::Crl { out } => {
            let ca = Ca::open(common, &passphrase(common)?).await?;
            let der = ca.make_crl(clock_now()).await?;
            std::fs::write(&out, &der)
                .with_context(|| format!("cannot write {}", out.display()))?;
            audit(
                common,
                "ca.crl",
                "ca:issuing".into(),
                serde_json::json!({ "bytes": der.len() }),
            )
            .await?;
            println!("CRL written to {} ({} bytes)", out.display(), der.len());
            Ok(())
        }
        CaAction::ExportChain { out } => {
            let files = CaFiles::load(&common.data)?;
            std::fs::write(&out, files.chain_pem())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("chain (issuing CA, root) written to {}", out.display());
            Ok(())
        }
        CaAction::Show => {
            let files = CaFiles::load(&common.data)?;
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
                "base URL  {}   policy {}",
                files.cfg.base_url, files.cfg.policy_oid
            );
            let store = open_ca_store(common).await?;
            let counts = store
                .counts(&files.issuing.label)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            let shown: Vec<String> = counts.iter().map(|(s, n)| format!("{s}: {n}")).collect();
            println!(
                "certificates  {}",
                if shown.is_empty() {
                    "none".into()
                } else {
                    shown.join(", ")
                }
            );
            for r in store
                .list(&files.issuing.label, 20)
                .await
                .map_err(|e| anyhow!("{e}"))?
            {
                println!(
                    "  {}  {:<15} {:<4} {:<8} {}",
                    r.serial, r.profile, r.key_usage, r.status, r.subject
                );
            }
            Ok(())
        }
    }
}

/// A new SM2 CA's keys and certificates, before anything is written.
pub struct NewCa {
    /// The root's secret key.
    pub root_key: sm2::SecretKey,
    /// The self-signed root.
    pub root: CaCert,
    /// The issuing CA's secret key.
    pub issuing_key: sm2::SecretKey,
    /// The issuing CA certificate, signed by the root.
    pub issuing: CaCert,
}

/// Makes a new root and issuing CA named `names`, valid from `now`, with fresh keys (the one
/// place `ca init`, the hall's in-memory CA and the bench make a CA).
pub fn new_ca(names: &CaNames, now: SystemTime) -> Result<NewCa> {
    let mut rng = rand::rngs::OsRng;
    let root_key = pki::keys::generate();
    let root_signer = KeySigner::new(&root_key)?;
    let root = make_root(&root_signer, names, now, &mut rng)?;
    let issuing_key = pki::keys::generate();
    let issuing = make_issuing(
        &root_signer,
        &root,
        &issuing_key.public_key(),
        names,
        now,
        &mut rng,
    )?;
    Ok(NewCa {
        root_key,
        root,
        issuing_key,
        issuing,
    })
}

async fn init(common: &Common, a: InitArgs) -> Result<()> {
    let dir = ca_dir(&common.data);
    if dir.join("ca.toml").exists() {
        bail!(
            "a CA already exists in {}; refusing to overwrite it",
            dir.display()
        );
    }
    init_with(common, a, operator_passphrase()?).await
}

async fn init_with(common: &Common, a: InitArgs, pass: String) -> Result<()> {
    let dir = ca_dir(&common.data);
    if pass.len() < 8 {
        bail!("the CA passphrase must be at least 8 characters");
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let now = clock_now();
    let names = CaNames {
        root_cn: a.root_cn.clone(),
        issuing_cn: a.issuing_cn.clone(),
        org: a.org.clone(),
        root_years: a.root_years,
        issuing_years: a.issuing_years,
    };
    pki::names::check_name_value("org", &a.org)?;
    pki::names::check_name_value("root_cn", &a.root_cn)?;
    pki::names::check_name_value("issuing_cn", &a.issuing_cn)?;
    let (root, issuing, issuing_key, root_key_pem) =
        match (&a.import_cert, &a.import_key, &a.import_root) {
            (Some(cert), Some(key), Some(root)) => {
                let issuing = read_pem_cert("issuing", cert)?;
                let root = read_pem_cert("root", root)?;
                let text = std::fs::read_to_string(key)
                    .with_context(|| format!("cannot read {}", key.display()))?;
                let k = if text.contains("ENCRYPTED PRIVATE KEY") {
                    pki::keys::decrypt_pem(&text, &pass)?
                } else {
                    use pkcs8::DecodePrivateKey;
                    sm2::SecretKey::from_pkcs8_pem(&text)
                        .map_err(|e| anyhow!("{}: not an SM2 PKCS#8 key: {e}", key.display()))?
                };
                if k.public_key() != issuing.public_key()? {
                    bail!("the imported key does not match the imported certificate");
                }
                let root_pk = root.public_key()?;
                pki::signer::verify(
                    &root_pk,
                    &der::Encode::to_der(&issuing.cert.tbs_certificate)?,
                    issuing.cert.signature.raw_bytes(),
                )
                .map_err(|e| {
                    anyhow!("the imported certificate is not signed by the imported root: {e}")
                })?;
                (root, issuing, k, None)
            }
            (None, None, None) => {
                let new = new_ca(&names, now)?;
                (
                    new.root,
                    new.issuing,
                    new.issuing_key,
                    Some(pki::keys::encrypt_pem(&new.root_key, &pass)?),
                )
            }
            _ => bail!("--import-cert, --import-key and --import-root go together"),
        };
    let km = pki::keys::generate();
    if let Some(pem) = root_key_pem {
        write_private(&dir.join("root.key"), &pem)?;
    }
    write_private(
        &dir.join("issuing.key"),
        &pki::keys::encrypt_pem(&issuing_key, &pass)?,
    )?;
    write_private(&dir.join("km.key"), &pki::keys::encrypt_pem(&km, &pass)?)?;
    std::fs::write(dir.join("root.pem"), root.pem())?;
    std::fs::write(dir.join("issuing.pem"), issuing.pem())?;
    let cfg = CaConfig {
        org: a.org,
        root_cn: a.root_cn,
        issuing_cn: a.issuing_cn,
        base_url: a.base_url,
        policy_oid: a.policy_oid,
        crl_validity_hours: default_crl_hours(),
        ocsp_validity_hours: default_ocsp_hours(),
    };
    cfg.policy_oid
        .parse::<der::asn1::ObjectIdentifier>()
        .map_err(|e| anyhow!("--policy-oid: {e:?}"))?;
    std::fs::write(dir.join("ca.toml"), toml::to_string(&cfg)?)?;
    open_db(common).await?;
    audit(
        common,
        "ca.init",
        "ca:issuing".into(),
        serde_json::json!({ "imported": a.import_cert.is_some(), "issuing_serial": serial_hex(issuing.cert.tbs_certificate.serial_number.as_bytes()) }),
    )
    .await?;
    println!("CA ready in {}", dir.display());
    println!("  root     {}", root.cert.tbs_certificate.subject);
    println!("  issuing  {}", issuing.cert.tbs_certificate.subject);
    println!("  keys encrypted (PKCS#8 PBES2): root.key, issuing.key, km.key");
    Ok(())
}

async fn issue(common: &Common, a: IssueArgs) -> Result<()> {
    let profile: Profile = a.profile.parse()?;
    let person = match (&a.person, &a.id_number) {
        (Some(p), Some(i)) => Some((p.as_str(), i.as_str())),
        (None, None) => None,
        _ => bail!("--person and --id-number go together"),
    };
    let subject = SubjectData::new(profile, &a.org, &a.uscc, person)?;
    pki::profile::check_years(a.years)?;
    let meta =
        std::fs::metadata(&a.csr).with_context(|| format!("cannot read {}", a.csr.display()))?;
    if meta.len() > pki::csr::MAX_CSR_LEN as u64 {
        bail!(
            "certificate request is too large: {} bytes, at most {} accepted",
            meta.len(),
            pki::csr::MAX_CSR_LEN
        );
    }
    let bytes =
        std::fs::read(&a.csr).with_context(|| format!("cannot read {}", a.csr.display()))?;
    let csr = pki::csr::parse_csr(&bytes).map_err(|e| anyhow!("{}: {e}", a.csr.display()))?;
    let ca = Ca::open(common, &passphrase(common)?).await?;
    let now = clock_now();
    let mut reqs = vec![IssueRequest {
        profile,
        usage: Usage::Signing,
        subject: subject.clone(),
        public_key: csr.public_key,
        years: a.years,
    }];
    let enc_key = if a.with_encryption {
        let k = pki::keys::generate();
        reqs.push(IssueRequest {
            profile,
            usage: Usage::Encryption,
            subject,
            public_key: k.public_key(),
            years: a.years,
        });
        Some(k)
    } else {
        None
    };
    let issued = ca.issue_durable(&reqs, now).await?;
    for i in &issued {
        audit(
            common,
            "ca.issue",
            format!("cert:{}", serial_hex(&i.serial)),
            serde_json::json!({ "profile": profile.as_str(), "years": a.years, "encryption_pair": a.with_encryption }),
        )
        .await?;
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    std::fs::write(a.out.join("cert.pem"), issued[0].pem())?;
    std::fs::write(a.out.join("chain.pem"), ca.files.chain_pem())?;
    println!(
        "issued {} serial {}",
        profile.as_str(),
        serial_hex(&issued[0].serial)
    );
    if let (Some(k), Some(enc)) = (enc_key, issued.get(1)) {
        let mut rng = rand::rngs::OsRng;
        let env = pki::envelope::seal(&k, &csr.public_key, &mut rng)?;
        let escrow = pki::envelope::seal(&k, &ca.km_public, &mut rng)?;
        ca.store
            .escrow(
                &ca.issuer.ca.label,
                &serial_hex(&enc.serial),
                &escrow.der,
                now_ms(now),
            )
            .await
            .map_err(|e| anyhow!("escrow: {e}"))?;
        std::fs::write(a.out.join("enc-cert.pem"), enc.pem())?;
        std::fs::write(a.out.join("enc-key.envelope"), &env.der)?;
        std::fs::write(a.out.join("enc-key.skfblob"), &env.skf_blob)?;
        println!("issued encryption certificate serial {} (key enveloped to the CSR's key; escrow copy kept)", serial_hex(&enc.serial));
    }
    println!("written to {}", a.out.display());
    Ok(())
}
