//! Real-browser tests: headless Chromium driven through chromedriver (W3C WebDriver) against
//! the real router. They need Debian's `chromium` and `chromium-driver`; `scripts/test.sh`
//! installs them. Without them these tests fail, they never skip.
//!
//! `CERTHALL_SCREENSHOTS=DIR` makes `pages_render_and_screenshots` save a PNG of every page it
//! visits at a desktop and a phone size.

use crate::support;

use app::clock::Clock;
use app::model::Role;
use certhall::testing::{Backend, TestHall};
use serde_json::Value;
use std::path::PathBuf;
use support::webdriver::{Driver, Session};

const PHONE: &str = "13800138000";
const PASSWORD: &str = "Hall-2026pw";

/// Reads the newest code for `phone` the way a person trying the hall would: the job worker
/// sends the SMS, then `/sandbox/sms.json` shows it.
async fn code_from_sandbox(hall: &TestHall, phone: &str) -> String {
    hall.drain().await;
    let v: Value = reqwest::get(format!("{}/sandbox/sms.json?phone={phone}", hall.base))
        .await
        .unwrap_or_else(|e| panic!("sandbox: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("sandbox json: {e}"));
    let code = v["messages"][0]["params"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in the sandbox for {phone}: {v}"))
        .to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_logout_and_log_in_with_password() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let driver = Driver::start().await;
    let b = driver.session(1280, 900).await;
    let base = hall.base.as_str();

    // Register: phone, 获取验证码, the code from the sandbox, a password twice.
    b.goto(&format!("{base}/register")).await;
    assert!(b.title().await.contains("注册"), "{}", b.title().await);
    b.fill("#phone", PHONE).await;
    b.click("button[name=action][value=send_code]").await;
    b.wait_text("验证码已发送").await;
    assert_eq!(b.value("#phone").await, PHONE, "the phone is kept");
    let code = code_from_sandbox(&hall, PHONE).await;
    b.fill("#code", &code).await;
    b.fill("#password", PASSWORD).await;
    b.fill("#password_confirm", PASSWORD).await;
    b.click("button[name=action][value=submit]:not(.default-submit)")
        .await;

    b.wait_path(base, "/account").await;
    let text = b.wait_text("账号与安全").await;
    assert!(text.contains("个人中心"), "{text}");
    assert!(text.contains("修改密码"), "a password was set: {text}");

    // Log out with the header's 退出 button; the session is really gone.
    b.click("header form[action='/logout'] button").await;
    b.wait_path(base, "/").await;
    assert!(
        b.try_find("header form[action='/logout']").await.is_none(),
        "still logged in after 退出: {}",
        b.body_text().await
    );
    b.goto(&format!("{base}/account")).await;
    let url = b.current_url().await;
    assert!(
        url.starts_with(&format!("{base}/login?")),
        "/account after logout should send to the login page, got {url}"
    );

    // Log in with the phone as account and the password.
    b.goto(&format!("{base}/login?tab=password")).await;
    b.fill("#account", PHONE).await;
    b.fill("#password", PASSWORD).await;
    b.click("button[name=action][value=submit]:not(.default-submit)")
        .await;
    b.wait_path(base, "/account").await;
    let text = b.wait_text("账号与安全").await;
    assert!(text.contains("退出"), "{text}");

    b.close().await;
}

/// The sizes every page is looked at: a desktop and a phone.
const SIZES: [(&str, u32, u32, bool); 2] =
    [("desktop", 1280, 900, false), ("phone", 375, 812, true)];

/// Checks the page is the one expected and, when screenshots are wanted, saves it at both
/// sizes.
struct Shots {
    dir: Option<PathBuf>,
    taken: Vec<String>,
}

impl Shots {
    fn from_env() -> Shots {
        let dir = std::env::var_os("CERTHALL_SCREENSHOTS")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        }
        Shots {
            dir,
            taken: Vec::new(),
        }
    }

    async fn page(&mut self, b: &Session, name: &str, title: &str, text: &str) {
        let t = b.title().await;
        assert!(t.contains(title), "{name}: title {t:?} lacks {title:?}");
        let body = b.wait_text(text).await;
        assert!(
            !body.contains("服务暂时不可用")
                && (title == "页面不存在" || !t.contains("页面不存在")),
            "{name}: {body}"
        );
        let Some(dir) = &self.dir else { return };
        for (size, w, h, mobile) in SIZES {
            b.set_viewport(w, h, mobile).await;
            let path = dir.join(format!("{name}-{size}.png"));
            b.save_screenshot(&path).await;
            self.taken.push(path.display().to_string());
        }
        let (_, w, h, mobile) = SIZES[0];
        b.set_viewport(w, h, mobile).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_and_screenshots() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let driver = Driver::start().await;
    let b = driver.session(1280, 900).await;
    let base = hall.base.as_str();
    let mut shots = Shots::from_env();

    b.goto(&format!("{base}/")).await;
    shots.page(&b, "home", "首页", "网上营业厅").await;

    b.goto(&format!("{base}/register")).await;
    shots.page(&b, "register", "注册", "获取验证码").await;
    b.fill("#phone", "12345").await;
    b.click("button[name=action][value=send_code]").await;
    b.find("#phone[aria-invalid=true]").await;
    shots.page(&b, "register-error", "注册", "手机号码").await;

    b.goto(&format!("{base}/login")).await;
    shots.page(&b, "login-code", "登录", "验证码登录").await;
    b.goto(&format!("{base}/login?tab=password")).await;
    shots.page(&b, "login-password", "登录", "忘记密码").await;

    b.goto(&format!("{base}/password/reset")).await;
    shots.page(&b, "password-reset", "找回密码", "验证码").await;

    b.goto(&format!("{base}/faq")).await;
    shots.page(&b, "faq", "常见问题", "常见问题").await;

    b.goto(&format!("{base}/nope")).await;
    shots.page(&b, "not-found", "页面不存在", "").await;

    // Log in with an SMS code (a first login registers the account), then the account page.
    b.goto(&format!("{base}/login")).await;
    b.fill("#phone", PHONE).await;
    b.click("button[name=action][value=send_code]").await;
    b.wait_text("验证码已发送").await;
    shots
        .page(&b, "login-code-sent", "登录", "验证码已发送")
        .await;
    let code = code_from_sandbox(&hall, PHONE).await;
    b.fill("#code", &code).await;
    b.click("button[name=action][value=submit]:not(.default-submit)")
        .await;
    b.wait_path(base, "/account").await;
    shots.page(&b, "account", "个人中心", "账号与安全").await;

    b.goto(&format!("{base}/sandbox/sms?phone={PHONE}")).await;
    shots.page(&b, "sandbox-sms", "短信沙箱", &code).await;

    // Staff: an admin logs in with password + TOTP.
    let creds = hall
        .app
        .admin()
        .create_staff(app::authz::Operator::Cli, "admin2", "", Role::Admin)
        .await
        .unwrap_or_else(|e| panic!("create staff: {e}"));
    b.goto(&format!("{base}/staff/login")).await;
    shots.page(&b, "staff-login", "员工登录", "动态口令").await;
    b.fill("#username", "admin2").await;
    b.fill("#password", &creds.password).await;
    let totp = app::secrets::totp_now(&creds.staff.totp_secret, hall.clock.now());
    b.fill("#totp", &totp).await;
    b.click("form[action='/staff/login'] button").await;
    b.wait_path(base, "/staff").await;
    shots.page(&b, "staff-home", "工作台", "admin2").await;
    for (path, name, title) in [
        ("/staff/outbox", "staff-outbox", "短信记录"),
        ("/staff/audit", "staff-audit", "审计日志"),
        ("/staff/accounts", "staff-accounts", "员工账号"),
        ("/staff/jobs", "staff-jobs", "后台任务"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        shots.page(&b, name, title, title).await;
    }

    b.close().await;
    if !shots.taken.is_empty() {
        eprintln!("screenshots:\n  {}", shots.taken.join("\n  "));
    }
}
