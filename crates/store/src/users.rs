//! [`app::ports::UserStore`]: applicant accounts (phones sealed, looked up by keyed hash).

use crate::sql_store::*;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::model::*;
use app::ports::*;
use app::StoreError;
use async_trait::async_trait;
use domain::Phone;

#[async_trait]
impl UserStore for SqlStore {
    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE phone_hash = $1"
        ))
        .bind(self.phone_hash(phone))
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.user_from(&r)).transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.user_from(&r)).transpose()
    }

    async fn create_user(
        &self,
        phone: &Phone,
        password_hash: Option<&str>,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<User> {
        let mut tx = self.db.begin().await?;
        let ph = self.phone_hash(phone);
        let existing = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE phone_hash = $1"
        ))
        .bind(&ph)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(r) = existing {
            return self.user_from(&r);
        }
        let row = sqlx::query(&format!(
            "INSERT INTO users (phone_hash, phone_enc, password_hash, failed_logins, created_at) VALUES ($1, $2, $3, 0, $4) RETURNING {USER_COLS}"
        ))
        .bind(&ph)
        .bind(self.vault.seal_str("users.phone", phone.as_str())?)
        .bind(password_hash.map(str::to_owned))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let user = self.user_from(&row)?;
        let mut effects = effects;
        for e in &mut effects.audit {
            if e.subject == "new" {
                e.subject = format!("user:{}", user.id);
            }
        }
        self.apply(&mut tx, effects).await?;
        match tx.commit().await {
            Ok(()) => Ok(user),
            // Two first logins of one number at once (PostgreSQL): the other one won.
            Err(e) => match db_err(e) {
                StoreError::Duplicate(_) => {
                    self.user_by_phone(phone).await?.ok_or(StoreError::NotFound)
                }
                other => Err(other),
            },
        }
    }

    async fn set_user_password(
        &self,
        user_id: i64,
        hash: &str,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn user_login_failed(
        &self,
        user_id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64> {
        self.login_failed("users", user_id, lock_after, lock_until, effects)
            .await
    }

    async fn user_login_ok(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn change_user_phone(
        &self,
        user_id: i64,
        phone: &Phone,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE users SET phone_hash = $1, phone_enc = $2 WHERE id = $3")
            .bind(self.phone_hash(phone))
            .bind(self.vault.seal_str("users.phone", phone.as_str())?)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }
}
