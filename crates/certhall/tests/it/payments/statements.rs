//! Bank transfer: the voucher upload, statement import (camt.053 and CSV), automatic matching,
//! the manual queue and an idempotent re-import; the finance pages only for finance.

use super::*;

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
    for c in hall.store.credits(100).await.unwrap() {
        s.push_str(&format!(
            "{} {} {:?} {}\n",
            c.entry_ref,
            c.state.as_str(),
            c.order_no,
            c.reason
        ));
    }
    for no in nos {
        let o = hall.order(no).await;
        s.push_str(&format!(
            "{no} {} v{} {:?} {}\n",
            o.state.as_str(),
            o.version,
            o.paid_at,
            o.fin_state.as_str()
        ));
        for p in hall.store.payments_of_order(o.id).await.unwrap() {
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
        let o = hall.order(no).await;
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
        .billing()
        .import_statement(app::authz::Operator::Staff(&fin), "statement.csv", &csv)
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
    let o1 = hall.order(&no1).await;
    assert!(o1.paid_at.is_some());
    assert_eq!(
        (o1.state, o1.fin_state),
        (OrderState::InReview, FinState::Passed)
    );
    let p1 = hall.store.payments_of_order(o1.id).await.unwrap();
    assert_eq!(p1.len(), 1, "the voucher's payment is the one marked paid");
    assert_eq!(
        (p1[0].state, p1[0].provider_ref.as_deref()),
        (PayState::Paid, Some("CSV-0001"))
    );
    // Order 2 is still waiting.
    assert_eq!(hall.order(&no2).await.paid_at, None);

    // The same file again: nothing changes.
    let before = snapshot(&hall, &[&no1, &no2, &no3]).await;
    let again = hall
        .app
        .billing()
        .import_statement(app::authz::Operator::Staff(&fin), "statement.csv", &csv)
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
    let queue = hall
        .app
        .billing()
        .finance_credits(&fin, true)
        .await
        .unwrap();
    let id = |e: &str| queue.iter().find(|c| c.entry_ref == e).unwrap().id;
    let err = hall
        .app
        .billing()
        .finance_match(&fin, id("CSV-0002"), &no2)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("金额不符"), "{err}");
    hall.app
        .billing()
        .finance_match(&fin, id("CSV-0003"), &no2)
        .await
        .unwrap();
    let err = hall
        .app
        .billing()
        .finance_reject(&fin, id("CSV-0004"), " ")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("退回原因"));
    hall.app
        .billing()
        .finance_reject(&fin, id("CSV-0004"), "非本业务款项,已原路退回")
        .await
        .unwrap();
    let o2 = hall.order(&no2).await;
    assert!(o2.paid_at.is_some() && o2.fin_state == FinState::Passed);
    // Roles: a reviewer may not touch the queue.
    let mut reviewer = finance();
    reviewer.role = Role::Reviewer;
    assert!(matches!(
        hall.app.billing().finance_credits(&reviewer, true).await,
        Err(app::AppError::Forbidden)
    ));
    assert!(matches!(
        hall.app
            .billing()
            .import_statement(app::authz::Operator::Staff(&reviewer), "x.csv", &csv)
            .await,
        Err(app::AppError::Forbidden)
    ));

    // The camt.053 statement: CAMT-0002 has another payer name (manual), CAMT-0001 pays order
    // 3 from an account that is not its 金融认证信息 (paid, 金融认证 not passed by it),
    // CSV-0001 was seen in the CSV (not new), a debit and a USD credit are ignored.
    let xml = std::fs::read(format!("{DATA}/statement.camt053.xml")).unwrap();
    let r = hall
        .app
        .billing()
        .import_statement(app::authz::Operator::Cli, "statement.camt053.xml", &xml)
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
    let o3 = hall.order(&no3).await;
    assert!(o3.paid_at.is_some());
    assert_eq!(
        (o3.state, o3.fin_state),
        (OrderState::InReview, FinState::Pending)
    );
    let before = snapshot(&hall, &[&no1, &no2, &no3]).await;
    let again = hall
        .app
        .billing()
        .import_statement(app::authz::Operator::Cli, "statement.camt053.xml", &xml)
        .await
        .unwrap();
    assert!(again.duplicate_file && again.matched.is_empty() && again.manual.is_empty());
    assert_eq!(snapshot(&hall, &[&no1, &no2, &no3]).await, before);
    let states: Vec<(String, &str)> = hall
        .store
        .credits(100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.entry_ref, c.state.as_str()))
        .collect();
    eprintln!("credits: {states:?}");
    assert_eq!(
        hall.store
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
        let c = hall
            .app
            .admin()
            .create_staff(app::authz::Operator::Cli, name, "", role)
            .await
            .unwrap();
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
    let o = hall.order(&no1).await;
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
    let queue = hall
        .app
        .billing()
        .finance_credits(&finance(), true)
        .await
        .unwrap();
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
    let (s, loc, body) = cashier
        .form(
            "/staff/finance/fail",
            &[("order_no", &no1), ("reason", "开户名与单位名称不一致")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(hall.order(&no1).await.fin_state, FinState::Failed);
    // Finance is told it was done, and that the handler was notified.
    let (s, page) = cashier.get(&loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!(
            "业务单 {no1} 金融认证不通过已记录,已短信通知经办人"
        )),
        "{page}"
    );
    // An error shows as an error notice (the stylesheet's class).
    let (s, _, body) = cashier
        .form(
            "/staff/finance/fail",
            &[("order_no", &no1), ("reason", "开户名与单位名称不一致")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("<div class=\"notice err\" role=\"alert\">该业务单的金融认证已是未通过状态"),
        "{body}"
    );
    let (s, body) = cashier
        .get("/staff/finance/reconciliation.csv?day=2026-11-23")
        .await;
    assert!(
        s == StatusCode::OK && body.contains(&no1) && body.contains("公对公转账"),
        "{body}"
    );
    let audit = hall.store.audit_all().await.unwrap().0;
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
