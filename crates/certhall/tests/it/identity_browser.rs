//! 经办人在线认证 in two real browsers: Chromium as the PC shows the QR page, a second
//! Chromium at 360 px wide opens the QR link as the handler's phone, uploads both ID card
//! photos, does the (sandbox) liveness check; the PC page moves on by itself, without a
//! reload, and enables 下一步. Then the failure path: the carrier check refuses one
//! applicant's number and the PC page shows the reason and the FAQ (二) advice beside it.
//!
//! `CERTHALL_SCREENSHOTS=DIR` saves `identity-NN-step.png` for every step (the PC at
//! 1280×900, the phone at 360×740). Without it nothing is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use certhall::testing::{Backend, TestHall};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::applicant::submitted_order;
use support::pages::{photo, wait_count};
use support::webdriver::{tempdir, Driver, Session, WAIT};

struct Shots {
    dir: Option<PathBuf>,
    n: usize,
}

impl Shots {
    fn from_env() -> Shots {
        let dir = std::env::var_os("CERTHALL_SCREENSHOTS")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).unwrap();
        }
        Shots { dir, n: 0 }
    }

    async fn take(&mut self, s: &Session, name: &str) {
        self.n += 1;
        if let Some(dir) = &self.dir {
            s.save_screenshot(&dir.join(format!("identity-{:02}-{name}.png", self.n)))
                .await;
            let full = s.full_page_screenshot().await;
            std::fs::write(
                dir.join(format!("identity-{:02}-{name}-full.png", self.n)),
                full,
            )
            .unwrap();
        }
    }
}

/// A second login of `phone` (the order was made by [`submitted_order`]'s own session);
/// returns the session cookie's value.
async fn session_cookie(hall: &TestHall, phone: &str) -> String {
    // Past the resend cooldown of the code sent for the first login.
    hall.clock.advance(2 * app::clock::MINUTE);
    let c = reqwest::Client::new();
    let r = c
        .get(format!("{}/api/v1/session", hall.base))
        .send()
        .await
        .unwrap();
    let csrf_cookie = set_cookie(&r, "certhall_csrf");
    let v: Value = r.json().await.unwrap();
    let csrf = v["csrf_token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Value| {
        c.post(format!("{}{path}", hall.base))
            .header("cookie", format!("certhall_csrf={csrf_cookie}"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let r = post(
        "/api/v1/auth/code",
        json!({"phone": phone, "purpose": "login"}),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let code = hall.last_code(phone).await;
    let r = post(
        "/api/v1/auth/login/code",
        json!({"phone": phone, "code": code}),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    set_cookie(&r, "certhall_session")
}

fn set_cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Waits until the PC page's status label (changed only by its script) reads `want`.
async fn wait_label(s: &Session, want: &str) {
    let started = Instant::now();
    loop {
        let now = s.text("#idv-label").await;
        if now == want {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "status stayed {now:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs one verification: PC page, phone steps; returns after the PC page showed `outcome`.
#[allow(clippy::too_many_arguments)]
async fn run(
    hall: &TestHall,
    driver: &Driver,
    shots: &mut Shots,
    user_phone: &str,
    outcome: &str,
    tag: &str,
    files: &std::path::Path,
) {
    let (_, no) = submitted_order(hall, user_phone).await;
    let cookie = session_cookie(hall, user_phone).await;

    let pc = driver.session(1280, 900).await;
    pc.goto(&format!("{}/faq", hall.base)).await;
    pc.add_cookie("certhall_session", &cookie).await;
    pc.goto(&format!("{}/orders/{no}", hall.base)).await;
    pc.wait_text("去认证").await;
    pc.click("a[href$='/identity']").await;
    pc.wait_text("请打开手机微信“扫一扫”").await;
    assert_eq!(pc.count(".idv-qr-img svg").await, 1, "server-rendered QR");
    assert_eq!(pc.count("#idv-next[disabled]").await, 1);
    shots.take(&pc, &format!("{tag}-pc-qr-before")).await;
    let link = pc.text("#idv-link").await;
    assert!(link.contains(&format!("/m/identity/{no}?t=")), "{link}");
    let pc_url = pc.current_url().await;

    let phone = driver.session(360, 740).await;
    phone.set_viewport(360, 740, true).await;
    phone.goto(&link).await;
    phone.wait_text("上传经办人身份证原件照片").await;
    shots.take(&phone, &format!("{tag}-phone-photos")).await;
    wait_label(&pc, "已扫码").await;

    phone
        .send_keys("#front-album", &photo(files, "front.jpg", 10))
        .await;
    phone.click("#front-submit").await;
    wait_count(&phone, "#front-ok", 1).await;
    phone
        .send_keys("#back-album", &photo(files, "back.jpg", 90))
        .await;
    phone.click("#back-submit").await;
    wait_count(&phone, "#back-ok", 1).await;
    phone.wait_text("第二步:活体认证").await;
    shots.take(&phone, &format!("{tag}-phone-liveness")).await;
    wait_label(&pc, "证件已上传").await;

    phone.click("#liveness").await;
    phone.wait_text("完成检测").await;
    shots
        .take(&phone, &format!("{tag}-phone-sandbox-liveness"))
        .await;
    phone.click("#sandbox-done").await;
    phone.wait_text("请查看PC端继续操作").await;
    phone.wait_text(outcome).await;
    shots.take(&phone, &format!("{tag}-phone-done")).await;

    // The PC page moved on by itself: same URL, never reloaded by the test.
    wait_label(&pc, outcome).await;
    assert_eq!(pc.text("#idv-step-done").await, outcome);
    assert_eq!(pc.current_url().await, pc_url);
    if outcome == "认证通过" {
        wait_count(&pc, "#idv-next[disabled]", 0).await;
        shots.take(&pc, &format!("{tag}-pc-after")).await;
        // 下一步 (set by the polling script, the page was loaded before the pass) leads to
        // the payment page of the order, now 待支付.
        pc.click("#idv-next").await;
        pc.wait_text("在线支付").await;
        pc.wait_text("业务单号").await;
        let url = pc.current_url().await;
        assert!(
            url.split('?').next().unwrap().ends_with("/payment"),
            "{url}"
        );
    } else {
        pc.wait_text("电信运营商APP").await;
        assert_eq!(pc.count("#idv-next[disabled]").await, 1);
        assert!(pc.text("#idv-carrier").await.contains("137****7001"));
        shots.take(&pc, &format!("{tag}-pc-after")).await;
    }
    phone.close().await;
    // Another phone opening the used link gets a clear page and nothing else.
    let other = driver.session(360, 740).await;
    other.set_viewport(360, 740, true).await;
    other.goto(&link).await;
    other.wait_text("二维码已过期或已被使用").await;
    assert_eq!(other.count("input[type=file]").await, 0);
    shots.take(&other, &format!("{tag}-phone-used-link")).await;
    other.close().await;
    pc.close().await;
}

#[tokio::test]
async fn the_pc_page_follows_the_phone_then_the_failure_path() {
    let driver = Driver::start().await;
    let mut shots = Shots::from_env();
    let files = tempdir("certhall-identity-files");

    let hall = TestHall::start(Backend::Sqlite).await;
    run(
        &hall,
        &driver,
        &mut shots,
        "13812345001",
        "认证通过",
        "pass",
        &files,
    )
    .await;

    let mut cfg = gateways::identity::IdentityProviderConfig::default();
    cfg.sandbox.fail_phones = vec!["13700137001".into()];
    let failing = TestHall::builder(Backend::Sqlite)
        .identity(gateways::identity::build(&cfg).unwrap())
        .start()
        .await;
    run(
        &failing,
        &driver,
        &mut shots,
        "13812345002",
        "认证失败",
        "fail",
        &files,
    )
    .await;
    let _ = std::fs::remove_dir_all(&files);
}
