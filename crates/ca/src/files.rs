//! A CA directory: `ca.toml` (names, `base_url`, `policy_oid`, CRL and OCSP validity),
//! `root.pem`, `issuing.pem`, and the private keys `root.key`, `issuing.key`, `km.key` (the
//! key manager's escrow key), each PKCS#8 encrypted with PBES2 (RFC 8018 §6.2: scrypt,
//! AES-256-CBC) under the CA passphrase, mode 0600. Where the directory is and where the
//! passphrase comes from is the caller's business.

use crate::error::{CaError, Result};
use pki::issue::{make_issuing, make_root, serial_hex, CaNames};
use pki::{CaCert, KeySigner, PublishConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `ca.toml`.
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
    /// The CPS's URI (the certificatePolicies CPS qualifier). `ca init` requires it (and
    /// `policy_oid`) of a production CA.
    #[serde(default)]
    pub cps_uri: Option<String>,
    /// A development CA (made by `serve` on a fresh data directory): its policy OID and CPS
    /// URI are marked placeholders.
    #[serde(default)]
    pub development: bool,
    /// The root's CRL (ARL) nextUpdate − thisUpdate, hours; re-signed after half of it when
    /// the root key is at hand (`certhall ca arl`, or `serve` when it can open `root.key`).
    #[serde(default = "default_arl_hours")]
    pub arl_validity_hours: u64,
    /// Identifier extensions and DN layout of end-entity certificates (docs/PROFILES.md).
    #[serde(default)]
    pub profile: ProfileConfig,
}

/// `[profile]` of `ca.toml`: the data of `pki::profile::CertProfile`. The default follows
/// GM/T 0015-2023 as XiPKI does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileConfig {
    /// `"2023"` (USCC `1.2.156.10260.4.4`, ID card `1.2.156.10260.4.1.1.1`) or `"2012"`
    /// (IdentifyCode CHOICE `1.2.156.10260.4.1.1`, 组织机构代码 `1.2.156.10260.4.1.4`).
    pub edition: String,
    /// With edition 2023, also emit the USCC under the 2012 arc `1.2.156.10260.4.1.4`.
    pub unit_code_2012_arc: bool,
    /// Where the DN carries the USCC: `"serialNumber"` (机构证书), `"OU"` (SZCA style, both
    /// kinds) or `"none"`.
    pub unit_code_in_dn: String,
    /// Where the DN of a 机构个人证书 carries the 身份证号码: `"serialNumber"` or `"none"`.
    pub person_id_in_dn: String,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        Self {
            edition: "2023".into(),
            unit_code_2012_arc: false,
            unit_code_in_dn: "serialNumber".into(),
            person_id_in_dn: "serialNumber".into(),
        }
    }
}

impl ProfileConfig {
    /// The typed profile; an unknown word is refused with what is accepted.
    pub fn profile(&self) -> Result<pki::profile::CertProfile> {
        use pki::profile::{CertProfile, Edition, PersonIdInDn, UnitCodeInDn};
        let bad = |field: &str, v: &str, ok: &str| {
            CaError::Setup(format!("ca.toml [profile] {field} = {v:?}: must be {ok}"))
        };
        Ok(CertProfile {
            edition: match self.edition.as_str() {
                "2023" => Edition::Gmt2023,
                "2012" => Edition::Gmt2012,
                v => return Err(bad("edition", v, "\"2023\" or \"2012\"")),
            },
            unit_code_2012_arc: self.unit_code_2012_arc,
            unit_code_in_dn: match self.unit_code_in_dn.as_str() {
                "serialNumber" => UnitCodeInDn::SerialNumber,
                "OU" => UnitCodeInDn::Ou,
                "none" => UnitCodeInDn::None,
                v => {
                    return Err(bad(
                        "unit_code_in_dn",
                        v,
                        "\"serialNumber\", \"OU\" or \"none\"",
                    ))
                }
            },
            person_id_in_dn: match self.person_id_in_dn.as_str() {
                "serialNumber" => PersonIdInDn::SerialNumber,
                "none" => PersonIdInDn::None,
                v => return Err(bad("person_id_in_dn", v, "\"serialNumber\" or \"none\"")),
            },
        })
    }
}

/// Default ARL validity: 30 days.
pub fn default_arl_hours() -> u64 {
    24 * 30
}

/// The development CA's placeholder policy OID, marked as such: under the IANA Private
/// Enterprise Number 32473, which RFC 5612 reserves for documentation and examples, so it
/// names nobody's policy. `ca init` refuses it for a production CA.
pub const DEV_POLICY_OID: &str = "1.3.6.1.4.1.32473.1.1";

/// The development CA's placeholder CPS URI path (under its base URL).
pub const DEV_CPS_PATH: &str = "/cps/development-placeholder";

/// Default CRL validity: a week.
pub fn default_crl_hours() -> u64 {
    24 * 7
}

/// Default OCSP response validity: a day.
pub fn default_ocsp_hours() -> u64 {
    24
}

/// Base URL and policy OID of a CA held in memory (tests, demos, the benchmark).
const IN_MEMORY_BASE_URL: &str = "http://127.0.0.1:8080";

/// The CA certificates and configuration (no private key needed).
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// ca.toml
    pub cfg: CaConfig,
    /// The root certificate.
    pub root: CaCert,
    /// The issuing CA certificate.
    pub issuing: CaCert,
}

/// Whether `dir` holds a CA (its `ca.toml`).
pub fn exists(dir: &Path) -> bool {
    dir.join("ca.toml").exists()
}

fn read_pem_cert(label: &str, path: &Path) -> Result<CaCert> {
    let text = std::fs::read(path).map_err(|e| CaError::file(path, e))?;
    let der = pki::csr::pem_or_der(&text, &["CERTIFICATE"], "certificate")
        .map_err(|e| CaError::file(path, e))?;
    CaCert::from_der(label, &der).map_err(|e| CaError::file(path, e))
}

impl CaFiles {
    /// Reads `ca.toml` and the two certificates of `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let cfg_path = dir.join("ca.toml");
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|e| CaError::file(&cfg_path, format!("no CA here ({e})")))?;
        let cfg: CaConfig = toml::from_str(&text).map_err(|e| CaError::file(&cfg_path, e))?;
        Ok(Self {
            cfg,
            root: read_pem_cert("root", &dir.join("root.pem"))?,
            issuing: read_pem_cert("issuing", &dir.join("issuing.pem"))?,
        })
    }

    /// The chain, issuing CA then root, PEM.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.issuing.pem(), self.root.pem())
    }

    /// Publication settings (CRL, OCSP and CA-issuer URLs; the policy OID).
    pub fn publish(&self) -> Result<PublishConfig> {
        Ok(PublishConfig {
            base_url: self.cfg.base_url.trim_end_matches('/').to_string(),
            policy_oid: self.cfg.policy_oid.parse().map_err(|e| {
                CaError::Setup(format!("policy_oid {}: {e:?}", self.cfg.policy_oid))
            })?,
            cps_uri: self.cfg.cps_uri.clone(),
        })
    }

    /// The certificate of the CA labelled `label` (`root`, `issuing`), DER.
    pub fn ca_cert(&self, label: &str) -> Option<&CaCert> {
        [&self.root, &self.issuing]
            .into_iter()
            .find(|c| c.label == label)
    }
}

/// The private keys the CA service needs: the issuing CA's and the key manager's, and the
/// root's when `root.key` is in the directory (it signs the ARL and the issuing CA's OCSP).
pub struct Keys {
    /// The issuing CA key.
    pub issuing: sm2::SecretKey,
    /// The key manager's escrow key.
    pub km: sm2::SecretKey,
    /// The root key, if present.
    pub root: Option<sm2::SecretKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// Decrypts `issuing.key` and `km.key` of `dir` with `passphrase` and checks the issuing key
/// matches `issuing.pem`.
pub fn load_keys(dir: &Path, files: &CaFiles, passphrase: &str) -> Result<Keys> {
    let read = |n: &str| {
        let p = dir.join(n);
        std::fs::read_to_string(&p).map_err(|e| CaError::file(&p, e))
    };
    let issuing = pki::keys::decrypt_pem(&read("issuing.key")?, passphrase)?;
    let km = pki::keys::decrypt_pem(&read("km.key")?, passphrase)?;
    if issuing.public_key() != files.issuing.public_key()? {
        return Err(CaError::Setup(
            "issuing.key does not match issuing.pem".into(),
        ));
    }
    let root = if dir.join("root.key").exists() {
        let k = pki::keys::decrypt_pem(&read("root.key")?, passphrase)?;
        if k.public_key() != files.root.public_key()? {
            return Err(CaError::Setup("root.key does not match root.pem".into()));
        }
        Some(k)
    } else {
        None
    };
    Ok(Keys { issuing, km, root })
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
/// place `ca init`, the in-memory CA and the benchmark make a CA).
pub fn new_ca(names: &CaNames, publish: &PublishConfig, now: SystemTime) -> Result<NewCa> {
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
        publish,
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

/// The publication settings of a CA held in memory: base URL `http://127.0.0.1:8080`, the
/// development placeholder policy and CPS URI.
pub fn in_memory_publish() -> PublishConfig {
    PublishConfig {
        base_url: IN_MEMORY_BASE_URL.into(),
        policy_oid: DEV_POLICY_OID.parse().unwrap_or(pki::oid::SM3),
        cps_uri: Some(format!("{IN_MEMORY_BASE_URL}{DEV_CPS_PATH}")),
    }
}

/// Certificates and configuration of a CA held in memory: `new`'s certificates (made with
/// [`in_memory_publish`]), a development CA with the default profile and validities.
pub fn in_memory_files(names: &CaNames, new: &NewCa) -> CaFiles {
    CaFiles {
        cfg: CaConfig {
            org: names.org.clone(),
            root_cn: names.root_cn.clone(),
            issuing_cn: names.issuing_cn.clone(),
            base_url: IN_MEMORY_BASE_URL.into(),
            policy_oid: DEV_POLICY_OID.into(),
            crl_validity_hours: default_crl_hours(),
            ocsp_validity_hours: default_ocsp_hours(),
            cps_uri: Some(format!("{IN_MEMORY_BASE_URL}{DEV_CPS_PATH}")),
            development: true,
            arl_validity_hours: default_arl_hours(),
            profile: ProfileConfig::default(),
        },
        root: new.root.clone(),
        issuing: new.issuing.clone(),
    }
}

/// An existing issuing CA to take over instead of making one.
#[derive(Debug, Clone)]
pub struct Import {
    /// The issuing CA certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PKCS#8 PEM, plain or encrypted with the passphrase).
    pub key: PathBuf,
    /// The root certificate (PEM) that signed it.
    pub root: PathBuf,
}

/// What `ca init` makes.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// O of the CA certificates.
    pub org: String,
    /// Root CN.
    pub root_cn: String,
    /// Issuing CA CN.
    pub issuing_cn: String,
    /// Root validity, years.
    pub root_years: u16,
    /// Issuing CA validity, years.
    pub issuing_years: u16,
    /// Public base URL for CRL, OCSP and CA-issuer links.
    pub base_url: String,
    /// certificatePolicies OID: the CPS's (required unless `development`).
    pub policy_oid: String,
    /// The CPS's URI, the CPS qualifier (required unless `development`).
    pub cps_uri: Option<String>,
    /// A development CA: the placeholder policy and CPS URI are allowed.
    pub development: bool,
    /// Identifier extensions and DN layout.
    pub profile: ProfileConfig,
    /// Take over this issuing CA instead of making one.
    pub import: Option<Import>,
}

/// What [`create`] made, for the operator's summary and the audit log.
#[derive(Debug, Clone)]
pub struct Created {
    /// The certificates and configuration written.
    pub files: CaFiles,
    /// Whether the issuing CA was imported.
    pub imported: bool,
    /// The issuing CA's serial, upper-case hex.
    pub issuing_serial: String,
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
    let mut f = o.open(path).map_err(|e| CaError::file(path, e))?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| CaError::file(path, e))
}

fn write_public(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| CaError::file(path, e))
}

/// Makes a CA in `dir` (created if missing; refused when it holds one): a new root and
/// issuing CA valid from `now`, or the imported issuing CA (its key must match its
/// certificate, and the root must have signed it); a fresh key-manager key; every private
/// key encrypted under `passphrase` (at least 8 characters).
pub fn create(
    dir: &Path,
    opts: &InitOptions,
    passphrase: &str,
    now: SystemTime,
) -> Result<Created> {
    if exists(dir) {
        return Err(CaError::Setup(format!(
            "a CA already exists in {}; refusing to overwrite it",
            dir.display()
        )));
    }
    if passphrase.len() < 8 {
        return Err(CaError::Setup(
            "the CA passphrase must be at least 8 characters".into(),
        ));
    }
    pki::names::check_name_value("org", &opts.org)?;
    pki::names::check_name_value("root_cn", &opts.root_cn)?;
    pki::names::check_name_value("issuing_cn", &opts.issuing_cn)?;
    if !opts.development {
        // RFC 5280 §4.2.1.4: the policy OID is the CA's own, named in its CPS; a production CA
        // must say which and where the CPS is.
        if opts.policy_oid.is_empty()
            || opts.policy_oid == DEV_POLICY_OID
            || opts.policy_oid == "1.3.6.1.4.1.99999.1.1"
        {
            return Err(CaError::Setup(
                "a production CA needs its own CPS OID (--policy-oid, under an arc the CA owns); the placeholder is only for the development CA".into(),
            ));
        }
        match &opts.cps_uri {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
            _ => {
                return Err(CaError::Setup(
                    "a production CA needs its CPS URI (--cps-uri http(s)://…), emitted as the CPS qualifier".into(),
                ))
            }
        }
    }
    opts.profile.profile()?;
    let publish = PublishConfig {
        base_url: opts.base_url.trim_end_matches('/').to_string(),
        policy_oid: opts
            .policy_oid
            .parse()
            .map_err(|e| CaError::Setup(format!("policy OID {}: {e:?}", opts.policy_oid)))?,
        cps_uri: opts.cps_uri.clone(),
    };
    std::fs::create_dir_all(dir).map_err(|e| CaError::file(dir, e))?;
    let names = CaNames {
        root_cn: opts.root_cn.clone(),
        issuing_cn: opts.issuing_cn.clone(),
        org: opts.org.clone(),
        root_years: opts.root_years,
        issuing_years: opts.issuing_years,
    };
    let (root, issuing, issuing_key, root_key_pem) = match &opts.import {
        Some(imp) => {
            let issuing = read_pem_cert("issuing", &imp.cert)?;
            let root = read_pem_cert("root", &imp.root)?;
            let text = std::fs::read_to_string(&imp.key).map_err(|e| CaError::file(&imp.key, e))?;
            let k = if text.contains("ENCRYPTED PRIVATE KEY") {
                pki::keys::decrypt_pem(&text, passphrase)?
            } else {
                use sm2::pkcs8::DecodePrivateKey;
                sm2::SecretKey::from_pkcs8_pem(&text)
                    .map_err(|e| CaError::file(&imp.key, format!("not an SM2 PKCS#8 key: {e}")))?
            };
            if k.public_key() != issuing.public_key()? {
                return Err(CaError::Setup(
                    "the imported key does not match the imported certificate".into(),
                ));
            }
            pki::signer::verify(
                &root.public_key()?,
                &der::Encode::to_der(&issuing.cert.tbs_certificate).map_err(pki::PkiError::from)?,
                issuing.cert.signature.raw_bytes(),
            )
            .map_err(|e| {
                CaError::Setup(format!(
                    "the imported certificate is not signed by the imported root: {e}"
                ))
            })?;
            (root, issuing, k, None)
        }
        None => {
            let new = new_ca(&names, &publish, now)?;
            let pem = pki::keys::encrypt_pem(&new.root_key, passphrase)?;
            (new.root, new.issuing, new.issuing_key, Some(pem))
        }
    };
    let km = pki::keys::generate();
    if let Some(pem) = root_key_pem {
        write_private(&dir.join("root.key"), &pem)?;
    }
    write_private(
        &dir.join("issuing.key"),
        &pki::keys::encrypt_pem(&issuing_key, passphrase)?,
    )?;
    write_private(
        &dir.join("km.key"),
        &pki::keys::encrypt_pem(&km, passphrase)?,
    )?;
    write_public(&dir.join("root.pem"), &root.pem())?;
    write_public(&dir.join("issuing.pem"), &issuing.pem())?;
    let cfg = CaConfig {
        org: opts.org.clone(),
        root_cn: opts.root_cn.clone(),
        issuing_cn: opts.issuing_cn.clone(),
        base_url: opts.base_url.clone(),
        policy_oid: opts.policy_oid.clone(),
        crl_validity_hours: default_crl_hours(),
        ocsp_validity_hours: default_ocsp_hours(),
        cps_uri: opts.cps_uri.clone(),
        development: opts.development,
        arl_validity_hours: default_arl_hours(),
        profile: opts.profile.clone(),
    };
    let text = toml::to_string(&cfg).map_err(|e| CaError::Setup(format!("ca.toml: {e}")))?;
    // ca.toml last: a directory without it is not a CA, so a crash above leaves none.
    write_public(&dir.join("ca.toml"), &text)?;
    let issuing_serial = serial_hex(issuing.cert.tbs_certificate.serial_number.as_bytes());
    Ok(Created {
        files: CaFiles { cfg, root, issuing },
        imported: opts.import.is_some(),
        issuing_serial,
    })
}
