//! The migrations themselves, from scratch on an empty database of each backend: every one
//! applies, a second run applies none, and the result is what the per-test copies of the
//! template hold (the same tables with the same rows, the same versions).

use crate::common::T;
use sqlx::Row;
use store::migrate::MIGRATIONS;
use store::testing::{fresh_url, migrated_url, Backend};
use store::{Db, Dialect};

/// The tables of the database with how many rows each holds.
async fn tables(db: &Db) -> Vec<(String, i64)> {
    let sql = match db.dialect {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Dialect::Postgres => "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
    };
    let names: Vec<String> = sqlx::query(sql)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
    let mut out = Vec::new();
    for name in names {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {name}"))
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .get("n");
        out.push((name, n));
    }
    out
}

async fn versions(db: &Db) -> Vec<i64> {
    sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>("version"))
        .collect()
}

async fn from_scratch_then_again_and_like_the_template(backend: Backend) {
    let scratch = Db::connect(&fresh_url(backend).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        tables(&scratch).await,
        Vec::<(String, i64)>::new(),
        "starts empty"
    );
    assert_eq!(scratch.migrate(T).await.unwrap(), MIGRATIONS.len());
    assert_eq!(
        scratch.migrate(T).await.unwrap(),
        0,
        "nothing left to apply"
    );
    let all: Vec<i64> = MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
    assert_eq!(versions(&scratch).await, all);
    // What `certhall migrate` lists, on either database.
    let names = scratch.table_names().await.unwrap();
    let listed: Vec<String> = tables(&scratch).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, listed);

    let copy = Db::connect(&migrated_url(backend).await.unwrap())
        .await
        .unwrap();
    assert_eq!(copy.migrate(T).await.unwrap(), 0, "the copy is migrated");
    assert_eq!(versions(&copy).await, all);
    let copied = tables(&copy).await;
    assert!(copied.len() > 20, "{copied:?}");
    assert_eq!(
        copied,
        tables(&scratch).await,
        "the same tables, each with as many rows as freshly migrated"
    );
    scratch.pool.close().await;
    copy.pool.close().await;
}

#[tokio::test]
async fn sqlite_from_scratch_then_again_and_like_the_template() {
    from_scratch_then_again_and_like_the_template(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_from_scratch_then_again_and_like_the_template() {
    from_scratch_then_again_and_like_the_template(Backend::Postgres).await;
}

/// Copies are the tests' own: what one writes, another never sees.
#[tokio::test]
async fn copies_are_isolated() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let a = Db::connect(&migrated_url(backend).await.unwrap())
            .await
            .unwrap();
        let b = Db::connect(&migrated_url(backend).await.unwrap())
            .await
            .unwrap();
        sqlx::query("DELETE FROM schema_migrations")
            .execute(&a.pool)
            .await
            .unwrap();
        assert!(versions(&a).await.is_empty());
        assert_eq!(versions(&b).await.len(), MIGRATIONS.len(), "{backend:?}");
        let c = Db::connect(&migrated_url(backend).await.unwrap())
            .await
            .unwrap();
        assert_eq!(versions(&c).await.len(), MIGRATIONS.len(), "{backend:?}");
    }
}
