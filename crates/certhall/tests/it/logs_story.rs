//! Logs of a whole order's life hold no personal data: the wizard (ID numbers, phones, a bank
//! account), the phone identity step, the online payment and micro-deposit code, review,
//! production with PINs, shipping and the invoice — with every event at TRACE. In a process of
//! its own, so the global subscriber sees every event of this hall and nothing of other tests.
//! The same secrets are then looked for in the database and the stored files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::model::Role;
use certhall::testing::{Backend, TestHall};
use support::applicant::{deposit_code, pay_online_and_verify, submitted_order, HANDLER_PHONE, ID};
use support::desk::{inbox, staff};

#[tokio::test]
async fn logs_of_a_whole_order_hold_no_personal_data_pin_or_code() {
    if support::own_process::in_own_process(
        "logs_story::logs_of_a_whole_order_hold_no_personal_data_pin_or_code",
    ) {
        return;
    }
    let buf = support::logs::capture();

    let hall = TestHall::start(Backend::Sqlite).await;
    let (applicant, no) = submitted_order(&hall, HANDLER_PHONE).await;
    support::identity::verify_identity(&hall, &applicant, &no).await;
    pay_online_and_verify(&hall, &applicant, &no).await;
    // The code that was entered, to look for it in the logs.
    let code = deposit_code(&hall, &no).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    hall.app.review().claim(&rev, &no).await.unwrap();
    hall.app.review().approve(&rev, &no).await.unwrap();
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    assert_eq!(
        hall.app
            .production()
            .issue_all_sandbox(&prod, &no)
            .await
            .unwrap(),
        3
    );
    let tracking = hall.app.delivery().ship_order(&prod, &no).await.unwrap();
    hall.app
        .delivery()
        .complete_order(&prod, &no)
        .await
        .unwrap();
    let order = hall.order(&no).await;
    assert_eq!(order.state, domain::order::OrderState::Completed);

    // Every SMS of the story went out through the job worker (it logs each send).
    let mut pins = Vec::new();
    for phone in [HANDLER_PHONE, "13700137000", "13700137001"] {
        for (template, text) in inbox(&hall, phone).await {
            if template.starts_with("pin_") {
                let pin: String = text
                    .split("PIN码为")
                    .nth(1)
                    .unwrap()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                assert!(pin.len() >= 6, "{text}");
                pins.push(pin);
            }
        }
    }
    assert_eq!(pins.len(), 3, "one PIN per certificate");

    let logs = buf.text();
    assert!(
        logs.contains("http.path=/orders/") && logs.contains("/payment/code"),
        "the edge logged the story's requests"
    );
    // The logs cover the story: the order number (not personal) is in them, so a secret's
    // absence means something.
    assert!(logs.contains(&no), "the order number in the logs");
    assert!(!tracking.is_empty());
    let mut secrets: Vec<(&str, String)> = vec![
        ("ID number", ID.to_owned()),
        ("handler phone", HANDLER_PHONE.to_owned()),
        ("applicant phone", "13700137000".to_owned()),
        ("applicant phone", "13700137001".to_owned()),
        ("legal representative phone", "13900139000".to_owned()),
        ("bank account", "44201500100052526093".to_owned()),
        ("micro-deposit code", code),
    ];
    for p in pins {
        secrets.push(("PIN", p));
    }
    for (what, s) in &secrets {
        assert!(!logs.contains(s.as_str()), "{what} {s} appears in the logs");
    }
    for masked in ["136****5678", "137****7000", "137****7001"] {
        assert!(!logs.contains(masked), "{masked} appears in the logs");
    }
    // Nor at rest: the database, its WAL and the stored files. (The sandbox outbox keeps its
    // messages sealed: it is the recipients' phone.)
    let needles: Vec<&str> = secrets.iter().map(|(_, s)| s.as_str()).collect();
    support::applicant::assert_nothing_in_clear(&hall, &needles);
}
