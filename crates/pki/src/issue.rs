//! CA certificates and end-entity issuance: the two pure steps of the issuance pipeline of
//! DESIGN.md rule 5, split as Boulder's `issuance/cert.go` splits them. [`Issuer::prepare`]
//! checks the request against its profile, builds the TBS and lints it, returning a
//! [`Prepared`] token; [`Issuer::issue`] consumes the token and signs it. Recording the TBS
//! durably between the two, and storing the certificate after, is the CA service's job
//! (crate `ca`, `Ca::issue`).
//!
//! ```asn1
//! Certificate ::= SEQUENCE {                                   -- RFC 5280 §4.1
//!     tbsCertificate       TBSCertificate,
//!     signatureAlgorithm   AlgorithmIdentifier,               -- SM3withSM2, GM/T 0015 §5.2.1.3
//!     signatureValue       BIT STRING }                       -- DER SM2Signature, GM/T 0009 §7.3
//! ```
//!
//! The signature is made over the DER of `tbsCertificate` by our own code and DER-encoded
//! before assembly (x509-cert's builder would put a raw r‖s in the BIT STRING).

use crate::error::{PkiError, Result};
use crate::names::{add_years, build_name, unix_secs, x509_time};
use crate::oid;
use crate::profile::{check_years, CertProfile, CertType, Edition, SubjectData, Usage};
use crate::signer::{sign_bits, sm3_with_sm2, spki_of, Signer};
use der::asn1::{Ia5String, OctetString, PrintableStringRef};
use der::flagset::FlagSet;
use der::{DateTime as DateTimeDer, Decode, Encode};
use rand::RngCore;
use sm3::{Digest, Sm3};
use std::time::SystemTime;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use x509_cert::Certificate;

/// A CA certificate the CA signs with, and what issuance needs from it.
#[derive(Debug, Clone)]
pub struct CaCert {
    /// Short label used in URLs and storage (`issuing`, `root`); `[a-z0-9-]+`.
    pub label: String,
    /// The parsed certificate.
    pub cert: Certificate,
    /// Its DER.
    pub der: Vec<u8>,
    /// Its SubjectKeyIdentifier (the AKI of what it signs).
    pub key_id: Vec<u8>,
}

impl CaCert {
    /// Read a CA certificate from DER; its key identifier is taken from its SKI extension.
    pub fn from_der(label: &str, der: &[u8]) -> Result<Self> {
        let cert = Certificate::from_der(der).map_err(|e| PkiError::Encoding {
            what: "CA certificate",
            detail: e.to_string(),
        })?;
        let key_id = cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
            .map(|s| s.0.as_bytes().to_vec())
            .ok_or_else(|| PkiError::Lint("CA certificate has no subjectKeyIdentifier".into()))?;
        Ok(Self {
            label: label.to_string(),
            cert,
            der: der.to_vec(),
            key_id,
        })
    }
    /// The CA's subject name (the issuer of what it signs).
    pub fn subject(&self) -> &Name {
        &self.cert.tbs_certificate.subject
    }
    /// The CA's public key.
    pub fn public_key(&self) -> Result<sm2::PublicKey> {
        crate::csr::sm2_public_key(&self.cert.tbs_certificate.subject_public_key_info)
    }
    /// PEM of the certificate.
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
    /// notAfter, unix seconds.
    pub fn not_after(&self) -> u64 {
        unix_secs(&self.cert.tbs_certificate.validity.not_after)
    }
}

/// PEM-armour DER with the given label (RFC 7468).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}

/// Where relying parties find status and the issuer: CRL distribution point
/// (`{base}/crl/{label}.crl`), OCSP (`{base}/ocsp`), CA issuers (`{base}/ca/{label}.cer`),
/// and the certificate policy the CA's CPS names.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Public base URL, e.g. `http://ca.example.cn` (no trailing slash).
    pub base_url: String,
    /// certificatePolicies OID (configurable; the CPS's OID).
    pub policy_oid: der::asn1::ObjectIdentifier,
    /// The CPS's URI, emitted as the policy's CPS qualifier (RFC 5280 §4.2.1.4); required of a
    /// production CA by `ca init`.
    pub cps_uri: Option<String>,
}

impl PublishConfig {
    /// CRL URL of the CA with `label`.
    pub fn crl_url(&self, label: &str) -> String {
        format!("{}/crl/{label}.crl", self.base_url)
    }
    /// OCSP responder URL.
    pub fn ocsp_url(&self) -> String {
        format!("{}/ocsp", self.base_url)
    }
    /// URL of the issuing CA's certificate.
    pub fn ca_issuers_url(&self, label: &str) -> String {
        format!("{}/ca/{label}.cer", self.base_url)
    }

    /// certificatePolicies: the CPS's OID, with the CPS URI as qualifier when configured.
    pub fn policies(&self) -> Result<CertificatePolicies> {
        use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
        let policy_qualifiers = match &self.cps_uri {
            None => None,
            Some(u) => Some(vec![PolicyQualifierInfo {
                policy_qualifier_id: oid::QT_CPS,
                qualifier: Some(der::Any::from(&Ia5String::new(u)?)),
            }]),
        };
        Ok(CertificatePolicies(vec![PolicyInformation {
            policy_identifier: self.policy_oid,
            policy_qualifiers,
        }]))
    }

    /// cRLDistributionPoints (`{base}/crl/{label}.crl`) and authorityInfoAccess (OCSP,
    /// `{base}/ca/{label}.cer`) of a certificate issued by the CA `label` (RFC 5280 §4.2.1.13,
    /// §4.2.2.1).
    pub fn status_extensions(&self, label: &str) -> Result<Vec<Extension>> {
        Ok(vec![
            ext(
                false,
                &CrlDistributionPoints(vec![DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![uri(
                        &self.crl_url(label)
                    )?])),
                    reasons: None,
                    crl_issuer: None,
                }]),
            )?,
            ext(
                false,
                &AuthorityInfoAccessSyntax(vec![
                    AccessDescription {
                        access_method: oid::AD_OCSP,
                        access_location: uri(&self.ocsp_url())?,
                    },
                    AccessDescription {
                        access_method: oid::AD_CA_ISSUERS,
                        access_location: uri(&self.ca_issuers_url(label))?,
                    },
                ]),
            )?,
        ])
    }
}

/// A fresh positive serial number: 16 octets, first octet in 0x40..=0x7f, so 126 bits from the
/// CSPRNG (RFC 5280 §4.1.2.2 asks ≤ 20 octets and positive; CA/B BR §7.1 ask ≥ 64 bits).
pub fn random_serial(rng: &mut impl RngCore) -> Vec<u8> {
    let mut s = vec![0u8; 16];
    rng.fill_bytes(&mut s);
    s[0] = (s[0] & 0x3f) | 0x40;
    s
}

/// Key identifier: the leftmost 160 bits of SM3 over the subjectPublicKey BIT STRING value
/// (RFC 5280 §4.2.1.2 method 1 with SM3 in place of SHA-1, as RFC 7093 §2 allows; GM/T
/// 0015-2023 revised the keyIdentifier clause to permit the SM3 hash).
pub fn key_id(pk: &sm2::PublicKey) -> Vec<u8> {
    use sm2::elliptic_curve::sec1::ToEncodedPoint;
    let h = Sm3::digest(pk.to_encoded_point(false).as_bytes());
    h[..20].to_vec()
}

fn ext<T: Encode + const_oid::AssociatedOid>(critical: bool, v: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(v.to_der()?)?,
    })
}

fn raw_ext(id: der::asn1::ObjectIdentifier, value: &impl Encode) -> Result<Extension> {
    Ok(Extension {
        extn_id: id,
        critical: false,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(s: &str) -> Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(s)?))
}

fn key_usage(bits: FlagSet<KeyUsages>) -> KeyUsage {
    KeyUsage(bits)
}

/// Sign a TBS certificate and assemble the certificate DER.
pub fn sign_tbs(
    signer: &(impl Signer + ?Sized),
    tbs: TbsCertificate,
) -> Result<(Certificate, Vec<u8>)> {
    let tbs_der = tbs.to_der()?;
    let signature = sign_bits(signer, &tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sm3_with_sm2(),
        signature,
    };
    let der = cert.to_der()?;
    Ok((cert, der))
}

/// Names and validity of the two CA certificates made by `ca init`.
#[derive(Debug, Clone)]
pub struct CaNames {
    /// Root CA subject CN.
    pub root_cn: String,
    /// Issuing CA subject CN.
    pub issuing_cn: String,
    /// O of both.
    pub org: String,
    /// Root validity in years.
    pub root_years: u16,
    /// Issuing CA validity in years (must end before the root's).
    pub issuing_years: u16,
}

#[allow(clippy::too_many_arguments)]
fn ca_tbs(
    serial: Vec<u8>,
    issuer: Name,
    subject: Name,
    pk: &sm2::PublicKey,
    aki: Option<Vec<u8>>,
    path_len: Option<u8>,
    not_before: SystemTime,
    not_after: SystemTime,
    status: Vec<Extension>,
) -> Result<TbsCertificate> {
    let mut exts = vec![
        ext(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        )?,
        ext(
            true,
            &key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature),
        )?,
        ext(false, &SubjectKeyIdentifier(OctetString::new(key_id(pk))?))?,
    ];
    if let Some(aki) = aki {
        exts.push(ext(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    exts.extend(status);
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial)?,
        signature: sm3_with_sm2(),
        issuer,
        validity: Validity {
            not_before: x509_time(not_before)?,
            not_after: x509_time(not_after)?,
        },
        subject,
        subject_public_key_info: spki_of(pk)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    })
}

/// Make a self-signed SM2 root CA certificate (RFC 5280 §4.2.1.9: cA TRUE, critical;
/// keyCertSign and cRLSign, critical).
pub fn make_root(
    signer: &(impl Signer + ?Sized),
    names: &CaNames,
    now: SystemTime,
    rng: &mut impl RngCore,
) -> Result<CaCert> {
    let subject = build_name(&[
        (oid::AT_C, "CN"),
        (oid::AT_O, &names.org),
        (oid::AT_CN, &names.root_cn),
    ])?;
    let pk = *signer.public_key();
    let tbs = ca_tbs(
        random_serial(rng),
        subject.clone(),
        subject,
        &pk,
        None,
        None,
        now,
        add_years(now, names.root_years)?,
        Vec::new(),
    )?;
    let (_, der) = sign_tbs(signer, tbs)?;
    CaCert::from_der("root", &der)
}

/// Make the issuing CA certificate, signed by the root, pathLenConstraint 0, with the root's
/// CRL (the ARL, `{base}/crl/root.crl`) and the OCSP responder in its cRLDistributionPoints
/// and authorityInfoAccess, so a validator reaches a status for this link too.
pub fn make_issuing(
    root_signer: &(impl Signer + ?Sized),
    root: &CaCert,
    issuing_pk: &sm2::PublicKey,
    names: &CaNames,
    publish: &PublishConfig,
    now: SystemTime,
    rng: &mut impl RngCore,
) -> Result<CaCert> {
    let subject = build_name(&[
        (oid::AT_C, "CN"),
        (oid::AT_O, &names.org),
        (oid::AT_CN, &names.issuing_cn),
    ])?;
    let not_after = add_years(now, names.issuing_years)?;
    if unix_secs(&x509_time(not_after)?) > root.not_after() {
        return Err(PkiError::profile(
            "issuing_years",
            "the issuing CA would outlive the root",
        ));
    }
    let tbs = ca_tbs(
        random_serial(rng),
        root.subject().clone(),
        subject,
        issuing_pk,
        Some(root.key_id.clone()),
        Some(0),
        now,
        not_after,
        publish.status_extensions(&root.label)?,
    )?;
    let (_, der) = sign_tbs(root_signer, tbs)?;
    CaCert::from_der("issuing", &der)
}

/// What an approved order asks the CA to certify.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Signing or encryption certificate.
    pub usage: Usage,
    /// Subject data from the approved order; its kind (机构证书 or 机构个人证书) picks the profile.
    pub subject: SubjectData,
    /// The subject's SM2 public key (from a checked CSR, or made by the key manager).
    pub public_key: sm2::PublicKey,
    /// 办理年限.
    pub years: u16,
}

/// The token of Boulder's `Prepare`/`Issue` split: a TBS certificate that passed the profile
/// and the lints, with its serial, not yet signed. It cannot be copied: [`Issuer::issue`]
/// consumes it, so one preparation is signed at most once. The CA service records
/// [`Prepared::tbs_der`] durably between the two steps.
#[derive(Debug)]
pub struct Prepared {
    serial: Vec<u8>,
    tbs: TbsCertificate,
    tbs_der: Vec<u8>,
    kind: CertType,
    usage: Usage,
    not_after: u64,
    subject: String,
    subject_der: Vec<u8>,
    entity: String,
}

impl Prepared {
    /// The serial number (positive, big-endian).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }
    /// DER of the TBS certificate: what the issuance log records before signing.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }
    /// 机构证书 or 机构个人证书.
    pub fn kind(&self) -> CertType {
        self.kind
    }
    /// Signing or encryption.
    pub fn usage(&self) -> Usage {
        self.usage
    }
    /// notAfter, unix seconds.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
    /// The subject as one line (RFC 4514 string) with a person's 身份证号码 masked, for the
    /// issuance log (kept in clear beside the sealed TBS).
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The subject DN's DER (what must be unique per subject entity).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }
    /// The subject entity ([`SubjectData::entity`]; personal data).
    pub fn entity(&self) -> &str {
        &self.entity
    }
}

/// An issued certificate.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The serial number.
    pub serial: Vec<u8>,
    /// The certificate DER.
    pub der: Vec<u8>,
}

impl Issued {
    /// PEM of the certificate.
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}

/// The issuing side of the CA: an issuing CA certificate, its signer, and publication URLs.
/// Pure: it prepares and signs; recording and storing are the CA service's (crate `ca`).
pub struct Issuer<S: Signer> {
    /// The issuing CA certificate.
    pub ca: CaCert,
    /// Its private key.
    pub signer: S,
    /// URLs and policy.
    pub publish: PublishConfig,
    /// Identifier extensions and DN layout (`[profile]` of `ca.toml`).
    pub profile: CertProfile,
}

impl<S: Signer> Issuer<S> {
    /// Boulder's `Prepare`: check the request against its profile, build the TBS, run our
    /// lints (RFC 5280 §4.1, GM/T 0015 §5.2; `lint.rs`). `now` comes from the caller's clock.
    pub fn prepare(
        &self,
        req: &IssueRequest,
        now: SystemTime,
        rng: &mut impl RngCore,
    ) -> Result<Prepared> {
        check_years(req.years)?;
        if req.public_key == self.ca.public_key()? {
            return Err(PkiError::profile("public_key", "is the CA's own key"));
        }
        let s = &req.subject;
        let kind = s.kind();
        if let Some(p) = s.person() {
            // GB 11643: nobody is born after the day the certificate is issued (Beijing date);
            // a stored record parsed without a clock reaches the CA here.
            let t = DateTimeDer::from_unix_duration(std::time::Duration::from_secs(
                unix_secs(&x509_time(now)?) + 8 * 3600,
            ))?;
            let today = domain::Date::new(i32::from(t.year()), t.month(), t.day())
                .map_err(|_| PkiError::profile("time", "out of range"))?;
            if p.id_number().birth_date() > today {
                return Err(PkiError::profile(
                    "id_number",
                    "身份证号码中的出生日期晚于签发日期 (GB 11643 digits 7–14)",
                ));
            }
        }
        let subject = build_name(&self.profile.dn(s))?;
        let not_after_t = add_years(now, req.years)?;
        let not_after = unix_secs(&x509_time(not_after_t)?);
        if not_after > self.ca.not_after() {
            return Err(PkiError::profile(
                "years",
                "the certificate would outlive the issuing CA",
            ));
        }
        let ku = match req.usage {
            Usage::Signing => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            Usage::Encryption => {
                KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment | KeyUsages::KeyAgreement
            }
        };
        let label = &self.ca.label;
        let mut exts = vec![
            ext(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(self.ca.key_id.clone())?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
            ext(
                false,
                &SubjectKeyIdentifier(OctetString::new(key_id(&req.public_key))?),
            )?,
            ext(true, &key_usage(ku))?,
            ext(
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            ext(false, &self.publish.policies()?)?,
        ];
        exts.extend(self.publish.status_extensions(label)?);
        exts.extend(identifier_extensions(&self.profile, s)?);
        let serial = random_serial(rng);
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&serial)?,
            signature: sm3_with_sm2(),
            issuer: self.ca.subject().clone(),
            validity: Validity {
                not_before: x509_time(now)?,
                not_after: x509_time(not_after_t)?,
            },
            subject,
            subject_public_key_info: spki_of(&req.public_key)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(exts),
        };
        crate::lint::lint_tbs(&tbs, &self.ca, req.usage)?;
        let tbs_der = tbs.to_der()?;
        let mut subject_line = tbs.subject.to_string();
        if let Some(p) = s.person() {
            subject_line = subject_line.replace(p.id_number().as_str(), &p.id_number().masked());
        }
        let subject_der = tbs.subject.to_der()?;
        Ok(Prepared {
            serial,
            tbs,
            tbs_der,
            kind,
            usage: req.usage,
            not_after,
            subject: subject_line,
            subject_der,
            entity: s.entity(),
        })
    }

    /// The token of a TBS the CA service recorded (its DER, as [`Prepared::tbs_der`] gave
    /// it) and whose certificate was never stored: a process died between recording and
    /// storing, so no signature over it left the CA. The TBS must name this CA as its
    /// issuer and still pass the lints; `kind` and `usage` are what was recorded with it.
    /// Signing it gives the certificate the dead process would have returned (the same
    /// serial and content), not a second one.
    pub fn resume(&self, tbs_der: &[u8], kind: CertType, usage: Usage) -> Result<Prepared> {
        let tbs = TbsCertificate::from_der(tbs_der)?;
        if tbs.issuer != *self.ca.subject() {
            return Err(PkiError::profile(
                "tbs",
                "the recorded TBS names another issuer",
            ));
        }
        crate::lint::lint_tbs(&tbs, &self.ca, usage)?;
        let serial = tbs.serial_number.as_bytes().to_vec();
        let not_after = unix_secs(&tbs.validity.not_after);
        let subject = tbs.subject.to_string();
        let subject_der = tbs.subject.to_der()?;
        Ok(Prepared {
            serial,
            tbs_der: tbs_der.to_vec(),
            tbs,
            kind,
            usage,
            not_after,
            subject,
            subject_der,
            // The DN was claimed for its entity when the TBS was recorded; a resumed token
            // is only signed, never claimed again.
            entity: String::new(),
        })
    }

    /// Boulder's `Issue`: sign a prepared (and, by the CA service, recorded) TBS and assemble
    /// the certificate (RFC 5280 §4.1.1). Consumes the token: it is signed at most once.
    pub fn issue(&self, token: Prepared) -> Result<Issued> {
        let signature = sign_bits(&self.signer, &token.tbs_der)?;
        let cert = Certificate {
            tbs_certificate: token.tbs,
            signature_algorithm: sm3_with_sm2(),
            signature,
        };
        Ok(Issued {
            serial: token.serial,
            der: cert.to_der()?,
        })
    }
}

/// `IdentifyCode ::= CHOICE { residenterCardNumber [0] PrintableString, … }` of GM/T
/// 0015-2012, the alternative tagged EXPLICIT: `A0 len 13 len digits`.
fn identify_code_2012(id: &str) -> Result<Vec<u8>> {
    let inner = PrintableStringRef::new(id)?.to_der()?;
    let mut out = vec![0xa0];
    der::Length::try_from(inner.len())?.encode_to_vec(&mut out)?;
    out.extend_from_slice(&inner);
    Ok(out)
}

/// The identifier extensions of `s` as `profile` names them (docs/PROFILES.md): the unit's
/// 统一社会信用代码 and, for a 机构个人证书, the 身份证号码.
pub fn identifier_extensions(profile: &CertProfile, s: &SubjectData) -> Result<Vec<Extension>> {
    let code = PrintableStringRef::new(s.uscc().as_str())?;
    let mut v = Vec::new();
    match profile.edition {
        Edition::Gmt2023 => {
            v.push(raw_ext(oid::USCC_2023, &code)?);
            if profile.unit_code_2012_arc {
                v.push(raw_ext(oid::ORG_CODE_2012, &code)?);
            }
            if let Some(p) = s.person() {
                v.push(raw_ext(
                    oid::ID_CARD_2023,
                    &PrintableStringRef::new(p.id_number().as_str())?,
                )?);
            }
        }
        Edition::Gmt2012 => {
            v.push(raw_ext(oid::ORG_CODE_2012, &code)?);
            if let Some(p) = s.person() {
                v.push(Extension {
                    extn_id: oid::IDENTIFY_CODE_2012,
                    critical: false,
                    extn_value: OctetString::new(identify_code_2012(p.id_number().as_str())?)?,
                });
            }
        }
    }
    Ok(v)
}

/// The SM2 public key of a certificate (DER).
pub fn cert_public_key(der: &[u8]) -> Result<sm2::PublicKey> {
    let cert = Certificate::from_der(der).map_err(|e| PkiError::Encoding {
        what: "certificate",
        detail: e.to_string(),
    })?;
    crate::csr::sm2_public_key(&cert.tbs_certificate.subject_public_key_info)
}

/// Render a serial as upper-case hex (how the CLI and storage name it).
pub fn serial_hex(serial: &[u8]) -> String {
    serial.iter().map(|b| format!("{b:02X}")).collect()
}

/// Parse a hex serial (as printed by [`serial_hex`]; `:` separators allowed).
pub fn parse_serial_hex(s: &str) -> Result<Vec<u8>> {
    let clean: String = s.chars().filter(|c| *c != ':').collect();
    if clean.is_empty() || !clean.len().is_multiple_of(2) || clean.len() > 40 {
        return Err(PkiError::profile("serial", "must be 1 to 20 bytes of hex"));
    }
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .map_err(|_| PkiError::profile("serial", "is not hex"))
}
