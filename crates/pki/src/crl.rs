//! Full CRLs (RFC 5280 §5, GM/T 0015-2012 §5.3), signed SM3withSM2.
//!
//! ```asn1
//! TBSCertList ::= SEQUENCE {                                   -- RFC 5280 §5.1
//!     version                 Version OPTIONAL,               -- v2
//!     signature               AlgorithmIdentifier,
//!     issuer                  Name,
//!     thisUpdate              Time,
//!     nextUpdate              Time OPTIONAL,
//!     revokedCertificates     SEQUENCE OF SEQUENCE {
//!          userCertificate         CertificateSerialNumber,
//!          revocationDate          Time,
//!          crlEntryExtensions      Extensions OPTIONAL } OPTIONAL,
//!     crlExtensions           [0] EXPLICIT Extensions OPTIONAL }
//! ```

use crate::error::{PkiError, Result};
use crate::issue::CaCert;
use crate::names::x509_time;
use crate::signer::{sign_bits, sm3_with_sm2, Signer};
use der::asn1::{OctetString, Uint};
use der::Encode;
use std::str::FromStr;
use std::time::SystemTime;
use x509_cert::certificate::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlReason};
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;

/// Revocation reasons of RFC 5280 §5.3.1 that this CA accepts. `certificateHold` and
/// `removeFromCRL` are not offered: revocation here is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// unspecified (0): the reasonCode entry extension is then omitted (RFC 5280 §5.3.1).
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// affiliationChanged (3)
    AffiliationChanged,
    /// superseded (4)
    Superseded,
    /// cessationOfOperation (5)
    CessationOfOperation,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
}

impl Reason {
    /// The RFC 5280 code.
    pub fn code(self) -> u8 {
        match self {
            Reason::Unspecified => 0,
            Reason::KeyCompromise => 1,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
            Reason::PrivilegeWithdrawn => 9,
        }
    }
    /// From the RFC 5280 code.
    pub fn from_code(c: u8) -> Result<Self> {
        Ok(match c {
            0 => Reason::Unspecified,
            1 => Reason::KeyCompromise,
            3 => Reason::AffiliationChanged,
            4 => Reason::Superseded,
            5 => Reason::CessationOfOperation,
            9 => Reason::PrivilegeWithdrawn,
            _ => {
                return Err(PkiError::profile(
                    "reason",
                    format!("code {c} is not accepted"),
                ))
            }
        })
    }
    /// The x509-cert enumeration value.
    pub fn to_crl_reason(self) -> CrlReason {
        match self {
            Reason::Unspecified => CrlReason::Unspecified,
            Reason::KeyCompromise => CrlReason::KeyCompromise,
            Reason::AffiliationChanged => CrlReason::AffiliationChanged,
            Reason::Superseded => CrlReason::Superseded,
            Reason::CessationOfOperation => CrlReason::CessationOfOperation,
            Reason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        }
    }
}

impl FromStr for Reason {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "unspecified" => Reason::Unspecified,
            "keyCompromise" | "key-compromise" => Reason::KeyCompromise,
            "affiliationChanged" | "affiliation-changed" => Reason::AffiliationChanged,
            "superseded" => Reason::Superseded,
            "cessationOfOperation" | "cessation-of-operation" => Reason::CessationOfOperation,
            "privilegeWithdrawn" | "privilege-withdrawn" => Reason::PrivilegeWithdrawn,
            _ => {
                return Err(PkiError::profile(
                    "reason",
                    "must be one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn",
                ))
            }
        })
    }
}

/// One revoked certificate.
#[derive(Debug, Clone)]
pub struct RevokedEntry {
    /// Its serial.
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: SystemTime,
    /// Why.
    pub reason: Reason,
}

/// Build and sign a full CRL of `issuer` with the given number and update times.
/// crlExtensions: authorityKeyIdentifier and cRLNumber (both MUST, RFC 5280 §5.2.1, §5.2.3).
pub fn build_crl(
    issuer: &CaCert,
    signer: &(impl Signer + ?Sized),
    entries: &[RevokedEntry],
    crl_number: u64,
    this_update: SystemTime,
    next_update: SystemTime,
) -> Result<Vec<u8>> {
    if next_update <= this_update {
        return Err(PkiError::profile("nextUpdate", "must be after thisUpdate"));
    }
    let mut revoked = Vec::with_capacity(entries.len());
    for e in entries {
        let crl_entry_extensions = if e.reason == Reason::Unspecified {
            None
        } else {
            let r = e.reason.to_crl_reason();
            Some(vec![Extension {
                extn_id: crate::oid::CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(r.to_der()?)?,
            }])
        };
        revoked.push(RevokedCert {
            serial_number: SerialNumber::new(&e.serial)?,
            revocation_date: x509_time(e.revoked_at)?,
            crl_entry_extensions,
        });
    }
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_id.clone())?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let num = CrlNumber(Uint::new(&crl_number.to_be_bytes())?);
    let tbs = TbsCertList {
        version: Version::V2,
        signature: sm3_with_sm2(),
        issuer: issuer.subject().clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(next_update)?),
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(revoked)
        },
        crl_extensions: Some(vec![
            Extension {
                extn_id: const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
                critical: false,
                extn_value: OctetString::new(aki.to_der()?)?,
            },
            Extension {
                extn_id: crate::oid::CE_CRL_NUMBER,
                critical: false,
                extn_value: OctetString::new(num.to_der()?)?,
            },
        ]),
    };
    let tbs_der = tbs.to_der()?;
    let signature = sign_bits(signer, &tbs_der)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: sm3_with_sm2(),
        signature,
    };
    Ok(crl.to_der()?)
}
