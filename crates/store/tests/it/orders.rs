//! Orders and blobs on SQLite and on PostgreSQL, each test on a fresh database.

use crate::common::*;
use app::blobs::Blobs;
use app::orders::OrderStore;
use domain::order::{Draft, FinState, OrderState};
use domain::Date;
use store::{FileBlobs, SqlStore};

on_both!(
    numbers_are_sequential_per_day_and_drafts_sealed,
    concurrent_creations_never_share_a_number,
    stale_saves_are_refused_and_history_kept,
    review_since_is_set_on_entering_review_and_queues_are_oldest_first,
);

fn secret_draft() -> Draft {
    let mut d = Draft::default();
    d.form.set("handler_id", "11010519491231002X".into());
    d.form.set("handler_phone", "13612345678".into());
    d.form.set("bank_account", "44201500100052526093".into());
    d
}

async fn numbers_are_sequential_per_day_and_drafts_sealed(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    let day = Date::new(2026, 11, 23).unwrap();
    let a = s
        .create_order(u, day, &secret_draft(), &ev("创建"))
        .await
        .unwrap();
    let b = s
        .create_order(u, day, &Draft::default(), &ev("创建"))
        .await
        .unwrap();
    let c = s
        .create_order(
            u,
            Date::new(2026, 11, 24).unwrap(),
            &Draft::default(),
            &ev("创建"),
        )
        .await
        .unwrap();
    assert_eq!(a.no.as_str(), "XB20261123000001");
    assert_eq!(b.no.as_str(), "XB20261123000002");
    assert_eq!(c.no.as_str(), "XB20261124000001");
    let back = s.order_by_no(&a.no).await.unwrap().unwrap();
    assert_eq!(back.draft.form.get("handler_id"), "11010519491231002X");
    assert_eq!(back.state, OrderState::Draft);
    assert_eq!(s.orders_of_user(u).await.unwrap().len(), 3);
    assert!(s.orders_of_user(u + 1000).await.unwrap().is_empty());
    use sqlx::Row;
    let rows = sqlx::query("SELECT draft_enc FROM orders")
        .fetch_all(&s.db().pool)
        .await
        .unwrap();
    for r in rows {
        let enc: Vec<u8> = r.try_get("draft_enc").unwrap();
        for needle in [
            &b"11010519491231002X"[..],
            b"13612345678",
            b"44201500100052526093",
        ] {
            assert!(!enc.windows(needle.len()).any(|w| w == needle));
        }
    }
}

async fn concurrent_creations_never_share_a_number(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    let day = Date::new(2026, 11, 23).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.create_order(u, day, &Draft::default(), &ev("创建"))
                .await
                .unwrap()
                .no
        }));
    }
    let mut nos = Vec::new();
    for t in tasks {
        nos.push(t.await.unwrap().as_str().to_owned());
    }
    nos.sort();
    nos.dedup();
    assert_eq!(nos.len(), 12);
    assert_eq!(nos.last().unwrap(), "XB20261123000012");
}

async fn stale_saves_are_refused_and_history_kept(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    let o = s
        .create_order(
            u,
            Date::new(2026, 11, 23).unwrap(),
            &Draft::default(),
            &ev("创建业务单"),
        )
        .await
        .unwrap();
    let mut d = o.draft.clone();
    d.progress = 1;
    assert!(save_at(&s, &o, OrderState::Draft, &d, T, "同意协议").await);
    d.progress = 2;
    assert!(
        !save_at(&s, &o, OrderState::Draft, &d, T, "过期的保存").await,
        "a save based on an old version is refused"
    );
    let now = s.order_by_no(&o.no).await.unwrap().unwrap();
    assert_eq!((now.draft.progress, now.version), (1, o.version + 1));
    let hist: Vec<String> = s
        .order_events(o.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.what)
        .collect();
    assert_eq!(hist, vec!["创建业务单", "同意协议"]);
}

#[tokio::test]
async fn blobs_are_sealed_files_with_random_ids() {
    let dir = std::env::temp_dir().join(format!(
        "certhall-blobs-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let b = FileBlobs::new(dir.clone(), store::Vault::random()).unwrap();
    let id = b
        .put(b"ID 11010519491231002X phone 13612345678".to_vec())
        .await
        .unwrap();
    assert_eq!(
        b.get(&id).await.unwrap(),
        b"ID 11010519491231002X phone 13612345678"
    );
    for entry in walk(&dir) {
        let bytes = std::fs::read(entry).unwrap();
        assert!(!bytes.windows(11).any(|w| w == b"13612345678"));
    }
    for bad in ["../../etc/passwd", "", "ABCDEF", &id.to_uppercase()] {
        assert!(
            matches!(b.get(bad).await, Err(app::StoreError::NotFound)),
            "{bad}"
        );
    }
    b.delete(&id).await.unwrap();
    assert!(matches!(b.get(&id).await, Err(app::StoreError::NotFound)));
    b.delete(&id).await.unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn review_since_is_set_on_entering_review_and_queues_are_oldest_first(s: SqlStore) {
    let u = user(&s, "13800138000").await;
    let day = Date::new(2026, 11, 23).unwrap();
    let d = Draft::default();
    let a = s.create_order(u, day, &d, &ev("创建")).await.unwrap();
    let b = s.create_order(u, day, &d, &ev("创建")).await.unwrap();
    assert_eq!(
        (a.paid_at, a.fin_state, a.review_since),
        (None, FinState::Pending, None)
    );
    // Both wait for payment; b enters review first, a later; a save while in review keeps
    // the first time (the door sets review_since only on entering review).
    let a = force(&s, &a, OrderState::PendingPayment).await;
    let b = force(&s, &b, OrderState::PendingPayment).await;
    assert!(save_at(&s, &b, OrderState::InReview, &d, T + 10, "进入审核").await);
    assert!(save_at(&s, &a, OrderState::InReview, &d, T + 20, "进入审核").await);
    let b2 = s.order_by_no(&b.no).await.unwrap().unwrap();
    assert!(save_at(&s, &b2, OrderState::InReview, &d, T + 30, "备注").await);
    let queue = s.orders_in_state(OrderState::InReview).await.unwrap();
    let got: Vec<_> = queue
        .iter()
        .map(|o| (o.no.clone(), o.review_since))
        .collect();
    assert_eq!(
        got,
        vec![(b.no.clone(), Some(T + 10)), (a.no.clone(), Some(T + 20))]
    );
    assert!(s
        .orders_in_state(OrderState::Draft)
        .await
        .unwrap()
        .is_empty());
    // Rejected, then resubmitted: the clock starts again.
    let b3 = s.order_by_no(&b.no).await.unwrap().unwrap();
    assert!(save_at(&s, &b3, OrderState::Rejected, &d, T + 40, "驳回").await);
    let b4 = s.order_by_no(&b.no).await.unwrap().unwrap();
    assert!(save_at(&s, &b4, OrderState::InReview, &d, T + 50, "重新提交").await);
    let b5 = s.order_by_no(&b.no).await.unwrap().unwrap();
    assert_eq!(b5.review_since, Some(T + 50));
}
