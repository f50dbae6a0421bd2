//! [`app::ports::AuditStore`]: the audit log's SM3 hash chain.

use crate::rows::get;
use crate::sql_store::*;
use crate::{db_err, SqlStore};
use app::model::*;
use app::ports::*;
use app::StoreError;
use async_trait::async_trait;

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        self.apply(
            &mut tx,
            Effects {
                audit: events,
                sms: Vec::new(),
            },
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn audit_page(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_from).collect()
    }

    fn audit_mac(&self, seq: i64, hash: &str) -> String {
        crate::sql_store::audit_mac(&self.vault, seq, hash)
    }

    async fn audit_all(&self) -> StoreResult<(Vec<AuditRow>, Option<AuditHead>)> {
        let rows = sqlx::query(&format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY seq"))
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        let head = sqlx::query("SELECT seq, hash, mac FROM audit_head WHERE id = 1")
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        let head = head
            .map(|h| {
                Ok::<_, StoreError>(AuditHead {
                    seq: get(&h, "seq")?,
                    hash: get(&h, "hash")?,
                    mac: get(&h, "mac")?,
                })
            })
            .transpose()?;
        Ok((
            rows.iter().map(audit_from).collect::<StoreResult<_>>()?,
            head,
        ))
    }
}
