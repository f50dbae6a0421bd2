//! Headless Chromium for the browser tests: chromedriver started on a free port, and sessions
//! spoken to through `fantoccini` (W3C WebDriver), with the few steps the suites repeat —
//! waiting for an element, a text or an address, typing, clicking, screenshots, and the exact
//! viewport through Chrome's DevTools bridge (`goog/cdp/execute`).
//!
//! Every wait polls for its condition until [`WAIT`] has passed.

use base64::Engine as _;
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for something to appear before failing.
pub const WAIT: Duration = Duration::from_secs(15);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// Where the binaries are, overridable for machines that put them elsewhere.
fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// A running chromedriver; killed with every browser it started when dropped.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it answers `/status`. Fails the test
    /// (never skips it) when chromedriver or Chromium is missing.
    pub async fn start() -> Driver {
        let exe = chromedriver_path();
        let browser = chromium_path();
        for (what, path, pkg) in [
            ("chromedriver", &exe, "chromium-driver"),
            ("Chromium", &browser, "chromium"),
        ] {
            assert!(
                path.exists(),
                "{what} not found at {}: run scripts/test.sh, which installs the Debian package \
                 `{pkg}` (or set CHROMEDRIVER / CHROMIUM)",
                path.display()
            );
        }
        let port = free_port();
        let child = Command::new(&exe)
            // Its own process group, so the browsers it starts can be ended with it.
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run scripts/test.sh, which installs chromium-driver",
                    exe.display()
                )
            });
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == json!(true) {
                        break;
                    }
                }
            }
            assert!(
                started.elapsed() < WAIT,
                "chromedriver did not become ready on port {port}"
            );
            tokio::time::sleep(POLL).await;
        }
        driver
    }

    /// Opens a headless Chromium session with a fresh profile directory and the given
    /// window size.
    pub async fn session(&self, width: u32, height: u32) -> Session {
        let profile = tempdir("certhall-chromium");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--hide-scrollbars".into(),
            "--lang=zh-CN".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": chromium_path().to_string_lossy(),
                "args": args,
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!("capabilities are an object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("new WebDriver session: {e}"));
        let s = Session { client, profile };
        s.set_viewport(width, height, false).await;
        s
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver and anything left in its process group (browsers of sessions that
        // were not ended).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute`, which W3C WebDriver
/// has no word for.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// One browser session. Call [`Session::close`] at the end; the profile directory is removed
/// on drop either way, and the browser dies with chromedriver.
pub struct Session {
    client: Client,
    profile: PathBuf,
}

fn css(selector: &str) -> Locator<'_> {
    Locator::Css(selector)
}

fn is_stale(e: &CmdError) -> bool {
    matches!(e, CmdError::Standard(w) if w.error == ErrorStatus::StaleElementReference)
}

impl Session {
    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The page title.
    pub async fn title(&self) -> String {
        self.client.title().await.unwrap_or_default()
    }

    /// The first element matching `css` right now, or `None`.
    pub async fn try_find(&self, selector: &str) -> Option<Element> {
        self.client.find(css(selector)).await.ok()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, selector: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(css(selector)).await {
                return e;
            }
            assert!(
                started.elapsed() < WAIT,
                "no element `{selector}` on {} — page text:\n{}",
                self.current_url().await,
                self.body_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `act` on the element matched by `css`, finding it again when the page changed
    /// underneath (a stale reference right after a navigation).
    async fn on_element<T, F, Fut>(&self, selector: &str, what: &str, act: F) -> T
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, CmdError>>,
    {
        let started = Instant::now();
        loop {
            let e = self.find(selector).await;
            match act(e).await {
                Ok(v) => return v,
                Err(err) if is_stale(&err) && started.elapsed() < WAIT => {
                    tokio::time::sleep(POLL).await;
                }
                Err(err) => panic!("WebDriver {what} on `{selector}`: {err}"),
            }
        }
    }

    /// Clears the field matched by `css` and types `text` into it.
    pub async fn fill(&self, selector: &str, text: &str) {
        self.on_element(selector, "clear", |e| async move { e.clear().await })
            .await;
        self.send_keys(selector, text).await;
    }

    /// The current value of the input matched by `css`.
    pub async fn value(&self, selector: &str) -> String {
        self.on_element(selector, "value", |e| async move { e.prop("value").await })
            .await
            .unwrap_or_default()
    }

    /// Types `text` into the element matched by `css` without clearing it first. For an
    /// `<input type=file>` the text is the absolute path of the file to choose.
    pub async fn send_keys(&self, selector: &str, text: &str) {
        self.on_element(
            selector,
            "send keys",
            |e| async move { e.send_keys(text).await },
        )
        .await;
    }

    /// The visible text of the element matched by `css`.
    pub async fn text(&self, selector: &str) -> String {
        self.on_element(selector, "text", |e| async move { e.text().await })
            .await
    }

    /// Clicks the element matched by `css`.
    pub async fn click(&self, selector: &str) {
        self.on_element(selector, "click", |e| async move { e.click().await })
            .await;
    }

    /// How many elements match `css` right now.
    pub async fn count(&self, selector: &str) -> usize {
        self.client
            .find_all(css(selector))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// The browser's cookies for the current page as a `Cookie` header value (HttpOnly ones
    /// included), for fetching a link outside the browser.
    pub async fn cookie_header(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .unwrap_or_else(|e| panic!("cookies: {e}"))
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Sets an HttpOnly cookie for the current page's site (the page must be open on that
    /// site). Through DevTools: chromedriver refuses a W3C cookie without a domain, and a
    /// domain attribute on `127.0.0.1` would change what the cookie is.
    pub async fn add_cookie(&self, name: &str, value: &str) {
        let url = self.current_url().await;
        let v = self
            .cdp(
                "Network.setCookie",
                json!({ "name": name, "value": value, "url": url, "path": "/", "httpOnly": true }),
            )
            .await;
        assert_ne!(v["success"], json!(false), "cookie {name} refused: {v}");
    }

    async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
    }

    /// A PNG of the whole page (beyond the viewport) at the current viewport width, through
    /// DevTools.
    pub async fn full_page_screenshot(&self) -> Vec<u8> {
        let m = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &m["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0);
        let height = size["height"].as_f64().unwrap_or(900.0);
        let v = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
                }),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(v["data"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("full-page screenshot is not base64: {e}"))
    }

    /// Runs `js` (a function body; `return` gives the value) in the page.
    pub async fn script(&self, js: &str) -> Value {
        self.client
            .execute(js, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script {js}: {e}"))
    }

    /// Waits until the page has loaded, its images are decoded and its web fonts are ready,
    /// then for two animation frames, so a screenshot shows the final page.
    pub async fn wait_settled(&self) {
        let started = Instant::now();
        let js = "return document.readyState === 'complete' \
                  && Array.from(document.images).every(i => i.complete) \
                  && (!document.fonts || document.fonts.status === 'loaded');";
        while self.script(js).await != json!(true) {
            assert!(started.elapsed() < WAIT, "page never settled");
            tokio::time::sleep(POLL).await;
        }
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                Vec::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("animation frames: {e}"));
    }

    /// The visible text of the page body; empty while a page is being replaced.
    pub async fn body_text(&self) -> String {
        let Ok(body) = self.client.find(css("body")).await else {
            return String::new();
        };
        body.text().await.unwrap_or_default()
    }

    /// Waits until the current URL's path (and query) is `path`.
    pub async fn wait_path(&self, base: &str, path: &str) {
        let want = format!("{base}{path}");
        let started = Instant::now();
        loop {
            let now = self.current_url().await;
            if now == want {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "expected to be at {want}, still at {now} — page text:\n{}",
                self.body_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the body text contains `needle`.
    pub async fn wait_text(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.body_text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < WAIT,
                "page {} never showed {needle:?}; its text:\n{text}",
                self.current_url().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sets the outer window size (W3C) and then the exact viewport through DevTools, with
    /// `mobile` making the page's `<meta name=viewport>` apply as on a phone; returns once the
    /// page has settled and drawn two frames at that size.
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        // Chromium keeps a minimum window width; the DevTools override below is exact.
        self.client
            .set_window_size(width.max(500), height)
            .await
            .unwrap_or_else(|e| panic!("window size: {e}"));
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": mobile,
            }),
        )
        .await;
        self.wait_settled().await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"))
    }

    /// Writes a PNG of the viewport to `path`.
    pub async fn save_screenshot(&self, path: &Path) {
        let png = self.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Ends the session (closes the browser).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Session {
    /// A failed test unwinds through here too: fantoccini ends the session once its last
    /// handle is gone, and the browser dies with chromedriver regardless.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("bind for a free port: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("local addr: {e}"))
        .port()
}

/// A new empty directory under the system temp dir.
pub fn tempdir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 8]>())
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}
