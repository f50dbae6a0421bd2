//! The CA service: an issuing CA with its signer, over the storage port and the injected
//! clock. [`Ca::issue`] is the one issuance pipeline; everything that issues calls it.

use crate::clock::{millis, whole_seconds, Clock};
use crate::error::{CaError, Result};
use crate::files::{in_memory_files, in_memory_publish, load_keys, new_ca, CaFiles};
use crate::storage::{CaStorage, PairRecord, Record, Recorded, StorageError, Unfinished};
use pki::crl::{build_crl, Reason, RevokedEntry};
use pki::issue::{parse_serial_hex, serial_hex, CaNames};
use pki::{IssueRequest, Issued, Issuer, KeySigner, Signer, SubjectData, Usage};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often storing signed certificates is tried before the batch is given up, and the
/// pauses between tries. Storing is idempotent, so a retry after a lost acknowledgement is
/// harmless; the certificates exist only in memory until it succeeds.
const STORE_PAUSES: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];

/// Told when the pair pipeline crosses a boundary inside the CA (crash tests stop the process
/// there); nothing by default.
pub trait FaultPoints: Send + Sync {
    /// `step` of the pair for `reference` is done; the next has not begun.
    fn reached(&self, step: &'static str, reference: &str);
}

/// A CA opened for signing: certificates, the issuing CA's signer, the key manager's public
/// key, the storage and the clock.
pub struct Ca {
    files: CaFiles,
    issuer: Issuer<Arc<dyn Signer>>,
    root_signer: Option<Arc<dyn Signer>>,
    km_public: sm2::PublicKey,
    storage: Arc<dyn CaStorage>,
    clock: Arc<dyn Clock>,
    faults: Option<Arc<dyn FaultPoints>>,
}

/// The serials a pair was recorded under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairSerials {
    /// The signing certificate's serial (hex).
    pub sign: String,
    /// The encryption certificate's serial (hex).
    pub enc: String,
}

/// A signing certificate, its encryption certificate (双证书, GM/T 0015 §5.2.4.1.3), and the
/// encryption private key enveloped to the signing key.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The signing certificate (the subscriber's own key).
    pub sign: Issued,
    /// The encryption certificate (a key made by the key manager).
    pub enc: Issued,
    /// The encryption key as GM/T 0009 `SM2EnvelopedKey` and GM/T 0016 `ENVELOPEDKEYBLOB`,
    /// to the signing key.
    pub envelope: pki::envelope::Envelope,
}

impl Ca {
    /// Opens the CA of `dir`, decrypting its keys with `passphrase`.
    pub fn open(
        dir: &Path,
        passphrase: &str,
        storage: Arc<dyn CaStorage>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let files = CaFiles::load(dir)?;
        let keys = load_keys(dir, &files, passphrase)?;
        let signer: Arc<dyn Signer> = Arc::new(KeySigner::new(&keys.issuing)?);
        let ca = Self::from_parts(files, signer, keys.km.public_key(), storage, clock)?;
        match keys.root {
            Some(k) => ca.with_root_signer(Arc::new(KeySigner::new(&k)?)),
            None => Ok(ca),
        }
    }

    /// Gives the CA the root's signer (the ARL and the OCSP answers for the issuing CA).
    pub fn with_root_signer(mut self, signer: Arc<dyn Signer>) -> Result<Self> {
        if signer.public_key() != &self.files.root.public_key()? {
            return Err(CaError::Setup(
                "the root signer's key does not match the root certificate".into(),
            ));
        }
        self.root_signer = Some(signer);
        Ok(self)
    }

    /// The root's signer, when the root key is at hand.
    pub fn root_signer(&self) -> Option<Arc<dyn Signer>> {
        self.root_signer.clone()
    }

    /// Assembles a CA from parts; `signer` must hold the issuing CA's key (a key file, an
    /// HSM, or a test's watching signer).
    pub fn from_parts(
        files: CaFiles,
        signer: Arc<dyn Signer>,
        km_public: sm2::PublicKey,
        storage: Arc<dyn CaStorage>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if signer.public_key() != &files.issuing.public_key()? {
            return Err(CaError::Setup(
                "the signer's key does not match the issuing CA certificate".into(),
            ));
        }
        let issuer = Issuer {
            ca: files.issuing.clone(),
            signer,
            publish: files.publish()?,
            profile: files.cfg.profile.profile()?,
        };
        Ok(Self {
            files,
            issuer,
            root_signer: None,
            km_public,
            storage,
            clock,
            faults: None,
        })
    }

    /// The same CA with kill points in the pair pipeline (crash tests).
    pub fn with_faults(mut self, faults: Arc<dyn FaultPoints>) -> Self {
        self.faults = Some(faults);
        self
    }

    fn reached(&self, step: &'static str, reference: &str) {
        if let Some(f) = &self.faults {
            f.reached(step, reference);
        }
    }

    /// A CA held in memory (tests, demos, the benchmark; nothing written to disk): a new root
    /// and issuing CA named `names` valid from the clock's now, a fresh key-manager key.
    pub fn in_memory(
        names: &CaNames,
        storage: Arc<dyn CaStorage>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let new = new_ca(names, &in_memory_publish(), whole_seconds(clock.now()))?;
        let files = in_memory_files(names, &new);
        let signer: Arc<dyn Signer> = Arc::new(KeySigner::new(&new.issuing_key)?);
        Self::from_parts(
            files,
            signer,
            pki::keys::generate().public_key(),
            storage,
            clock,
        )?
        .with_root_signer(Arc::new(KeySigner::new(&new.root_key)?))
    }

    /// Certificates and configuration.
    pub fn files(&self) -> &CaFiles {
        &self.files
    }
    /// The issuing CA's label (`issuing`), the issuer name in storage and URLs.
    pub fn label(&self) -> &str {
        &self.files.issuing.label
    }
    /// The issuing CA's signer (shared with the OCSP responder and the CRL).
    pub fn signer(&self) -> Arc<dyn Signer> {
        self.issuer.signer.clone()
    }
    /// The key manager's escrow public key.
    pub fn km_public(&self) -> &sm2::PublicKey {
        &self.km_public
    }
    /// The storage.
    pub fn storage(&self) -> &Arc<dyn CaStorage> {
        &self.storage
    }
    /// The clock's now, whole seconds.
    pub fn now(&self) -> SystemTime {
        whole_seconds(self.clock.now())
    }
    /// The chain (issuing CA, root), PEM.
    pub fn chain_pem(&self) -> String {
        self.files.chain_pem()
    }

    /// **The issuance pipeline** (DESIGN.md rule 5, Boulder's `Prepare`/`Issue`), for one
    /// request or a batch (one durable write for the records, one for the certificates):
    ///
    /// 1. *prepare*: each request is checked against its profile, its TBS built and linted
    ///    (`pki::Issuer::prepare`), with time from the injected clock. A refused request
    ///    stops the batch before anything is written.
    /// 2. *record*: serials and TBS certificates are written durably. If that fails nothing
    ///    is signed.
    /// 3. *sign*: each token is consumed by `pki::Issuer::issue`, so each is signed at most
    ///    once. If the signer fails, the batch's certificates are dropped and its serials
    ///    marked abandoned.
    /// 4. *store*: the certificates are stored (retried, idempotently); only then are they
    ///    returned. If storing keeps failing they are dropped and the serials marked
    ///    abandoned.
    ///
    /// A process that dies between 2 and 4 leaves its serials recorded and unfinished: they
    /// are reported by [`Ca::unfinished`] and never signed again. Retrying a failed call
    /// prepares new serials; it never re-signs a recorded TBS.
    pub async fn issue(&self, reqs: &[IssueRequest]) -> Result<Vec<Issued>> {
        let now = self.now();
        let at = millis(now);
        let label = self.label().to_string();
        let mut rng = rand::rngs::OsRng;
        for r in reqs {
            self.check_key(&r.public_key).await?;
        }
        let tokens = reqs
            .iter()
            .map(|r| self.issuer.prepare(r, now, &mut rng))
            .collect::<pki::Result<Vec<_>>>()?;
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&pki::Prepared> = tokens.iter().collect();
        self.claim_subjects(&label, &refs).await?;
        let records: Vec<Record> = tokens.iter().map(record_of).collect();
        let serials: Vec<String> = records.iter().map(|r| r.serial.clone()).collect();
        if let Err(e) = self.storage.record(&label, &records, at).await {
            // Nothing was signed. Should the write have landed after all (a lost
            // acknowledgement), its rows are never signed: say so where the storage lets us.
            // A duplicate serial means nothing of this batch was written, and the row that
            // holds it belongs to another batch: leave it alone.
            if !matches!(e, StorageError::Duplicate) {
                self.abandon(&serials, at).await;
            }
            return Err(CaError::Storage(e));
        }
        let mut issued = Vec::with_capacity(tokens.len());
        for token in tokens {
            match self.issuer.issue(token) {
                Ok(i) => issued.push(i),
                Err(e) => {
                    drop(issued);
                    self.abandon(&serials, at).await;
                    return Err(CaError::Interrupted {
                        stage: "signing",
                        cause: e.to_string(),
                        serials,
                    });
                }
            }
        }
        let certs: Vec<(String, Vec<u8>)> = issued
            .iter()
            .map(|i| (serial_hex(&i.serial), i.der.clone()))
            .collect();
        let mut pauses = STORE_PAUSES.iter();
        loop {
            match self.storage.store(&label, &certs, at).await {
                Ok(()) => return Ok(issued),
                Err(e) => match pauses.next() {
                    Some(p) if !matches!(e, StorageError::NotFound) => {
                        tracing::warn!(error = %e, "storing certificates failed; retrying");
                        tokio::time::sleep(*p).await;
                    }
                    _ => {
                        drop(issued);
                        self.abandon(&serials, at).await;
                        return Err(CaError::Interrupted {
                            stage: "storing",
                            cause: e.to_string(),
                            serials,
                        });
                    }
                },
            }
        }
    }

    /// Key hygiene before anything is prepared: the root's own key, the key manager's escrow
    /// key and a key revoked for keyCompromise are never certified (the issuing CA's own key
    /// is refused by `pki::Issuer::prepare`).
    /// RFC 5280 §4.1.2.6: a DN names one subject entity; one already issued to another
    /// entity is refused before anything is recorded.
    async fn claim_subjects(&self, label: &str, tokens: &[&pki::Prepared]) -> Result<()> {
        // RFC 5280 §4.1.2.6: a DN names one subject entity; one already issued to another
        // entity is refused before anything is recorded.
        for t in tokens {
            match self
                    .storage
                    .claim_subject(label, t.subject_der(), t.entity())
                    .await
                {
                    Ok(()) => {}
                    Err(StorageError::Duplicate) => {
                        return Err(refused(
                            "subject",
                            format!(
                                "the subject DN {} was already issued to a different entity (RFC 5280 §4.1.2.6); the profile must put the unit's code or the person's ID number in the DN ([profile] of ca.toml)",
                                t.subject()
                            ),
                        ))
                    }
                    Err(e) => return Err(CaError::Storage(e)),
                }
        }
        Ok(())
    }

    async fn check_key(&self, pk: &sm2::PublicKey) -> Result<()> {
        if pk == &self.files.root.public_key()? {
            return Err(refused("public_key", "is the root CA's own key"));
        }
        if pk == &self.km_public {
            return Err(refused("public_key", "is the key manager's escrow key"));
        }
        if self
            .storage
            .key_blocked(&serial_hex(&pki::issue::key_id(pk)))
            .await?
        {
            return Err(refused(
                "public_key",
                "was revoked for keyCompromise; a new key pair is needed",
            ));
        }
        Ok(())
    }

    /// Marks `serials` abandoned, best effort: when the storage is down too they stay
    /// unfinished and are reported by [`Ca::unfinished`].
    async fn abandon(&self, serials: &[String], at: i64) {
        if let Err(e) = self.storage.abandon(self.label(), serials, at).await {
            tracing::error!(
                error = %e,
                serials = ?serials,
                "cannot mark dropped serials abandoned; they stay unfinished"
            );
        }
    }

    /// A signing certificate for `sign_key` and an encryption certificate for a key the key
    /// manager makes now, both for `subject` and `years`: [`Ca::record_pair`] under a fresh
    /// reference, then [`Ca::finish_pair`] (the command line's one-shot issuance).
    pub async fn issue_with_encryption(
        &self,
        subject: SubjectData,
        sign_key: sm2::PublicKey,
        years: u16,
    ) -> Result<Pair> {
        let reference = format!("cli:{}", hex_id());
        self.record_pair(&reference, subject, sign_key, years)
            .await?;
        self.finish_pair(&reference).await
    }

    /// **The pair pipeline, step 1** (production's: one call per order line, `reference`
    /// names the line): prepare the signing and the encryption TBS (a refused request writes
    /// nothing), make the encryption key, envelope it to the signing key and to the key
    /// manager (escrow), and record all of it in one transaction before anything is signed —
    /// so a crash can lose nothing that cannot be made again. Idempotent by reference: a
    /// pair recorded before for `reference` is returned as it is (the request is not
    /// prepared again), also when two callers race (the reference is unique).
    pub async fn record_pair(
        &self,
        reference: &str,
        subject: SubjectData,
        sign_key: sm2::PublicKey,
        years: u16,
    ) -> Result<PairSerials> {
        let label = self.label().to_string();
        if let Some(p) = self.storage.pair(&label, reference).await? {
            return Ok(PairSerials {
                sign: p.sign.serial,
                enc: p.enc.serial,
            });
        }
        self.check_key(&sign_key).await?;
        let now = self.now();
        let at = millis(now);
        let mut rng = rand::rngs::OsRng;
        let enc_key = pki::keys::generate();
        let sign = self.issuer.prepare(
            &IssueRequest {
                usage: Usage::Signing,
                subject: subject.clone(),
                public_key: sign_key,
                years,
            },
            now,
            &mut rng,
        )?;
        let enc = self.issuer.prepare(
            &IssueRequest {
                usage: Usage::Encryption,
                subject,
                public_key: enc_key.public_key(),
                years,
            },
            now,
            &mut rng,
        )?;
        let envelope = pki::envelope::seal(&enc_key, &sign_key, &mut rng)?;
        let escrow = pki::envelope::seal(&enc_key, &self.km_public, &mut rng)?;
        let pair = PairRecord {
            reference: reference.to_string(),
            sign: record_of(&sign),
            enc: record_of(&enc),
            escrow: escrow.der,
            envelope: envelope.der,
        };
        self.claim_subjects(&label, &[&sign, &enc]).await?;
        // The tokens are dropped unsigned: step 2 signs what was recorded, from storage.
        drop((sign, enc));
        match self.storage.record_pair(&label, &pair, at).await {
            Ok(()) => {}
            // Another caller recorded this reference first: theirs is the pair.
            Err(StorageError::Duplicate) => {
                if let Some(p) = self.storage.pair(&label, reference).await? {
                    return Ok(PairSerials {
                        sign: p.sign.serial,
                        enc: p.enc.serial,
                    });
                }
                return Err(CaError::Storage(StorageError::Duplicate));
            }
            Err(e) => return Err(CaError::Storage(e)),
        }
        // The pair is revoked together (GM/T 0015 §5.2.4.1.3): linked as soon as recorded.
        self.storage
            .link_pair(&label, &pair.sign.serial, &pair.enc.serial)
            .await?;
        self.reached("ca.recorded", reference);
        Ok(PairSerials {
            sign: pair.sign.serial,
            enc: pair.enc.serial,
        })
    }

    /// **The pair pipeline, step 2**: the certificates of the pair recorded for `reference`.
    /// A certificate already stored is returned as stored; a recorded TBS without one was
    /// never signed by anyone who lived to store it (signatures leave the CA only after
    /// storing), so it is signed now — the same serial and content, not a second
    /// certificate — and stored (idempotently: when two callers race, the first stored wins
    /// and both return it). `NotFound` when nothing was recorded for `reference`; an
    /// abandoned or revoked serial is refused.
    pub async fn finish_pair(&self, reference: &str) -> Result<Pair> {
        let label = self.label().to_string();
        let p = self
            .storage
            .pair(&label, reference)
            .await?
            .ok_or_else(|| CaError::NotFound(format!("no pair recorded for {reference}")))?;
        let mut todo = Vec::new();
        for r in [&p.sign, &p.enc] {
            if r.cert.is_none() {
                if r.status != "recorded" {
                    return Err(CaError::NotFound(format!(
                        "serial {} is {} and has no certificate",
                        r.serial, r.status
                    )));
                }
                todo.push(self.issuer.resume(&r.tbs, r.kind, r.usage)?);
            }
        }
        if !todo.is_empty() {
            let signed = todo
                .into_iter()
                .map(|t| self.issuer.issue(t))
                .collect::<pki::Result<Vec<_>>>()?;
            self.reached("ca.signed", reference);
            let certs: Vec<(String, Vec<u8>)> = signed
                .iter()
                .map(|i| (serial_hex(&i.serial), i.der.clone()))
                .collect();
            match self.storage.store(&label, &certs, millis(self.now())).await {
                // Duplicate: a racing caller stored its signature first; its is returned.
                Ok(()) | Err(StorageError::Duplicate) => {}
                Err(e) => return Err(CaError::Storage(e)),
            }
            self.reached("ca.stored", reference);
        }
        Ok(Pair {
            sign: self.stored(&p.sign).await?,
            enc: self.stored(&p.enc).await?,
            envelope: pki::envelope::Envelope::from_der(&p.envelope)?,
        })
    }

    /// The certificate of a recorded serial: as read with the record, or from storage.
    async fn stored(&self, r: &Recorded) -> Result<Issued> {
        let der = match &r.cert {
            Some(c) => c.clone(),
            None => self
                .storage
                .cert(self.label(), &r.serial)
                .await?
                .ok_or_else(|| {
                    CaError::Storage(StorageError::Other(format!(
                        "certificate {} not found after storing",
                        r.serial
                    )))
                })?,
        };
        Ok(Issued {
            serial: parse_serial_hex(&r.serial)?,
            der,
        })
    }

    /// Serials recorded but neither issued nor abandoned: a pipeline stopped between
    /// recording and storing. Reported (at `serve` start, by `ca show`), never re-signed.
    pub async fn unfinished(&self) -> Result<Vec<Unfinished>> {
        Ok(self.storage.unfinished(self.label()).await?)
    }

    /// Revokes a certificate of this CA (and the other certificate of its pair); see [`revoke`].
    pub async fn revoke(&self, serial: &str, reason: Reason) -> Result<Revocation> {
        revoke(
            self.storage.as_ref(),
            self.label(),
            serial,
            reason,
            self.now(),
        )
        .await
    }

    /// Builds, keeps and returns a full CRL of the issuing CA (RFC 5280 §5), valid from now
    /// for `crl_validity_hours`, numbered one above the last (§5.2.3).
    pub async fn make_crl(&self) -> Result<Vec<u8>> {
        let now = self.now();
        let label = self.label();
        let rows = self.storage.revoked(label, millis(now)).await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(RevokedEntry {
                    serial: parse_serial_hex(&r.serial)?,
                    revoked_at: crate::clock::from_millis(r.at),
                    reason: r.reason,
                })
            })
            .collect::<pki::Result<Vec<_>>>()?;
        let number = self.storage.next_crl_number(label).await?;
        let next = now + Duration::from_secs(self.files.cfg.crl_validity_hours * 3600);
        let der = build_crl(
            &self.issuer.ca,
            &self.issuer.signer,
            &entries,
            u64::try_from(number).unwrap_or(0),
            now,
            next,
        )?;
        self.storage
            .put_crl(label, number, millis(now), millis(next), &der)
            .await?;
        Ok(der)
    }

    /// Revokes the issuing CA certificate with the root (its serial goes into the ARL and the
    /// root's OCSP answers `revoked`); see [`revoke_issuing_ca`].
    pub async fn revoke_issuing_ca(&self, reason: Reason) -> Result<String> {
        revoke_issuing_ca(self.storage.as_ref(), &self.files, reason, self.now()).await
    }

    /// Builds, keeps and returns the root's CRL (the ARL: the CA certificates the root
    /// revoked), valid for `arl_validity_hours`; needs the root key.
    pub async fn make_arl(&self) -> Result<Vec<u8>> {
        let signer = self.root_signer.clone().ok_or_else(|| {
            CaError::Setup(
                "the root key (root.key) is not at hand: the ARL is signed by the root".into(),
            )
        })?;
        register_issuing(self.storage.as_ref(), &self.files, millis(self.now())).await?;
        let now = self.now();
        let root = &self.files.root;
        let rows = self.storage.revoked(&root.label, millis(now)).await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(RevokedEntry {
                    serial: parse_serial_hex(&r.serial)?,
                    revoked_at: crate::clock::from_millis(r.at),
                    reason: r.reason,
                })
            })
            .collect::<pki::Result<Vec<_>>>()?;
        let number = self.storage.next_crl_number(&root.label).await?;
        let next = now + Duration::from_secs(self.files.cfg.arl_validity_hours * 3600);
        let der = build_crl(
            root,
            &signer,
            &entries,
            u64::try_from(number).unwrap_or(0),
            now,
            next,
        )?;
        self.storage
            .put_crl(&root.label, number, millis(now), millis(next), &der)
            .await?;
        Ok(der)
    }
}

/// A refusal of the request (a profile error: the staff desk shows it as it is).
fn refused(field: &'static str, reason: impl Into<String>) -> CaError {
    CaError::Pki(pki::PkiError::Profile {
        field,
        reason: reason.into(),
    })
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The serial revoked, as stored.
    pub serial: String,
    /// The other certificate of its dual pair, revoked with it for the same reason (`None`
    /// when it has none, or it was revoked before).
    pub partner: Option<String>,
}

/// Registers the issuing CA certificate under the root in the storage (idempotent), so the
/// root can revoke it and list it in the ARL.
pub async fn register_issuing(storage: &dyn CaStorage, files: &CaFiles, at: i64) -> Result<()> {
    let c = &files.issuing;
    let t = &c.cert.tbs_certificate;
    let tbs = der::Encode::to_der(t).map_err(pki::PkiError::from)?;
    storage
        .register_ca_cert(
            &files.root.label,
            &serial_hex(t.serial_number.as_bytes()),
            &t.subject.to_string(),
            &tbs,
            &c.der,
            i64::try_from(c.not_after())
                .unwrap_or(i64::MAX / 1000)
                .saturating_mul(1000),
            at,
        )
        .await?;
    Ok(())
}

/// Revokes the issuing CA certificate of `files` under its root at `at`; needs no key (the
/// next ARL, `certhall ca arl`, and the root's OCSP answers carry it). Returns its serial.
pub async fn revoke_issuing_ca(
    storage: &dyn CaStorage,
    files: &CaFiles,
    reason: Reason,
    at: SystemTime,
) -> Result<String> {
    register_issuing(storage, files, millis(at)).await?;
    let serial = serial_hex(files.issuing.cert.tbs_certificate.serial_number.as_bytes());
    storage
        .revoke(&files.root.label, &serial, reason, millis(at))
        .await
        .map_err(|e| match e {
            StorageError::NotFound => {
                CaError::NotFound(format!("the issuing CA {serial} is revoked already"))
            }
            other => CaError::Storage(other),
        })?;
    Ok(serial)
}

fn record_of(t: &pki::Prepared) -> Record {
    Record {
        serial: serial_hex(t.serial()),
        kind: t.kind(),
        usage: t.usage(),
        subject: t.subject().to_string(),
        tbs: t.tbs_der().to_vec(),
        not_after: i64::try_from(t.not_after())
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000),
    }
}

/// 16 random bytes in hex: a reference no one else uses.
fn hex_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    serial_hex(&b)
}

/// Revokes the certificate `serial` (hex, `:` allowed) of the CA labelled `issuer` at `at`,
/// and the other certificate of its dual pair with the same reason (a signing certificate's
/// encryption certificate is enveloped to the signing key: GM/T 0015 §5.2.4.1.3); needs no
/// key (the next CRL and OCSP answers carry both). For keyCompromise the keys of both are
/// kept so they are never certified again.
pub async fn revoke(
    storage: &dyn CaStorage,
    issuer: &str,
    serial: &str,
    reason: Reason,
    at: SystemTime,
) -> Result<Revocation> {
    let serial = serial_hex(&parse_serial_hex(serial)?);
    let at = millis(at);
    storage
        .revoke(issuer, &serial, reason, at)
        .await
        .map_err(|e| match e {
            StorageError::NotFound => CaError::NotFound(format!(
                "serial {serial} is not an unrevoked certificate of this CA"
            )),
            other => CaError::Storage(other),
        })?;
    let partner = match storage.partner(issuer, &serial).await? {
        Some(p) => match storage.revoke(issuer, &p, reason, at).await {
            Ok(()) => Some(p),
            Err(StorageError::NotFound) => None,
            Err(e) => return Err(CaError::Storage(e)),
        },
        None => None,
    };
    if reason == Reason::KeyCompromise {
        for s in std::iter::once(&serial).chain(partner.as_ref()) {
            if let Some(der) = storage.cert(issuer, s).await? {
                let pk = pki::issue::cert_public_key(&der)?;
                storage
                    .block_key(&serial_hex(&pki::issue::key_id(&pk)), s, at)
                    .await?;
            }
        }
    }
    Ok(Revocation { serial, partner })
}
