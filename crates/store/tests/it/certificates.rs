//! [`app::certificates::CertStore`] (issue 14) on both databases: a challenge is taken once
//! (also when many answers race), an expired one is told apart from a used one, a challenge
//! answers only its account and purpose; a certificate is claimed by one account, and only a
//! new claim writes its audit row.

use crate::common::{user, T};
use app::certificates::{CertStore, Taken};
use app::model::{AuditEvent, Effects};
use store::SqlStore;

on_both!(
    a_challenge_is_taken_once_even_concurrently,
    a_certificate_is_claimed_by_one_account,
    a_reminder_step_is_recorded_once,
);

async fn a_challenge_is_taken_once_even_concurrently(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    let v = user(&s, "13900139000").await;
    s.put_challenge(u, "claim", "h1", T, T + 300_000)
        .await
        .unwrap();
    // Another account, another purpose, another hash: nothing to take.
    assert_eq!(
        s.take_challenge(v, "claim", "h1", T).await.unwrap(),
        Taken::Unknown
    );
    assert_eq!(
        s.take_challenge(u, "renew", "h1", T).await.unwrap(),
        Taken::Unknown
    );
    assert_eq!(
        s.take_challenge(u, "claim", "h2", T).await.unwrap(),
        Taken::Unknown
    );
    // Eight answers at once: one wins, the others find it used.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.take_challenge(u, "claim", "h1", T + 1).await.unwrap()
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    assert_eq!(
        got.iter().filter(|t| **t == Taken::Taken).count(),
        1,
        "{got:?}"
    );
    assert!(got.iter().all(|t| matches!(t, Taken::Taken | Taken::Used)));
    // Expiry is exclusive of the instant itself, and expired is not used.
    s.put_challenge(u, "claim", "h3", T, T + 300_000)
        .await
        .unwrap();
    assert_eq!(
        s.take_challenge(u, "claim", "h3", T + 300_000)
            .await
            .unwrap(),
        Taken::Expired
    );
    assert_eq!(
        s.take_challenge(u, "claim", "h3", T + 299_999)
            .await
            .unwrap(),
        Taken::Taken
    );
}

fn ev(user: i64) -> AuditEvent {
    AuditEvent {
        at: T,
        actor: format!("user:{user}"),
        action: "certificate.claim".into(),
        subject: "cert:AB".into(),
        ip: None,
        detail: serde_json::json!({}),
    }
}

async fn audit_rows(s: &SqlStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'certificate.claim'")
        .fetch_one(&s.db().pool)
        .await
        .unwrap()
}

async fn a_certificate_is_claimed_by_one_account(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    let v = user(&s, "13900139000").await;
    assert_eq!(
        s.claim_certificate(u, "AB", T, Effects::audit(ev(u)))
            .await
            .unwrap(),
        u
    );
    // The second account finds the first one's claim, and writes nothing.
    assert_eq!(
        s.claim_certificate(v, "AB", T + 1, Effects::audit(ev(v)))
            .await
            .unwrap(),
        u
    );
    assert_eq!(audit_rows(&s).await, 1);
    s.claim_certificate(u, "CD", T + 2, Effects::default())
        .await
        .unwrap();
    let mine = s.claims_of_user(u).await.unwrap();
    assert_eq!(
        mine.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        ["AB", "CD"]
    );
    assert_eq!(mine[0].claimed_at, T);
    assert!(s.claims_of_user(v).await.unwrap().is_empty());
}

async fn a_reminder_step_is_recorded_once(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    s.claim_certificate(u, "AB", T, Effects::default())
        .await
        .unwrap();
    assert_eq!(
        s.reminder_candidates().await.unwrap(),
        vec![(u, "AB".to_owned())]
    );
    let fx = |days: i64| Effects {
        audit: vec![AuditEvent {
            action: "certificate.reminder".into(),
            detail: serde_json::json!({ "days": days }),
            ..ev(u)
        }],
        sms: vec![],
    };
    assert!(s.remind(u, "AB", 90, T, fx(90)).await.unwrap());
    assert!(!s.remind(u, "AB", 90, T + 1, fx(90)).await.unwrap());
    assert!(s.remind(u, "AB", 30, T + 2, fx(30)).await.unwrap());
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'certificate.reminder'")
            .fetch_one(&s.db().pool)
            .await
            .unwrap();
    assert_eq!(n, 2, "only the new steps wrote their effects");
}
