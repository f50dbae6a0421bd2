//! The issuance pipeline, `Ca::issue` — the function the CLI, the staff console's production
//! step and the benchmark all call — under injected faults: errors and crashes (panics in a
//! spawned task, the process "dying") while recording, between recording and signing, while
//! signing and while storing, then retries. What must hold whatever fails:
//! - nothing is signed that was not recorded first, with the very TBS that is signed;
//! - no serial is ever signed twice, and a recorded TBS is never signed again by a retry or
//!   by a restarted CA: it is abandoned (the CA dropped its certificate) or reported as
//!   unfinished;
//! - a certificate is returned only once stored; a retried batch issues exactly one
//!   certificate per request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use ca::storage::{CertRow, CrlRow, Record, RevokedRow, Unfinished};
use ca::{Ca, CaError, CaStorage, FixedClock, MemoryStorage, SerialStatus, StorageError};
use der::Decode;
use pki::crl::Reason;
use pki::issue::{serial_hex, CaNames};
use pki::{CertType, IssueRequest, KeySigner, PkiError, Signer, SubjectData, Usage};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// 2026-11-23 02:00:00 UTC, the hall's test T0.
const T0: u64 = 1_795_399_200;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    None,
    /// Fails with an error.
    Err,
    /// Fails with an error the first time only.
    ErrOnce,
    /// The process dies (panic) before the write commits.
    Crash,
    /// The write commits, then the process dies before the next step.
    CrashAfter,
    /// The write commits but the acknowledgement is lost (an error is returned), once.
    LostAck,
    /// The signer fails on the second certificate of a batch.
    ErrSecond,
}

/// The storage with faults: MemoryStorage underneath.
struct Flaky {
    inner: MemoryStorage,
    record: Mutex<Fault>,
    store: Mutex<Fault>,
    abandon: Mutex<Fault>,
    store_calls: AtomicUsize,
}

impl Flaky {
    fn new() -> Self {
        Self {
            inner: MemoryStorage::default(),
            record: Mutex::new(Fault::None),
            store: Mutex::new(Fault::None),
            abandon: Mutex::new(Fault::None),
            store_calls: AtomicUsize::new(0),
        }
    }
    fn take(f: &Mutex<Fault>) -> Fault {
        let mut g = f.lock().unwrap();
        let v = *g;
        if matches!(v, Fault::ErrOnce | Fault::LostAck) {
            *g = Fault::None;
        }
        v
    }
    fn heal(&self) {
        *self.record.lock().unwrap() = Fault::None;
        *self.store.lock().unwrap() = Fault::None;
        *self.abandon.lock().unwrap() = Fault::None;
    }
}

#[async_trait]
impl CaStorage for Flaky {
    async fn record(&self, issuer: &str, rows: &[Record], now: i64) -> Result<(), StorageError> {
        match Self::take(&self.record) {
            Fault::Err | Fault::ErrOnce => return Err(StorageError::Other("disk full".into())),
            Fault::Crash => panic!("crash while recording"),
            Fault::CrashAfter => {
                self.inner.record(issuer, rows, now).await?;
                panic!("crash after recording, before signing");
            }
            Fault::LostAck => {
                self.inner.record(issuer, rows, now).await?;
                return Err(StorageError::Other("connection reset".into()));
            }
            Fault::None | Fault::ErrSecond => {}
        }
        self.inner.record(issuer, rows, now).await
    }
    async fn store(
        &self,
        issuer: &str,
        certs: &[(String, Vec<u8>)],
        now: i64,
    ) -> Result<(), StorageError> {
        self.store_calls.fetch_add(1, Ordering::SeqCst);
        match Self::take(&self.store) {
            Fault::Err | Fault::ErrOnce => {
                return Err(StorageError::Other("connection lost".into()))
            }
            Fault::Crash => panic!("crash while storing"),
            Fault::CrashAfter => {
                self.inner.store(issuer, certs, now).await?;
                panic!("crash after storing, before answering");
            }
            Fault::LostAck => {
                self.inner.store(issuer, certs, now).await?;
                return Err(StorageError::Other("connection reset".into()));
            }
            Fault::None | Fault::ErrSecond => {}
        }
        self.inner.store(issuer, certs, now).await
    }
    async fn abandon(
        &self,
        issuer: &str,
        serials: &[String],
        now: i64,
    ) -> Result<(), StorageError> {
        if Self::take(&self.abandon) != Fault::None {
            return Err(StorageError::Other("still down".into()));
        }
        self.inner.abandon(issuer, serials, now).await
    }
    async fn unfinished(&self, issuer: &str) -> Result<Vec<Unfinished>, StorageError> {
        self.inner.unfinished(issuer).await
    }
    async fn escrow(
        &self,
        issuer: &str,
        serial: &str,
        envelope: &[u8],
        now: i64,
    ) -> Result<(), StorageError> {
        self.inner.escrow(issuer, serial, envelope, now).await
    }
    async fn record_pair(
        &self,
        issuer: &str,
        pair: &ca::storage::PairRecord,
        now: i64,
    ) -> Result<(), StorageError> {
        self.inner.record_pair(issuer, pair, now).await
    }
    async fn pair(
        &self,
        issuer: &str,
        reference: &str,
    ) -> Result<Option<ca::storage::RecordedPair>, StorageError> {
        self.inner.pair(issuer, reference).await
    }
    async fn revoke(
        &self,
        issuer: &str,
        serial: &str,
        reason: Reason,
        at: i64,
    ) -> Result<(), StorageError> {
        self.inner.revoke(issuer, serial, reason, at).await
    }
    async fn status(&self, issuer: &str, serial: &str) -> Result<SerialStatus, StorageError> {
        self.inner.status(issuer, serial).await
    }
    async fn revoked(&self, issuer: &str, now: i64) -> Result<Vec<RevokedRow>, StorageError> {
        self.inner.revoked(issuer, now).await
    }
    async fn list(&self, issuer: &str, limit: i64) -> Result<Vec<CertRow>, StorageError> {
        self.inner.list(issuer, limit).await
    }
    async fn counts(&self, issuer: &str) -> Result<Vec<(String, i64)>, StorageError> {
        self.inner.counts(issuer).await
    }
    async fn cert(&self, issuer: &str, serial: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.cert(issuer, serial).await
    }
    async fn next_crl_number(&self, issuer: &str) -> Result<i64, StorageError> {
        self.inner.next_crl_number(issuer).await
    }
    async fn put_crl(
        &self,
        issuer: &str,
        number: i64,
        this_update: i64,
        next_update: i64,
        der: &[u8],
    ) -> Result<(), StorageError> {
        self.inner
            .put_crl(issuer, number, this_update, next_update, der)
            .await
    }
    async fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRow>, StorageError> {
        self.inner.latest_crl(issuer).await
    }
    async fn claim_subject(
        &self,
        issuer: &str,
        dn: &[u8],
        entity: &str,
    ) -> Result<(), StorageError> {
        self.inner.claim_subject(issuer, dn, entity).await
    }
    async fn block_key(&self, key_id: &str, serial: &str, at: i64) -> Result<(), StorageError> {
        self.inner.block_key(key_id, serial, at).await
    }
    async fn key_blocked(&self, key_id: &str) -> Result<bool, StorageError> {
        self.inner.key_blocked(key_id).await
    }
    async fn link_pair(&self, issuer: &str, sign: &str, enc: &str) -> Result<(), StorageError> {
        self.inner.link_pair(issuer, sign, enc).await
    }
    async fn partner(&self, issuer: &str, serial: &str) -> Result<Option<String>, StorageError> {
        self.inner.partner(issuer, serial).await
    }
    async fn register_ca_cert(
        &self,
        issuer: &str,
        serial: &str,
        subject: &str,
        tbs: &[u8],
        der: &[u8],
        not_after: i64,
        at: i64,
    ) -> Result<(), StorageError> {
        self.inner
            .register_ca_cert(issuer, serial, subject, tbs, der, not_after, at)
            .await
    }
}

/// A signer that checks, at the moment it is asked, that the TBS was recorded as is, and
/// remembers every serial it signed.
struct Watching {
    inner: KeySigner,
    storage: Arc<Flaky>,
    signed: Mutex<Vec<String>>,
    violations: Mutex<Vec<String>>,
    fault: Mutex<Fault>,
}

impl Signer for Watching {
    fn public_key(&self) -> &sm2::PublicKey {
        self.inner.public_key()
    }
    fn sign(&self, msg: &[u8]) -> pki::Result<Vec<u8>> {
        // CRLs and OCSP responses are signed by the same key; only certificates are watched.
        let Ok(tbs) = x509_cert::TbsCertificate::from_der(msg) else {
            return self.inner.sign(msg);
        };
        let serial = serial_hex(tbs.serial_number.as_bytes());
        let fault = *self.fault.lock().unwrap();
        match fault {
            Fault::Err => return Err(PkiError::Signer("HSM unavailable".into())),
            Fault::Crash => panic!("crash while signing"),
            Fault::ErrSecond if !self.signed.lock().unwrap().is_empty() => {
                return Err(PkiError::Signer("HSM unavailable".into()))
            }
            _ => {}
        }
        if self
            .storage
            .inner
            .recorded_tbs("issuing", &serial)
            .as_deref()
            != Some(msg)
        {
            self.violations
                .lock()
                .unwrap()
                .push(format!("{serial} signed but not recorded as signed"));
        }
        self.signed.lock().unwrap().push(serial);
        self.inner.sign(msg)
    }
}

struct Rig {
    ca: Arc<Ca>,
    storage: Arc<Flaky>,
    signer: Arc<Watching>,
    issuing_key: sm2::SecretKey,
    files: ca::CaFiles,
    km: sm2::PublicKey,
    clock: Arc<FixedClock>,
}

impl Rig {
    fn new() -> Self {
        let clock = Arc::new(FixedClock::at_unix(T0));
        let names = CaNames {
            root_cn: "certhall Test Root CA".into(),
            issuing_cn: "certhall Test SM2 CA".into(),
            org: "certhall 测试CA".into(),
            root_years: 20,
            issuing_years: 10,
        };
        let new = ca::files::new_ca(
            &names,
            &ca::files::in_memory_publish(),
            ca::clock::whole_seconds(ca::Clock::now(&*clock)),
        )
        .unwrap();
        let files = ca::files::in_memory_files(&names, &new);
        let storage = Arc::new(Flaky::new());
        let km = pki::keys::generate().public_key();
        let signer = Arc::new(Watching {
            inner: KeySigner::new(&new.issuing_key).unwrap(),
            storage: storage.clone(),
            signed: Mutex::new(vec![]),
            violations: Mutex::new(vec![]),
            fault: Mutex::new(Fault::None),
        });
        let ca = Arc::new(
            Ca::from_parts(
                files.clone(),
                signer.clone(),
                km,
                storage.clone(),
                clock.clone(),
            )
            .unwrap(),
        );
        Self {
            ca,
            storage,
            signer,
            issuing_key: new.issuing_key,
            files,
            km,
            clock,
        }
    }

    /// The same CA started again (a new process) over the same storage and signer log.
    fn restarted(&self) -> Arc<Ca> {
        Arc::new(
            Ca::from_parts(
                self.files.clone(),
                self.signer.clone(),
                self.km,
                self.storage.clone(),
                self.clock.clone(),
            )
            .unwrap(),
        )
    }

    /// Runs the pipeline in its own task: a panic there is a crash of that "process".
    async fn issue(
        &self,
        ca: &Arc<Ca>,
        reqs: Vec<IssueRequest>,
    ) -> Result<Result<Vec<pki::Issued>, CaError>, ()> {
        let ca = ca.clone();
        tokio::spawn(async move { ca.issue(&reqs).await })
            .await
            .map_err(|e| assert!(e.is_panic(), "{e}"))
    }

    fn signed(&self) -> Vec<String> {
        self.signer.signed.lock().unwrap().clone()
    }

    async fn stored(&self) -> Vec<String> {
        let mut out = vec![];
        for s in self.storage.inner.recorded("issuing") {
            if self
                .storage
                .inner
                .cert("issuing", &s)
                .await
                .unwrap()
                .is_some()
            {
                out.push(s);
            }
        }
        out
    }

    async fn unfinished(&self) -> Vec<String> {
        self.ca
            .unfinished()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.serial)
            .collect()
    }

    /// The invariants that hold whatever happened.
    async fn check_invariants(&self, what: &str) {
        let v = self.signer.violations.lock().unwrap().clone();
        assert!(v.is_empty(), "{what}: {v:?}");
        let signed = self.signed();
        let unique: HashSet<&String> = signed.iter().collect();
        assert_eq!(
            unique.len(),
            signed.len(),
            "{what}: a serial was signed twice"
        );
        for s in self.stored().await {
            assert!(
                signed.contains(&s),
                "{what}: stored {s} that the signer never signed"
            );
        }
    }
}

fn subject() -> SubjectData {
    SubjectData::new(
        CertType::Org,
        "某单位",
        domain::CreditCode::parse("91350100M000100Y43").unwrap(),
        None,
    )
    .unwrap()
}

fn requests(n: usize) -> Vec<IssueRequest> {
    (0..n)
        .map(|_| IssueRequest {
            usage: Usage::Signing,
            subject: subject(),
            public_key: pki::keys::generate().public_key(),
            years: 2,
        })
        .collect()
}

/// Which fault goes where, and what the first attempt must leave behind.
struct Case {
    name: &'static str,
    record: Fault,
    sign: Fault,
    store: Fault,
    abandon: Fault,
    /// The first attempt succeeds (then no retry is needed).
    succeeds: bool,
    /// The first attempt's serials are reported as unfinished afterwards.
    unfinished: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "no fault",
        record: Fault::None,
        sign: Fault::None,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: true,
        unfinished: false,
    },
    Case {
        name: "record error",
        record: Fault::Err,
        sign: Fault::None,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: false,
    },
    Case {
        name: "crash while recording",
        record: Fault::Crash,
        sign: Fault::None,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: false,
    },
    Case {
        name: "record committed, answer lost",
        record: Fault::LostAck,
        sign: Fault::None,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: false,
    },
    Case {
        name: "crash between record and sign",
        record: Fault::CrashAfter,
        sign: Fault::None,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: true,
    },
    Case {
        name: "sign error",
        record: Fault::None,
        sign: Fault::Err,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: false,
    },
    Case {
        name: "sign error on the second certificate",
        record: Fault::None,
        sign: Fault::ErrSecond,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: false,
    },
    Case {
        name: "crash while signing",
        record: Fault::None,
        sign: Fault::Crash,
        store: Fault::None,
        abandon: Fault::None,
        succeeds: false,
        unfinished: true,
    },
    Case {
        name: "store error once (retried)",
        record: Fault::None,
        sign: Fault::None,
        store: Fault::ErrOnce,
        abandon: Fault::None,
        succeeds: true,
        unfinished: false,
    },
    Case {
        name: "store committed, answer lost (retried)",
        record: Fault::None,
        sign: Fault::None,
        store: Fault::LostAck,
        abandon: Fault::None,
        succeeds: true,
        unfinished: false,
    },
    Case {
        name: "store error",
        record: Fault::None,
        sign: Fault::None,
        store: Fault::Err,
        abandon: Fault::None,
        succeeds: false,
        unfinished: false,
    },
    Case {
        name: "store error, abandon error",
        record: Fault::None,
        sign: Fault::None,
        store: Fault::Err,
        abandon: Fault::Err,
        succeeds: false,
        unfinished: true,
    },
    Case {
        name: "crash while storing",
        record: Fault::None,
        sign: Fault::None,
        store: Fault::Crash,
        abandon: Fault::None,
        succeeds: false,
        unfinished: true,
    },
];

#[tokio::test]
async fn every_fault_then_a_retry_issues_each_request_once_and_never_signs_twice() {
    for case in CASES {
        for n in [1usize, 3] {
            if case.sign == Fault::ErrSecond && n == 1 {
                continue;
            }
            let what = format!("{} (batch of {n})", case.name);
            let rig = Rig::new();
            *rig.storage.record.lock().unwrap() = case.record;
            *rig.storage.store.lock().unwrap() = case.store;
            *rig.storage.abandon.lock().unwrap() = case.abandon;
            *rig.signer.fault.lock().unwrap() = case.sign;
            let reqs = requests(n);

            let first = rig.issue(&rig.ca, reqs.clone()).await;
            rig.check_invariants(&what).await;
            let recorded = rig.storage.inner.recorded("issuing");
            let stored = rig.stored().await;
            match (&first, case.succeeds) {
                (Ok(Ok(issued)), true) => {
                    assert_eq!(issued.len(), n, "{what}");
                    assert_eq!(rig.signed().len(), n, "{what}: each signed once");
                    assert_eq!(stored.len(), n, "{what}");
                    for i in issued {
                        let kept = rig
                            .storage
                            .inner
                            .cert("issuing", &serial_hex(&i.serial))
                            .await
                            .unwrap();
                        assert_eq!(kept.as_ref(), Some(&i.der), "{what}: returned = stored");
                    }
                    assert!(rig.unfinished().await.is_empty(), "{what}");
                    continue;
                }
                (Ok(Ok(_)), false) => panic!("{what}: succeeded"),
                (_, true) => panic!("{what}: failed: {first:?}"),
                (Ok(Err(e)), false) => {
                    assert!(stored.is_empty(), "{what}: stored after {e}")
                }
                (Err(()), false) => assert!(stored.is_empty() || case.store == Fault::CrashAfter),
            }
            // Nothing before the record commits is signed.
            if matches!(case.record, Fault::Err | Fault::Crash | Fault::LostAck) {
                assert!(rig.signed().is_empty(), "{what}: signed without a record");
            }
            let unfinished = rig.unfinished().await;
            if case.unfinished {
                assert_eq!(unfinished, recorded, "{what}: reported as unfinished");
            } else {
                assert!(unfinished.is_empty(), "{what}: {unfinished:?}");
                // Dropped serials are abandoned: OCSP says unknown, revoking is refused.
                for s in &recorded {
                    assert_eq!(
                        rig.storage.inner.status("issuing", s).await.unwrap(),
                        SerialStatus::Unknown,
                        "{what}"
                    );
                }
            }

            // The faults heal; a retry (by a restarted CA when the first "process" died)
            // issues each request exactly once and leaves the first attempt's serials alone.
            rig.storage.heal();
            *rig.signer.fault.lock().unwrap() = Fault::None;
            let ca = match first {
                Err(()) => rig.restarted(),
                Ok(_) => rig.ca.clone(),
            };
            let signed_before: HashSet<String> = rig.signed().into_iter().collect();
            let retry = rig.issue(&ca, reqs).await.unwrap().unwrap();
            assert_eq!(retry.len(), n, "{what}: retry");
            rig.check_invariants(&what).await;
            let stored_now = rig.stored().await;
            assert_eq!(stored_now.len(), n, "{what}: one certificate per request");
            for i in &retry {
                let s = serial_hex(&i.serial);
                assert!(!recorded.contains(&s), "{what}: a recorded TBS was resumed");
                assert!(!signed_before.contains(&s), "{what}");
            }
            let after: HashSet<String> = rig.signed().into_iter().collect();
            for s in &recorded {
                assert_eq!(
                    after.contains(s),
                    signed_before.contains(s),
                    "{what}: {s} signed again"
                );
            }
            assert_eq!(
                rig.unfinished().await,
                if case.unfinished { recorded } else { vec![] },
                "{what}: still reported, never resumed"
            );
        }
    }
}

#[tokio::test]
async fn a_store_retry_signs_nothing_again() {
    let rig = Rig::new();
    *rig.storage.store.lock().unwrap() = Fault::ErrOnce;
    let issued = rig.ca.issue(&requests(4)).await.unwrap();
    assert_eq!(issued.len(), 4);
    assert_eq!(rig.storage.store_calls.load(Ordering::SeqCst), 2);
    assert_eq!(rig.signed().len(), 4);
    rig.check_invariants("store retry").await;
}

#[tokio::test]
async fn refused_requests_record_nothing() {
    let rig = Rig::new();
    // The CA's own key as the subject key is refused before anything is recorded.
    let mut own = requests(1).remove(0);
    own.public_key = rig.issuing_key.public_key();
    assert!(matches!(
        rig.ca.issue(&[own]).await,
        Err(CaError::Pki(PkiError::Profile { .. }))
    ));
    // Validity beyond the issuing CA (10 years) or outside 办理年限 1–5 too; a bad request
    // in a batch stops the whole batch.
    let mut long = requests(1).remove(0);
    long.years = 6;
    let mut batch = requests(2);
    batch.push(long);
    assert!(rig.ca.issue(&batch).await.is_err());
    assert!(rig.storage.inner.recorded("issuing").is_empty());
    assert!(rig.signed().is_empty());
    assert!(rig.ca.issue(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn dual_certificates_envelope_and_escrow() {
    let rig = Rig::new();
    let user = pki::keys::generate();
    let pair = rig
        .ca
        .issue_with_encryption(subject(), user.public_key(), 1)
        .await
        .unwrap();
    let enc_key = pki::envelope::open(&pair.envelope.der, &user).unwrap();
    let enc = x509_cert::Certificate::from_der(&pair.enc.der).unwrap();
    assert_eq!(
        pki::csr::sm2_public_key(&enc.tbs_certificate.subject_public_key_info).unwrap(),
        enc_key.public_key()
    );
    assert!(rig
        .storage
        .inner
        .has_escrow("issuing", &serial_hex(&pair.enc.serial)));
    assert_eq!(rig.signed().len(), 2);
}

#[tokio::test]
async fn revocation_reaches_the_crl_and_ocsp_on_the_injected_clock() {
    let rig = Rig::new();
    let issued = rig.ca.issue(&requests(2)).await.unwrap();
    let publisher = ca::Publisher::new(rig.ca.clone()).unwrap();
    let serial = serial_hex(&issued[0].serial);
    let now = rig.ca.now();
    publisher
        .responder()
        .presign(&issued[0].serial, pki::ocsp::CertState::Good, now)
        .unwrap();
    assert_eq!(publisher.refresh().await.unwrap(), (0, true), "first CRL");
    rig.clock.advance(std::time::Duration::from_secs(3600));
    rig.ca.revoke(&serial, Reason::KeyCompromise).await.unwrap();
    assert!(matches!(
        rig.ca.revoke(&serial, Reason::KeyCompromise).await,
        Err(CaError::NotFound(_))
    ));
    assert_eq!(
        rig.storage.inner.status("issuing", &serial).await.unwrap(),
        SerialStatus::Revoked {
            at: (T0 as i64 + 3600) * 1000,
            reason: Reason::KeyCompromise
        }
    );
    // The revocation wins over the pre-signed "good".
    let req = pki::ocsp::make_request(
        vec![publisher.responder().cert_id(&issued[0].serial).unwrap()],
        None,
    )
    .unwrap();
    let resp = x509_ocsp::OcspResponse::from_der(&publisher.ocsp(&req).await).unwrap();
    let basic =
        x509_ocsp::BasicOcspResponse::from_der(resp.response_bytes.unwrap().response.as_bytes())
            .unwrap();
    assert!(matches!(
        basic.tbs_response_data.responses[0].cert_status,
        x509_ocsp::CertStatus::Revoked(_)
    ));
    // Half the CRL's validity later the refresher makes the next one, with the entry.
    rig.clock
        .advance(std::time::Duration::from_secs(4 * 24 * 3600));
    assert!(publisher.refresh().await.unwrap().1);
    let crl = publisher.crl("issuing").await.unwrap();
    let list = x509_cert::crl::CertificateList::from_der(&crl).unwrap();
    let revoked = list.tbs_cert_list.revoked_certificates.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial_number.as_bytes(), &issued[0].serial[..]);
    assert_eq!(
        list.tbs_cert_list.this_update.to_unix_duration().as_secs(),
        T0 + 3600 + 4 * 24 * 3600
    );
}
