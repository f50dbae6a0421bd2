//! The storage port on SQLite (default, embedded) and PostgreSQL (several nodes), through
//! sqlx's `Any` driver so both run the same queries. Personal data is sealed by the
//! [`Vault`] before it reaches a table.
#![forbid(unsafe_code)]

mod audit;
mod blob_refs;
pub mod blobs;
pub mod ca;
mod calendar;
mod certificates;
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
mod seals;
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
pub use health::KeyCheck;
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
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            return StoreError::Duplicate(d.message().to_owned())
        }
        // SQLITE_FULL (13) and PostgreSQL's disk_full (53100).
        sqlx::Error::Database(d)
            if matches!(d.code().as_deref(), Some("13") | Some("53100"))
                || d.message().contains("database or disk is full") =>
        {
            return StoreError::Full(d.message().to_owned())
        }
        // The server is going away or refuses connections: 57P01 admin_shutdown and the
        // 08xxx connection exceptions.
        sqlx::Error::Database(d)
            if d.code()
                .is_some_and(|c| c.starts_with("08") || c == "57P01") =>
        {
            return StoreError::Unavailable(d.message().to_owned())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => return StoreError::Unavailable(e.to_string()),
        _ => {}
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
        // A connection still inside a transaction when it goes back to the pool (a COMMIT
        // that failed, e.g. on a full disk) is closed instead of handed out again, where
        // every BEGIN on it would fail ("non-zero transaction depth") until a restart.
        let mut pool = AnyPoolOptions::new()
            .after_release(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .before_acquire(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            });
        pool = match dialect {
            // SQLite waits for its single writer; a busy machine may take seconds.
            Dialect::Sqlite => pool
                .acquire_timeout(Duration::from_secs(10))
                .max_connections(8)
                .after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            }),
            // A server that is down answers in a few seconds, not after ten.
            Dialect::Postgres => pool
                .acquire_timeout(Duration::from_secs(3))
                .max_connections(16),
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
            Dialect::Postgres => "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
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

#[cfg(test)]
mod full_disk {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use app::model::AuditEvent;
    use app::ports::{AuditStore, Health};

    fn event(n: usize) -> AuditEvent {
        AuditEvent {
            at: 1,
            actor: "cli".into(),
            action: "test.write".into(),
            subject: format!("n:{n}"),
            ip: None,
            detail: serde_json::json!({ "pad": "x".repeat(2000) }),
        }
    }

    /// A SQLite database on a 4 MB tmpfs filled to the last byte: writes are refused as a
    /// full disk (not a generic error), and once space is freed every write works again on
    /// the same pool, without a restart.
    #[tokio::test]
    async fn writes_work_again_once_a_full_disk_is_freed() {
        let dir = std::env::temp_dir().join(format!("certhall-full-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            // Only root can mount a small file system to fill; scripts/test.sh runs as root.
            eprintln!("skipped: cannot mount a tmpfs here (not root)");
            return;
        }
        struct Unmount(std::path::PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let _guard = Unmount(dir.clone());
        let db = Db::connect(&format!("sqlite://{}/t.db?mode=rwc", dir.display()))
            .await
            .unwrap();
        db.migrate(1).await.unwrap();
        let s = SqlStore::new(db, Vault::random());
        s.append_audit(vec![event(0)]).await.unwrap();
        // Fill the disk.
        let filler = dir.join("filler");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&filler).unwrap();
            let block = vec![0u8; 64 * 1024];
            while f.write_all(&block).is_ok() {}
            let _ = f.sync_all();
        }
        let mut full = 0;
        for n in 1..40 {
            match s.append_audit(vec![event(n)]).await {
                Err(StoreError::Full(_)) => full += 1,
                Err(e) => panic!("write {n} on a full disk: {e} (not reported as full)"),
                Ok(()) => {}
            }
        }
        assert!(full > 0, "the disk never filled");
        assert!(matches!(s.ping().await, Err(StoreError::Full(_))));
        std::fs::remove_file(&filler).unwrap();
        for n in 40..120 {
            s.append_audit(vec![event(n)])
                .await
                .unwrap_or_else(|e| panic!("write {n} after the disk was freed: {e}"));
        }
        s.ping().await.unwrap();
    }
}

#[cfg(test)]
mod database_down {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use app::ports::Health;
    use tokio::net::TcpListener;

    /// PostgreSQL reached through a local relay that the test then shuts (the server going
    /// away while the hall serves): the store answers `Unavailable`, which the edge turns into
    /// 503 "系统维护中" with `Retry-After`, instead of a generic error.
    #[tokio::test]
    async fn a_database_that_goes_away_is_reported_as_unavailable() {
        let target = testing::pg_url();
        let (host, port) = {
            let rest = target.split('@').nth(1).unwrap_or("127.0.0.1:5432/test");
            let hostport = rest.split('/').next().unwrap_or("127.0.0.1:5432");
            let (h, p) = hostport.split_once(':').unwrap_or((hostport, "5432"));
            (h.to_owned(), p.parse::<u16>().unwrap_or(5432))
        };
        let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay_port = relay.local_addr().unwrap().port();
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(async move {
            let mut conns = Vec::new();
            loop {
                tokio::select! {
                    _ = stop_rx.changed() => break,
                    Ok((mut inbound, _)) = relay.accept() => {
                        let (h, p) = (host.clone(), port);
                        conns.push(tokio::spawn(async move {
                            if let Ok(mut out) = tokio::net::TcpStream::connect((h.as_str(), p)).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            }
                        }));
                    }
                }
            }
            for c in conns {
                c.abort();
            }
        });
        let url = target.replacen(&format!(":{port}"), &format!(":{relay_port}"), 1);
        let db = Db::connect(&url).await.unwrap();
        let s = SqlStore::new(db, Vault::random());
        sqlx::query("SELECT 1").execute(&s.db().pool).await.unwrap();
        // The server goes away: the relay stops listening and drops every connection.
        stop_tx.send(true).unwrap();
        server.await.unwrap();
        match s.ping().await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("expected Unavailable, got {other:?}"),
        }
        let e = app::AppError::from(StoreError::Unavailable("x".into()));
        assert_eq!(e.to_string(), "系统维护中,请稍后重试");
    }
}
