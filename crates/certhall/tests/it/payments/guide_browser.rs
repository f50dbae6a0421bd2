//! The guide's own words, walked in Chromium: 网厅缴费 (支付宝/微信) → the 随机码 from the
//! unit's bank statement entered in 个人中心 → 我的订单; and FAQ (六): 金融认证 fails, the
//! handler follows 个人中心 → 我的业务单-证书申请 → 金融认证 to the re-fill form, which shows
//! why and what was given, and the new code goes in 我的订单 again. Every page on the way is
//! measured at 360 px: nothing wider than the viewport (`document.documentElement
//! .scrollWidth`), with screenshots at 1280 and 360 px into `CERTHALL_SCREENSHOTS`.

use super::*;
use support::pages::{applicant_login, staff_login};
use support::webdriver::{Driver, Session};

/// Checks the page shows `must` at 1280 and at 360 px, that at 360 px nothing is wider than
/// the viewport, and saves both screenshots when asked to.
async fn fits(b: &Session, name: &str, must: &str) {
    let body = b.wait_text(must).await;
    assert!(!body.contains("系统繁忙"), "{name}: {body}");
    let dir = std::env::var_os("CERTHALL_SCREENSHOTS")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from);
    for (size, w, h, mobile) in [("1280", 1280, 900, false), ("360", 360, 780, true)] {
        b.set_viewport(w, h, mobile).await;
        let width = b
            .script("return document.documentElement.scrollWidth")
            .await
            .as_u64()
            .unwrap_or(u64::MAX);
        assert!(width <= u64::from(w), "{name} is {width} px wide at {w} px");
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).unwrap();
            let png = b.full_page_screenshot().await;
            std::fs::write(d.join(format!("guide-{name}-{size}.png")), png).unwrap();
        }
    }
    b.set_viewport(1280, 900, false).await;
}

/// The 随机码 the unit's finance reads on the sandbox bank statement, newest first.
async fn code_on_statement(b: &Session, base: &str, no: &str) -> String {
    b.goto(&format!("{base}/sandbox/payouts")).await;
    b.wait_text("金融认证验证码").await;
    let rows = b
        .script(&format!(
            "return [...document.querySelectorAll('#payouts tr')].filter(r => r.textContent.includes('{no}')).map(r => r.querySelector('td.memo').textContent)"
        ))
        .await;
    let memo = rows[0].as_str().unwrap_or_default().trim().to_owned();
    memo.trim_start_matches("深圳CA金融认证验证码").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_orders_and_faq_six_as_the_guide_words_them() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let phone = support::applicant::HANDLER_PHONE;
    let (_api, no) = pending_payment(&hall, phone).await;
    let driver = Driver::start().await;
    let b = driver.session(1280, 900).await;
    let base = hall.base.as_str();
    applicant_login(&hall, &b, phone).await;
    b.goto(&format!("{base}/")).await;
    fits(&b, "home", "证书新办").await;
    b.goto(&format!("{base}/faq")).await;
    fits(&b, "faq", "常见问题").await;
    // The FAQ quotes what is sent.
    // (Its answer is folded: read the text, not what is drawn.)
    let faq = b
        .script("return document.getElementById('sms-fin-failed').textContent")
        .await;
    assert_eq!(
        faq.as_str(),
        hall.app.guide_sms(app::payments::FIN_FAILED_SMS).as_deref()
    );

    // 在线支付: the stepper shows it as the current step; 支付宝 and 微信, marked 演示.
    b.goto(&format!("{base}/orders/{no}/payment")).await;
    fits(&b, "payment-choice", "网厅缴费").await;
    assert_eq!(b.text("ol.wizard li.on").await.trim(), "在线支付");
    let buttons = b.text("#method-online").await;
    assert!(
        buttons.contains("支付宝(演示)") && buttons.contains("微信支付(演示)"),
        "{buttons}"
    );
    b.click("#method-online button[data-gateway=sandbox]").await;
    fits(&b, "sandbox-checkout", "确认支付").await;
    b.click("#confirm-pay").await;
    b.wait_path(base, &format!("/orders/{no}/payment")).await;
    let code = code_on_statement(&b, base, &no).await;
    fits(&b, "sandbox-payouts", "金融认证验证码").await;

    // 进入"个人中心"—"我的订单"中输入随机码验证.
    b.goto(&format!("{base}/account")).await;
    fits(&b, "my-orders", "我的订单").await;
    let mine = b.text("#my-payments").await;
    assert!(
        mine.contains("¥2400.00") && mine.contains("沙箱支付(演示)") && mine.contains("已到账"),
        "{mine}"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.fill(&format!("#code-input-{no}"), wrong).await;
    b.click(&format!("#code-{no} button")).await;
    b.wait_text("验证码错误,还可输入4次").await;
    fits(&b, "my-orders-wrong-code", "还可输入4次").await;
    b.fill(&format!("#code-input-{no}"), &code).await;
    b.click(&format!("#code-{no} button")).await;
    b.wait_text("随机码验证通过").await;
    fits(&b, "my-orders-passed", "随机码验证通过").await;
    let o = hall.order(&no).await;
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::InReview, FinState::Passed)
    );

    // FAQ (六): a second order's 金融认证 fails at finance, who is told it was done.
    hall.clock.advance(61_000); // past the resend interval of the login code
    let (_api2, no2) = pending_payment(&hall, phone).await;
    b.goto(&format!("{base}/orders/{no2}/payment")).await;
    b.click("#method-online button[data-gateway=sandbox]").await;
    b.wait_text("确认支付").await;
    b.click("#confirm-pay").await;
    b.wait_path(base, &format!("/orders/{no2}/payment")).await;
    let staff = driver.session(1280, 900).await;
    staff_login(&hall, &staff, Role::Finance, "cashier", "财务小王").await;
    staff.goto(&format!("{base}/staff/finance")).await;
    fits(&staff, "finance", "金融认证不通过(FAQ 六)").await;
    staff.fill("#fail-form input[name=order_no]", &no2).await;
    staff
        .fill(
            "#fail-form textarea[name=reason]",
            "小额打款被退回,对公账户信息有误",
        )
        .await;
    staff.click("#fail-form button").await;
    fits(&staff, "finance-failed", "金融认证不通过已记录").await;
    staff.close().await;
    hall.drain().await;
    let sms = hall
        .app
        .sandbox()
        .inbox(phone)
        .await
        .unwrap()
        .into_iter()
        .find(|(m, _)| m.template == "fin_failed")
        .map(|(_, t)| t)
        .expect("FAQ 六 SMS");
    assert!(
        sms.contains(&format!("找到订单号{no2}重填金融认证信息")),
        "{sms}"
    );
    b.goto(&format!("{base}/sandbox/sms?phone={phone}")).await;
    fits(&b, "sandbox-sms", "金融认证信息认证不通过").await;

    // 个人中心 → 我的业务单-证书申请 → 点击金融认证.
    b.goto(&format!("{base}/account")).await;
    b.wait_text("我的业务单").await;
    b.click(&format!("a.fin-refill[href^='/orders/{no2}/']"))
        .await;
    b.wait_text("驳回原因:小额打款被退回").await;
    assert!(b
        .current_url()
        .await
        .ends_with(&format!("/orders/{no2}/payment#refill-form")));
    fits(&b, "fin-refill", "重新填写正确的金融认证信息").await;
    assert!(b
        .text("#fin-reason")
        .await
        .contains("驳回原因:小额打款被退回,对公账户信息有误"));
    assert_eq!(
        b.value("#refill-form input[name=bank_account]").await,
        "44201500100052526093",
        "the previous values filled in"
    );
    assert_eq!(
        b.value("#refill-form input[name=bank_account_name]").await,
        "深圳市某某科技有限公司"
    );
    b.fill(
        "#refill-form input[name=bank_account]",
        "6217 8560 0001 2345 678",
    )
    .await;
    b.click("#refill-form button").await;
    b.wait_text("小额打款").await;
    assert_eq!(
        hall.order(&no2).await.draft.form.get("bank_account"),
        "6217856000012345678"
    );
    let code2 = code_on_statement(&b, base, &no2).await;
    b.goto(&format!("{base}/account")).await;
    b.fill(&format!("#code-input-{no2}"), &code2).await;
    b.click(&format!("#code-{no2} button")).await;
    b.wait_text("随机码验证通过").await;
    assert_eq!(hall.order(&no2).await.fin_state, FinState::Passed);
    b.goto(&format!("{base}/orders/{no2}")).await;
    fits(&b, "order", "办理记录").await;
    b.close().await;
}
