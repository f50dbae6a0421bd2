//! Alipay (RSA2) and WeChat Pay (API v3) through the hall, against a local server that checks
//! requests and signs answers the way those gateways do (the gateways' own fake, included from
//! their tests): the redirect or QR code, forged and replayed notifications refused, ten
//! parallel ones credit once, refunds signed both ways.

use super::*;
use app::payments::PaymentGateway;
use gateways::payments::alipay::{
    rsa2_sign, rsa2_verify, sign_content, signing_key, verifying_key,
};
use gateways::payments::form_decode;
use std::sync::Arc;

#[path = "../../../../gateways/tests/it/fake_pay.rs"]
mod fake_pay;
use fake_pay::{alipay_notify, gateway_server, pem, wechat_notify, ALIPAY_APP, MCHID};

async fn hall_with_real(server: &str) -> TestHall {
    TestHall::builder(Backend::Sqlite)
        .gateways(vec![
            Arc::new(fake_pay::alipay(server)) as Arc<dyn PaymentGateway>,
            Arc::new(fake_pay::wechat(server)),
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
    let o = hall.order(no).await;
    let paid = hall
        .store
        .payments_of_order(o.id)
        .await
        .unwrap()
        .iter()
        .filter(|p| p.state == PayState::Paid)
        .count();
    let ev = hall
        .app
        .wizard()
        .order_history(o.user_id, no)
        .await
        .unwrap()
        .1;
    (
        paid,
        ev.iter().filter(|e| e.what.contains("支付成功")).count(),
    )
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
    eprintln!("alipay: 6 refused, 1 pending, 10 parallel + 1 replay + 1 closed → credits {c:?}");
    assert_eq!(c, (1, 1));
    let o = hall.order(&no).await;
    assert_eq!(o.state, OrderState::PendingFinancial);

    // Refund of a finally rejected order through the local server.
    let user = o.user_id;
    let code = code_from_statement(&b, &no).await;
    hall.app
        .billing()
        .enter_deposit_code(user, &no, &code)
        .await
        .unwrap();
    let o = hall.order(&no).await;
    hall.force_state(o.no.as_str(), OrderState::Rejected, "审核驳回(测试)")
        .await;
    let fin = finance();
    let p = hall.app.billing().refundable(&fin).await.unwrap();
    assert_eq!(p.len(), 1);
    hall.app
        .billing()
        .refund(&fin, p[0].id, "申请人放弃办理")
        .await
        .unwrap();
    let p = hall.store.payment_by_id(p[0].id).await.unwrap().unwrap();
    assert_eq!((p.state, p.refunded_fen), (PayState::Refunded, 240_000));
    assert_eq!(
        p.refund_ref.as_deref(),
        Some("2026112322001400000000000001")
    );
    assert!(hall
        .app
        .billing()
        .refund(&fin, p.id, "again")
        .await
        .is_err());
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
    let o = hall.order(&no).await;
    let trade_no = hall.store.payments_of_order(o.id).await.unwrap()[0]
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
    assert_eq!(hall.order(&no).await.state, OrderState::PendingFinancial);
    // Refund of a finally rejected order through the v3 refund API (signed both ways).
    let o = hall.order(&no).await;
    let code = code_from_statement(&b, &no).await;
    hall.app
        .billing()
        .enter_deposit_code(o.user_id, &no, &code)
        .await
        .unwrap();
    let o = hall.order(&no).await;
    hall.force_state(o.no.as_str(), OrderState::Rejected, "审核驳回(测试)")
        .await;
    let fin = finance();
    let p = hall.app.billing().refundable(&fin).await.unwrap();
    let id = p[0].id;
    let refund_no = app::payments::refund_no(&p[0]);
    // WeChat Pay accepts the refund (PROCESSING), a query still finds it processing, then
    // the payer's card refuses it (ABNORMAL).
    fake_pay::script_refund(&refund_no, &["PROCESSING", "PROCESSING", "ABNORMAL"]);
    hall.app
        .billing()
        .refund(&fin, id, "申请人放弃办理")
        .await
        .unwrap();
    let state = || async { hall.store.payment_by_id(id).await.unwrap().unwrap() };
    // PROCESSING is not refunded: 退款中, with WeChat Pay's refund id kept.
    let p = state().await;
    assert_eq!(
        (p.state, p.state.label(), p.refund_ref.as_deref()),
        (
            PayState::Refunding,
            "退款中",
            Some("50000000382019052709732678859")
        )
    );
    // The tracking job asks again a minute later: still processing, retried later.
    hall.clock.advance(2 * 60_000);
    hall.drain().await;
    assert_eq!(state().await.state, PayState::Refunding);
    // The refund notification says ABNORMAL: the money did not reach the payer (forged
    // and stale ones are refused first).
    let now = hall.app.now() / 1000;
    let post_refund = |(h, body): (Vec<(&'static str, String)>, Vec<u8>)| {
        let hall = &hall;
        async move {
            let mut r = reqwest::Client::new()
                .post(format!("{}/api/v1/callbacks/wechat/refund", hall.base));
            for (k, v) in &h {
                r = r.header(*k, v);
            }
            r.body(body).send().await.unwrap().status()
        }
    };
    for bad in [
        fake_pay::wechat_refund_notify(
            "wechat_merchant_key",
            now,
            &trade_no,
            &refund_no,
            "SUCCESS",
        ),
        fake_pay::wechat_refund_notify(k, now - 600, &trade_no, &refund_no, "SUCCESS"),
        fake_pay::wechat_refund_notify(k, now, &trade_no, "RFXB-OTHER", "SUCCESS"),
    ] {
        assert_eq!(post_refund(bad).await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(state().await.state, PayState::Refunding);
    let abnormal = fake_pay::wechat_refund_notify(k, now, &trade_no, &refund_no, "ABNORMAL");
    assert_eq!(post_refund(abnormal.clone()).await, StatusCode::OK);
    assert_eq!(post_refund(abnormal).await, StatusCode::OK);
    let p = state().await;
    assert_eq!(
        (p.state, p.state.label()),
        (PayState::RefundAbnormal, "退款异常")
    );
    let o = hall.order(&no).await;
    let history = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
    assert_eq!(
        history
            .iter()
            .filter(|e| e.what.contains("微信支付退款异常"))
            .count(),
        1,
        "one entry for a repeated notification"
    );
    // Finance sees it among the refunds to handle; the job's retry leaves it alone.
    let listed = hall.app.billing().refundable(&fin).await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.state).collect::<Vec<_>>(),
        [PayState::RefundAbnormal]
    );
    hall.clock.advance(10 * 60_000);
    hall.drain().await;
    assert_eq!(state().await.state, PayState::RefundAbnormal);
    // 重新查询: WeChat Pay still says ABNORMAL. Then finance records the manual refund.
    hall.app
        .billing()
        .refund(&fin, id, "重新查询")
        .await
        .unwrap();
    assert_eq!(state().await.state, PayState::RefundAbnormal);
    let e = hall
        .app
        .billing()
        .resolve_abnormal_refund(&fin, id, " ")
        .await
        .unwrap_err();
    assert!(matches!(e, app::AppError::Invalid { .. }), "{e:?}");
    hall.app
        .billing()
        .resolve_abnormal_refund(
            &fin,
            id,
            "商户平台手动退款至付款人银行卡,流水号 MP20261123001",
        )
        .await
        .unwrap();
    let p = state().await;
    assert_eq!(p.state, PayState::Refunded);
    assert!(p.refund_ref.unwrap().contains("MP20261123001"));
    // A late REFUND.SUCCESS (signed now) is acknowledged and changes nothing.
    let now = hall.app.now() / 1000;
    let late = fake_pay::wechat_refund_notify(k, now, &trade_no, &refund_no, "SUCCESS");
    assert_eq!(post_refund(late).await, StatusCode::OK);
    assert_eq!(state().await.state, PayState::Refunded);
}
