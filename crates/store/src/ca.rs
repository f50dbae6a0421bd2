//! The certificate authority's durable state on SQLite or PostgreSQL: `ca::CaStorage`, the
//! storage port of the CA service (the issuance log — serial and TBS recorded before signing,
//! certificate stored after — revocations, CRLs and the escrowed encryption keys). The port
//! is defined in `ca` and implemented here, so `store` depends on `ca` and `ca` on neither
//! `store` nor `app`.

use crate::{db_err, Db, Vault};
use app::StoreError;
use async_trait::async_trait;
use ca::pki::crl::Reason;
use ca::pki::Usage;
use ca::storage::{
    CertRow, CrlRow, PairRecord, Record, Recorded, RecordedPair, RevokedRow, Unfinished,
};
use ca::{CaStorage, SerialStatus, StorageError};
use sqlx::Row;

fn port(e: StoreError) -> StorageError {
    match e {
        StoreError::Duplicate(_) => StorageError::Duplicate,
        StoreError::NotFound => StorageError::NotFound,
        StoreError::Other(m) | StoreError::Unavailable(m) | StoreError::Full(m) => {
            StorageError::Other(m)
        }
    }
}

fn reason(code: i64) -> Result<Reason, StorageError> {
    u8::try_from(code)
        .ok()
        .and_then(|c| Reason::from_code(c).ok())
        .ok_or_else(|| StorageError::Other(format!("stored revocation reason {code} is not known")))
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

    async fn record_rows(&self, issuer: &str, rows: &[Record], now: i64) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        self.insert_records(&mut tx, issuer, rows, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn insert_records(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        issuer: &str,
        rows: &[Record],
        now: i64,
    ) -> Result<(), StoreError> {
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
                    .bind(ca::pki::profile_name(r.kind))
                    .bind(r.usage.as_str())
                    .bind(&r.subject)
                    .bind(tbs)
                    .bind(r.not_after)
                    .bind(now);
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    /// The pair row, the two TBS rows and the escrow in one transaction; the reference's
    /// primary key makes a second pair for it a `Duplicate` (nothing written).
    async fn record_pair_rows(
        &self,
        issuer: &str,
        pair: &PairRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO ca_requests (issuer, reference, sign_serial, enc_serial, envelope, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(issuer)
        .bind(&pair.reference)
        .bind(&pair.sign.serial)
        .bind(&pair.enc.serial)
        .bind(&pair.envelope)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.insert_records(&mut tx, issuer, &[pair.sign.clone(), pair.enc.clone()], now)
            .await?;
        sqlx::query("INSERT INTO ca_key_escrow (issuer, serial, envelope, created_at) VALUES ($1, $2, $3, $4)")
            .bind(issuer)
            .bind(&pair.enc.serial)
            .bind(&pair.escrow)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn recorded(&self, issuer: &str, serial: &str) -> Result<Recorded, StoreError> {
        let r = sqlx::query(
            "SELECT c.profile, c.key_usage, c.status, c.tbs, i.cert FROM ca_certificates c \
             LEFT JOIN ca_issued i ON i.issuer = c.issuer AND i.serial = c.serial \
             WHERE c.issuer = $1 AND c.serial = $2",
        )
        .bind(issuer)
        .bind(serial)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
        let bad = |m: String| StoreError::Other(format!("ca_certificates {serial}: {m}"));
        let profile: String = r.try_get("profile").map_err(db_err)?;
        let usage: String = r.try_get("key_usage").map_err(db_err)?;
        let tbs: Vec<u8> = r.try_get("tbs").map_err(db_err)?;
        let cert: Option<Vec<u8>> = r.try_get("cert").map_err(db_err)?;
        Ok(Recorded {
            serial: serial.to_string(),
            kind: ca::pki::parse_profile(&profile).map_err(|e| bad(e.to_string()))?,
            usage: match usage.as_str() {
                "sign" => Usage::Signing,
                "enc" => Usage::Encryption,
                other => return Err(bad(format!("key usage {other}"))),
            },
            status: r.try_get("status").map_err(db_err)?,
            tbs: self.vault.open(&Self::tbs_context(issuer, serial), &tbs)?,
            cert: cert
                .map(|c| self.vault.open(&Self::cert_context(issuer, serial), &c))
                .transpose()?,
        })
    }

    async fn pair_rows(
        &self,
        issuer: &str,
        reference: &str,
    ) -> Result<Option<RecordedPair>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT sign_serial, enc_serial, envelope FROM ca_requests WHERE issuer = $1 AND reference = $2",
        )
        .bind(issuer)
        .bind(reference)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        let sign: String = r.try_get("sign_serial").map_err(db_err)?;
        let enc: String = r.try_get("enc_serial").map_err(db_err)?;
        Ok(Some(RecordedPair {
            sign: self.recorded(issuer, &sign).await?,
            enc: self.recorded(issuer, &enc).await?,
            envelope: r.try_get("envelope").map_err(db_err)?,
        }))
    }

    async fn store_certs(
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
            // A retry after a lost acknowledgement finds its rows there: keep them. (The
            // pipeline signs a serial once, so the certificate there is this one.)
            sql.push_str(" ON CONFLICT (issuer, serial) DO NOTHING");
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

    async fn abandon_serials(&self, issuer: &str, serials: &[String]) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        for chunk in serials.chunks(CHUNK) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE ca_certificates SET status = 'abandoned' \
                 WHERE issuer = $1 AND status = 'recorded' AND serial IN ({}) \
                 AND NOT EXISTS (SELECT 1 FROM ca_issued i WHERE i.issuer = ca_certificates.issuer AND i.serial = ca_certificates.serial)",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(issuer);
            for s in chunk {
                q = q.bind(s);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl CaStorage for CaStore {
    /// One transaction, durable when this returns (SQLite `synchronous=FULL`, PostgreSQL
    /// commit).
    async fn record(&self, issuer: &str, rows: &[Record], now: i64) -> Result<(), StorageError> {
        self.record_rows(issuer, rows, now).await.map_err(port)
    }

    /// The foreign key refuses a serial that was never recorded (`NotFound`).
    async fn store(
        &self,
        issuer: &str,
        certs: &[(String, Vec<u8>)],
        now: i64,
    ) -> Result<(), StorageError> {
        self.store_certs(issuer, certs, now).await.map_err(port)
    }

    async fn abandon(
        &self,
        issuer: &str,
        serials: &[String],
        _now: i64,
    ) -> Result<(), StorageError> {
        self.abandon_serials(issuer, serials).await.map_err(port)
    }

    async fn unfinished(&self, issuer: &str) -> Result<Vec<Unfinished>, StorageError> {
        let rows = sqlx::query(
            "SELECT c.serial, c.profile, c.key_usage, c.recorded_at FROM ca_certificates c \
             LEFT JOIN ca_issued i ON i.issuer = c.issuer AND i.serial = c.serial \
             WHERE c.issuer = $1 AND c.status = 'recorded' AND i.serial IS NULL ORDER BY c.id",
        )
        .bind(issuer)
        .fetch_all(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?;
        rows.iter()
            .map(|r| {
                Ok(Unfinished {
                    serial: r.try_get("serial").map_err(|e| port(db_err(e)))?,
                    profile: r.try_get("profile").map_err(|e| port(db_err(e)))?,
                    key_usage: r.try_get("key_usage").map_err(|e| port(db_err(e)))?,
                    recorded_at: r.try_get("recorded_at").map_err(|e| port(db_err(e)))?,
                })
            })
            .collect()
    }

    async fn record_pair(
        &self,
        issuer: &str,
        pair: &PairRecord,
        now: i64,
    ) -> Result<(), StorageError> {
        self.record_pair_rows(issuer, pair, now).await.map_err(port)
    }

    async fn pair(
        &self,
        issuer: &str,
        reference: &str,
    ) -> Result<Option<RecordedPair>, StorageError> {
        self.pair_rows(issuer, reference).await.map_err(port)
    }

    async fn escrow(
        &self,
        issuer: &str,
        serial: &str,
        envelope: &[u8],
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO ca_key_escrow (issuer, serial, envelope, created_at) VALUES ($1, $2, $3, $4)")
            .bind(issuer)
            .bind(serial)
            .bind(envelope)
            .bind(now)
            .execute(&self.db.pool)
            .await
            .map_err(|e| port(db_err(e)))?;
        Ok(())
    }

    async fn revoke(
        &self,
        issuer: &str,
        serial: &str,
        reason: Reason,
        at: i64,
    ) -> Result<(), StorageError> {
        let n = sqlx::query(
            "UPDATE ca_certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
             WHERE issuer = $3 AND serial = $4 AND status IN ('recorded', 'issued')",
        )
        .bind(at)
        .bind(i64::from(reason.code()))
        .bind(issuer)
        .bind(serial)
        .execute(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StorageError::NotFound)
        }
    }

    async fn status(&self, issuer: &str, serial: &str) -> Result<SerialStatus, StorageError> {
        let row = sqlx::query("SELECT status, revoked_at, revocation_reason FROM ca_certificates WHERE issuer = $1 AND serial = $2")
            .bind(issuer)
            .bind(serial)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| port(db_err(e)))?;
        let Some(r) = row else {
            return Ok(SerialStatus::Unknown);
        };
        let st: String = r.try_get("status").map_err(|e| port(db_err(e)))?;
        Ok(match st.as_str() {
            "revoked" => SerialStatus::Revoked {
                at: r
                    .try_get::<Option<i64>, _>("revoked_at")
                    .map_err(|e| port(db_err(e)))?
                    .unwrap_or(0),
                reason: reason(
                    r.try_get::<Option<i64>, _>("revocation_reason")
                        .map_err(|e| port(db_err(e)))?
                        .unwrap_or(0),
                )?,
            },
            "abandoned" => SerialStatus::Unknown,
            _ => SerialStatus::Good,
        })
    }

    async fn revoked(&self, issuer: &str, now: i64) -> Result<Vec<RevokedRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, revocation_reason FROM ca_certificates \
             WHERE issuer = $1 AND status = 'revoked' AND not_after > $2 ORDER BY revoked_at, serial",
        )
        .bind(issuer)
        .bind(now)
        .fetch_all(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?;
        rows.iter()
            .map(|r| {
                Ok(RevokedRow {
                    serial: r.try_get("serial").map_err(|e| port(db_err(e)))?,
                    at: r
                        .try_get::<Option<i64>, _>("revoked_at")
                        .map_err(|e| port(db_err(e)))?
                        .unwrap_or(0),
                    reason: reason(
                        r.try_get::<Option<i64>, _>("revocation_reason")
                            .map_err(|e| port(db_err(e)))?
                            .unwrap_or(0),
                    )?,
                })
            })
            .collect()
    }

    async fn list(&self, issuer: &str, limit: i64) -> Result<Vec<CertRow>, StorageError> {
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
        .map_err(|e| port(db_err(e)))?;
        rows.iter()
            .map(|r| {
                let get = |c: &str| r.try_get::<String, _>(c).map_err(|e| port(db_err(e)));
                Ok(CertRow {
                    serial: get("serial")?,
                    profile: get("profile")?,
                    key_usage: get("key_usage")?,
                    subject: get("subject")?,
                    status: get("status")?,
                    not_after: r.try_get("not_after").map_err(|e| port(db_err(e)))?,
                })
            })
            .collect()
    }

    async fn counts(&self, issuer: &str) -> Result<Vec<(String, i64)>, StorageError> {
        let rows = sqlx::query(
            "SELECT CASE WHEN c.status = 'recorded' AND i.serial IS NOT NULL THEN 'issued' ELSE c.status END AS status, COUNT(*) AS n \
             FROM ca_certificates c LEFT JOIN ca_issued i ON i.issuer = c.issuer AND i.serial = c.serial \
             WHERE c.issuer = $1 GROUP BY 1 ORDER BY 1",
        )
        .bind(issuer)
        .fetch_all(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("status").map_err(|e| port(db_err(e)))?,
                    r.try_get("n").map_err(|e| port(db_err(e)))?,
                ))
            })
            .collect()
    }

    async fn cert(&self, issuer: &str, serial: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row = sqlx::query("SELECT cert FROM ca_issued WHERE issuer = $1 AND serial = $2")
            .bind(issuer)
            .bind(serial)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| port(db_err(e)))?;
        match row {
            Some(r) => {
                let sealed: Vec<u8> = r.try_get("cert").map_err(|e| port(db_err(e)))?;
                self.vault
                    .open(&Self::cert_context(issuer, serial), &sealed)
                    .map(Some)
                    .map_err(port)
            }
            None => Ok(None),
        }
    }

    async fn next_crl_number(&self, issuer: &str) -> Result<i64, StorageError> {
        let row =
            sqlx::query("SELECT COALESCE(MAX(crl_number), 0) AS n FROM ca_crls WHERE issuer = $1")
                .bind(issuer)
                .fetch_one(&self.db.pool)
                .await
                .map_err(|e| port(db_err(e)))?;
        Ok(row.try_get::<i64, _>("n").map_err(|e| port(db_err(e)))? + 1)
    }

    async fn put_crl(
        &self,
        issuer: &str,
        number: i64,
        this_update: i64,
        next_update: i64,
        der: &[u8],
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO ca_crls (issuer, crl_number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)")
            .bind(issuer)
            .bind(number)
            .bind(this_update)
            .bind(next_update)
            .bind(der)
            .execute(&self.db.pool)
            .await
            .map_err(|e| port(db_err(e)))?;
        Ok(())
    }

    async fn latest_crl(&self, issuer: &str) -> Result<Option<CrlRow>, StorageError> {
        let row = sqlx::query("SELECT crl_number, next_update, der FROM ca_crls WHERE issuer = $1 ORDER BY crl_number DESC LIMIT 1")
            .bind(issuer)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| port(db_err(e)))?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(CrlRow {
                number: r.try_get("crl_number").map_err(|e| port(db_err(e)))?,
                next_update: r.try_get("next_update").map_err(|e| port(db_err(e)))?,
                der: r.try_get("der").map_err(|e| port(db_err(e)))?,
            })),
        }
    }

    async fn claim_subject(
        &self,
        issuer: &str,
        dn: &[u8],
        entity: &str,
    ) -> Result<(), StorageError> {
        let dn_hash = self.vault.lookup_hash("ca.subject_dn", &hex::encode(dn));
        let entity_hash = self.vault.lookup_hash("ca.subject_entity", entity);
        // Insert if free; then whoever holds it decides (two claims racing both read the one
        // row that won).
        sqlx::query(
            "INSERT INTO ca_subjects (issuer, dn_hash, entity_hash) VALUES ($1, $2, $3) \
             ON CONFLICT (issuer, dn_hash) DO NOTHING",
        )
        .bind(issuer)
        .bind(&dn_hash)
        .bind(&entity_hash)
        .execute(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?;
        let held: String =
            sqlx::query("SELECT entity_hash FROM ca_subjects WHERE issuer = $1 AND dn_hash = $2")
                .bind(issuer)
                .bind(&dn_hash)
                .fetch_one(&self.db.pool)
                .await
                .and_then(|r| r.try_get("entity_hash"))
                .map_err(|e| port(db_err(e)))?;
        if held == entity_hash {
            Ok(())
        } else {
            Err(StorageError::Duplicate)
        }
    }

    async fn block_key(&self, key_id: &str, serial: &str, at: i64) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO ca_blocked_keys (key_id, serial, blocked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(serial)
        .bind(at)
        .execute(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?;
        Ok(())
    }

    async fn key_blocked(&self, key_id: &str) -> Result<bool, StorageError> {
        Ok(
            sqlx::query("SELECT serial FROM ca_blocked_keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(|e| port(db_err(e)))?
                .is_some(),
        )
    }

    async fn link_pair(&self, issuer: &str, sign: &str, enc: &str) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO ca_pairs (issuer, serial, partner) VALUES ($1, $2, $3), ($1, $3, $2) \
             ON CONFLICT (issuer, serial) DO NOTHING",
        )
        .bind(issuer)
        .bind(sign)
        .bind(enc)
        .execute(&self.db.pool)
        .await
        .map_err(|e| port(db_err(e)))?;
        Ok(())
    }

    async fn partner(&self, issuer: &str, serial: &str) -> Result<Option<String>, StorageError> {
        sqlx::query("SELECT partner FROM ca_pairs WHERE issuer = $1 AND serial = $2")
            .bind(issuer)
            .bind(serial)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| port(db_err(e)))?
            .map(|r| r.try_get("partner"))
            .transpose()
            .map_err(|e| port(db_err(e)))
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
        let tbs = self
            .vault
            .seal(&Self::tbs_context(issuer, serial), tbs)
            .map_err(port)?;
        let cert = self
            .vault
            .seal(&Self::cert_context(issuer, serial), der)
            .map_err(port)?;
        let mut tx = self.db.begin().await.map_err(port)?;
        sqlx::query(
            "INSERT INTO ca_certificates (issuer, serial, profile, key_usage, subject, tbs, status, not_after, recorded_at) \
             VALUES ($1, $2, 'ca', 'ca', $3, $4, 'recorded', $5, $6) ON CONFLICT (issuer, serial) DO NOTHING",
        )
        .bind(issuer)
        .bind(serial)
        .bind(subject)
        .bind(tbs)
        .bind(not_after)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| port(db_err(e)))?;
        sqlx::query(
            "INSERT INTO ca_issued (issuer, serial, cert, issued_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer, serial) DO NOTHING",
        )
        .bind(issuer)
        .bind(serial)
        .bind(cert)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| port(db_err(e)))?;
        tx.commit().await.map_err(|e| port(db_err(e)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{fresh_url, Backend};
    use ca::pki::{CertType, Usage};

    #[tokio::test]
    async fn subjects_keys_pairs_and_ca_certs_on_sqlite() {
        i19_suite(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn subjects_keys_pairs_and_ca_certs_on_postgres() {
        i19_suite(Backend::Postgres).await;
    }

    async fn i19_suite(backend: Backend) {
        let db = Db::connect(&fresh_url(backend).await.unwrap())
            .await
            .unwrap();
        db.migrate(1).await.unwrap();
        let ca = CaStore::new(db.clone(), crate::Vault::random());
        // One DN, one entity; the same entity again is fine; nothing personal is stored.
        let dn = b"0\x10CN=zhang san serialNumber=11010519491231002X".to_vec();
        let who = "person:91350100M000100Y43:11010519491231002X";
        ca.claim_subject("issuing", &dn, who).await.unwrap();
        ca.claim_subject("issuing", &dn, who).await.unwrap();
        assert_eq!(
            ca.claim_subject(
                "issuing",
                &dn,
                "person:91350100M000100Y43:440305198506151233"
            )
            .await,
            Err(StorageError::Duplicate)
        );
        ca.claim_subject("other", &dn, "someone else")
            .await
            .unwrap();
        let held: String = sqlx::query("SELECT dn_hash || entity_hash AS h FROM ca_subjects")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("h").unwrap())
            .collect();
        assert!(!held.contains("11010519491231002X"));
        // Blocked keys.
        assert!(!ca.key_blocked("AB12").await.unwrap());
        ca.block_key("AB12", "4A01", 5).await.unwrap();
        ca.block_key("AB12", "4A02", 6).await.unwrap();
        assert!(ca.key_blocked("AB12").await.unwrap());
        // Pairs, both ways.
        ca.link_pair("issuing", "5A01", "5A02").await.unwrap();
        assert_eq!(
            ca.partner("issuing", "5A01").await.unwrap().as_deref(),
            Some("5A02")
        );
        assert_eq!(
            ca.partner("issuing", "5A02").await.unwrap().as_deref(),
            Some("5A01")
        );
        assert_eq!(ca.partner("issuing", "5A03").await.unwrap(), None);
        // The issuing CA under the root: registered twice, revoked once, in the ARL.
        for _ in 0..2 {
            ca.register_ca_cert(
                "root",
                "6A01",
                "CN=issuing",
                &[0x30, 0],
                &[0x30, 1],
                10_000,
                5,
            )
            .await
            .unwrap();
        }
        assert_eq!(ca.status("root", "6A01").await.unwrap(), SerialStatus::Good);
        assert_eq!(ca.cert("root", "6A01").await.unwrap(), Some(vec![0x30, 1]));
        ca.revoke("root", "6A01", Reason::CessationOfOperation, 7)
            .await
            .unwrap();
        let arl = ca.revoked("root", 8).await.unwrap();
        assert_eq!(arl.len(), 1);
        assert_eq!(arl[0].serial, "6A01");
        assert_eq!(ca.list("root", 5).await.unwrap()[0].profile, "ca");
    }

    #[tokio::test]
    async fn record_store_revoke_crl_on_sqlite() {
        suite(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn record_store_revoke_crl_on_postgres() {
        suite(Backend::Postgres).await;
    }

    fn row(serial: &str, usage: Usage, tbs: Vec<u8>) -> Record {
        Record {
            serial: serial.into(),
            kind: CertType::Org,
            usage,
            subject: "CN=x".into(),
            tbs,
            not_after: 10_000,
        }
    }

    async fn suite(backend: Backend) {
        let db = Db::connect(&fresh_url(backend).await.unwrap())
            .await
            .unwrap();
        db.migrate(1).await.unwrap();
        let ca = CaStore::new(db, crate::Vault::random());
        let r = row("4A01", Usage::Signing, vec![0x30, 0x00]);
        ca.record("issuing", std::slice::from_ref(&r), 5)
            .await
            .unwrap();
        assert_eq!(
            ca.record("issuing", &[r], 5).await,
            Err(StorageError::Duplicate),
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
        assert_eq!(ca.unfinished("issuing").await.unwrap().len(), 1);
        ca.store("issuing", &[("4A01".into(), vec![1, 2, 3])], 6)
            .await
            .unwrap();
        ca.store("issuing", &[("4A01".into(), vec![1, 2, 3])], 6)
            .await
            .unwrap(); // a retry after a lost acknowledgement
        assert!(ca.unfinished("issuing").await.unwrap().is_empty());
        assert_eq!(
            ca.store("issuing", &[("4A02".into(), vec![1])], 6).await,
            Err(StorageError::NotFound)
        );
        assert_eq!(
            ca.cert("issuing", "4A01").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        ca.revoke("issuing", "4A01", Reason::KeyCompromise, 7)
            .await
            .unwrap();
        assert_eq!(
            ca.revoke("issuing", "4A01", Reason::KeyCompromise, 8).await,
            Err(StorageError::NotFound)
        );
        assert_eq!(
            ca.status("issuing", "4A01").await.unwrap(),
            SerialStatus::Revoked {
                at: 7,
                reason: Reason::KeyCompromise
            }
        );
        assert_eq!(ca.revoked("issuing", 9).await.unwrap().len(), 1);
        assert_eq!(
            ca.revoked("issuing", 20_000).await.unwrap().len(),
            0,
            "expired entries leave the CRL"
        );
        // Abandoned: recorded, certificate dropped; unknown to OCSP, not revocable; an issued
        // serial is not abandoned.
        ca.record(
            "issuing",
            &[
                row("4B01", Usage::Signing, vec![0x30, 0x00]),
                row("4B02", Usage::Encryption, vec![0x30, 0x00]),
            ],
            8,
        )
        .await
        .unwrap();
        assert_eq!(
            ca.unfinished("issuing")
                .await
                .unwrap()
                .iter()
                .map(|u| (u.serial.as_str(), u.profile.as_str(), u.key_usage.as_str()))
                .collect::<Vec<_>>(),
            vec![("4B01", "org", "sign"), ("4B02", "org", "enc")]
        );
        ca.abandon("issuing", &["4B01".into(), "4B02".into(), "4A01".into()], 9)
            .await
            .unwrap();
        assert!(ca.unfinished("issuing").await.unwrap().is_empty());
        assert_eq!(
            ca.status("issuing", "4B01").await.unwrap(),
            SerialStatus::Unknown
        );
        assert!(matches!(
            ca.status("issuing", "4A01").await.unwrap(),
            SerialStatus::Revoked { .. }
        ));
        assert_eq!(
            ca.revoke("issuing", "4B01", Reason::Unspecified, 9).await,
            Err(StorageError::NotFound)
        );
        assert_eq!(ca.next_crl_number("issuing").await.unwrap(), 1);
        ca.put_crl("issuing", 1, 1, 2, &[9]).await.unwrap();
        assert!(ca.put_crl("issuing", 1, 1, 2, &[9]).await.is_err());
        assert_eq!(ca.next_crl_number("issuing").await.unwrap(), 2);
        assert_eq!(ca.latest_crl("issuing").await.unwrap().unwrap().number, 1);
        // A batch larger than one multi-row INSERT.
        let rows: Vec<Record> = (0..600)
            .map(|i| row(&format!("5{i:05X}"), Usage::Encryption, vec![i as u8; 300]))
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
                && counts.contains(&("revoked".to_string(), 1))
                && counts.contains(&("abandoned".to_string(), 2)),
            "{counts:?}"
        );
        assert_eq!(ca.list("issuing", 5).await.unwrap().len(), 5);
        ca.escrow("issuing", "500000", &[1, 2, 3], 12)
            .await
            .unwrap();
    }
}
