//! Browser-level helpers shared by the suites that drive real pages (staff console, the
//! end-to-end story): screenshots, SMS codes from the sandbox, logging in through the login
//! pages, waiting for an order's state, checking issued certificates with openssl and the
//! audit chain with the operator's command.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::webdriver::{tempdir, Session};
use app::clock::Clock;
use app::model::Role;
use certhall::testing::storage::*;
use certhall::testing::TestHall;
use domain::order::OrderState;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Full-page screenshots `PREFIX-NN-name.png` into `CERTHALL_SCREENSHOTS` when it names a
/// directory; without it only the page checks run.
pub struct Shots {
    dir: Option<PathBuf>,
    prefix: &'static str,
    /// Steps checked so far.
    pub n: usize,
    /// Files written.
    pub taken: Vec<PathBuf>,
}

impl Shots {
    pub fn from_env(prefix: &'static str) -> Self {
        let dir = std::env::var_os("CERTHALL_SCREENSHOTS")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).unwrap();
        }
        Self {
            dir,
            prefix,
            n: 0,
            taken: Vec::new(),
        }
    }

    /// Waits until the page shows `must_show` (and no error page), then saves it.
    pub async fn take(&mut self, b: &Session, name: &str, must_show: &str) {
        let body = b.wait_text(must_show).await;
        assert!(
            !body.contains("系统繁忙") && !body.contains("服务暂时不可用"),
            "{name}: {body}"
        );
        self.n += 1;
        if let Some(d) = &self.dir {
            b.wait_settled().await;
            let png = b.full_page_screenshot().await;
            let path = d.join(format!("{}-{:02}-{name}.png", self.prefix, self.n));
            std::fs::write(&path, png).unwrap();
            self.taken.push(path);
        }
        // Every page of the story fits a 360 px phone: nothing wider than the viewport.
        let size = b
            .script("return [window.innerWidth, window.innerHeight]")
            .await;
        let (w, h) = (
            size[0].as_u64().unwrap_or(1280) as u32,
            size[1].as_u64().unwrap_or(900) as u32,
        );
        b.set_viewport(360, 780, true).await;
        let wide = b
            .script("return document.documentElement.scrollWidth")
            .await
            .as_u64()
            .unwrap_or(u64::MAX);
        if let Some(d) = &self.dir {
            let png = b.full_page_screenshot().await;
            let path = d.join(format!("{}-{:02}-{name}-360.png", self.prefix, self.n));
            std::fs::write(&path, png).unwrap();
        }
        b.set_viewport(w, h, w < 600).await;
        assert!(wide <= 360, "{name} is {wide} px wide at 360 px");
    }
}

/// The newest SMS code sent to `phone`, as a person trying the hall reads it: the job worker
/// sends the SMS, then `/sandbox/sms.json` shows it.
pub async fn code_from_sandbox(hall: &TestHall, phone: &str) -> String {
    hall.drain().await;
    let v: Value = reqwest::get(format!("{}/sandbox/sms.json?phone={phone}", hall.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"][0]["params"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in the sandbox for {phone}: {v}"))
        .to_owned()
}

/// A valid 18-character ID number (GB 11643) from region, birth date and sequence.
pub fn id_number(region: &str, birth: &str, seq: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{region}{birth}{seq}");
    assert_eq!(body.len(), 17, "{body}");
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// Logs an applicant in through the login page with an SMS code (past the resend interval
/// of any earlier code).
pub async fn applicant_login(hall: &TestHall, b: &Session, phone: &str) {
    hall.clock.advance(61_000);
    b.goto(&format!("{}/login?tab=code", hall.base)).await;
    b.fill("#phone", phone).await;
    b.click("button[name=action][value=send_code]").await;
    b.wait_text("验证码已发送").await;
    let code = code_from_sandbox(hall, phone).await;
    b.fill("#code", &code).await;
    b.click("button[name=action][value=submit]:not(.default-submit)")
        .await;
    b.find("header form[action='/logout']").await;
}

/// Logs a new staff member of `role` in through the login page (password + TOTP); returns
/// how the audit log names them (`staff:ID`).
pub async fn staff_login(
    hall: &TestHall,
    b: &Session,
    role: Role,
    name: &str,
    display: &str,
) -> String {
    let c = hall
        .app
        .admin()
        .create_staff(app::authz::Operator::Cli, name, display, role)
        .await
        .unwrap();
    let base = &hall.base;
    b.goto(&format!("{base}/staff/login")).await;
    b.fill("#username", name).await;
    b.fill("#password", &c.password).await;
    let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.clock.now());
    b.fill("#totp", &totp).await;
    b.click("form[action='/staff/login'] button").await;
    b.wait_path(base, "/staff").await;
    format!("staff:{}", c.staff.id)
}

pub async fn logout_staff(hall: &TestHall, b: &Session) {
    b.goto(&format!("{}/staff", hall.base)).await;
    b.click("form[action='/staff/logout'] button").await;
    b.wait_path(&hall.base, "/staff/login").await;
}

/// Waits until the order is in `st` (the page that moved it may still be loading).
pub async fn wait_state(hall: &TestHall, no: &str, st: OrderState) {
    let t = Instant::now();
    loop {
        let now = hall.order(no).await.state;
        if now == st {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "order never became {st:?} (is {now:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks every certificate issued for the order (signing and encryption) with
/// `openssl verify -vfyopt distid:1234567812345678 -partial_chain` against the CA chain;
/// returns how many certificate files were verified.
pub async fn verify_issued(hall: &TestHall, no: &str) -> usize {
    let o = hall.order(no).await;
    let chain = hall.ca.chain_pem();
    let d = tempdir("certhall-verify");
    std::fs::write(d.join("chain.pem"), &chain).unwrap();
    let mut n = 0;
    for (i, l) in hall
        .store
        .cert_lines(o.id)
        .await
        .unwrap()
        .iter()
        .enumerate()
    {
        for (k, pem) in [("s", &l.sign_pem), ("e", &l.enc_pem)] {
            let f = d.join(format!("{i}{k}.pem"));
            std::fs::write(&f, pem.as_deref().unwrap()).unwrap();
            let out = std::process::Command::new("openssl")
                .args([
                    "verify",
                    "-vfyopt",
                    "distid:1234567812345678",
                    "-partial_chain",
                    // At the hall's clock, which issued them (not today).
                    "-attime",
                    &(hall.clock.now() / 1000).to_string(),
                    "-CAfile",
                ])
                .arg(d.join("chain.pem"))
                .arg(&f)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&d);
    n
}

/// Runs `certhall audit verify` on the hall's own database; asserts the chain is intact and
/// returns what the command said.
pub fn audit_verify_cli(hall: &TestHall) -> String {
    let data = tempdir("certhall-audit-data");
    // The chain is keyed with the hall's keys: the command line needs the same keys file.
    std::fs::copy(&hall.keys_file, data.join("keys.toml")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certhall"))
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .env("CERTHALL_DATABASE_URL", &hall.db_url)
        .env("CERTHALL_LOG", "warn")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && said.contains("audit log intact"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&data);
    said.trim().to_owned()
}

/// A JPEG photo (e.g. of an ID card) written to `dir/name`; returns its absolute path.
pub fn photo(dir: &Path, name: &str, seed: u8) -> String {
    let mut jpg = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([seed.wrapping_add((x / 3) as u8), (y * 2) as u8, 180])
    })
    .write_to(&mut jpg, image::ImageFormat::Jpeg)
    .unwrap();
    let p = dir.join(name);
    std::fs::write(&p, jpg.into_inner()).unwrap();
    p.canonicalize().unwrap().display().to_string()
}

/// A PNG scan written to `dir/name`; returns its absolute path.
pub fn scan_png(dir: &Path, name: &str, seed: u8) -> String {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 3) as u8, seed, (y * 5) as u8])
    })
    .write_to(&mut png, image::ImageFormat::Png)
    .unwrap();
    let p = dir.join(name);
    std::fs::write(&p, png.into_inner()).unwrap();
    p.canonicalize().unwrap().display().to_string()
}

/// Waits until `css` matches exactly `n` elements.
pub async fn wait_count(s: &Session, css: &str, n: usize) {
    let started = Instant::now();
    while s.count(css).await != n {
        assert!(
            started.elapsed() < super::webdriver::WAIT,
            "`{css}` never counted {n}: {}",
            s.body_text().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Chooses `option` (by value) in the `<select>` with id `id`.
pub async fn select(b: &Session, id: &str, option: &str) {
    b.click(&format!("select[id='{id}'] option[value='{option}']"))
        .await;
    assert_eq!(b.value(&format!("select[id='{id}']")).await, option, "{id}");
}

/// Types into the input with id `id` (ids like `persons.0.name` need the attribute form).
pub async fn type_in(b: &Session, id: &str, text: &str) {
    b.fill(&format!("[id='{id}']"), text).await;
}

pub async fn value_of(b: &Session, id: &str) -> String {
    b.value(&format!("[id='{id}']")).await
}

/// Uploads one file through the 上传资料 page's own form and waits until the page lists
/// `uploaded_before + 1` files as uploaded.
pub async fn upload(b: &Session, kind: &str, file: &str, uploaded_before: usize) {
    let form = format!("form[action*='/uploads/{kind}?']");
    b.send_keys(&format!("{form} input[type=file]"), file).await;
    b.click(&format!("{form} button")).await;
    let started = Instant::now();
    loop {
        let n = b.count("li.upload .tag.good").await;
        if n == uploaded_before + 1 {
            break;
        }
        assert!(
            started.elapsed() < super::webdriver::WAIT,
            "{kind} never showed as uploaded ({n} uploaded): {}",
            b.body_text().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = b.text(&format!("li.upload:has({form})")).await;
    assert!(row.contains("已上传") && row.contains("重新上传"), "{row}");
}

/// Replaces the upload `kind` on the 上传资料 page (already open) with `file` and waits until
/// the order's history records the replacement (the page posts and redirects).
pub async fn replace_upload(hall: &TestHall, b: &Session, no: &str, kind: &str, file: &str) {
    let form = format!("form[action*='/uploads/{kind}?']");
    b.send_keys(&format!("{form} input[type=file]"), file).await;
    b.click(&format!("{form} button")).await;
    let t = Instant::now();
    loop {
        let o = hall.order(no).await;
        let ev = hall.store.order_events(o.id).await.unwrap();
        if ev.iter().any(|e| e.what.starts_with("替换")) {
            return;
        }
        assert!(
            t.elapsed() < super::webdriver::WAIT,
            "replacement of {kind} never stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
