//! 我的证书 in a real browser (issue 14), at 1280 px and on a 360 px phone: the certificates
//! an order produced with status and the order they came from, and a claim by serial
//! through the page's own form — 获取挑战码, the software token signs, a wrong serial first
//! (the message beside the field), then the claim that adds the row.
//!
//! `CERTHALL_SCREENSHOTS=DIR` saves `certs-NN-step.png` full-page screenshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use app::desk::CaRequest;
use app::model::Role;
use base64::Engine;
use certhall::testing::{Backend, TestHall};
use pki::token::SoftToken;
use support::applicant::submitted_order;
use support::desk::{staff, to_review};
use support::pages::{applicant_login, Shots};
use support::webdriver::Driver;

const PHONE: &str = "13800000011";

#[tokio::test]
async fn my_certificates_and_a_claim_in_a_browser_at_1280_and_360() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let base = hall.base.clone();
    // An order whose certificates were issued…
    let (_, no) = submitted_order(&hall, PHONE).await;
    to_review(&hall, &no, true, true).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev1").await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    let (_, prod) = staff(&hall, Role::Production, "prod1").await;
    let n = hall
        .app
        .production()
        .issue_all_sandbox(&prod, &no)
        .await
        .unwrap();
    // …and a certificate of this CA on a token, issued outside the account's orders.
    let mut t = SoftToken::new("browser", "24681357").unwrap();
    let csr = t
        .new_request("main", Some("CN=ignored".parse().unwrap()))
        .unwrap();
    let reference = format!("test:{}", rand::random::<u64>());
    hall.ca
        .record(
            &reference,
            CaRequest {
                kind: domain::CertType::Org,
                years: 1,
                org: domain::UnitName::parse("深圳市另一家科技有限公司").unwrap(),
                uscc: domain::CreditCode::parse("91350100M000100Y43").unwrap(),
                person: None,
                csr: Some(csr),
            },
        )
        .await
        .unwrap();
    let issued = hall.ca.finish(&reference).await.unwrap();
    t.import(
        "main",
        &issued.sign_pem,
        Some((&issued.enc_pem, &issued.envelope)),
    )
    .unwrap();

    let mut shots = Shots::from_env("certs");
    let driver = Driver::start().await;
    let b = driver.session(1280, 900).await;
    applicant_login(&hall, &b, PHONE).await;
    b.goto(&format!("{base}/account")).await;
    b.click("#my-certs").await;
    b.wait_path(&base, "/certificates").await;
    assert_eq!(b.count("table.certs tbody tr").await, n);
    shots.take(&b, "list-1280", "证书列表").await;
    let body = b.body_text().await;
    assert!(
        body.contains("机构证书") && body.contains("机构个人证书"),
        "{body}"
    );
    assert!(
        body.contains(&format!("业务单 {no}")) && body.contains("有效"),
        "{body}"
    );

    // The claim, through the form: a challenge, then a wrong serial.
    b.click("#get-challenge").await;
    b.wait_text("有效期至").await;
    let ch = b.value("#challenge").await;
    assert_eq!(ch.len(), 64);
    let renew = t.new_request("main", None).unwrap();
    let sig = t
        .prove_possession("main", &hex::decode(&ch).unwrap(), &renew)
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let csr_pem = pki::issue::pem_encode("CERTIFICATE REQUEST", &renew);
    b.fill("#serial", "0102030405").await;
    b.fill("#csr", &csr_pem).await;
    b.fill("#signature", &b64.encode(&sig)).await;
    b.click("#claim-submit").await;
    shots.take(&b, "claim-refused-1280", "本CA没有序列号").await;
    // The challenge was used by that try: a new one, and the right serial.
    b.click("#get-challenge").await;
    b.wait_text("有效期至").await;
    let ch = b.value("#challenge").await;
    let sig = t
        .prove_possession("main", &hex::decode(&ch).unwrap(), &renew)
        .unwrap();
    b.fill("#serial", &issued.sign_serial).await;
    b.fill("#csr", &csr_pem).await;
    b.fill("#signature", &b64.encode(&sig)).await;
    b.click("#claim-submit").await;
    shots.take(&b, "claimed-1280", "已加入我的证书").await;
    assert_eq!(b.count("table.certs tbody tr").await, n + 1);
    assert!(b.body_text().await.contains(&issued.sign_serial));

    // The phone: the same page at 360 px, no sideways scrolling.
    b.set_viewport(360, 740, true).await;
    b.goto(&format!("{base}/certificates")).await;
    shots.take(&b, "list-360", "证书列表").await;
    let overflow = b
        .script("return document.documentElement.scrollWidth > window.innerWidth + 1")
        .await;
    assert_eq!(
        overflow,
        serde_json::Value::Bool(false),
        "the page scrolls sideways at 360 px"
    );
    b.click("#get-challenge").await;
    shots.take(&b, "claim-form-360", "有效期至").await;
    b.close().await;
    drop(driver);
}
