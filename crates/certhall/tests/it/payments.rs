//! 在线支付 and 金融认证 over real HTTP: bank transfer voucher and statement matching (camt.053
//! and CSV fixtures, manual queue, idempotent re-import), the sandbox gateway end to end,
//! ten identical callbacks in parallel, the micro-deposit code (right, five wrong, expired,
//! someone else's order), the FAQ (六) failure path, refunds and reconciliation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::authz::StaffActor;
use app::model::Role;
use app::payments::{CreditState, DepositState, PayState};
use certhall::testing::{Backend, TestHall};
use domain::order::{FinState, OrderState};
use reqwest::{multipart, StatusCode};
use support::applicant::{png, submitted_order, Browser};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn finance() -> StaffActor {
    StaffActor {
        id: 1,
        username: "fin".into(),
        display_name: "财务".into(),
        role: Role::Finance,
        ip: None,
    }
}

/// An order of `phone` that passed identity: 待支付.
async fn pending_payment(hall: &TestHall, phone: &str) -> (Browser, String) {
    let (b, no) = submitted_order(hall, phone).await;
    let o = hall.app.order_by_no(&no).await.unwrap();
    hall.app
        .move_order(
            &o,
            OrderState::PendingPayment,
            &o.draft,
            hall.app
                .order_event_by("system".into(), "经办人在线认证通过(测试)"),
        )
        .await
        .unwrap();
    (b, no)
}

async fn upload_voucher(b: &Browser, no: &str) -> (StatusCode, String) {
    let part = multipart::Part::bytes(png(60, 40)).file_name("voucher.png");
    let r =
        b.c.post(format!(
            "{}/orders/{no}/payment/voucher?_csrf={}",
            b.base, b.csrf
        ))
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Everything the import may change, to compare before and after a re-import.
async fn snapshot(hall: &TestHall, nos: &[&str]) -> String {
    let mut s = String::new();
    for c in hall.app.payments.store.credits(100).await.unwrap() {
        s.push_str(&format!(
            "{} {} {:?} {}\n",
            c.entry_ref,
            c.state.as_str(),
            c.order_no,
            c.reason
        ));
    }
    for no in nos {
        let o = hall.app.order_by_no(no).await.unwrap();
        s.push_str(&format!(
            "{no} {} v{} {:?} {}\n",
            o.state.as_str(),
            o.version,
            o.paid_at,
            o.fin_state.as_str()
        ));
        for p in hall
            .app
            .payments
            .store
            .payments_of_order(o.id)
            .await
            .unwrap()
        {
            s.push_str(&format!(
                "  {} {} {:?}\n",
                p.method,
                p.state.as_str(),
                p.provider_ref
            ));
        }
    }
    s
}

async fn bank_transfer_and_statements(backend: Backend) {
    let hall = TestHall::start(backend).await;
    let (b1, no1) = pending_payment(&hall, "13800000001").await;
    let (b2, no2) = pending_payment(&hall, "13800000002").await;
    let (_b3, no3) = pending_payment(&hall, "13800000003").await;
    assert_eq!(
        [no1.as_str(), no2.as_str(), no3.as_str()],
        ["XB20261123000001", "XB20261123000002", "XB20261123000003"]
    );
    // The page: method choice, the receiving account, the order number for the memo.
    let (s, page) = b1.get(&format!("/orders/{no1}/payment")).await;
    assert_eq!(s, StatusCode::OK);
    for text in [
        "公对公转账汇款",
        "网厅缴费(支付宝/微信)",
        "4000023009200181386",
        "附言(必填)",
        &no1,
        "2400.00",
        "公对公付款需上传汇款凭证",
        "小额打款",
    ] {
        assert!(page.contains(text), "{text}");
    }
    // Someone else's order is not there.
    let (s, _) = b2.get(&format!("/orders/{no1}/payment")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A voucher that is not an image or PDF is refused beside the field.
    let part = multipart::Part::bytes(b"MZ\x90\x00".to_vec()).file_name("v.png");
    let r =
        b1.c.post(format!(
            "{}/orders/{no1}/payment/voucher?_csrf={}",
            b1.base, b1.csrf
        ))
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Vouchers for orders 1 and 2: both wait for the match in 待审核, unpaid.
    for (b, no) in [(&b1, &no1), (&b2, &no2)] {
        let (s, body) = upload_voucher(b, no).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let o = hall.app.order_by_no(no).await.unwrap();
        assert_eq!((o.state, o.paid_at), (OrderState::InReview, None));
    }
    let (s, _) = upload_voucher(&b1, &no1).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a second voucher: no longer 待支付"
    );

    // The CSV statement.
    let csv = std::fs::read(format!("{DATA}/statement.csv")).unwrap();
    let fin = finance();
    let r = hall
        .app
        .import_statement(Some(&fin), "statement.csv", &csv)
        .await
        .unwrap();
    eprintln!("CSV import: {r:#?}");
    assert_eq!(
        (r.format.as_str(), r.entries, r.new_entries, r.ignored),
        ("csv", 6, 6, 1)
    );
    assert_eq!(r.matched, vec![("CSV-0001".to_owned(), no1.clone())]);
    let manual: Vec<&str> = r.manual.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(manual, ["CSV-0002", "CSV-0003", "CSV-0004", "CSV-0006"]);
    assert!(r.manual[0].1.contains("金额不符"), "{:?}", r.manual[0]);
    assert!(r.manual[1].1.contains("多个业务单号"), "{:?}", r.manual[1]);
    assert!(r.manual[2].1.contains("没有业务单号"), "{:?}", r.manual[2]);
    assert!(r.manual[3].1.contains("不存在"), "{:?}", r.manual[3]);
    let o1 = hall.app.order_by_no(&no1).await.unwrap();
    assert!(o1.paid_at.is_some());
    assert_eq!(
        (o1.state, o1.fin_state),
        (OrderState::InReview, FinState::Passed)
    );
    let p1 = hall
        .app
        .payments
        .store
        .payments_of_order(o1.id)
        .await
        .unwrap();
    assert_eq!(p1.len(), 1, "the voucher's payment is the one marked paid");
    assert_eq!(
        (p1[0].state, p1[0].provider_ref.as_deref()),
        (PayState::Paid, Some("CSV-0001"))
    );
    // Order 2 is still waiting.
    assert_eq!(hall.app.order_by_no(&no2).await.unwrap().paid_at, None);

    // The same file again: nothing changes.
    let before = snapshot(&hall, &[&no1, &no2, &no3]).await;
    let again = hall
        .app
        .import_statement(Some(&fin), "statement.csv", &csv)
        .await
        .unwrap();
    assert!(
        again.duplicate_file
            && again.new_entries == 0
            && again.matched.is_empty()
            && again.manual.is_empty()
    );
    assert_eq!(snapshot(&hall, &[&no1, &no2, &no3]).await, before);

    // Finance works the manual queue: CSV-0003 (two numbers) is order 2's payment; a wrong
    // amount cannot be matched; CSV-0004 is returned with a reason.
    let queue = hall.app.finance_credits(&fin, true).await.unwrap();
    let id = |e: &str| queue.iter().find(|c| c.entry_ref == e).unwrap().id;
    let err = hall
        .app
        .finance_match(&fin, id("CSV-0002"), &no2)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("金额不符"), "{err}");
    hall.app
        .finance_match(&fin, id("CSV-0003"), &no2)
        .await
        .unwrap();
    let err = hall
        .app
        .finance_reject(&fin, id("CSV-0004"), " ")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("退回原因"));
    hall.app
        .finance_reject(&fin, id("CSV-0004"), "非本业务款项,已原路退回")
        .await
        .unwrap();
    let o2 = hall.app.order_by_no(&no2).await.unwrap();
    assert!(o2.paid_at.is_some() && o2.fin_state == FinState::Passed);
    // Roles: a reviewer may not touch the queue.
    let mut reviewer = finance();
    reviewer.role = Role::Reviewer;
    assert!(matches!(
        hall.app.finance_credits(&reviewer, true).await,
        Err(app::AppError::Forbidden)
    ));
    assert!(matches!(
        hall.app
            .import_statement(Some(&reviewer), "x.csv", &csv)
            .await,
        Err(app::AppError::Forbidden)
    ));

    // The camt.053 statement: CAMT-0002 has another payer name (manual), CAMT-0001 pays order
    // 3 from an account that is not its 金融认证信息 (paid, 金融认证 not passed by it),
    // CSV-0001 was seen in the CSV (not new), a debit and a USD credit are ignored.
    let xml = std::fs::read(format!("{DATA}/statement.camt053.xml")).unwrap();
    let r = hall
        .app
        .import_statement(None, "statement.camt053.xml", &xml)
        .await
        .unwrap();
    eprintln!("camt.053 import: {r:#?}");
    assert_eq!(
        (r.format.as_str(), r.entries, r.new_entries, r.ignored),
        ("camt.053", 5, 4, 2)
    );
    assert_eq!(r.matched, vec![("CAMT-0001".to_owned(), no3.clone())]);
    assert_eq!(r.manual.len(), 1);
    assert!(
        r.manual[0].1.contains("付款人名称与单位名称不一致"),
        "{:?}",
        r.manual
    );
    let o3 = hall.app.order_by_no(&no3).await.unwrap();
    assert!(o3.paid_at.is_some());
    assert_eq!(
        (o3.state, o3.fin_state),
        (OrderState::InReview, FinState::Pending)
    );
    let before = snapshot(&hall, &[&no1, &no2, &no3]).await;
    let again = hall
        .app
        .import_statement(None, "statement.camt053.xml", &xml)
        .await
        .unwrap();
    assert!(again.duplicate_file && again.matched.is_empty() && again.manual.is_empty());
    assert_eq!(snapshot(&hall, &[&no1, &no2, &no3]).await, before);
    let states: Vec<(String, &str)> = hall
        .app
        .payments
        .store
        .credits(100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.entry_ref, c.state.as_str()))
        .collect();
    eprintln!("credits: {states:?}");
    assert_eq!(
        hall.app
            .payments
            .store
            .credits_in_state(CreditState::Manual)
            .await
            .unwrap()
            .len(),
        3,
        "CSV-0002, CSV-0006, CAMT-0002 wait; CSV-0004 was rejected, CSV-0003 matched"
    );
    // The payer account is sealed at rest.
    let db = std::fs::read(
        hall.db_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap(),
    );
    if let Ok(db) = db {
        assert!(!db.windows(19).any(|w| w == b"6222020200112233445"));
    }
}

#[tokio::test]
async fn bank_transfer_statements_sqlite() {
    bank_transfer_and_statements(Backend::Sqlite).await;
}

#[tokio::test]
async fn bank_transfer_statements_postgres() {
    bank_transfer_and_statements(Backend::Postgres).await;
}

/// The newest micro-deposit code from the sandbox bank statement page, as the unit's
/// finance would read it.
async fn code_from_statement(b: &Browser, no: &str) -> String {
    let (s, page) = b.get("/sandbox/payouts").await;
    assert_eq!(s, StatusCode::OK);
    let row = page
        .split("<tr>")
        .find(|r| r.contains(no) && r.contains("金融认证验证码"))
        .unwrap_or_else(|| panic!("no payout for {no}: {page}"));
    let i = row.find("金融认证验证码").unwrap() + "金融认证验证码".len();
    row[i..i + 6].to_owned()
}

async fn pay_in_sandbox(b: &Browser, no: &str) -> String {
    let (s, loc, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert!(loc.starts_with("/sandbox/pay/"), "{loc}");
    let trade_no = loc.trim_start_matches("/sandbox/pay/").to_owned();
    let (s, page) = b.get(&loc).await;
    assert!(s == StatusCode::OK && page.contains("确认支付") && page.contains("2400.00"));
    let (s, back, _) = b.form(&loc, &[]).await;
    assert_eq!(
        (s, back),
        (StatusCode::SEE_OTHER, format!("/orders/{no}/payment"))
    );
    trade_no
}

#[tokio::test]
async fn sandbox_payment_and_micro_deposit_code() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = pending_payment(&hall, "13800000011").await;
    // The return page alone credits nothing.
    let (s, _) = b.get(&format!("/orders/{no}/payment")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hall.app.order_by_no(&no).await.unwrap().paid_at, None);
    pay_in_sandbox(&b, &no).await;
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert!(o.paid_at.is_some());
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::PendingFinancial, FinState::Pending)
    );
    // 我的订单: the payment and the code entry.
    let (_, page) = b.get(&format!("/orders/{no}/payment")).await;
    assert!(
        page.contains("已到账") && page.contains("随机验证码") && page.contains("id=\"code-form\"")
    );
    let code = code_from_statement(&b, &no).await;
    // Someone else cannot enter it.
    let (other, _) = pending_payment(&hall, "13800000012").await;
    let (s, _, _) = other
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code)])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A wrong code says how many tries are left; then the right one passes.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, _, body) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", wrong)])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("验证码错误,还可输入4次"), "{body}");
    let (s, _, body) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", "12ab")])
        .await;
    assert!(s == StatusCode::BAD_REQUEST && body.contains("请输入6位数字验证码"));
    let (s, _, _) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::InReview, FinState::Passed)
    );
    assert!(o.review_since.is_some());
    // JSON API shows the same.
    let v: serde_json::Value =
        b.c.get(format!("{}/api/v1/orders/{no}/payment", b.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        (v["state"].as_str(), v["fin_state"].as_str()),
        (Some("in_review"), Some("passed"))
    );
    assert_eq!(v["payments"][0]["state"], "paid");
    let events = hall.app.order_history(o.user_id, &no).await.unwrap().1;
    assert!(events
        .iter()
        .any(|e| e.what.contains("沙箱支付(演示)支付成功")));
    assert!(events.iter().any(|e| e.what.contains("金融认证通过")));
}

#[tokio::test]
async fn ten_identical_callbacks_in_parallel_credit_once() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = pending_payment(&hall, "13800000021").await;
    let (s, loc, _) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let trade_no = loc.trim_start_matches("/sandbox/pay/").to_owned();
    let g = hall.app.payments.gateway("sandbox").unwrap().clone();
    // A forged one (amount changed after signing) and a wrong amount credit nothing.
    let n = g.sandbox_notification(&trade_no, 240_000).unwrap();
    let forged = String::from_utf8(n.body.clone())
        .unwrap()
        .replace("amount_fen=240000", "amount_fen=1");
    let wrong_amount = g.sandbox_notification(&trade_no, 1).unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/callbacks/sandbox", hall.base);
    for body in [forged.into_bytes(), wrong_amount.body.clone()] {
        let r = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(hall.app.order_by_no(&no).await.unwrap().paid_at, None);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (client, url, body) = (client.clone(), url.clone(), n.body.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (StatusCode::OK, "success".to_owned()));
    }
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(o.state, OrderState::PendingFinancial);
    let events = hall.app.order_history(o.user_id, &no).await.unwrap().1;
    let credits = events
        .iter()
        .filter(|e| e.what.contains("支付成功"))
        .count();
    let deposits = hall
        .app
        .payments
        .store
        .deposits_of_order(o.id)
        .await
        .unwrap();
    let paid = hall
        .app
        .payments
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.state == PayState::Paid)
        .count();
    eprintln!("10 parallel callbacks: {credits} credit event(s), {paid} paid payment(s), {} micro-deposit(s)", deposits.len());
    assert_eq!((credits, paid, deposits.len()), (1, 1, 1));
}

#[tokio::test]
async fn five_wrong_codes_void_then_refill_and_expiry() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = pending_payment(&hall, "13800000031").await;
    pay_in_sandbox(&b, &no).await;
    let code = code_from_statement(&b, &no).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 1..=5 {
        let (s, _, body) = b
            .form(&format!("/orders/{no}/payment/code"), &[("code", wrong)])
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        if i < 5 {
            assert!(body.contains(&format!("还可输入{}次", 5 - i)), "{body}");
        } else {
            assert!(body.contains("连续5次输入错误,验证码已作废"), "{body}");
        }
    }
    // Void: even the right code no longer works; 金融认证 failed, FAQ (六) SMS sent.
    let (s, _, _) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code)])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::PendingFinancial, FinState::Failed)
    );
    let d = hall
        .app
        .payments
        .store
        .deposits_of_order(o.id)
        .await
        .unwrap();
    assert_eq!(d[0].state, DepositState::Void);
    hall.drain().await;
    let inbox = hall
        .app
        .sandbox_inbox(support::applicant::HANDLER_PHONE)
        .await
        .unwrap();
    let sms = inbox
        .iter()
        .find(|(m, _)| m.template == "fin_failed")
        .map(|(_, text)| text.clone())
        .expect("FAQ 六 SMS");
    eprintln!("FAQ 六 SMS: {sms}");
    assert!(sms.contains("深圳市某某科技有限公司证书新办金融认证信息认证不通过,驳回原因:小额打款验证码连续5次输入错误"));
    assert!(sms.contains("金融认证信息通过后才能获取证书PIN码或者证书激活码"));
    // Only 金融认证信息 opens: the page shows that form; a wrong account name is refused.
    let (_, page) = b.get(&format!("/orders/{no}/payment")).await;
    assert!(page.contains("id=\"refill-form\"") && !page.contains("id=\"code-form\""));
    let (s, _, body) = b
        .form(
            &format!("/orders/{no}/payment/financial"),
            &[
                ("bank_account_name", "别的公司有限公司"),
                ("bank_name", "中国银行深圳分行"),
                ("bank_account", "6217856000012345678"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("开户名须与单位名称一致"), "{body}");
    let (s, _, body) = b
        .form(
            &format!("/orders/{no}/payment/financial"),
            &[
                ("bank_account_name", "深圳市某某科技有限公司"),
                ("bank_name", "中国银行深圳分行"),
                ("bank_account", "6217856000012345678"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(o.fin_state, FinState::Pending);
    assert_eq!(o.draft.form.bank_account, "6217856000012345678");
    assert_eq!(
        o.draft.form.unit_name, "深圳市某某科技有限公司",
        "other sections unchanged"
    );
    let d = hall
        .app
        .payments
        .store
        .deposits_of_order(o.id)
        .await
        .unwrap();
    assert_eq!((d.len(), d[0].state), (2, DepositState::Sent));
    assert_eq!(d[0].account, "6217856000012345678");
    // Expiry: after 7 days the new code is refused.
    let code2 = code_from_statement(&b, &no).await;
    hall.clock.advance(7 * 86_400_000 + 1);
    // (The session ended meanwhile: log in again.)
    let b = Browser::login(&hall, "13800000031").await;
    let (s, _, body) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code2)])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("验证码已过期"), "{body}");
    // Re-send (the third and last deposit), and its code passes.
    let (s, _, _) = b.form(&format!("/orders/{no}/payment/resend"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let code3 = code_from_statement(&b, &no).await;
    let (s, _, _) = b.form(&format!("/orders/{no}/payment/resend"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "no re-send while a code is open");
    let (s, _, _) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code3)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::InReview, FinState::Passed)
    );
}

#[tokio::test]
async fn finance_fails_financial_auth_and_refunds_and_reconciles() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = pending_payment(&hall, "13800000041").await;
    pay_in_sandbox(&b, &no).await;
    let fin = finance();
    hall.app
        .fail_financial(&fin, &no, "小额打款被退回,对公账户信息有误")
        .await
        .unwrap();
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(o.fin_state, FinState::Failed);
    hall.drain().await;
    let inbox = hall
        .app
        .sandbox_inbox(support::applicant::HANDLER_PHONE)
        .await
        .unwrap();
    assert!(inbox.iter().any(|(m, t)| m.template == "fin_failed"
        && t.contains("驳回原因:小额打款被退回,对公账户信息有误")));
    // Reconciliation of the day: the sandbox payment, amount equal to the price.
    let lines = hall.app.reconciliation(&fin, "2026-11-23").await.unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].paid_fen, lines[0].due_fen, lines[0].check.as_str()),
        (240_000, 240_000, "一致")
    );
    let csv = app::payments::reconciliation_csv(&lines);
    eprintln!("reconciliation CSV:\n{csv}");
    assert!(csv.contains(&no) && csv.contains("2400.00"));
    // Refund only for cancelled or rejected orders.
    let p = hall
        .app
        .payments
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()[0]
        .clone();
    assert!(hall.app.refund(&fin, p.id, "撤单退款").await.is_err());
}

// ---- cancelling a paid order, refund retries, duplicate payments (D6) ----

/// Starts a sandbox payment without paying it: its trade number.
async fn start_sandbox(b: &Browser, no: &str) -> String {
    let (s, loc, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    loc.trim_start_matches("/sandbox/pay/").to_owned()
}

async fn payments_of(hall: &TestHall, no: &str) -> Vec<app::payments::PaymentRecord> {
    let o = hall.app.order_by_no(no).await.unwrap();
    hall.app
        .payments
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()
}

async fn audit_actions(hall: &TestHall) -> Vec<String> {
    hall.app
        .store
        .audit_all()
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|r| r.event.action)
        .collect()
}

#[tokio::test]
async fn applicant_cancels_a_paid_order_and_only_finance_refunds_it() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let fin = finance();
    let (b, no) = pending_payment(&hall, "13800000091").await;
    pay_in_sandbox(&b, &no).await;
    assert_eq!(
        hall.app.order_by_no(&no).await.unwrap().state,
        OrderState::PendingFinancial
    );
    // The order page offers 取消业务单 with a confirmation box.
    let (_, page) = b.get(&format!("/orders/{no}")).await;
    assert!(
        page.contains("id=\"cancel-form\"") && page.contains("name=\"confirm\""),
        "{page}"
    );
    // Without the box ticked nothing happens.
    let (s, _, body) = b.form(&format!("/orders/{no}/cancel"), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("请勾选“确认取消”"), "{body}");
    assert_eq!(
        hall.app.order_by_no(&no).await.unwrap().state,
        OrderState::PendingFinancial
    );
    // An active paid order is not refundable.
    assert!(hall.app.refundable(&fin).await.unwrap().is_empty());
    let p = payments_of(&hall, &no).await[0].clone();
    assert!(hall.app.refund(&fin, p.id, "撤单").await.is_err());
    // Confirmed: cancelled, recorded in the history and the audit log; no money moves.
    let (s, loc, body) = b
        .form(&format!("/orders/{no}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, format!("/orders/{no}").as_str()),
        "{body}"
    );
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(o.state, OrderState::Cancelled);
    let events = hall.app.order_history(o.user_id, &no).await.unwrap().1;
    assert!(
        events
            .iter()
            .any(|e| e.what == "经办人取消业务单(原状态:待金融认证),已付款项2400.00元待财务退款"),
        "{events:?}"
    );
    assert!(audit_actions(&hall)
        .await
        .contains(&"order.cancelled".to_string()));
    assert_eq!(payments_of(&hall, &no).await[0].state, PayState::Paid);
    // The micro-deposit code of a cancelled order is refused.
    let (s, _, _) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", "123456")])
        .await;
    assert_ne!(s, StatusCode::SEE_OTHER);
    // Finance sees it in the refund list and refunds it through the gateway.
    let (cashier, _) = support::desk::staff(&hall, Role::Finance, "cash").await;
    let (s, page) = cashier.get("/staff/finance").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&no) && page.contains(&format!("/staff/finance/payments/{}/refund", p.id)),
        "{page}"
    );
    let (s, loc, body) = cashier
        .form(
            &format!("/staff/finance/payments/{}/refund", p.id),
            &[("reason", "经办人撤单退款")],
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/staff/finance"),
        "{body}"
    );
    let p = payments_of(&hall, &no).await[0].clone();
    assert_eq!(p.state, PayState::Refunded);
    assert!(p.refund_ref.as_deref().unwrap().starts_with("SBXRF"));
    let events = hall.app.order_history(o.user_id, &no).await.unwrap().1;
    assert!(events.iter().any(|e| e.what.contains("已退款2400.00元")));
    let actions = audit_actions(&hall).await;
    for a in ["payment.refund_requested", "payment.refunded"] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    assert!(hall.app.refundable(&fin).await.unwrap().is_empty());

    // 待审核 while a reviewer holds the claim: refused in Chinese; once the claim went
    // stale (nobody is reviewing it), allowed.
    let (b2, no2) = pending_payment(&hall, "13800000092").await;
    pay_in_sandbox(&b2, &no2).await;
    let o2 = hall.app.order_by_no(&no2).await.unwrap();
    hall.app
        .move_order(
            &o2,
            OrderState::InReview,
            &o2.draft,
            hall.app
                .order_event_by("system".into(), "金融认证通过(测试)"),
        )
        .await
        .unwrap();
    let (_, rev) = support::desk::staff(&hall, Role::Reviewer, "rev").await;
    hall.app.claim_review(&rev, &no2).await.unwrap();
    let (s, _, body) = b2
        .form(&format!("/orders/{no2}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("审核人员正在审核该业务单,暂不能取消"),
        "{body}"
    );
    assert_eq!(
        hall.app.order_by_no(&no2).await.unwrap().state,
        OrderState::InReview
    );
    // (Two hours on, the page session has expired: the use case itself.)
    hall.clock.advance(2 * 3_600_000 + 1);
    let user2 = hall.app.order_by_no(&no2).await.unwrap().user_id;
    hall.app.cancel_order(user2, &no2, true).await.unwrap();
    assert_eq!(
        hall.app.order_by_no(&no2).await.unwrap().state,
        OrderState::Cancelled
    );
    // The reviewer can no longer decide it.
    assert!(hall.app.claim_review(&rev, &no2).await.is_err());
    let listed: Vec<String> = hall
        .app
        .refundable(&fin)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.order_no)
        .collect();
    assert_eq!(listed, vec![no2.clone()]);

    // 待支付 with the JSON API (the call is the confirmation): nothing paid, nothing to refund.
    let (b3, no3) = pending_payment(&hall, "13800000093").await;
    let r =
        b3.c.post(format!("{}/api/v1/orders/{no3}/cancel", b3.base))
            .header("X-CSRF-Token", &b3.csrf)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        hall.app.order_by_no(&no3).await.unwrap().state,
        OrderState::Cancelled
    );
    assert_eq!(hall.app.refundable(&fin).await.unwrap().len(), 1);
}

/// A gateway that accepts a refund and then loses the answer once (a crash between the
/// call and our record), counting calls per refund number; it refunds once per number,
/// as Alipay (out_request_no) and WeChat Pay (out_refund_no) do.
struct LosesFirstRefundAnswer {
    inner: gateways::payments::SandboxGateway,
    calls: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    lose: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl app::payments::PaymentGateway for LosesFirstRefundAnswer {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn label(&self) -> &'static str {
        "测试网关"
    }
    fn merchant(&self) -> String {
        self.inner.merchant()
    }
    async fn start(
        &self,
        req: &app::payments::PayRequest,
    ) -> Result<app::payments::PayStart, app::GatewayError> {
        self.inner.start(req).await
    }
    fn verify(
        &self,
        n: &app::payments::Notification,
        now: i64,
    ) -> Result<app::payments::Notice, app::GatewayError> {
        self.inner.verify(n, now)
    }
    fn ack(&self, ok: bool) -> app::payments::Ack {
        self.inner.ack(ok)
    }
    async fn refund(
        &self,
        req: &app::payments::RefundRequest,
    ) -> Result<String, app::GatewayError> {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(req.refund_no.clone())
            .or_default() += 1;
        let r = self.inner.refund(req).await?;
        if self.lose.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(app::GatewayError::Unavailable(
                "connection reset after the refund was accepted".into(),
            ));
        }
        Ok(r)
    }
}

#[tokio::test]
async fn a_refund_retried_after_a_lost_answer_refunds_once() {
    use app::payments::PaymentGateway;
    let flaky = std::sync::Arc::new(LosesFirstRefundAnswer {
        inner: gateways::payments::SandboxGateway::new(),
        calls: Default::default(),
        lose: std::sync::atomic::AtomicBool::new(true),
    });
    let hall = TestHall::builder(Backend::Sqlite)
        .gateways(vec![flaky.clone() as std::sync::Arc<dyn PaymentGateway>])
        .start()
        .await;
    let fin = finance();
    let (b, no) = pending_payment(&hall, "13800000094").await;
    let (s, _, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "flaky")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let p = payments_of(&hall, &no).await[0].clone();
    assert_eq!(p.provider, "flaky");
    let n = flaky
        .inner
        .sandbox_notification(&p.trade_no, p.amount_fen)
        .unwrap();
    assert_eq!(
        hall.app.payment_notify("flaky", &n).await.unwrap().status,
        200
    );
    let o = hall.app.order_by_no(&no).await.unwrap();
    hall.app.cancel_order(o.user_id, &no, true).await.unwrap();

    // The gateway accepted the refund but its answer was lost: recorded as requested.
    let e = hall.app.refund(&fin, p.id, "撤单退款").await.unwrap_err();
    assert!(matches!(e, app::AppError::Unavailable(_)), "{e:?}");
    let after = payments_of(&hall, &no).await[0].clone();
    assert_eq!(
        (after.state, after.refunded_at),
        (PayState::Refunding, None)
    );
    let listed = hall.app.refundable(&fin).await.unwrap();
    assert_eq!((listed.len(), listed[0].state.label()), (1, "退款处理中"));
    // Finance retries: the same refund number, the gateway refunds once, we record it.
    hall.app.refund(&fin, p.id, "撤单退款").await.unwrap();
    let done = payments_of(&hall, &no).await[0].clone();
    assert_eq!(done.state, PayState::Refunded);
    let calls = flaky.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one refund number: {calls:?}");
    assert_eq!(
        calls.get(&app::payments::refund_no(&p)).copied(),
        Some(2),
        "{calls:?}"
    );
    // Refunded: a third try does not reach the gateway.
    assert!(hall.app.refund(&fin, p.id, "撤单退款").await.is_err());
    assert_eq!(flaky.calls.lock().unwrap().values().sum::<usize>(), 2);
    assert!(hall.app.refundable(&fin).await.unwrap().is_empty());
    let events = hall.app.order_history(o.user_id, &no).await.unwrap().1;
    assert_eq!(
        events.iter().filter(|e| e.what.contains("已退款")).count(),
        1
    );
}

#[tokio::test]
async fn a_second_online_payment_is_put_before_finance_for_refund() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let fin = finance();
    let (b, no) = pending_payment(&hall, "13800000095").await;
    // Two tabs: two payments started while 待支付, both paid.
    let t1 = start_sandbox(&b, &no).await;
    let t2 = start_sandbox(&b, &no).await;
    for t in [&t1, &t2] {
        let (s, _, _) = b.form(&format!("/sandbox/pay/{t}"), &[]).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    let ps = payments_of(&hall, &no).await;
    assert!(ps.iter().all(|p| p.state == PayState::Paid));
    let first = ps.iter().find(|p| p.trade_no == t1).unwrap().clone();
    let second = ps.iter().find(|p| p.trade_no == t2).unwrap().clone();
    assert_eq!(
        hall.app.order_by_no(&no).await.unwrap().state,
        OrderState::PendingFinancial
    );
    // Listed as a duplicate, not as a cancelled order's refund; the order's own payment is
    // not refundable.
    let dups = hall.app.duplicate_payments(&fin).await.unwrap();
    assert_eq!(
        dups.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert!(hall.app.refundable(&fin).await.unwrap().is_empty());
    assert!(hall.app.refund(&fin, first.id, "误退").await.is_err());
    // The finance page shows it with a refund button; the CSV says so.
    let (cashier, _) = support::desk::staff(&hall, Role::Finance, "cash").await;
    let (_, page) = cashier.get("/staff/finance").await;
    let dup_table = &page[page.find("id=\"duplicates\"").unwrap()..];
    assert!(
        dup_table.contains("重复付款,待退款")
            && dup_table.contains(&no)
            && dup_table.contains(&format!("/staff/finance/payments/{}/refund", second.id)),
        "{page}"
    );
    let (s, csv) = cashier
        .get("/staff/finance/reconciliation.csv?day=2026-11-23")
        .await;
    assert_eq!(s, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().filter(|l| l.contains(&no)).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&first.provider_ref.clone().unwrap()) && l.ends_with("\"一致\"")),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&second.provider_ref.clone().unwrap())
                && l.ends_with("\"重复付款,待退款\"")),
        "{csv}"
    );
    // Refunded through the page: the order goes on, the CSV says refunded.
    let (s, _, body) = cashier
        .form(
            &format!("/staff/finance/payments/{}/refund", second.id),
            &[("reason", "重复付款退款")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let o = hall.app.order_by_no(&no).await.unwrap();
    assert_eq!(o.state, OrderState::PendingFinancial);
    let ps = payments_of(&hall, &no).await;
    assert_eq!(
        ps.iter().map(|p| p.state).collect::<Vec<_>>(),
        vec![PayState::Paid, PayState::Refunded]
    );
    assert!(hall.app.duplicate_payments(&fin).await.unwrap().is_empty());
    let events = hall.app.order_history(o.user_id, &no).await.unwrap().1;
    assert!(events
        .iter()
        .any(|e| e.what.contains("重复付款已退款2400.00元")));
    let (_, csv) = cashier
        .get("/staff/finance/reconciliation.csv?day=2026-11-23")
        .await;
    assert!(csv.contains("\"重复付款,已退款\""), "{csv}");
}

// ---- real protocols against a local server ----

mod real {
    use super::*;
    use app::payments::PaymentGateway;
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use gateways::payments::alipay::{
        rsa2_sign, rsa2_verify, sign_content, signing_key, verifying_key, Alipay, AlipayConfig,
    };
    use gateways::payments::wechat::{encrypt_resource, WechatConfig, WechatPay};
    use gateways::payments::{form_decode, form_encode};
    use std::sync::Arc;

    fn pem(name: &str) -> String {
        std::fs::read_to_string(format!("{DATA}/test_{name}.pem")).unwrap()
    }

    pub const ALIPAY_APP: &str = "2021000000000001";
    pub const MCHID: &str = "1900000109";
    pub const APPID: &str = "wxd678efh567hg6787";
    pub const V3KEY: &str = "0123456789abcdef0123456789ABCDEF";

    /// A local server that checks requests the way Alipay and WeChat Pay would and answers
    /// with their signatures.
    async fn gateway_server() -> String {
        async fn alipay(body: Bytes) -> axum::response::Response {
            let pairs = form_decode(&body).unwrap();
            let get = |k: &str| {
                pairs
                    .iter()
                    .find(|(x, _)| x == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let ok = rsa2_verify(
                &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
                &sign_content(&pairs, &[]),
                &get("sign"),
            ) && get("app_id") == ALIPAY_APP
                && get("sign_type") == "RSA2"
                && get("method") == "alipay.trade.refund";
            let biz: serde_json::Value =
                serde_json::from_str(&get("biz_content")).unwrap_or_default();
            let member = if ok && biz["refund_amount"] == "2400.00" {
                format!(
                    r#"{{"code":"10000","msg":"Success","trade_no":"2026112322001400000000000001","out_trade_no":"{}","refund_fee":"2400.00","fund_change":"Y"}}"#,
                    biz["out_trade_no"].as_str().unwrap_or("")
                )
            } else {
                r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}"#.to_owned()
            };
            let sign = rsa2_sign(&signing_key(&pem("alipay_platform_key")).unwrap(), &member);
            format!(r#"{{"alipay_trade_refund_response":{member},"sign":"{sign}"}}"#)
                .into_response()
        }
        async fn wechat(
            uri: axum::http::Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> axum::response::Response {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let field = |k: &str| {
                let i = auth.find(&format!("{k}=\"")).map(|i| i + k.len() + 2)?;
                let end = auth[i..].find('"')? + i;
                Some(auth[i..end].to_owned())
            };
            let msg = format!(
                "POST\n{}\n{}\n{}\n{}\n",
                uri.path(),
                field("timestamp").unwrap_or_default(),
                field("nonce_str").unwrap_or_default(),
                String::from_utf8_lossy(&body)
            );
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let ok = auth.starts_with("WECHATPAY2-SHA256-RSA2048 ")
                && field("mchid").as_deref() == Some(MCHID)
                && rsa2_verify(
                    &verifying_key(&pem("wechat_merchant_pub")).unwrap(),
                    &msg,
                    &field("signature").unwrap_or_default(),
                );
            let (status, answer) = if !ok {
                (
                    401,
                    r#"{"code":"SIGN_ERROR","message":"签名错误"}"#.to_owned(),
                )
            } else if uri.path() == "/v3/pay/transactions/native"
                && v["amount"]["total"] == 240_000
                && v["amount"]["currency"] == "CNY"
                && v["appid"] == APPID
            {
                (
                    200,
                    r#"{"code_url":"weixin://wxpay/bizpayurl?pr=TESTQR1"}"#.to_owned(),
                )
            } else if uri.path() == "/v3/refund/domestic/refunds"
                && v["amount"]["refund"] == 240_000
            {
                (
                    200,
                    r#"{"refund_id":"50000000382019052709732678859","status":"PROCESSING"}"#
                        .to_owned(),
                )
            } else {
                (
                    400,
                    r#"{"code":"PARAM_ERROR","message":"参数错误"}"#.to_owned(),
                )
            };
            let ts = (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs())
            .to_string();
            let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
            let sig = rsa2_sign(
                &signing_key(&pem("wechat_platform_key")).unwrap(),
                &format!("{ts}\n{nonce}\n{answer}\n"),
            );
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [
                    ("content-type", "application/json".to_owned()),
                    ("wechatpay-timestamp", ts),
                    ("wechatpay-nonce", nonce.to_owned()),
                    ("wechatpay-signature", sig),
                    ("wechatpay-serial", "PLATFORM-SERIAL-1".to_owned()),
                ],
                answer,
            )
                .into_response()
        }
        let app = axum::Router::new()
            .route("/gateway.do", axum::routing::post(alipay))
            .route("/v3/pay/transactions/native", axum::routing::post(wechat))
            .route("/v3/refund/domestic/refunds", axum::routing::post(wechat));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        base
    }

    async fn hall_with_real(server: &str) -> TestHall {
        let alipay = Alipay::new(AlipayConfig {
            app_id: ALIPAY_APP.into(),
            private_key_pem: pem("alipay_merchant_key").into(),
            alipay_public_key_pem: pem("alipay_platform_pub"),
            gateway_url: format!("{server}/gateway.do"),
        })
        .unwrap();
        let wechat = WechatPay::new(WechatConfig {
            mchid: MCHID.into(),
            appid: APPID.into(),
            serial_no: "MERCHANT-SERIAL-1".into(),
            private_key_pem: pem("wechat_merchant_key").into(),
            platform_public_key_pem: pem("wechat_platform_pub"),
            platform_serial: "PLATFORM-SERIAL-1".into(),
            api_v3_key: V3KEY.to_owned().into(),
            base_url: server.into(),
        })
        .unwrap();
        TestHall::builder(Backend::Sqlite)
            .gateways(vec![
                Arc::new(alipay) as Arc<dyn PaymentGateway>,
                Arc::new(wechat),
            ])
            .start()
            .await
    }

    async fn post(
        hall: &TestHall,
        gw: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let mut r = reqwest::Client::new().post(format!("{}/api/v1/callbacks/{gw}", hall.base));
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        let r = r.body(body).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Paid payments and credit events of an order.
    async fn credits(hall: &TestHall, no: &str) -> (usize, usize) {
        let o = hall.app.order_by_no(no).await.unwrap();
        let paid = hall
            .app
            .payments
            .store
            .payments_of_order(o.id)
            .await
            .unwrap()
            .iter()
            .filter(|p| p.state == PayState::Paid)
            .count();
        let ev = hall.app.order_history(o.user_id, no).await.unwrap().1;
        (
            paid,
            ev.iter().filter(|e| e.what.contains("支付成功")).count(),
        )
    }

    fn alipay_notify(
        key: &str,
        trade_no: &str,
        amount: &str,
        status: &str,
        app_id: &str,
    ) -> Vec<u8> {
        let mut pairs: Vec<(String, String)> = [
            ("notify_time", "2026-11-23 10:05:00"),
            ("notify_type", "trade_status_sync"),
            ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
            ("app_id", app_id),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("sign_type", "RSA2"),
            ("trade_no", "2026112322001404000000000001"),
            ("out_trade_no", trade_no),
            ("total_amount", amount),
            ("trade_status", status),
            ("subject", "数字证书 业务单"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = rsa2_sign(
            &signing_key(&pem(key)).unwrap(),
            &sign_content(&pairs, &["sign_type"]),
        );
        pairs.push(("sign".into(), sig));
        form_encode(&pairs).into_bytes()
    }

    #[tokio::test]
    async fn alipay_rsa2_against_a_local_server() {
        let server = gateway_server().await;
        let hall = hall_with_real(&server).await;
        let (b, no) = pending_payment(&hall, "13800000051").await;
        let (s, loc, body) = b
            .form(
                &format!("/orders/{no}/payment/online"),
                &[("gateway", "alipay")],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        // The page-pay redirect carries a request Alipay accepts: RSA2 over the sorted pairs.
        let (url, query) = loc.split_once('?').unwrap();
        assert_eq!(url, format!("{server}/gateway.do"));
        let pairs = form_decode(query.as_bytes()).unwrap();
        let get = |k: &str| pairs.iter().find(|(x, _)| x == k).unwrap().1.clone();
        assert!(rsa2_verify(
            &verifying_key(&pem("alipay_merchant_pub")).unwrap(),
            &sign_content(&pairs, &[]),
            &get("sign")
        ));
        let biz: serde_json::Value = serde_json::from_str(&get("biz_content")).unwrap();
        assert_eq!(biz["total_amount"], "2400.00");
        assert!(get("notify_url").ends_with("/api/v1/callbacks/alipay"));
        let trade_no = biz["out_trade_no"].as_str().unwrap().to_owned();
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        )];

        // Refused: signed with another key (forged), changed after signing, wrong amount,
        // another merchant, an unknown order.
        let mut refused = vec![
            alipay_notify(
                "alipay_merchant_key",
                &trade_no,
                "2400.00",
                "TRADE_SUCCESS",
                ALIPAY_APP,
            ),
            String::from_utf8(alipay_notify(
                "alipay_platform_key",
                &trade_no,
                "2400.00",
                "TRADE_SUCCESS",
                ALIPAY_APP,
            ))
            .unwrap()
            .replace("total_amount=2400.00", "total_amount=0.01")
            .into_bytes(),
            alipay_notify(
                "alipay_platform_key",
                &trade_no,
                "0.01",
                "TRADE_SUCCESS",
                ALIPAY_APP,
            ),
            alipay_notify(
                "alipay_platform_key",
                &trade_no,
                "2400.00",
                "TRADE_SUCCESS",
                "2021000000009999",
            ),
            alipay_notify(
                "alipay_platform_key",
                "XB20261123000001PFFFF",
                "2400.00",
                "TRADE_SUCCESS",
                ALIPAY_APP,
            ),
        ];
        refused.push(b"sign=abc&sign_type=RSA2".to_vec());
        for body in refused {
            assert_eq!(
                post(&hall, "alipay", &form, body).await,
                (StatusCode::OK, "fail".into())
            );
        }
        assert_eq!(credits(&hall, &no).await, (0, 0));
        // Out of order: WAIT_BUYER_PAY first is acknowledged and credits nothing.
        let wait = alipay_notify(
            "alipay_platform_key",
            &trade_no,
            "2400.00",
            "WAIT_BUYER_PAY",
            ALIPAY_APP,
        );
        assert_eq!(
            post(&hall, "alipay", &form, wait).await,
            (StatusCode::OK, "success".into())
        );
        assert_eq!(credits(&hall, &no).await, (0, 0));
        // The valid one, ten times in parallel, then replayed, then a late TRADE_CLOSED.
        let ok = alipay_notify(
            "alipay_platform_key",
            &trade_no,
            "2400.00",
            "TRADE_SUCCESS",
            ALIPAY_APP,
        );
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (base, body) = (hall.base.clone(), ok.clone());
            tasks.push(tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{base}/api/v1/callbacks/alipay"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), "success");
        }
        assert_eq!(post(&hall, "alipay", &form, ok).await.1, "success");
        let closed = alipay_notify(
            "alipay_platform_key",
            &trade_no,
            "2400.00",
            "TRADE_CLOSED",
            ALIPAY_APP,
        );
        assert_eq!(post(&hall, "alipay", &form, closed).await.1, "success");
        let c = credits(&hall, &no).await;
        eprintln!(
            "alipay: 6 refused, 1 pending, 10 parallel + 1 replay + 1 closed → credits {c:?}"
        );
        assert_eq!(c, (1, 1));
        let o = hall.app.order_by_no(&no).await.unwrap();
        assert_eq!(o.state, OrderState::PendingFinancial);

        // Refund of a finally rejected order through the local server.
        let user = o.user_id;
        let code = code_from_statement(&b, &no).await;
        hall.app.enter_deposit_code(user, &no, &code).await.unwrap();
        let o = hall.app.order_by_no(&no).await.unwrap();
        hall.app
            .move_order(
                &o,
                OrderState::Rejected,
                &o.draft,
                hall.app.order_event_by("staff:9".into(), "审核驳回(测试)"),
            )
            .await
            .unwrap();
        let fin = finance();
        let p = hall.app.refundable(&fin).await.unwrap();
        assert_eq!(p.len(), 1);
        hall.app
            .refund(&fin, p[0].id, "申请人放弃办理")
            .await
            .unwrap();
        let p = hall
            .app
            .payments
            .store
            .payment_by_id(p[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((p.state, p.refunded_fen), (PayState::Refunded, 240_000));
        assert_eq!(
            p.refund_ref.as_deref(),
            Some("2026112322001400000000000001")
        );
        assert!(hall.app.refund(&fin, p.id, "again").await.is_err());
    }

    fn wechat_notify(
        key: &str,
        ts: i64,
        trade_no: &str,
        total: i64,
        state: &str,
        mchid: &str,
    ) -> (Vec<(&'static str, String)>, Vec<u8>) {
        let tx = serde_json::json!({
            "mchid": mchid, "appid": APPID, "out_trade_no": trade_no,
            "transaction_id": "4200000000202611230000000001", "trade_type": "NATIVE",
            "trade_state": state, "trade_state_desc": "支付成功", "success_time": "2026-11-23T10:05:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
        });
        let nonce = "fdasflkja484";
        let body = serde_json::json!({
            "id": "EV-2018022511223320873",
            "create_time": "2026-11-23T10:05:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": if state == "SUCCESS" { "TRANSACTION.SUCCESS" } else { "TRANSACTION.NOTPAY" },
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": encrypt_resource(V3KEY.as_bytes(), nonce, "transaction", tx.to_string().as_bytes()),
                "associated_data": "transaction", "nonce": nonce
            }
        })
        .to_string();
        let hnonce = format!("N{}", hex::encode(rand::random::<[u8; 8]>()));
        let sig = rsa2_sign(
            &signing_key(&pem(key)).unwrap(),
            &format!("{ts}\n{hnonce}\n{body}\n"),
        );
        (
            vec![
                ("content-type", "application/json".into()),
                ("wechatpay-timestamp", ts.to_string()),
                ("wechatpay-nonce", hnonce),
                ("wechatpay-signature", sig),
                ("wechatpay-serial", "PLATFORM-SERIAL-1".into()),
            ],
            body.into_bytes(),
        )
    }

    #[tokio::test]
    async fn wechat_pay_v3_against_a_local_server() {
        let server = gateway_server().await;
        let hall = hall_with_real(&server).await;
        let (b, no) = pending_payment(&hall, "13800000061").await;
        // Native pay: the local server checked our signature and answered a signed code_url.
        let (s, _, page) = b
            .form(
                &format!("/orders/{no}/payment/online"),
                &[("gateway", "wechat")],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("weixin://wxpay/bizpayurl?pr=TESTQR1"),
            "{page}"
        );
        let o = hall.app.order_by_no(&no).await.unwrap();
        let trade_no = hall
            .app
            .payments
            .store
            .payments_of_order(o.id)
            .await
            .unwrap()[0]
            .trade_no
            .clone();
        let now = hall.app.now() / 1000;
        let k = "wechat_platform_key";

        // Refused: forged signature, replay outside five minutes, wrong serial, tampered
        // ciphertext, wrong amount, another merchant.
        let mut refused = vec![
            wechat_notify(
                "wechat_merchant_key",
                now,
                &trade_no,
                240_000,
                "SUCCESS",
                MCHID,
            ),
            wechat_notify(k, now - 600, &trade_no, 240_000, "SUCCESS", MCHID),
            wechat_notify(k, now, &trade_no, 1, "SUCCESS", MCHID),
            wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", "1900000999"),
        ];
        let (mut h, body) = wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", MCHID);
        h[4].1 = "OTHER-SERIAL".into();
        refused.push((h, body));
        let (h, body) = wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", MCHID);
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let ct = v["resource"]["ciphertext"].as_str().unwrap().to_owned();
        v["resource"]["ciphertext"] = serde_json::Value::String(format!("A{}", &ct[1..]));
        let tampered = v.to_string().into_bytes();
        // Re-sign the tampered body so only the AEAD tag can catch it.
        let ts = h[1].1.clone();
        let nonce = h[2].1.clone();
        let sig = rsa2_sign(
            &signing_key(&pem(k)).unwrap(),
            &format!("{ts}\n{nonce}\n{}\n", String::from_utf8_lossy(&tampered)),
        );
        let mut h2 = h.clone();
        h2[3].1 = sig;
        refused.push((h2, tampered));
        for (h, body) in refused {
            let (s, answer) = post(&hall, "wechat", &h, body).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{answer}");
            assert!(answer.contains("FAIL"));
        }
        assert_eq!(credits(&hall, &no).await, (0, 0));
        // Out of order: NOTPAY first.
        let (h, body) = wechat_notify(k, now, &trade_no, 240_000, "NOTPAY", MCHID);
        assert_eq!(post(&hall, "wechat", &h, body).await.0, StatusCode::OK);
        assert_eq!(credits(&hall, &no).await, (0, 0));
        // Ten identical valid notifications in parallel, then a replay of the same.
        let (h, body) = wechat_notify(k, now, &trade_no, 240_000, "SUCCESS", MCHID);
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (base, h, body) = (hall.base.clone(), h.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let mut r = reqwest::Client::new().post(format!("{base}/api/v1/callbacks/wechat"));
                for (k, v) in &h {
                    r = r.header(*k, v);
                }
                r.body(body).send().await.unwrap().status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::OK);
        }
        assert_eq!(post(&hall, "wechat", &h, body).await.0, StatusCode::OK);
        let c = credits(&hall, &no).await;
        eprintln!("wechat: 6 refused, 1 NOTPAY, 10 parallel + 1 replay → credits {c:?}");
        assert_eq!(c, (1, 1));
        assert_eq!(
            hall.app.order_by_no(&no).await.unwrap().state,
            OrderState::PendingFinancial
        );
        // Refund of a finally rejected order through the v3 refund API (signed both ways).
        let o = hall.app.order_by_no(&no).await.unwrap();
        let code = code_from_statement(&b, &no).await;
        hall.app
            .enter_deposit_code(o.user_id, &no, &code)
            .await
            .unwrap();
        let o = hall.app.order_by_no(&no).await.unwrap();
        hall.app
            .move_order(
                &o,
                OrderState::Rejected,
                &o.draft,
                hall.app.order_event_by("staff:9".into(), "审核驳回(测试)"),
            )
            .await
            .unwrap();
        let fin = finance();
        let p = hall.app.refundable(&fin).await.unwrap();
        hall.app
            .refund(&fin, p[0].id, "申请人放弃办理")
            .await
            .unwrap();
        let p = hall
            .app
            .payments
            .store
            .payment_by_id(p[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.state, PayState::Refunded);
        assert_eq!(
            p.refund_ref.as_deref(),
            Some("50000000382019052709732678859")
        );
    }
}

// ---- in a real browser, with screenshots ----

mod browser {
    use super::*;
    use support::pages::code_from_sandbox;
    use support::webdriver::{Driver, Session};

    async fn shot(b: &Session, name: &str, must: &str) {
        let body = b.wait_text(must).await;
        assert!(!body.contains("系统繁忙"), "{name}: {body}");
        let Some(dir) = std::env::var_os("CERTHALL_SCREENSHOTS").filter(|d| !d.is_empty()) else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (size, w, h, mobile) in [("desktop", 1280, 900, false), ("phone", 375, 812, true)] {
            b.set_viewport(w, h, mobile).await;
            b.save_screenshot(&dir.join(format!("payments-{name}-{size}.png")))
                .await;
        }
        b.set_viewport(1280, 900, false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn payment_pages_in_a_browser() {
        let hall = TestHall::start(Backend::Sqlite).await;
        let phone = "13800000071";
        let (_api, no) = pending_payment(&hall, phone).await;
        hall.clock.advance(61_000); // past the resend interval of the API login's code
        let driver = Driver::start().await;
        let b = driver.session(1280, 900).await;
        let base = hall.base.as_str();
        b.goto(&format!("{base}/login")).await;
        b.fill("#phone", phone).await;
        b.click("button[name=action][value=send_code]").await;
        b.wait_text("验证码已发送").await;
        let code = code_from_sandbox(&hall, phone).await;
        b.fill("#code", &code).await;
        b.click("button[name=action][value=submit]:not(.default-submit)")
            .await;
        b.wait_path(base, "/account").await;

        b.goto(&format!("{base}/orders/{no}/payment")).await;
        shot(&b, "choice", "公对公转账汇款").await;
        b.click("button[data-gateway=sandbox]").await;
        b.wait_text("收银台").await;
        shot(&b, "sandbox-gateway", "确认支付").await;
        b.click("#confirm-pay").await;
        b.wait_path(base, &format!("/orders/{no}/payment")).await;
        shot(&b, "code-entry", "随机验证码").await;
        b.goto(&format!("{base}/sandbox/payouts")).await;
        shot(&b, "sandbox-payouts", "金融认证验证码").await;
        let memo = b.text("#payouts td.memo").await;
        let code = memo
            .trim()
            .trim_start_matches("深圳CA金融认证验证码")
            .to_owned();
        b.goto(&format!("{base}/orders/{no}/payment")).await;
        b.fill("#code-form input[name=code]", &code).await;
        b.click("#code-form button").await;
        b.wait_text("已通过").await;
        shot(&b, "fin-passed", "已通过").await;
        assert_eq!(
            hall.app.order_by_no(&no).await.unwrap().state,
            OrderState::InReview
        );
        // Nobody reviews it yet: the handler cancels it, ticking the confirmation box.
        b.goto(&format!("{base}/orders/{no}")).await;
        shot(&b, "order-cancel", "确认取消").await;
        b.click("#cancel-form input[name=confirm]").await;
        b.click("#cancel-form button").await;
        b.wait_text("经办人取消业务单").await;
        assert_eq!(
            hall.app.order_by_no(&no).await.unwrap().state,
            OrderState::Cancelled
        );
        // Another order paid twice (two tabs).
        let (other, no2) = pending_payment(&hall, "13800000072").await;
        let t1 = start_sandbox(&other, &no2).await;
        let t2 = start_sandbox(&other, &no2).await;
        for t in [t1, t2] {
            assert_eq!(
                other.form(&format!("/sandbox/pay/{t}"), &[]).await.0,
                StatusCode::SEE_OTHER
            );
        }

        // Finance: the matching queue after importing the CSV statement.
        let csv = std::fs::read(format!("{DATA}/statement.csv")).unwrap();
        hall.app
            .import_statement(Some(&finance()), "statement.csv", &csv)
            .await
            .unwrap();
        let creds = hall
            .app
            .create_staff(None, "cashier", "财务小王", Role::Finance)
            .await
            .unwrap();
        b.goto(&format!("{base}/staff/login")).await;
        b.fill("#username", "cashier").await;
        b.fill("#password", &creds.password).await;
        b.fill(
            "#totp",
            &app::secrets::totp_now(&creds.staff.totp_secret, hall.app.now()),
        )
        .await;
        b.click("form[action='/staff/login'] button").await;
        b.wait_path(base, "/staff").await;
        b.goto(&format!("{base}/staff/finance")).await;
        shot(&b, "finance-queue", "人工处理队列").await;
        assert!(b.count("#manual-queue tbody tr").await >= 4);
        assert_eq!(b.count("#refundable tbody tr").await, 1);
        assert!(b.text("#refundable").await.contains(&no));
        assert_eq!(b.count("#duplicates tbody tr").await, 1);
        assert!(b.text("#duplicates").await.contains("重复付款,待退款"));
        b.script("document.getElementById('duplicates').scrollIntoView()")
            .await;
        shot(&b, "finance-refunds", "重复付款,待退款").await;
        b.close().await;
    }
}

#[tokio::test]
async fn finance_pages_only_for_finance_and_import_over_http() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b1, no1) = pending_payment(&hall, "13800000081").await;
    let (s, _) = upload_voucher(&b1, &no1).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // 我的业务单 links the payment page.
    let (_, account) = b1.get("/account").await;
    assert!(account.contains(&format!("/orders/{no1}/payment")));
    async fn staff(hall: &TestHall, name: &str, role: Role) -> Browser {
        let c = hall.app.create_staff(None, name, "", role).await.unwrap();
        let b = Browser::new(hall).await;
        let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.app.now());
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
        assert_eq!(s, StatusCode::SEE_OTHER);
        b
    }
    let reviewer = staff(&hall, "rev", Role::Reviewer).await;
    let (s, _) = reviewer.get("/staff/finance").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = reviewer
        .form(
            "/staff/finance/fail",
            &[("order_no", &no1), ("reason", "x")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let cashier = staff(&hall, "cash", Role::Finance).await;
    let (s, page) = cashier.get("/staff/finance").await;
    assert!(s == StatusCode::OK && page.contains("人工处理队列(0)"));
    let csv = std::fs::read(format!("{DATA}/statement.csv")).unwrap();
    let part = multipart::Part::bytes(csv).file_name("statement.csv");
    let r = cashier
        .c
        .post(format!(
            "{}/staff/finance/import?_csrf={}",
            cashier.base, cashier.csrf
        ))
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("自动匹配 1 笔,转人工 4 笔,无需匹配 1 笔"),
        "{page}"
    );
    assert!(page.contains(&format!("✔ CSV-0001 → {no1}")));
    let o = hall.app.order_by_no(&no1).await.unwrap();
    assert_eq!(o.fin_state, FinState::Passed);
    // A malformed statement: a message, nothing imported.
    let part = multipart::Part::bytes(b"entry_ref,amount\nX,1\n".to_vec()).file_name("bad.csv");
    let r = cashier
        .c
        .post(format!(
            "{}/staff/finance/import?_csrf={}",
            cashier.base, cashier.csrf
        ))
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("表头缺少列"));
    // Reject from the queue through the page; the audit log has every finance action.
    let queue = hall.app.finance_credits(&finance(), true).await.unwrap();
    let c4 = queue.iter().find(|c| c.entry_ref == "CSV-0004").unwrap().id;
    let (s, loc, _) = cashier
        .form(
            &format!("/staff/finance/credits/{c4}/reject"),
            &[("reason", "非本业务款项")],
        )
        .await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, "/staff/finance"));
    let (s, _, _) = cashier
        .form("/staff/finance/credits/abc/reject", &[("reason", "x")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = b1.get(&format!("/orders/{no1}/payment/voucher/abc")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, body) = cashier
        .form(
            "/staff/finance/fail",
            &[("order_no", &no1), ("reason", "开户名与单位名称不一致")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        hall.app.order_by_no(&no1).await.unwrap().fin_state,
        FinState::Failed
    );
    let (s, body) = cashier
        .get("/staff/finance/reconciliation.csv?day=2026-11-23")
        .await;
    assert!(
        s == StatusCode::OK && body.contains(&no1) && body.contains("公对公转账"),
        "{body}"
    );
    let audit = hall.app.store.audit_all().await.unwrap().0;
    let actions: Vec<&str> = audit.iter().map(|r| r.event.action.as_str()).collect();
    for a in [
        "payment.voucher_uploaded",
        "payment.statement_imported",
        "payment.bank_matched",
        "payment.bank_rejected",
        "payment.fin_failed",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[test]
fn bank_import_command_and_payments_config() {
    let dir = std::env::temp_dir().join(format!(
        "certhall-bank-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let run = |file: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certhall"))
            .args(["bank", "import", "--data"])
            .arg(&dir)
            .arg(format!("{DATA}/{file}"))
            .env("CERTHALL_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run("statement.csv");
    eprintln!("{out}");
    assert!(ok, "{err}");
    assert!(
        out.contains("6 entries, 6 new; matched 0, manual queue 5, ignored 1"),
        "{out}"
    );
    let (ok, out, _) = run("statement.csv");
    assert!(
        ok && out.contains("imported before: nothing changed"),
        "{out}"
    );
    let (ok, out, _) = run("statement.camt053.xml");
    assert!(ok && out.contains("5 entries, 4 new"), "{out}");
    // [payments] in the configuration; a typo is an error at start.
    let cfg = dir.join("certhall.toml");
    std::fs::write(
        &cfg,
        "[payments]\ngateways = [\"sandbox\"]\npayouts = \"batch_file\"\ncode_ttl_days = 3\n",
    )
    .unwrap();
    let c = certhall::config::Config::load(Some(&cfg)).unwrap();
    assert_eq!(c.payments.settings().code_ttl_ms, 3 * 86_400_000);
    std::fs::write(&cfg, "[payments]\ngateway = [\"sandbox\"]\n").unwrap();
    assert!(certhall::config::Config::load(Some(&cfg)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
