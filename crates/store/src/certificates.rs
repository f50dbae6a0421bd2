//! [`app::certificates::CertStore`] on migration 0021: proof-of-possession challenges (kept
//! as SHA-256, used by one conditional update) and the certificates accounts claimed.

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::certificates::{CertStore, Claimed, Taken};
use app::clock::Millis;
use app::model::Effects;
use app::ports::StoreResult;
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl CertStore for SqlStore {
    async fn put_challenge(
        &self,
        user_id: i64,
        purpose: &str,
        hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cert_challenges (user_id, purpose, challenge_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(purpose)
        .bind(hash)
        .bind(now)
        .bind(expires_at)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        user_id: i64,
        purpose: &str,
        hash: &str,
        now: Millis,
    ) -> StoreResult<Taken> {
        let n = sqlx::query(
            "UPDATE cert_challenges SET used_at = $1 WHERE challenge_hash = $2 AND user_id = $3 \
             AND purpose = $4 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(hash)
        .bind(user_id)
        .bind(purpose)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 1 {
            return Ok(Taken::Taken);
        }
        let row = sqlx::query(
            "SELECT used_at FROM cert_challenges WHERE challenge_hash = $1 AND user_id = $2 \
             AND purpose = $3",
        )
        .bind(hash)
        .bind(user_id)
        .bind(purpose)
        .fetch_optional(&self.db().pool)
        .await
        .map_err(db_err)?;
        Ok(match row {
            None => Taken::Unknown,
            Some(r) => match r.try_get::<Option<i64>, _>("used_at").map_err(db_err)? {
                Some(_) => Taken::Used,
                None => Taken::Expired,
            },
        })
    }

    async fn claim_certificate(
        &self,
        user_id: i64,
        serial: &str,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<i64> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "INSERT INTO cert_claims (serial, user_id, claimed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(serial)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 1 {
            self.apply(&mut tx, effects).await?;
        }
        let holder: i64 = sqlx::query("SELECT user_id FROM cert_claims WHERE serial = $1")
            .bind(serial)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)
            .and_then(|r| get(&r, "user_id"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(holder)
    }

    async fn claims_of_user(&self, user_id: i64) -> StoreResult<Vec<Claimed>> {
        let rows = sqlx::query(
            "SELECT serial, claimed_at FROM cert_claims WHERE user_id = $1 \
             ORDER BY claimed_at, serial",
        )
        .bind(user_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Claimed {
                    serial: get(r, "serial")?,
                    claimed_at: get(r, "claimed_at")?,
                })
            })
            .collect()
    }

    async fn reminder_candidates(&self) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT o.user_id AS user_id, c.sign_serial AS serial FROM order_certs c \
             JOIN orders o ON o.id = c.order_id \
             WHERE c.status = 'issued' AND c.sign_serial IS NOT NULL \
             UNION SELECT user_id, serial FROM cert_claims ORDER BY serial",
        )
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((get(r, "user_id")?, get(r, "serial")?)))
            .collect()
    }

    async fn remind(
        &self,
        user_id: i64,
        serial: &str,
        days: i64,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "INSERT INTO cert_reminders (serial, days, user_id, sent_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (serial, days) DO NOTHING",
        )
        .bind(serial)
        .bind(days)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 1 {
            self.apply(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n == 1)
    }
}
