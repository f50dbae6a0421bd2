//! `certhall seal …`: the seal-maker (制章人) key and certificate (`maker-init`), making a
//! seal for a unit by hand (`make`), and `verify FILE [--document DOC]`, which checks an
//! electronic seal or a seal signature step by step, printing each step in Chinese; exit
//! code 0 when valid.
//!
//! Trust: the CA certificates given with `--ca` (PEM or DER, repeatable) and the seal-maker
//! certificates given with `--maker`; without them, the hall's own CA (`DATA/ca/root.pem`,
//! `issuing.pem`) and seal-maker certificate (`DATA/ca/seal-maker.pem`) when present.

use crate::Common;
use anyhow::{anyhow, bail, Context, Result};
use app::clock::Clock;
use clap::Subcommand;
use seal::make::{make_seal, seal_maker_cert, SealKind, SealSpec};
use seal::verify::{self, NoStatus, Trust};
use seal::Edition;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The seal-maker's certificate and encrypted key in the CA directory.
pub const MAKER_CERT: &str = "seal-maker.pem";
/// The seal-maker's key, encrypted with the CA passphrase.
pub const MAKER_KEY: &str = "seal-maker.key";

/// `certhall seal …`.
#[derive(Debug, Subcommand)]
pub enum SealAction {
    /// Make the seal-maker (制章人) key and certificate, issued by the hall's issuing CA.
    MakerInit {
        /// Validity in years (not past the issuing CA's).
        #[arg(long, default_value_t = 5)]
        years: u64,
    },
    /// Make a unit's seal (单位印章) bound to its 机构证书.
    Make {
        /// 印章名称: the unit's name.
        #[arg(long)]
        name: String,
        /// The unit's 机构证书 (signing), PEM or DER.
        #[arg(long)]
        cert: PathBuf,
        /// The seal picture (PNG with transparency).
        #[arg(long)]
        picture: PathBuf,
        /// Display diameter in millimetres.
        #[arg(long, default_value_t = 42)]
        size_mm: u32,
        /// 2020 (GB/T 38540-2020, default), 2025, or 2014 (GM/T 0031-2014).
        #[arg(long, default_value = "2020")]
        edition: String,
        /// Where to write the seal (DER).
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a seal (SESeal) or a seal signature (SES_Signature), every step printed.
    Verify {
        /// The seal or signature file (DER, PEM or Base64).
        file: PathBuf,
        /// The signed document, to check the signature's document hash.
        #[arg(long)]
        document: Option<PathBuf>,
        /// A trusted CA certificate (PEM or DER); repeatable.
        #[arg(long = "ca")]
        cas: Vec<PathBuf>,
        /// A trusted seal-maker (制章人) certificate; repeatable.
        #[arg(long = "maker")]
        makers: Vec<PathBuf>,
        /// Check a seal at this time (Unix seconds) instead of now.
        #[arg(long)]
        at: Option<u64>,
    },
}

/// The seal verifier behind the hall's public 电子印章核验 page: the hall's CA certificates and
/// seal-maker certificate as trust, the hall's clock for validity periods.
pub struct HallSealChecker {
    trust: Trust,
    clock: Arc<dyn Clock>,
}

impl HallSealChecker {
    /// A checker trusting `trust`.
    pub fn new(trust: Trust, clock: Arc<dyn Clock>) -> Self {
        Self { trust, clock }
    }

    /// A checker with the trust of the data directory's CA (`root.pem`, `issuing.pem`,
    /// `seal-maker.pem` where present).
    pub fn for_data(data: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        Ok(Self::new(trust(data, &[], &[])?, clock))
    }
}

impl app::seals::SealChecker for HallSealChecker {
    fn check(&self, file: &[u8], document: Option<&[u8]>) -> app::seals::SealCheck {
        let now = u64::try_from(self.clock.now() / 1000).unwrap_or(0);
        let report = if seal::parse::is_signature(file) {
            verify::verify_signature(file, document, &self.trust, &NoStatus)
        } else {
            verify::verify_seal(file, now, &self.trust, &NoStatus)
        };
        app::seals::SealCheck {
            what: report.what.into(),
            edition: report
                .edition
                .map(|e| e.label().to_owned())
                .unwrap_or_default(),
            es_id: report.es_id.clone(),
            seal_name: report.seal_name.clone(),
            steps: report
                .steps
                .iter()
                .map(|s| app::seals::CheckStep {
                    name: s.name.into(),
                    passed: match s.outcome {
                        verify::Outcome::Pass => Some(true),
                        verify::Outcome::Fail => Some(false),
                        verify::Outcome::Skipped => None,
                    },
                    detail: s.detail.clone(),
                })
                .collect(),
        }
    }
}

fn read_cert(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("无法读取证书 {}", path.display()))?;
    verify::cert_der(&bytes).with_context(|| format!("{} 不是 PEM 或 DER 证书", path.display()))
}

fn trust(data: &Path, cas: &[PathBuf], makers: &[PathBuf]) -> Result<Trust> {
    let dir = crate::ca_cmd::ca_dir(data);
    let mut t = Trust::default();
    for p in cas {
        t.cas.push(read_cert(p)?);
    }
    for p in makers {
        t.seal_makers.push(read_cert(p)?);
    }
    if cas.is_empty() {
        for name in ["root.pem", "issuing.pem"] {
            let p = dir.join(name);
            if p.exists() {
                t.cas.push(read_cert(&p)?);
            }
        }
    }
    if makers.is_empty() {
        let p = dir.join(MAKER_CERT);
        if p.exists() {
            t.seal_makers.push(read_cert(&p)?);
        }
    }
    Ok(t)
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs `certhall seal …`; an invalid seal is an error (non-zero exit) after the report.
pub async fn run(common: &Common, action: SealAction, clock: Arc<dyn Clock>) -> Result<()> {
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(clock.now().max(0) as u64);
    match action {
        SealAction::MakerInit { years } => maker_init(common, years, now, clock).await,
        SealAction::Make {
            name,
            cert,
            picture,
            size_mm,
            edition,
            out,
        } => {
            let edition = match edition.as_str() {
                "2014" => Edition::Gmt0031_2014,
                "2020" => Edition::Gbt38540_2020,
                "2025" => Edition::Gbt38540_2025,
                other => bail!("--edition {other}: use 2014, 2020 or 2025"),
            };
            let dir = crate::ca_cmd::ca_dir(&common.data);
            let pass = crate::ca_cmd::passphrase(common)?;
            let key_pem = std::fs::read_to_string(dir.join(MAKER_KEY)).with_context(|| {
                format!(
                    "no seal-maker key in {}: run `certhall seal maker-init`",
                    dir.display()
                )
            })?;
            let key =
                pki::keys::decrypt_pem(&key_pem, &pass).map_err(|e| anyhow!("{MAKER_KEY}: {e}"))?;
            let maker_cert = read_cert(&dir.join(MAKER_CERT))?;
            let unit = read_cert(&cert)?;
            let parsed = <x509_cert::Certificate as der::Decode>::from_der(&unit)
                .map_err(|e| anyhow!("{}: {e}", cert.display()))?;
            let end = pki::names::unix_secs(&parsed.tbs_certificate.validity.not_after);
            let png = std::fs::read(&picture)
                .with_context(|| format!("cannot read {}", picture.display()))?;
            seal::picture::png_size(&png).map_err(|e| anyhow!("{}: {e}", picture.display()))?;
            let mut es_id = [0u8; 8];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut es_id);
            let spec = SealSpec {
                edition,
                es_id: hex::encode_upper(es_id),
                kind: SealKind::Unit,
                name: name.clone(),
                signer_certs: vec![unit],
                created: now,
                valid_start: now,
                valid_end: SystemTime::UNIX_EPOCH + Duration::from_secs(end),
                picture_png: png,
                width_mm: size_mm,
                height_mm: size_mm,
            };
            let signer = pki::KeySigner::new(&key)?;
            let der = make_seal(&spec, &signer, &maker_cert)?;
            std::fs::write(&out, &der)
                .with_context(|| format!("cannot write {}", out.display()))?;
            crate::ca_cmd::audit(
                common,
                &clock,
                "seal.make",
                format!("seal:{}", spec.es_id),
                serde_json::json!({ "name": name, "edition": edition.label() }),
            )
            .await?;
            println!(
                "电子印章 {} ({}) 已写入 {}",
                spec.es_id,
                edition.label(),
                out.display()
            );
            Ok(())
        }
        SealAction::Verify {
            file,
            document,
            cas,
            makers,
            at,
        } => verify_file(
            &common.data,
            file,
            document,
            &cas,
            &makers,
            at.unwrap_or(secs(now)),
        ),
    }
}

async fn maker_init(
    common: &Common,
    years: u64,
    now: SystemTime,
    clock: Arc<dyn Clock>,
) -> Result<()> {
    let dir = crate::ca_cmd::ca_dir(&common.data);
    if dir.join(MAKER_KEY).exists() || dir.join(MAKER_CERT).exists() {
        bail!(
            "a seal-maker key already exists in {}; refusing to overwrite it",
            dir.display()
        );
    }
    let files = ca::CaFiles::load(&dir)?;
    let pass = crate::ca_cmd::passphrase(common)?;
    let keys = ca::files::load_keys(&dir, &files, &pass)?;
    let issuing = pki::KeySigner::new(&keys.issuing)?;
    let key = pki::keys::generate();
    let org = pki::names::name_values(files.issuing.subject())
        .into_iter()
        .find(|(o, _)| *o == pki::oid::AT_O)
        .map(|(_, v)| v)
        .unwrap_or_else(|| "certhall".into());
    let der = seal_maker_cert(
        &issuing,
        &files.issuing,
        &key.public_key(),
        &org,
        now,
        years,
        &mut rand::rngs::OsRng,
    )?;
    write_private(&dir.join(MAKER_KEY), &pki::keys::encrypt_pem(&key, &pass)?)?;
    std::fs::write(
        dir.join(MAKER_CERT),
        pki::issue::pem_encode("CERTIFICATE", &der),
    )?;
    crate::ca_cmd::audit(
        common,
        &clock,
        "seal.maker_init",
        "seal-maker".into(),
        serde_json::json!({ "years": years }),
    )
    .await?;
    println!("制章人证书已写入 {}", dir.join(MAKER_CERT).display());
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn verify_file(
    data: &Path,
    file: PathBuf,
    document: Option<PathBuf>,
    cas: &[PathBuf],
    makers: &[PathBuf],
    now: u64,
) -> Result<()> {
    let input = std::fs::read(&file).with_context(|| format!("无法读取 {}", file.display()))?;
    let trust = trust(data, cas, makers)?;
    let report = if seal::parse::is_signature(&input) {
        let doc = match &document {
            Some(p) => {
                Some(std::fs::read(p).with_context(|| format!("无法读取原文 {}", p.display()))?)
            }
            None => None,
        };
        verify::verify_signature(&input, doc.as_deref(), &trust, &NoStatus)
    } else {
        if document.is_some() {
            bail!(
                "{} 是电子印章,不是电子签章:--document 只用于核对签章的原文",
                file.display()
            );
        }
        verify::verify_seal(&input, now, &trust, &NoStatus)
    };
    print!("{}", verify::render(&report));
    match report.failed_step() {
        None => Ok(()),
        Some(step) => bail!("验证未通过:{}", step.name),
    }
}
