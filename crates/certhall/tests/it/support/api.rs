//! A cookie-keeping HTTP client for the JSON API and forms, as a browser would hold them.
#![allow(clippy::unwrap_used)]

use reqwest::Client;
use serde_json::Value;

/// A client with a cookie jar (redirects not followed) and the CSRF token the hall handed it
/// through `GET /api/v1/session`.
pub async fn session_client(base: &str) -> (Client, String) {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let v: Value = c
        .get(format!("{base}/api/v1/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = v["csrf_token"].as_str().unwrap().to_owned();
    (c, csrf)
}
