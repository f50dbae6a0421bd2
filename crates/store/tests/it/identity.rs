//! Identity attempts (经办人在线认证) on SQLite and on PostgreSQL, each test on a fresh
//! database: one claim per link even when phones race, sealed secrets and results,
//! optimistic updates, and the retention query.

use crate::common::*;
use app::identity::{AttemptResult, AttemptStatus, CarrierLine, IdentityStore};
use app::orders::OrderStore;
use domain::order::{Draft, OrderState};
use store::SqlStore;

on_both!(
    a_link_is_claimed_once_even_by_racing_phones,
    secrets_and_results_are_sealed_and_updates_are_optimistic,
    a_new_link_supersedes_open_ones,
    photos_of_completed_orders_are_found_for_retention,
);

async fn order(s: &SqlStore) -> (i64, i64) {
    let o = new_order(s, &Draft::default()).await;
    (o.id, o.version)
}

const TOKEN: &str = "aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44";

async fn a_link_is_claimed_once_even_by_racing_phones(s: SqlStore) {
    let (id, _) = order(&s).await;
    let a = s
        .new_attempt(id, "hash-1", TOKEN, T, T + 600_000)
        .await
        .unwrap();
    assert_eq!((a.status, a.token.as_str()), (AttemptStatus::Issued, TOKEN));
    let claims = futures_join(&s, a.id).await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
    let back = s.attempt_by_token_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(back.status, AttemptStatus::Scanned);
    assert!(back.phone_hash.is_some() && back.scanned_at == Some(T + 1));
    // Expired links cannot be claimed.
    let b = s.new_attempt(id, "hash-2", TOKEN, T, T + 10).await.unwrap();
    assert!(!s.claim_attempt(b.id, "p", T + 10).await.unwrap());
    assert!(s.attempt_by_token_hash("nope").await.unwrap().is_none());
}

async fn futures_join(s: &SqlStore, id: i64) -> Vec<bool> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..6 {
        let s = s.clone();
        set.spawn(async move {
            s.claim_attempt(id, &format!("phone-{i}"), T + 1)
                .await
                .unwrap()
        });
    }
    let mut out = vec![];
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

async fn secrets_and_results_are_sealed_and_updates_are_optimistic(s: SqlStore) {
    let (id, _) = order(&s).await;
    let mut a = s
        .new_attempt(id, "hash-3", TOKEN, T, T + 600_000)
        .await
        .unwrap();
    a.status = AttemptStatus::Failed;
    a.front_blob = Some("blob-f".into());
    a.front_sha256 = Some("f".repeat(64));
    a.result = Some(AttemptResult {
        reason: "实名电信认证未通过(申请人1)".into(),
        provider: "sandbox".into(),
        provider_ref: "SBX1".into(),
        carrier: vec![CarrierLine {
            role: "申请人1".into(),
            phone_masked: "137****7000".into(),
            matched: false,
            provider_ref: "r".into(),
        }],
    });
    assert!(s.update_attempt(&a).await.unwrap());
    assert!(
        !s.update_attempt(&a).await.unwrap(),
        "stale version refused"
    );
    let back = s.latest_attempt(id).await.unwrap().unwrap();
    assert_eq!(back.result, a.result);
    assert_eq!(back.front_blob.as_deref(), Some("blob-f"));
    assert_eq!(back.version, a.version + 1);
    // Nothing readable in the table.
    let rows = sqlx::query("SELECT token_enc, result_enc FROM identity_attempts")
        .fetch_all(&s.db().pool)
        .await
        .unwrap();
    use sqlx::Row;
    for r in rows {
        let t: Vec<u8> = r.try_get("token_enc").unwrap();
        assert!(!t.windows(16).any(|w| w == &TOKEN.as_bytes()[..16]));
        let res: Option<Vec<u8>> = r.try_get("result_enc").unwrap();
        let res = res.unwrap();
        assert!(!res.windows(4).any(|w| w == b"SBX1"));
    }
}

async fn a_new_link_supersedes_open_ones(s: SqlStore) {
    let (id, _) = order(&s).await;
    let a = s
        .new_attempt(id, "h-a", TOKEN, T, T + 600_000)
        .await
        .unwrap();
    let b = s
        .new_attempt(id, "h-b", TOKEN, T, T + 600_000)
        .await
        .unwrap();
    let a2 = s.attempt_by_token_hash("h-a").await.unwrap().unwrap();
    assert_eq!(a2.status, AttemptStatus::Superseded);
    assert!(!s.claim_attempt(a.id, "p", T).await.unwrap());
    assert_eq!(s.latest_attempt(id).await.unwrap().unwrap().id, b.id);
    assert!(
        s.new_attempt(id, "h-b", TOKEN, T, T).await.is_err(),
        "token hashes are unique"
    );
}

async fn photos_of_completed_orders_are_found_for_retention(s: SqlStore) {
    let (id, version) = order(&s).await;
    let mut a = s
        .new_attempt(id, "h-r", TOKEN, T, T + 600_000)
        .await
        .unwrap();
    a.front_blob = Some("f".into());
    a.back_blob = Some("b".into());
    a.status = AttemptStatus::Passed;
    assert!(s.update_attempt(&a).await.unwrap());
    assert!(
        s.photos_to_purge(T + 1, 10).await.unwrap().is_empty(),
        "order not completed"
    );
    let _ = version;
    let o = s
        .orders_in_state(OrderState::Draft)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.id == id)
        .unwrap();
    force(&s, &o, OrderState::Completed).await;
    assert!(
        s.photos_to_purge(T, 10).await.unwrap().is_empty(),
        "not old enough"
    );
    let due = s.photos_to_purge(T + 1, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let mut d = due[0].clone();
    d.front_blob = None;
    d.back_blob = None;
    d.photos_purged_at = Some(T + 1);
    assert!(s.update_attempt(&d).await.unwrap());
    assert!(s.photos_to_purge(T + 1, 10).await.unwrap().is_empty());
}
