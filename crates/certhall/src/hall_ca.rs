//! The SM2 CA as the staff desk's [`app::desk::CertAuthority`]: production asks for a
//! signing + encryption pair per order line; this runs the durable issuance pipeline
//! ([`Ca::issue_durable`]: record, then sign), envelopes the encryption key to the signing key
//! and escrows a copy for the key manager, exactly like `certhall ca issue --with-encryption`.

use crate::ca_cmd::Ca;
use anyhow::Result;
use app::desk::{CaIssued, CaRequest, CertAuthority};
use app::GatewayError;
use async_trait::async_trait;
use domain::CertType;
use pki::issue::{serial_hex, CaNames};
use pki::{IssueRequest, Profile, SubjectData, Usage};
use std::time::SystemTime;

/// The hall's CA behind the production port.
pub struct HallCa {
    ca: Ca,
}

impl HallCa {
    /// Wraps an opened CA.
    pub fn new(ca: Ca) -> Self {
        Self { ca }
    }

    /// A fresh CA made in memory over `store` (tests and demos: no key is written to disk).
    pub fn ephemeral(store: store::ca::CaStore) -> Result<Self> {
        let names = CaNames {
            root_cn: "certhall Test Root CA".into(),
            issuing_cn: "certhall Test SM2 CA".into(),
            org: "certhall Test".into(),
            root_years: 20,
            issuing_years: 10,
        };
        let ca = Ca::in_memory(&names, SystemTime::now(), store)?;
        Ok(Self { ca })
    }

    /// The root in PEM.
    pub fn root_pem(&self) -> String {
        self.ca.files.root.pem()
    }
}

fn refused(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Refused(e.to_string())
}

#[async_trait]
impl CertAuthority for HallCa {
    fn chain_pem(&self) -> String {
        self.ca.files.chain_pem()
    }

    async fn issue(&self, req: CaRequest) -> Result<CaIssued, GatewayError> {
        let profile = match req.kind {
            CertType::Org => Profile::Org,
            CertType::OrgPerson => Profile::OrgIndividual,
        };
        let person = req.person.as_ref().map(|(n, i)| (n.as_str(), i.as_str()));
        let subject = SubjectData::new(profile, req.org.as_str(), req.uscc.as_str(), person)
            .map_err(refused)?;
        let years = u16::from(req.years);
        pki::profile::check_years(years).map_err(refused)?;
        let sign_pk = match &req.csr {
            Some(bytes) => pki::csr::parse_csr(bytes).map_err(refused)?.public_key,
            // Sandbox: the key is made here and dropped; a real token makes its own.
            None => pki::keys::generate().public_key(),
        };
        let enc_key = pki::keys::generate();
        let reqs = [
            IssueRequest {
                profile,
                usage: Usage::Signing,
                subject: subject.clone(),
                public_key: sign_pk,
                years,
            },
            IssueRequest {
                profile,
                usage: Usage::Encryption,
                subject,
                public_key: enc_key.public_key(),
                years,
            },
        ];
        let now = SystemTime::now();
        let issued = self
            .ca
            .issue_durable(&reqs, now)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let (sign, enc) = match issued.as_slice() {
            [s, e] => (s, e),
            _ => return Err(GatewayError::Unavailable("CA returned no pair".into())),
        };
        let mut rng = rand::rngs::OsRng;
        let env = pki::envelope::seal(&enc_key, &sign_pk, &mut rng).map_err(refused)?;
        let escrow =
            pki::envelope::seal(&enc_key, &self.ca.km_public, &mut rng).map_err(refused)?;
        let now_ms = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.ca
            .store
            .escrow(
                &self.ca.issuer.ca.label,
                &serial_hex(&enc.serial),
                &escrow.der,
                now_ms,
            )
            .await
            .map_err(|e| GatewayError::Unavailable(format!("escrow: {e}")))?;
        Ok(CaIssued {
            sign_serial: serial_hex(&sign.serial),
            sign_pem: sign.pem(),
            enc_serial: serial_hex(&enc.serial),
            enc_pem: enc.pem(),
            envelope: env.der,
            chain_pem: self.ca.files.chain_pem(),
        })
    }
}
