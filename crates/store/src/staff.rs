//! [`app::ports::StaffStore`]: staff accounts (TOTP secrets sealed).

use crate::rows::get;
use crate::sql_store::*;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::model::*;
use app::ports::*;
use app::StoreError;
use async_trait::async_trait;

#[async_trait]
impl StaffStore for SqlStore {
    async fn staff_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM staff")
            .fetch_one(&self.db.pool)
            .await
            .map_err(db_err)?;
        get(&row, "n")
    }

    async fn create_staff(&self, staff: NewStaff, effects: Effects) -> StoreResult<Staff> {
        let mut tx = self.db.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO staff (username, display_name, role, password_hash, totp_enc, totp_last_step, disabled, failed_logins, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6) RETURNING {STAFF_COLS}"
        ))
        .bind(&staff.username)
        .bind(&staff.display_name)
        .bind(staff.role.as_str())
        .bind(&staff.password_hash)
        .bind(self.vault.seal("staff.totp", &staff.totp_secret)?)
        .bind(staff.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let created = self.staff_from(&row)?;
        let mut effects = effects;
        for e in &mut effects.audit {
            e.subject = format!("staff:{}", created.id);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(&format!(
            "SELECT {STAFF_COLS} FROM staff WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.staff_from(&r)).transpose()
    }

    async fn staff_by_id(&self, id: i64) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.staff_from(&r)).transpose()
    }

    async fn list_staff(&self) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query(&format!("SELECT {STAFF_COLS} FROM staff ORDER BY id"))
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| self.staff_from(r)).collect()
    }

    async fn set_staff_disabled(
        &self,
        id: i64,
        disabled: bool,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("UPDATE staff SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            sqlx::query(
                "DELETE FROM sessions WHERE principal_kind = 'staff' AND principal_id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn staff_login_failed(
        &self,
        id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64> {
        self.login_failed("staff", id, lock_after, lock_until, effects)
            .await
    }

    async fn staff_login_ok(&self, id: i64, totp_step: i64) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE staff SET failed_logins = 0, locked_until = NULL, totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(totp_step)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() == 1)
    }
}
