//! Issue 13, item 2: the process dies at every step boundary of 制证, and a restarted hall
//! finishes what was begun. A kill point (`app::faults::FaultPoints`, and the CA's own
//! between signing and storing) stops the task with a panic — nothing after it runs, no
//! clean-up — and the test throws that `App` away and builds a new one over the same
//! database (new pool, keys read again, the CA reopened): nothing in memory survives. Every
//! boundary of every line of every order is killed once; the retry is what a restart or a
//! production clerk does (the start-up recovery, or 制证 pressed again after the lease).
//! What must hold at the end: every order is 待邮寄, every certificate the CA signed (the rows
//! of its store) is on exactly one line, nothing recorded is left unfinished, every
//! encryption key is escrowed, and `openssl verify` accepts every certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::model::Role;
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use domain::order::OrderState;
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use support::applicant::submitted_order;
use support::desk::{staff, to_review};
use support::pages::verify_issued;

/// Kills the process at the first kill point it has not killed at before (by step and
/// line), once each; remembers them across restarts (the test's memory, not the hall's).
#[derive(Default)]
struct Killer {
    done: Mutex<HashSet<String>>,
}

impl Killer {
    fn reach(&self, step: &'static str, at: &str) {
        let key = format!("{step} @ {at}");
        let fresh = self.done.lock().unwrap().insert(key.clone());
        if fresh {
            panic!("killed at {key}");
        }
    }
}

impl app::faults::FaultPoints for Killer {
    fn reached(&self, step: &'static str, at: &str) {
        self.reach(step, at);
    }
}

impl ca::FaultPoints for Killer {
    fn reached(&self, step: &'static str, reference: &str) {
        self.reach(step, reference);
    }
}

/// Orders of the test: each has three lines (one 机构证书, two 机构个人证书).
const ORDERS: usize = 6;

async fn lines_issuing(hall: &TestHall, no: &str) -> usize {
    let o = hall.order(no).await;
    hall.store
        .cert_lines(o.id)
        .await
        .unwrap()
        .iter()
        .filter(|l| l.status == "issuing")
        .count()
}

async fn crash_at_every_step(backend: Backend) {
    let hall = TestHall::start(backend).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    let mut orders = Vec::new();
    for i in 0..ORDERS {
        let (_, no) = submitted_order(&hall, &format!("1390013900{i}")).await;
        // Half of them with 金融认证 passed, so the PINs go out right after production.
        to_review(&hall, &no, true, i % 2 == 0).await;
        hall.app.review().approve(&rev, &no).await.unwrap();
        orders.push(no);
    }
    let killer = Arc::new(Killer::default());
    let (mut kills, mut presses, mut refused_while_held) = (0usize, 0usize, 0usize);
    for no in &orders {
        let mut calm = 0;
        loop {
            // A restart: a new process over the same database.
            let app = hall.restarted(killer.clone()).await;
            if lines_issuing(&hall, no).await > 0 {
                // Pressed again before the dead process's lease ran out: refused, saying
                // why, never silently nothing.
                let task = {
                    let (app, prod, no) = (app.clone(), prod.clone(), no.clone());
                    tokio::spawn(
                        async move { app.production().issue_all_sandbox(&prod, &no).await },
                    )
                };
                match task.await {
                    Ok(Err(e)) => assert!(e.to_string().contains("正在签发"), "{e}"),
                    other => panic!(
                        "{no}: pressed while a dead process holds a line: refused with a message \
                         before anything is done, not {other:?}"
                    ),
                }
                refused_while_held += 1;
            }
            hall.clock.advance(LEASE_MS + 1_000);
            presses += 1;
            // Every other restart finishes what it finds first, as `serve` does at start;
            // then 制证 is pressed for the order.
            let at_start = presses % 2 == 0;
            let task = {
                let (app, prod, no) = (app.clone(), prod.clone(), no.clone());
                tokio::spawn(async move {
                    if at_start {
                        app.production().recover().await?;
                        if app.production().lines(&prod, &no).await?.0.state == OrderState::Issued {
                            return Ok(0);
                        }
                    }
                    app.production().issue_all_sandbox(&prod, &no).await
                })
            };
            let r = task.await;
            drop(app);
            match r {
                Err(j) if j.is_panic() => kills += 1,
                Err(j) => panic!("{j}"),
                Ok(r) => {
                    r.unwrap_or_else(|e| panic!("{no}: 制证 after a restart: {e}"));
                    if hall.order(no).await.state == OrderState::Issued {
                        break;
                    }
                    calm += 1;
                    assert!(calm < 3, "{no} is stuck: {:?}", hall.order(no).await.state);
                }
            }
        }
    }

    // Every order is 待邮寄.
    for no in &orders {
        assert_eq!(hall.order(no).await.state, OrderState::Issued, "{no}");
    }
    // Every certificate the CA signed is on exactly one line, and every line's is signed.
    let pool = &hall.store.db().pool;
    let signed: Vec<String> = sqlx::query("SELECT serial FROM ca_issued ORDER BY serial")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("serial"))
        .collect();
    let mut on_lines: BTreeMap<String, usize> = BTreeMap::new();
    let mut enc_serials = Vec::new();
    let mut n_lines = 0;
    for no in &orders {
        let o = hall.order(no).await;
        for l in hall.store.cert_lines(o.id).await.unwrap() {
            assert_eq!(l.status, "issued", "{no} line {}", l.line);
            n_lines += 1;
            for s in [
                l.sign_serial.clone().unwrap(),
                l.enc_serial.clone().unwrap(),
            ] {
                *on_lines.entry(s).or_default() += 1;
            }
            enc_serials.push(l.enc_serial.unwrap());
        }
    }
    assert_eq!(n_lines, ORDERS * 3);
    assert!(
        on_lines.values().all(|n| *n == 1),
        "a serial on two lines: {on_lines:?}"
    );
    let lined: Vec<String> = on_lines.keys().cloned().collect();
    assert_eq!(
        signed,
        lined,
        "signed certificates ({}) and those on lines ({}) differ",
        signed.len(),
        lined.len()
    );
    // Nothing recorded is left unsigned and unreported.
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM ca_certificates c WHERE c.status = 'recorded' \
         AND NOT EXISTS (SELECT 1 FROM ca_issued i WHERE i.serial = c.serial)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(open, 0, "recorded serials left unfinished");
    // Every encryption key is escrowed to the key manager.
    for s in &enc_serials {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ca_key_escrow WHERE serial = $1")
            .bind(s)
            .fetch_one(pool)
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 1, "encryption key of {s} not escrowed");
    }
    let mut verified = 0;
    for no in &orders {
        verified += verify_issued(&hall, no).await;
    }
    eprintln!(
        "production crash test on {backend:?}: {kills} kill points, {presses} presses after restarts, \
         {refused_while_held} refusals while a lease was held, {} certificates signed, {verified} verified by openssl",
        signed.len()
    );
    assert!(kills >= 100, "only {kills} kill points");
}

/// How long a line's reservation is held before another process may take it over.
const LEASE_MS: i64 = app::production::LEASE_MS;

#[tokio::test]
async fn a_crash_at_any_step_of_production_is_finished_after_a_restart_on_sqlite() {
    crash_at_every_step(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_crash_at_any_step_of_production_is_finished_after_a_restart_on_postgres() {
    crash_at_every_step(Backend::Postgres).await;
}
