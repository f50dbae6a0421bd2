//! Issue 19: what relying platforms (bid platforms, USB-key middleware, RFC 5280 validators)
//! need from the certificates, each hostile case as a test. Independent readers: Python
//! `asn1crypto` for the identifier extensions, the real `openssl` for keys and CSRs.

use crate::common::*;
use der::{Decode, Encode};
use pki::ocsp::{CertState, Responder, StatusLookup};
use pki::{CertType, IssueRequest, Signer, SubjectData, Usage};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::Certificate;

const ORG: &str = "深圳市某某建设工程有限公司";
const USCC: &str = "91350100M000100Y43";
const ID_A: &str = "11010519491231002X";

fn person(name: &str, id: &str) -> SubjectData {
    SubjectData::new(
        CertType::OrgPerson,
        ORG,
        uscc(USCC),
        Some((name, id_number(id))),
    )
    .unwrap()
}

fn org() -> SubjectData {
    SubjectData::new(CertType::Org, ORG, uscc(USCC), None).unwrap()
}

fn issue(fx: &Fixture, subject: SubjectData, usage: Usage) -> Certificate {
    let req = IssueRequest {
        usage,
        subject,
        public_key: pki::keys::generate().public_key(),
        years: 2,
    };
    let token = fx
        .issuer
        .prepare(&req, now(), &mut rand::rngs::OsRng)
        .unwrap();
    Certificate::from_der(&fx.issuer.issue(token).unwrap().der).unwrap()
}

/// A second valid 身份证号码 (another person), with its check character computed here.
pub fn other_id() -> String {
    let first17 = "44030519850615123";
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(w)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

#[test]
fn encryption_certificates_carry_key_agreement() {
    let fx = fixture();
    let cert = issue(&fx, org(), Usage::Encryption);
    let ext = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_KEY_USAGE)
        .unwrap();
    let ku = KeyUsage::from_der(ext.extn_value.as_bytes()).unwrap();
    assert!(ku.0.contains(KeyUsages::KeyAgreement), "{:?}", ku.0);
    assert!(ku.0.contains(KeyUsages::KeyEncipherment));
    assert!(ku.0.contains(KeyUsages::DataEncipherment));
    assert!(!ku.0.contains(KeyUsages::DigitalSignature));
}

#[test]
fn two_people_of_one_name_in_one_unit_get_distinct_names() {
    let fx = fixture();
    let a = issue(&fx, person("张三", ID_A), Usage::Signing);
    let b = issue(&fx, person("张三", &other_id()), Usage::Signing);
    if let Ok(keep) = std::env::var("PROFILES_KEEP") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(format!("{keep}/zhangsan-a.der"), a.to_der().unwrap()).unwrap();
        std::fs::write(format!("{keep}/zhangsan-b.der"), b.to_der().unwrap()).unwrap();
    }
    assert_ne!(
        a.tbs_certificate.subject.to_der().unwrap(),
        b.tbs_certificate.subject.to_der().unwrap(),
        "RFC 5280 §4.1.2.6: one DN for two subject entities"
    );
}

/// The identifier extensions read by asn1crypto, a reader that knows nothing of ours: the
/// USCC as a PrintableString under 1.2.156.10260.4.4 and the ID card number as a
/// PrintableString under 1.2.156.10260.4.1.1.1 (GM/T 0015-2023 as XiPKI lists them).
#[test]
fn identifiers_carry_the_2023_oids_for_an_independent_reader() {
    require_python_modules();
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let cert = issue(&fx, person("张三", ID_A), Usage::Signing);
    let path = dir.path().join("p.der");
    std::fs::write(&path, cert.to_der().unwrap()).unwrap();
    let out = read_identifiers(&path);
    assert!(
        out.contains(&format!("1.2.156.10260.4.4 printable {USCC}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("1.2.156.10260.4.1.1.1 printable {ID_A}")),
        "{out}"
    );
    assert!(!out.contains("1.2.156.10260.4.1.6"), "{out}");
}

/// Every 1.2.156.10260.* extension of a certificate, decoded by asn1crypto: a PrintableString
/// (`printable V`), or the GM/T 0015-2012 IdentifyCode CHOICE with an EXPLICIT tag
/// (`choice[N] V`); anything else is printed as `other HEX`.
pub fn read_identifiers(path: &std::path::Path) -> String {
    let script = r#"
import sys
from asn1crypto import x509, core

class IdentifyCode(core.Choice):
    _alternatives = [
        ('residenterCardNumber', core.PrintableString, {'explicit': 0}),
        ('militaryOfficerCardNumber', core.UTF8String, {'explicit': 1}),
        ('passportNumber', core.PrintableString, {'explicit': 2}),
    ]

cert = x509.Certificate.load(open(sys.argv[1], 'rb').read())
for ext in cert['tbs_certificate']['extensions']:
    oid = ext['extn_id'].dotted
    if not oid.startswith('1.2.156.10260.'):
        continue
    raw = ext['extn_value'].native if isinstance(ext['extn_value'].native, bytes) else ext['extn_value'].contents
    if raw[0] == 0x13:
        v = core.PrintableString.load(raw)
        print(oid, 'printable', v.native)
    elif raw[0] in (0xa0, 0xa1, 0xa2):
        v = IdentifyCode.load(raw)
        print(oid, 'choice[%d]' % (raw[0] - 0xa0), v.native)
    else:
        print(oid, 'other', raw.hex())
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "asn1crypto failed: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A number the wizard would refuse (born 2099) that reaches the CA as a stored record
/// (`IdNumber::parse_stored` skips the clock) is refused by the CA at the issuance date.
#[test]
fn the_ca_refuses_a_birth_date_after_the_issuance_date() {
    let fx = fixture();
    let mut s = String::from("11010520991231002");
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = s.bytes().zip(w).map(|(d, w)| u32::from(d - b'0') * w).sum();
    s.push(b"10X98765432"[(sum % 11) as usize] as char);
    let id = pki::profile::IdNumber::parse_stored(&s).unwrap();
    let subject =
        SubjectData::new(CertType::OrgPerson, ORG, uscc(USCC), Some(("张三", id))).unwrap();
    let req = IssueRequest {
        usage: Usage::Signing,
        subject,
        public_key: pki::keys::generate().public_key(),
        years: 1,
    };
    let err = fx
        .issuer
        .prepare(&req, now(), &mut rand::rngs::OsRng)
        .unwrap_err();
    assert!(err.to_string().contains("出生日期"), "{err}");
    // 1999-02-31 does not even parse.
    assert!(pki::profile::IdNumber::parse_stored("110105199902310021").is_err());
}

/// OpenSSL 3.0's `openssl req -sm3` without `-sigopt distid:1234567812345678` signs with an
/// empty SM2 ID; the CA says so and names the option to add.
#[test]
fn a_csr_signed_without_the_gmt_signer_id_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    openssl_ok(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:SM2",
        "-out",
        p("k.pem").to_str().unwrap(),
    ]);
    let req = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "req",
            "-new",
            "-key",
            p("k.pem").to_str().unwrap().to_string().leak(),
            "-sm3",
            "-subj",
            "/CN=x",
            "-out",
        ];
        let o = p(out).to_str().unwrap().to_string().leak();
        args.push(o);
        args.extend_from_slice(extra);
        openssl_ok(&args);
        std::fs::read(p(out)).unwrap()
    };
    let without = req("without.csr", &[]);
    let with = req("with.csr", &["-sigopt", "distid:1234567812345678"]);
    pki::csr::parse_csr(&with).unwrap();
    let err = pki::csr::parse_csr(&without).unwrap_err().to_string();
    assert!(err.contains("-sigopt distid:1234567812345678"), "{err}");
    assert!(!err.contains("no proof of possession"), "{err}");
    // Garbage in the signature is still "no proof of possession".
    let mut bad = pki::csr::pem_or_der(&with, &["CERTIFICATE REQUEST"], "csr").unwrap();
    let n = bad.len();
    bad[n - 3] ^= 0x55;
    let err = pki::csr::parse_csr(&bad).unwrap_err().to_string();
    assert!(err.contains("no proof of possession"), "{err}");
}

/// The CA's key files open with OpenSSL 3.0's default scrypt memory limit.
#[test]
fn ca_key_files_open_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let k = pki::keys::generate();
    let f = dir.path().join("issuing.key");
    std::fs::write(
        &f,
        pki::keys::encrypt_pem(&k, "correct horse battery").unwrap(),
    )
    .unwrap();
    let out = openssl_ok(&[
        "pkey",
        "-in",
        f.to_str().unwrap(),
        "-passin",
        "pass:correct horse battery",
        "-pubout",
    ]);
    let want = pki::issue::pem_encode(
        "PUBLIC KEY",
        &pki::signer::spki_of(&k.public_key())
            .unwrap()
            .to_der()
            .unwrap(),
    );
    assert_eq!(out.trim(), want.trim());
}

fn ext_of<'a>(cert: &'a Certificate, id: &der::asn1::ObjectIdentifier) -> Option<&'a [u8]> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == *id)
        .map(|e| e.extn_value.as_bytes())
}

/// The issuing CA certificate tells a validator where its own status is: the root's CRL
/// (ARL) and the OCSP responder.
#[test]
fn the_issuing_ca_certificate_names_its_crl_and_ocsp() {
    use const_oid::db::rfc5280 as ce;
    let fx = fixture();
    let c = &fx.issuer.ca.cert;
    let dp = ext_of(c, &ce::ID_CE_CRL_DISTRIBUTION_POINTS).expect("no CRLDP on the issuing CA");
    assert!(String::from_utf8_lossy(dp).contains("http://ca.example.cn/crl/root.crl"));
    let aia = ext_of(c, &ce::ID_PE_AUTHORITY_INFO_ACCESS).expect("no AIA on the issuing CA");
    let aia = String::from_utf8_lossy(aia);
    assert!(aia.contains("http://ca.example.cn/ocsp"), "{aia}");
    assert!(aia.contains("http://ca.example.cn/ca/root.cer"), "{aia}");
}

struct Counting {
    inner: pki::KeySigner,
    n: AtomicUsize,
}
impl Signer for Counting {
    fn public_key(&self) -> &sm2::PublicKey {
        self.inner.public_key()
    }
    fn sign(&self, msg: &[u8]) -> pki::Result<Vec<u8>> {
        self.n.fetch_add(1, Ordering::SeqCst);
        self.inner.sign(msg)
    }
}

struct AllUnknown;
impl StatusLookup for AllUnknown {
    fn status(&self, _: &[u8]) -> CertState {
        CertState::Unknown
    }
}

fn counting_responder() -> (Arc<Counting>, Responder<Arc<Counting>>) {
    let mut rng = rand::rngs::OsRng;
    let names = pki::issue::CaNames {
        root_cn: "r".into(),
        issuing_cn: "i".into(),
        org: "o".into(),
        root_years: 2,
        issuing_years: 1,
    };
    let key = pki::keys::generate();
    let signer = Arc::new(Counting {
        inner: pki::KeySigner::new(&key).unwrap(),
        n: AtomicUsize::new(0),
    });
    let ca = pki::issue::make_root(&*signer, &names, now(), &mut rng).unwrap();
    signer.n.store(0, Ordering::SeqCst);
    let r = Responder::new(ca, signer.clone(), Duration::from_secs(3600)).unwrap();
    (signer, r)
}

/// A nonce sent raw (not wrapped in an OCTET STRING, as RFC 6960 clients before RFC 8954
/// do) comes back byte for byte.
#[test]
fn a_raw_nonce_is_echoed_exactly() {
    use x509_cert::ext::Extension;
    let (_, r) = counting_responder();
    let raw = vec![0x01u8, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a];
    let req = x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: r.cert_id(&[0x42; 16]).unwrap(),
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![Extension {
                extn_id: pki::oid::OCSP_NONCE,
                critical: false,
                extn_value: der::asn1::OctetString::new(raw.clone()).unwrap(),
            }]),
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap();
    let resp = r.respond(&req, &AllUnknown, now());
    let resp = x509_ocsp::OcspResponse::from_der(&resp).unwrap();
    let basic =
        x509_ocsp::BasicOcspResponse::from_der(resp.response_bytes.unwrap().response.as_bytes())
            .unwrap();
    let echoed = basic
        .tbs_response_data
        .response_extensions
        .unwrap()
        .into_iter()
        .find(|e| e.extn_id == pki::oid::OCSP_NONCE)
        .unwrap();
    assert_eq!(echoed.extn_value.as_bytes(), raw.as_slice());
}

/// Asking about serials the CA never issued does not make it sign once per request: the
/// answer for a serial is kept, and fresh signing is bounded.
#[test]
fn unknown_serials_do_not_make_the_ca_sign_per_request() {
    let (signer, r) = counting_responder();
    let ask = |serial: &[u8]| {
        let req = pki::ocsp::make_request(vec![r.cert_id(serial).unwrap()], None).unwrap();
        r.respond(&req, &AllUnknown, now())
    };
    for _ in 0..10 {
        ask(&[0x42; 16]);
    }
    assert_eq!(
        signer.n.load(Ordering::SeqCst),
        1,
        "one serial, one signature"
    );
    for i in 0..200u32 {
        let mut s = vec![0x43; 16];
        s[12..].copy_from_slice(&i.to_be_bytes());
        let der = ask(&s);
        assert!(x509_ocsp::OcspResponse::from_der(&der).is_ok());
    }
    let n = signer.n.load(Ordering::SeqCst);
    assert!(
        n <= 1 + pki::ocsp::FRESH_SIGNATURES_PER_MINUTE,
        "{n} signatures for 200 requests about unknown serials"
    );
    // With a nonce, each request would need its own signature: bounded the same way.
    let before = signer.n.load(Ordering::SeqCst);
    for i in 0..200u32 {
        let req = pki::ocsp::make_request(
            vec![r.cert_id(&[0x42; 16]).unwrap()],
            Some(&i.to_be_bytes()),
        )
        .unwrap();
        r.respond(&req, &AllUnknown, now());
    }
    assert!(signer.n.load(Ordering::SeqCst) - before <= pki::ocsp::FRESH_SIGNATURES_PER_MINUTE);
    // A minute later the budget is there again.
    let req =
        pki::ocsp::make_request(vec![r.cert_id(&[0x42; 16]).unwrap()], Some(b"later")).unwrap();
    let before = signer.n.load(Ordering::SeqCst);
    r.respond(&req, &AllUnknown, now() + Duration::from_secs(61));
    assert_eq!(signer.n.load(Ordering::SeqCst), before + 1);
}

fn issuer_with(profile: pki::profile::CertProfile) -> Fixture {
    let mut fx = fixture();
    fx.issuer.profile = profile;
    fx
}

/// Every profile the CA can be configured with, both kinds, signing and encryption: the
/// identifier extensions read by asn1crypto against the CHOICE / 2023 definitions, the DN as
/// the profile says, and pkilint with no ERROR but the documented encryption-keyUsage one.
/// With `PROFILES_KEEP=DIR` the certificates are kept (docs/PROFILES.md shows them).
#[test]
fn every_profile_reads_right_and_passes_pkilint() {
    use pki::profile::{CertProfile, Edition, PersonIdInDn, UnitCodeInDn};
    require_python_modules();
    let dir = tempfile::tempdir().unwrap();
    let profiles = [
        ("default-2023", CertProfile::default()),
        (
            "szca-2023",
            CertProfile {
                unit_code_2012_arc: true,
                unit_code_in_dn: UnitCodeInDn::Ou,
                ..Default::default()
            },
        ),
        (
            "gmt2012",
            CertProfile {
                edition: Edition::Gmt2012,
                unit_code_in_dn: UnitCodeInDn::Ou,
                person_id_in_dn: PersonIdInDn::SerialNumber,
                ..Default::default()
            },
        ),
    ];
    for (pname, profile) in profiles {
        let fx = issuer_with(profile);
        for (kname, subject) in [("org", org()), ("person", person("张三", ID_A))] {
            for usage in [Usage::Signing, Usage::Encryption] {
                let cert = issue(&fx, subject.clone(), usage);
                let name = format!("{pname}-{kname}-{}", usage.as_str());
                let path = dir.path().join(format!("{name}.der"));
                std::fs::write(&path, cert.to_der().unwrap()).unwrap();
                if let Ok(keep) = std::env::var("PROFILES_KEEP") {
                    std::fs::create_dir_all(&keep).unwrap();
                    std::fs::copy(&path, format!("{keep}/{name}.der")).unwrap();
                }
                let ids = read_identifiers(&path);
                let person_cert = kname == "person";
                let mut want: Vec<String> = Vec::new();
                match profile.edition {
                    Edition::Gmt2023 => {
                        want.push(format!("1.2.156.10260.4.4 printable {USCC}"));
                        if profile.unit_code_2012_arc {
                            want.push(format!("1.2.156.10260.4.1.4 printable {USCC}"));
                        }
                        if person_cert {
                            want.push(format!("1.2.156.10260.4.1.1.1 printable {ID_A}"));
                        }
                    }
                    Edition::Gmt2012 => {
                        want.push(format!("1.2.156.10260.4.1.4 printable {USCC}"));
                        if person_cert {
                            want.push(format!("1.2.156.10260.4.1.1 choice[0] {ID_A}"));
                        }
                    }
                }
                let got: Vec<String> = ids.lines().map(String::from).collect();
                assert_eq!(got, want, "{name}");
                // The DN.
                let dn = cert.tbs_certificate.subject.to_string();
                let has_ou = dn.contains(&format!("OU={USCC}"));
                assert_eq!(
                    has_ou,
                    profile.unit_code_in_dn == UnitCodeInDn::Ou,
                    "{name}: {dn}"
                );
                let serial_attr = if person_cert { ID_A } else { USCC };
                let has_sn = dn.contains(&format!("SERIALNUMBER={serial_attr}"));
                let want_sn = if person_cert {
                    profile.person_id_in_dn == PersonIdInDn::SerialNumber
                } else {
                    profile.unit_code_in_dn == UnitCodeInDn::SerialNumber
                };
                assert_eq!(has_sn, want_sn, "{name}: {dn}");
                let pem = dir.path().join(format!("{name}.pem"));
                std::fs::write(
                    &pem,
                    pki::issue::pem_encode("CERTIFICATE", &cert.to_der().unwrap()),
                )
                .unwrap();
                let findings = pkilint_cert(&pem, usage == Usage::Encryption);
                eprintln!("pkilint {name}: {}", findings.trim());
            }
        }
    }
}

/// The issuance log's subject line does not carry the 身份证号码 in clear.
#[test]
fn the_logged_subject_masks_the_id_number() {
    let fx = fixture();
    let req = IssueRequest {
        usage: Usage::Signing,
        subject: person("张三", ID_A),
        public_key: pki::keys::generate().public_key(),
        years: 1,
    };
    let t = fx
        .issuer
        .prepare(&req, now(), &mut rand::rngs::OsRng)
        .unwrap();
    assert!(!t.subject().contains(ID_A), "{}", t.subject());
    assert!(
        t.subject().contains("1101**********002X"),
        "{}",
        t.subject()
    );
}
