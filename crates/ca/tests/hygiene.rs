//! Issue 19 at the CA service: key hygiene (the root's key, the key manager's escrow key and
//! keys revoked for keyCompromise are refused) and the dual pair revoked together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ca::{Ca, FixedClock, MemoryStorage, SerialStatus};
use pki::crl::Reason;
use pki::issue::{serial_hex, CaNames};
use pki::{CertType, IssueRequest, SubjectData, Usage};
use std::sync::Arc;

/// 2026-11-23 02:00:00 UTC, the hall's test T0.
pub const T0: u64 = 1_795_399_200;

pub fn names() -> CaNames {
    CaNames {
        root_cn: "certhall Test Root CA".into(),
        issuing_cn: "certhall Test SM2 CA".into(),
        org: "certhall 测试CA".into(),
        root_years: 20,
        issuing_years: 10,
    }
}

pub fn ca() -> (Ca, Arc<MemoryStorage>, Arc<FixedClock>) {
    let storage = Arc::new(MemoryStorage::default());
    let clock = Arc::new(FixedClock::at_unix(T0));
    let ca = Ca::in_memory(&names(), storage.clone(), clock.clone()).unwrap();
    (ca, storage, clock)
}

pub fn org() -> SubjectData {
    SubjectData::new(
        CertType::Org,
        "深圳市某某建设工程有限公司",
        domain::CreditCode::parse("91350100M000100Y43").unwrap(),
        None,
    )
    .unwrap()
}

fn req(public_key: sm2::PublicKey) -> IssueRequest {
    IssueRequest {
        usage: Usage::Signing,
        subject: org(),
        public_key,
        years: 1,
    }
}

#[tokio::test]
async fn the_roots_own_key_is_refused() {
    let (ca, storage, _) = ca();
    let root_key = ca.files().root.public_key().unwrap();
    let err = ca.issue(&[req(root_key)]).await.unwrap_err().to_string();
    assert!(err.contains("root CA"), "{err}");
    assert!(storage.recorded("issuing").is_empty());
}

#[tokio::test]
async fn the_key_managers_escrow_key_is_refused() {
    let (ca, storage, _) = ca();
    let km = *ca.km_public();
    let err = ca.issue(&[req(km)]).await.unwrap_err().to_string();
    assert!(err.contains("key manager"), "{err}");
    assert!(storage.recorded("issuing").is_empty());
}

#[tokio::test]
async fn a_key_revoked_for_key_compromise_is_refused_again() {
    let (ca, _, _) = ca();
    let key = pki::keys::generate().public_key();
    let first = ca.issue(&[req(key)]).await.unwrap().remove(0);
    // Superseded: the same key may be certified again.
    ca.revoke(&serial_hex(&first.serial), Reason::Superseded)
        .await
        .unwrap();
    let second = ca.issue(&[req(key)]).await.unwrap().remove(0);
    ca.revoke(&serial_hex(&second.serial), Reason::KeyCompromise)
        .await
        .unwrap();
    let err = ca.issue(&[req(key)]).await.unwrap_err().to_string();
    assert!(err.contains("keyCompromise"), "{err}");
    // Another key is fine.
    ca.issue(&[req(pki::keys::generate().public_key())])
        .await
        .unwrap();
}

#[tokio::test]
async fn revoking_a_signing_certificate_revokes_its_encryption_certificate() {
    let (ca, storage, _) = ca();
    let pair = ca
        .issue_with_encryption(org(), pki::keys::generate().public_key(), 1)
        .await
        .unwrap();
    let sign = serial_hex(&pair.sign.serial);
    let enc = serial_hex(&pair.enc.serial);
    ca.revoke(&sign, Reason::AffiliationChanged).await.unwrap();
    for s in [&sign, &enc] {
        assert!(
            matches!(
                ca::CaStorage::status(&*storage, "issuing", s)
                    .await
                    .unwrap(),
                SerialStatus::Revoked {
                    reason: Reason::AffiliationChanged,
                    ..
                }
            ),
            "{s} not revoked with the pair's reason"
        );
    }
}

fn person(name: &str, id: &str) -> SubjectData {
    SubjectData::new(
        CertType::OrgPerson,
        "深圳市某某建设工程有限公司",
        domain::CreditCode::parse("91350100M000100Y43").unwrap(),
        Some((
            name,
            domain::IdNumber::parse(id, domain::Date::new(2026, 11, 23).unwrap()).unwrap(),
        )),
    )
    .unwrap()
}

/// A CA whose `[profile]` is `profile` (the rest as `Ca::in_memory`).
fn ca_with_profile(profile: ca::files::ProfileConfig) -> Ca {
    let clock = Arc::new(FixedClock::at_unix(T0));
    let new = ca::files::new_ca(
        &names(),
        &ca::files::in_memory_publish(),
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(T0),
    )
    .unwrap();
    let mut files = ca::files::in_memory_files(&names(), &new);
    files.cfg.profile = profile;
    Ca::from_parts(
        files,
        Arc::new(pki::KeySigner::new(&new.issuing_key).unwrap()),
        pki::keys::generate().public_key(),
        Arc::new(MemoryStorage::default()),
        clock,
    )
    .unwrap()
}

const ID_A: &str = "11010519491231002X";
const ID_B: &str = "440305198506151233";

fn sign_req(subject: SubjectData) -> IssueRequest {
    IssueRequest {
        usage: Usage::Signing,
        subject,
        public_key: pki::keys::generate().public_key(),
        years: 1,
    }
}

/// Two 张三 of one unit: distinct DNs under the default profile; under a profile that puts
/// no personal identifier in the DN the second is refused (RFC 5280 §4.1.2.6), while the
/// same person again (a renewal) is not.
#[tokio::test]
async fn a_dn_already_issued_to_another_entity_is_refused() {
    let (ca, _, _) = ca();
    let a = ca.issue(&[sign_req(person("张三", ID_A))]).await.unwrap();
    let b = ca.issue(&[sign_req(person("张三", ID_B))]).await.unwrap();
    assert_ne!(subject_der(&a[0].der), subject_der(&b[0].der));

    let legacy = ca_with_profile(ca::files::ProfileConfig {
        person_id_in_dn: "none".into(),
        ..Default::default()
    });
    legacy
        .issue(&[sign_req(person("张三", ID_A))])
        .await
        .unwrap();
    legacy
        .issue(&[sign_req(person("张三", ID_A))])
        .await
        .unwrap();
    let err = legacy
        .issue(&[sign_req(person("张三", ID_B))])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("different entity"), "{err}");
    assert!(!err.contains(ID_B) && !err.contains(ID_A), "{err}");
}

fn subject_der(cert: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    x509_cert::Certificate::from_der(cert)
        .unwrap()
        .tbs_certificate
        .subject
        .to_der()
        .unwrap()
}

fn sm2verify(issuer: &std::path::Path, object: &std::path::Path) -> String {
    let out = std::process::Command::new("python3")
        .arg("/work/shared/tools/sm2verify.py")
        .arg(issuer)
        .arg(object)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sm2verify: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The acceptance of issue 19 for the chain: the root revokes the issuing CA; the ARL lists
/// it and verifies against the root with the GM/T ID (sm2verify.py and openssl), and the
/// OCSP answer for the issuing CA, signed by the root, says revoked.
#[tokio::test]
async fn the_root_revokes_the_issuing_ca_in_its_arl_and_ocsp() {
    use der::Decode;
    let (ca, _, clock) = ca();
    let ca = Arc::new(ca);
    let publisher = ca::Publisher::new(ca.clone()).unwrap();
    let issuing_serial = ca
        .files()
        .issuing
        .cert
        .tbs_certificate
        .serial_number
        .as_bytes()
        .to_vec();
    // Before: the root answers good for the issuing CA, pre-signed by the refresher.
    publisher.refresh().await.unwrap();
    let root_id = || {
        let r = pki::ocsp::Responder::new(
            ca.files().root.clone(),
            pki::KeySigner::new(&pki::keys::generate()).unwrap(),
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        r.cert_id(&issuing_serial).unwrap()
    };
    let status = |der: Vec<u8>| {
        let r = x509_ocsp::OcspResponse::from_der(&der).unwrap();
        let b =
            x509_ocsp::BasicOcspResponse::from_der(r.response_bytes.unwrap().response.as_bytes())
                .unwrap();
        b.tbs_response_data.responses[0].cert_status
    };
    let req = pki::ocsp::make_request(vec![root_id()], None).unwrap();
    assert!(matches!(
        status(publisher.ocsp(&req).await),
        x509_ocsp::CertStatus::Good(_)
    ));

    clock.advance(std::time::Duration::from_secs(60));
    let serial = ca
        .revoke_issuing_ca(Reason::CessationOfOperation)
        .await
        .unwrap();
    assert_eq!(serial, serial_hex(&issuing_serial));
    let arl = ca.make_arl().await.unwrap();
    let crl = x509_cert::crl::CertificateList::from_der(&arl).unwrap();
    assert_eq!(&crl.tbs_cert_list.issuer, ca.files().root.subject());
    let listed: Vec<_> = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| r.serial_number.as_bytes().to_vec())
        .collect();
    assert_eq!(listed, vec![issuing_serial.clone()]);
    // Served where the issuing CA's CRLDP points.
    assert_eq!(publisher.crl("root").await.unwrap(), arl);

    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("root.pem"), ca.files().root.pem()).unwrap();
    std::fs::write(p("root.crl"), &arl).unwrap();
    assert!(sm2verify(&p("root.pem"), &p("root.crl")).starts_with("OK"));
    // OpenSSL 3.0's `crl` verifies SM2 with the empty ID only (no -vfyopt): it reads the
    // ARL; the signature is checked with the GM/T ID by sm2verify above.
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(p("root.crl"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains(&serial) && text.contains("Cessation Of Operation"),
        "{text}"
    );

    // OCSP for the issuing CA: revoked, signed by the root.
    let der = publisher.ocsp(&req).await;
    assert!(matches!(
        status(der.clone()),
        x509_ocsp::CertStatus::Revoked(_)
    ));
    std::fs::write(p("issuing.ocsp"), &der).unwrap();
    assert!(sm2verify(&p("root.pem"), &p("issuing.ocsp")).starts_with("OK"));
    assert!(matches!(
        ca.revoke_issuing_ca(Reason::CessationOfOperation).await,
        Err(ca::CaError::NotFound(_))
    ));
}
