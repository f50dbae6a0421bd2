//! The storage port on SQLite (default, embedded) and PostgreSQL (several nodes), through
//! sqlx's `Any` driver so both run the same queries. Personal data is sealed by the
//! [`Vault`] before it reaches a table.
#![forbid(unsafe_code)]

mod audit;
mod blob_refs;
pub mod blobs;
pub mod ca;
mod calendar;
mod codes;
mod delivery;
mod deposits;
mod health;
mod identity;
mod jobs;
pub mod migrate;
mod orders;
mod outbox;
mod payments;
mod production;
mod review;
mod rows;
mod sessions;
mod sql_store;
mod staff;
mod statements;
pub mod testing;
mod users;
pub mod vault;

use app::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub use blobs::FileBlobs;
pub use sql_store::SqlStore;
pub use vault::Vault;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, one file, one node.
    Sqlite,
    /// PostgreSQL, any number of nodes.
    Postgres,
}

/// A connection pool and its dialect.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool.
    pub pool: AnyPool,
    /// The dialect.
    pub dialect: Dialect,
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Duplicate(d.message().to_owned());
        }
    }
    StoreError::Other(e.to_string())
}

impl Db {
    /// Connects to `sqlite://PATH` or `postgres://…`. SQLite runs in WAL mode with
    /// `synchronous=FULL`, so an acknowledged write survives a crash or power loss.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::Other(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url).map_err(db_err)?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        pool = match dialect {
            Dialect::Sqlite => pool.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            }),
            Dialect::Postgres => pool.max_connections(16),
        };
        let pool = pool.connect_with(options).await.map_err(db_err)?;
        Ok(Self { pool, dialect })
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails half-way on a
    /// concurrent writer; PostgreSQL relies on row locks.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.dialect {
            Dialect::Sqlite => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_err),
            Dialect::Postgres => self.pool.begin().await.map_err(db_err),
        }
    }

    /// `FOR UPDATE SKIP LOCKED` where the database has it (job claims by several nodes).
    pub fn skip_locked(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self, now: i64) -> Result<usize, StoreError> {
        migrate::run(self, now).await
    }

    /// Names of the tables the migrations created (for checks and `/readyz`).
    pub async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Dialect::Postgres => "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        use sqlx::Row;
        rows.iter()
            .map(|r| r.try_get::<String, _>("name").map_err(db_err))
            .collect()
    }
}
