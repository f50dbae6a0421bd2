//! The staff desk's repository (migration 0007) on SQLite and on PostgreSQL: review claims,
//! decisions with sealed snapshots, one issuance per order line (also concurrently), sealed
//! PINs sent once, shipments, invoices by token hash, holiday schedules.

use crate::common::*;
use app::desk::{
    CalendarStore, Decision, DeliveryStore, InvoiceData, IssuedLine, ProductionStore, ReviewStore,
    Shipment,
};
use app::model::{Effects, NewStaff, OutgoingSms, Role};
use app::orders::{OrderRecord, OrderStore};
use app::ports::{AuditStore, OutboxStore, StaffStore};
use domain::order::{Draft, OrderState};
use domain::Phone;
use store::SqlStore;

on_both!(
    claims_hold_until_stale_and_decisions_free_them,
    a_line_is_reserved_once_even_concurrently,
    pins_are_sealed_and_sent_once,
    shipment_invoice_and_calendar,
);

async fn staff(s: &SqlStore, name: &str) -> i64 {
    s.create_staff(
        NewStaff {
            username: name.into(),
            display_name: name.into(),
            role: Role::Reviewer,
            password_hash: "x".into(),
            totp_secret: vec![1; 20],
            created_at: T,
        },
        Effects::default(),
    )
    .await
    .unwrap()
    .id
}

/// An order in `state` whose draft holds a (sealed) handler ID number.
async fn order_with_id(s: &SqlStore, state: OrderState) -> OrderRecord {
    let mut d = Draft::default();
    d.form.set("handler_id", "11010519491231002X".into());
    order_in(s, state, &d).await
}

fn audit(staff: i64) -> Effects {
    Effects::audit(app::model::AuditEvent {
        at: T,
        actor: format!("staff:{staff}"),
        action: "review.claim".into(),
        subject: "order:1".into(),
        ip: None,
        detail: serde_json::json!({}),
    })
}

async fn claims_hold_until_stale_and_decisions_free_them(s: SqlStore) {
    let (a, b) = (staff(&s, "a").await, staff(&s, "b").await);
    let o = order_with_id(&s, OrderState::InReview).await;
    assert_eq!(
        s.claim_review(o.id, a, T, T - 1000, audit(a))
            .await
            .unwrap(),
        (a, "a".to_owned(), T)
    );
    // b is refused while a's claim is fresh; a may renew.
    assert_eq!(
        s.claim_review(o.id, b, T + 10, T - 1000, audit(b))
            .await
            .unwrap(),
        (a, "a".to_owned(), T)
    );
    assert_eq!(
        s.claim_review(o.id, a, T + 20, T - 1000, audit(a))
            .await
            .unwrap(),
        (a, "a".to_owned(), T + 20)
    );
    // A stale claim is taken over.
    assert_eq!(
        s.claim_review(o.id, b, T + 30, T + 25, audit(b))
            .await
            .unwrap(),
        (b, "b".to_owned(), T + 30)
    );
    // Audited when taken (a by a, then b taking over), not when refused or renewed.
    let (rows, _) = s.audit_all().await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r.event.actor.as_str())
            .collect::<Vec<_>>(),
        [format!("staff:{a}"), format!("staff:{b}")]
    );
    // A decision with a stale version writes nothing; the right one records, seals the
    // snapshot and drops the claim.
    let mut snap = o.draft.clone();
    snap.form.set("unit_address", "旧地址".into());
    let d = Decision {
        staff_id: b,
        staff_name: "b".into(),
        at: T + 40,
        decision: "rejected".into(),
        reasons: vec!["身份证复印件未加盖公章".into()],
        snapshot: Some(snap),
    };
    let change = |version: i64, fx: Effects| {
        let mut read = o.clone();
        read.version = version;
        door(&s)
            .move_to(&read, OrderState::Rejected, "system", "驳回")
            .unwrap()
            .effects(fx)
    };
    assert!(!s
        .decide(&change(o.version - 1, Effects::default()), &d)
        .await
        .unwrap());
    assert!(s.decisions(o.id).await.unwrap().is_empty());
    let sms = OutgoingSms {
        phone: Phone::parse("13612345678").unwrap(),
        template: "review_rejected".into(),
        params: vec![("reason".into(), "x".into())],
        order_no: Some(o.no.to_string()),
        queued_at: T,
    };
    let effects = Effects {
        audit: vec![],
        sms: vec![sms],
    };
    assert!(s.decide(&change(o.version, effects), &d).await.unwrap());
    let back = s.decisions(o.id).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].reasons, ["身份证复印件未加盖公章"]);
    assert_eq!(
        back[0].snapshot.as_ref().unwrap().form.get("unit_address"),
        "旧地址"
    );
    assert_eq!(s.review_claim(o.id).await.unwrap(), None);
    assert_eq!(
        s.outbox_page(10).await.unwrap().len(),
        1,
        "SMS queued with the decision"
    );
    assert_eq!(
        s.order_by_no(&o.no).await.unwrap().unwrap().state,
        OrderState::Rejected
    );
    use sqlx::Row;
    let row = sqlx::query("SELECT snapshot_enc FROM review_decisions")
        .fetch_one(&s.db().pool)
        .await
        .unwrap();
    let enc: Vec<u8> = row.try_get("snapshot_enc").unwrap();
    assert!(
        !enc.windows(18).any(|w| w == b"11010519491231002X"),
        "snapshot sealed"
    );
}

fn issued(pin: &str) -> IssuedLine {
    IssuedLine {
        sign_serial: "01".into(),
        enc_serial: "02".into(),
        sign_pem: "-----BEGIN CERTIFICATE-----\nS\n".into(),
        enc_pem: "-----BEGIN CERTIFICATE-----\nE\n".into(),
        envelope: vec![1, 2, 3],
        pin: pin.into(),
    }
}

async fn a_line_is_reserved_once_even_concurrently(s: SqlStore) {
    let p = staff(&s, "p").await;
    let o = order_with_id(&s, OrderState::Approved).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        let id = o.id;
        tasks.push(tokio::spawn(async move {
            s.reserve_line(id, 0, domain::CertType::Org, 2, p, T, T + 60_000)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    // A failed CA call frees the line; an issued one cannot be freed.
    s.unreserve_line(o.id, 0).await.unwrap();
    assert!(s
        .reserve_line(o.id, 0, domain::CertType::Org, 2, p, T, T + 60_000)
        .await
        .unwrap());
    s.line_issued(o.id, 0, &issued("12345678"), T, Effects::default())
        .await
        .unwrap();
    s.unreserve_line(o.id, 0).await.unwrap();
    assert!(!s
        .reserve_line(o.id, 0, domain::CertType::Org, 2, p, T, T + 60_000)
        .await
        .unwrap());
    let lines = s.cert_lines(o.id).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].status, "issued");
    assert_eq!(lines[0].envelope.as_deref(), Some(&[1u8, 2, 3][..]));
    assert!(lines[0].pin_held);
    // The certificates come back as issued, and are sealed in the table.
    assert_eq!(
        lines[0].sign_pem.as_deref(),
        Some("-----BEGIN CERTIFICATE-----\nS\n")
    );
    assert_eq!(
        lines[0].enc_pem.as_deref(),
        Some("-----BEGIN CERTIFICATE-----\nE\n")
    );
    use sqlx::Row;
    let r = sqlx::query("SELECT sign_pem, enc_pem FROM order_certs")
        .fetch_one(&s.db().pool)
        .await
        .unwrap();
    for col in ["sign_pem", "enc_pem"] {
        let raw: String = r.try_get(col).unwrap();
        assert!(!raw.contains("BEGIN"), "{col} stored in clear");
    }
}

async fn pins_are_sealed_and_sent_once(s: SqlStore) {
    let p = staff(&s, "p").await;
    let o = order_with_id(&s, OrderState::Approved).await;
    for (line, pin) in [(0, "11112222"), (1, "33334444")] {
        assert!(s
            .reserve_line(o.id, line, domain::CertType::Org, 1, p, T, T + 60_000)
            .await
            .unwrap());
        s.line_issued(o.id, line, &issued(pin), T, Effects::default())
            .await
            .unwrap();
    }
    use sqlx::Row;
    for r in sqlx::query("SELECT pin_enc FROM order_certs")
        .fetch_all(&s.db().pool)
        .await
        .unwrap()
    {
        let enc: Vec<u8> = r.try_get("pin_enc").unwrap();
        assert!(!enc.windows(8).any(|w| w == b"11112222" || w == b"33334444"));
    }
    assert_eq!(
        s.held_pins(o.id).await.unwrap(),
        [(0, "11112222".to_owned()), (1, "33334444".to_owned())]
    );
    let sent = |o: &OrderRecord| door(&s).change(o, "system", "证书PIN码已通过短信发送");
    assert!(s.pins_sent(&[0, 1], &sent(&o)).await.unwrap());
    let fresh = s.order_by_no(&o.no).await.unwrap().unwrap();
    assert!(
        !s.pins_sent(&[0], &sent(&fresh)).await.unwrap(),
        "sent once"
    );
    let hist = s.order_events(o.id).await.unwrap();
    assert_eq!(
        hist.iter()
            .filter(|h| h.what == "证书PIN码已通过短信发送")
            .count(),
        1
    );
    assert!(s.held_pins(o.id).await.unwrap().is_empty());
    let lines = s.cert_lines(o.id).await.unwrap();
    assert!(lines
        .iter()
        .all(|l| !l.pin_held && l.pin_sent_at == Some(T)));
}

async fn shipment_invoice_and_calendar(s: SqlStore) {
    let p = staff(&s, "p").await;
    let o = order_with_id(&s, OrderState::Issued).await;
    let ship = Shipment {
        courier: "sandbox".into(),
        tracking_no: "SB000000000001".into(),
        shipped_at: T,
        delivered_at: None,
    };
    let c = door(&s)
        .move_to(&o, OrderState::Shipped, "system", "寄出")
        .unwrap();
    assert!(s.ship(&c, &ship, p).await.unwrap());
    let (id, back) = s
        .shipment_by_tracking("SB000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((id, back.tracking_no.as_str()), (o.id, "SB000000000001"));
    let o = s.order_by_no(&o.no).await.unwrap().unwrap();
    let inv = InvoiceData {
        invoice_no: "SBFP1".into(),
        order_no: o.no.to_string(),
        title: "深圳市某某科技有限公司".into(),
        tax_no: "91110000600037341L".into(),
        lines: vec![("机构证书".into(), 2, 60000)],
        total_fen: 60000,
        issued_at: T,
        provider: "sandbox".into(),
    };
    let c = door_at(&s, T + 5)
        .move_to(&o, OrderState::Completed, "system", "完成")
        .unwrap();
    assert!(s.complete(&c, &inv, "hash1").await.unwrap());
    assert_eq!(
        s.invoice_by_token("hash1").await.unwrap(),
        Some(inv.clone())
    );
    assert_eq!(s.invoice_by_token("hash2").await.unwrap(), None);
    assert_eq!(s.invoice(o.id).await.unwrap(), Some(inv));
    assert_eq!(
        s.shipment(o.id).await.unwrap().unwrap().delivered_at,
        Some(T + 5)
    );
    s.put_calendar_year(2027, "a", T, "cli", Effects::default())
        .await
        .unwrap();
    s.put_calendar_year(2027, "b", T, "cli", Effects::default())
        .await
        .unwrap();
    assert_eq!(s.calendar_years().await.unwrap(), [(2027, "b".to_owned())]);
}
