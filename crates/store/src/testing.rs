//! Databases for tests. Each test gets its own copy of a template that the test process
//! migrated once: a SQLite file copied from the template file, or a PostgreSQL database
//! created with `CREATE DATABASE … TEMPLATE`. Every copy starts freshly migrated and empty of
//! data; creating the template runs the migrations from scratch once per process and backend.
//! PostgreSQL comes from `CERTHALL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! whose database is only used to create the others.
//!
//! Names: SQLite files `certhall-tests/t<16 hex>.db` under the temp directory; PostgreSQL
//! databases `certhall_t_<pid>_<8 hex>` (one test) and `certhall_tpl_<pid>_<8 hex>` (the
//! template of process `pid`), which `scripts/test.sh` drops on the next run once that process
//! has ended.

use crate::{Db, SqlStore, Vault};
use app::StoreError;
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A temporary PostgreSQL database.
    Postgres,
}

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    std::env::var("CERTHALL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// What the template's `schema_migrations.applied_at` says (nothing reads it).
const TEMPLATE_MIGRATED_AT: i64 = 0;

fn other(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

fn hex8() -> String {
    hex::encode(rand::random::<[u8; 4]>())
}

fn sqlite_dir() -> Result<PathBuf, StoreError> {
    let dir = std::env::temp_dir().join("certhall-tests");
    std::fs::create_dir_all(&dir).map_err(other)?;
    Ok(dir)
}

fn sqlite_file() -> Result<PathBuf, StoreError> {
    let name = format!("t{}.db", hex::encode(rand::random::<[u8; 8]>()));
    Ok(sqlite_dir()?.join(name))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// `base` (a PostgreSQL URL) naming database `name` instead, its query kept.
fn pg_url_for(base: &str, name: &str) -> Result<String, StoreError> {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let (scheme, rest) = head
        .split_once("://")
        .ok_or_else(|| other(format!("not a PostgreSQL URL: {base}")))?;
    let server = rest.split_once('/').map_or(rest, |(s, _)| s);
    Ok(match query {
        Some(q) => format!("{scheme}://{server}/{name}?{q}"),
        None => format!("{scheme}://{server}/{name}"),
    })
}

/// A connection to the server's `CERTHALL_TEST_PG_URL` database, which creates the others.
async fn pg_admin() -> Result<Db, StoreError> {
    let base = pg_url();
    Db::connect(&base).await.map_err(|e| {
        other(format!(
            "PostgreSQL at {base} is not reachable ({e}); run ./scripts/test.sh, which starts it"
        ))
    })
}

/// Creates PostgreSQL database `name` (from `template` when given) and returns its URL.
async fn pg_create(name: &str, template: Option<&str>) -> Result<String, StoreError> {
    let admin = pg_admin().await?;
    let sql = match template {
        // WAL_LOG (the default since PostgreSQL 15) copies block by block; FILE_COPY would
        // force a checkpoint per test.
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t} STRATEGY WAL_LOG"),
        None => format!("CREATE DATABASE {name}"),
    };
    let created = sqlx::raw_sql(&sql).execute(&admin.pool).await;
    admin.pool.close().await;
    created.map_err(crate::db_err)?;
    pg_url_for(&pg_url(), name)
}

fn pg_name(kind: &str) -> String {
    format!("certhall_{kind}_{}_{}", std::process::id(), hex8())
}

/// A URL for a fresh, empty database on `backend`: nothing migrated, for tests of the
/// migrations themselves (`Db::migrate` from scratch).
pub async fn fresh_url(backend: Backend) -> Result<String, StoreError> {
    match backend {
        Backend::Sqlite => Ok(sqlite_url(&sqlite_file()?)),
        Backend::Postgres => pg_create(&pg_name("t"), None).await,
    }
}

/// This process's migrated SQLite template file, made on first use: migrated from scratch,
/// then checkpointed and closed so the main file holds everything (no `-wal` left beside it).
async fn sqlite_template() -> Result<&'static Path, StoreError> {
    static TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();
    TEMPLATE
        .get_or_try_init(|| async {
            let path = sqlite_dir()?.join(format!("template-{}-{}.db", std::process::id(), hex8()));
            let db = Db::connect(&sqlite_url(&path)).await?;
            db.migrate(TEMPLATE_MIGRATED_AT).await?;
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&db.pool)
                .await
                .map_err(crate::db_err)?;
            db.pool.close().await;
            let wal = PathBuf::from(format!("{}-wal", path.display()));
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                return Err(other(format!(
                    "template {} still has a write-ahead log",
                    path.display()
                )));
            }
            Ok(path)
        })
        .await
        .map(PathBuf::as_path)
}

/// This process's migrated PostgreSQL template database, made on first use (migrated from
/// scratch); nobody stays connected to it, so it can be copied.
async fn pg_template() -> Result<&'static str, StoreError> {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_try_init(|| async {
            let name = pg_name("tpl");
            let db = Db::connect(&pg_create(&name, None).await?).await?;
            db.migrate(TEMPLATE_MIGRATED_AT).await?;
            db.pool.close().await;
            Ok(name)
        })
        .await
        .map(String::as_str)
}

/// A URL for a database of its own on `backend`, freshly migrated and empty of data: a copy of
/// the process's template (see the module documentation).
pub async fn migrated_url(backend: Backend) -> Result<String, StoreError> {
    match backend {
        Backend::Sqlite => {
            let template = sqlite_template().await?;
            let path = sqlite_file()?;
            std::fs::copy(template, &path).map_err(other)?;
            Ok(sqlite_url(&path))
        }
        Backend::Postgres => {
            let template = pg_template().await?;
            pg_create(&pg_name("t"), Some(template)).await
        }
    }
}

/// A store on a database of its own, freshly migrated and empty of data, with a random vault.
pub async fn fresh_store(backend: Backend) -> Result<SqlStore, StoreError> {
    let db = Db::connect(&migrated_url(backend).await?).await?;
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

#[cfg(test)]
mod tests {
    use super::pg_url_for;

    #[test]
    fn pg_urls_name_another_database_and_keep_the_query() {
        let u = |b: &str| pg_url_for(b, "x").ok();
        assert_eq!(
            u("postgres://postgres@127.0.0.1:5432/test").as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/x")
        );
        assert_eq!(
            u("postgresql://u:p@h/db?sslmode=disable").as_deref(),
            Some("postgresql://u:p@h/x?sslmode=disable")
        );
        assert_eq!(u("postgres://h").as_deref(), Some("postgres://h/x"));
        assert_eq!(u("nonsense"), None);
    }
}
