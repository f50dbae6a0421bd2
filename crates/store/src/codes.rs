//! [`app::ports::CodeStore`]: SMS codes, only their keyed hashes.

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::model::*;
use app::ports::*;
use async_trait::async_trait;
use domain::Phone;

#[async_trait]
impl CodeStore for SqlStore {
    async fn last_code_at(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
    ) -> StoreResult<Option<Millis>> {
        let row = sqlx::query(
            "SELECT MAX(created_at) AS t FROM sms_codes WHERE phone_hash = $1 AND purpose = $2",
        )
        .bind(self.phone_hash(phone))
        .bind(purpose.as_str())
        .fetch_one(&self.db.pool)
        .await
        .map_err(db_err)?;
        get(&row, "t")
    }

    async fn insert_code(&self, code: NewCode, effects: Effects) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let ph = self.phone_hash(&code.phone);
        // An earlier unused code stops working when a new one is sent.
        sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE phone_hash = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(code.created_at)
            .bind(&ph)
            .bind(code.purpose.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO sms_codes (phone_hash, purpose, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, $3, 0, $4, $5)")
            .bind(&ph)
            .bind(code.purpose.as_str())
            .bind(&code.code_hash)
            .bind(code.created_at)
            .bind(code.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn active_code(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
    ) -> StoreResult<Option<StoredCode>> {
        let row = sqlx::query(
            "SELECT id, code_hash, attempts, created_at, expires_at, used_at FROM sms_codes \
             WHERE phone_hash = $1 AND purpose = $2 AND used_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(self.phone_hash(phone))
        .bind(purpose.as_str())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok(StoredCode {
                id: get(&r, "id")?,
                code_hash: get(&r, "code_hash")?,
                attempts: get(&r, "attempts")?,
                created_at: get(&r, "created_at")?,
                expires_at: get(&r, "expires_at")?,
                used_at: get(&r, "used_at")?,
            })
        })
        .transpose()
    }

    async fn take_attempt(
        &self,
        code_id: i64,
        now: Millis,
        max_attempts: i64,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1 AND used_at IS NULL \
             AND attempts < $2 AND expires_at > $3 RETURNING attempts",
        )
        .bind(code_id)
        .bind(max_attempts)
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| get(&r, "attempts")).transpose()
    }

    async fn use_code(&self, code_id: i64, now: Millis) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(code_id)
        .execute(&self.db.pool)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() == 1)
    }
}
