//! Every order change goes through one door: the state machine decides once, `review_since`
//! is derived there, and a change made from a stale read writes nothing.

use crate::{hall, T0};
use app::orders::OrderStore;
use app::AppError;
use domain::order::OrderState;

#[tokio::test]
async fn a_forbidden_move_is_refused_with_the_state_in_chinese() {
    let h = hall().await;
    let u = h.user("13800138000").await;
    let o = h.order_at_uploads(u).await;
    let e = h
        .door()
        .move_to(&o, OrderState::Approved, "system", "x")
        .unwrap_err();
    assert!(matches!(e, AppError::WrongState(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("“草稿”") && text.contains("“待制证”"),
        "{text}"
    );
}

#[tokio::test]
async fn review_since_is_set_on_entering_review_and_again_after_a_rejection() {
    let h = hall().await;
    let u = h.user("13800138001").await;
    let o = h.order_at_uploads(u).await;
    store::testing::force_state(
        &h.store,
        o.id,
        OrderState::PendingPayment,
        T0,
        None,
        "fixture",
    )
    .await
    .unwrap();
    let d = h.door();
    let read = |h: &crate::Hall| {
        let no = o.no.clone();
        let s = h.store.clone();
        async move { s.order_by_no(&no).await.unwrap().unwrap() }
    };
    h.clock.advance(10);
    d.save(
        d.move_to(&read(&h).await, OrderState::InReview, "system", "in")
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(read(&h).await.review_since, Some(T0 + 10));
    h.clock.advance(10);
    d.save(d.change(&read(&h).await, "system", "note"))
        .await
        .unwrap();
    assert_eq!(
        read(&h).await.review_since,
        Some(T0 + 10),
        "kept while in review"
    );
    h.clock.advance(10);
    d.save(
        d.move_to(&read(&h).await, OrderState::Rejected, "s", "r")
            .unwrap(),
    )
    .await
    .unwrap();
    h.clock.advance(10);
    d.save(
        d.move_to(&read(&h).await, OrderState::InReview, "u", "again")
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        read(&h).await.review_since,
        Some(T0 + 40),
        "the clock starts again"
    );
}

#[tokio::test]
async fn a_change_from_a_stale_read_writes_nothing() {
    let h = hall().await;
    let u = h.user("13800138002").await;
    let o = h.order_at_uploads(u).await;
    let d = h.door();
    let first = d.change(&o, "user:1", "first");
    let second = d
        .move_to(&o, OrderState::Cancelled, "user:1", "second")
        .unwrap();
    d.save(first).await.unwrap();
    assert!(matches!(d.save(second).await, Err(AppError::Stale)));
    let now = h.store.order_by_no(&o.no).await.unwrap().unwrap();
    assert_eq!(now.state, OrderState::Draft);
    assert_eq!(now.version, o.version + 1);
    let history = h.store.order_events(o.id).await.unwrap();
    assert!(history.iter().any(|e| e.what == "first"));
    assert!(!history.iter().any(|e| e.what == "second"));
}
