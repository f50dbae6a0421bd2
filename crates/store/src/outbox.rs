//! [`app::ports::OutboxStore`]: the SMS outbox (phones and parameters sealed).

use crate::sql_store::*;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::model::*;
use app::ports::*;
use async_trait::async_trait;
use domain::Phone;

#[async_trait]
impl OutboxStore for SqlStore {
    async fn outbox_page(&self, limit: i64) -> StoreResult<Vec<OutboxSms>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM sms_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.outbox_from(r)).collect()
    }

    async fn outbox_for_phone(&self, phone: &Phone, limit: i64) -> StoreResult<Vec<OutboxSms>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM sms_outbox WHERE phone_hash = $1 AND status = 'sent' AND provider = 'sandbox' ORDER BY id DESC LIMIT $2"
        ))
        .bind(self.phone_hash(phone))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.outbox_from(r)).collect()
    }

    async fn outbox_sms(&self, id: i64) -> StoreResult<Option<OutboxSms>> {
        let row = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM sms_outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.outbox_from(&r)).transpose()
    }

    async fn sms_sent(
        &self,
        id: i64,
        provider: &str,
        provider_ref: &str,
        now: Millis,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sms_outbox SET status = 'sent', provider = $1, provider_ref = $2, sent_at = $3, error = NULL WHERE id = $4")
            .bind(provider)
            .bind(provider_ref)
            .bind(now)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sms_error(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        final_failure: bool,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sms_outbox SET provider = $1, error = $2, status = CASE WHEN $3 = 1 THEN 'failed' ELSE status END WHERE id = $4 AND status <> 'sent'")
            .bind(provider)
            .bind(error.chars().take(500).collect::<String>())
            .bind(i64::from(final_failure))
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn redact_sms_params(&self, outbox_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sms_outbox SET params_enc = $2 WHERE id = $1")
            .bind(outbox_id)
            .bind(self.vault().seal_str("sms_outbox.params", "[]")?)
            .execute(&self.db().pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
