//! Signing in under attack: parallel code guesses, account enumeration, password spraying
//! from one address.

use crate::{hall, hall_on};
use app::model::CodePurpose;
use app::ports::{OutboxStore, UserStore};
use app::AppError;
use domain::Phone;
use store::testing::Backend;

async fn code_sent(h: &crate::Hall, phone: &str) -> String {
    h.app.jobs().drain().await.unwrap();
    let rows = h
        .store
        .outbox_for_phone(&Phone::parse(phone).unwrap(), 5)
        .await
        .unwrap();
    rows[0]
        .params
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap()
}

async fn parallel_guesses_compare_at_most_five_times(backend: Backend) {
    let h = hall_on(backend).await;
    let phone = "13800138100";
    let a = h.app.accounts();
    a.request_code(phone, CodePurpose::Login, "10.0.0.1")
        .await
        .unwrap();
    let right = code_sent(&h, phone).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let a = a.clone();
        let guess = if i == 20 {
            right.clone()
        } else {
            wrong.to_owned()
        };
        tasks.push(tokio::spawn(async move {
            let p = Phone::parse(phone).unwrap();
            a.verify_code(&p, CodePurpose::Login, &guess, "10.0.0.1")
                .await
        }));
    }
    let mut compared = 0;
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => {
                accepted += 1;
                compared += 1;
            }
            Err(AppError::Invalid { message, .. }) if message.contains("验证码错误") => {
                compared += 1
            }
            Err(AppError::Invalid { message, .. }) => {
                assert!(message.contains("失效"), "{message}")
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(compared <= 5, "{compared} guesses were compared");
    assert!(accepted <= 1);
    // Whatever happened in the race, the code is finished: the right one no longer works.
    let p = Phone::parse(phone).unwrap();
    assert!(a
        .verify_code(&p, CodePurpose::Login, &right, "10.0.0.1")
        .await
        .is_err());
}

#[tokio::test]
async fn parallel_code_guesses_on_sqlite() {
    parallel_guesses_compare_at_most_five_times(Backend::Sqlite).await;
}

#[tokio::test]
async fn parallel_code_guesses_on_postgres() {
    parallel_guesses_compare_at_most_five_times(Backend::Postgres).await;
}

/// The answer to a password login, as the caller sees it.
fn answer(r: Result<app::accounts::NewSession, AppError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{}:{e}", crate::permissions::kind(&e)),
    }
}

#[tokio::test]
async fn password_logins_do_not_tell_which_accounts_exist() {
    let h = hall().await;
    let a = h.app.accounts();
    let with_pw = "13800138201";
    let without_pw = "13800138202";
    let nobody = "13800138203";
    let hash = app::secrets::PasswordCost::for_tests()
        .hash("right-pass-1")
        .unwrap();
    let u = h
        .store
        .create_user(
            &Phone::parse(with_pw).unwrap(),
            Some(&hash),
            crate::T0,
            Default::default(),
        )
        .await
        .unwrap();
    h.user(without_pw).await;
    let mut seen = Vec::new();
    for phone in [with_pw, without_pw, nobody] {
        let answers: Vec<String> = {
            let mut v = Vec::new();
            for _ in 0..6 {
                v.push(answer(
                    a.login_with_password(phone, "wrong-pass-1", "10.1.0.1")
                        .await,
                ));
            }
            v
        };
        seen.push(answers);
    }
    assert_eq!(seen[0], seen[1], "no password looks like a wrong one");
    assert_eq!(seen[0], seen[2], "no account looks like a wrong password");
    assert!(seen[0][0].starts_with("unauthorized:"), "{:?}", seen[0]);
    assert!(
        seen[0][4].starts_with("rate_limited:"),
        "the fifth locks: {:?}",
        seen[0]
    );
    assert!(seen[0][5].starts_with("rate_limited:"));
    // Locked even with the right password, until the window passes.
    assert!(answer(
        a.login_with_password(with_pw, "right-pass-1", "10.1.0.2")
            .await
    )
    .starts_with("rate_limited:"));
    h.clock.advance(15 * app::clock::MINUTE + 1);
    assert_eq!(
        answer(
            a.login_with_password(with_pw, "right-pass-1", "10.1.0.2")
                .await
        ),
        "ok"
    );
    let _ = u;
}

#[tokio::test]
async fn one_address_cannot_spray_passwords_across_accounts() {
    let h = hall().await;
    let a = h.app.accounts();
    let limit = 30; // AuthPolicy::default().login_ip_hourly_limit
    for i in 0..limit {
        let phone = format!("1390000{:04}", i);
        let r = answer(
            a.login_with_password(&phone, "x-pass-123", "10.2.0.9")
                .await,
        );
        assert!(r.starts_with("unauthorized:"), "{i}: {r}");
    }
    let r = answer(
        a.login_with_password("13900009999", "x-pass-123", "10.2.0.9")
            .await,
    );
    assert!(r.starts_with("rate_limited:"), "{r}");
    // Staff logins from there too, also for names that do not exist.
    let r = match a.staff_login("nobody", "x", "123456", "10.2.0.9").await {
        Ok(_) => "ok".into(),
        Err(e) => format!("{}:{e}", crate::permissions::kind(&e)),
    };
    assert!(r.starts_with("unauthorized:"), "staff counts apart: {r}");
    // Another address of another subnet is not affected.
    let r = answer(
        a.login_with_password("13900009999", "x-pass-123", "10.3.0.1")
            .await,
    );
    assert!(r.starts_with("unauthorized:"), "{r}");
    // Another address of the same /24 shares its subnet's larger allowance.
    let r = answer(
        a.login_with_password("13900009998", "x-pass-123", "10.2.0.10")
            .await,
    );
    assert!(r.starts_with("unauthorized:"), "{r}");
}
