//! 在线支付 and 金融认证 over real HTTP, one module per concern: bank transfer vouchers and
//! statement import (camt.053 and CSV fixtures in `tests/data/`), the sandbox gateway and its
//! callbacks, the micro-deposit code and the FAQ (六) failure path, refunds (cancelled orders,
//! lost answers, duplicate payments), Alipay and WeChat Pay through the hall against a local
//! server that checks signatures, the payment pages in Chromium, and `certhall bank import`.
//! This file holds what they share.

use crate::support;
use certhall::testing::storage::*;

use app::authz::StaffActor;
use app::model::Role;
use app::payments::{CreditState, DepositState, PayState};
use certhall::testing::{Backend, TestHall};
use domain::order::{FinState, OrderState};
use reqwest::{multipart, StatusCode};
use support::applicant::{png, submitted_order, Browser};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn finance() -> StaffActor {
    StaffActor {
        id: 1,
        username: "fin".into(),
        display_name: "财务".into(),
        role: Role::Finance,
        ip: None,
    }
}

/// An order of `phone` that passed identity: 待支付.
async fn pending_payment(hall: &TestHall, phone: &str) -> (Browser, String) {
    let (b, no) = submitted_order(hall, phone).await;
    let o = hall.order(&no).await;
    hall.force_state(
        o.no.as_str(),
        OrderState::PendingPayment,
        "经办人在线认证通过(测试)",
    )
    .await;
    (b, no)
}

/// The newest micro-deposit code from the sandbox bank statement page, as the unit's
/// finance would read it.
async fn code_from_statement(b: &Browser, no: &str) -> String {
    let (s, page) = b.get("/sandbox/payouts").await;
    assert_eq!(s, StatusCode::OK);
    let row = page
        .split("<tr>")
        .find(|r| r.contains(no) && r.contains("金融认证验证码"))
        .unwrap_or_else(|| panic!("no payout for {no}: {page}"));
    let i = row.find("金融认证验证码").unwrap() + "金融认证验证码".len();
    row[i..i + 6].to_owned()
}

async fn pay_in_sandbox(b: &Browser, no: &str) -> String {
    let (s, loc, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert!(loc.starts_with("/sandbox/pay/"), "{loc}");
    let trade_no = loc.trim_start_matches("/sandbox/pay/").to_owned();
    let (s, page) = b.get(&loc).await;
    assert!(s == StatusCode::OK && page.contains("确认支付") && page.contains("2400.00"));
    let (s, back, _) = b.form(&loc, &[]).await;
    assert_eq!(
        (s, back),
        (StatusCode::SEE_OTHER, format!("/orders/{no}/payment"))
    );
    trade_no
}

/// Starts a sandbox payment without paying it: its trade number.
async fn start_sandbox(b: &Browser, no: &str) -> String {
    let (s, loc, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    loc.trim_start_matches("/sandbox/pay/").to_owned()
}

async fn payments_of(hall: &TestHall, no: &str) -> Vec<app::payments::PaymentRecord> {
    let o = hall.order(no).await;
    hall.store.payments_of_order(o.id).await.unwrap()
}

mod browser;
mod cli;
mod deposit;
mod guide_browser;
mod real_gateways;
mod refunds;
mod sandbox;
mod statements;
