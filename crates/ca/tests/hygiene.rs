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
