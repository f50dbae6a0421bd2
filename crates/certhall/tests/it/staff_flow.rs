//! Issue 7 over real HTTP: review (claims, payment gate, rejection with reasons, the diff
//! after resubmission, approval), production through the SM2 CA (PINs by SMS only after
//! 金融认证, never twice per line), shipping, invoice, the applicant's timeline, the audit log;
//! and every staff route × role.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::clock::Clock;
use app::model::Role;
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use domain::order::OrderState;
use reqwest::StatusCode;
use support::applicant::{
    deposit_code, pay_online_and_verify, png, submitted_order, valid_fields, HANDLER_PHONE,
};
use support::desk::{inbox, set_paid, staff, to_pending_payment, to_review};

const APPLICANT_1: &str = "13700137000";
const APPLICANT_2: &str = "13700137001";

async fn state(hall: &TestHall, no: &str) -> OrderState {
    hall.order(no).await.state
}

/// `openssl verify` of `cert` against `chain` at `at_ms` (the hall's clock, which issued it:
/// certificates of a test hall are valid from its fixed test time, not from today).
fn openssl_verify_at(chain: &str, cert: &str, at_ms: i64) {
    let dir = std::env::temp_dir().join(format!("certhall-staff-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "verify",
            "-vfyopt",
            "distid:1234567812345678",
            "-partial_chain",
            "-attime",
            &(at_ms / 1000).to_string(),
            "-CAfile",
        ])
        .arg(dir.join("chain.pem"))
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains(": OK"), "{text}");
}

async fn whole_flow(backend: Backend) {
    let hall = TestHall::start(backend).await;
    let (applicant, no) = submitted_order(&hall, HANDLER_PHONE).await;
    to_review(&hall, &no, false, true).await;
    let (rev1, _) = staff(&hall, Role::Reviewer, "rev1").await;
    let (rev2, _) = staff(&hall, Role::Reviewer, "rev2").await;

    // The queue shows the order with its due time: Mon 2026-11-23 10:00 + 3 working days.
    let (s, q) = rev1.get("/staff/review").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        q.contains(&no) && q.contains("2026-11-26 10:00") && q.contains("剩余 3天0小时"),
        "{q}"
    );
    assert!(q.contains("未到账"));

    // Not paid yet: approval refused (and rev1 now holds the claim).
    let (s, _, body) = rev1.form(&format!("/staff/review/{no}/approve"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("款项尚未到账"), "{body}");
    // A second reviewer sees it was taken.
    let (s, _, body) = rev2.form(&format!("/staff/review/{no}/approve"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("已由审核员“rev1”领取审核"), "{body}");
    let (s, _, _) = rev2
        .form(&format!("/staff/review/{no}/reject"), &[("reason", "0")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(state(&hall, &no).await, OrderState::InReview);

    // Reject: a reason from the list is required or free text; unknown ones refused.
    set_paid(&hall, &no).await;
    let (s, _, body) = rev1.form(&format!("/staff/review/{no}/reject"), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("请至少选择一项驳回原因"), "{body}");
    let (s, _, _) = rev1
        .form(&format!("/staff/review/{no}/reject"), &[("reason", "99")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, loc, body) = rev1
        .form(
            &format!("/staff/review/{no}/reject"),
            &[("reason", "0"), ("note", "王一的身份证复印件请加盖公章")],
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/staff/review"),
        "{body}"
    );
    assert_eq!(state(&hall, &no).await, OrderState::Rejected);
    let sms = inbox(&hall, HANDLER_PHONE).await;
    assert_eq!(sms[0].0, "review_rejected");
    assert_eq!(
        sms[0].1,
        "【深圳 CA】您好,您提交的新申请业务已被审核驳回。驳回原因: 身份证复印件未加盖公章;王一的身份证复印件请加盖公章。请尽快登录 www.szca.com-网上营业厅-个人中心-我的业务单-证书申请进行修改。"
    );

    // The applicant sees the reason, clicks 编辑, fixes and resubmits.
    let (_, page) = applicant.get(&format!("/orders/{no}")).await;
    assert!(
        page.contains("已驳回") && page.contains("身份证复印件未加盖公章") && page.contains("编辑"),
        "{page}"
    );
    let mut fields = valid_fields();
    for f in fields.iter_mut() {
        if f.0 == "unit_address" {
            f.1 = "广东省深圳市南山区科技园1号";
        }
    }
    let (s, loc, body) = applicant.form(&format!("/orders/{no}/data"), &fields).await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, &*format!("/orders/{no}/preview")),
        "{body}"
    );
    let (s, _, _) = applicant.form(&format!("/orders/{no}/preview"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, body) = applicant
        .upload(&no, "person_id_0", "stamped.png", png(44, 30))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, loc, body) = applicant.form(&format!("/orders/{no}/submit"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    // The resubmission lands on the order, which says it waits for review again.
    assert_eq!(loc, format!("/orders/{no}?done=resubmitted"));
    assert_eq!(state(&hall, &no).await, OrderState::InReview);
    let (_, page) = applicant.get(&loc).await;
    assert!(page.contains("已重新提交,等待审核"), "{page}");
    assert!(!page.contains("在线缴费"), "{page}");
    let (_, page) = applicant.get(&format!("/orders/{no}")).await;
    assert!(!page.contains("已重新提交,等待审核"), "{page}");
    assert!(page.contains("预计审核完成日期:2026年11月26日"), "{page}");
    let (_, page) = applicant.get("/account").await;
    assert!(page.contains("预计2026年11月26日前审核完成"), "{page}");

    // The reviewer sees what changed, field by field and file by file.
    let (_, page) = rev2.get(&format!("/staff/review/{no}")).await;
    assert!(page.contains("驳回后的修改"), "{page}");
    assert!(page.contains("单位地址") && page.contains("广东省深圳市南山区科技园1号"));
    assert!(page.contains("申请人身份证复印件(王一)"));
    assert!(
        !page.contains("申请人身份证复印件(赵二)</span>"),
        "unchanged file not listed"
    );
    assert!(
        page.contains("****6093") && !page.contains("44201500100052526093"),
        "bank account masked"
    );
    // Scans are served to the reviewer.
    let r = rev2
        .c
        .get(format!("{}/staff/review/{no}/files/letter", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");

    // The decision freed the claim: rev2 approves; the guide's text goes to the handler.
    let (s, _, body) = rev2.form(&format!("/staff/review/{no}/approve"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(state(&hall, &no).await, OrderState::Approved);
    let sms = inbox(&hall, HANDLER_PHONE).await;
    assert_eq!(
        sms[0].1,
        "【深圳 CA】您好,您提交的新申请业务已经审核通过。请登录 www.szca.com-网上营业厅--个人中心-我的业务单-进行查看。"
    );
    let (s, _, _) = rev1.form(&format!("/staff/review/{no}/approve"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "decided once");

    // Production: every certificate, PINs to the right phones, never shown to staff.
    let (prod, _) = staff(&hall, Role::Production, "prod").await;
    let (_, q) = prod.get("/staff/production").await;
    assert!(q.contains(&no));
    let (s, _, body) = prod
        .form(&format!("/staff/production/{no}/issue"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(state(&hall, &no).await, OrderState::Issued);
    let o = hall.order(&no).await;
    let lines = hall.store.cert_lines(o.id).await.unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.kind.key(), l.years))
            .collect::<Vec<_>>(),
        [("org", 2), ("org_person", 1), ("org_person", 3)]
    );
    assert!(
        lines.iter().all(|l| !l.pin_held && l.pin_sent_at.is_some()),
        "PINs erased once sent"
    );
    let chain = hall.ca.chain_pem();
    for l in &lines {
        let now = hall.clock.now();
        openssl_verify_at(&chain, l.sign_pem.as_deref().unwrap(), now);
        openssl_verify_at(&chain, l.enc_pem.as_deref().unwrap(), now);
    }
    let pin_of = |msgs: &[(String, String)], template: &str| -> String {
        let (_, text) = msgs
            .iter()
            .find(|(t, _)| t == template)
            .unwrap_or_else(|| panic!("{template}: {msgs:?}"));
        let i = text.find("PIN码为").unwrap() + "PIN码为".len();
        text[i..i + 8].to_owned()
    };
    let h = inbox(&hall, HANDLER_PHONE).await;
    let a1 = inbox(&hall, APPLICANT_1).await;
    let a2 = inbox(&hall, APPLICANT_2).await;
    let pins = [
        pin_of(&h, "pin_org"),
        pin_of(&a1, "pin_person"),
        pin_of(&a2, "pin_person"),
    ];
    assert!(a1[0].1.contains("王一") && a2[0].1.contains("赵二"));
    assert!(
        !h.iter().any(|(t, _)| t == "pin_person"),
        "applicants' PINs not to the handler"
    );
    let (_, page) = prod.get(&format!("/staff/production/{no}")).await;
    assert!(page.contains("已短信发送并清除"));
    for pin in &pins {
        assert!(pin.chars().all(|c| c.is_ascii_digit()));
        assert!(!page.contains(pin.as_str()), "PIN shown to staff");
    }
    // A second click issues nothing.
    let (s, _, _) = prod
        .form(&format!("/staff/production/{no}/issue"), &[])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(hall.store.cert_lines(o.id).await.unwrap().len(), 3);

    // Shipping: label, post (tracking SMS), delivered → invoice link by SMS.
    let (_, label) = prod.get(&format!("/staff/shipping/{no}/label")).await;
    assert!(
        label.contains("邮费到付") && label.contains("张小明") && label.contains(HANDLER_PHONE)
    );
    let (s, _, body) = prod.form(&format!("/staff/shipping/{no}/post"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(state(&hall, &no).await, OrderState::Shipped);
    let h = inbox(&hall, HANDLER_PHONE).await;
    assert_eq!(h[0].0, "shipped");
    let tracking = h[0].1.split("运单号:").nth(1).unwrap()[..14].to_owned();
    assert!(tracking.starts_with("SB"), "{tracking}");
    let (s, page) = applicant.get(&format!("/sandbox/courier/{tracking}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("运输中"));
    let (s, _, body) = prod
        .form(&format!("/staff/shipping/{no}/delivered"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(state(&hall, &no).await, OrderState::Completed);
    let h = inbox(&hall, HANDLER_PHONE).await;
    assert_eq!(h[0].0, "invoice");
    let link = h[0]
        .1
        .split("下载链接:")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let path = link
        .split_once("/invoices/")
        .map(|(_, t)| format!("/invoices/{t}"))
        .unwrap();
    let anon = reqwest::Client::new();
    let r = anon
        .get(format!("{}{path}", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-1.4"));
    let r = anon
        .get(format!("{}/invoices/{}", hall.base, "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The applicant's timeline.
    let (_, page) = applicant.get(&format!("/orders/{no}")).await;
    for what in [
        "已完成",
        "审核驳回,驳回原因:身份证复印件未加盖公章",
        "修改后重新提交",
        "审核通过",
        "制证完成",
        "证书PIN码已通过短信发送",
        &tracking,
        "电子发票",
    ] {
        assert!(page.contains(what), "{what} missing: {page}");
    }

    // Every decision is in an intact audit log.
    match hall.app.admin().verify_audit().await.unwrap() {
        app::audit::ChainCheck::Intact { rows, .. } => assert!(rows > 5),
        other => panic!("{other:?}"),
    }
    let (rows, _) = hall.store.audit_all().await.unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.event.action.as_str()).collect();
    for a in [
        "review.claim",
        "review.reject",
        "review.approve",
        "production.issue",
        "production.done",
        "production.pins_sent",
        "shipping.post",
        "shipping.delivered",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
}

#[tokio::test]
async fn review_production_shipping_invoice_on_sqlite() {
    whole_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn review_production_shipping_invoice_on_postgres() {
    whole_flow(Backend::Postgres).await;
}

/// Approved orders: PINs wait for 金融认证, and two clicks at once issue each line once.
#[tokio::test]
async fn pins_wait_for_financial_auth_and_lines_issue_once() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (_, no) = submitted_order(&hall, HANDLER_PHONE).await;
    to_review(&hall, &no, true, false).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    let (a, b) = tokio::join!(
        hall.app.production().issue_line(&prod, &no, 0, None),
        hall.app.production().issue_line(&prod, &no, 0, None)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count(),
        1,
        "exactly one issuance: {a:?} / {b:?}"
    );
    let err = a.err().or(b.err()).unwrap();
    assert!(err.to_string().contains("不会重复签发"), "{err}");
    hall.app
        .production()
        .issue_line(&prod, &no, 1, None)
        .await
        .unwrap();
    hall.app
        .production()
        .issue_line(&prod, &no, 2, None)
        .await
        .unwrap();
    assert_eq!(state(&hall, &no).await, OrderState::Issued);
    let o = hall.order(&no).await;
    let lines = hall.store.cert_lines(o.id).await.unwrap();
    assert_eq!(lines.len(), 3);
    assert!(
        lines.iter().all(|l| l.pin_held),
        "held until 金融认证 passes"
    );
    assert!(inbox(&hall, APPLICANT_1).await.is_empty());
    // Sealed at rest: the PINs are not in the database file in clear.
    let pins = hall.store.held_pins(o.id).await.unwrap();
    let db = std::fs::read(
        hall.db_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap(),
    )
    .unwrap_or_default();
    for (_, pin) in &pins {
        assert!(
            !db.windows(8).any(|w| w == pin.as_bytes()),
            "PIN in clear in the database"
        );
    }
    // 金融认证 passes (payment issue): release sends each PIN once.
    sqlx::query("UPDATE orders SET fin_state = 'passed' WHERE order_no = $1")
        .bind(&no)
        .execute(&hall.store.db().pool)
        .await
        .unwrap();
    assert_eq!(hall.app.production().release_pins(&no).await.unwrap(), 3);
    assert_eq!(hall.app.production().release_pins(&no).await.unwrap(), 0);
    assert_eq!(inbox(&hall, APPLICANT_1).await[0].0, "pin_person");
    assert!(hall.store.held_pins(o.id).await.unwrap().is_empty());
}

/// Wiring of payments (issue 6) and production (issue 7): a bank transfer from an account
/// other than the declared one pays the order but leaves 金融认证 open (a micro-deposit goes to
/// the declared account); the desk reviews and issues meanwhile and the PINs are held; the
/// right code (金融认证 passes) sends them, each to its own phone, in the same request.
#[tokio::test]
async fn deposit_code_releases_pins_held_for_an_issued_order() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (applicant, no) = submitted_order(&hall, HANDLER_PHONE).await;
    to_pending_payment(&hall, &no).await;
    let csv = format!(
        "entry_ref,booked_on,direction,amount,currency,payer_name,payer_account,memo\n\
         W-1,2026-11-23,C,2400.00,CNY,深圳市某某科技有限公司,6222020200112233445,证书费 {no}\n"
    );
    let r = hall
        .app
        .billing()
        .import_statement(app::authz::Operator::Cli, "s.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(r.matched, vec![("W-1".to_owned(), no.clone())]);
    let o = hall.order(&no).await;
    assert!(o.paid_at.is_some());
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::InReview, domain::order::FinState::Pending)
    );
    let code = deposit_code(&hall, &no).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
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
    let o = hall.order(&no).await;
    assert_eq!(o.state, OrderState::Issued);
    assert_eq!(o.fin_state, domain::order::FinState::Pending);
    let pins = |v: Vec<(String, String)>| {
        v.into_iter()
            .filter(|(t, _)| t.starts_with("pin_"))
            .collect::<Vec<_>>()
    };
    for phone in [HANDLER_PHONE, APPLICANT_1, APPLICANT_2] {
        assert!(
            pins(inbox(&hall, phone).await).is_empty(),
            "no PIN yet to {phone}"
        );
    }
    assert_eq!(hall.store.held_pins(o.id).await.unwrap().len(), 3);

    // The handler enters the code: 金融认证 passes and the held PINs go out now.
    let (s, _, body) = applicant
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let o = hall.order(&no).await;
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::Issued, domain::order::FinState::Passed)
    );
    let org = pins(inbox(&hall, HANDLER_PHONE).await);
    assert_eq!(org.len(), 1, "{org:?}");
    assert_eq!(org[0].0, "pin_org");
    for phone in [APPLICANT_1, APPLICANT_2] {
        let p = pins(inbox(&hall, phone).await);
        assert_eq!(p.len(), 1, "{phone}: {p:?}");
        assert_eq!(p[0].0, "pin_person");
    }
    assert!(hall.store.held_pins(o.id).await.unwrap().is_empty());
    // Nothing is sent twice.
    assert_eq!(hall.app.production().release_pins(&no).await.unwrap(), 0);
}

/// The review page reads the real identity result (identity use cases) and the payment and
/// 金融认证 facts (payments tables), not guesses from the history.
#[tokio::test]
async fn review_page_shows_identity_result_and_payments() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (rev_b, rev) = staff(&hall, Role::Reviewer, "rev").await;
    // An order moved on by hand has no identity record: the page says so.
    let (_, other) = submitted_order(&hall, "13800000078").await;
    to_review(&hall, &other, false, false).await;
    let (s, page) = rev_b.get(&format!("/staff/review/{other}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("经办人在线认证:无认证记录"), "{page}");
    assert!(page.contains("暂无缴费记录"));

    let (applicant, no) = submitted_order(&hall, HANDLER_PHONE).await;
    support::identity::verify_identity(&hall, &applicant, &no).await;
    pay_online_and_verify(&hall, &applicant, &no).await;
    assert_eq!(state(&hall, &no).await, OrderState::InReview);

    let idv = hall
        .app
        .verification()
        .for_staff(&rev, &no)
        .await
        .unwrap()
        .expect("an attempt");
    assert!(!idv.provider_ref.is_empty());
    assert_eq!(idv.carrier.len(), 3);
    let (s, page) = rev_b.get(&format!("/staff/review/{no}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("经办人在线认证:认证通过(2026-11-23"),
        "{page}"
    );
    let at = page.find("id=\"review-identity\"").unwrap();
    let card = &page[at..at + page[at..].find("</section>").unwrap()];
    assert!(card.contains(&idv.provider_ref), "{card}");
    for c in &idv.carrier {
        assert!(card.contains(&c.phone_masked) && card.contains(&c.provider_ref));
    }
    assert!(
        card.contains("137****7000") && card.contains("137****7001"),
        "{card}"
    );
    assert!(!card.contains("13700137000"), "numbers masked: {card}");
    assert_eq!(card.matches("一致").count(), 3);
    for side in ["front", "back"] {
        let href = format!("/staff/orders/{no}/identity/{side}");
        assert!(card.contains(&href), "{card}");
        let (s, _) = rev_b.get(&href).await;
        assert_eq!(s, StatusCode::OK);
    }
    let at = page.find("id=\"review-payment\"").unwrap();
    let card = &page[at..at + page[at..].find("</section>").unwrap()];
    assert!(
        card.contains("网厅缴费")
            && card.contains("沙箱支付(演示)")
            && !card.contains(">sandbox<")
            && card.contains("2400.00")
            && card.contains("已到账")
            && card.contains("金融认证:已通过")
            && card.contains("验证通过")
            && card.contains("2026-11-23"),
        "{card}"
    );
}

/// Refund (payments) of a paid order the desk finally rejected: Finance sees it on its page,
/// refunds it with a reason, and the order ends (已驳回 → 已取消, allowed by the state machine)
/// so it can never be resubmitted and approved on money that went back.
#[tokio::test]
async fn finance_refunds_a_rejected_paid_order_and_it_ends() {
    assert!(OrderState::Rejected.may_move(OrderState::Cancelled));
    assert!(!OrderState::Cancelled.may_move(OrderState::InReview));
    let hall = TestHall::start(Backend::Sqlite).await;
    let (applicant, no) = submitted_order(&hall, HANDLER_PHONE).await;
    to_pending_payment(&hall, &no).await;
    pay_online_and_verify(&hall, &applicant, &no).await;
    let (rev, _) = staff(&hall, Role::Reviewer, "rev").await;
    rev.form(&format!("/staff/review/{no}/claim"), &[]).await;
    let (s, _, body) = rev
        .form(&format!("/staff/review/{no}/reject"), &[("reason", "0")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(state(&hall, &no).await, OrderState::Rejected);

    let (fin, _) = staff(&hall, Role::Finance, "fin").await;
    let o = hall.order(&no).await;
    let pay = hall.store.payments_of_order(o.id).await.unwrap()[0].clone();
    let action = format!("/staff/finance/payments/{}/refund", pay.id);
    let (s, page) = fin.get("/staff/finance").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(&action) && page.contains(&no), "{page}");
    let (s, _, body) = fin.form(&action, &[("reason", " ")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("请填写退款原因"), "{body}");
    let (s, loc, body) = fin.form(&action, &[("reason", "申请人放弃办理")]).await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/staff/finance"),
        "{body}"
    );

    let o = hall.order(&no).await;
    assert_eq!(o.state, OrderState::Cancelled, "finally rejected");
    let pay = hall.store.payments_of_order(o.id).await.unwrap()[0].clone();
    assert_eq!(
        (pay.state, pay.refunded_fen),
        (app::payments::PayState::Refunded, 240_000)
    );
    let (_, page) = fin.get("/staff/finance").await;
    assert!(!page.contains(&action), "no longer to refund");
    let (_, page) = applicant.get(&format!("/orders/{no}")).await;
    assert!(
        page.contains("已退款2400.00元") && page.contains("已取消"),
        "{page}"
    );
    // Nothing brings it back to review.
    let (s, _, _) = applicant.form(&format!("/orders/{no}/submit"), &[]).await;
    assert_ne!(s, StatusCode::SEE_OTHER);
    assert_eq!(state(&hall, &no).await, OrderState::Cancelled);
    // Twice is refused.
    let (s, _, body) = fin.form(&action, &[("reason", "again")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("该款项已退款"), "{body}");
}

/// The token-writing station: list work, submit a CSR, get both certificates and the
/// envelope; refused without a 制证 session.
#[tokio::test]
async fn station_api_issues_from_a_token_csr() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (_, no) = submitted_order(&hall, HANDLER_PHONE).await;
    to_review(&hall, &no, true, true).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    let (station, _) = staff(&hall, Role::Production, "station").await;
    let (reviewer, _) = staff(&hall, Role::Reviewer, "rev2").await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/station/work", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = reviewer
        .c
        .get(format!("{}/api/v1/station/work", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = station
        .c
        .get(format!("{}/api/v1/station/work", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let work: serde_json::Value = r.json().await.unwrap();
    assert_eq!(work["orders"][0]["order_no"], no.as_str());
    assert_eq!(work["orders"][0]["lines"].as_array().unwrap().len(), 3);
    // A CSR made by "the token" (its key stays in the token).
    let dir = std::env::temp_dir().join(format!("certhall-station-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_key = pki::keys::generate();
    let csr = pki::issue::pem_encode(
        "CERTIFICATE REQUEST",
        &pki::csr::make_csr(
            &token_key,
            pki::names::build_name(&[(pki::oid::AT_CN, "token")]).unwrap(),
        )
        .unwrap(),
    );
    let r = station
        .c
        .post(format!("{}/api/v1/station/orders/{no}/lines/0", hall.base))
        .header("x-csrf-token", &station.csrf)
        .json(&serde_json::json!({ "csr": csr }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    openssl_verify_at(
        body["chain"].as_str().unwrap(),
        body["sign_cert"].as_str().unwrap(),
        hall.clock.now(),
    );
    openssl_verify_at(
        body["chain"].as_str().unwrap(),
        body["enc_cert"].as_str().unwrap(),
        hall.clock.now(),
    );
    assert!(!body["enc_key_envelope"].as_str().unwrap().is_empty());
    // The signing certificate carries the token's key and the approved subject.
    std::fs::write(dir.join("cert.pem"), body["sign_cert"].as_str().unwrap()).unwrap();
    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "utf8", "-in"])
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    let subject = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        subject.contains("深圳市某某科技有限公司") && !subject.contains("token"),
        "{subject}"
    );
    // The same line again: refused, nothing issued.
    let r = station
        .c
        .post(format!("{}/api/v1/station/orders/{no}/lines/0", hall.base))
        .header("x-csrf-token", &station.csrf)
        .json(&serde_json::json!({ "csr": csr }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Garbage CSR: a field error, the line is free again.
    let r = station
        .c
        .post(format!("{}/api/v1/station/orders/{no}/lines/1", hall.base))
        .header("x-csrf-token", &station.csrf)
        .json(&serde_json::json!({ "csr": "AAAA" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let o = hall.order(&no).await;
    assert_eq!(hall.store.cert_lines(o.id).await.unwrap().len(), 1);
}

/// Due times on the official calendar; a year without data counts weekends only and warns
/// admins; a new year's file is loaded without a rebuild.
#[tokio::test]
async fn due_times_and_calendar_import() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let ms = |s: &str| {
        domain::DateTime::parse(s)
            .unwrap()
            .to_unix_seconds(8 * 3600)
            * 1000
    };
    // 国庆: Wed 09-30 10:00 + 3 → Sat 10-10 10:00 (adjusted working day).
    let d = hall.app.review().due(ms("2026-09-30 10:00:00"));
    assert_eq!(d.at, ms("2026-10-10 10:00:00"));
    assert!(d.missing_years.is_empty());
    // 2027 has no data: weekends only, flagged.
    let d = hall.app.review().due(ms("2027-09-30 10:00:00"));
    assert_eq!(d.at, ms("2027-10-05 10:00:00"));
    assert_eq!(d.missing_years, [2027]);
    // The admin home warns in December 2026 (next month is 2027).
    hall.clock.set(ms("2026-12-15 10:00:00"));
    let (admin, _) = staff(&hall, Role::Admin, "admin").await;
    let (_, home) = admin.get("/staff").await;
    assert!(
        home.contains("2027") && home.contains("节假日安排"),
        "{home}"
    );
    let bad = "year = 2027\nsource = \"x\"\n[[holiday]]\nname = \"国庆节\"\noff = []\nwork = [\"2026-10-01\"]\n";
    let (s, _, body) = admin.form("/staff/calendar", &[("toml", bad)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let y2027 = "year = 2027\nsource = \"国务院办公厅关于2027年部分节假日安排的通知(测试数据)\"\n[[holiday]]\nname = \"国庆节\"\noff = [\"2027-10-01\", \"2027-10-02\", \"2027-10-03\", \"2027-10-04\", \"2027-10-05\", \"2027-10-06\", \"2027-10-07\"]\nwork = [\"2027-09-26\", \"2027-10-09\"]\n";
    let (s, _, body) = admin.form("/staff/calendar", &[("toml", y2027)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("已导入 2027 年"));
    let d = hall.app.review().due(ms("2027-09-30 10:00:00"));
    assert_eq!(d.at, ms("2027-10-11 10:00:00"));
    assert!(d.missing_years.is_empty());
    // Stored: a fresh App over the same database loads it.
    let n = hall.app.admin().load_calendar().await.unwrap();
    assert_eq!(n, 1);
    // Reviewers cannot import.
    let (rev, _) = staff(&hall, Role::Reviewer, "rev").await;
    let (s, _, _) = rev.form("/staff/calendar", &[("toml", y2027)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Every (method, path pattern) the router serves under `/staff`, read from the source of
/// `web/src/lib.rs` and each module's `routes()`: `.route("PATH", get(…).post(…))`.
fn staff_routes_in_router() -> std::collections::BTreeSet<(String, String)> {
    routes_in_router(|r| r == "/staff" || r.starts_with("/staff/"))
}

/// Every (method, path pattern) the router declares whose path `keep` accepts.
fn routes_in_router(keep: fn(&str) -> bool) -> std::collections::BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/src");
    let mut out = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let mut rest = src.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's arguments: up to its closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (i, ch) in rest.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let args = &rest[..end];
            let Some(q) = args.find('"') else { continue };
            let lit = &args[q + 1..];
            let route = &lit[..lit.find('"').unwrap()];
            if !keep(route) {
                continue;
            }
            let handlers = &lit[route.len() + 1..];
            for m in ["get", "post", "put", "patch", "delete"] {
                let found = handlers.match_indices(&format!("{m}(")).any(|(i, _)| {
                    i == 0
                        || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.insert((m.to_uppercase(), route.to_owned()));
                }
            }
        }
    }
    out
}

/// Every staff route × every role (and an applicant, and nobody). The table must name every
/// `/staff` route of the router: a new route without a row fails here.
#[tokio::test]
async fn staff_routes_by_role() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (applicant, no) = submitted_order(&hall, HANDLER_PHONE).await;
    // A real identity result, so the ID photos exist.
    support::identity::verify_identity(&hall, &applicant, &no).await;
    to_review(&hall, &no, true, true).await;
    let roles = [Role::Admin, Role::Reviewer, Role::Finance, Role::Production];
    let mut browsers = Vec::new();
    let mut finance = None;
    for r in roles {
        let (b, actor) = staff(&hall, r, r.as_str()).await;
        if r == Role::Finance {
            finance = Some(actor);
        }
        browsers.push(b);
    }
    let finance = finance.unwrap();
    hall.app
        .admin()
        .create_staff(app::authz::Operator::Cli, "spare", "spare", Role::Reviewer)
        .await
        .unwrap();
    // A second order paid online (a payment to refund) and a bank credit left for finance.
    let (payer, no2) = submitted_order(&hall, "13800000077").await;
    to_pending_payment(&hall, &no2).await;
    let (s, loc, body) = payer
        .form(
            &format!("/orders/{no2}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(payer.form(&loc, &[]).await.0, StatusCode::SEE_OTHER);
    let o2 = hall.order(&no2).await;
    let payment = hall.store.payments_of_order(o2.id).await.unwrap()[0].id;
    hall.app
        .billing()
        .import_statement(
            app::authz::Operator::Cli,
            "s.csv",
            "entry_ref,booked_on,direction,amount,currency,payer_name,payer_account,memo\n\
             R-1,2026-11-23,C,100.00,CNY,某贸易有限公司,6222020200112233445,货款\n"
                .as_bytes(),
        )
        .await
        .unwrap();
    let credit = hall
        .app
        .billing()
        .finance_credits(&finance, true)
        .await
        .unwrap()[0]
        .id;
    // A failed job to retry (a provider outage would leave one).
    hall.drain().await;
    let job: i64 = sqlx::query_scalar("SELECT MAX(id) FROM jobs")
        .fetch_one(&hall.store.db().pool)
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET status = 'failed', last_error = 'test' WHERE id = $1")
        .bind(job)
        .execute(&hall.store.db().pool)
        .await
        .unwrap();

    // (method, route pattern, path, roles allowed: admin, reviewer, finance, production)
    let table: Vec<(&str, &str, String, [bool; 4])> = vec![
        ("GET", "/staff", "/staff".into(), [true, true, true, true]),
        (
            "GET",
            "/staff/catalogue",
            "/staff/catalogue".into(),
            [true, true, true, true],
        ),
        (
            "GET",
            "/staff/review",
            "/staff/review".into(),
            [false, true, false, false],
        ),
        (
            "GET",
            "/staff/review/{no}",
            format!("/staff/review/{no}"),
            [false, true, false, false],
        ),
        (
            "GET",
            "/staff/review/{no}/files/{kind}",
            format!("/staff/review/{no}/files/letter"),
            [false, true, false, false],
        ),
        (
            "GET",
            "/staff/orders/{no}/identity/{side}",
            format!("/staff/orders/{no}/identity/front"),
            [false, true, false, false],
        ),
        (
            "GET",
            "/staff/production",
            "/staff/production".into(),
            [false, false, false, true],
        ),
        (
            "GET",
            "/staff/certificates",
            "/staff/certificates".into(),
            [false, false, false, true],
        ),
        (
            "GET",
            "/staff/certificates/{serial}/revoke",
            "/staff/certificates/00AB/revoke".into(),
            [false, false, false, true],
        ),
        (
            "POST",
            "/staff/certificates/{serial}/revoke",
            "/staff/certificates/00AB/revoke".into(),
            [false, false, false, true],
        ),
        (
            "GET",
            "/staff/production/{no}",
            format!("/staff/production/{no}"),
            [false, false, false, true],
        ),
        (
            "GET",
            "/staff/shipping",
            "/staff/shipping".into(),
            [false, false, false, true],
        ),
        (
            "GET",
            "/staff/shipping/{no}/label",
            format!("/staff/shipping/{no}/label"),
            [false, false, false, true],
        ),
        (
            "GET",
            "/staff/calendar",
            "/staff/calendar".into(),
            [true, false, false, false],
        ),
        (
            "GET",
            "/staff/accounts",
            "/staff/accounts".into(),
            [true, false, false, false],
        ),
        (
            "GET",
            "/staff/audit",
            "/staff/audit".into(),
            [true, false, false, false],
        ),
        (
            "GET",
            "/staff/jobs",
            "/staff/jobs".into(),
            [true, false, false, false],
        ),
        (
            "GET",
            "/staff/outbox",
            "/staff/outbox".into(),
            [true, true, false, false],
        ),
        (
            "GET",
            "/staff/finance",
            "/staff/finance".into(),
            [false, false, true, false],
        ),
        (
            "GET",
            "/staff/finance/reconciliation.csv",
            "/staff/finance/reconciliation.csv?day=2026-11-23".into(),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/accounts",
            "/staff/accounts".into(),
            [true, false, false, false],
        ),
        (
            "POST",
            "/staff/accounts/{username}/{op}",
            "/staff/accounts/spare/disable".into(),
            [true, false, false, false],
        ),
        (
            "POST",
            "/staff/jobs/{id}/retry",
            format!("/staff/jobs/{job}/retry"),
            [true, false, false, false],
        ),
        (
            "POST",
            "/staff/review/{no}/claim",
            format!("/staff/review/{no}/claim"),
            [false, true, false, false],
        ),
        (
            "POST",
            "/staff/calendar",
            "/staff/calendar".into(),
            [true, false, false, false],
        ),
        // Actions whose state or input is wrong still must be refused by role first.
        (
            "POST",
            "/staff/finance/import",
            "/staff/finance/import".into(),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/finance/credits/{id}/match",
            format!("/staff/finance/credits/{credit}/match"),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/finance/credits/{id}/reject",
            format!("/staff/finance/credits/{credit}/reject"),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/finance/fail",
            "/staff/finance/fail".into(),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/finance/payments/{id}/refund",
            format!("/staff/finance/payments/{payment}/refund"),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/finance/payments/{id}/refund-resolved",
            format!("/staff/finance/payments/{payment}/refund-resolved"),
            [false, false, true, false],
        ),
        (
            "POST",
            "/staff/production/{no}/issue",
            format!("/staff/production/{no}/issue"),
            [false, false, false, true],
        ),
        (
            "POST",
            "/staff/shipping/{no}/post",
            format!("/staff/shipping/{no}/post"),
            [false, false, false, true],
        ),
        (
            "POST",
            "/staff/shipping/{no}/delivered",
            format!("/staff/shipping/{no}/delivered"),
            [false, false, false, true],
        ),
        (
            "POST",
            "/staff/review/{no}/reject",
            format!("/staff/review/{no}/reject"),
            [false, true, false, false],
        ),
        (
            "POST",
            "/staff/review/{no}/approve",
            format!("/staff/review/{no}/approve"),
            [false, true, false, false],
        ),
    ];
    // The table covers the router: every /staff route but the login and logout (any
    // visitor / any staff session), and names no route the router lacks.
    let in_router = staff_routes_in_router();
    assert!(in_router.len() > 30, "routes found: {in_router:?}");
    let public = [
        ("GET", "/staff/login"),
        ("POST", "/staff/login"),
        ("POST", "/staff/logout"),
    ];
    let in_table: std::collections::BTreeSet<(String, String)> = table
        .iter()
        .map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned()))
        .chain(
            public
                .iter()
                .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
        )
        .collect();
    let missing: Vec<_> = in_router.difference(&in_table).collect();
    assert!(
        missing.is_empty(),
        "staff routes without a row: {missing:?}"
    );
    let stale: Vec<_> = in_table.difference(&in_router).collect();
    assert!(
        stale.is_empty(),
        "rows for routes the router lacks: {stale:?}"
    );

    for (method, _, path, allowed) in &table {
        for (i, b) in browsers.iter().enumerate() {
            let status = if *method == "GET" {
                b.get(path).await.0
            } else {
                b.form(path, &[]).await.0
            };
            if allowed[i] {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {method} {path}",
                    roles[i].as_str()
                );
                assert!(
                    status.is_success()
                        || status.is_redirection()
                        || status == StatusCode::CONFLICT
                        || status == StatusCode::BAD_REQUEST
                        || status == StatusCode::UNPROCESSABLE_ENTITY
                        // A serial the CA never issued: past the role check, not found.
                        || (path.contains("/00AB/") && status == StatusCode::NOT_FOUND),
                    "{} {method} {path}: {status}",
                    roles[i].as_str()
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {method} {path}",
                    roles[i].as_str()
                );
            }
        }
        // The applicant and an anonymous visitor get the staff login, never a staff page.
        let anon = support::applicant::Browser::new(&hall).await;
        for who in [&applicant, &anon] {
            let (status, loc) = if *method == "GET" {
                let r = who
                    .c
                    .get(format!("{}{path}", hall.base))
                    .send()
                    .await
                    .unwrap();
                (
                    r.status(),
                    r.headers()
                        .get("location")
                        .map(|v| v.to_str().unwrap().to_owned()),
                )
            } else {
                let (s, l, _) = who.form(path, &[]).await;
                (s, Some(l))
            };
            assert_eq!(
                (status, loc.as_deref()),
                (StatusCode::SEE_OTHER, Some("/staff/login")),
                "{method} {path}"
            );
        }
    }
    // Only the reviewer's approval (the table's last row) moved the order.
    assert_eq!(state(&hall, &no).await, OrderState::Approved);
}

/// A real (non-sandbox) provider: what it was asked to send.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<app::ports::SmsMessage>>);

#[async_trait::async_trait]
impl app::ports::Sms for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn is_sandbox(&self) -> bool {
        false
    }
    async fn send(
        &self,
        msg: &app::ports::SmsMessage,
    ) -> Result<app::ports::SmsReceipt, app::GatewayError> {
        self.0.lock().unwrap().push(msg.clone());
        Ok(app::ports::SmsReceipt {
            provider_ref: "r".into(),
        })
    }
}

/// With a real provider, a PIN leaves the outbox once delivered: nothing of it is kept.
#[tokio::test]
async fn pins_are_erased_from_the_outbox_once_delivered() {
    let rec = std::sync::Arc::new(Recorder::default());
    let hall = TestHall::builder(Backend::Sqlite)
        .sms(rec.clone())
        .start()
        .await;
    // Log in through the app (no sandbox inbox): the recorder holds the code.
    let no = {
        let b = support::applicant::Browser::new(&hall).await;
        let r =
            b.c.post(format!("{}/api/v1/auth/code", hall.base))
                .header("x-csrf-token", &b.csrf)
                .json(&serde_json::json!({"phone": HANDLER_PHONE, "purpose": "login"}))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        hall.drain().await;
        let code = rec.0.lock().unwrap().last().unwrap().params[0].1.clone();
        let r =
            b.c.post(format!("{}/api/v1/auth/login/code", hall.base))
                .header("x-csrf-token", &b.csrf)
                .json(&serde_json::json!({"phone": HANDLER_PHONE, "code": code}))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let no = support::applicant::new_order(&b).await;
        support::applicant::to_uploads(&b, &no).await;
        for kind in [
            "letter",
            "license",
            "person_id_0",
            "person_id_1",
            "seal_form",
        ] {
            let (s, _) = b.upload(&no, kind, "scan.png", png(40, 30)).await;
            assert_eq!(s, StatusCode::SEE_OTHER);
        }
        let (s, _, _) = b.form(&format!("/orders/{no}/submit"), &[]).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        no
    };
    to_review(&hall, &no, true, true).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    hall.app
        .production()
        .issue_all_sandbox(&prod, &no)
        .await
        .unwrap();
    hall.drain().await;
    let sent: Vec<(String, String)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.template.starts_with("pin_"))
        .map(|m| (m.phone.as_str().to_owned(), m.params[1].1.clone()))
        .collect();
    assert_eq!(
        sent.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        [HANDLER_PHONE, APPLICANT_1, APPLICANT_2]
    );
    let outbox = hall.store.outbox_page(50).await.unwrap();
    for m in outbox.iter().filter(|m| m.template.starts_with("pin_")) {
        assert_eq!(m.status, app::model::SmsStatus::Sent);
        assert!(
            m.params.is_empty(),
            "PIN kept after delivery: {:?}",
            m.template
        );
    }
    assert!(
        outbox.iter().any(|m| m.template == "review_approved"),
        "other messages untouched"
    );
}

/// A route that hands out a file someone uploaded (scan, voucher, ID photo): its path names
/// the file by a parameter after one of these segments.
fn serves_an_upload(route: &str) -> bool {
    ["/uploads/{", "/files/{", "/voucher/{", "/identity/{side}"]
        .iter()
        .any(|seg| route.contains(seg))
        && !route.starts_with("/api/")
}

/// Every route that serves an uploaded file sends it as an untrusted document: the sandbox
/// policy (no script, opaque origin), `nosniff`, a typed inline name. The test walks the
/// router's own list, so a new route of that kind must be added here to pass.
#[tokio::test]
async fn every_route_serving_an_upload_sends_it_sandboxed() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = submitted_order(&hall, "13812349001").await;
    support::identity::verify_identity(&hall, &b, &no).await;
    let part =
        reqwest::multipart::Part::bytes(support::applicant::png(60, 40)).file_name("voucher.png");
    let r =
        b.c.post(format!(
            "{}/orders/{no}/payment/voucher?_csrf={}",
            b.base, b.csrf
        ))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let o = hall.order(&no).await;
    let voucher = hall
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.voucher_blob.is_some())
        .unwrap()
        .id;
    let (rev, _) = staff(&hall, Role::Reviewer, "rev").await;
    let walked = [
        (
            "/orders/{no}/uploads/{kind}",
            &b,
            format!("/orders/{no}/uploads/letter"),
        ),
        (
            "/orders/{no}/payment/voucher/{id}",
            &b,
            format!("/orders/{no}/payment/voucher/{voucher}"),
        ),
        (
            "/staff/review/{no}/files/{kind}",
            &rev,
            format!("/staff/review/{no}/files/letter"),
        ),
        (
            "/staff/orders/{no}/identity/{side}",
            &rev,
            format!("/staff/orders/{no}/identity/front"),
        ),
    ];
    let declared: std::collections::BTreeSet<String> = routes_in_router(serves_an_upload)
        .into_iter()
        .filter(|(m, _)| m == "GET")
        .map(|(_, r)| r)
        .collect();
    let covered: std::collections::BTreeSet<String> =
        walked.iter().map(|(r, _, _)| r.to_string()).collect();
    assert_eq!(declared, covered, "every upload-serving route is walked");
    for (route, who, path) in &walked {
        let r = who
            .c
            .get(format!("{}{path}", hall.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{route}");
        let csp: Vec<_> = r
            .headers()
            .get_all("content-security-policy")
            .iter()
            .collect();
        assert_eq!(csp.len(), 1, "{route}: one policy");
        assert!(
            csp[0].to_str().unwrap().starts_with("sandbox;"),
            "{route}: {csp:?}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{route}");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("inline; filename="),
            "{route}"
        );
    }
}
