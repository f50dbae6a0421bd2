//! The payment pages in a real browser, with screenshots (`CERTHALL_SCREENSHOTS`).

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
    assert_eq!(hall.order(&no).await.state, OrderState::InReview);
    // Nobody reviews it yet: the handler cancels it, ticking the confirmation box.
    b.goto(&format!("{base}/orders/{no}")).await;
    shot(&b, "order-cancel", "确认取消").await;
    b.click("#cancel-form input[name=confirm]").await;
    b.click("#cancel-form button").await;
    b.wait_text("经办人取消业务单").await;
    assert_eq!(hall.order(&no).await.state, OrderState::Cancelled);
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
        .billing()
        .import_statement(
            app::authz::Operator::Staff(&finance()),
            "statement.csv",
            &csv,
        )
        .await
        .unwrap();
    let creds = hall
        .app
        .admin()
        .create_staff(
            app::authz::Operator::Cli,
            "cashier",
            "财务小王",
            Role::Finance,
        )
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
    // The cancelled order's refund came back 退款异常 from its gateway (as WeChat Pay's
    // ABNORMAL is recorded: requested, then marked): finance sees both actions and records
    // the manual refund.
    let o = hall.order(&no).await;
    let paid = hall.store.payments_of_order(o.id).await.unwrap()[0].clone();
    use app::payments::PaymentStore;
    hall.store
        .request_refund(paid.id, None, Default::default())
        .await
        .unwrap();
    hall.store
        .mark_refund(
            paid.id,
            PayState::RefundAbnormal,
            "SBXRF-ABNORMAL",
            None,
            Default::default(),
        )
        .await
        .unwrap();
    b.goto(&format!("{base}/staff/finance")).await;
    b.script("document.getElementById('refundable').scrollIntoView()")
        .await;
    shot(&b, "finance-refund-abnormal", "登记已线下退款").await;
    assert!(b.text("#refundable").await.contains("退款异常"));
    b.fill(
        "#refundable form[action$='/refund-resolved'] input[name=reason]",
        "商户平台手动退款,流水号 MP20261123001",
    )
    .await;
    b.click("#refundable form[action$='/refund-resolved'] button")
        .await;
    b.wait_text("人工处理队列").await;
    assert_eq!(
        hall.store
            .payment_by_id(paid.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        PayState::Refunded
    );
    b.close().await;
}
