//! The applicant's side, over real HTTP as a browser holds it: log in by SMS code, walk the
//! wizard, upload, submit. Shared by every suite that needs an order in some state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use certhall::testing::TestHall;
use reqwest::{multipart, Client, StatusCode};
use serde_json::json;

pub const ID: &str = "11010519491231002X";
pub const HANDLER_PHONE: &str = "13612345678";

pub struct Browser {
    pub c: Client,
    pub base: String,
    pub csrf: String,
}

impl Browser {
    pub async fn new(hall: &TestHall) -> Self {
        let (c, csrf) = super::api::session_client(&hall.base).await;
        Self {
            c,
            base: hall.base.clone(),
            csrf,
        }
    }
    pub async fn login(hall: &TestHall, phone: &str) -> Self {
        let b = Self::new(hall).await;
        let r =
            b.c.post(format!("{}/api/v1/auth/code", b.base))
                .header("x-csrf-token", &b.csrf)
                .json(&json!({"phone": phone, "purpose": "login"}))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let code = hall.last_code(phone).await;
        let r =
            b.c.post(format!("{}/api/v1/auth/login/code", b.base))
                .header("x-csrf-token", &b.csrf)
                .json(&json!({"phone": phone, "code": code}))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        b
    }
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
    /// Posts a form; returns status, Location and body.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        f.push(("_csrf", &self.csrf));
        let r = self
            .c
            .post(format!("{}{path}", self.base))
            .form(&f)
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
    pub async fn upload(
        &self,
        no: &str,
        kind: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, String) {
        let part = multipart::Part::bytes(bytes).file_name(name.to_owned());
        let r = self
            .c
            .post(format!(
                "{}/orders/{no}/uploads/{kind}?_csrf={}",
                self.base, self.csrf
            ))
            .multipart(multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

pub fn valid_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("org_cert", "1"),
        ("org_years", "2"),
        ("seal", "yes"),
        ("unit_name", "深圳市某某科技有限公司"),
        ("credit_code", "91110000600037341L"),
        ("unit_address", "广东省深圳市福田区深南大道1号"),
        ("legal_name", "李大明"),
        ("legal_id", ID),
        ("legal_phone", "13900139000"),
        ("handler_name", "张小明"),
        ("handler_id", ID),
        ("handler_phone", HANDLER_PHONE),
        ("handler_email", "zhangsan@qq.com"),
        ("handler_title", "财务经理"),
        ("bank_account_name", "深圳市某某科技有限公司"),
        ("bank_name", "中国工商银行深圳市分行"),
        ("bank_account", "44201500100052526093"),
        ("persons.0.name", "王一"),
        ("persons.0.id_number", ID),
        ("persons.0.phone", "13700137000"),
        ("persons.0.years", "1"),
        ("persons.1.name", "赵二"),
        ("persons.1.id_number", ID),
        ("persons.1.phone", "13700137001"),
        ("persons.1.years", "3"),
        ("mail_recipient", "张小明"),
        ("mail_phone", HANDLER_PHONE),
        ("mail_address", "广东省深圳市福田区深南大道1号"),
        ("invoice_title", "深圳市某某科技有限公司"),
        ("invoice_tax_no", "91110000600037341L"),
        ("invoice_email", "zhangsan@qq.com"),
        ("action", "save"),
    ]
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::new(w, h);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// Opens an order; returns its number.
pub async fn new_order(b: &Browser) -> String {
    let (s, loc, _) = b.form("/apply", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let no = loc
        .strip_prefix("/orders/")
        .and_then(|r| r.strip_suffix("/agreement"))
        .unwrap();
    assert!(no.starts_with("XB20261123"), "{no}");
    no.to_owned()
}

/// Brings an order to the uploads step.
pub async fn to_uploads(b: &Browser, no: &str) {
    let (s, loc, _) = b
        .form(&format!("/orders/{no}/agreement"), &[("agree", "1")])
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, &*format!("/orders/{no}/application"))
    );
    let (s, loc, _) = b
        .form(
            &format!("/orders/{no}/application"),
            &[
                ("project", "szjt-sm2"),
                ("option", "szjt-platforms"),
                ("acknowledged", "1"),
            ],
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, &*format!("/orders/{no}/data"))
    );
    let (s, loc, body) = b.form(&format!("/orders/{no}/data"), &valid_fields()).await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, &*format!("/orders/{no}/preview")),
        "{body}"
    );
    let (s, loc, _) = b.form(&format!("/orders/{no}/preview"), &[]).await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, &*format!("/orders/{no}/letter"))
    );
}

/// Logs `phone` in, walks the wizard with [`valid_fields`] (one 机构证书, two 机构个人证书,
/// a seal), uploads every file and submits: the order is 待认证. Returns the browser and the
/// order number.
pub async fn submitted_order(hall: &TestHall, phone: &str) -> (Browser, String) {
    let b = Browser::login(hall, phone).await;
    let no = new_order(&b).await;
    to_uploads(&b, &no).await;
    for kind in [
        "letter",
        "license",
        "person_id_0",
        "person_id_1",
        "seal_form",
    ] {
        let (s, body) = b.upload(&no, kind, "scan.png", png(40, 30)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{kind}: {body}");
    }
    let (s, loc, body) = b.form(&format!("/orders/{no}/submit"), &[]).await;
    assert_eq!(
        (s, loc),
        (StatusCode::SEE_OTHER, format!("/orders/{no}/identity")),
        "submitting goes straight to the identity QR page: {body}"
    );
    (b, no)
}

/// The random code of the newest micro-deposit to `no`'s corporate account, as the unit's
/// finance would read it in the transfer memo (the sandbox payouts statement).
pub async fn deposit_code(hall: &TestHall, no: &str) -> String {
    let memo = hall
        .app
        .sandbox()
        .payouts()
        .await
        .unwrap()
        .into_iter()
        // Newest first.
        .find(|d| d.order_no == no)
        .expect("a micro-deposit to the declared account")
        .memo;
    memo[memo.len() - 6..].to_owned()
}

/// From 待支付: pays online in the sandbox gateway and enters the micro-deposit code, so
/// the order is paid, 金融认证 passed and 待审核.
pub async fn pay_online_and_verify(hall: &TestHall, b: &Browser, no: &str) {
    let (s, loc, body) = b
        .form(
            &format!("/orders/{no}/payment/online"),
            &[("gateway", "sandbox")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(b.form(&loc, &[]).await.0, StatusCode::SEE_OTHER);
    let code = deposit_code(hall, no).await;
    let (s, _, body) = b
        .form(&format!("/orders/{no}/payment/code"), &[("code", &code)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// None of `needles` is stored in clear: not in the SQLite file, its WAL, or any stored
/// (sealed) file of the blob directory.
pub fn assert_nothing_in_clear(hall: &TestHall, needles: &[&str]) {
    let path = hall
        .db_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut files = vec![
        std::path::PathBuf::from(&path),
        format!("{path}-wal").into(),
    ];
    files.extend(walk(&hall.blob_dir));
    assert!(files.len() > 3, "the database and some stored files");
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for needle in needles {
            let n = needle.as_bytes();
            assert!(
                !bytes.windows(n.len()).any(|w| w == n),
                "{} holds {needle}",
                f.display()
            );
        }
    }
}
