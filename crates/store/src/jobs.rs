//! [`app::ports::JobStore`]: the job queue (claims with `FOR UPDATE SKIP LOCKED` on PostgreSQL).

use crate::sql_store::*;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::model::*;
use app::ports::*;
use app::StoreError;
use async_trait::async_trait;

#[async_trait]
impl JobStore for SqlStore {
    async fn claim_job(&self, now: Millis, lease: Millis) -> StoreResult<Option<Job>> {
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1 \
             WHERE id = (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $2) OR (status = 'running' AND locked_until <= $2) \
                         ORDER BY run_at, id LIMIT 1{}) \
             RETURNING {JOB_COLS}",
            self.db.skip_locked()
        );
        let row = sqlx::query(&sql)
            .bind(now + lease)
            .bind(now)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| job_from(&r)).transpose()
    }

    async fn job_done(&self, id: i64, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $1, locked_until = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.db.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn job_failed(&self, id: i64, error: &str, retry_at: Option<Millis>) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        let q = match retry_at {
            Some(at) => sqlx::query("UPDATE jobs SET status = 'pending', run_at = $1, last_error = $2, locked_until = NULL WHERE id = $3").bind(at),
            None => sqlx::query("UPDATE jobs SET status = 'failed', last_error = $1, locked_until = NULL WHERE id = $2"),
        };
        q.bind(error)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>> {
        let (filter, value) = match status {
            Some(s) => ("status = $1", s.as_str()),
            None => ("$1 = ''", ""),
        };
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE {filter} ORDER BY id DESC LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(value)
            .bind(limit)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(job_from).collect()
    }

    async fn retry_job(&self, id: i64, now: Millis, effects: Effects) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("UPDATE jobs SET status = 'pending', run_at = $1, attempts = 0 WHERE id = $2 AND status = 'failed'")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn enqueue_job(
        &self,
        kind: &str,
        payload: serde_json::Value,
        run_at: Millis,
    ) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        let id = enqueue(&mut tx, kind, payload, run_at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }
}
