//! The repository suite: every test runs on SQLite and on PostgreSQL, each on a fresh
//! database of its own (a copy of the migrated template).

use crate::common::*;
use app::audit::{verify_chain, ChainCheck};
use app::model::*;
use app::ports::*;
use domain::Phone;
use store::SqlStore;

on_both!(
    users_are_found_by_phone_and_sealed,
    create_user_is_idempotent_per_phone,
    codes_void_earlier_ones_and_are_single_use,
    counters_count_per_window,
    login_failures_lock_and_reset,
    sessions_end_one_or_all,
    staff_totp_steps_cannot_replay,
    audit_chain_links_across_effects,
    outbox_queues_a_job_in_the_same_transaction,
    jobs_are_claimed_once_retried_and_failed,
    concurrent_job_claims_never_share_a_job,
);

fn phone(s: &str) -> Phone {
    Phone::parse(s).expect("phone")
}

fn event(action: &str) -> AuditEvent {
    AuditEvent {
        at: T,
        actor: "system".into(),
        action: action.into(),
        subject: "test".into(),
        ip: None,
        detail: serde_json::json!({"k": 1}),
    }
}

async fn users_are_found_by_phone_and_sealed(s: SqlStore) {
    let u = s
        .create_user(&phone("13800138000"), None, T, Effects::default())
        .await
        .unwrap();
    assert_eq!(
        s.user_by_phone(&phone("13800138000"))
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    assert!(s
        .user_by_phone(&phone("13800138001"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().phone.as_str(),
        "13800138000"
    );
    // The number itself is not stored: neither column holds its digits.
    let rows = sqlx::query("SELECT phone_hash, phone_enc FROM users")
        .fetch_all(&s.db().pool)
        .await
        .unwrap();
    use sqlx::Row;
    let hash: String = rows[0].try_get("phone_hash").unwrap();
    let enc: Vec<u8> = rows[0].try_get("phone_enc").unwrap();
    assert!(!hash.contains("13800138000"));
    assert!(!enc.windows(11).any(|w| w == b"13800138000"));
    s.change_user_phone(u.id, &phone("13900139000"), Effects::default())
        .await
        .unwrap();
    assert_eq!(
        s.user_by_phone(&phone("13900139000"))
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    let other = s
        .create_user(&phone("13700137000"), None, T, Effects::default())
        .await
        .unwrap();
    assert!(matches!(
        s.change_user_phone(other.id, &phone("13900139000"), Effects::default())
            .await,
        Err(app::StoreError::Duplicate(_))
    ));
}

async fn create_user_is_idempotent_per_phone(s: SqlStore) {
    let a = s
        .create_user(&phone("13800138000"), None, T, Effects::default())
        .await
        .unwrap();
    let b = s
        .create_user(&phone("13800138000"), None, T + 1, Effects::default())
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
}

async fn codes_void_earlier_ones_and_are_single_use(s: SqlStore) {
    let p = phone("13800138000");
    let code = |h: &str, at: i64| NewCode {
        phone: p.clone(),
        purpose: CodePurpose::Login,
        code_hash: h.into(),
        created_at: at,
        expires_at: at + 300_000,
    };
    s.insert_code(code("h1", T), Effects::default())
        .await
        .unwrap();
    s.insert_code(code("h2", T + 61_000), Effects::default())
        .await
        .unwrap();
    assert_eq!(
        s.last_code_at(&p, CodePurpose::Login).await.unwrap(),
        Some(T + 61_000)
    );
    assert_eq!(
        s.last_code_at(&p, CodePurpose::ResetPassword)
            .await
            .unwrap(),
        None
    );
    let active = s
        .active_code(&p, CodePurpose::Login)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.code_hash, "h2", "the newer code replaces the older");
    assert_eq!(
        s.take_attempt(active.id, T + 62_000, 5).await.unwrap(),
        Some(1)
    );
    assert!(s.use_code(active.id, T + 62_000).await.unwrap());
    assert!(
        !s.use_code(active.id, T + 62_000).await.unwrap(),
        "single use"
    );
    assert_eq!(
        s.take_attempt(active.id, T + 62_000, 5).await.unwrap(),
        None,
        "no tries on a used code"
    );
    assert!(s
        .active_code(&p, CodePurpose::Login)
        .await
        .unwrap()
        .is_none());
    // Expired or too many tries: cannot be used.
    s.insert_code(code("h3", T), Effects::default())
        .await
        .unwrap();
    let c = s
        .active_code(&p, CodePurpose::Login)
        .await
        .unwrap()
        .unwrap();
    assert!(!s.use_code(c.id, T + 300_001).await.unwrap());
    assert_eq!(s.take_attempt(c.id, T + 300_001, 5).await.unwrap(), None);
    for i in 1..=5 {
        assert_eq!(s.take_attempt(c.id, T + 1, 5).await.unwrap(), Some(i));
    }
    assert_eq!(
        s.take_attempt(c.id, T + 1, 5).await.unwrap(),
        None,
        "out of tries"
    );
}

async fn counters_count_per_window(s: SqlStore) {
    assert_eq!(s.hit_counter("k", 1000).await.unwrap(), 1);
    assert_eq!(s.hit_counter("k", 1000).await.unwrap(), 2);
    assert_eq!(s.hit_counter("other", 1000).await.unwrap(), 1);
    assert_eq!(
        s.hit_counter("k", 2000).await.unwrap(),
        1,
        "a new window starts again"
    );
    assert_eq!(s.counter("k", 2000).await.unwrap(), 1, "read, not counted");
    assert_eq!(s.counter("k", 2000).await.unwrap(), 1);
    assert_eq!(
        s.counter("k", 1000).await.unwrap(),
        0,
        "an old window reads 0"
    );
    assert_eq!(s.counter("never", 1000).await.unwrap(), 0);
}

async fn login_failures_lock_and_reset(s: SqlStore) {
    let u = s
        .create_user(&phone("13800138000"), Some("phc"), T, Effects::default())
        .await
        .unwrap();
    for i in 1..5 {
        assert_eq!(
            s.user_login_failed(u.id, 5, T + 900_000, Effects::default())
                .await
                .unwrap(),
            i
        );
    }
    assert!(s
        .user_by_id(u.id)
        .await
        .unwrap()
        .unwrap()
        .locked_until
        .is_none());
    assert_eq!(
        s.user_login_failed(u.id, 5, T + 900_000, Effects::default())
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().locked_until,
        Some(T + 900_000)
    );
    s.user_login_ok(u.id).await.unwrap();
    let after = s.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!((after.failed_logins, after.locked_until), (0, None));
}

async fn sessions_end_one_or_all(s: SqlStore) {
    let mk = |h: &str, p: Principal| SessionRecord {
        token_hash: h.into(),
        principal: p,
        created_at: T,
        last_seen_at: T,
    };
    for (h, p) in [
        ("a", Principal::User(1)),
        ("b", Principal::User(1)),
        ("c", Principal::User(2)),
        ("d", Principal::Staff(1)),
    ] {
        s.create_session(&mk(h, p), Effects::default())
            .await
            .unwrap();
    }
    assert_eq!(
        s.session("d").await.unwrap().unwrap().principal,
        Principal::Staff(1)
    );
    s.touch_session("a", T + 5).await.unwrap();
    assert_eq!(s.session("a").await.unwrap().unwrap().last_seen_at, T + 5);
    s.delete_session("c", Effects::default()).await.unwrap();
    assert!(s.session("c").await.unwrap().is_none());
    assert_eq!(
        s.delete_sessions_of(Principal::User(1), Effects::default())
            .await
            .unwrap(),
        2
    );
    assert!(s.session("a").await.unwrap().is_none() && s.session("b").await.unwrap().is_none());
    assert!(
        s.session("d").await.unwrap().is_some(),
        "user 1 and staff 1 are different principals"
    );
}

async fn staff_totp_steps_cannot_replay(s: SqlStore) {
    let new = NewStaff {
        username: "alice".into(),
        display_name: "Alice".into(),
        role: Role::Reviewer,
        password_hash: "phc".into(),
        totp_secret: vec![1, 2, 3],
        created_at: T,
    };
    let st = s
        .create_staff(new.clone(), Effects::audit(event("staff.created")))
        .await
        .unwrap();
    assert_eq!(
        s.staff_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .totp_secret,
        vec![1, 2, 3]
    );
    assert!(matches!(
        s.create_staff(new, Effects::default()).await,
        Err(app::StoreError::Duplicate(_))
    ));
    assert!(s.staff_login_ok(st.id, 100).await.unwrap());
    assert!(
        !s.staff_login_ok(st.id, 100).await.unwrap(),
        "the same step twice is a replay"
    );
    assert!(s.staff_login_ok(st.id, 101).await.unwrap());
    s.create_session(
        &SessionRecord {
            token_hash: "s".into(),
            principal: Principal::Staff(st.id),
            created_at: T,
            last_seen_at: T,
        },
        Effects::default(),
    )
    .await
    .unwrap();
    s.set_staff_disabled(st.id, true, Effects::default())
        .await
        .unwrap();
    assert!(s.staff_by_id(st.id).await.unwrap().unwrap().disabled);
    assert!(
        s.session("s").await.unwrap().is_none(),
        "disabling ends sessions"
    );
    assert_eq!(s.staff_count().await.unwrap(), 1);
}

async fn audit_chain_links_across_effects(s: SqlStore) {
    s.append_audit(vec![event("one"), event("two")])
        .await
        .unwrap();
    s.create_user(
        &phone("13800138000"),
        None,
        T,
        Effects::audit(event("three")),
    )
    .await
    .unwrap();
    let (rows, head) = s.audit_all().await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let mac = |seq: i64, hash: &str| s.audit_mac(seq, hash);
    assert_eq!(
        verify_chain(&rows, head.as_ref(), &mac, &[]),
        ChainCheck::Intact {
            rows: 3,
            unkeyed: 0,
            anchors: 0
        }
    );
    let head = head.unwrap();
    assert_eq!(head.seq, 3);
    assert!(rows.iter().all(|r| r.mac.is_some()), "every row keyed");
    // Another store's key does not make the same MACs.
    let other = store::SqlStore::new(s.db().clone(), store::Vault::random());
    let mac2 = |seq: i64, hash: &str| other.audit_mac(seq, hash);
    assert!(matches!(
        verify_chain(&rows, Some(&head), &mac2, &[]),
        ChainCheck::Broken { seq: 1, .. }
    ));
    // The database itself refuses changes to written rows.
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
            .execute(&s.db().pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&s.db().pool)
        .await
        .is_err());
    let page = s.audit_page(None, 2).await.unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 2]);
    assert_eq!(s.audit_page(Some(2), 10).await.unwrap().len(), 1);
}

async fn outbox_queues_a_job_in_the_same_transaction(s: SqlStore) {
    let sms = OutgoingSms {
        phone: phone("13800138000"),
        template: "login_code".into(),
        params: vec![("code".into(), "123456".into())],
        order_no: None,
        queued_at: T,
    };
    s.insert_code(
        NewCode {
            phone: phone("13800138000"),
            purpose: CodePurpose::Login,
            code_hash: "h".into(),
            created_at: T,
            expires_at: T + 1,
        },
        Effects {
            audit: vec![event("code.requested")],
            sms: vec![sms],
        },
    )
    .await
    .unwrap();
    let out = s.outbox_page(10).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].params,
        vec![("code".to_string(), "123456".to_string())]
    );
    assert_eq!(out[0].status, SmsStatus::Pending);
    let job = s
        .claim_job(T, 60_000)
        .await
        .unwrap()
        .expect("a send job was queued with the code");
    assert_eq!(job.kind, "sms.send");
    assert_eq!(job.payload["outbox_id"].as_i64(), Some(out[0].id));
    assert!(
        s.outbox_for_phone(&phone("13800138000"), 5)
            .await
            .unwrap()
            .is_empty(),
        "not delivered yet"
    );
    s.sms_sent(out[0].id, "sandbox", "ref-1", T + 1)
        .await
        .unwrap();
    let inbox = s.outbox_for_phone(&phone("13800138000"), 5).await.unwrap();
    assert_eq!(inbox[0].provider_ref.as_deref(), Some("ref-1"));
    // The code is sealed in the outbox too.
    use sqlx::Row;
    let raw: Vec<u8> = sqlx::query("SELECT params_enc FROM sms_outbox")
        .fetch_one(&s.db().pool)
        .await
        .unwrap()
        .try_get("params_enc")
        .unwrap();
    assert!(!raw.windows(6).any(|w| w == b"123456"));
}

async fn jobs_are_claimed_once_retried_and_failed(s: SqlStore) {
    let id = s
        .enqueue_job("test.kind", serde_json::json!({"x": 1}), T)
        .await
        .unwrap();
    assert!(
        s.claim_job(T - 1, 60_000).await.unwrap().is_none(),
        "not due yet"
    );
    let j = s.claim_job(T, 60_000).await.unwrap().unwrap();
    assert_eq!((j.id, j.attempts), (id, 1));
    assert!(
        s.claim_job(T + 1, 60_000).await.unwrap().is_none(),
        "claimed jobs are not handed out twice"
    );
    s.job_failed(id, "boom", Some(T + 10_000)).await.unwrap();
    assert!(s.claim_job(T + 9_999, 60_000).await.unwrap().is_none());
    let j = s.claim_job(T + 10_000, 60_000).await.unwrap().unwrap();
    assert_eq!(j.attempts, 2);
    // A worker that died: its lease runs out and another takes the job.
    let j = s
        .claim_job(T + 10_000 + 60_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.attempts, 3);
    s.job_failed(id, "gave up", None).await.unwrap();
    let failed = s.list_jobs(Some(JobStatus::Failed), 10).await.unwrap();
    assert_eq!(failed[0].last_error.as_deref(), Some("gave up"));
    s.retry_job(id, T + 200_000, Effects::audit(event("job.retried")))
        .await
        .unwrap();
    let j = s.claim_job(T + 200_000, 60_000).await.unwrap().unwrap();
    s.job_done(j.id, T + 200_001).await.unwrap();
    assert_eq!(
        s.list_jobs(None, 10).await.unwrap()[0].status,
        JobStatus::Done
    );
}

async fn concurrent_job_claims_never_share_a_job(s: SqlStore) {
    for i in 0..20 {
        s.enqueue_job("test.kind", serde_json::json!({"i": i}), T)
            .await
            .unwrap();
    }
    let mut handles = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = s.claim_job(T, 60_000).await.unwrap() {
                got.push(j.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!((n, all.len()), (20, 20), "each job claimed exactly once");
}
