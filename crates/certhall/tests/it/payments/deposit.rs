//! 金融认证 by micro-deposit code: five wrong codes void it (FAQ 六 SMS), refilling the bank
//! account, expiry and re-sending; finance failing it by hand; the day's reconciliation.

use super::*;

#[tokio::test]
async fn five_wrong_codes_void_then_refill_and_expiry() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = pending_payment(&hall, "13800000031").await;
    pay_in_sandbox(&b, &no).await;
    let code = code_from_statement(&b, &no).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // 个人中心 → 我的订单: the payment, in Chinese, and the 随机码 entry.
    let (_, page) = b.get("/account").await;
    let mine = page.split("id=\"my-payments\"").nth(1).expect("我的订单");
    assert!(!mine.contains("暂无订单"), "{mine}");
    for needle in [
        format!("id=\"code-{no}\""),
        format!("action=\"/account/orders/{no}/code\""),
        "¥2400.00".to_owned(),
        "沙箱支付(演示)".to_owned(),
        "已到账".to_owned(),
    ] {
        assert!(mine.contains(&needle), "{needle}: {mine}");
    }
    assert!(!mine.contains(">sandbox<"), "{mine}");
    // Wrong codes: the first from 我的订单 (its message beside its form), then the
    // payment page.
    for i in 1..=5 {
        let path = if i == 1 {
            format!("/account/orders/{no}/code")
        } else {
            format!("/orders/{no}/payment/code")
        };
        let (s, _, body) = b.form(&path, &[("code", wrong)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        if i == 1 {
            assert!(
                body.contains("<p class=\"field-error\" role=\"alert\">验证码错误,还可输入4次</p>"),
                "{body}"
            );
            assert_eq!(
                body.matches("还可输入4次").count(),
                1,
                "beside its form only"
            );
        } else if i < 5 {
            assert!(body.contains(&format!("还可输入{}次", 5 - i)), "{body}");
            assert!(
                body.contains("class=\"notice err\""),
                "styled notice: {body}"
            );
        } else {
            assert!(body.contains("连续5次输入错误,验证码已作废"), "{body}");
        }
    }
    // Void: even the right code no longer works; 金融认证 failed, FAQ (六) SMS sent.
    let (s, _, _) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code)])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let o = hall.order(&no).await;
    assert_eq!(
        (o.state, o.fin_state),
        (OrderState::PendingFinancial, FinState::Failed)
    );
    let d = hall.store.deposits_of_order(o.id).await.unwrap();
    assert_eq!(d[0].state, DepositState::Void);
    hall.drain().await;
    let inbox = hall
        .app
        .sandbox()
        .inbox(support::applicant::HANDLER_PHONE)
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
    // The guide's words, with the configured hall address in place of wt.szca.net.
    let url = hall.app.billing().settings().public_url.clone();
    assert!(
        sms.ends_with(&format!(
            "具体以财务收到的信息为准详情请登录深圳CA网上服务厅{url}查看。"
        )),
        "{sms}"
    );
    assert!(
        sms.contains(&format!(
            "请登录深圳CA会员账号找到订单号{no}重填金融认证信息"
        )),
        "{sms}"
    );
    // FAQ 六's path: 我的业务单 → 金融认证 → the re-fill form with the reason and what was
    // given before.
    let (_, page) = b.get("/account").await;
    let refill =
        format!("<a href=\"/orders/{no}/payment#refill-form\" class=\"fin-refill\">金融认证</a>");
    assert!(page.contains(&refill), "{page}");
    assert!(
        !page.contains(&format!("id=\"code-{no}\"")),
        "no code entry once failed"
    );
    let (_, page) = b.get(&format!("/orders/{no}/payment")).await;
    assert!(
        page.contains(
            "金融认证信息认证不通过,驳回原因:小额打款验证码连续5次输入错误,验证码已作废。"
        ),
        "{page}"
    );
    for (name, value) in [
        ("bank_account_name", "深圳市某某科技有限公司"),
        ("bank_account", "44201500100052526093"),
    ] {
        assert!(
            page.contains(&format!("name=\"{name}\" value=\"{value}\"")),
            "{name}: {page}"
        );
    }
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
    let o = hall.order(&no).await;
    assert_eq!(o.fin_state, FinState::Pending);
    assert_eq!(o.draft.form.get("bank_account"), "6217856000012345678");
    assert_eq!(
        o.draft.form.get("unit_name"),
        "深圳市某某科技有限公司",
        "other sections unchanged"
    );
    let d = hall.store.deposits_of_order(o.id).await.unwrap();
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
    // Entered in 我的订单, as the guide says.
    let (s, loc, _) = b
        .form(&format!("/account/orders/{no}/code"), &[("code", &code3)])
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/account?done=code")
    );
    let (_, page) = b.get(&loc).await;
    assert!(page.contains("随机码验证通过"), "{page}");
    let o = hall.order(&no).await;
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
        .billing()
        .fail_financial(&fin, &no, "小额打款被退回,对公账户信息有误")
        .await
        .unwrap();
    let o = hall.order(&no).await;
    assert_eq!(o.fin_state, FinState::Failed);
    hall.drain().await;
    let inbox = hall
        .app
        .sandbox()
        .inbox(support::applicant::HANDLER_PHONE)
        .await
        .unwrap();
    assert!(inbox.iter().any(|(m, t)| m.template == "fin_failed"
        && t.contains("驳回原因:小额打款被退回,对公账户信息有误")));
    // Reconciliation of the day: the sandbox payment, amount equal to the price.
    let lines = hall
        .app
        .billing()
        .reconciliation(&fin, "2026-11-23")
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].paid_fen, lines[0].due_fen, lines[0].check.as_str()),
        (240_000, 240_000, "一致")
    );
    let csv = app::payments::reconciliation_csv(&lines);
    eprintln!("reconciliation CSV:\n{csv}");
    assert!(csv.contains(&no) && csv.contains("2400.00"));
    // Refund only for cancelled or rejected orders.
    let p = hall.store.payments_of_order(o.id).await.unwrap()[0].clone();
    assert!(hall
        .app
        .billing()
        .refund(&fin, p.id, "撤单退款")
        .await
        .is_err());
}
