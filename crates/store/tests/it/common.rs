//! What every store test module shares: the `on_both!` macro that runs each test on SQLite and
//! on PostgreSQL (each on a database of its own, a copy of the migrated template), the fixed
//! clock time `T`, and the few fixtures (an order event, a user, an order in a given state) the
//! suites build on. Not every module uses every helper.

#![allow(dead_code)]

use app::clock::ManualClock;
use app::model::Effects;
use app::orders::{OrderBook, OrderEvent, OrderRecord, OrderStore};
use app::ports::UserStore;
use domain::order::{Draft, OrderState};
use domain::{Catalogue, Date, Phone};
use std::sync::Arc;
use store::testing::{fresh_store, Backend};
use store::SqlStore;

/// The tests' "now" (2026-11-23 in Beijing).
pub const T: i64 = 1_795_399_200_000;

/// Runs each named `async fn name(s: SqlStore)` of the including module as two tests,
/// `sqlite::name` and `postgres::name`, each on a database of its own.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(crate::common::store(store::testing::Backend::Sqlite).await).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(crate::common::store(store::testing::Backend::Postgres).await).await } )* }
    };
}

/// A database of its own (a SQLite file, or a PostgreSQL database), freshly migrated and
/// empty of data.
pub async fn store(backend: Backend) -> SqlStore {
    fresh_store(backend).await.expect("fresh store")
}

/// An order history event at `T` by the system.
pub fn ev(what: &str) -> OrderEvent {
    OrderEvent {
        at: T,
        actor: "system".into(),
        what: what.into(),
    }
}

/// The id of the applicant with `phone` (created, or the existing one).
pub async fn user(s: &SqlStore, phone: &str) -> i64 {
    s.create_user(&Phone::parse(phone).unwrap(), None, T, Effects::default())
        .await
        .unwrap()
        .id
}

/// A new order (state 草稿) of the applicant 13800138000 holding `draft`, dated 2026-11-23.
pub async fn new_order(s: &SqlStore, draft: &Draft) -> OrderRecord {
    let u = user(s, "13800138000").await;
    s.create_order(u, Date::new(2026, 11, 23).unwrap(), draft, &ev("创建"))
        .await
        .unwrap()
}

/// The order door over `s` with its clock at `at`: the changes the use cases make.
pub fn door_at(s: &SqlStore, at: i64) -> OrderBook {
    OrderBook::new(
        Arc::new(s.clone()),
        Arc::new(ManualClock::new(at)),
        Arc::new(Catalogue::builtin().unwrap()),
    )
}

/// The order door over `s` at `T`.
pub fn door(s: &SqlStore) -> OrderBook {
    door_at(s, T)
}

/// Saves `draft` on `o` through the door at `at`, moving it to `to` when that differs (the
/// move must be allowed); false when the version had moved on.
pub async fn save_at(
    s: &SqlStore,
    o: &OrderRecord,
    to: OrderState,
    draft: &Draft,
    at: i64,
    what: &str,
) -> bool {
    let d = door_at(s, at);
    let c = if to == o.state {
        d.change(o, "system", what)
    } else {
        d.move_to(o, to, "system", what).unwrap()
    };
    s.apply(&c.with_draft(draft.clone())).await.unwrap()
}

/// Puts an order in `state` directly (bypassing the state machine, as a fixture).
pub async fn force(s: &SqlStore, o: &OrderRecord, state: OrderState) -> OrderRecord {
    store::testing::force_state(s, o.id, state, T, None, "to state")
        .await
        .unwrap();
    s.order_by_no(&o.no).await.unwrap().unwrap()
}

/// A new order holding `draft`, then put in `state` (also when that is 草稿), read back.
pub async fn order_in(s: &SqlStore, state: OrderState, draft: &Draft) -> OrderRecord {
    let o = new_order(s, draft).await;
    force(s, &o, state).await
}
