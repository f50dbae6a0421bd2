//! Payments, statements and micro-deposits on SQLite and on PostgreSQL: a credit happens
//! once under concurrency and moves the order with it, an order change made on a stale
//! version writes nothing (not even the payment), statements and entries are imported once,
//! accounts are sealed.

use crate::common::*;
use app::model::Effects;
use app::orders::{OrderChange, OrderRecord, OrderStore};
use app::payments::statement::StatementEntry;
use app::payments::{
    Applied, CreditDecision, CreditState, DepositState, DepositStore, NewDeposit, NewPayment,
    NewStatement, PayState, PaymentStore, StatementStore,
};
use domain::order::{Draft, FinState, OrderState};
use domain::Money;
use store::SqlStore;

on_both!(
    a_credit_happens_once_and_moves_the_order,
    a_stale_change_writes_nothing,
    statements_and_entries_import_once_and_accounts_are_sealed,
    deposits_supersede_count_wrong_codes_and_void,
    a_refund_ends_a_rejected_order_in_its_transaction,
    a_refund_is_requested_once_and_recorded_once,
    a_refund_in_progress_moves_only_between_its_states,
    a_second_payment_of_a_paid_order_is_a_duplicate,
);

/// An order in `state`.
async fn order(s: &SqlStore, state: OrderState) -> (i64, String) {
    let o = order_in(s, state, &Draft::default()).await;
    (o.id, o.no.to_string())
}

fn payment(order_id: i64, no: &str, trade_no: &str, state: PayState) -> NewPayment {
    NewPayment {
        order_id,
        order_no: no.into(),
        method: app::payments::ONLINE,
        provider: "sandbox".into(),
        amount_fen: 240_000,
        state,
        trade_no: trade_no.into(),
        provider_ref: None,
        voucher_blob: None,
        at: T,
    }
}

/// The order as it is now.
async fn read(s: &SqlStore, no: &str) -> OrderRecord {
    s.order_by_no(&domain::OrderNo::parse(no).unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// The door's move of order `no` (as read now) to `to`, paid at `T + 5`.
async fn paid_move(s: &SqlStore, no: &str, to: OrderState) -> OrderChange {
    door(s)
        .move_to(&read(s, no).await, to, "system", "paid")
        .unwrap()
        .paid(T + 5)
}

/// A history entry on order `no` (as read now), the change a refund records.
async fn note(s: &SqlStore, no: &str) -> OrderChange {
    door(s).change(&read(s, no).await, "system", "refunded")
}

async fn a_credit_happens_once_and_moves_the_order(s: SqlStore) {
    let (id, no) = order(&s, OrderState::PendingPayment).await;
    let p = s
        .insert_payment(
            &payment(id, &no, "T1", PayState::Created),
            None,
            Effects::default(),
        )
        .await
        .unwrap()
        .unwrap();
    let before = s
        .order_by_no(&domain::OrderNo::parse(&no).unwrap())
        .await
        .unwrap()
        .unwrap();
    let c = paid_move(&s, &no, OrderState::PendingFinancial).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, c) = (s.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            s.credit_payment(p.id, "GW1", T + 5, &c).await.unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_ne!(r, Applied::Stale, "the payment row decides, not the order");
        wins += usize::from(r == Applied::Done);
    }
    assert_eq!(wins, 1);
    let o = s.order_by_no(&before.no).await.unwrap().unwrap();
    assert_eq!(
        (o.state, o.paid_at),
        (OrderState::PendingFinancial, Some(T + 5))
    );
    assert_eq!(
        o.version,
        before.version + 1,
        "the version moved: concurrent saves notice"
    );
    assert!(
        !save_at(
            &s,
            &before,
            OrderState::Cancelled,
            &before.draft,
            T,
            "stale"
        )
        .await
    );
    let p = s.payment_by_trade_no("T1").await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.provider_ref.as_deref()),
        (PayState::Paid, Some("GW1"))
    );
    // Refund once: requested first, then recorded.
    assert_eq!(
        s.refund_payment(p.id, 240_000, "RF0", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Taken,
        "a refund is recorded only once requested"
    );
    assert_eq!(
        s.request_refund(p.id, None, Effects::default())
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        s.refund_payment(p.id, 240_000, "RF1", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        s.refund_payment(p.id, 240_000, "RF2", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Taken
    );
    assert_eq!(s.payments_between(T, T + 10).await.unwrap().len(), 1);
}

async fn a_stale_change_writes_nothing(s: SqlStore) {
    let (id, no) = order(&s, OrderState::PendingPayment).await;
    let c = paid_move(&s, &no, OrderState::InReview).await;
    // Someone saves the order after `c` was made from it.
    let now = read(&s, &no).await;
    assert!(
        save_at(
            &s,
            &now,
            OrderState::PendingPayment,
            &now.draft,
            T,
            "saved meanwhile"
        )
        .await
    );
    let r = s
        .insert_payment(
            &payment(id, &no, "T2", PayState::Voucher),
            Some(&c),
            Effects::default(),
        )
        .await
        .unwrap();
    assert!(r.is_none());
    assert!(s.payment_by_trade_no("T2").await.unwrap().is_none());
    assert!(s.payments_of_order(id).await.unwrap().is_empty());
    assert_eq!(read(&s, &no).await.state, OrderState::PendingPayment);
}

fn entry(r: &str, credit: bool, ccy: &str) -> StatementEntry {
    StatementEntry {
        entry_ref: r.into(),
        booked_on: "2026-11-23".into(),
        amount: Money::from_fen(240_000),
        currency: ccy.into(),
        credit,
        payer_name: "深圳市某某科技有限公司".into(),
        payer_account: "44201500100052526093".into(),
        memo: "XB20261123000001".into(),
    }
}

async fn statements_and_entries_import_once_and_accounts_are_sealed(s: SqlStore) {
    let st = |sha: &str| NewStatement {
        sha256: sha.into(),
        format: "csv",
        file_name: "a.csv".into(),
        imported_by: "cli".into(),
        at: T,
    };
    let e = [
        entry("E1", true, "CNY"),
        entry("E2", false, "CNY"),
        entry("E3", true, "USD"),
    ];
    let (_, n) = s.insert_statement(&st("A"), &e).await.unwrap().unwrap();
    assert_eq!(n, 3);
    assert!(
        s.insert_statement(&st("A"), &e).await.unwrap().is_none(),
        "same file"
    );
    let (_, n) = s
        .insert_statement(
            &st("B"),
            &[entry("E1", true, "CNY"), entry("E4", true, "CNY")],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1, "E1 was seen");
    let new = s.credits_in_state(CreditState::New).await.unwrap();
    assert_eq!(
        new.iter().map(|c| c.entry_ref.as_str()).collect::<Vec<_>>(),
        ["E1", "E4"]
    );
    assert_eq!(new[0].payer_account, "44201500100052526093");
    assert_eq!(
        s.credits_in_state(CreditState::Ignored)
            .await
            .unwrap()
            .len(),
        2
    );
    let raw: Vec<u8> =
        sqlx::query_scalar("SELECT payer_account_enc FROM bank_credits WHERE entry_ref = 'E1'")
            .fetch_one(&s.db().pool)
            .await
            .unwrap();
    assert!(!raw.windows(20).any(|w| w == b"44201500100052526093"));
    // A decision happens once.
    let d = CreditDecision {
        credit_id: new[0].id,
        from: vec![CreditState::New],
        to: CreditState::Manual,
        order_no: None,
        reason: "test".into(),
        decided_by: None,
        at: T,
    };
    assert_eq!(
        s.decide_credit(&d, None, None, Effects::default())
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        s.decide_credit(&d, None, None, Effects::default())
            .await
            .unwrap(),
        Applied::Taken
    );
}

async fn deposits_supersede_count_wrong_codes_and_void(s: SqlStore) {
    let (id, no) = order(&s, OrderState::PendingFinancial).await;
    let d = |r: &str| NewDeposit {
        order_id: id,
        order_no: no.clone(),
        provider: "sandbox".into(),
        provider_ref: r.into(),
        amount_fen: 37,
        account_name: "深圳市某某科技有限公司".into(),
        account: "44201500100052526093".into(),
        memo: "深圳CA金融认证验证码123456".into(),
        code_hash: "h".into(),
        at: T,
        expires_at: T + 1000,
    };
    let first = s
        .insert_deposit(&d("R1"), None, Effects::default())
        .await
        .unwrap()
        .unwrap();
    let second = s
        .insert_deposit(&d("R2"), None, Effects::default())
        .await
        .unwrap()
        .unwrap();
    let all = s.deposits_of_order(id).await.unwrap();
    assert_eq!((all[0].id, all[0].state), (second.id, DepositState::Sent));
    assert_eq!(
        (all[1].id, all[1].state),
        (first.id, DepositState::Superseded)
    );
    assert_eq!(all[0].memo, "深圳CA金融认证验证码123456");
    let fail = door(&s)
        .change(&read(&s, &no).await, "system", "金融认证不通过")
        .fin(FinState::Failed);
    for i in 1..=3 {
        assert_eq!(s.deposit_wrong(second.id, 3, &fail).await.unwrap(), Some(i));
    }
    let o = s
        .order_by_no(&domain::OrderNo::parse(&no).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.fin_state, FinState::Failed);
    assert_eq!(
        s.deposits_of_order(id).await.unwrap()[0].state,
        DepositState::Void
    );
    assert_eq!(
        s.decide_deposit(Some(second.id), DepositState::Passed, T, &fail)
            .await
            .unwrap(),
        Applied::Taken
    );
}

/// A refund request with an order change: the payment marked refunding and the rejected
/// order cancelled in one transaction; when the order was resubmitted in between (no longer
/// rejected) nothing is written; a second request changes nothing.
async fn a_refund_ends_a_rejected_order_in_its_transaction(s: SqlStore) {
    let (id, no) = order(&s, OrderState::Rejected).await;
    let (id2, no2) = order(&s, OrderState::Rejected).await;
    let p = s
        .insert_payment(
            &payment(id, &no, "T9", PayState::Paid),
            None,
            Effects::default(),
        )
        .await
        .unwrap()
        .unwrap();
    let p2 = s
        .insert_payment(
            &payment(id2, &no2, "T10", PayState::Paid),
            None,
            Effects::default(),
        )
        .await
        .unwrap()
        .unwrap();
    let c = door(&s)
        .move_to(
            &read(&s, &no).await,
            OrderState::Cancelled,
            "system",
            "退款",
        )
        .unwrap();
    assert_eq!(
        s.request_refund(p.id, Some(&c), Effects::default())
            .await
            .unwrap(),
        Applied::Done
    );
    let on = domain::OrderNo::parse(&no).unwrap();
    let o = s.order_by_no(&on).await.unwrap().unwrap();
    assert_eq!(o.state, OrderState::Cancelled);
    let v = o.version;
    assert_eq!(
        s.request_refund(p.id, Some(&c), Effects::default())
            .await
            .unwrap(),
        Applied::Taken
    );
    assert_eq!(s.order_by_no(&on).await.unwrap().unwrap().version, v);
    // Resubmitted (待审核) after the refund was decided, before it was recorded: nothing
    // written.
    let c2 = door(&s)
        .move_to(
            &read(&s, &no2).await,
            OrderState::Cancelled,
            "system",
            "退款",
        )
        .unwrap();
    let o2 = read(&s, &no2).await;
    assert!(save_at(&s, &o2, OrderState::InReview, &o2.draft, T, "重新提交").await);
    assert_eq!(
        s.request_refund(p2.id, Some(&c2), Effects::default())
            .await
            .unwrap(),
        Applied::Stale
    );
    assert_eq!(
        s.payment_by_id(p2.id).await.unwrap().unwrap().state,
        PayState::Paid
    );
    let on2 = domain::OrderNo::parse(&no2).unwrap();
    assert_eq!(
        s.order_by_no(&on2).await.unwrap().unwrap().state,
        OrderState::InReview
    );
}

/// The two steps of a refund are each guarded by the state they leave: `paid` → `refunding`
/// happens once (a retry finds it requested and asks the gateway again with the same
/// number), `refunding` → `refunded` happens once.
async fn a_refund_is_requested_once_and_recorded_once(s: SqlStore) {
    let (id, no) = order(&s, OrderState::Cancelled).await;
    let p = s
        .insert_payment(
            &payment(id, &no, "T20", PayState::Paid),
            None,
            Effects::default(),
        )
        .await
        .unwrap()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.request_refund(p.id, None, Effects::default())
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap() == Applied::Done);
    }
    assert_eq!(wins, 1);
    let r = s.payment_by_id(p.id).await.unwrap().unwrap();
    assert_eq!((r.state, r.refunded_at), (PayState::Refunding, None));
    assert_eq!(
        s.refund_payment(p.id, 240_000, "GWRF1", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        s.refund_payment(p.id, 240_000, "GWRF2", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Taken
    );
    assert_eq!(
        s.request_refund(p.id, None, Effects::default())
            .await
            .unwrap(),
        Applied::Taken
    );
    let r = s.payment_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.refund_ref.as_deref(), r.refunded_fen),
        (PayState::Refunded, Some("GWRF1"), 240_000)
    );
}

/// `mark_refund` moves a payment only while its refund is in progress (`refunding` ⇄
/// `refund_abnormal`, with the gateway's reference), never from `paid` or `refunded`, and a
/// 退款异常 payment can still be recorded refunded once; it stays in the duplicate list
/// while the money has not reached the payer.
async fn a_refund_in_progress_moves_only_between_its_states(s: SqlStore) {
    let (id, no) = order(&s, OrderState::Cancelled).await;
    let p = s
        .insert_payment(
            &payment(id, &no, "T30", PayState::Paid),
            None,
            Effects::default(),
        )
        .await
        .unwrap()
        .unwrap();
    let mark = |to| {
        let s = s.clone();
        async move {
            s.mark_refund(p.id, to, "WXRF1", None, Effects::default())
                .await
                .unwrap()
        }
    };
    assert_eq!(
        mark(PayState::RefundAbnormal).await,
        Applied::Taken,
        "from paid"
    );
    s.request_refund(p.id, None, Effects::default())
        .await
        .unwrap();
    assert_eq!(mark(PayState::Refunding).await, Applied::Done);
    assert_eq!(mark(PayState::RefundAbnormal).await, Applied::Done);
    let r = s.payment_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.refund_ref.as_deref(), r.refunded_at),
        (PayState::RefundAbnormal, Some("WXRF1"), None)
    );
    assert!(s
        .mark_refund(p.id, PayState::Refunded, "x", None, Effects::default())
        .await
        .is_err());
    assert_eq!(
        s.refund_payment(p.id, 240_000, "线下处理:MP1", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        mark(PayState::RefundAbnormal).await,
        Applied::Taken,
        "from refunded"
    );
    let r = s.payment_by_id(p.id).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.refund_ref.as_deref()),
        (PayState::Refunded, Some("线下处理:MP1"))
    );
}

/// Only money after the first received for an order is a duplicate, until it is refunded;
/// payments not received (created) never are.
async fn a_second_payment_of_a_paid_order_is_a_duplicate(s: SqlStore) {
    let (id, no) = order(&s, OrderState::PendingFinancial).await;
    let (other, other_no) = order(&s, OrderState::PendingFinancial).await;
    let mut ids = Vec::new();
    for (t, st) in [
        ("T30", PayState::Paid),
        ("T31", PayState::Paid),
        ("T32", PayState::Created),
    ] {
        let p = s
            .insert_payment(&payment(id, &no, t, st), None, Effects::default())
            .await
            .unwrap()
            .unwrap();
        ids.push(p.id);
    }
    s.insert_payment(
        &payment(other, &other_no, "T33", PayState::Paid),
        None,
        Effects::default(),
    )
    .await
    .unwrap()
    .unwrap();
    let d: Vec<i64> = s
        .duplicate_payments()
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(d, vec![ids[1]]);
    assert_eq!(
        s.request_refund(ids[1], None, Effects::default())
            .await
            .unwrap(),
        Applied::Done
    );
    assert_eq!(
        s.duplicate_payments().await.unwrap().len(),
        1,
        "still to confirm"
    );
    assert_eq!(
        s.refund_payment(ids[1], 240_000, "GWRF", T + 9, &note(&s, &no).await)
            .await
            .unwrap(),
        Applied::Done
    );
    assert!(s.duplicate_payments().await.unwrap().is_empty());
}
