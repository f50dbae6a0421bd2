//! Our own pre-signing lints of a to-be-signed certificate (step 3 of the pipeline). A TBS that
//! fails any of them is never recorded nor signed. Each check names the clause it enforces.

use crate::error::{PkiError, Result};
use crate::issue::CaCert;
use crate::names::{name_values, unix_secs, UB_NAME};
use crate::oid;
use crate::profile::Usage;
use const_oid::db::rfc5280 as ce;
use der::Decode;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

fn fail(msg: impl Into<String>) -> PkiError {
    PkiError::Lint(msg.into())
}

/// Check an end-entity TBS certificate against RFC 5280 and our GM/T 0015 profiles.
pub fn lint_tbs(tbs: &TbsCertificate, ca: &CaCert, usage: Usage) -> Result<()> {
    // RFC 5280 §4.1.2.1: v3 when extensions are present.
    if tbs.version != Version::V3 {
        return Err(fail("version: must be v3 (RFC 5280 §4.1.2.1)"));
    }
    // RFC 5280 §4.1.2.2: positive, at most 20 octets; ≥ 64 bits of entropy means ≥ 9 octets here.
    let serial = tbs.serial_number.as_bytes();
    if serial.is_empty() || serial.len() > 20 || serial[0] & 0x80 != 0 || serial.len() < 9 {
        return Err(fail(
            "serialNumber: must be positive, 9..=20 octets (RFC 5280 §4.1.2.2)",
        ));
    }
    // RFC 5280 §4.1.2.3: signature equals signatureAlgorithm; GM/T 0015 §5.2.1.3 SM3withSM2.
    if tbs.signature.oid != oid::SM3_WITH_SM2 || tbs.signature.parameters.is_some() {
        return Err(fail("signature: must be SM3withSM2 without parameters"));
    }
    // RFC 5280 §4.1.2.4: issuer equals the CA's subject.
    if &tbs.issuer != ca.subject() {
        return Err(fail("issuer: differs from the issuing CA's subject"));
    }
    // RFC 5280 §4.1.2.5: notBefore < notAfter, within the CA's validity.
    let nb = unix_secs(&tbs.validity.not_before);
    let na = unix_secs(&tbs.validity.not_after);
    if nb >= na || na > ca.not_after() {
        return Err(fail("validity: empty, or beyond the issuing CA's notAfter"));
    }
    // RFC 5280 §4.1.2.6: non-empty subject; attribute values bounded and free of control chars.
    let vals = name_values(&tbs.subject);
    if vals.is_empty() || !vals.iter().any(|(o, _)| *o == oid::AT_CN) {
        return Err(fail("subject: must have a commonName"));
    }
    for (o, v) in &vals {
        if v.is_empty() || v.chars().count() > UB_NAME || v.chars().any(char::is_control) {
            return Err(fail(format!(
                "subject {o}: empty, over {UB_NAME} characters, or with control characters"
            )));
        }
    }
    // GM/T 0015 §5.2.2.7: SM2 key on the SM2 curve.
    crate::csr::sm2_public_key(&tbs.subject_public_key_info)
        .map_err(|e| fail(format!("subjectPublicKeyInfo: {e}")))?;
    // Extensions: each once; the required set present.
    let exts = tbs.extensions.as_deref().unwrap_or(&[]);
    let mut seen = std::collections::HashSet::new();
    for e in exts {
        if !seen.insert(e.extn_id) {
            return Err(fail(format!(
                "extension {} appears twice (RFC 5280 §4.2)",
                e.extn_id
            )));
        }
    }
    for (id, name) in [
        (ce::ID_CE_AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier"),
        (ce::ID_CE_SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier"),
        (ce::ID_CE_KEY_USAGE, "keyUsage"),
        (ce::ID_CE_BASIC_CONSTRAINTS, "basicConstraints"),
        (ce::ID_CE_CRL_DISTRIBUTION_POINTS, "cRLDistributionPoints"),
        (ce::ID_PE_AUTHORITY_INFO_ACCESS, "authorityInfoAccess"),
        (ce::ID_CE_CERTIFICATE_POLICIES, "certificatePolicies"),
    ] {
        if !seen.contains(&id) {
            return Err(fail(format!("{name} missing")));
        }
    }
    for e in exts {
        if e.extn_id == ce::ID_CE_KEY_USAGE {
            // RFC 5280 §4.2.1.3: SHOULD be critical; GM/T 0015 makes it critical.
            if !e.critical {
                return Err(fail("keyUsage must be critical"));
            }
            let ku = KeyUsage::from_der(e.extn_value.as_bytes())?;
            let want = match usage {
                Usage::Signing => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
                Usage::Encryption => {
                    KeyUsages::KeyEncipherment
                        | KeyUsages::DataEncipherment
                        | KeyUsages::KeyAgreement
                }
            };
            if ku.0 != want {
                return Err(fail("keyUsage does not match the certificate's usage"));
            }
        }
        if e.extn_id == ce::ID_CE_BASIC_CONSTRAINTS {
            let bc = BasicConstraints::from_der(e.extn_value.as_bytes())?;
            if bc.ca {
                return Err(fail(
                    "basicConstraints: an end-entity certificate must not be a CA",
                ));
            }
        }
    }
    Ok(())
}
