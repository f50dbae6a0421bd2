//! What relying parties fetch: OCSP responses (RFC 6960; pre-signed for issued serials,
//! re-signed after half their validity, the database's current status always winning over a
//! cached answer), the newest CRL (RFC 5280 §5) and the CA certificates. The HTTP routes
//! that serve them are `web::pki_routes`; the binary connects the two.

use crate::clock::from_millis;
use crate::error::Result;
use crate::service::Ca;
use crate::storage::SerialStatus;
use pki::issue::serial_hex;
use pki::ocsp::{CertState, Responder, StatusLookup};
use pki::Signer;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use x509_ocsp::OcspResponseStatus;

/// How often [`Publisher::refresh_loop`] looks for due OCSP responses and a stale CRL.
const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Statuses fetched from the storage for the serials of one OCSP request.
struct Prefetched(HashMap<Vec<u8>, CertState>);

impl StatusLookup for Prefetched {
    fn status(&self, serial: &[u8]) -> CertState {
        self.0.get(serial).copied().unwrap_or(CertState::Unknown)
    }
}

/// The responder's view of a stored status.
pub fn cert_state(s: &SerialStatus) -> CertState {
    match s {
        SerialStatus::Good => CertState::Good,
        SerialStatus::Unknown => CertState::Unknown,
        SerialStatus::Revoked { at, reason } => CertState::Revoked {
            at: from_millis(*at),
            reason: *reason,
        },
    }
}

/// The OCSP responder and CRL source of one CA, and — when the root key is at hand — the
/// root's responder for the issuing CA certificate and the ARL's refresh.
pub struct Publisher {
    responder: Responder<Arc<dyn Signer>>,
    root_responder: Option<Responder<Arc<dyn Signer>>>,
    ca: Arc<Ca>,
}

impl Publisher {
    /// For an opened CA; responses are valid for `ocsp_validity_hours` of its `ca.toml`.
    pub fn new(ca: Arc<Ca>) -> Result<Self> {
        let validity = Duration::from_secs(ca.files().cfg.ocsp_validity_hours * 3600);
        let root_responder = match ca.root_signer() {
            Some(s) => Some(Responder::new(ca.files().root.clone(), s, validity)?),
            None => None,
        };
        Ok(Self {
            responder: Responder::new(ca.files().issuing.clone(), ca.signer(), validity)?,
            root_responder,
            ca,
        })
    }

    /// The responder (pre-signed cache inside).
    pub fn responder(&self) -> &Responder<Arc<dyn Signer>> {
        &self.responder
    }

    /// The CA.
    pub fn ca(&self) -> &Arc<Ca> {
        &self.ca
    }

    /// Answers an OCSP request (DER), looking its serials up in the storage first; a storage
    /// failure answers `tryLater` (RFC 6960 §2.3).
    ///
    /// CertIDs of the root (the issuing CA certificate) are answered by the root's
    /// responder when the root key is at hand: the issuing CA is `good` until revoked with
    /// `certhall ca revoke --issuing-ca`, other serials `unknown`.
    pub async fn ocsp(&self, req: &[u8]) -> Vec<u8> {
        self.ocsp_shared(req).await.as_ref().clone()
    }

    /// [`Publisher::ocsp`] without copying a kept answer.
    pub async fn ocsp_shared(&self, req: &[u8]) -> Arc<Vec<u8>> {
        let mut map = HashMap::new();
        let mut responder = &self.responder;
        if let Ok(p) = pki::ocsp::parse_request(req) {
            let root = self
                .root_responder
                .as_ref()
                .filter(|r| p.cert_ids.iter().all(|id| r.is_ours(id)));
            if let Some(r) = root {
                responder = r;
            }
            for id in &p.cert_ids {
                let serial = id.serial_number.as_bytes().to_vec();
                let st = if root.is_some() {
                    self.root_status(&serial).await
                } else {
                    self.ca
                        .storage()
                        .status(self.ca.label(), &serial_hex(&serial))
                        .await
                        .map(|s| cert_state(&s))
                };
                match st {
                    Ok(s) => map.insert(serial, s),
                    Err(_) => {
                        return Arc::new(pki::ocsp::error_response(OcspResponseStatus::TryLater))
                    }
                };
            }
        }
        responder.respond_shared(req, &Prefetched(map), self.ca.now())
    }

    /// What the root says of `serial`: the issuing CA certificate is good until revoked.
    async fn root_status(
        &self,
        serial: &[u8],
    ) -> std::result::Result<CertState, crate::storage::StorageError> {
        let files = self.ca.files();
        let st = self
            .ca
            .storage()
            .status(&files.root.label, &serial_hex(serial))
            .await?;
        let issuing = files.issuing.cert.tbs_certificate.serial_number.as_bytes();
        Ok(match (st, serial == issuing) {
            (SerialStatus::Unknown, true) => CertState::Good,
            (s, _) => cert_state(&s),
        })
    }

    /// A bare `malformedRequest` response (RFC 6960 §2.3).
    pub fn malformed(&self) -> Vec<u8> {
        pki::ocsp::error_response(OcspResponseStatus::MalformedRequest)
    }

    /// The newest CRL of the CA labelled `label`.
    pub async fn crl(&self, label: &str) -> Option<Vec<u8>> {
        self.ca
            .storage()
            .latest_crl(label)
            .await
            .ok()
            .flatten()
            .map(|c| c.der)
    }

    /// The DER of the CA certificate labelled `label` (`root`, `issuing`).
    pub fn ca_cert(&self, label: &str) -> Option<Vec<u8>> {
        self.ca.files().ca_cert(label).map(|c| c.der.clone())
    }

    /// Re-signs pre-signed OCSP responses past half their validity, with the current status,
    /// and makes a new CRL when none exists or half of the newest one's validity has passed.
    /// Returns (responses re-signed, whether a CRL was made).
    pub async fn refresh(&self) -> Result<(usize, bool)> {
        let now = self.ca.now();
        let label = self.ca.label().to_string();
        let due = self.responder.due_for_refresh(now);
        for serial in &due {
            let st = self
                .ca
                .storage()
                .status(&label, &serial_hex(serial))
                .await?;
            self.responder.presign(serial, cert_state(&st), now)?;
        }
        let half = Duration::from_secs(self.ca.files().cfg.crl_validity_hours * 1800);
        let stale = match self.ca.storage().latest_crl(&label).await? {
            None => true,
            Some(c) => from_millis(c.next_update) < now + half,
        };
        if stale {
            self.ca.make_crl().await?;
        }
        let mut resigned = due.len();
        if let Some(r) = &self.root_responder {
            // The issuing CA's answer, kept pre-signed and fresh; and the ARL before its
            // nextUpdate (after half its validity).
            let serial = self
                .ca
                .files()
                .issuing
                .cert
                .tbs_certificate
                .serial_number
                .as_bytes()
                .to_vec();
            let mut due = r.due_for_refresh(now);
            if r.cached() == 0 {
                due.push(serial);
            }
            for s in &due {
                let st = self.root_status(s).await?;
                r.presign(s, st, now)?;
            }
            resigned += due.len();
            let root = &self.ca.files().root.label;
            let half = Duration::from_secs(self.ca.files().cfg.arl_validity_hours * 1800);
            let stale = match self.ca.storage().latest_crl(root).await? {
                None => true,
                Some(c) => from_millis(c.next_update) < now + half,
            };
            if stale {
                self.ca.make_arl().await?;
            }
        } else if let Some(c) = self
            .ca
            .storage()
            .latest_crl(&self.ca.files().root.label)
            .await?
        {
            if from_millis(c.next_update) < now + Duration::from_secs(7 * 24 * 3600) {
                tracing::warn!(
                    "the root's CRL (ARL) expires within a week and the root key is not at hand: run `certhall ca arl`"
                );
            }
        }
        Ok((resigned, stale))
    }

    /// Logs the serials a stopped pipeline left unfinished (recorded, never stored), so an
    /// operator sees them; they are never signed again.
    pub async fn report_unfinished(&self) {
        match self.ca.unfinished().await {
            Ok(u) if u.is_empty() => {}
            Ok(u) => {
                let serials: Vec<&str> = u.iter().map(|r| r.serial.as_str()).collect();
                tracing::warn!(
                    ca.unfinished = u.len(),
                    serials = ?serials,
                    "serials recorded but never stored (a pipeline stopped between recording and storing); they are not signed again"
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot list unfinished serials"),
        }
    }

    /// Refreshes every minute, forever (spawned by `serve`).
    pub async fn refresh_loop(self: Arc<Self>) {
        loop {
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "CA refresh failed");
            }
            tokio::time::sleep(REFRESH_EVERY).await;
        }
    }
}
