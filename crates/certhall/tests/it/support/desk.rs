//! Staff-side helpers: staff sessions and orders pushed to 待审核 the way the identity and
//! payment use cases will (state machine moves, then `paid_at` / `fin_state` by SQL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::applicant::Browser;
use app::authz::StaffActor;
use app::clock::Clock;
use app::model::Role;
use certhall::testing::TestHall;
use domain::order::OrderState;
use reqwest::StatusCode;

/// A browser logged in to the staff console with a new account of `role`, and its actor.
pub async fn staff(hall: &TestHall, role: Role, name: &str) -> (Browser, StaffActor) {
    let c = hall
        .app
        .admin()
        .create_staff(app::authz::Operator::Cli, name, name, role)
        .await
        .unwrap();
    let b = Browser::new(hall).await;
    let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.clock.now());
    let (s, _, _) = b
        .form(
            "/staff/login",
            &[
                ("username", name),
                ("password", &c.password),
                ("totp", &totp),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{name} logs in");
    let actor = StaffActor {
        id: c.staff.id,
        username: name.into(),
        display_name: name.into(),
        role,
        ip: Some("127.0.0.1".into()),
    };
    (b, actor)
}

/// Moves a submitted (待认证) order through 待支付 into 待审核 as the identity and payment
/// issues will (an order that really passed identity, 待支付, skips the first move); `paid` sets `paid_at`, `fin_passed` passes 金融认证.
pub async fn to_review(hall: &TestHall, no: &str, paid: bool, fin_passed: bool) {
    for (to, what) in [
        (OrderState::PendingPayment, "经办人在线认证通过(测试)"),
        (OrderState::InReview, "款项已提交,进入审核(测试)"),
    ] {
        let o = hall.order(no).await;
        if o.state == to {
            continue; // the identity use case already moved it
        }
        hall.force_state(no, to, what).await;
    }
    if paid {
        set_paid(hall, no).await;
    }
    if fin_passed {
        sqlx::query("UPDATE orders SET fin_state = 'passed' WHERE order_no = $1")
            .bind(no)
            .execute(&hall.store.db().pool)
            .await
            .unwrap();
    }
}

/// The payment arrived.
pub async fn set_paid(hall: &TestHall, no: &str) {
    sqlx::query("UPDATE orders SET paid_at = $1 WHERE order_no = $2")
        .bind(hall.clock.now())
        .bind(no)
        .execute(&hall.store.db().pool)
        .await
        .unwrap();
}

/// The sandbox messages to `phone`, newest first: (template, rendered text).
pub async fn inbox(hall: &TestHall, phone: &str) -> Vec<(String, String)> {
    hall.drain().await;
    hall.app
        .sandbox()
        .inbox(phone)
        .await
        .unwrap()
        .into_iter()
        .map(|(m, text)| (m.template, text))
        .collect()
}

/// Moves a submitted (待认证) order to 待支付 as the identity use case does.
pub async fn to_pending_payment(hall: &TestHall, no: &str) {
    hall.force_state(no, OrderState::PendingPayment, "经办人在线认证通过(测试)")
        .await;
}
