//! The issuance pipeline (check → TBS → lint → record → sign → store) under injected failures:
//! whichever step fails or "crashes" (panics), every serial that was signed had been recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use der::Decode;
use pki::issue::{IssuanceLog, Issued, MemoryLog, Prepared};
use pki::{IssueRequest, Issuer, PkiError, Profile, Signer, SubjectData, Usage};
use std::sync::Mutex;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Fail {
    None,
    RecordErr,
    RecordPanic,
    SignErr,
    SignPanic,
    StoreErr,
    StorePanic,
}

struct FlakyLog {
    inner: MemoryLog,
    fail: Fail,
}
impl IssuanceLog for FlakyLog {
    fn record(&self, issuer: &str, batch: &[&Prepared]) -> pki::Result<()> {
        match self.fail {
            Fail::RecordErr => return Err(PkiError::Log("disk full".into())),
            Fail::RecordPanic => panic!("crash while recording"),
            _ => {}
        }
        self.inner.record(issuer, batch)
    }
    fn store(&self, issuer: &str, batch: &[&Issued]) -> pki::Result<()> {
        match self.fail {
            Fail::StoreErr => return Err(PkiError::Log("connection lost".into())),
            Fail::StorePanic => panic!("crash while storing"),
            _ => {}
        }
        self.inner.store(issuer, batch)
    }
}

/// A signer that remembers the serial of every TBS certificate it signed.
struct WatchingSigner {
    inner: pki::KeySigner,
    signed: Mutex<Vec<Vec<u8>>>,
    fail: Fail,
}
impl Signer for WatchingSigner {
    fn public_key(&self) -> &sm2::PublicKey {
        self.inner.public_key()
    }
    fn sign(&self, msg: &[u8]) -> pki::Result<Vec<u8>> {
        match self.fail {
            Fail::SignErr => return Err(PkiError::Signer("HSM unavailable".into())),
            Fail::SignPanic => panic!("crash while signing"),
            _ => {}
        }
        let tbs = x509_cert::TbsCertificate::from_der(msg).unwrap();
        self.signed
            .lock()
            .unwrap()
            .push(tbs.serial_number.as_bytes().to_vec());
        self.inner.sign(msg)
    }
}

#[test]
fn no_signed_serial_is_ever_unrecorded() {
    let fx = fixture();
    for fail in [
        Fail::None,
        Fail::RecordErr,
        Fail::RecordPanic,
        Fail::SignErr,
        Fail::SignPanic,
        Fail::StoreErr,
        Fail::StorePanic,
    ] {
        let issuer = Issuer {
            ca: fx.issuer.ca.clone(),
            signer: WatchingSigner {
                inner: pki::KeySigner::new(&fx.issuing_key).unwrap(),
                signed: Mutex::new(vec![]),
                fail,
            },
            publish: fx.issuer.publish.clone(),
        };
        let log = FlakyLog {
            inner: MemoryLog::default(),
            fail,
        };
        let req = IssueRequest {
            profile: Profile::Org,
            usage: Usage::Signing,
            subject: SubjectData::new(Profile::Org, "某单位", "91350100M000100Y43", None).unwrap(),
            public_key: pki::keys::generate().public_key(),
            years: 2,
        };
        let reqs = vec![req.clone(), req.clone(), req];
        let single = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            issuer.issue(&log, &reqs[0], now(), &mut rand::rngs::OsRng)
        }));
        let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            issuer.issue_batch(&log, &reqs, now(), &mut rand::rngs::OsRng)
        }));
        let recorded: Vec<Vec<u8>> = log
            .inner
            .records
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.1.clone())
            .collect();
        let stored: Vec<Vec<u8>> = log
            .inner
            .certs
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.1.clone())
            .collect();
        let signed = issuer.signer.signed.lock().unwrap().clone();
        for s in &signed {
            assert!(
                recorded.contains(s),
                "{fail:?}: serial signed but never recorded"
            );
        }
        for s in &stored {
            assert!(
                signed.contains(s),
                "{fail:?}: stored a certificate that was not signed"
            );
        }
        match fail {
            Fail::None => {
                assert!(matches!(single, Ok(Ok(_))) && matches!(batch, Ok(Ok(_))));
                assert_eq!((recorded.len(), signed.len(), stored.len()), (4, 4, 4));
            }
            Fail::RecordErr | Fail::RecordPanic => {
                assert!(signed.is_empty() && recorded.is_empty())
            }
            Fail::SignErr | Fail::SignPanic => {
                assert!(signed.is_empty() && stored.is_empty() && recorded.len() == 4)
            }
            Fail::StoreErr | Fail::StorePanic => {
                assert!(stored.is_empty() && recorded.len() == 4 && signed.len() == 4)
            }
        }
    }
}

#[test]
fn lint_failure_records_nothing() {
    let fx = fixture();
    let log = MemoryLog::default();
    // The CA's own key as the subject key is refused before anything is recorded.
    let req = IssueRequest {
        profile: Profile::Org,
        usage: Usage::Signing,
        subject: SubjectData::new(Profile::Org, "某单位", "91350100M000100Y43", None).unwrap(),
        public_key: fx.issuing_key.public_key(),
        years: 2,
    };
    assert!(fx
        .issuer
        .issue(&log, &req, now(), &mut rand::rngs::OsRng)
        .is_err());
    // Validity beyond the issuing CA (10 years) is refused too.
    let mut long = req.clone();
    long.public_key = pki::keys::generate().public_key();
    long.years = 6;
    assert!(fx
        .issuer
        .issue(&log, &long, now(), &mut rand::rngs::OsRng)
        .is_err());
    assert!(log.records.lock().unwrap().is_empty());
}
