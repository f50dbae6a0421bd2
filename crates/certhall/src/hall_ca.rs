//! The SM2 CA (crate `ca`) as the staff desk's [`app::desk::CertAuthority`]: production asks
//! for a signing + encryption pair per order line; this parses app's request (strings) into
//! the pipeline's typed one (the certificate kind, `domain::CreditCode`, `domain::IdNumber`)
//! and calls the pair pipeline in its two durable steps, [`ca::Ca::record_pair`] and
//! [`ca::Ca::finish_pair`], under the line's reference — the same two steps
//! `certhall ca issue` goes through ([`ca::Ca::issue_with_encryption`]), so a production
//! line survives a crash between any two. Also the adapter that gives the CA service the
//! hall's clock.

use anyhow::Result;
use app::certificates::Proven;
use app::desk::{
    CaCertificate, CaIssued, CaRecorded, CaRequest, CaRevoked, CertAuthority, PossessionProof,
    PossessionRefusal,
};
use app::GatewayError;
use async_trait::async_trait;
use ca::pki::issue::{serial_hex, CaNames};
use ca::pki::SubjectData;
use ca::{Ca, CaError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The hall's clock as the CA service's: whole milliseconds of `app::clock` as a `SystemTime`.
pub struct HallClock(pub Arc<dyn app::clock::Clock>);

impl ca::Clock for HallClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(u64::try_from(self.0.now()).unwrap_or(0))
    }
}

/// The Beijing (UTC+8) calendar date of `t`: "today" for the ID number's birth-date rule;
/// `None` outside the years 1–9999.
pub fn beijing_today(t: SystemTime) -> Option<domain::Date> {
    let secs = i64::try_from(t.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()?;
    domain::DateTime::from_unix_seconds(secs, 8 * 3600).map(|d| d.date())
}

/// The hall's CA behind the production port.
pub struct HallCa {
    ca: Arc<Ca>,
}

impl HallCa {
    /// Wraps an opened CA.
    pub fn new(ca: Arc<Ca>) -> Self {
        Self { ca }
    }

    /// A fresh CA made in memory over `store` on the hall's `clock` (tests and demos: no key
    /// is written to disk).
    pub fn ephemeral(store: store::ca::CaStore, clock: Arc<dyn app::clock::Clock>) -> Result<Self> {
        let names = CaNames {
            root_cn: "certhall Test Root CA".into(),
            issuing_cn: "certhall Test SM2 CA".into(),
            org: "certhall Test".into(),
            root_years: 20,
            issuing_years: 10,
        };
        let ca = Ca::in_memory(&names, Arc::new(store), Arc::new(HallClock(clock)))?;
        Ok(Self { ca: Arc::new(ca) })
    }

    /// The same CA (certificates, issuing key, key manager's key: what its directory holds)
    /// over a fresh `store` and `clock`, as a restarted process opens it; nothing else of
    /// this one is shared. `faults`: the CA's kill points (crash tests).
    pub fn reopened(
        &self,
        store: store::ca::CaStore,
        clock: Arc<dyn app::clock::Clock>,
        faults: Option<Arc<dyn ca::FaultPoints>>,
    ) -> Result<Self> {
        let mut ca = Ca::from_parts(
            self.ca.files().clone(),
            self.ca.signer(),
            *self.ca.km_public(),
            Arc::new(store),
            Arc::new(HallClock(clock)),
        )?;
        if let Some(f) = faults {
            ca = ca.with_faults(f);
        }
        Ok(Self { ca: Arc::new(ca) })
    }

    /// The root in PEM.
    pub fn root_pem(&self) -> String {
        self.ca.files().root.pem()
    }

    /// The CA service (tests issue certificates outside any order through it).
    pub fn ca(&self) -> &Arc<Ca> {
        &self.ca
    }

    /// A stored certificate of this CA with its facts and revocation time.
    async fn lookup(
        &self,
        serial: &str,
    ) -> Result<Option<(ca::pki::inspect::CertFacts, Vec<u8>, Option<i64>)>, String> {
        let st = self.ca.storage();
        let label = self.ca.label();
        let Some(der) = st.cert(label, serial).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let revoked_at = match st.status(label, serial).await.map_err(|e| e.to_string())? {
            ca::storage::SerialStatus::Revoked { at, .. } => Some(at),
            ca::storage::SerialStatus::Good => None,
            ca::storage::SerialStatus::Unknown => return Ok(None),
        };
        let facts = ca::pki::inspect::facts(&der).map_err(|e| e.to_string())?;
        Ok(Some((facts, der, revoked_at)))
    }
}

fn shown(f: &ca::pki::inspect::CertFacts, der: &[u8], revoked_at: Option<i64>) -> CaCertificate {
    let ms = |s: u64| i64::try_from(s).unwrap_or(i64::MAX / 1000) * 1000;
    CaCertificate {
        serial: f.serial.clone(),
        kind: f.kind,
        holder: f.holder.clone(),
        pem: ca::pki::issue::pem_encode("CERTIFICATE", der),
        not_before: ms(f.not_before),
        not_after: ms(f.not_after),
        revoked_at,
    }
}

fn refused(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Refused(e.to_string())
}

/// A request the profile or the lints refuse is `Refused` (nothing was recorded); anything
/// else (storage, signer) is `Unavailable`, to be retried.
fn ca_failed(e: CaError) -> GatewayError {
    match e {
        CaError::Pki(p @ (ca::pki::PkiError::Profile { .. } | ca::pki::PkiError::Lint(_))) => {
            refused(p)
        }
        other => GatewayError::Unavailable(other.to_string()),
    }
}

/// app's request, parsed into the pipeline's typed subject.
fn subject_of(req: &CaRequest) -> Result<SubjectData, GatewayError> {
    let person = req
        .person
        .as_ref()
        .map(|(name, id)| (name.as_str(), id.clone()));
    SubjectData::new(req.kind, req.org.as_str(), req.uscc.clone(), person).map_err(refused)
}

#[async_trait]
impl CertAuthority for HallCa {
    fn chain_pem(&self) -> String {
        self.ca.chain_pem()
    }

    async fn certificate(&self, serial: &str) -> Result<Option<CaCertificate>, GatewayError> {
        Ok(self
            .lookup(serial)
            .await
            .map_err(GatewayError::Unavailable)?
            .map(|(f, der, r)| shown(&f, &der, r)))
    }

    async fn prove(&self, p: &PossessionProof) -> Result<Proven, PossessionRefusal> {
        use ca::pki::inspect::same_name;
        if let Some(pem) = &p.certificate {
            let (cert, _) = ca::pki::token::cert_public_key(pem)
                .map_err(|e| PossessionRefusal::BadCsr(format!("证书无法解析:{e}")))?;
            let f = ca::pki::inspect::facts_of(&cert).map_err(|_| PossessionRefusal::OtherCa)?;
            if !same_name(&f.issuer, self.ca.files().issuing.subject()) {
                return Err(PossessionRefusal::OtherCa);
            }
            if f.serial != p.serial {
                return Err(PossessionRefusal::Unknown);
            }
        }
        let (facts, der, revoked_at) = self
            .lookup(&p.serial)
            .await
            .map_err(PossessionRefusal::Unavailable)?
            .ok_or(PossessionRefusal::Unknown)?;
        if !facts.signing {
            return Err(PossessionRefusal::Unknown);
        }
        if revoked_at.is_some() {
            return Err(PossessionRefusal::Revoked);
        }
        let csr = ca::pki::csr::parse_csr(&p.csr)
            .map_err(|e| PossessionRefusal::BadCsr(e.to_string()))?;
        ca::pki::possession::check(&facts.public_key, &p.challenge, &csr.der, &p.signature)
            .map_err(|_| PossessionRefusal::BadSignature)?;
        if csr.subject != facts.subject.to_string() {
            return Err(PossessionRefusal::SubjectDiffers);
        }
        Ok(Proven {
            cert: shown(&facts, &der, revoked_at),
            csr_der: csr.der,
        })
    }

    async fn record(&self, reference: &str, req: CaRequest) -> Result<CaRecorded, GatewayError> {
        let subject = subject_of(&req)?;
        let years = u16::from(req.years);
        ca::pki::profile::check_years(years).map_err(refused)?;
        let sign_pk = match &req.csr {
            Some(bytes) => ca::pki::csr::parse_csr(bytes).map_err(refused)?.public_key,
            // Sandbox: the key is made here and dropped; a real token makes its own.
            None => ca::pki::keys::generate().public_key(),
        };
        let serials = self
            .ca
            .record_pair(reference, subject, sign_pk, years)
            .await
            .map_err(ca_failed)?;
        Ok(CaRecorded {
            sign_serial: serials.sign,
            enc_serial: serials.enc,
        })
    }

    async fn revoke(
        &self,
        serial: &str,
        reason: app::revocation::RevokeReason,
    ) -> Result<CaRevoked, GatewayError> {
        use app::revocation::RevokeReason as R;
        use ca::pki::crl::Reason;
        let reason = match reason {
            R::KeyCompromise => Reason::KeyCompromise,
            R::AffiliationChanged => Reason::AffiliationChanged,
            R::Superseded => Reason::Superseded,
            R::CessationOfOperation => Reason::CessationOfOperation,
            R::Unspecified => Reason::Unspecified,
        };
        let r = self.ca.revoke(serial, reason).await.map_err(|e| match e {
            CaError::NotFound(m) => GatewayError::Refused(m),
            other => GatewayError::Unavailable(other.to_string()),
        })?;
        // Published at once rather than at the next refresh: relying platforms that fetch
        // the CRL now must see the pair.
        self.ca
            .make_crl()
            .await
            .map_err(|e| GatewayError::Unavailable(format!("CRL: {e}")))?;
        let crl_number = self
            .ca
            .storage()
            .latest_crl(self.ca.label())
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .map_or(0, |c| c.number);
        Ok(CaRevoked {
            serial: r.serial,
            partner: r.partner,
            crl_number,
        })
    }

    async fn finish(&self, reference: &str) -> Result<CaIssued, GatewayError> {
        let pair = self.ca.finish_pair(reference).await.map_err(ca_failed)?;
        Ok(CaIssued {
            sign_serial: serial_hex(&pair.sign.serial),
            sign_pem: pair.sign.pem(),
            enc_serial: serial_hex(&pair.enc.serial),
            enc_pem: pair.enc.pem(),
            envelope: pair.envelope.der,
            chain_pem: self.ca.chain_pem(),
        })
    }
}
