//! The certificate authority's durable state on SQLite or PostgreSQL: the issuance log (serial
//! and TBS recorded before signing, certificate stored after), revocations, CRLs and the
//! escrowed encryption keys. Plain types only, so this crate does not depend on `pki`; the
//! CLI and the use cases adapt.

use crate::{db_err, Db, Vault};
use app::StoreError;
use sqlx::Row;

/// One certificate about to be signed (step 4 of the issuance pipeline).
#[derive(Debug, Clone)]
pub struct RecordRow {
    /// Serial, upper-case hex.
    pub serial: String,
    /// `org` or `org-individual`.
    pub profile: String,
    /// `sign` or `enc`.
    pub key_usage: String,
    /// Subject, one line.
    pub subject: String,
    /// DER of the TBS certificate.
    pub tbs: Vec<u8>,
    /// notAfter, ms.
    pub not_after: i64,
}

/// What the CA knows of one serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialStatus {
    /// Recorded (possibly signed) or issued, not revoked.
    Good,
    /// Revoked at (ms), with the RFC 5280 reason code.
    Revoked {
        /// revocation time, ms
        at: i64,
        /// RFC 5280 CRLReason code
        reason: i64,
    },
    /// Never recorded by this issuer.
    Unknown,
}

/// A revoked serial, for the CRL.
#[derive(Debug, Clone)]
pub struct RevokedRow {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Revocation time, ms.
    pub at: i64,
    /// RFC 5280 reason code.
    pub reason: i64,
}

/// A certificate row, for `ca show` and OCSP pre-signing.
#[derive(Debug, Clone)]
pub struct CertRow {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Profile name.
    pub profile: String,
    /// `sign` or `enc`.
    pub key_usage: String,
    /// Subject line.
    pub subject: String,
    /// `recorded`, `issued` or `revoked`.
    pub status: String,
    /// notAfter, ms.
    pub not_after: i64,
}

/// Rows per multi-row INSERT (8 parameters each, well under SQLite's and PostgreSQL's limits).
const CHUNK: usize = 256;

/// The CA tables. TBS certificates and certificates are sealed by the [`Vault`] (a
/// 机构个人证书 carries its holder's 身份证号码 in the IdentifyCode extension), bound to
/// issuer and serial; serials, status and dates stay in clear for CRLs and OCSP.
#[derive(Clone)]
pub struct CaStore {
    db: Db,
    vault: Vault,
}

impl std::fmt::Debug for CaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaStore").finish_non_exhaustive()
    }
}

impl CaStore {
    /// Over a migrated database, sealing with `vault` (the hall's keys file).
    pub fn new(db: Db, vault: Vault) -> Self {
        Self { db, vault }
    }

    fn tbs_context(issuer: &str, serial: &str) -> String {
        format!("ca_certificates.tbs:{issuer}:{serial}")
    }

    fn cert_context(issuer: &str, serial: &str) -> String {
        format!("ca_issued.cert:{issuer}:{serial}")
    }

    /// Record serials and TBS certificates before they are signed; one transaction, durable
    /// when this returns (SQLite `synchronous=FULL`, PostgreSQL commit).
    pub async fn record(
        &self,
        issuer: &str,
        rows: &[RecordRow],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        for chunk in rows.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO ca_certificates (issuer, serial, profile, key_usage, subject, tbs, status, not_after, recorded_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 8;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, 'recorded', ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                ));
            }
            let sealed = chunk
                .iter()
                .map(|r| {
                    self.vault
                        .seal(&Self::tbs_context(issuer, &r.serial), &r.tbs)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut q = sqlx::query(&sql);
            for (r, tbs) in chunk.iter().zip(sealed) {
                q = q
                    .bind(issuer)
                    .bind(&r.serial)
                    .bind(&r.profile)
                    .bind(&r.key_usage)
                    .bind(&r.subject)
                    .bind(tbs)
                    .bind(r.not_after)
                    .bind(now);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Store signed certificates of earlier records (the foreign key refuses a serial that
    /// was never recorded).
    pub async fn store(
        &self,
        issuer: &str,
        certs: &[(String, Vec<u8>)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        for chunk in certs.chunks(CHUNK) {
            let mut sql =
                String::from("INSERT INTO ca_issued (issuer, serial, cert, issued_at) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 4;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            }
            let sealed = chunk
                .iter()
                .map(|(serial, der)| self.vault.seal(&Self::cert_context(issuer, serial), der))
                .collect::<Result<Vec<_>, _>>()?;
            let mut q = sqlx::query(&sql);
            for ((serial, _), der) in chunk.iter().zip(sealed) {
                q = q.bind(issuer).bind(serial).bind(der).bind(now);
            }
            q.execute(&mut *tx).await.map_err(|e| match db_err(e) {
                StoreError::Other(m) if m.to_lowercase().contains("foreign key") => {
                    StoreError::NotFound
                }
                other => other,
            })?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Keep the escrow envelope of an encryption key.
    pub async fn escrow(
        &self,
        issuer: &str,
        serial: &str,
        envelope: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO ca_key_escrow (issuer, serial, envelope, created_at) VALUES ($1, $2, $3, $4)")
            .bind(issuer)
            .bind(serial)
            .bind(envelope)
            .bind(now)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Revoke a serial (recorded or issued); revoking twice is refused.
    pub async fn revoke(
        &self,
        issuer: &str,
        serial: &str,
        reason: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE ca_certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
             WHERE issuer = $3 AND serial = $4 AND status <> 'revoked'",
        )
        .bind(at)
        .bind(reason)
        .bind(issuer)
        .bind(serial)
        .execute(&self.db.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The state of one serial.
    pub async fn status(&self, issuer: &str, serial: &str) -> Result<SerialStatus, StoreError> {
        let row = sqlx::query("SELECT status, revoked_at, revocation_reason FROM ca_certificates WHERE issuer = $1 AND serial = $2")
            .bind(issuer)
            .bind(serial)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(match row {
            None => SerialStatus::Unknown,
            Some(r) => {
                let st: String = r.try_get("status").map_err(db_err)?;
                if st == "revoked" {
                    SerialStatus::Revoked {
                        at: r
                            .try_get::<Option<i64>, _>("revoked_at")
                            .map_err(db_err)?
                            .unwrap_or(0),
                        reason: r
                            .try_get::<Option<i64>, _>("revocation_reason")
                            .map_err(db_err)?
                            .unwrap_or(0),
                    }
                } else {
                    SerialStatus::Good
                }
            }
        })
    }

    /// Every revoked serial of `issuer` not yet expired at `now` (RFC 5280 §5: an entry may
    /// leave the CRL after the certificate's expiry).
    pub async fn revoked(&self, issuer: &str, now: i64) -> Result<Vec<RevokedRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, revocation_reason FROM ca_certificates \
             WHERE issuer = $1 AND status = 'revoked' AND not_after > $2 ORDER BY revoked_at, serial",
        )
        .bind(issuer)
        .bind(now)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(RevokedRow {
                    serial: r.try_get("serial").map_err(db_err)?,
                    at: r
                        .try_get::<Option<i64>, _>("revoked_at")
                        .map_err(db_err)?
                        .unwrap_or(0),
                    reason: r
                        .try_get::<Option<i64>, _>("revocation_reason")
                        .map_err(db_err)?
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    /// All certificates of `issuer`, newest first, at most `limit`.
    pub async fn list(&self, issuer: &str, limit: i64) -> Result<Vec<CertRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.serial, c.profile, c.key_usage, c.subject, \
             CASE WHEN c.status = 'recorded' AND i.serial IS NOT NULL THEN 'issued' ELSE c.status END AS status, c.not_after \
             FROM ca_certificates c LEFT JOIN ca_issued i ON i.issuer = c.issuer AND i.serial = c.serial \
             WHERE c.issuer = $1 ORDER BY c.id DESC LIMIT $2",
        )
        .bind(issuer)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(CertRow {
                    serial: r.try_get("serial").map_err(db_err)?,
                    profile: r.try_get("profile").map_err(db_err)?,
                    key_usage: r.try_get("key_usage").map_err(db_err)?,
                    subject: r.try_get("subject").map_err(db_err)?,
                    status: r.try_get("status").map_err(db_err)?,
                    not_after: r.try_get("not_after").map_err(db_err)?,
                })
            })
            .collect()
    }

    /// The certificate DER of a serial, if stored.
    pub async fn cert(&self, issuer: &str, serial: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT cert FROM ca_issued WHERE issuer = $1 AND serial = $2")
            .bind(issuer)
            .bind(serial)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => {
                let sealed: Vec<u8> = r.try_get("cert").map_err(db_err)?;
                self.vault
                    .open(&Self::cert_context(issuer, serial), &sealed)
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    /// Counts by status, for `ca show`.
    pub async fn counts(&self, issuer: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT CASE WHEN c.status = 'recorded' AND i.serial IS NOT NULL THEN 'issued' ELSE c.status END AS status, COUNT(*) AS n \
             FROM ca_certificates c LEFT JOIN ca_issued i ON i.issuer = c.issuer AND i.serial = c.serial \
             WHERE c.issuer = $1 GROUP BY 1 ORDER BY 1",
        )
            .bind(issuer)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("status").map_err(db_err)?,
                    r.try_get("n").map_err(db_err)?,
                ))
            })
            .collect()
    }

    /// Allocate the next CRL number and keep the CRL (one transaction; numbers strictly increase,
    /// RFC 5280 §5.2.3). `make` builds the DER for the number it is given.
    pub async fn next_crl_number(&self, issuer: &str) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT COALESCE(MAX(crl_number), 0) AS n FROM ca_crls WHERE issuer = $1")
                .bind(issuer)
                .fetch_one(&self.db.pool)
                .await
                .map_err(db_err)?;
        Ok(row.try_get::<i64, _>("n").map_err(db_err)? + 1)
    }

    /// Keep a CRL; a number used twice is refused (`Duplicate`).
    pub async fn put_crl(
        &self,
        issuer: &str,
        number: i64,
        this_update: i64,
        next_update: i64,
        der: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO ca_crls (issuer, crl_number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)")
            .bind(issuer)
            .bind(number)
            .bind(this_update)
            .bind(next_update)
            .bind(der)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// The newest CRL of `issuer` (number, nextUpdate ms, DER).
    pub async fn latest_crl(
        &self,
        issuer: &str,
    ) -> Result<Option<(i64, i64, Vec<u8>)>, StoreError> {
        let row = sqlx::query("SELECT crl_number, next_update, der FROM ca_crls WHERE issuer = $1 ORDER BY crl_number DESC LIMIT 1")
            .bind(issuer)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((
                r.try_get("crl_number").map_err(db_err)?,
                r.try_get("next_update").map_err(db_err)?,
                r.try_get("der").map_err(db_err)?,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{fresh_url, Backend};

    #[tokio::test]
    async fn record_store_revoke_crl_on_sqlite() {
        suite(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn record_store_revoke_crl_on_postgres() {
        suite(Backend::Postgres).await;
    }

    async fn suite(backend: Backend) {
        let db = Db::connect(&fresh_url(backend).await.unwrap())
            .await
            .unwrap();
        db.migrate(1).await.unwrap();
        let ca = CaStore::new(db, crate::Vault::random());
        let row = RecordRow {
            serial: "4A01".into(),
            profile: "org".into(),
            key_usage: "sign".into(),
            subject: "CN=x".into(),
            tbs: vec![0x30, 0x00],
            not_after: 10_000,
        };
        ca.record("issuing", std::slice::from_ref(&row), 5)
            .await
            .unwrap();
        assert!(
            ca.record("issuing", &[row], 5).await.is_err(),
            "a serial is recorded once"
        );
        assert_eq!(
            ca.status("issuing", "4A01").await.unwrap(),
            SerialStatus::Good
        );
        assert_eq!(
            ca.status("issuing", "4A02").await.unwrap(),
            SerialStatus::Unknown
        );
        ca.store("issuing", &[("4A01".into(), vec![1, 2, 3])], 6)
            .await
            .unwrap();
        assert!(ca
            .store("issuing", &[("4A02".into(), vec![1])], 6)
            .await
            .is_err());
        assert_eq!(
            ca.cert("issuing", "4A01").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        ca.revoke("issuing", "4A01", 1, 7).await.unwrap();
        assert!(ca.revoke("issuing", "4A01", 1, 8).await.is_err());
        assert_eq!(
            ca.status("issuing", "4A01").await.unwrap(),
            SerialStatus::Revoked { at: 7, reason: 1 }
        );
        assert_eq!(ca.revoked("issuing", 9).await.unwrap().len(), 1);
        assert_eq!(
            ca.revoked("issuing", 20_000).await.unwrap().len(),
            0,
            "expired entries leave the CRL"
        );
        assert_eq!(ca.next_crl_number("issuing").await.unwrap(), 1);
        ca.put_crl("issuing", 1, 1, 2, &[9]).await.unwrap();
        assert!(ca.put_crl("issuing", 1, 1, 2, &[9]).await.is_err());
        assert_eq!(ca.next_crl_number("issuing").await.unwrap(), 2);
        assert_eq!(ca.latest_crl("issuing").await.unwrap().unwrap().0, 1);
        // A batch larger than one multi-row INSERT.
        let rows: Vec<RecordRow> = (0..600)
            .map(|i| RecordRow {
                serial: format!("5{i:05X}"),
                profile: "org".into(),
                key_usage: "enc".into(),
                subject: "CN=y".into(),
                tbs: vec![i as u8; 300],
                not_after: 10_000,
            })
            .collect();
        ca.record("issuing", &rows, 10).await.unwrap();
        let certs: Vec<(String, Vec<u8>)> = rows
            .iter()
            .map(|r| (r.serial.clone(), vec![7; 500]))
            .collect();
        ca.store("issuing", &certs, 11).await.unwrap();
        let counts = ca.counts("issuing").await.unwrap();
        assert!(
            counts.contains(&("issued".to_string(), 600))
                && counts.contains(&("revoked".to_string(), 1)),
            "{counts:?}"
        );
        assert_eq!(ca.list("issuing", 5).await.unwrap().len(), 5);
        ca.escrow("issuing", "500000", &[1, 2, 3], 12)
            .await
            .unwrap();
    }
}
