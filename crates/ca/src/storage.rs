//! The storage port of the CA service: the issuance log (serial and TBS recorded before
//! signing, the certificate stored after), revocations, CRLs and escrowed encryption keys.
//! `store::ca::CaStore` implements it on the hall's database (SQLite or PostgreSQL);
//! [`MemoryStorage`] in memory, for tests and the benchmark's baseline.
//!
//! A serial's life: **recorded** ([`CaStorage::record`], durable before anything is signed) →
//! **issued** ([`CaStorage::store`]) → possibly **revoked**. A recorded serial whose
//! certificate the pipeline dropped (signing or storing failed) is **abandoned**
//! ([`CaStorage::abandon`]): no certificate with that serial ever left the CA. A recorded
//! serial that is neither issued nor abandoned is **unfinished** ([`CaStorage::unfinished`]):
//! the process stopped between recording and storing. [`crate::Ca::issue`] never signs a
//! recorded TBS again; unfinished serials are reported. A pair recorded for a reference
//! ([`CaStorage::record_pair`]) is finished by `Ca::finish_pair`, which signs its recorded
//! TBS when no certificate was stored (no signature over it ever left the CA).

use async_trait::async_trait;
use pki::crl::Reason;
use pki::{CertType, Usage};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Why the storage refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// No row in the state the operation needs (revoking an unknown or revoked serial,
    /// storing a certificate that was never recorded).
    #[error("not found")]
    NotFound,
    /// A unique value exists already (a serial recorded twice, a CRL number used twice).
    #[error("already exists")]
    Duplicate,
    /// The database failed; the message is for logs.
    #[error("{0}")]
    Other(String),
}

/// One certificate about to be signed: what the issuance log holds before the signature.
#[derive(Debug, Clone)]
pub struct Record {
    /// Serial, upper-case hex.
    pub serial: String,
    /// 机构证书 or 机构个人证书 (stored as the profile name, `pki::profile_name`).
    pub kind: CertType,
    /// Signing or encryption.
    pub usage: Usage,
    /// Subject, one line.
    pub subject: String,
    /// DER of the TBS certificate.
    pub tbs: Vec<u8>,
    /// notAfter, ms since the epoch.
    pub not_after: i64,
}

/// What the CA says of one serial (RFC 6960 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialStatus {
    /// Recorded or issued, not revoked.
    Good,
    /// Revoked at (ms), for the reason.
    Revoked {
        /// Revocation time, ms since the epoch.
        at: i64,
        /// RFC 5280 §5.3.1 reason.
        reason: Reason,
    },
    /// Never recorded by this issuer, or abandoned (no certificate with it exists).
    Unknown,
}

/// A revoked serial, for the CRL.
#[derive(Debug, Clone)]
pub struct RevokedRow {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Revocation time, ms.
    pub at: i64,
    /// RFC 5280 reason.
    pub reason: Reason,
}

/// A certificate row, for `ca show`.
#[derive(Debug, Clone)]
pub struct CertRow {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Profile name (`org`, `org-individual`).
    pub profile: String,
    /// `sign` or `enc`.
    pub key_usage: String,
    /// Subject line.
    pub subject: String,
    /// `recorded`, `issued`, `revoked` or `abandoned`.
    pub status: String,
    /// notAfter, ms.
    pub not_after: i64,
}

/// A recorded serial without certificate and not abandoned: the pipeline stopped between
/// recording and storing (a crash, or a failure it could not even mark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Profile name.
    pub profile: String,
    /// `sign` or `enc`.
    pub key_usage: String,
    /// When it was recorded, ms.
    pub recorded_at: i64,
}

/// The newest CRL of an issuer.
#[derive(Debug, Clone)]
pub struct CrlRow {
    /// cRLNumber.
    pub number: i64,
    /// nextUpdate, ms.
    pub next_update: i64,
    /// DER.
    pub der: Vec<u8>,
}

/// A signing + encryption pair about to be signed for a caller's `reference` (a production
/// line): both TBS records, the encryption key enveloped to the key manager (escrow) and to
/// the subscriber's signing key — everything that cannot be made again after a crash (the
/// encryption key exists only in memory until it is enveloped) — written in one transaction.
#[derive(Debug, Clone)]
pub struct PairRecord {
    /// The caller's name for what the pair is for; one pair per reference.
    pub reference: String,
    /// The signing certificate's record.
    pub sign: Record,
    /// The encryption certificate's record.
    pub enc: Record,
    /// GM/T 0009 SM2EnvelopedKey of the encryption key to the key manager.
    pub escrow: Vec<u8>,
    /// The same key enveloped to the subscriber's signing key.
    pub envelope: Vec<u8>,
}

/// One certificate of a recorded pair as the storage has it now.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Profile.
    pub kind: CertType,
    /// Signing or encryption.
    pub usage: Usage,
    /// `recorded`, `revoked` or `abandoned` (the certificate table says whether it was stored).
    pub status: String,
    /// DER of the recorded TBS.
    pub tbs: Vec<u8>,
    /// The certificate, if stored.
    pub cert: Option<Vec<u8>>,
}

/// A pair recorded for a reference, with what became of it.
#[derive(Debug, Clone)]
pub struct RecordedPair {
    /// The signing certificate.
    pub sign: Recorded,
    /// The encryption certificate.
    pub enc: Recorded,
    /// The encryption key enveloped to the signing key.
    pub envelope: Vec<u8>,
}

/// The CA's durable state. Every method is one transaction. `record` must be durable when it
/// returns `Ok` (nothing is signed before it returns); `store` must be idempotent for the
/// same (serial, certificate), so the pipeline may retry it.
#[async_trait]
pub trait CaStorage: Send + Sync {
    /// Record serials and TBS certificates before they are signed; a serial recorded before
    /// is refused (`Duplicate`) and nothing of the batch is written.
    async fn record(&self, issuer: &str, rows: &[Record], now: i64) -> Result<(), StorageError>;
    /// Store signed certificates (serial, DER) of earlier records; `NotFound` for a serial
    /// never recorded; storing the same certificate again is not an error.
    async fn store(
        &self,
        issuer: &str,
        certs: &[(String, Vec<u8>)],
        now: i64,
    ) -> Result<(), StorageError>;
    /// Mark recorded serials without certificate as abandoned (their certificates were
    /// dropped); serials already issued are left as they are.
    async fn abandon(&self, issuer: &str, serials: &[String], now: i64)
        -> Result<(), StorageError>;
    /// Recorded serials that are neither issued nor abandoned, oldest first.
    async fn unfinished(&self, issuer: &str) -> Result<Vec<Unfinished>, StorageError>;
    /// Record a pair for its reference with both envelopes, in one transaction, before
    /// anything is signed; a reference (or serial) recorded before is `Duplicate` and nothing
    /// is written.
    async fn record_pair(
        &self,
        issuer: &str,
        pair: &PairRecord,
        now: i64,
    ) -> Result<(), StorageError>;
    /// The pair recorded for `reference`, if any.
    async fn pair(
        &self,
        issuer: &str,
        reference: &str,
    ) -> Result<Option<RecordedPair>, StorageError>;
    /// Keep the escrow envelope (GM/T 0009 SM2EnvelopedKey to the key manager) of an
    /// encryption key.
    async fn escrow(
        &self,
        issuer: &str,
        serial: &str,
        envelope: &[u8],
        now: i64,
    ) -> Result<(), StorageError>;
    /// Revoke a recorded or issued serial; revoking twice, or an unknown or abandoned serial,
    /// is `NotFound`.
    async fn revoke(
        &self,
        issuer: &str,
        serial: &str,
        reason: Reason,
        at: i64,
    ) -> Result<(), StorageError>;
    /// The state of one serial.
    async fn status(&self, issuer: &str, serial: &str) -> Result<SerialStatus, StorageError>;
    /// Every revoked serial of `issuer` not yet expired at `now` (RFC 5280 §5: an entry may
    /// leave the CRL after the certificate's expiry).
    async fn revoked(&self, issuer: &str, now: i64) -> Result<Vec<RevokedRow>, StorageError>;
    /// Certificates of `issuer`, newest first, at most `limit`.
    async fn list(&self, issuer: &str, limit: i64) -> Result<Vec<CertRow>, StorageError>;
    /// Counts by status (`recorded`, `issued`, `revoked`, `abandoned`).
    async fn counts(&self, issuer: &str) -> Result<Vec<(String, i64)>, StorageError>;
    /// The certificate DER of a serial, if stored.
    async fn cert(&self, issuer: &str, serial: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// The next CRL number (one more than the highest kept; RFC 5280 §5.2.3).
    async fn next_crl_number(&self, issuer: &str) -> Result<i64, StorageError>;
    /// Keep a CRL; a number used twice is `Duplicate`.
    async fn put_crl(
        &self,
        issuer: &str,
        number: i64,
        this_update: i64,
        next_update: i64,
        der: &[u8],
    ) -> Result<(), StorageError>;
    /// The newest CRL of `issuer`.
    async fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRow>, StorageError>;
    /// Bind the subject DN `dn` (DER) of a certificate of `issuer` to the subject `entity`
    /// (RFC 5280 §4.1.2.6: one DN per entity): `Ok` when free or held by the same entity,
    /// `Duplicate` when another entity holds it. Both are personal data: the database keeps
    /// keyed hashes only.
    async fn claim_subject(
        &self,
        issuer: &str,
        dn: &[u8],
        entity: &str,
    ) -> Result<(), StorageError>;
    /// Keep the key identifier (hex) of a key revoked for keyCompromise, with the serial.
    async fn block_key(&self, key_id: &str, serial: &str, at: i64) -> Result<(), StorageError>;
    /// Whether the key identifier (hex) was revoked for keyCompromise.
    async fn key_blocked(&self, key_id: &str) -> Result<bool, StorageError>;
    /// Link the signing and encryption certificates of one dual pair.
    async fn link_pair(&self, issuer: &str, sign: &str, enc: &str) -> Result<(), StorageError>;
    /// The other certificate of the pair `serial` belongs to, if any.
    async fn partner(&self, issuer: &str, serial: &str) -> Result<Option<String>, StorageError>;
    /// Register a CA certificate signed by `issuer` (the issuing CA under `root`), so it can
    /// be revoked and listed in `issuer`'s CRL: recorded and stored in one go (profile `ca`);
    /// registering it again is not an error.
    #[allow(clippy::too_many_arguments)]
    async fn register_ca_cert(
        &self,
        issuer: &str,
        serial: &str,
        subject: &str,
        tbs: &[u8],
        der: &[u8],
        not_after: i64,
        at: i64,
    ) -> Result<(), StorageError>;
}

#[derive(Debug, Clone)]
struct MemRow {
    record: Record,
    recorded_at: i64,
    cert: Option<Vec<u8>>,
    abandoned: bool,
    revoked: Option<(i64, Reason)>,
    seq: u64,
    ca: bool,
}

#[derive(Debug, Default)]
struct Mem {
    rows: BTreeMap<(String, String), MemRow>,
    pairs: BTreeMap<(String, String), (String, String, Vec<u8>)>,
    crls: BTreeMap<(String, i64), (i64, i64, Vec<u8>)>,
    escrow: BTreeMap<(String, String), Vec<u8>>,
    subjects: BTreeMap<(String, Vec<u8>), String>,
    blocked: BTreeMap<String, String>,
    partners: BTreeMap<(String, String), String>,
    seq: u64,
}

/// The storage port in memory: the same rules as the database, nothing durable. For tests
/// and for the benchmark's figure without a database.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    mem: Mutex<Mem>,
}

impl MemoryStorage {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Mem>, StorageError> {
        self.mem
            .lock()
            .map_err(|_| StorageError::Other("memory storage poisoned".into()))
    }

    /// The recorded TBS DER of a serial (tests look at what was recorded).
    pub fn recorded_tbs(&self, issuer: &str, serial: &str) -> Option<Vec<u8>> {
        self.lock().ok().and_then(|m| {
            m.rows
                .get(&(issuer.to_string(), serial.to_string()))
                .map(|r| r.record.tbs.clone())
        })
    }

    /// Every recorded serial of `issuer`, in recording order.
    pub fn recorded(&self, issuer: &str) -> Vec<String> {
        let Ok(m) = self.lock() else {
            return Vec::new();
        };
        let mut rows: Vec<&MemRow> = m
            .rows
            .iter()
            .filter(|((i, _), _)| i == issuer)
            .map(|(_, r)| r)
            .collect();
        rows.sort_by_key(|r| r.seq);
        rows.iter().map(|r| r.record.serial.clone()).collect()
    }

    /// Whether an escrow envelope is kept for `serial`.
    pub fn has_escrow(&self, issuer: &str, serial: &str) -> bool {
        self.lock()
            .map(|m| {
                m.escrow
                    .contains_key(&(issuer.to_string(), serial.to_string()))
            })
            .unwrap_or(false)
    }
}

fn status_name(r: &MemRow) -> &'static str {
    if r.revoked.is_some() {
        "revoked"
    } else if r.abandoned {
        "abandoned"
    } else if r.cert.is_some() {
        "issued"
    } else {
        "recorded"
    }
}

#[async_trait]
impl CaStorage for MemoryStorage {
    async fn record(&self, issuer: &str, rows: &[Record], now: i64) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        let mut seen = std::collections::HashSet::new();
        for r in rows {
            if !seen.insert(&r.serial)
                || m.rows.contains_key(&(issuer.to_string(), r.serial.clone()))
            {
                return Err(StorageError::Duplicate);
            }
        }
        for r in rows {
            m.seq += 1;
            let seq = m.seq;
            m.rows.insert(
                (issuer.to_string(), r.serial.clone()),
                MemRow {
                    record: r.clone(),
                    recorded_at: now,
                    cert: None,
                    abandoned: false,
                    revoked: None,
                    seq,
                    ca: false,
                },
            );
        }
        Ok(())
    }

    async fn store(
        &self,
        issuer: &str,
        certs: &[(String, Vec<u8>)],
        _now: i64,
    ) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        for (serial, der) in certs {
            match m.rows.get(&(issuer.to_string(), serial.clone())) {
                None => return Err(StorageError::NotFound),
                Some(r) if r.cert.as_ref().is_some_and(|c| c != der) => {
                    return Err(StorageError::Duplicate)
                }
                Some(_) => {}
            }
        }
        for (serial, der) in certs {
            if let Some(r) = m.rows.get_mut(&(issuer.to_string(), serial.clone())) {
                r.cert = Some(der.clone());
            }
        }
        Ok(())
    }

    async fn abandon(
        &self,
        issuer: &str,
        serials: &[String],
        _now: i64,
    ) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        for s in serials {
            if let Some(r) = m.rows.get_mut(&(issuer.to_string(), s.clone())) {
                if r.cert.is_none() && r.revoked.is_none() {
                    r.abandoned = true;
                }
            }
        }
        Ok(())
    }

    async fn unfinished(&self, issuer: &str) -> Result<Vec<Unfinished>, StorageError> {
        let m = self.lock()?;
        let mut rows: Vec<&MemRow> = m
            .rows
            .iter()
            .filter(|((i, _), r)| i == issuer && status_name(r) == "recorded")
            .map(|(_, r)| r)
            .collect();
        rows.sort_by_key(|r| r.seq);
        Ok(rows
            .into_iter()
            .map(|r| Unfinished {
                serial: r.record.serial.clone(),
                profile: pki::profile_name(r.record.kind).into(),
                key_usage: r.record.usage.as_str().into(),
                recorded_at: r.recorded_at,
            })
            .collect())
    }

    async fn record_pair(
        &self,
        issuer: &str,
        pair: &PairRecord,
        now: i64,
    ) -> Result<(), StorageError> {
        let key = (issuer.to_string(), pair.reference.clone());
        let esc = (issuer.to_string(), pair.enc.serial.clone());
        {
            let m = self.lock()?;
            if m.pairs.contains_key(&key) || m.escrow.contains_key(&esc) {
                return Err(StorageError::Duplicate);
            }
        }
        self.record(issuer, &[pair.sign.clone(), pair.enc.clone()], now)
            .await?;
        let mut m = self.lock()?;
        m.escrow.insert(esc, pair.escrow.clone());
        m.pairs.insert(
            key,
            (
                pair.sign.serial.clone(),
                pair.enc.serial.clone(),
                pair.envelope.clone(),
            ),
        );
        Ok(())
    }

    async fn pair(
        &self,
        issuer: &str,
        reference: &str,
    ) -> Result<Option<RecordedPair>, StorageError> {
        let m = self.lock()?;
        let Some((sign, enc, envelope)) = m.pairs.get(&(issuer.to_string(), reference.to_string()))
        else {
            return Ok(None);
        };
        let one = |serial: &String| {
            m.rows
                .get(&(issuer.to_string(), serial.clone()))
                .map(|r| Recorded {
                    serial: serial.clone(),
                    kind: r.record.kind,
                    usage: r.record.usage,
                    status: if r.revoked.is_some() {
                        "revoked"
                    } else if r.abandoned {
                        "abandoned"
                    } else {
                        "recorded"
                    }
                    .into(),
                    tbs: r.record.tbs.clone(),
                    cert: r.cert.clone(),
                })
                .ok_or(StorageError::NotFound)
        };
        Ok(Some(RecordedPair {
            sign: one(sign)?,
            enc: one(enc)?,
            envelope: envelope.clone(),
        }))
    }

    async fn escrow(
        &self,
        issuer: &str,
        serial: &str,
        envelope: &[u8],
        _now: i64,
    ) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        let key = (issuer.to_string(), serial.to_string());
        if m.escrow.contains_key(&key) {
            return Err(StorageError::Duplicate);
        }
        m.escrow.insert(key, envelope.to_vec());
        Ok(())
    }

    async fn revoke(
        &self,
        issuer: &str,
        serial: &str,
        reason: Reason,
        at: i64,
    ) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        match m.rows.get_mut(&(issuer.to_string(), serial.to_string())) {
            Some(r) if r.revoked.is_none() && !r.abandoned => {
                r.revoked = Some((at, reason));
                Ok(())
            }
            _ => Err(StorageError::NotFound),
        }
    }

    async fn status(&self, issuer: &str, serial: &str) -> Result<SerialStatus, StorageError> {
        let m = self.lock()?;
        Ok(
            match m.rows.get(&(issuer.to_string(), serial.to_string())) {
                None => SerialStatus::Unknown,
                Some(r) => match (r.revoked, r.abandoned) {
                    (Some((at, reason)), _) => SerialStatus::Revoked { at, reason },
                    (None, true) => SerialStatus::Unknown,
                    (None, false) => SerialStatus::Good,
                },
            },
        )
    }

    async fn revoked(&self, issuer: &str, now: i64) -> Result<Vec<RevokedRow>, StorageError> {
        let m = self.lock()?;
        let mut out: Vec<RevokedRow> = m
            .rows
            .iter()
            .filter(|((i, _), r)| i == issuer && r.record.not_after > now)
            .filter_map(|(_, r)| {
                r.revoked.map(|(at, reason)| RevokedRow {
                    serial: r.record.serial.clone(),
                    at,
                    reason,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.at, &a.serial).cmp(&(b.at, &b.serial)));
        Ok(out)
    }

    async fn list(&self, issuer: &str, limit: i64) -> Result<Vec<CertRow>, StorageError> {
        let m = self.lock()?;
        let mut rows: Vec<&MemRow> = m
            .rows
            .iter()
            .filter(|((i, _), _)| i == issuer)
            .map(|(_, r)| r)
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(rows
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|r| CertRow {
                serial: r.record.serial.clone(),
                profile: if r.ca {
                    "ca".into()
                } else {
                    pki::profile_name(r.record.kind).into()
                },
                key_usage: if r.ca {
                    "ca".into()
                } else {
                    r.record.usage.as_str().into()
                },
                subject: r.record.subject.clone(),
                status: status_name(r).into(),
                not_after: r.record.not_after,
            })
            .collect())
    }

    async fn counts(&self, issuer: &str) -> Result<Vec<(String, i64)>, StorageError> {
        let m = self.lock()?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for ((i, _), r) in &m.rows {
            if i == issuer {
                *counts.entry(status_name(r).into()).or_default() += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }

    async fn cert(&self, issuer: &str, serial: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let m = self.lock()?;
        Ok(m.rows
            .get(&(issuer.to_string(), serial.to_string()))
            .and_then(|r| r.cert.clone()))
    }

    async fn next_crl_number(&self, issuer: &str) -> Result<i64, StorageError> {
        let m = self.lock()?;
        Ok(m.crls
            .keys()
            .filter(|(i, _)| i == issuer)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
            + 1)
    }

    async fn put_crl(
        &self,
        issuer: &str,
        number: i64,
        this_update: i64,
        next_update: i64,
        der: &[u8],
    ) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        let key = (issuer.to_string(), number);
        if m.crls.contains_key(&key) {
            return Err(StorageError::Duplicate);
        }
        m.crls.insert(key, (this_update, next_update, der.to_vec()));
        Ok(())
    }

    async fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRow>, StorageError> {
        let m = self.lock()?;
        Ok(m.crls
            .iter()
            .filter(|((i, _), _)| i == issuer)
            .max_by_key(|((_, n), _)| *n)
            .map(|((_, n), (_, next, der))| CrlRow {
                number: *n,
                next_update: *next,
                der: der.clone(),
            }))
    }

    async fn claim_subject(
        &self,
        issuer: &str,
        dn: &[u8],
        entity: &str,
    ) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        let held = m
            .subjects
            .entry((issuer.to_string(), dn.to_vec()))
            .or_insert_with(|| entity.to_string());
        if held == entity {
            Ok(())
        } else {
            Err(StorageError::Duplicate)
        }
    }

    async fn block_key(&self, key_id: &str, serial: &str, _at: i64) -> Result<(), StorageError> {
        self.lock()?
            .blocked
            .entry(key_id.to_string())
            .or_insert_with(|| serial.to_string());
        Ok(())
    }

    async fn key_blocked(&self, key_id: &str) -> Result<bool, StorageError> {
        Ok(self.lock()?.blocked.contains_key(key_id))
    }

    async fn link_pair(&self, issuer: &str, sign: &str, enc: &str) -> Result<(), StorageError> {
        let mut m = self.lock()?;
        m.partners
            .insert((issuer.to_string(), sign.to_string()), enc.to_string());
        m.partners
            .insert((issuer.to_string(), enc.to_string()), sign.to_string());
        Ok(())
    }

    async fn partner(&self, issuer: &str, serial: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .lock()?
            .partners
            .get(&(issuer.to_string(), serial.to_string()))
            .cloned())
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
        let mut m = self.lock()?;
        let key = (issuer.to_string(), serial.to_string());
        if m.rows.contains_key(&key) {
            return Ok(());
        }
        m.seq += 1;
        let seq = m.seq;
        m.rows.insert(
            key,
            MemRow {
                record: Record {
                    serial: serial.to_string(),
                    kind: CertType::Org,
                    usage: Usage::Signing,
                    subject: subject.to_string(),
                    tbs: tbs.to_vec(),
                    not_after,
                },
                recorded_at: at,
                cert: Some(der.to_vec()),
                abandoned: false,
                revoked: None,
                seq,
                ca: true,
            },
        );
        Ok(())
    }
}
