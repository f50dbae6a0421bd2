//! 我的证书 and the proof of possession over HTTP (issue 14): a certificate of this CA issued
//! outside any order of the account is claimed with the software token (challenge → the old
//! key signs SM3(challenge ‖ DER(CSR)) → claim), shows in the list and the page with its
//! status, and every refusal of the proof is its own case: reused and expired challenges,
//! an unknown, a revoked and another CA's serial, a bad request, a bad signature, a subject
//! that differs. Certificates an order produced show too, with the order they came from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::applicant::{submitted_order, Browser};
use crate::support::desk::{staff, to_review};
use app::desk::{CaRequest, CertAuthority};
use app::model::Role;
use base64::Engine;
use certhall::testing::TestHall;
use pki::token::SoftToken;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use store::testing::Backend;

const PIN: &str = "24681357";
const UNIT: &str = "深圳市某某科技有限公司";
const USCC: &str = "91350100M000100Y43";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A token whose container `main` holds a 机构证书 of `ca`, issued outside any order.
async fn token_with_cert(ca: &dyn CertAuthority, years: u8) -> (SoftToken, String) {
    let mut t = SoftToken::new("test", PIN).unwrap();
    let subject: x509_cert::name::Name = "CN=ignored".parse().unwrap();
    let csr = t.new_request("main", Some(subject)).unwrap();
    let reference = format!("test:{}", rand::random::<u64>());
    ca.record(
        &reference,
        CaRequest {
            kind: domain::CertType::Org,
            years,
            org: domain::UnitName::parse(UNIT).unwrap(),
            uscc: domain::CreditCode::parse(USCC).unwrap(),
            person: None,
            csr: Some(csr),
        },
    )
    .await
    .unwrap();
    let issued = ca.finish(&reference).await.unwrap();
    t.import(
        "main",
        &issued.sign_pem,
        Some((&issued.enc_pem, &issued.envelope)),
    )
    .unwrap();
    (t, issued.sign_serial)
}

async fn post(b: &Browser, path: &str, body: Value) -> (StatusCode, Value) {
    let r =
        b.c.post(format!("{}{path}", b.base))
            .header("x-csrf-token", &b.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(b: &Browser, path: &str) -> (StatusCode, Value) {
    let r = b.c.get(format!("{}{path}", b.base)).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn challenge(b: &Browser) -> String {
    let (s, v) = post(
        b,
        "/api/v1/certificates/challenge",
        json!({"purpose": "claim"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["challenge"].as_str().unwrap().to_owned()
}

/// The claim body the token makes: a renewal request for the same subject, signed by the
/// current key.
fn proof(t: &mut SoftToken, serial: &str, ch: &str) -> Value {
    let csr = t.new_request("main", None).unwrap();
    let sig = t
        .prove_possession("main", &hex::decode(ch).unwrap(), &csr)
        .unwrap();
    json!({"serial": serial, "challenge": ch, "csr": b64(&csr), "signature": b64(&sig)})
}

fn refused(s: StatusCode, v: &Value, field: &str, words: &str) {
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], field, "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains(words), "{m}");
}

#[tokio::test]
async fn claim_by_serial_with_proof_of_possession_and_every_refusal() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::login(&hall, "13800000001").await;
    let (mut t, serial) = token_with_cert(hall.ca.as_ref(), 2).await;

    let (s, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["certificates"].as_array().unwrap().len(), 0, "{v}");

    // The claim.
    let ch = challenge(&b).await;
    assert_eq!(ch.len(), 64);
    let body = proof(&mut t, &serial, &ch);
    let (s, v) = post(&b, "/api/v1/certificates/claim", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["serial"], serial.as_str());
    assert_eq!(v["status"], "valid");
    assert_eq!(v["kind"], "org");
    assert_eq!(v["holder"], UNIT);
    let (_, v) = get(&b, "/api/v1/certificates").await;
    let list = v["certificates"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["serial"], serial.as_str());
    assert!(list[0]["source"]["claimed_at"].is_i64(), "{v}");
    // The page shows it, with its status, and the download gives the certificate.
    let (s, html) = b.get("/certificates").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&serial) && html.contains("有效") && html.contains(UNIT));
    let (s, pem) = b.get(&format!("/certificates/{serial}/download")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        pki::inspect::facts(&pki::csr::pem_or_der(pem.as_bytes(), &["CERTIFICATE"], "c").unwrap())
            .unwrap()
            .serial,
        serial
    );
    // The claim is audited.
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'certificate.claim'")
            .fetch_one(&hall.store.db().pool)
            .await
            .unwrap();
    assert_eq!(n, 1);

    // A challenge answers once.
    let (s, v) = post(&b, "/api/v1/certificates/claim", body).await;
    refused(s, &v, "challenge", "已使用");

    // …and for five minutes on the hall's clock.
    let ch = challenge(&b).await;
    hall.clock.advance(5 * 60_000 + 1);
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        proof(&mut t, &serial, &ch),
    )
    .await;
    refused(s, &v, "challenge", "已过期");

    // Another account's challenge is not this account's.
    let other = Browser::login(&hall, "13800000002").await;
    let ch = challenge(&other).await;
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        proof(&mut t, &serial, &ch),
    )
    .await;
    refused(s, &v, "challenge", "无效");

    // A certificate claimed once is not claimed by another account, even with the key.
    let ch = challenge(&other).await;
    let (s, v) = post(
        &other,
        "/api/v1/certificates/claim",
        proof(&mut t, &serial, &ch),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // …nor seen by it.
    let (s, _) = get(&other, &format!("/api/v1/certificates/{serial}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An unknown serial.
    let ch = challenge(&b).await;
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        proof(&mut t, "0102030405060708", &ch),
    )
    .await;
    refused(s, &v, "serial", "没有序列号");

    // A serial of a revoked certificate.
    let (mut t2, serial2) = token_with_cert(hall.ca.as_ref(), 1).await;
    let cas = store::ca::CaStore::new(hall.store.db().clone(), hall.store.vault().clone());
    let at = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(hall.app.now()).unwrap());
    ca::service::revoke(
        &cas,
        "issuing",
        &serial2,
        pki::crl::Reason::KeyCompromise,
        at,
    )
    .await
    .unwrap();
    let ch = challenge(&b).await;
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        proof(&mut t2, &serial2, &ch),
    )
    .await;
    refused(s, &v, "serial", "已吊销");

    // Another CA's certificate, sent with its PEM.
    let other_ca = certhall::hall_ca::HallCa::new(Arc::new(
        ca::Ca::in_memory(
            &pki::issue::CaNames {
                root_cn: "Other Root".into(),
                issuing_cn: "Other SM2 CA".into(),
                org: "Other CA".into(),
                root_years: 20,
                issuing_years: 10,
            },
            Arc::new(ca::MemoryStorage::default()),
            Arc::new(certhall::hall_ca::HallClock(hall.clock.clone())),
        )
        .unwrap(),
    ));
    let (mut t3, serial3) = token_with_cert(&other_ca, 1).await;
    let ch = challenge(&b).await;
    let mut body = proof(&mut t3, &serial3, &ch);
    body["certificate"] = json!(t3.containers()[0].sign_cert.clone().unwrap());
    let (s, v) = post(&b, "/api/v1/certificates/claim", body).await;
    refused(s, &v, "serial", "不是本CA签发");

    // A request that is not a CSR.
    let (mut t4, serial4) = token_with_cert(hall.ca.as_ref(), 1).await;
    let ch = challenge(&b).await;
    let garbage = b"not a certificate request".to_vec();
    let sig = t4
        .prove_possession("main", &hex::decode(&ch).unwrap(), &garbage)
        .unwrap();
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        json!({"serial": serial4, "challenge": ch, "csr": b64(&garbage), "signature": b64(&sig)}),
    )
    .await;
    refused(s, &v, "csr", "证书请求无效");

    // A signature by the new key (not the certificate's).
    let ch = challenge(&b).await;
    let csr = t4.new_request("main", None).unwrap();
    let wrong_key = pki::keys::generate();
    let sig = pki::possession::sign(
        &pki::KeySigner::new(&wrong_key).unwrap(),
        &hex::decode(&ch).unwrap(),
        &csr,
    )
    .unwrap();
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        json!({"serial": serial4, "challenge": ch, "csr": b64(&csr), "signature": b64(&sig)}),
    )
    .await;
    refused(s, &v, "signature", "签名验证失败");

    // The right key over another challenge is as wrong.
    let ch = challenge(&b).await;
    let sig = t4.prove_possession("main", &[7u8; 32], &csr).unwrap();
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        json!({"serial": serial4, "challenge": ch, "csr": b64(&csr), "signature": b64(&sig)}),
    )
    .await;
    refused(s, &v, "signature", "签名验证失败");

    // A request for another subject.
    let ch = challenge(&b).await;
    let csr = t4
        .new_request(
            "main",
            Some("C=CN,O=另一家公司,CN=另一家公司".parse().unwrap()),
        )
        .unwrap();
    let sig = t4
        .prove_possession("main", &hex::decode(&ch).unwrap(), &csr)
        .unwrap();
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        json!({"serial": serial4, "challenge": ch, "csr": b64(&csr), "signature": b64(&sig)}),
    )
    .await;
    refused(s, &v, "csr", "主题");

    // Malformed input: a clear field error, never a 500.
    for body in [
        json!({"serial": "zz", "challenge": "00", "csr": "x", "signature": "y"}),
        json!({"serial": serial4, "challenge": "abc", "csr": "x", "signature": "!!"}),
        json!({}),
    ] {
        let (s, v) = post(&b, "/api/v1/certificates/claim", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["error"]["field"].is_string(), "{v}");
    }
    // Only the first claim holds.
    let (_, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(v["certificates"].as_array().unwrap().len(), 1, "{v}");

    // The claim form on the page: field messages beside the fields.
    let (s, _, html) = b
        .form(
            "/certificates/claim",
            &[
                ("serial", "xyz"),
                ("challenge", ""),
                ("csr", ""),
                ("signature", ""),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("field-error") && html.contains("请提交新的证书请求"),
        "{html}"
    );
    let (s, _, html) = b.form("/certificates/challenge", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("有效期至"), "{html}");
}

#[tokio::test]
async fn certificates_an_order_produced_are_listed_with_their_order() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = submitted_order(&hall, "13800000003").await;
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
    assert!(n >= 2);
    let (s, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(s, StatusCode::OK);
    let list = v["certificates"].as_array().unwrap();
    assert_eq!(list.len(), n, "{v}");
    assert!(list.iter().all(|c| c["source"]["order_no"] == no.as_str()));
    assert!(list.iter().any(|c| c["kind"] == "org"));
    assert!(list
        .iter()
        .any(|c| c["kind"] == "org_person" && c["holder"].as_str().unwrap().contains(" · ")));
    // Freshly issued: renewal would need review (the window opens 90 days before notAfter).
    let not_after = list[0]["not_after"].as_i64().unwrap();
    assert_eq!(list[0]["renewal"]["route"], "manual", "{v}");
    assert_eq!(
        list[0]["renewal"]["window_opens"].as_i64().unwrap(),
        not_after - 90 * 86_400_000
    );
    let (_, html) = b.get("/certificates").await;
    assert!(html.contains("起可实时续期"), "{html}");
    // Near the end of its validity a certificate is 即将到期, after it 已过期.
    hall.clock.set(not_after - 30 * 86_400_000);
    // (a new session: the old one ended with the years that passed)
    let b = Browser::login(&hall, "13800000003").await;
    let (_, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(v["certificates"][0]["status"], "expiring", "{v}");
    assert_eq!(v["certificates"][0]["renewal"]["route"], "live", "{v}");
    let (_, html) = b.get("/certificates").await;
    assert!(html.contains("即将到期"));
    hall.clock.set(not_after + 1000);
    let b = Browser::login(&hall, "13800000003").await;
    let (_, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(v["certificates"][0]["status"], "expired", "{v}");
    assert_eq!(v["certificates"][0]["renewal"]["route"], "live", "{v}");
    // More than 365 days after notAfter only 人工审核续期 is left.
    hall.clock.set(not_after + 366 * 86_400_000);
    let b = Browser::login(&hall, "13800000003").await;
    let (_, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(v["certificates"][0]["renewal"]["route"], "manual", "{v}");
    let (_, html) = b.get("/certificates").await;
    assert!(html.contains("过期已久,需人工审核续期"), "{html}");
    // Another account sees none of them.
    let other = Browser::login(&hall, "13800000004").await;
    let (_, v) = get(&other, "/api/v1/certificates").await;
    assert_eq!(v["certificates"].as_array().unwrap().len(), 0);
    let serial = list[0]["serial"].as_str().unwrap();
    let (s, _) = other.get(&format!("/certificates/{serial}/download")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reminders_at_90_30_and_7_days_go_out_once_each() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let phone = "13800000005";
    let b = Browser::login(&hall, phone).await;
    let (mut t, serial) = token_with_cert(hall.ca.as_ref(), 1).await;
    let ch = challenge(&b).await;
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        proof(&mut t, &serial, &ch),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let not_after = v["not_after"].as_i64().unwrap();
    hall.app.jobs().schedule_cert_reminders().await.unwrap();
    let reminders = || async {
        crate::support::desk::inbox(&hall, phone)
            .await
            .into_iter()
            .filter(|(t, _)| t == app::certificates::REMINDER_SMS)
            .map(|(_, text)| text)
            .collect::<Vec<_>>()
    };
    assert!(reminders().await.is_empty(), "nothing a year before");
    let day = 86_400_000;
    let mut expected = 0;
    for (at, sends) in [
        (not_after - 91 * day, false),
        (not_after - 90 * day, true),
        (not_after - 89 * day, false),
        (not_after - 30 * day, true),
        (not_after - 29 * day, false),
        (not_after - 7 * day, true),
        (not_after - 6 * day, false),
        (not_after - day, false),
        (not_after + day, false),
    ] {
        hall.clock.set(at);
        let got = reminders().await;
        if sends {
            expected += 1;
        }
        assert_eq!(
            got.len(),
            expected,
            "at notAfter{:+} days: {got:?}",
            (at - not_after) / day
        );
        // Running it again the same day sends nothing more.
        assert_eq!(hall.app.certificates().send_reminders().await.unwrap(), 0);
    }
    let got = reminders().await;
    assert_eq!(got.len(), 3);
    // Newest first: 7, 30, 90 days, each with the serial, the bid warning and where to renew.
    for (text, days) in got.iter().zip(["7", "30", "90"]) {
        assert!(text.contains(&format!("还有{days}天")), "{text}");
        assert!(
            text.contains(&serial) && text.contains("投标文件") && text.contains("我的证书"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn bid_openings_entered_in_the_sandbox_show_beside_the_certificate_until_they_pass() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let phone = "13800000006";
    let b = Browser::login(&hall, phone).await;
    let (mut t, serial) = token_with_cert(hall.ca.as_ref(), 1).await;
    let ch = challenge(&b).await;
    let (s, v) = post(
        &b,
        "/api/v1/certificates/claim",
        proof(&mut t, &serial, &ch),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, html) = b.get("/certificates").await;
    assert!(html.contains("续期前请注意投标文件") && !html.contains("有投标将于"));
    // The tester's page refuses what is not an opening, beside the field.
    for (fields, field_msg) in [
        (
            vec![
                ("serial", "xyz"),
                ("opens_at", "2026-12-01 09:30"),
                ("project", "某项目"),
            ],
            "十六进制",
        ),
        (
            vec![
                ("serial", serial.as_str()),
                ("opens_at", "明天上午"),
                ("project", "某项目"),
            ],
            "开标时间格式",
        ),
        (
            vec![
                ("serial", serial.as_str()),
                ("opens_at", "2020-01-01 09:30"),
                ("project", "某项目"),
            ],
            "晚于当前时间",
        ),
        (
            vec![
                ("serial", serial.as_str()),
                ("opens_at", "2026-12-01 09:30"),
                ("project", ""),
            ],
            "项目名称",
        ),
    ] {
        let (s, _, html) = b.form("/sandbox/bids", &fields).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{html}");
        assert!(html.contains(field_msg), "{field_msg}: {html}");
    }
    // T0 is 2026-11-23 10:00 in Beijing; an opening on 1 December 09:30.
    let (s, _, html) = b
        .form(
            "/sandbox/bids",
            &[
                ("serial", serial.as_str()),
                ("opens_at", "2026-12-01 09:30"),
                ("project", "某市政工程施工招标"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("已记录开标时间") && html.contains("某市政工程施工招标"));
    // Another certificate's opening does not concern this one.
    let (s, _, _) = b
        .form(
            "/sandbox/bids",
            &[
                ("serial", "0A0B0C0D"),
                ("opens_at", "2026-11-30 09:30"),
                ("project", "别的项目"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = get(&b, "/api/v1/certificates").await;
    let bids = v["certificates"][0]["bid_openings"].as_array().unwrap();
    assert_eq!(bids.len(), 1, "{v}");
    assert_eq!(bids[0]["project"], "某市政工程施工招标");
    let opens_at = bids[0]["opens_at"].as_i64().unwrap();
    assert_eq!(app::clock::format_beijing(opens_at), "2026-12-01 09:30:00");
    let (_, html) = b.get("/certificates").await;
    assert!(
        html.contains("有投标将于 2026-12-01 09:30:00 开标:某市政工程施工招标"),
        "{html}"
    );
    // Once opened, the warning beside the certificate is gone.
    hall.clock.set(opens_at + 1);
    let b = Browser::login(&hall, phone).await;
    let (_, v) = get(&b, "/api/v1/certificates").await;
    assert_eq!(
        v["certificates"][0]["bid_openings"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "{v}"
    );
}
