//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL schema, each migrated.
//! PostgreSQL comes from `CERTHALL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).

use crate::{Db, SqlStore, Vault};
use app::StoreError;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A temporary PostgreSQL schema.
    Postgres,
}

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    std::env::var("CERTHALL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database URL for a fresh, empty database on `backend`.
pub async fn fresh_url(backend: Backend) -> Result<String, StoreError> {
    let name = format!("t{}", hex::encode(rand::random::<[u8; 8]>()));
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("certhall-tests");
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::Other(e.to_string()))?;
            Ok(format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{name}.db")).display()
            ))
        }
        Backend::Postgres => {
            let base = pg_url();
            let admin = Db::connect(&base).await.map_err(|e| StoreError::Other(format!("PostgreSQL at {base} is not reachable ({e}); run ./scripts/test.sh, which starts it")))?;
            sqlx::query(&format!("CREATE SCHEMA {name}"))
                .execute(&admin.pool)
                .await
                .map_err(crate::db_err)?;
            admin.pool.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            Ok(format!("{base}{sep}options=-c%20search_path%3D{name}"))
        }
    }
}

/// A migrated store on a fresh database.
pub async fn fresh_store(backend: Backend, now: i64) -> Result<SqlStore, StoreError> {
    let db = Db::connect(&fresh_url(backend).await?).await?;
    db.migrate(now).await?;
    Ok(SqlStore::new(db, Vault::random()))
}

/// Sets an order's state by SQL, with a history entry (tests that start an order further on
/// than the use cases under test; the door is bypassed on purpose, so the caller checks the
/// move). `review_since` is set when given.
pub async fn force_state(
    store: &crate::SqlStore,
    order_id: i64,
    to: domain::order::OrderState,
    now: i64,
    review_since: Option<i64>,
    what: &str,
) -> Result<(), StoreError> {
    let pool = &store.db().pool;
    sqlx::query(
        "UPDATE orders SET state = $1, version = version + 1, updated_at = $2, \
         review_since = COALESCE($3, review_since) WHERE id = $4",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(review_since)
    .bind(order_id)
    .execute(pool)
    .await
    .map_err(crate::db_err)?;
    sqlx::query(
        "INSERT INTO order_events (order_id, at, actor, what) VALUES ($1, $2, 'system', $3)",
    )
    .bind(order_id)
    .bind(now)
    .bind(what)
    .execute(pool)
    .await
    .map_err(crate::db_err)?;
    Ok(())
}
