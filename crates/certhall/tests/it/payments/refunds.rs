//! Cancelling a paid order, refund retries after a lost answer, duplicate payments (D6):
//! only finance refunds, each payment once.

use super::*;

async fn audit_actions(hall: &TestHall) -> Vec<String> {
    hall.store
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
    assert_eq!(hall.order(&no).await.state, OrderState::PendingFinancial);
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
    assert_eq!(hall.order(&no).await.state, OrderState::PendingFinancial);
    // An active paid order is not refundable.
    assert!(hall
        .app
        .billing()
        .refundable(&fin)
        .await
        .unwrap()
        .is_empty());
    let p = payments_of(&hall, &no).await[0].clone();
    assert!(hall.app.billing().refund(&fin, p.id, "撤单").await.is_err());
    // Confirmed: cancelled, recorded in the history and the audit log; no money moves.
    let (s, loc, body) = b
        .form(&format!("/orders/{no}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, format!("/orders/{no}").as_str()),
        "{body}"
    );
    let o = hall.order(&no).await;
    assert_eq!(o.state, OrderState::Cancelled);
    let events = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
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
    let events = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
    assert!(events.iter().any(|e| e.what.contains("已退款2400.00元")));
    let actions = audit_actions(&hall).await;
    for a in ["payment.refund_requested", "payment.refunded"] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    assert!(hall
        .app
        .billing()
        .refundable(&fin)
        .await
        .unwrap()
        .is_empty());

    // 待审核 while a reviewer holds the claim: refused in Chinese; once the claim went
    // stale (nobody is reviewing it), allowed.
    let (b2, no2) = pending_payment(&hall, "13800000092").await;
    pay_in_sandbox(&b2, &no2).await;
    let o2 = hall.order(&no2).await;
    hall.force_state(o2.no.as_str(), OrderState::InReview, "金融认证通过(测试)")
        .await;
    let (_, rev) = support::desk::staff(&hall, Role::Reviewer, "rev").await;
    hall.app.review().claim(&rev, &no2).await.unwrap();
    let (s, _, body) = b2
        .form(&format!("/orders/{no2}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("审核人员正在审核该业务单,暂不能取消"),
        "{body}"
    );
    assert_eq!(hall.order(&no2).await.state, OrderState::InReview);
    // (Two hours on, the page session has expired: the use case itself.)
    hall.clock.advance(2 * 3_600_000 + 1);
    let user2 = hall.order(&no2).await.user_id;
    hall.app
        .wizard()
        .cancel_order(user2, &no2, true)
        .await
        .unwrap();
    assert_eq!(hall.order(&no2).await.state, OrderState::Cancelled);
    // The reviewer can no longer decide it.
    assert!(hall.app.review().claim(&rev, &no2).await.is_err());
    let listed: Vec<String> = hall
        .app
        .billing()
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
    assert_eq!(hall.order(&no3).await.state, OrderState::Cancelled);
    assert_eq!(hall.app.billing().refundable(&fin).await.unwrap().len(), 1);
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
    ) -> Result<app::payments::RefundAnswer, app::GatewayError> {
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
        hall.app
            .billing()
            .payment_notify("flaky", &n)
            .await
            .unwrap()
            .status,
        200
    );
    let o = hall.order(&no).await;
    hall.app
        .wizard()
        .cancel_order(o.user_id, &no, true)
        .await
        .unwrap();

    // The gateway accepted the refund but its answer was lost: recorded as requested.
    let e = hall
        .app
        .billing()
        .refund(&fin, p.id, "撤单退款")
        .await
        .unwrap_err();
    assert!(matches!(e, app::AppError::Unavailable(_)), "{e:?}");
    let after = payments_of(&hall, &no).await[0].clone();
    assert_eq!(
        (after.state, after.refunded_at),
        (PayState::Refunding, None)
    );
    let listed = hall.app.billing().refundable(&fin).await.unwrap();
    assert_eq!((listed.len(), listed[0].state.label()), (1, "退款中"));
    // Finance retries: the same refund number, the gateway refunds once, we record it.
    hall.app
        .billing()
        .refund(&fin, p.id, "撤单退款")
        .await
        .unwrap();
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
    assert!(hall
        .app
        .billing()
        .refund(&fin, p.id, "撤单退款")
        .await
        .is_err());
    assert_eq!(flaky.calls.lock().unwrap().values().sum::<usize>(), 2);
    assert!(hall
        .app
        .billing()
        .refundable(&fin)
        .await
        .unwrap()
        .is_empty());
    let events = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
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
    assert_eq!(hall.order(&no).await.state, OrderState::PendingFinancial);
    // Listed as a duplicate, not as a cancelled order's refund; the order's own payment is
    // not refundable.
    let dups = hall.app.billing().duplicate_payments(&fin).await.unwrap();
    assert_eq!(
        dups.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert!(hall
        .app
        .billing()
        .refundable(&fin)
        .await
        .unwrap()
        .is_empty());
    assert!(hall
        .app
        .billing()
        .refund(&fin, first.id, "误退")
        .await
        .is_err());
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
    let o = hall.order(&no).await;
    assert_eq!(o.state, OrderState::PendingFinancial);
    let ps = payments_of(&hall, &no).await;
    assert_eq!(
        ps.iter().map(|p| p.state).collect::<Vec<_>>(),
        vec![PayState::Paid, PayState::Refunded]
    );
    assert!(hall
        .app
        .billing()
        .duplicate_payments(&fin)
        .await
        .unwrap()
        .is_empty());
    let events = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap()
        .1;
    assert!(events
        .iter()
        .any(|e| e.what.contains("重复付款已退款2400.00元")));
    let (_, csv) = cashier
        .get("/staff/finance/reconciliation.csv?day=2026-11-23")
        .await;
    assert!(csv.contains("\"重复付款,已退款\""), "{csv}");
}
