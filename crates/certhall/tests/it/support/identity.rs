//! 经办人在线认证 walked over HTTP the way the handler's phone does it (sandbox provider):
//! for tests of the other issues that need a real identity result (review page, photos).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::applicant::{png, Browser};
use certhall::testing::TestHall;
use reqwest::{multipart, Client, StatusCode};

async fn get(c: &Client, url: &str) -> (StatusCode, String, String) {
    let r = c.get(url).send().await.unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), loc, r.text().await.unwrap())
}

/// The applicant `b` opens the QR page of `no` (待认证); a phone opens the link, uploads both
/// ID photos and passes the sandbox 活体认证: the order is 待支付 afterwards.
pub async fn verify_identity(hall: &TestHall, b: &Browser, no: &str) {
    let (s, page) = b.get(&format!("/orders/{no}/identity")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let at = page.find("id=\"idv-link\"").expect("link on the page");
    let rest = &page[at..];
    let h = rest.find("href=\"").unwrap() + 6;
    let end = rest[h..].find('"').unwrap();
    let link = rest[h..h + end]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&");
    let phone = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &hall.base;
    let (s, loc, body) = get(&phone, &link).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, _, page) = get(&phone, &format!("{base}{loc}")).await;
    let at = page.find("?_csrf=").expect("csrf in page") + 7;
    let csrf = page[at..at + 64].to_owned();
    for side in ["front", "back"] {
        let form = multipart::Form::new().part(
            "file",
            multipart::Part::bytes(png(64, 40)).file_name("id.png"),
        );
        let r = phone
            .post(format!("{base}/m/identity/{no}/photos/{side}?_csrf={csrf}"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{side}");
    }
    let r = phone
        .post(format!("{base}/m/identity/{no}/liveness"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let token = loc
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let (s, _, page) = get(
        &phone,
        &format!("{base}/m/identity/{no}/liveness/done?token={token}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("认证通过"), "{page}");
}
