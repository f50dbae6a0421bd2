//! 证书注销 from the staff console (issue 19 item 6, issue 15 item 4), over real HTTP: a
//! production clerk finds an order's certificates, is refused beside the field for a missing
//! reason or 说明, revokes one signing certificate and is told that its encryption certificate
//! went with it; the CRL then lists both (verified with an independent SM2 implementation),
//! OCSP answers `revoked` with the reason for both, the order's history, the audit log and
//! the applicant's SMS say so, 我的证书 shows 已吊销, and a second press is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::model::Role;
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use reqwest::StatusCode;
use std::path::Path;
use std::process::Command;
use support::applicant::submitted_order;
use support::desk::{inbox, staff, to_review};

fn openssl(args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "openssl {args:?}: {t}");
    t
}

fn sm2verify(issuer: &Path, obj: &Path) {
    let tool = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/sm2verify.py"),
        std::path::PathBuf::from("/work/shared/tools/sm2verify.py"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("sm2verify.py");
    let o = Command::new("python3")
        .arg(tool)
        .arg(issuer)
        .arg(obj)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sm2verify: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

async fn ocsp_text(base: &str, issuing_pem: &str, serial: &str, dir: &Path) -> String {
    let issuing = pki::CaCert::from_der(
        "issuing",
        &pki::csr::pem_or_der(issuing_pem.as_bytes(), &["CERTIFICATE"], "certificate").unwrap(),
    )
    .unwrap();
    let id = pki::ocsp::Responder::new(
        issuing,
        pki::KeySigner::new(&pki::keys::generate()).unwrap(),
        std::time::Duration::from_secs(60),
    )
    .unwrap()
    .cert_id(&hex::decode(serial).unwrap())
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{base}/ocsp"))
        .header("content-type", "application/ocsp-request")
        .body(pki::ocsp::make_request(vec![id], None).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let f = dir.join(format!("{serial}.ocsp"));
    std::fs::write(&f, r.bytes().await.unwrap()).unwrap();
    sm2verify(&dir.join("issuing.pem"), &f);
    openssl(&[
        "ocsp",
        "-respin",
        f.to_str().unwrap(),
        "-resp_text",
        "-noverify",
    ])
}

async fn console(backend: Backend) {
    let hall = TestHall::start(backend).await;
    let phone = "13800138061";
    let (applicant, no) = submitted_order(&hall, phone).await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    let (clerk, prod) = staff(&hall, Role::Production, "prod").await;
    to_review(&hall, &no, true, false).await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    hall.app
        .production()
        .issue_all_sandbox(&prod, &no)
        .await
        .unwrap();
    let lines = hall
        .store
        .cert_lines(hall.order(&no).await.id)
        .await
        .unwrap();
    assert!(lines.len() >= 2, "the order has several certificates");
    let sign = lines[0].sign_serial.clone().unwrap();
    let enc = lines[0].enc_serial.clone().unwrap();

    // The CA's routes as serve mounts them, with a CRL made before the revocation: the
    // revocation must publish a new one itself, not wait for the refresher.
    let dir = tempfile::tempdir().unwrap();
    let (base, issuing_pem) = hall.serve_pki().await;
    std::fs::write(dir.path().join("issuing.pem"), &issuing_pem).unwrap();
    let crl_file = dir.path().join("issuing.crl");
    let fetch_crl = || async {
        let crl = reqwest::get(format!("{base}/crl/issuing.crl"))
            .await
            .unwrap();
        assert_eq!(crl.status(), StatusCode::OK);
        std::fs::write(&crl_file, crl.bytes().await.unwrap()).unwrap();
        sm2verify(&dir.path().join("issuing.pem"), &crl_file);
        openssl(&[
            "crl",
            "-inform",
            "DER",
            "-noout",
            "-text",
            "-in",
            crl_file.to_str().unwrap(),
        ])
    };
    let before = fetch_crl().await;
    assert!(!before.contains(sign.as_str()), "{before}");

    // Only a role that may revoke sees the console.
    let (reviewer, _) = staff(&hall, Role::Reviewer, "rev2").await;
    assert_eq!(
        reviewer.get("/staff/certificates").await.0,
        StatusCode::FORBIDDEN
    );
    let (s, home) = clerk.get("/staff").await;
    assert!(
        s == StatusCode::OK && home.contains("/staff/certificates"),
        "{home}"
    );

    // Found by 业务单号: every signing and encryption certificate of the order.
    let (s, page) = clerk.get(&format!("/staff/certificates?q={no}")).await;
    assert_eq!(s, StatusCode::OK);
    for l in &lines {
        for serial in [
            l.sign_serial.as_ref().unwrap(),
            l.enc_serial.as_ref().unwrap(),
        ] {
            assert!(page.contains(serial.as_str()), "{serial} listed:\n{page}");
        }
    }
    assert_eq!(page.matches("注销…").count(), lines.len() * 2, "{page}");
    // By serial, typed with colons and in lower case.
    let typed: String = sign
        .to_ascii_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let (s, page) = clerk.get(&format!("/staff/certificates?q={typed}")).await;
    assert!(
        s == StatusCode::OK && page.contains(&sign) && page.contains(&no),
        "{page}"
    );
    // A query that is neither: refused beside the field.
    let (s, page) = clerk.get("/staff/certificates?q=%E4%B8%8D%E6%98%AF").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("field-error") && page.contains("十六进制"),
        "{page}"
    );

    // The confirmation names the pair.
    let path = format!("/staff/certificates/{sign}/revoke");
    let (s, page) = clerk.get(&path).await;
    assert!(
        s == StatusCode::OK && page.contains(&enc) && page.contains("一并注销"),
        "{page}"
    );

    // Bad input: each refused beside its field, nothing revoked.
    for (reason, note, says) in [
        ("", "USB Key 丢失", "请从列表中选择注销原因"),
        ("certificateHold", "USB Key 丢失", "请从列表中选择注销原因"),
        ("keyCompromise", "   ", "请填写注销说明"),
    ] {
        let (s, _, page) = clerk
            .form(&path, &[("reason", reason), ("note", note)])
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{reason:?} {note:?}");
        assert!(
            page.contains(says) && page.contains("field-error"),
            "{page}"
        );
    }
    assert!(hall
        .ca
        .certificate(&sign)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    // Not for a reviewer.
    let (s, _, _) = reviewer
        .form(&path, &[("reason", "keyCompromise"), ("note", "x")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Revoked: the page says the pair went, the CRL, OCSP and the SMS.
    let (s, _, page) = clerk
        .form(
            &path,
            &[("reason", "keyCompromise"), ("note", "USB Key 丢失")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    for says in [
        "证书已注销",
        sign.as_str(),
        enc.as_str(),
        "密钥泄露",
        "号证书撤销列表",
        "已向业务单",
    ] {
        assert!(page.contains(says), "{says}:\n{page}");
    }
    for serial in [&sign, &enc] {
        assert!(hall
            .ca
            .certificate(serial)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some());
    }
    // The other lines are untouched.
    let other = lines[1].sign_serial.clone().unwrap();
    assert!(hall
        .ca
        .certificate(&other)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());

    // Relying parties see it at once: the CRL lists both, OCSP says revoked for both.
    let t = fetch_crl().await;
    for serial in [&sign, &enc] {
        assert!(t.contains(serial.as_str()), "{serial} in the CRL:\n{t}");
    }
    assert!(!t.contains(other.as_str()), "{t}");
    assert!(t.contains("Key Compromise"), "{t}");
    for serial in [&sign, &enc] {
        let t = ocsp_text(&base, &issuing_pem, serial, dir.path()).await;
        assert!(
            t.contains("Cert Status: revoked") && t.contains("keyCompromise"),
            "{t}"
        );
    }
    let t = ocsp_text(&base, &issuing_pem, &other, dir.path()).await;
    assert!(t.contains("Cert Status: good"), "{t}");

    // The order's history, the audit log, the applicant's SMS, 我的证书.
    let o = hall.order(&no).await;
    let events = hall.store.order_events(o.id).await.unwrap();
    assert!(
        events.iter().any(
            |e| e.what == format!("证书已注销(序列号{sign},原因:密钥泄露)")
                && e.actor == format!("staff:{}", prod.id)
        ),
        "{events:?}"
    );
    let rows = hall.store.audit_page(None, 50).await.unwrap();
    let a = rows
        .iter()
        .find(|r| r.event.action == "certificate.revoke")
        .expect("an audit row");
    assert_eq!(a.event.subject, format!("cert:{sign}"));
    assert_eq!(a.event.detail["partner"], enc.as_str());
    assert_eq!(a.event.detail["reason"], "keyCompromise");
    assert_eq!(a.event.detail["note"], "USB Key 丢失");
    let sms = inbox(&hall, phone).await;
    let (_, text) = sms
        .iter()
        .find(|(t, _)| t == "cert_revoked")
        .expect("the revocation SMS");
    assert!(text.contains(&sign) && text.contains("密钥泄露"), "{text}");
    let (_, mine) = applicant.get("/certificates").await;
    assert!(mine.contains("已吊销"), "{mine}");

    // Pressed again: refused, saying when.
    let (s, _, page) = clerk
        .form(&path, &[("reason", "keyCompromise"), ("note", "again")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("该证书已于"), "{page}");
    let again = hall
        .store
        .audit_page(None, 50)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.event.action == "certificate.revoke")
        .count();
    assert_eq!(again, 1, "one revocation, one audit row");

    // The process stopped after the CA revoked and before the order's history was written:
    // the next press writes what is missing instead of refusing, once.
    hall.ca
        .revoke(&other, app::revocation::RevokeReason::Superseded)
        .await
        .unwrap();
    let r = hall
        .app
        .revocations()
        .revoke(&prod, &other, "superseded", "换发新证")
        .await
        .unwrap();
    assert_eq!(r.crl_number, 0, "nothing new published");
    assert!(r.sms_sent);
    let events = hall.store.order_events(o.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.what == format!("证书已注销(序列号{other},原因:被取代)")),
        "{events:?}"
    );
    let e = hall
        .app
        .revocations()
        .revoke(&prod, &other, "superseded", "换发新证")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("该证书已于"), "{e}");
}

#[tokio::test]
async fn revocation_console_sqlite() {
    console(Backend::Sqlite).await;
}

#[tokio::test]
async fn revocation_console_postgres() {
    console(Backend::Postgres).await;
}

/// The console in a real browser, found from 工作台 by its visible labels; screenshots with
/// `CERTHALL_SCREENSHOTS=DIR` (`revoke-NN-name.png`).
#[tokio::test]
async fn revocation_console_in_a_browser() {
    use support::pages::{select, staff_login, Shots};
    let hall = TestHall::start(Backend::Sqlite).await;
    let base = hall.base.clone();
    let (_, no) = submitted_order(&hall, "13800138062").await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    to_review(&hall, &no, true, false).await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    hall.app
        .production()
        .issue_all_sandbox(&prod, &no)
        .await
        .unwrap();
    let lines = hall
        .store
        .cert_lines(hall.order(&no).await.id)
        .await
        .unwrap();
    let sign = lines[0].sign_serial.clone().unwrap();
    let enc = lines[0].enc_serial.clone().unwrap();

    let mut shots = Shots::from_env("revoke");
    let driver = support::webdriver::Driver::start().await;
    let b = driver.session(1280, 900).await;
    staff_login(&hall, &b, Role::Production, "prod-b", "制证员乙").await;
    b.click("nav.subnav a[href='/staff/certificates']").await;
    b.wait_path(&base, "/staff/certificates").await;
    shots.take(&b, "search", "业务单号或证书序列号").await;
    b.fill("#q", &no).await;
    b.click("#search").await;
    shots.take(&b, "found", &sign).await;
    b.click(&format!("#revoke-{sign}")).await;
    shots.take(&b, "confirm", "确认注销证书").await;
    b.click("#confirm-revoke").await;
    shots.take(&b, "refused", "请从列表中选择注销原因").await;
    select(&b, "reason", "keyCompromise").await;
    b.fill("#note", "USB Key 丢失,单位申请注销").await;
    b.click("#confirm-revoke").await;
    let page = b.wait_text("证书已注销").await;
    assert!(
        page.contains(&enc) && page.contains("号证书撤销列表"),
        "{page}"
    );
    shots.take(&b, "done", "已向业务单").await;
    b.click("a[href^='/staff/certificates?q=']").await;
    shots.take(&b, "after", "已注销").await;
    b.close().await;
}

/// Revoking the unit's 机构证书 revokes the seals bound to it: the public status by esID
/// answers 已注销 and a check of the seal fails at the hall's record, after passing before.
async fn seals_go_with_the_certificate(backend: Backend) {
    use app::clock::Clock;
    use app::desk::SealStore;
    use app::seals::SealStatus;
    let hall = TestHall::start(backend).await;
    let (_, no) = submitted_order(&hall, "13800138063").await;
    let (_, rev) = staff(&hall, Role::Reviewer, "rev").await;
    let (_, prod) = staff(&hall, Role::Production, "prod").await;
    to_review(&hall, &no, true, false).await;
    hall.app.review().approve(&rev, &no).await.unwrap();
    hall.app
        .production()
        .issue_all_sandbox(&prod, &no)
        .await
        .unwrap();
    let o = hall.order(&no).await;
    let lines = hall.store.cert_lines(o.id).await.unwrap();
    let (sign, enc) = (
        lines[0].sign_serial.clone().unwrap(),
        lines[0].enc_serial.clone().unwrap(),
    );
    let unit_cert = seal::verify::cert_der(lines[0].sign_pem.as_ref().unwrap().as_bytes()).unwrap();
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_millis(hall.clock.now() as u64);
    let es_id = format!("4403000{}", &no[2..]);
    let der = hall.seal_maker().make(
        &es_id,
        "深圳市某某科技有限公司",
        &unit_cert,
        crate::seal_cli::red_ring_png(),
        now,
    );
    hall.store
        .reserve_seal(o.id, &es_id, &sign, hall.clock.now())
        .await
        .unwrap();
    assert!(hall
        .store
        .seal_made(o.id, &der, hall.clock.now())
        .await
        .unwrap());

    let seals = hall.app.seals();
    assert_eq!(seals.status(&es_id).await.unwrap(), SealStatus::Valid);
    assert_eq!(
        seals.status("NO-SUCH-SEAL").await.unwrap(),
        SealStatus::Unknown
    );
    assert!(
        seals.status("有 空格").await.is_err(),
        "refused beside the field"
    );
    let c = seals.check(&der, None).await.unwrap();
    assert!(c.ok(), "{c:#?}");
    assert_eq!(c.es_id.as_deref(), Some(es_id.as_str()));
    assert_eq!(c.steps.last().unwrap().detail, "有效");
    // Hostile input: a clear refusal, never a panic.
    let c = seals.check(&der[..der.len() / 2], None).await.unwrap();
    assert!(
        !c.ok() && c.steps.iter().any(|s| s.passed == Some(false)),
        "{c:#?}"
    );
    assert!(seals.check(&vec![0u8; 600 * 1024], None).await.is_err());
    assert!(seals.check(b"", None).await.is_err());

    // Revoked by its encryption certificate's serial: the pair and the seal go.
    let r = hall
        .app
        .revocations()
        .revoke(&prod, &enc, "cessationOfOperation", "单位注销")
        .await
        .unwrap();
    assert_eq!(
        (r.partner.as_deref(), r.seals_revoked),
        (Some(sign.as_str()), 1)
    );
    assert_eq!(seals.status(&es_id).await.unwrap(), SealStatus::Revoked);
    let c = seals.check(&der, None).await.unwrap();
    assert!(!c.ok(), "{c:#?}");
    let last = c.steps.last().unwrap();
    assert_eq!((last.passed, last.detail.as_str()), (Some(false), "已注销"));
}

#[tokio::test]
async fn seals_go_with_the_certificate_sqlite() {
    seals_go_with_the_certificate(Backend::Sqlite).await;
}

#[tokio::test]
async fn seals_go_with_the_certificate_postgres() {
    seals_go_with_the_certificate(Backend::Postgres).await;
}
