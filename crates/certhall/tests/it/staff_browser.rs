//! The staff console in a real browser, from an order pushed to 待审核 (identity and payment
//! are other suites): a reviewer rejects with a reason; the applicant sees it, edits and
//! resubmits; the reviewer sees the change and approves; production issues the certificates;
//! shipping posts and confirms delivery; the PIN SMS reach the right phones; the invoice link
//! downloads; the issued certificates verify with openssl; the audit log is intact.
//!
//! `CERTHALL_SCREENSHOTS=DIR` saves every staff page and the applicant's timeline
//! (`staff-NN-name.png`, full page). Without it nothing is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::model::Role;
use certhall::testing::{Backend, TestHall};
use domain::order::OrderState;
use std::time::Instant;
use support::applicant::{submitted_order, HANDLER_PHONE};
use support::desk::{inbox, to_review};
use support::pages::{
    applicant_login, audit_verify_cli, logout_staff, replace_upload, scan_png, staff_login,
    verify_issued, wait_state, Shots,
};
use support::webdriver::Driver;

#[tokio::test]
async fn staff_console_in_a_browser() {
    let started = Instant::now();
    let hall = TestHall::start(Backend::Sqlite).await;
    let base = hall.base.clone();
    let (_, no) = submitted_order(&hall, HANDLER_PHONE).await;
    to_review(&hall, &no, true, true).await;
    let mut shots = Shots::from_env("staff");
    let driver = Driver::start().await;
    let b = driver.session(1280, 900).await;

    // Reviewer: queue with the due time, the order page, reject with a reason.
    staff_login(&hall, &b, Role::Reviewer, "rev-a", "审核员甲").await;
    shots.take(&b, "home-reviewer", "待审核").await;
    b.goto(&format!("{base}/staff/review")).await;
    shots.take(&b, "review-queue", &no).await;
    b.click(&format!("a[href='/staff/review/{no}']")).await;
    shots.take(&b, "review-order", "审核操作").await;
    b.click("#claim").await;
    b.wait_text("已由您领取审核").await;
    b.click("#reject-form input[name=reason][value='0']").await;
    b.fill("#note", "请在王一的身份证复印件上加盖公章").await;
    b.click("#reject").await;
    wait_state(&hall, &no, OrderState::Rejected).await;
    logout_staff(&hall, &b).await;

    // Applicant: sees the reason, 编辑, replaces the ID copy, resubmits.
    applicant_login(&hall, &b, HANDLER_PHONE).await;
    b.goto(&format!("{base}/orders/{no}")).await;
    shots
        .take(&b, "applicant-rejected", "身份证复印件未加盖公章")
        .await;
    b.goto(&format!("{base}/orders/{no}/uploads")).await;
    b.wait_text("上传电子资料").await;
    let dir = support::webdriver::tempdir("certhall-staff-files");
    let stamped = scan_png(&dir, "stamped.png", 90);
    replace_upload(&hall, &b, &no, "person_id_0", &stamped).await;
    b.goto(&format!("{base}/orders/{no}/uploads")).await;
    b.click(&format!("form[action='/orders/{no}/submit'] button"))
        .await;
    wait_state(&hall, &no, OrderState::InReview).await;
    b.goto(&format!("{base}/orders/{no}")).await;
    shots
        .take(&b, "applicant-resubmitted", "预计审核完成日期")
        .await;
    b.click("header form[action='/logout'] button").await;
    b.wait_path(&base, "/").await;

    // Reviewer: sees what changed, approves.
    staff_login(&hall, &b, Role::Reviewer, "rev-b", "审核员乙").await;
    b.goto(&format!("{base}/staff/review/{no}")).await;
    let page = b.wait_text("驳回后的修改").await;
    assert!(page.contains("申请人身份证复印件(王一)"), "{page}");
    b.click("button[data-rotate='scan-letter']").await;
    shots.take(&b, "review-changes", "已替换的文件").await;
    b.click("#approve").await;
    wait_state(&hall, &no, OrderState::Approved).await;
    // A reviewer reaches no production page.
    b.goto(&format!("{base}/staff/production")).await;
    shots
        .take(&b, "reviewer-forbidden", "您没有权限执行此操作")
        .await;
    logout_staff(&hall, &b).await;

    // Production: issue, ship, confirm delivery.
    staff_login(&hall, &b, Role::Production, "prod", "制证员").await;
    shots.take(&b, "home-production", "待制证").await;
    b.goto(&format!("{base}/staff/production")).await;
    shots.take(&b, "production-queue", &no).await;
    b.goto(&format!("{base}/staff/production/{no}")).await;
    shots
        .take(&b, "production-order", "沙箱:在CA内生成密钥")
        .await;
    b.click("#issue").await;
    wait_state(&hall, &no, OrderState::Issued).await;
    b.goto(&format!("{base}/staff/production/{no}")).await;
    shots
        .take(&b, "production-issued", "已短信发送并清除")
        .await;
    b.goto(&format!("{base}/staff/shipping")).await;
    shots.take(&b, "shipping-queue", &no).await;
    b.goto(&format!("{base}/staff/shipping/{no}/label")).await;
    shots.take(&b, "shipping-label", "邮费到付").await;
    b.goto(&format!("{base}/staff/shipping")).await;
    b.click(&format!("#post-{no}")).await;
    wait_state(&hall, &no, OrderState::Shipped).await;
    b.goto(&format!("{base}/staff/shipping")).await;
    shots.take(&b, "shipping-posted", "确认签收").await;
    b.click(&format!("#delivered-{no}")).await;
    wait_state(&hall, &no, OrderState::Completed).await;
    logout_staff(&hall, &b).await;

    // Admin: calendar and outbox pages.
    staff_login(&hall, &b, Role::Admin, "admin", "管理员").await;
    b.goto(&format!("{base}/staff/calendar")).await;
    shots
        .take(&b, "calendar", "国务院办公厅关于2026年部分节假日安排的通知")
        .await;
    b.goto(&format!("{base}/staff/outbox")).await;
    shots.take(&b, "outbox", "机构个人证书PIN码").await;
    b.goto(&format!("{base}/staff/audit")).await;
    shots.take(&b, "audit", "审核驳回").await;
    logout_staff(&hall, &b).await;

    // PINs reached the right phones; the invoice link downloads.
    let h = inbox(&hall, HANDLER_PHONE).await;
    assert!(h.iter().any(|(t, _)| t == "pin_org"));
    for phone in ["13700137000", "13700137001"] {
        let m = inbox(&hall, phone).await;
        assert_eq!(m.len(), 1, "{phone}: {m:?}");
        assert_eq!(m[0].0, "pin_person");
    }
    let link = h
        .iter()
        .find(|(t, _)| t == "invoice")
        .map(|(_, text)| {
            text.split("下载链接:")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .unwrap();
    let path = link
        .split_once("/invoices/")
        .map(|(_, t)| format!("/invoices/{t}"))
        .unwrap();
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));

    // The applicant's timeline after delivery.
    applicant_login(&hall, &b, HANDLER_PHONE).await;
    b.goto(&format!("{base}/orders/{no}")).await;
    shots.take(&b, "applicant-timeline", "电子发票").await;
    let body = b.body_text().await;
    for what in [
        "已完成",
        "审核驳回",
        "重新提交",
        "审核通过",
        "制证完成",
        "运单号",
        "已签收",
    ] {
        assert!(body.contains(what), "{what}: {body}");
    }
    b.close().await;

    // Issued certificates verify with openssl (SM2 distid, chain to the test root).
    assert_eq!(verify_issued(&hall, &no).await, 6);
    match hall.app.admin().verify_audit().await.unwrap() {
        app::audit::ChainCheck::Intact { .. } => {}
        other => panic!("{other:?}"),
    }
    // The operator's command agrees, on the same database.
    let said = audit_verify_cli(&hall);
    eprintln!("certhall audit verify: {said}");
    eprintln!("staff browser flow: {} ms", started.elapsed().as_millis());
}
