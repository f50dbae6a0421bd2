//! [`app::ports::Health`] and [`app::ports::LimitStore`]: the readiness probe and the rate-limit counters (keyed hashes, fixed windows).

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::ports::*;
use app::StoreError;
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

/// What `certhall doctor` found when it tried the keys file on rows of the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyCheck {
    /// Sealed values tried.
    pub tried: usize,
    /// The ones the keys could not open (or whose lookup hash did not match), named by
    /// table and row: never their contents.
    pub failed: Vec<String>,
}

impl crate::Db {
    /// The database's own consistency check: SQLite's `PRAGMA integrity_check` (its
    /// complaints, empty when it answers `ok`); on PostgreSQL, which checks pages itself, a
    /// round trip.
    pub async fn integrity(&self) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        match self.dialect {
            crate::Dialect::Sqlite => {
                let rows = sqlx::query("PRAGMA integrity_check")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let said: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(0).map_err(db_err))
                    .collect::<Result<_, _>>()?;
                Ok(said.into_iter().filter(|s| s != "ok").collect())
            }
            crate::Dialect::Postgres => {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(Vec::new())
            }
        }
    }

    /// The migrations this build has that the database has not applied (version, name).
    pub async fn pending_migrations(&self) -> Result<Vec<(i64, &'static str)>, StoreError> {
        use sqlx::Row;
        let applied: std::collections::HashSet<i64> =
            match sqlx::query("SELECT version FROM schema_migrations")
                .fetch_all(&self.pool)
                .await
            {
                Ok(rows) => rows
                    .iter()
                    .map(|r| r.try_get::<i64, _>("version").map_err(db_err))
                    .collect::<Result<_, _>>()?,
                // No table yet: nothing was ever applied.
                Err(_)
                    if !self
                        .table_names()
                        .await?
                        .iter()
                        .any(|t| t == "schema_migrations") =>
                {
                    Default::default()
                }
                Err(e) => return Err(db_err(e)),
            };
        Ok(crate::migrate::MIGRATIONS
            .iter()
            .filter(|(v, _, _)| !applied.contains(v))
            .map(|(v, n, _)| (*v, *n))
            .collect())
    }
}

impl SqlStore {
    /// Opens up to `per_table` sealed values of the applicants' and staff tables with this
    /// store's keys, and checks each applicant's lookup hash against its opened phone: a
    /// keys file that is not the one the data was written with fails here, before any page
    /// does.
    pub async fn key_check(&self, per_table: i64) -> Result<KeyCheck, StoreError> {
        let mut out = KeyCheck::default();
        let users = sqlx::query("SELECT id, phone_hash, phone_enc FROM users ORDER BY id LIMIT $1")
            .bind(per_table)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        for r in &users {
            out.tried += 1;
            let id: i64 = get(r, "id")?;
            let hash: String = get(r, "phone_hash")?;
            match self
                .vault
                .open_str("users.phone", &get::<Vec<u8>>(r, "phone_enc")?)
            {
                Ok(phone) if self.vault.lookup_hash("phone", &phone) == hash => {}
                Ok(_) => out
                    .failed
                    .push(format!("users row {id}: lookup hash differs")),
                Err(_) => out
                    .failed
                    .push(format!("users row {id}: phone cannot be opened")),
            }
        }
        let staff = sqlx::query("SELECT id, totp_enc FROM staff ORDER BY id LIMIT $1")
            .bind(per_table)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        for r in &staff {
            out.tried += 1;
            let id: i64 = get(r, "id")?;
            if self
                .vault
                .open("staff.totp", &get::<Vec<u8>>(r, "totp_enc")?)
                .is_err()
            {
                out.failed
                    .push(format!("staff row {id}: TOTP secret cannot be opened"));
            }
        }
        Ok(out)
    }
}
