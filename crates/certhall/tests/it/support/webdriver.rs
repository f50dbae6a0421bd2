//! A small W3C WebDriver client over reqwest, enough to drive headless Chromium through
//! chromedriver: open pages, find elements by CSS selector, type, click, read text, take
//! screenshots, and set the viewport through Chrome's DevTools bridge.
//!
//! Each test file uses only some of it.

#![allow(dead_code)]

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key W3C WebDriver uses for an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long to wait for something to appear before failing.
pub const WAIT: Duration = Duration::from_secs(15);

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

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
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
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_else(|e| panic!("http client: {e}")),
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
            {
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
            tokio::time::sleep(Duration::from_millis(100)).await;
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
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "goog:chromeOptions": {
                        "binary": chromium_path().to_string_lossy(),
                        "args": args,
                    }
                }
            }
        });
        let v = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.url),
            Some(caps),
        )
        .await
        .unwrap_or_else(|e| panic!("new WebDriver session: {e}"));
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {v}"))
            .to_owned();
        let s = Session {
            http: self.http.clone(),
            url: format!("{}/session/{id}", self.url),
            driver: self.url.trim_start_matches("http://").to_owned(),
            id,
            profile,
            open: true,
        };
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

/// One browser session. Call [`Session::close`] at the end; the profile directory is removed
/// on drop either way, and the browser dies with chromedriver.
pub struct Session {
    http: reqwest::Client,
    url: String,
    /// chromedriver's `host:port`, for ending the session from `drop`.
    driver: String,
    id: String,
    profile: PathBuf,
    open: bool,
}

/// A reference to an element in the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.url), body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.cmd(reqwest::Method::GET, path, None).await
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page title.
    pub async fn title(&self) -> String {
        self.get("/title")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, or `None`.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let r = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/element", self.url),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .ok()?;
        r[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned()))
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            assert!(
                started.elapsed() < WAIT,
                "no element `{css}` on {} — page text:\n{}",
                self.current_url().await,
                self.body_text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `path_of(element)` with `body` on the element matched by `css`, finding it again
    /// when the page changed underneath (a stale reference right after a navigation).
    async fn on_element(&self, css: &str, action: &str, body: Option<Value>) -> Value {
        let started = Instant::now();
        loop {
            let e = self.find(css).await;
            let method = if body.is_some() {
                reqwest::Method::POST
            } else {
                reqwest::Method::GET
            };
            let url = format!("{}/element/{}/{action}", self.url, e.0);
            match call(&self.http, method, &url, body.clone()).await {
                Ok(v) => return v,
                Err(err) if err.contains("stale element") && started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("WebDriver {action} on `{css}`: {err}"),
            }
        }
    }

    /// Clears the field matched by `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        self.on_element(css, "clear", Some(json!({}))).await;
        self.on_element(css, "value", Some(json!({ "text": text })))
            .await;
    }

    /// The current value of the input matched by `css`.
    pub async fn value(&self, css: &str) -> String {
        self.on_element(css, "property/value", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Types `text` into the element matched by `css` without clearing it first. For an
    /// `<input type=file>` the text is the absolute path of the file to choose.
    pub async fn send_keys(&self, css: &str, text: &str) {
        self.on_element(css, "value", Some(json!({ "text": text })))
            .await;
    }

    /// The visible text of the element matched by `css`.
    pub async fn text(&self, css: &str) -> String {
        self.on_element(css, "text", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// How many elements match `css` right now.
    pub async fn count(&self, css: &str) -> usize {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/elements", self.url),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
    }

    /// The browser's cookies for the current page as a `Cookie` header value (HttpOnly ones
    /// included), for fetching a link outside the browser.
    pub async fn cookie_header(&self) -> String {
        let v = self.get("/cookie").await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        format!(
                            "{}={}",
                            c["name"].as_str().unwrap_or_default(),
                            c["value"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    /// Sets a cookie for the current page's site (the page must be open on that site).
    pub async fn add_cookie(&self, name: &str, value: &str) {
        self.post(
            "/cookie",
            json!({ "cookie": { "name": name, "value": value, "path": "/", "httpOnly": true } }),
        )
        .await;
    }

    /// A PNG of the whole page (beyond the viewport) at the current viewport width, through
    /// DevTools.
    pub async fn full_page_screenshot(&self) -> Vec<u8> {
        let m = self
            .post(
                "/goog/cdp/execute",
                json!({ "cmd": "Page.getLayoutMetrics", "params": {} }),
            )
            .await;
        let size = &m["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0);
        let height = size["height"].as_f64().unwrap_or(900.0);
        let v = self
            .post(
                "/goog/cdp/execute",
                json!({
                    "cmd": "Page.captureScreenshot",
                    "params": {
                        "format": "png",
                        "captureBeyondViewport": true,
                        "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
                    }
                }),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(v["data"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("full-page screenshot is not base64: {e}"))
    }

    /// Runs `js` (a function body; `return` gives the value) in the page.
    pub async fn script(&self, js: &str) -> Value {
        self.post("/execute/sync", json!({ "script": js, "args": [] }))
            .await
    }

    /// Waits until the page has loaded, its images are decoded and its web fonts are ready,
    /// so a screenshot shows the final page.
    pub async fn wait_settled(&self) {
        let started = Instant::now();
        let js = "return document.readyState === 'complete' \
                  && Array.from(document.images).every(i => i.complete) \
                  && (!document.fonts || document.fonts.status === 'loaded');";
        while self.script(js).await != json!(true) {
            assert!(started.elapsed() < WAIT, "page never settled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matched by `css`.
    pub async fn click(&self, css: &str) {
        self.on_element(css, "click", Some(json!({}))).await;
    }

    /// The visible text of the page body; empty while a page is being replaced.
    pub async fn body_text(&self) -> String {
        let Some(e) = self.try_find("body").await else {
            return String::new();
        };
        let url = format!("{}/element/{}/text", self.url, e.0);
        match call(&self.http, reqwest::Method::GET, &url, None).await {
            Ok(v) => v.as_str().unwrap_or_default().to_owned(),
            Err(_) => String::new(),
        }
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
            tokio::time::sleep(Duration::from_millis(100)).await;
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
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets the outer window size (W3C) and then the exact viewport through DevTools, with
    /// `mobile` making the page's `<meta name=viewport>` apply as on a phone.
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        // Chromium keeps a minimum window width; the DevTools override below is exact.
        self.post(
            "/window/rect",
            json!({ "width": width.max(500), "height": height }),
        )
        .await;
        self.post(
            "/goog/cdp/execute",
            json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": 1,
                    "mobile": mobile,
                }
            }),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.get("/screenshot").await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot is not base64: {e}"))
    }

    /// Writes a PNG of the viewport to `path`.
    pub async fn save_screenshot(&self, path: &Path) {
        let png = self.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Ends the session (closes the browser).
    pub async fn close(mut self) {
        let _ = call(&self.http, reqwest::Method::DELETE, &self.url, None).await;
        self.open = false;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open {
            // A failed test unwinds through here: end the session (and its browser) with a
            // plain blocking request, since nothing async can run in `drop`.
            delete_session_blocking(&self.driver, &self.id);
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `DELETE /session/{id}` over a bare TCP connection, waiting for the answer.
fn delete_session_blocking(driver: &str, id: &str) {
    let Ok(mut conn) = std::net::TcpStream::connect(driver) else {
        return;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
    let req = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: {driver}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if conn.write_all(req.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
    }
}

/// Sends one WebDriver command and returns its `value`, or the WebDriver error as text.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "{status}: {} {}",
            v["value"]["error"].as_str().unwrap_or("?"),
            v["value"]["message"].as_str().unwrap_or("")
        ));
    }
    Ok(v["value"].clone())
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
    let dir =
        std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (N.fetch_add(1, Ordering::SeqCst) << 48)
}
