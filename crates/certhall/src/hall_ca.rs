//! The SM2 CA (crate `ca`) as the staff desk's [`app::desk::CertAuthority`]: production asks
//! for a signing + encryption pair per order line; this parses app's request (strings) into
//! the pipeline's typed one (the certificate kind, `domain::CreditCode`, `domain::IdNumber`)
//! and calls the pair pipeline in its two durable steps, [`ca::Ca::record_pair`] and
//! [`ca::Ca::finish_pair`], under the line's reference — the same two steps
//! `certhall ca issue` goes through ([`ca::Ca::issue_with_encryption`]), so a production
//! line survives a crash between any two. Also the adapter that gives the CA service the
//! hall's clock.

use anyhow::Result;
use app::desk::{CaIssued, CaRecorded, CaRequest, CertAuthority};
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
