//! [`app::identity::IdentityStore`] on the shared schema (migration 0005). The link secret
//! and the result are sealed by the [`crate::Vault`] with the attempt's token hash as part of
//! the associated data, so a sealed value cannot be moved to another attempt; lookups use
//! the SHA-256 of the secret. A claim is one conditional `UPDATE`, so two phones opening
//! the same link at once cannot both win.

use crate::rows::{bad, get};
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::identity::{Attempt, AttemptResult, AttemptStatus, IdentityStore};
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use sqlx::any::AnyRow;

const COLS: &str = "id, order_id, token_hash, token_enc, phone_hash, status, version, \
                    created_at, expires_at, scanned_at, finished_at, front_blob, front_sha256, \
                    back_blob, back_sha256, biz_token, result_enc, photos_purged_at";

impl SqlStore {
    fn attempt_from(&self, row: &AnyRow) -> StoreResult<Attempt> {
        let hash: String = get(row, "token_hash")?;
        let token_enc: Vec<u8> = get(row, "token_enc")?;
        let status: String = get(row, "status")?;
        let result_enc: Option<Vec<u8>> = get(row, "result_enc")?;
        let result = match result_enc {
            None => None,
            Some(sealed) => {
                let json = self
                    .vault()
                    .open(&format!("identity_attempts.result:{hash}"), &sealed)?;
                Some(
                    serde_json::from_slice::<AttemptResult>(&json)
                        .map_err(|e| bad("identity", e))?,
                )
            }
        };
        Ok(Attempt {
            id: get(row, "id")?,
            order_id: get(row, "order_id")?,
            status: AttemptStatus::parse(&status)
                .ok_or_else(|| bad("identity", "unknown status"))?,
            version: get(row, "version")?,
            token: self
                .vault()
                .open_str(&format!("identity_attempts.token:{hash}"), &token_enc)?,
            phone_hash: get(row, "phone_hash")?,
            created_at: get(row, "created_at")?,
            expires_at: get(row, "expires_at")?,
            scanned_at: get(row, "scanned_at")?,
            finished_at: get(row, "finished_at")?,
            front_blob: get(row, "front_blob")?,
            front_sha256: get(row, "front_sha256")?,
            back_blob: get(row, "back_blob")?,
            back_sha256: get(row, "back_sha256")?,
            biz_token: get(row, "biz_token")?,
            result,
            photos_purged_at: get(row, "photos_purged_at")?,
        })
    }

    async fn one_attempt(&self, sql: &str, bind: (&str, i64)) -> StoreResult<Option<Attempt>> {
        let q = sqlx::query(sql);
        let q = if bind.0.is_empty() {
            q.bind(bind.1)
        } else {
            q.bind(bind.0.to_owned())
        };
        let row = q.fetch_optional(&self.db().pool).await.map_err(db_err)?;
        row.map(|r| self.attempt_from(&r)).transpose()
    }
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn new_attempt(
        &self,
        order_id: i64,
        token_hash: &str,
        token: &str,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<Attempt> {
        let mut tx = self.db().begin().await?;
        sqlx::query(
            "UPDATE identity_attempts SET status = 'superseded', version = version + 1 \
             WHERE order_id = $1 AND status IN ('issued', 'scanned', 'uploaded')",
        )
        .bind(order_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let sealed = self
            .vault()
            .seal_str(&format!("identity_attempts.token:{token_hash}"), token)?;
        let row = sqlx::query(&format!(
            "INSERT INTO identity_attempts (order_id, token_hash, token_enc, status, version, created_at, expires_at) \
             VALUES ($1, $2, $3, 'issued', 1, $4, $5) RETURNING {COLS}"
        ))
        .bind(order_id)
        .bind(token_hash)
        .bind(sealed)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let a = self.attempt_from(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(a)
    }

    async fn attempt_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Attempt>> {
        self.one_attempt(
            &format!("SELECT {COLS} FROM identity_attempts WHERE token_hash = $1"),
            (token_hash, 0),
        )
        .await
    }

    async fn latest_attempt(&self, order_id: i64) -> StoreResult<Option<Attempt>> {
        self.one_attempt(
            &format!(
                "SELECT {COLS} FROM identity_attempts WHERE order_id = $1 ORDER BY id DESC LIMIT 1"
            ),
            ("", order_id),
        )
        .await
    }

    async fn claim_attempt(&self, id: i64, phone_hash: &str, now: Millis) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE identity_attempts SET status = 'scanned', phone_hash = $1, scanned_at = $2, \
             version = version + 1 WHERE id = $3 AND status = 'issued' AND expires_at > $2",
        )
        .bind(phone_hash)
        .bind(now)
        .bind(id)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn update_attempt(&self, a: &Attempt) -> StoreResult<bool> {
        let hash: String = get(
            &sqlx::query("SELECT token_hash FROM identity_attempts WHERE id = $1")
                .bind(a.id)
                .fetch_optional(&self.db().pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?,
            "token_hash",
        )?;
        let result = match &a.result {
            None => None,
            Some(r) => Some(self.vault().seal(
                &format!("identity_attempts.result:{hash}"),
                &serde_json::to_vec(r).map_err(|e| bad("identity", e))?,
            )?),
        };
        let n = sqlx::query(
            "UPDATE identity_attempts SET status = $1, front_blob = $2, front_sha256 = $3, \
             back_blob = $4, back_sha256 = $5, biz_token = $6, result_enc = $7, finished_at = $8, \
             photos_purged_at = $9, version = version + 1 WHERE id = $10 AND version = $11",
        )
        .bind(a.status.as_str())
        .bind(a.front_blob.clone())
        .bind(a.front_sha256.clone())
        .bind(a.back_blob.clone())
        .bind(a.back_sha256.clone())
        .bind(a.biz_token.clone())
        .bind(result)
        .bind(a.finished_at)
        .bind(a.photos_purged_at)
        .bind(a.id)
        .bind(a.version)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn photos_to_purge(&self, before: Millis, limit: i64) -> StoreResult<Vec<Attempt>> {
        let cols = COLS
            .split(", ")
            .map(|c| format!("a.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {cols} FROM identity_attempts a JOIN orders o ON o.id = a.order_id \
             WHERE o.state = 'completed' AND o.updated_at < $1 \
             AND (a.front_blob IS NOT NULL OR a.back_blob IS NOT NULL) ORDER BY a.id LIMIT $2"
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.attempt_from(r)).collect()
    }
}
