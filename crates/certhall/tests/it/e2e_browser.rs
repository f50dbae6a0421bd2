//! The whole story of one order through the real pages, in headless Chromium (issue 7, item
//! 10): a NEW applicant registers with an SMS code from the sandbox, walks the wizard with one
//! 机构证书 and two 机构个人证书 and uploads every file; the handler verifies on the phone page
//! (a second Chromium at 360 px opening the QR link) while the PC page moves on by itself;
//! the applicant pays online in the sandbox gateway, reads the micro-deposit code from the
//! sandbox bank statement and enters it under 我的订单; a reviewer (password + TOTP) claims
//! and rejects with a reason; the applicant sees the reason, changes a field, replaces a file
//! and resubmits; a second reviewer sees both changes and approves; production issues the
//! certificates; shipping posts and confirms delivery. Then: the PIN SMS reached the right
//! phones, the invoice link downloads a PDF, the certificates verify with openssl (SM2
//! distid), `certhall audit verify` on the test's database says intact and every staff
//! decision of the story is in the audit log.
//!
//! `CERTHALL_SCREENSHOTS=DIR` saves every step as `e2e-NN-step.png` (full page).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use certhall::testing::storage::*;

use app::clock::{DAY, HOUR, MINUTE};
use app::model::Role;
use certhall::testing::{Backend, TestHall};
use domain::order::{FinState, OrderState};
use std::time::Instant;
use support::desk::inbox;
use support::pages::{
    applicant_login, audit_verify_cli, code_from_sandbox, id_number, logout_staff, photo,
    replace_upload, scan_png, select, staff_login, type_in, upload, verify_issued, wait_count,
    wait_state, Shots,
};
use support::webdriver::{tempdir, Driver};

/// The account's phone (the person clicking through the hall).
const PHONE: &str = "13800138100";
const PASSWORD: &str = "Hall-2026pw";
/// The handler (经办人): gets the 机构证书 PIN.
const HANDLER_PHONE: &str = "13612345600";
/// The two applicants (机构个人证书): each gets their own PIN.
const WANG_PHONE: &str = "13700137100";
const ZHAO_PHONE: &str = "13700137101";
const UNIT: &str = "深圳市某某科技有限公司";
const USCC: &str = "91110000600037341L";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_from_registration_to_delivery() {
    story(Backend::Sqlite).await;
}

/// The same story on PostgreSQL (the database of a hall with several nodes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_from_registration_to_delivery_on_postgres() {
    story(Backend::Postgres).await;
}

async fn story(backend: Backend) {
    let started = Instant::now();
    let hall = TestHall::start(backend).await;
    let base = hall.base.clone();
    let base = base.as_str();
    let driver = Driver::start().await;
    let pc = driver.session(1280, 900).await;
    let mut shots = Shots::from_env("e2e");
    let files = tempdir("certhall-e2e-files");
    let handler_id = id_number("110105", "19491231", "002");
    let legal_id = id_number("440304", "19700315", "031");
    let wang_id = id_number("440305", "19880608", "123");
    let zhao_id = id_number("110108", "19920229", "024");

    // ---- A new applicant registers (SMS code read from the sandbox). ----
    pc.goto(&format!("{base}/register")).await;
    pc.fill("#phone", PHONE).await;
    pc.click("button[name=action][value=send_code]").await;
    pc.wait_text("验证码已发送").await;
    let code = code_from_sandbox(&hall, PHONE).await;
    pc.fill("#code", &code).await;
    pc.fill("#password", PASSWORD).await;
    pc.fill("#password_confirm", PASSWORD).await;
    pc.click("button[name=action][value=submit]:not(.default-submit)")
        .await;
    pc.wait_path(base, "/account").await;
    shots.take(&pc, "registered", "暂无业务单").await;

    // ---- The wizard: agreement, application, data, preview, letter, uploads. ----
    pc.goto(&format!("{base}/apply")).await;
    pc.wait_text("办理前请准备").await;
    pc.click("form[action='/apply'] button").await;
    pc.wait_text("我同意并接受《隐私保护》").await;
    let url = pc.current_url().await;
    let no = url
        .strip_prefix(&format!("{base}/orders/"))
        .and_then(|r| r.strip_suffix("/agreement"))
        .unwrap_or_else(|| panic!("not the agreement page: {url}"))
        .to_owned();
    pc.click("input[name=agree]").await;
    pc.click("form[action$='/agreement'] button.btn").await;
    pc.wait_path(base, &format!("/orders/{no}/application"))
        .await;
    pc.wait_text("办理指南").await;
    pc.click("input[name=project][value='szjt-sm2']").await;
    pc.click("input[name=option][value='szjt-platforms']").await;
    pc.click("#acknowledge").await;
    pc.wait_path(base, &format!("/orders/{no}/data")).await;
    pc.wait_text("单位信息").await;
    if pc.try_find("input[name=org_cert]:checked").await.is_none() {
        pc.click("input[name=org_cert]").await;
    }
    select(&pc, "org_years", "2").await;
    pc.click("input[name=seal][value=yes]").await;
    let fields: Vec<(&str, String)> = vec![
        ("unit_name", UNIT.into()),
        ("credit_code", USCC.into()),
        ("unit_address", "广东省深圳市福田区深南大道1号".into()),
        ("legal_name", "李大明".into()),
        ("legal_id", legal_id.clone()),
        ("legal_phone", "13900139000".into()),
        ("handler_name", "张小明".into()),
        ("handler_id", handler_id.clone()),
        ("handler_phone", HANDLER_PHONE.into()),
        ("handler_email", "zhangxm@example.com".into()),
        ("handler_title", "财务经理".into()),
        ("bank_account_name", UNIT.into()),
        ("bank_name", "中国工商银行深圳市分行".into()),
        ("bank_account", "44201500100052526093".into()),
        ("mail_recipient", "张小明".into()),
        ("mail_phone", HANDLER_PHONE.into()),
        ("mail_address", "广东省深圳市福田区深南大道1号".into()),
        ("invoice_title", UNIT.into()),
        ("invoice_tax_no", USCC.into()),
        ("invoice_email", "fapiao@example.com".into()),
    ];
    for (id, v) in &fields {
        type_in(&pc, id, v).await;
    }
    for (i, (name, id, phone, years)) in [
        ("王一", &wang_id, WANG_PHONE, "1"),
        ("赵二", &zhao_id, ZHAO_PHONE, "3"),
    ]
    .into_iter()
    .enumerate()
    {
        pc.click("button[name=action][value=add_person]").await;
        pc.find(&format!("[id='persons.{i}.name']")).await;
        type_in(&pc, &format!("persons.{i}.name"), name).await;
        type_in(&pc, &format!("persons.{i}.id_number"), id).await;
        type_in(&pc, &format!("persons.{i}.phone"), phone).await;
        select(&pc, &format!("persons.{i}.years"), years).await;
    }
    shots.take(&pc, "data-filled", "机构个人证书 2").await;
    pc.click("form.wizard-form button.btn[name=action][value=save]")
        .await;
    pc.wait_path(base, &format!("/orders/{no}/preview")).await;
    // 2 × 500 + (1 + 3) × 300 + 200 = 2400 元.
    shots.take(&pc, "preview", "2400.00").await;
    pc.click("form[action$='/preview'] button.btn").await;
    pc.wait_path(base, &format!("/orders/{no}/letter")).await;
    shots.take(&pc, "letter", "单位授权委托书").await;
    pc.click(&format!("a.btn[href='/orders/{no}/uploads']"))
        .await;
    pc.wait_path(base, &format!("/orders/{no}/uploads")).await;
    pc.wait_text("上传电子资料").await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    std::fs::write(files.join("letter.pdf"), pdf).unwrap();
    std::fs::write(files.join("seal-form.pdf"), pdf).unwrap();
    let path = |n: &str| files.join(n).canonicalize().unwrap().display().to_string();
    upload(&pc, "letter", &path("letter.pdf"), 0).await;
    upload(&pc, "license", &scan_png(&files, "license.png", 160), 1).await;
    upload(&pc, "person_id_0", &photo(&files, "id-wang.jpg", 30), 2).await;
    upload(&pc, "person_id_1", &photo(&files, "id-zhao.jpg", 60), 3).await;
    upload(&pc, "seal_form", &path("seal-form.pdf"), 4).await;
    shots.take(&pc, "uploads-done", "重新上传").await;
    pc.click(&format!("form[action='/orders/{no}/submit'] button.btn"))
        .await;

    // ---- 经办人在线认证: the phone opens the QR link; the PC page follows by itself. ----
    pc.wait_path(base, &format!("/orders/{no}/identity")).await;
    pc.wait_text("请打开手机微信“扫一扫”").await;
    assert_eq!(pc.count("#idv-next[disabled]").await, 1);
    shots.take(&pc, "identity-qr", "经办人在线认证").await;
    let link = pc.text("#idv-link").await;
    assert!(link.contains(&format!("/m/identity/{no}?t=")), "{link}");
    let pc_url = pc.current_url().await;
    let phone = driver.session(360, 740).await;
    phone.set_viewport(360, 740, true).await;
    phone.goto(&link).await;
    phone.wait_text("上传经办人身份证原件照片").await;
    shots
        .take(&phone, "phone-photos", "上传经办人身份证原件照片")
        .await;
    phone
        .send_keys("#front-album", &photo(&files, "front.jpg", 10))
        .await;
    phone.click("#front-submit").await;
    wait_count(&phone, "#front-ok", 1).await;
    phone
        .send_keys("#back-album", &photo(&files, "back.jpg", 90))
        .await;
    phone.click("#back-submit").await;
    wait_count(&phone, "#back-ok", 1).await;
    phone.wait_text("第二步:活体认证").await;
    phone.click("#liveness").await;
    phone.wait_text("完成检测").await;
    phone.click("#sandbox-done").await;
    phone.wait_text("请查看PC端继续操作").await;
    shots.take(&phone, "phone-done", "认证通过").await;
    phone.close().await;
    // The PC page moved on without a reload and enables 下一步.
    wait_count(&pc, "#idv-next[disabled]", 0).await;
    assert_eq!(pc.text("#idv-step-done").await, "认证通过");
    assert_eq!(pc.current_url().await, pc_url, "never reloaded");
    shots.take(&pc, "identity-passed", "认证通过").await;
    wait_state(&hall, &no, OrderState::PendingPayment).await;
    // 下一步 leads to the payment (straight, or through the order page's 在线支付).
    pc.click("#idv-next").await;
    let pay_url = format!("{base}/orders/{no}/payment");
    let order_url = format!("{base}/orders/{no}");
    let t = Instant::now();
    // (A GET form without fields leaves a bare `?`.)
    let mut at = pc.current_url().await.trim_end_matches('?').to_owned();
    while at != pay_url && at != order_url {
        assert!(
            t.elapsed() < support::webdriver::WAIT,
            "下一步 went to {at}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        at = pc.current_url().await.trim_end_matches('?').to_owned();
    }
    if at == order_url {
        pc.wait_text("待支付").await;
        pc.click(&format!("a.btn[href='/orders/{no}/payment']"))
            .await;
        pc.wait_path(base, &format!("/orders/{no}/payment")).await;
    }
    hall.clock.advance(3 * MINUTE);

    // ---- 在线支付 in the sandbox gateway (a few minutes later), then the micro-deposit code under 我的订单. ----
    shots.take(&pc, "payment-choice", "公对公转账汇款").await;
    pc.click("button[data-gateway=sandbox]").await;
    pc.wait_text("收银台").await;
    shots.take(&pc, "sandbox-gateway", "确认支付").await;
    pc.click("#confirm-pay").await;
    pc.wait_path(base, &format!("/orders/{no}/payment")).await;
    shots.take(&pc, "paid-code-entry", "随机验证码").await;
    let o = hall.order(&no).await;
    assert!(
        o.paid_at.is_some(),
        "the sandbox callback credited the order"
    );
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::PendingFinancial, FinState::Pending)
    );
    // The unit's finance reads the bank statement a little later.
    hall.clock.advance(10 * MINUTE);
    pc.goto(&format!("{base}/sandbox/payouts")).await;
    shots.take(&pc, "sandbox-payouts", "金融认证验证码").await;
    let memo = pc.text("#payouts td.memo").await;
    let deposit_code = memo
        .trim()
        .trim_start_matches("深圳CA金融认证验证码")
        .to_owned();
    assert!(
        deposit_code.len() == 6 && deposit_code.bytes().all(|b| b.is_ascii_digit()),
        "{memo}"
    );
    pc.goto(&format!("{base}/orders/{no}/payment")).await;
    pc.fill("#code-form input[name=code]", &deposit_code).await;
    pc.click("#code-form button").await;
    pc.wait_text("已通过").await;
    shots.take(&pc, "financial-passed", "已通过").await;
    wait_state(&hall, &no, OrderState::InReview).await;
    assert_eq!(hall.order(&no).await.fin_state, FinState::Passed);
    pc.goto(&format!("{base}/orders/{no}")).await;
    shots.take(&pc, "in-review", "预计审核完成日期").await;

    // ---- The next morning a reviewer claims the order and rejects it with a reason. ----
    hall.clock.advance(22 * HOUR);
    let desk = driver.session(1280, 900).await;
    let rev_a = staff_login(&hall, &desk, Role::Reviewer, "rev-a", "审核员甲").await;
    desk.goto(&format!("{base}/staff/review")).await;
    shots.take(&desk, "review-queue", &no).await;
    desk.click(&format!("a[href='/staff/review/{no}']")).await;
    shots.take(&desk, "review-order", "审核操作").await;
    desk.click("#claim").await;
    desk.wait_text("已由您领取审核").await;
    desk.click("#reject-form input[name=reason][value='0']")
        .await;
    desk.fill("#note", "请在王一的身份证复印件上加盖公章").await;
    desk.click("#reject").await;
    wait_state(&hall, &no, OrderState::Rejected).await;
    logout_staff(&hall, &desk).await;

    // ---- Hours later the applicant logs in again (the session had timed out), sees the
    // reason, edits a field, replaces a file and resubmits. ----
    hall.clock.advance(3 * HOUR);
    applicant_login(&hall, &pc, PHONE).await;
    pc.goto(&format!("{base}/orders/{no}")).await;
    let page = pc.wait_text("身份证复印件未加盖公章").await;
    assert!(page.contains("请在王一的身份证复印件上加盖公章"), "{page}");
    shots.take(&pc, "rejected", "已驳回").await;
    assert!(pc
        .text("#rejection")
        .await
        .contains("身份证复印件未加盖公章"));
    pc.click("#edit").await;
    pc.wait_path(base, &format!("/orders/{no}/data")).await;
    pc.wait_text("单位信息").await;
    type_in(&pc, "handler_title", "行政主管").await;
    pc.click("form.wizard-form button.btn[name=action][value=save]")
        .await;
    // A changed field goes through 预览 and the 授权委托书 again, as on first filling.
    pc.wait_path(base, &format!("/orders/{no}/preview")).await;
    pc.wait_text("行政主管").await;
    pc.click("form[action$='/preview'] button.btn").await;
    pc.wait_path(base, &format!("/orders/{no}/letter")).await;
    pc.wait_text("单位授权委托书").await;
    pc.click(&format!("a.btn[href='/orders/{no}/uploads']"))
        .await;
    pc.wait_path(base, &format!("/orders/{no}/uploads")).await;
    pc.wait_text("上传电子资料").await;
    let stamped = scan_png(&files, "stamped.png", 200);
    replace_upload(&hall, &pc, &no, "person_id_0", &stamped).await;
    pc.goto(&format!("{base}/orders/{no}/uploads")).await;
    pc.wait_text("上传电子资料").await;
    pc.click(&format!("form[action='/orders/{no}/submit'] button"))
        .await;
    wait_state(&hall, &no, OrderState::InReview).await;
    // Lands on the order, not on the identity page: its check and payment stand.
    let landed = pc.wait_text("已重新提交,等待审核").await;
    assert!(!landed.contains("在线缴费"), "{landed}");
    pc.goto(&format!("{base}/orders/{no}")).await;
    shots.take(&pc, "resubmitted", "重新提交").await;

    // ---- The next day another reviewer sees what changed and approves. ----
    hall.clock.advance(DAY);
    let rev_b = staff_login(&hall, &desk, Role::Reviewer, "rev-b", "审核员乙").await;
    desk.goto(&format!("{base}/staff/review/{no}")).await;
    let page = desk.wait_text("驳回后的修改").await;
    assert!(
        page.contains("申请人身份证复印件(王一)"),
        "replaced file listed: {page}"
    );
    let changed = desk.text("tr.changed").await;
    assert!(
        changed.contains("财务经理") && changed.contains("行政主管"),
        "changed field listed: {changed}"
    );
    shots.take(&desk, "review-changes", "已替换的文件").await;
    desk.click("#claim").await;
    desk.wait_text("已由您领取审核").await;
    desk.click("#approve").await;
    wait_state(&hall, &no, OrderState::Approved).await;
    logout_staff(&hall, &desk).await;

    // ---- An hour later production issues the certificates and posts the key; two days
    // later the delivery is confirmed. ----
    hall.clock.advance(HOUR);
    let prod = staff_login(&hall, &desk, Role::Production, "prod", "制证员").await;
    desk.goto(&format!("{base}/staff/production")).await;
    shots.take(&desk, "production-queue", &no).await;
    desk.goto(&format!("{base}/staff/production/{no}")).await;
    shots
        .take(&desk, "production-order", "沙箱:在CA内生成密钥")
        .await;
    desk.click("#issue").await;
    wait_state(&hall, &no, OrderState::Issued).await;
    desk.goto(&format!("{base}/staff/production/{no}")).await;
    // 金融认证 passed before review, so the PINs went out at production.
    shots
        .take(&desk, "production-issued", "已短信发送并清除")
        .await;
    desk.goto(&format!("{base}/staff/shipping/{no}/label"))
        .await;
    shots.take(&desk, "shipping-label", "邮费到付").await;
    desk.goto(&format!("{base}/staff/shipping")).await;
    desk.click(&format!("#post-{no}")).await;
    wait_state(&hall, &no, OrderState::Shipped).await;
    logout_staff(&hall, &desk).await;
    hall.clock.advance(2 * DAY);
    let mailroom = staff_login(&hall, &desk, Role::Production, "desk", "邮寄员").await;
    desk.goto(&format!("{base}/staff/shipping")).await;
    shots.take(&desk, "shipping-posted", "确认签收").await;
    desk.click(&format!("#delivered-{no}")).await;
    wait_state(&hall, &no, OrderState::Completed).await;
    logout_staff(&hall, &desk).await;
    desk.close().await;

    // ---- The PIN SMS reached the right phones (the sandbox outbox), each naming its
    // holder; the handler also got the guide's review texts and the tracking number. ----
    let handler = inbox(&hall, HANDLER_PHONE).await;
    let of = |m: &[(String, String)], t: &str| -> Vec<String> {
        m.iter()
            .filter(|(x, _)| x == t)
            .map(|(_, text)| text.clone())
            .collect()
    };
    let pin_of = |text: &str| -> String {
        let pin: String = text
            .split("PIN码为")
            .nth(1)
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        assert!(pin.len() >= 6, "a PIN in {text}");
        pin
    };
    let org_pin = of(&handler, "pin_org");
    assert_eq!(org_pin.len(), 1, "handler: {handler:?}");
    assert!(org_pin[0].contains(UNIT), "{}", org_pin[0]);
    assert!(
        of(&handler, "pin_person").is_empty(),
        "handler: {handler:?}"
    );
    let mut all_pins = vec![pin_of(&org_pin[0])];
    for (p, name) in [(WANG_PHONE, "王一"), (ZHAO_PHONE, "赵二")] {
        let m = inbox(&hall, p).await;
        let person = of(&m, "pin_person");
        assert!(of(&m, "pin_org").is_empty(), "{p}: {m:?}");
        assert_eq!(person.len(), 1, "{p}: {m:?}");
        assert!(person[0].contains(name), "{p}: {}", person[0]);
        all_pins.push(pin_of(&person[0]));
    }
    all_pins.sort();
    all_pins.dedup();
    assert_eq!(all_pins.len(), 3, "each certificate has its own PIN");
    let account = inbox(&hall, PHONE).await;
    assert!(
        of(&account, "pin_org").is_empty() && of(&account, "pin_person").is_empty(),
        "the account's phone gets no PIN: {account:?}"
    );
    let rejected = of(&handler, "review_rejected");
    assert_eq!(rejected.len(), 1, "handler: {handler:?}");
    assert!(
        rejected[0].contains("驳回原因: 身份证复印件未加盖公章"),
        "{}",
        rejected[0]
    );
    assert_eq!(of(&handler, "review_approved").len(), 1);
    let shipped = of(&handler, "shipped");
    assert_eq!(shipped.len(), 1, "handler: {handler:?}");
    let tracking: String = shipped[0]
        .split("运单号:")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert!(!tracking.is_empty(), "{}", shipped[0]);

    // ---- The invoice link (sent by SMS) downloads a PDF. ----
    let invoice_sms = handler
        .iter()
        .chain(account.iter())
        .find(|(t, _)| t == "invoice")
        .map(|(_, text)| text.clone())
        .unwrap_or_else(|| panic!("no invoice SMS: {handler:?} {account:?}"));
    let link = invoice_sms
        .split("下载链接:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_owned();
    let inv_path = link
        .split_once("/invoices/")
        .map(|(_, t)| format!("/invoices/{t}"))
        .unwrap();
    let r = reqwest::get(format!("{base}{inv_path}")).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));

    // ---- The applicant's timeline after delivery (logging in again, days later). ----
    applicant_login(&hall, &pc, PHONE).await;
    pc.goto(&format!("{base}/orders/{no}")).await;
    shots.take(&pc, "timeline-delivered", "电子发票").await;
    let body = pc.body_text().await;
    assert!(
        body.contains(&tracking),
        "the tracking number {tracking}: {body}"
    );
    for what in [
        "已完成",
        "提交申请资料",
        "认证通过",
        "支付成功",
        "金融认证通过",
        "审核驳回",
        "身份证复印件未加盖公章",
        "重新提交",
        "审核通过",
        "制证完成",
        "运单号",
        "已签收",
        // Monday's submission, Tuesday's rejection, Wednesday's approval, Friday's delivery.
        "2026-11-23 10:",
        "2026-11-24 08:",
        "2026-11-25 11:",
        "2026-11-27 1",
    ] {
        assert!(body.contains(what), "timeline lacks {what}: {body}");
    }
    // The order page shows the invoice and a download link for its owner (the SMS carries
    // the token link for anyone the handler forwards it to).
    assert!(pc.text("#invoice").await.contains("已开具"));
    let own = format!("{base}/orders/{no}/invoice.pdf");
    pc.find("#invoice-link").await;
    let r = reqwest::Client::new()
        .get(&own)
        .header("cookie", pc.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
    // Without the owner's session: no invoice.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&own)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), reqwest::StatusCode::OK);
    pc.close().await;
    drop(driver);

    // ---- The issued certificates verify with openssl (SM2, distid). ----
    // One 机构证书 and two 机构个人证书, each a signing and an encryption certificate.
    assert_eq!(verify_issued(&hall, &no).await, 6);

    // ---- The audit chain is intact and holds every staff decision of the story. ----
    let said = audit_verify_cli(&hall);
    let (rows, _) = hall.store.audit_all().await.unwrap();
    let subject = format!("order:{no}");
    // Who did what: every decision of the story, by the staff member who made it.
    let by = |action: &str, actor: &str| {
        rows.iter()
            .filter(|r| {
                r.event.action == action && r.event.subject == subject && r.event.actor == actor
            })
            .count()
    };
    for (who, action) in [(&rev_a, "review.claim"), (&rev_b, "review.claim")] {
        assert!(by(action, who) >= 1, "{action} by {who} in the audit log");
    }
    for (who, action, n) in [
        (&rev_a, "review.reject", 1),
        (&rev_b, "review.approve", 1),
        (&prod, "production.issue", 3),
        (&prod, "production.done", 1),
        (&prod, "shipping.post", 1),
        (&mailroom, "shipping.delivered", 1),
    ] {
        assert_eq!(by(action, who), n, "{action} by {who} in the audit log");
    }
    let decisions = rows
        .iter()
        .filter(|r| r.event.subject == subject && r.event.actor.starts_with("staff:"))
        .count();
    let _ = std::fs::remove_dir_all(&files);
    eprintln!("certhall audit verify: {said}; {decisions} staff entries on {no}");
    eprintln!(
        "end-to-end browser story on {backend:?}: {:.1}s, {} steps checked{}",
        started.elapsed().as_secs_f64(),
        shots.n,
        if shots.taken.is_empty() {
            String::new()
        } else {
            format!(", {} screenshots", shots.taken.len())
        }
    );
}
