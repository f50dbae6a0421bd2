//! `certhall doctor`: a healthy data directory passes; each broken part — the keys file gone
//! or another one, the database damaged or behind, a CA key damaged, the audit log changed,
//! a production line left 签发中, a referenced file lost, orphaned files — is named on a
//! line of its own with what to do, and a failure makes the command exit non-zero.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::clock::{Clock, DAY, MINUTE};
use app::model::Role;
use certhall::doctor::{examine, Layout, Level, Report};
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use support::applicant::submitted_order;
use support::desk::{staff, to_review};

fn certhall(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certhall"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("CERTHALL_DATABASE_URL")
        .env_remove("CERTHALL_CA_PASSPHRASE")
        .env_remove("CERTHALL_CA_PASSPHRASE_FILE")
        .env("CERTHALL_LOG", "warn")
        .output()
        .expect("run certhall")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn temp_dir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "certhall-doctor-{what}-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

async fn sqlite(data: &Path, sql: &str) {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", data.join("certhall.db").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

/// The report's lines of `level` for `check`.
fn lines(out: &str, tag: &str, check: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with(tag) && l[4..].trim_start().starts_with(check))
        .map(str::to_owned)
        .collect()
}

/// A data directory as an operator has it: database, keys, staff, a development CA, the
/// audit log verified once (so an anchor exists outside the database).
async fn healthy_dir() -> PathBuf {
    let data = temp_dir("healthy");
    let o = certhall(&data, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = certhall(&data, &["staff", "add", "alice", "--role", "admin"]);
    assert!(o.status.success(), "{}", text(&o));
    let common = certhall::Common {
        data: data.clone(),
        config: None,
    };
    let made = certhall::ca_cmd::ensure_dev_ca(
        &common,
        "http://127.0.0.1:8080",
        Arc::new(app::clock::SystemClock),
    )
    .await
    .unwrap();
    assert!(made.is_some(), "a development CA is made");
    let o = certhall(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    data
}

#[tokio::test]
async fn a_healthy_directory_passes_and_each_broken_part_fails_with_advice() {
    let data = healthy_dir().await;
    let o = certhall(&data, &["doctor"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for check in ["database", "keys", "ca", "audit", "production", "files"] {
        assert_eq!(lines(&out, "ok", check).len(), 1, "{check} is ok:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
    // The only warning a healthy directory may have is the machine's disk.
    assert!(
        out.lines()
            .filter(|l| l.starts_with("WARN"))
            .all(|l| l.contains("disk")),
        "{out}"
    );
    assert!(
        out.contains("development CA") && out.contains("anchors outside the database reached"),
        "{out}"
    );

    // Each broken state on a copy of the healthy directory.
    let broken = |what: &str| {
        let d = temp_dir(what);
        copy_dir(&data, &d);
        d
    };
    let failing = |d: &Path, check: &str, says: &str| {
        let o = certhall(d, &["doctor"]);
        let out = text(&o);
        assert!(!o.status.success(), "a failure exits non-zero:\n{out}");
        let l = lines(&out, "FAIL", check);
        assert!(
            l.iter().any(|l| l.contains(says)),
            "FAIL {check} saying {says:?}:\n{out}"
        );
        // Every FAIL line is followed by what to do.
        let all: Vec<&str> = out.lines().collect();
        for (i, l) in all.iter().enumerate() {
            if l.starts_with("FAIL") {
                assert!(all.get(i + 1).is_some_and(|n| n.contains('→')), "{out}");
            }
        }
        out
    };

    // The keys file gone: named, and serve's new keys warned of.
    let d = broken("nokeys");
    std::fs::remove_file(d.join("keys.toml")).unwrap();
    let out = failing(&d, "keys", "no keys file");
    assert!(out.contains("restore it from the backup"), "{out}");
    assert!(!d.join("keys.toml").exists(), "doctor makes no keys file");

    // Another hall's keys file: the data does not open with it.
    let d = broken("otherkeys");
    let other = temp_dir("other");
    assert!(certhall(&other, &["migrate"]).status.success());
    std::fs::remove_file(d.join("keys.toml")).unwrap();
    std::fs::copy(other.join("keys.toml"), d.join("keys.toml")).unwrap();
    failing(&d, "keys", "not the keys file this data was written with");

    // The audit log changed by hand.
    let d = broken("audit");
    sqlite(
        &d,
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2",
    )
    .await;
    failing(&d, "audit", "changed at row 2");

    // A damaged CA key.
    let d = broken("cakey");
    let key = d.join("ca").join("issuing.key");
    std::fs::write(
        &key,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    failing(&d, "ca", "keys");

    // A damaged database file: pages overwritten in the middle.
    let d = broken("db");
    let db = d.join("certhall.db");
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 8 * 4096, "the database has pages to damage");
    for b in &mut bytes[4096 * 3..4096 * 6] {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    failing(&d, "database", "");

    // No database at all: named, and none is made.
    let d = broken("nodb");
    std::fs::remove_file(d.join("certhall.db")).unwrap();
    failing(&d, "database", "no database at");
    assert!(!d.join("certhall.db").exists(), "doctor makes no database");

    // Not a data directory.
    failing(&data.join("no-such-dir"), "data", "no data directory");

    // A migration of this build not applied: a warning saying to migrate, not a failure.
    let d = broken("behind");
    sqlite(
        &d,
        "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)",
    )
    .await;
    let o = certhall(&d, &["doctor"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let w = lines(&out, "WARN", "database");
    assert!(
        w.len() == 1 && w[0].contains("not applied") && out.contains("certhall migrate"),
        "{out}"
    );
}

/// The layout of a test hall: its database, keys file and blob directory; no CA directory.
fn layout_of(hall: &TestHall) -> Layout {
    let data = temp_dir("hall");
    Layout {
        ca: data.join("ca"),
        data,
        database_url: hall.db_url.clone(),
        keys_file: hall.keys_file.clone(),
        blobs: hall.blob_dir.clone(),
    }
}

async fn report(hall: &TestHall, layout: &Layout) -> Report {
    examine(layout, hall.clock.clone() as Arc<dyn Clock>).await
}

fn one(r: &Report, level: Level, check: &str) -> String {
    let l: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.level == level && f.check == check)
        .collect();
    assert_eq!(l.len(), 1, "one {level:?} {check}:\n{}", r.text());
    format!("{} → {}", l[0].what, l[0].advice)
}

/// Kills the process right after the CA's serials were noted on a line.
struct KillAfterSerials;

impl app::faults::FaultPoints for KillAfterSerials {
    fn reached(&self, step: &'static str, at: &str) {
        if step == "serials_noted" {
            panic!("killed at {step} @ {at}");
        }
    }
}

impl ca::FaultPoints for KillAfterSerials {
    fn reached(&self, _step: &'static str, _reference: &str) {}
}

async fn production_and_files(backend: Backend) {
    let hall = TestHall::start(backend).await;
    let (_, no) = submitted_order(&hall, "13800138051").await;
    let layout = layout_of(&hall);
    let r = report(&hall, &layout).await;
    assert_eq!(r.at(Level::Fail).count(), 0, "{}", r.text());
    let files = one(&r, Level::Ok, "files");
    let referenced = hall.store.referenced_blobs().await.unwrap();
    assert!(referenced.len() >= 5, "the order's uploads are referenced");
    assert!(
        files.contains(&format!(
            "every one of the {} referred to present",
            referenced.len()
        )),
        "{files}"
    );
    assert!(one(&r, Level::Warn, "ca").contains("no CA"), "{}", r.text());

    // An upload whose record was never saved: not yet a day old, then older.
    hall.blobs.put(b"orphan".to_vec()).await.unwrap();
    let r = report(&hall, &layout).await;
    assert_eq!(
        r.at(Level::Warn).filter(|f| f.check == "files").count(),
        0,
        "{}",
        r.text()
    );
    hall.clock.advance(DAY + MINUTE);
    let r = report(&hall, &layout).await;
    assert!(
        one(&r, Level::Warn, "files").contains("1 stored file(s) no record refers to"),
        "{}",
        r.text()
    );

    // 制证 stopped right after the serials were noted: the line is 签发中 under a lease
    // (a running hall's), then, the lease run out, a stopped process's.
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    to_review(&hall, &no, true, false).await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    let app = hall.restarted(Arc::new(KillAfterSerials)).await;
    let task = {
        let no = no.clone();
        tokio::spawn(async move { app.production().issue_all_sandbox(&prod, &no).await })
    };
    assert!(task.await.unwrap_err().is_panic(), "killed");
    let r = report(&hall, &layout).await;
    assert!(
        one(&r, Level::Ok, "production").contains("being issued now"),
        "{}",
        r.text()
    );
    hall.clock.advance(app::production::LEASE_MS + 1_000);
    let r = report(&hall, &layout).await;
    let w = one(&r, Level::Warn, "production");
    assert!(
        w.contains(&format!("{no} line 0")) && w.contains("certhall serve"),
        "{w}"
    );

    // A referenced file lost from the blob directory.
    let id = referenced.iter().min().unwrap().clone();
    hall.blobs.delete(&id).await.unwrap();
    let r = report(&hall, &layout).await;
    let f = one(&r, Level::Fail, "files");
    assert!(
        f.contains(&id) && f.contains("restore the blobs directory"),
        "{f}"
    );
}

#[tokio::test]
async fn production_and_files_sqlite() {
    production_and_files(Backend::Sqlite).await;
}

#[tokio::test]
async fn production_and_files_postgres() {
    production_and_files(Backend::Postgres).await;
}
