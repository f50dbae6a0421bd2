//! 经办人在线认证 over HTTP: the PC page's QR link, the phone pages, the sandbox and the
//! Tencent FaceID providers (against a local server that checks TC3 signatures), the link's
//! security (expired, used, other order, tampered, two phones at once), failures and outages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::clock::MINUTE;
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use domain::order::OrderState;
use reqwest::{multipart, Client, StatusCode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use support::applicant::{png, submitted_order, Browser};

/// A phone: its own cookie jar, no redirects followed.
struct Phone {
    c: Client,
    base: String,
}

impl Phone {
    fn new(hall: &TestHall) -> Self {
        Self {
            c: Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: hall.base.clone(),
        }
    }
    async fn get(&self, url: &str) -> (StatusCode, String, String) {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let r = self.c.get(url).send().await.unwrap();
        let loc = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status(), loc, r.text().await.unwrap())
    }
    fn csrf(page: &str) -> String {
        let at = page.find("?_csrf=").expect("csrf in page") + 7;
        page[at..at + 64].to_owned()
    }
    async fn photo(
        &self,
        no: &str,
        side: &str,
        csrf: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, String) {
        let form = multipart::Form::new()
            .part("file", multipart::Part::bytes(Vec::new()).file_name(""))
            .part("file", multipart::Part::bytes(bytes).file_name("id.png"));
        let r = self
            .c
            .post(format!(
                "{}/m/identity/{no}/photos/{side}?_csrf={csrf}",
                self.base
            ))
            .multipart(form)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
    async fn liveness(&self, no: &str, csrf: &str) -> (StatusCode, String, String) {
        let r = self
            .c
            .post(format!("{}/m/identity/{no}/liveness", self.base))
            .form(&[("_csrf", csrf)])
            .send()
            .await
            .unwrap();
        let loc = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status(), loc, r.text().await.unwrap())
    }
}

/// The QR link shown on the PC page.
fn link_in(page: &str) -> String {
    let at = page.find("id=\"idv-link\"").expect("link on the page");
    let rest = &page[at..];
    let h = rest.find("href=\"").unwrap() + 6;
    let end = rest[h..].find('"').unwrap();
    rest[h..h + end]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

async fn pc_link(b: &Browser, no: &str) -> String {
    let (s, page) = b.get(&format!("/orders/{no}/identity")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("<svg"), "QR code rendered on the server");
    link_in(&page)
}

async fn state_of(hall: &TestHall, no: &str) -> OrderState {
    hall.order(no).await.state
}

/// Phone claims the link and uploads both photos; returns its CSRF token.
async fn scan_and_upload(phone: &Phone, link: &str, no: &str) -> String {
    let (s, loc, body) = phone.get(link).await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, &*format!("/m/identity/{no}")),
        "{body}"
    );
    let (s, _, page) = phone.get(&loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("人像面") && page.contains("capture=\"environment\""));
    let csrf = Phone::csrf(&page);
    for side in ["front", "back"] {
        let (s, body) = phone.photo(no, side, &csrf, png(64, 40)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{side}: {body}");
    }
    csrf
}

/// Liveness through the sandbox page and back; returns the final phone page.
async fn sandbox_liveness(phone: &Phone, no: &str, csrf: &str) -> (StatusCode, String) {
    let (s, loc, body) = phone.liveness(no, csrf).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert!(loc.starts_with("/sandbox/liveness?token="), "{loc}");
    let (s, _, page) = phone.get(&loc).await;
    assert_eq!(s, StatusCode::OK);
    let token = loc
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (s, _, page2) = phone
        .get(&format!("/m/identity/{no}/liveness/done?token={token}"))
        .await;
    assert!(page.contains("完成检测"));
    (s, page2)
}

async fn happy_path(backend: Backend) {
    let hall = TestHall::start(backend).await;
    let (b, no) = submitted_order(&hall, "13812340001").await;
    let (_, order_page) = b.get(&format!("/orders/{no}")).await;
    assert!(
        order_page.contains(&format!("/orders/{no}/identity")) && order_page.contains("去认证")
    );
    let link = pc_link(&b, &no).await;
    assert!(
        link.starts_with(&format!("{}/m/identity/{no}?t=", hall.base)),
        "{link}"
    );
    let status = |b: &Browser| {
        let no = no.clone();
        let c = b.c.clone();
        let base = b.base.clone();
        async move {
            c.get(format!("{base}/api/v1/orders/{no}/identity"))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(status(&b).await["status"], "issued");
    let phone = Phone::new(&hall);
    let (s, loc, _) = phone.get(&link).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(status(&b).await["status"], "scanned");
    let (_, _, page) = phone.get(&loc).await;
    let csrf = Phone::csrf(&page);
    // A PDF is not an ID photo.
    let (s, body) = phone
        .photo(&no, "front", &csrf, support::applicant::PDF.to_vec())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("身份证照片"), "{body}");
    for side in ["front", "back"] {
        let (s, _) = phone.photo(&no, side, &csrf, png(64, 40)).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    assert_eq!(status(&b).await["status"], "uploaded");
    assert_eq!(state_of(&hall, &no).await, OrderState::PendingVerification);
    let (s, page) = sandbox_liveness(&phone, &no, &csrf).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("认证通过") && page.contains("请查看PC端继续操作"),
        "{page}"
    );
    let v = status(&b).await;
    assert_eq!(
        (v["status"].as_str(), v["passed"].as_bool()),
        (Some("passed"), Some(true))
    );
    assert_eq!(
        v["carrier"].as_array().unwrap().len(),
        3,
        "handler + two applicants"
    );
    assert_eq!(state_of(&hall, &no).await, OrderState::PendingPayment);
    let (_, page) = b.get(&format!("/orders/{no}/identity")).await;
    assert!(page.contains("认证通过") && !page.contains("id=\"idv-next\" disabled"));
    // 下一步 and the success text lead to the payment page once the order is 待支付.
    assert_eq!(v["next"], format!("/orders/{no}/payment"));
    assert!(
        page.contains(&format!("action=\"/orders/{no}/payment\""))
            && page.contains(&format!("id=\"idv-pay\" href=\"/orders/{no}/payment\"")),
        "{page}"
    );
    let (_, hist) = b.get(&format!("/orders/{no}")).await;
    assert!(hist.contains("经办人在线认证通过"), "event recorded");
    assert!(!hist.contains("13612345678"), "no phone in the history");
    // The link is dead now, for anyone.
    let (s, _, body) = Phone::new(&hall).get(&link).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(body.contains("二维码已过期或已被使用"), "{body}");
    // Photos are sealed at rest: no PNG signature in the blob directory.
    for e in walk(&hall.blob_dir) {
        let bytes = std::fs::read(&e).unwrap();
        assert!(
            !bytes.windows(8).any(|w| w == b"\x89PNG\r\n\x1a\n"),
            "{}",
            e.display()
        );
    }
    // Nor the link secret, the numbers (even masked) or the ID number in the SQLite file and
    // its WAL.
    if backend == Backend::Sqlite {
        let path = hall
            .db_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let token = link.split("t=").nth(1).unwrap().to_owned();
        for f in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&f).unwrap_or_default();
            for needle in [
                token.as_str(),
                "137****7000",
                support::applicant::ID,
                "13612345678",
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{f} holds {needle}"
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn handler_verifies_on_the_phone_and_the_order_moves_on_sqlite() {
    happy_path(Backend::Sqlite).await;
}

#[tokio::test]
async fn handler_verifies_on_the_phone_and_the_order_moves_on_postgres() {
    happy_path(Backend::Postgres).await;
}

#[tokio::test]
async fn expired_used_foreign_and_tampered_links_open_nothing() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (a, no_a) = submitted_order(&hall, "13812340002").await;
    let (b, no_b) = submitted_order(&hall, "13812340003").await;
    let link_a = pc_link(&a, &no_a).await;
    let link_b = pc_link(&b, &no_b).await;
    let token_a = link_a.split("t=").nth(1).unwrap().to_owned();

    // Another applicant cannot see A's identity page or status.
    let (s, _) = b.get(&format!("/orders/{no_a}/identity")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = b.get(&format!("/api/v1/orders/{no_a}/identity")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A's token under B's number: no such link.
    let phone = Phone::new(&hall);
    let (s, _, body) = phone.get(&format!("/m/identity/{no_b}?t={token_a}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("此认证链接无效"), "{body}");
    // Tampered: one character changed, truncated, junk.
    let mut t = token_a.clone().into_bytes();
    t[10] = if t[10] == b'a' { b'b' } else { b'a' };
    for bad in [
        String::from_utf8(t).unwrap(),
        token_a[..40].to_owned(),
        "<script>".into(),
    ] {
        let (s, _, body) = phone.get(&format!("/m/identity/{no_a}?t={bad}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert!(!body.contains("人像面"));
    }
    // The sandbox liveness page sends phones only back to this hall's own return path.
    for next in [
        "https://evil.example/m/identity/x/liveness/done",
        "//evil.example/m/identity/liveness/done",
        "/m/identity/../../logout/liveness/done",
        "/account",
    ] {
        let (s, _, _) = phone
            .get(&format!(
                "/sandbox/liveness?token=SBX1&next={}",
                next.replace('/', "%2F").replace(':', "%3A")
            ))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{next}");
    }
    // No cookie, no link: nothing.
    let (s, _, _) = phone.get(&format!("/m/identity/{no_a}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = phone.photo(&no_a, "front", "x", png(10, 10)).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );

    // A's phone holds A's cookie; it opens nothing of B.
    let (s, _, _) = phone.get(&link_a).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = phone.get(&format!("/m/identity/{no_b}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Used: a second phone gets a clear page.
    let (s, _, body) = Phone::new(&hall).get(&link_a).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(
        body.contains("二维码已过期或已被使用") && body.contains("刷新二维码"),
        "{body}"
    );

    // Expired: 10 minutes later B's unscanned link is dead; the PC page says so.
    hall.clock.advance(10 * MINUTE + 1);
    let (s, _, body) = Phone::new(&hall).get(&link_b).await;
    assert_eq!(s, StatusCode::GONE, "{body}");
    let (_, page) = b.get(&format!("/orders/{no_b}/identity")).await;
    assert!(
        page.contains("二维码已过期") && !page.contains("<svg"),
        "{page}"
    );
    // One click renews it; the old one stays dead, the new one works.
    let (s, loc, _) = b.form(&format!("/orders/{no_b}/identity/renew"), &[]).await;
    assert_eq!(
        (s, loc),
        (StatusCode::SEE_OTHER, format!("/orders/{no_b}/identity"))
    );
    let new_b = pc_link(&b, &no_b).await;
    assert_ne!(new_b, link_b);
    let (s, _, _) = Phone::new(&hall).get(&link_b).await;
    assert_eq!(s, StatusCode::GONE);
    let (s, _, _) = Phone::new(&hall).get(&new_b).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // A renewal kills a link a phone already holds.
    let (s, _, _) = b.form(&format!("/orders/{no_b}/identity/renew"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        state_of(&hall, &no_a).await,
        OrderState::PendingVerification
    );
}

#[tokio::test]
async fn two_phones_opening_one_link_at_once_only_one_proceeds() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = submitted_order(&hall, "13812340004").await;
    let link = pc_link(&b, &no).await;
    let phones: Vec<Phone> = (0..4).map(|_| Phone::new(&hall)).collect();
    let results = futures_util::future::join_all(phones.iter().map(|p| p.get(&link))).await;
    let won = results
        .iter()
        .filter(|r| r.0 == StatusCode::SEE_OTHER)
        .count();
    let lost = results.iter().filter(|r| r.0 == StatusCode::GONE).count();
    assert_eq!(
        (won, lost),
        (1, 3),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    // The winner goes on; the others see nothing.
    for (p, r) in phones.iter().zip(&results) {
        let (s, _, _) = p.get(&format!("/m/identity/{no}")).await;
        if r.0 == StatusCode::SEE_OTHER {
            assert_eq!(s, StatusCode::OK);
        } else {
            assert_eq!(s, StatusCode::NOT_FOUND);
        }
    }
}

fn sandbox_with(
    fail_ids: &[&str],
    fail_phones: &[&str],
    attempts: i64,
) -> gateways::identity::IdentityProviders {
    let mut cfg = gateways::identity::IdentityProviderConfig::default();
    cfg.sandbox.fail_id_numbers = fail_ids.iter().map(|s| s.to_string()).collect();
    cfg.sandbox.fail_phones = fail_phones.iter().map(|s| s.to_string()).collect();
    cfg.attempts_per_day = attempts;
    gateways::identity::build(&cfg).unwrap()
}

#[tokio::test]
async fn carrier_failure_names_the_number_and_a_new_attempt_is_allowed_within_limits() {
    let hall = TestHall::builder(Backend::Sqlite)
        .identity(sandbox_with(&[], &["13700137001"], 2))
        .start()
        .await;
    let (b, no) = submitted_order(&hall, "13812340005").await;
    let link = pc_link(&b, &no).await;
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &link, &no).await;
    let (s, page) = sandbox_liveness(&phone, &no, &csrf).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("认证失败") && page.contains("申请人2"),
        "{page}"
    );
    assert_eq!(state_of(&hall, &no).await, OrderState::PendingVerification);
    let (_, pc) = b.get(&format!("/orders/{no}/identity")).await;
    assert!(
        pc.contains("认证失败") && pc.contains("137****7001"),
        "{pc}"
    );
    assert!(
        pc.contains("电信运营商APP"),
        "FAQ (二) advice beside the number"
    );
    assert!(pc.contains("id=\"idv-next\" disabled"));
    let (_, hist) = b.get(&format!("/orders/{no}")).await;
    assert!(
        hist.contains("经办人在线认证未通过") && hist.contains("申请人2不一致"),
        "{hist}"
    );

    // Second attempt (limit 2 a day) after renewing; the third is refused.
    let (s, _, _) = b.form(&format!("/orders/{no}/identity/renew"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    let (s, page) = sandbox_liveness(&phone, &no, &csrf).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("认证失败"));
    let (s, _, _) = b.form(&format!("/orders/{no}/identity/renew"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    let (s, _, body) = phone.liveness(&no, &csrf).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("今日认证次数已达上限"), "{body}");
}

#[tokio::test]
async fn face_failure_keeps_the_order_waiting() {
    let hall = TestHall::builder(Backend::Sqlite)
        .identity(sandbox_with(&[support::applicant::ID], &[], 5))
        .start()
        .await;
    let (b, no) = submitted_order(&hall, "13812340006").await;
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    let (_, page) = sandbox_liveness(&phone, &no, &csrf).await;
    assert!(page.contains("人脸与身份证信息不一致"), "{page}");
    assert_eq!(state_of(&hall, &no).await, OrderState::PendingVerification);
}

// ---- Tencent FaceID against a local server (the gateways' own fake) ----

#[path = "../../../gateways/tests/it/fake_faceid.rs"]
mod faceid;

#[tokio::test]
async fn provider_down_or_hanging_leaves_the_order_unchanged_and_a_retry_passes() {
    let mode = Arc::new(faceid::Mode::default());
    let endpoint = faceid::start(mode.clone()).await;
    let cfg: gateways::identity::IdentityProviderConfig = serde_json::from_value(serde_json::json!({
        "provider": "tencent",
        "tencent": {"endpoint": endpoint, "secret_id": "AKIDtest", "secret_key": faceid::KEY, "rule_id": "7", "timeout_ms": 800}
    }))
    .unwrap();
    let hall = TestHall::builder(Backend::Sqlite)
        .identity(gateways::identity::build(&cfg).unwrap())
        .start()
        .await;
    let (b, no) = submitted_order(&hall, "13812340007").await;
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    let (s, loc, _) = phone.liveness(&no, &csrf).await;
    assert_eq!(
        (s, loc.as_str()),
        (
            StatusCode::SEE_OTHER,
            "https://h5.faceid.example/auth?t=BT-1"
        )
    );
    let done = format!("/m/identity/{no}/liveness/done?token=BT-1");
    for (m, what) in [(1, "503"), (2, "hang")] {
        mode.detect_info.store(m, Ordering::SeqCst);
        let (s, _, page) = phone.get(&done).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{what}: {page}");
        assert!(
            page.contains("认证服务暂时不可用,请稍后重试"),
            "{what}: {page}"
        );
        assert_eq!(
            state_of(&hall, &no).await,
            OrderState::PendingVerification,
            "{what}"
        );
        let v: serde_json::Value =
            b.c.get(format!("{}/api/v1/orders/{no}/identity", hall.base))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(v["status"], "uploaded", "{what}: no half-verified state");
    }
    // The provider is back: the same return link finishes the check.
    mode.detect_info.store(0, Ordering::SeqCst);
    let (s, _, page) = phone.get(&done).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("认证通过"), "{page}");
    assert_eq!(state_of(&hall, &no).await, OrderState::PendingPayment);
    assert_eq!(
        mode.bad_signatures.load(Ordering::SeqCst),
        0,
        "every call signed correctly"
    );
    let (_, hist) = b.get(&format!("/orders/{no}")).await;
    assert!(
        hist.contains("r-info") && hist.contains("提供方 tencent"),
        "{hist}"
    );
}

#[tokio::test]
async fn tencent_carrier_mismatch_fails_the_attempt() {
    let mode = Arc::new(faceid::Mode::default());
    mode.fail_carrier.store(1, Ordering::SeqCst);
    let endpoint = faceid::start(mode.clone()).await;
    let cfg: gateways::identity::IdentityProviderConfig = serde_json::from_value(serde_json::json!({
        "provider": "sandbox",
        "carrier_provider": "tencent",
        "tencent": {"endpoint": endpoint, "secret_id": "AKIDtest", "secret_key": faceid::KEY, "rule_id": "7"}
    }))
    .unwrap();
    let hall = TestHall::builder(Backend::Sqlite)
        .identity(gateways::identity::build(&cfg).unwrap())
        .start()
        .await;
    let (b, no) = submitted_order(&hall, "13812340008").await;
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    let (_, page) = sandbox_liveness(&phone, &no, &csrf).await;
    assert!(
        page.contains("认证失败") && page.contains("申请人2"),
        "{page}"
    );
    assert_eq!(
        mode.calls.load(Ordering::SeqCst),
        3,
        "three numbers checked"
    );
    assert_eq!(mode.bad_signatures.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn photos_are_deleted_after_retention_and_the_hashes_stay() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = submitted_order(&hall, "13812340009").await;
    let phone = Phone::new(&hall);
    let csrf = scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    sandbox_liveness(&phone, &no, &csrf).await;
    let o = hall.order(&no).await;
    let before = hall.store.latest_attempt(o.id).await.unwrap().unwrap();
    let front = before.front_blob.clone().unwrap();
    // Walk the order to 已完成 through the state machine.
    for to in [
        OrderState::InReview,
        OrderState::Approved,
        OrderState::Issued,
        OrderState::Shipped,
        OrderState::Completed,
    ] {
        let o = hall.order(&no).await;
        hall.force_state(o.no.as_str(), to, "test").await;
    }
    assert_eq!(
        hall.app.verification().purge_photos().await.unwrap(),
        0,
        "not yet"
    );
    hall.clock.advance(31 * app::clock::DAY);
    hall.app.jobs().schedule_identity_purge().await.unwrap();
    hall.drain().await;
    let after = hall.store.latest_attempt(o.id).await.unwrap().unwrap();
    assert!(after.front_blob.is_none() && after.back_blob.is_none());
    assert_eq!(after.front_sha256, before.front_sha256);
    assert!(after.photos_purged_at.is_some());
    assert!(hall.blobs.get(&front).await.is_err(), "blob gone");
    assert_eq!(after.result, before.result, "result kept");
}

#[tokio::test]
async fn only_reviewers_see_the_photos_and_each_look_is_audited() {
    use app::clock::Clock;
    use app::model::Role;
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = submitted_order(&hall, "13812340010").await;
    let phone = Phone::new(&hall);
    scan_and_upload(&phone, &pc_link(&b, &no).await, &no).await;
    let staff = |role: Role, name: &'static str| {
        let hall = &hall;
        async move {
            let c = hall
                .app
                .admin()
                .create_staff(app::authz::Operator::Cli, name, "", role)
                .await
                .unwrap();
            let s = Browser::new(hall).await;
            let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.clock.now());
            let (st, _, _) = s
                .form(
                    "/staff/login",
                    &[
                        ("username", name),
                        ("password", &c.password),
                        ("totp", &totp),
                    ],
                )
                .await;
            assert_eq!(st, StatusCode::SEE_OTHER);
            s
        }
    };
    let reviewer = staff(Role::Reviewer, "rev").await;
    let r = reviewer
        .c
        .get(format!("{}/staff/orders/{no}/identity/front", hall.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(
        r.headers()
            .get_all("content-security-policy")
            .iter()
            .count(),
        1
    );
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox;"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        r.headers()["content-disposition"],
        "inline; filename=\"identity-front.png\""
    );
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let finance = staff(Role::Finance, "fin").await;
    let (s, _) = finance
        .get(&format!("/staff/orders/{no}/identity/front"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The applicant and the phone have no such route.
    let (s, _) = b.get(&format!("/staff/orders/{no}/identity/front")).await;
    assert_ne!(s, StatusCode::OK);
    let audit = hall.store.audit_page(None, 50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.event.action == "identity.photo.view")
            .count(),
        1
    );
}
