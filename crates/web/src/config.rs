//! Settings of the HTTP edge.

use serde::Deserialize;

/// The CA's name and contact details shown on every page (G1).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Brand {
    /// Site title, e.g. 深圳CA 网上营业厅.
    pub name: String,
    /// Short name used in texts, e.g. 深圳CA.
    pub short: String,
    /// 官方网址.
    pub website: String,
    /// 客户服务热线.
    pub hotline: String,
    /// 在线客服 link.
    pub online_service_url: String,
}

impl Default for Brand {
    fn default() -> Self {
        Self {
            name: "深圳CA 网上营业厅".into(),
            short: "深圳CA".into(),
            website: "www.szca.com".into(),
            hotline: "400-112-3838".into(),
            online_service_url: "https://www.szca.com".into(),
        }
    }
}

/// Edge settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Brand and contacts.
    pub brand: Brand,
    /// Mark cookies `Secure` (behind https).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_proxy: bool,
    /// Largest request body accepted, in bytes (forms and JSON; read whole by the edge).
    pub max_body_bytes: usize,
    /// Largest `multipart/form-data` request announced by `Content-Length`; upload handlers
    /// stream the body and enforce their per-file limit themselves.
    pub max_upload_bytes: usize,
    /// When set (the hall listens on a non-loopback address), the sandbox pages that show
    /// other people's codes ask for this secret first ([`crate::sandbox_gate`]).
    pub sandbox_secret: Option<crate::sandbox_gate::SandboxSecret>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            brand: Brand::default(),
            secure_cookies: false,
            trust_proxy: false,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 10 * 1024 * 1024 + 64 * 1024,
            sandbox_secret: None,
        }
    }
}
