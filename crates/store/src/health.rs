//! [`app::ports::Health`] and [`app::ports::LimitStore`]: the readiness probe and the rate-limit counters (keyed hashes, fixed windows).

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::ports::*;
use async_trait::async_trait;

#[async_trait]
impl Health for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        // A write too: a full disk answers reads but refuses every change.
        sqlx::query(
            "INSERT INTO rate_counters (counter_key, window_start, hits) VALUES ('readyz', 0, 1) \
             ON CONFLICT (counter_key) DO UPDATE SET hits = 1",
        )
        .execute(&self.db.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl LimitStore for SqlStore {
    async fn hit_counter(&self, key: &str, window_start: Millis) -> StoreResult<i64> {
        // Keys may contain phones or addresses: only their keyed hash is stored.
        let row = sqlx::query(
            "INSERT INTO rate_counters (counter_key, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (counter_key) DO UPDATE SET \
               hits = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.hits + 1 ELSE 1 END, \
               window_start = excluded.window_start \
             RETURNING hits",
        )
        .bind(self.vault.lookup_hash("counter", key))
        .bind(window_start)
        .fetch_one(&self.db.pool)
        .await
        .map_err(db_err)?;
        get(&row, "hits")
    }

    async fn counter(&self, key: &str, window_start: Millis) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT hits FROM rate_counters WHERE counter_key = $1 AND window_start = $2",
        )
        .bind(self.vault.lookup_hash("counter", key))
        .bind(window_start)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| get(&r, "hits"))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}
