//! What the hall reads back from an end-entity certificate of this CA: serial, names,
//! validity, key, kind (机构个人证书 carry the IdentifyCode extension) and whether it is the
//! signing certificate of a pair (keyUsage digitalSignature) — for 我的证书, claims and renewals.

use crate::error::{PkiError, Result};
use crate::issue::serial_hex;
use crate::names::{name_values, unix_secs};
use crate::oid;
use crate::profile::CertType;
use der::{Decode, Encode};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::Certificate;

/// The facts of one certificate.
#[derive(Debug, Clone)]
pub struct CertFacts {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Issuer name.
    pub issuer: Name,
    /// Subject name.
    pub subject: Name,
    /// The subject as the hall shows a holder: O, or O · CN when they differ.
    pub holder: String,
    /// notBefore, unix seconds.
    pub not_before: u64,
    /// notAfter, unix seconds.
    pub not_after: u64,
    /// The subject's SM2 key.
    pub public_key: sm2::PublicKey,
    /// 机构证书 or 机构个人证书.
    pub kind: CertType,
    /// keyUsage has digitalSignature (the signing certificate of a pair).
    pub signing: bool,
}

/// Reads a certificate (DER).
pub fn facts(der_bytes: &[u8]) -> Result<CertFacts> {
    let cert = Certificate::from_der(der_bytes).map_err(|e| PkiError::Encoding {
        what: "certificate",
        detail: e.to_string(),
    })?;
    facts_of(&cert)
}

/// The facts of a parsed certificate.
pub fn facts_of(cert: &Certificate) -> Result<CertFacts> {
    let tbs = &cert.tbs_certificate;
    let exts = tbs.extensions.as_deref().unwrap_or_default();
    // A person is named by the ID-card extension of either edition (GM/T 0015-2023 or 2012).
    let kind = if exts
        .iter()
        .any(|e| e.extn_id == oid::ID_CARD_2023 || e.extn_id == oid::IDENTIFY_CODE_2012)
    {
        CertType::OrgPerson
    } else {
        CertType::Org
    };
    let signing = exts
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_KEY_USAGE)
        .and_then(|e| KeyUsage::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|ku| ku.0.contains(KeyUsages::DigitalSignature));
    let values = name_values(&tbs.subject);
    let find = |o| values.iter().find(|(k, _)| *k == o).map(|(_, v)| v.clone());
    let org = find(oid::AT_O);
    let cn = find(oid::AT_CN);
    let holder = match (org, cn) {
        (Some(o), Some(c)) if o != c => format!("{o} · {c}"),
        (Some(o), _) => o,
        (None, Some(c)) => c,
        (None, None) => tbs.subject.to_string(),
    };
    Ok(CertFacts {
        serial: serial_hex(tbs.serial_number.as_bytes()),
        issuer: tbs.issuer.clone(),
        subject: tbs.subject.clone(),
        holder,
        not_before: unix_secs(&tbs.validity.not_before),
        not_after: unix_secs(&tbs.validity.not_after),
        public_key: crate::csr::sm2_public_key(&tbs.subject_public_key_info)?,
        kind,
        signing,
    })
}

/// Whether two names are the same (compared as DER).
pub fn same_name(a: &Name, b: &Name) -> bool {
    matches!((a.to_der(), b.to_der()), (Ok(x), Ok(y)) if x == y)
}
