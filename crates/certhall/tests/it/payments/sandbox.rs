//! The sandbox gateway end to end: paying, the micro-deposit code it triggers, and ten
//! identical callbacks in parallel crediting once.

use super::*;

#[tokio::test]
async fn sandbox_payment_and_micro_deposit_code() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = pending_payment(&hall, "13800000011").await;
    // The return page alone credits nothing.
    let (s, _) = b.get(&format!("/orders/{no}/payment")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hall.order(&no).await.paid_at, None);
    pay_in_sandbox(&b, &no).await;
    let o = hall.order(&no).await;
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
    let o = hall.order(&no).await;
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
    let events = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
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
    let g = hall.gateway("sandbox").unwrap().clone();
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
    assert_eq!(hall.order(&no).await.paid_at, None);
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
    let o = hall.order(&no).await;
    assert_eq!(o.state, OrderState::PendingFinancial);
    let events = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
    let credits = events
        .iter()
        .filter(|e| e.what.contains("支付成功"))
        .count();
    let deposits = hall.store.deposits_of_order(o.id).await.unwrap();
    let paid = hall
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
