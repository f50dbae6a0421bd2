//! 证书新办 over real HTTP: the whole wizard through the pages, steps refused out of order,
//! other people's orders, field messages, bad uploads, and nothing personal in clear at rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use certhall::testing::{Backend, TestHall};
use reqwest::{multipart, StatusCode};
use serde_json::{json, Value};

use support::applicant::{
    new_order, png, submitted_order, to_uploads, valid_fields, Browser, HANDLER_PHONE, ID, PDF,
};

#[tokio::test]
async fn the_whole_wizard_through_the_pages() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::login(&hall, "13800138000").await;
    let no = new_order(&b).await;
    // Step 1: the box must be ticked.
    let (s, body) = b.get(&format!("/orders/{no}/agreement")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("我同意并接受《隐私保护》")
            && body.contains("选择应用")
            && body.contains("在线支付")
    );
    let (s, _, body) = b.form(&format!("/orders/{no}/agreement"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("请勾选“我同意并接受《隐私保护》”"), "{body}");
    let (s, _, _) = b
        .form(&format!("/orders/{no}/agreement"), &[("agree", "1")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Step 2: project, guide, 已知悉, sub-option.
    let (_, body) = b.get(&format!("/orders/{no}/application")).await;
    assert!(
        body.contains("深圳市交易集团招投标平台 SM2")
            && body.contains("办理指南")
            && body.contains("已知悉")
    );
    assert!(body.contains("深圳市交易集团-支持阳光采购平台、深圳智慧政采电子招投标系统(新)等平台"));
    let (s, _, body) = b
        .form(
            &format!("/orders/{no}/application"),
            &[("project", "szjt-sm2"), ("option", "szjt-platforms")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("已知悉"));
    b.form(
        &format!("/orders/{no}/application"),
        &[
            ("project", "szjt-sm2"),
            ("option", "szjt-platforms"),
            ("acknowledged", "1"),
        ],
    )
    .await;
    // Step 3: the form, its hints, person rows added and removed without script.
    let (_, body) = b.get(&format!("/orders/{no}/data")).await;
    for needle in [
        "温馨提示: 请填写实名手机号码",
        "温馨提示: 此邮箱用于接收电子发票,请正确填写",
        "单位信息",
        "法人信息",
        "经办人信息",
        "金融认证信息",
        "申请人信息",
        "邮寄信息",
        "电子发票信息",
        "<span class=\"req\">*</span>",
    ] {
        assert!(body.contains(needle), "{needle}");
    }
    let (s, _, body) = b
        .form(
            &format!("/orders/{no}/data"),
            &[("unit_name", "甲公司"), ("action", "add_person")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("persons.0.name") && body.contains("value=\"甲公司\""));
    let (_, _, body) = b
        .form(
            &format!("/orders/{no}/data"),
            &[
                ("persons.0.name", "王一"),
                ("persons.1.name", "赵二"),
                ("action", "remove:0"),
            ],
        )
        .await;
    assert!(body.contains("value=\"赵二\"") && !body.contains("value=\"王一\""));
    // Bad fields: each message beside its field, what was typed kept, nothing saved.
    let mut bad = valid_fields();
    for (k, v) in bad.iter_mut() {
        match *k {
            "handler_id" => *v = "11010519491231002Y",
            "credit_code" => *v = "91110000600037341M",
            "handler_phone" => *v = "1361234567",
            "unit_name" => *v = "深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深深公司",
            _ => {}
        }
    }
    let (s, _, body) = b.form(&format!("/orders/{no}/data"), &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("value=\"1361234567\"") && body.contains("value=\"91110000600037341M\""));
    assert_eq!(body.matches("class=\"field-error\"").count(), 4, "{body}");
    let (s, _) = b.get(&format!("/orders/{no}/preview")).await;
    assert_eq!(s, StatusCode::CONFLICT, "the invalid form was not saved");
    // A pasted USCC one character too long reaches the server whole (the browser's limit
    // is generous) and is refused for its length, not its check digit.
    assert!(
        body.contains("name=\"credit_code\" type=\"text\" maxlength=\"44\""),
        "{body}"
    );
    let mut long = valid_fields();
    for (k, v) in long.iter_mut() {
        if *k == "credit_code" {
            *v = " 911100006000373410L ";
        }
    }
    let (s, _, body) = b.form(&format!("/orders/{no}/data"), &long).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("统一社会信用代码应为18位,您填写了19位,请核对位数"),
        "{body}"
    );
    // Pasted with spaces, a lower-case x, full-width digits: stored in the normal form, so
    // the reopened form and the reviewer see the same characters.
    let mut pasted = valid_fields();
    for (k, v) in pasted.iter_mut() {
        match *k {
            "handler_id" => *v = " 11010519491231002x ",
            "legal_id" => *v = "１１０１０５１９４９１２３１００２ｘ",
            "persons.0.id_number" => *v = "110105 19491231 002x",
            "credit_code" => *v = "9111 0000 6000 3734 1l",
            "bank_account" => *v = "4420 1500 1000 5252 6093",
            "handler_phone" => *v = "+86 136-1234-5678",
            _ => {}
        }
    }
    let (s, loc, _) = b.form(&format!("/orders/{no}/data"), &pasted).await;
    assert_eq!(
        (s, loc),
        (StatusCode::SEE_OTHER, format!("/orders/{no}/preview"))
    );
    let stored = hall.order(&no).await.draft.form;
    for (name, want) in [
        ("handler_id", ID),
        ("legal_id", ID),
        ("persons.0.id_number", ID),
        ("credit_code", "91110000600037341L"),
        ("bank_account", "44201500100052526093"),
        ("handler_phone", HANDLER_PHONE),
    ] {
        assert_eq!(stored.get(name), want, "{name}");
    }
    let (_, body) = b.get(&format!("/orders/{no}/data")).await;
    assert!(body.contains(&format!("value=\"{ID}\"")) && !body.contains("002x"));
    let (s, loc, _) = b.form(&format!("/orders/{no}/data"), &valid_fields()).await;
    assert_eq!(
        (s, loc),
        (StatusCode::SEE_OTHER, format!("/orders/{no}/preview"))
    );
    // Step 4: preview with the total, masked; then the letter.
    let (s, body) = b.get(&format!("/orders/{no}/preview")).await;
    assert_eq!(s, StatusCode::OK);
    // 2 × 500 + (1 + 3) × 300 + 200 = 2400 元.
    assert!(body.contains("2400.00"), "{body}");
    assert!(!body.contains(ID) && !body.contains(HANDLER_PHONE));
    let (s, _) = b.get(&format!("/orders/{no}/letter")).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the letter comes after the preview is confirmed"
    );
    b.form(&format!("/orders/{no}/preview"), &[]).await;
    let (s, body) = b.get(&format!("/orders/{no}/letter")).await;
    assert_eq!(s, StatusCode::OK);
    for needle in [
        "单位授权委托书",
        "深圳市某某科技有限公司",
        "91110000600037341L",
        "张小明",
        ID,
        HANDLER_PHONE,
        "zhangsan@qq.com",
        "机构证书_2年",
        "机构个人证书_1年",
        "机构个人证书_3年",
        "是否办理电子印章:是",
        "具体负责以下办理事项",
        "签署服务协议",
        "授权期限",
        "委托单位(盖公章)",
        "经办人(签字)",
        "打印授权委托书",
        "data-print",
    ] {
        assert!(body.contains(needle), "{needle}");
    }
    let r =
        b.c.get(format!("{}/orders/{no}/letter.pdf", b.base))
            .send()
            .await
            .unwrap();
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    // The CJK font is embedded (a subset), not left to the reader.
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.windows(16).any(|w| w == b"/FontFile2 8 0 R"));
    assert!(!pdf.windows(12).any(|w| w == b"STSong-Light"));
    // Step 5: uploads, a replacement, preview, submission.
    let (s, body) = b.get(&format!("/orders/{no}/uploads")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("申请人身份证复印件(王一)")
            && body.contains("申请人身份证复印件(赵二)")
            && body.contains("/templates/seal-form.pdf")
    );
    let (s, _, body) = b.form(&format!("/orders/{no}/submit"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("请上传授权委托书扫描件"));
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
    // A 9 MB scan is fine (the per-file limit is 10 MB, not the framework's default 2 MB).
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(9 * 1024 * 1024, b' ');
    big.extend_from_slice(b"\n%%EOF\n");
    let (s, body) = b.upload(&no, "license", "license.pdf", big).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, _) = b.upload(&no, "letter", "letter.pdf", PDF.to_vec()).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r =
        b.c.get(format!("{}/orders/{no}/uploads/letter", b.base))
            .send()
            .await
            .unwrap();
    assert_eq!(r.headers()["content-type"], "application/pdf");
    // An uploaded file is a sandboxed document: it can never run script in the hall's origin.
    let csp: Vec<_> = r
        .headers()
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        csp.len(),
        1,
        "one policy, not the pages' one as well: {csp:?}"
    );
    assert!(
        csp[0].starts_with("sandbox; default-src 'none'") && !csp[0].contains("script-src"),
        "{csp:?}"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        r.headers()["content-disposition"],
        "inline; filename=\"letter.pdf\""
    );
    assert_eq!(&r.bytes().await.unwrap()[..], PDF);
    let r =
        b.c.get(format!("{}/orders/{no}/uploads/person_id_0", b.base))
            .send()
            .await
            .unwrap();
    assert_eq!(
        (
            r.headers()["content-type"].to_str().unwrap(),
            r.headers()["content-disposition"].to_str().unwrap(),
            r.headers()
                .get_all("content-security-policy")
                .iter()
                .count()
        ),
        ("image/png", "inline; filename=\"person_id_0.png\"", 1)
    );
    // Pages keep their own policy.
    let r =
        b.c.get(format!("{}/orders/{no}", b.base))
            .send()
            .await
            .unwrap();
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'self'"));
    let (s, body) = b.get("/templates/seal-form.pdf").await;
    assert!(s == StatusCode::OK && body.starts_with("%PDF"));
    let (s, loc, _) = b.form(&format!("/orders/{no}/submit"), &[]).await;
    assert_eq!(
        (s, loc),
        (StatusCode::SEE_OTHER, format!("/orders/{no}/identity")),
        "after the uploads the PC shows the identity QR code"
    );
    let (s, body) = b.get(&format!("/orders/{no}/identity")).await;
    assert!(
        s == StatusCode::OK && body.contains("经办人在线认证"),
        "{body}"
    );
    let (_, body) = b.get(&format!("/orders/{no}")).await;
    for needle in [
        "待认证",
        "创建业务单",
        "同意《电子认证服务协议》(版本 2026.1)",
        "保存申请信息",
        "替换授权委托书扫描件",
        "提交申请资料",
    ] {
        assert!(body.contains(needle), "{needle}: {body}");
    }
    // Uploads read as type and size; the SHA-256 (the evidence) is kept whole in the event
    // and shown in a small muted span.
    let o = hall.order(&no).await;
    let letter = &o.draft.uploads["letter"];
    assert_eq!(letter.size, PDF.len() as u64);
    let size = format!("{}B", PDF.len());
    let (_, events) = hall
        .app
        .wizard()
        .order_history(o.user_id, &no)
        .await
        .unwrap();
    let what = format!(
        "替换授权委托书扫描件(PDF文件,{size},SHA-256 {})",
        letter.sha256
    );
    assert!(events.iter().any(|e| e.what == what), "{what}");
    let line = format!(
        "替换授权委托书扫描件 · PDF文件 · {size} <span class=\"muted hash\" title=\"SHA-256 {}\">SHA-256 {}…</span>",
        letter.sha256,
        &letter.sha256[..16]
    );
    assert!(body.contains(&line), "{line}: {body}");
    assert!(body.contains("上传营业执照扫描件 · PNG图片 · "), "{body}");
    assert!(!body.contains("(SHA-256"), "{body}");
    // No more changes once submitted.
    let (s, _) = b.upload(&no, "letter", "a.png", png(4, 4)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, body) = b.get("/account").await;
    assert!(
        body.contains(&no) && body.contains("待认证") && body.contains("深圳市某某科技有限公司")
    );

    // Nothing personal in clear: the SQLite file (with its WAL) and the blob directory.
    support::applicant::assert_nothing_in_clear(
        &hall,
        &[ID, HANDLER_PHONE, "44201500100052526093"],
    );
}

#[tokio::test]
async fn skipped_steps_are_refused_and_change_nothing() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::login(&hall, "13800138000").await;
    let no = new_order(&b).await;
    let (s, _, body) = b.form(&format!("/orders/{no}/data"), &valid_fields()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("请先阅读并同意电子认证服务协议"), "{body}");
    for path in ["application", "data", "preview", "letter", "uploads"] {
        let (s, body) = b.get(&format!("/orders/{no}/{path}")).await;
        assert_eq!(s, StatusCode::CONFLICT, "{path}");
        assert!(body.contains("请先阅读并同意电子认证服务协议"));
    }
    let (s, _) = b.upload(&no, "letter", "a.png", png(4, 4)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    b.form(&format!("/orders/{no}/agreement"), &[("agree", "1")])
        .await;
    let (s, _, body) = b.form(&format!("/orders/{no}/preview"), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("请先完成“选择应用”"));
    let o = hall.app.wizard().my_order(1, &no).await.unwrap();
    assert_eq!(o.draft.progress, 1);
    assert!(o.draft.uploads.is_empty() && o.draft.project.is_none());
}

#[tokio::test]
async fn another_users_order_is_not_found_like_a_missing_one() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let a = Browser::login(&hall, "13800138000").await;
    let no = new_order(&a).await;
    let b = Browser::login(&hall, "13900139000").await;
    let (missing_status, missing_body) = b.get("/orders/XB20261123999999").await;
    assert_eq!(missing_status, StatusCode::NOT_FOUND);
    let (s, body) = b.get(&format!("/orders/{no}")).await;
    assert_eq!((s, body), (missing_status, missing_body));
    for path in [
        "agreement",
        "data",
        "letter",
        "uploads/letter",
        "letter.pdf",
    ] {
        assert_eq!(
            b.get(&format!("/orders/{no}/{path}")).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (s, _, _) = b
        .form(&format!("/orders/{no}/agreement"), &[("agree", "1")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = b.form(&format!("/orders/{no}/cancel"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b.get("/orders/..%2F..%2Fetc").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, body) = b.get("/account").await;
    assert!(!body.contains(&no));
    assert_eq!(
        hall.app
            .wizard()
            .my_order(1, &no)
            .await
            .unwrap()
            .draft
            .progress,
        0
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_in_chinese_and_change_nothing() {
    let hall = TestHall::start(Backend::Postgres).await;
    let b = Browser::login(&hall, "13800138000").await;
    let no = new_order(&b).await;
    to_uploads(&b, &no).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.png", Vec::new(), "文件为空"),
        (
            "scan.jpg",
            PDF.to_vec(),
            "文件扩展名(.jpg)与文件内容(PDF)不符",
        ),
        ("../../etc/passwd.png", png(4, 4), "文件名不能包含路径"),
        (
            "notes.png",
            b"hello, not an image".to_vec(),
            "文件格式不支持",
        ),
        ("huge.png", huge_png(), "图片尺寸过大(30000×30000像素)"),
        (
            "broken.png",
            png(8, 8)[..60].to_vec(),
            "图片无法识别或已损坏",
        ),
    ];
    for (name, bytes, msg) in cases {
        let (s, body) = b.upload(&no, "license", name, bytes).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}");
        assert!(body.contains(msg), "{name}: {body}");
    }
    let (s, _) = b.upload(&no, "../x", "a.png", png(4, 4)).await;
    assert_ne!(s, StatusCode::SEE_OTHER);
    // 50 MB announced by Content-Length: refused at the edge before reading.
    let (s, body) = b
        .upload(&no, "license", "big.pdf", vec![b'%'; 50 * 1024 * 1024])
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("超过"), "{body}");
    // 50 MB streamed without a length: the handler stops reading at the per-file limit.
    let chunk = vec![0u8; 1024 * 1024];
    let stream = futures_util::stream::iter((0..52).map(move |i| {
        let mut part = Vec::new();
        if i == 0 {
            part.extend_from_slice(b"--XBOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n");
        }
        if i < 51 {
            part.extend_from_slice(&chunk);
        } else {
            part.extend_from_slice(b"\r\n--XBOUNDARY--\r\n");
        }
        Ok::<_, std::io::Error>(part)
    }));
    let r =
        b.c.post(format!(
            "{}/orders/{no}/uploads/license?_csrf={}",
            b.base, b.csrf
        ))
        .header("content-type", "multipart/form-data; boundary=XBOUNDARY")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    // (A server may also close the connection once it has refused; either way nothing is kept.)
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("文件大小不能超过10MB"));
    }
    let o = hall.app.wizard().my_order(1, &no).await.unwrap();
    assert!(o.draft.uploads.is_empty(), "nothing was stored");
    assert_eq!(o.draft.progress, 4);
}

fn huge_png() -> Vec<u8> {
    let mut p = png(1, 1);
    p[16..20].copy_from_slice(&30000u32.to_be_bytes());
    p[20..24].copy_from_slice(&30000u32.to_be_bytes());
    let mut c = 0xFFFF_FFFFu32;
    for b in &p[12..29] {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    p[29..33].copy_from_slice(&(!c).to_be_bytes());
    p
}

#[tokio::test]
async fn the_api_follows_the_same_rules() {
    let hall = TestHall::start(Backend::Postgres).await;
    let b = Browser::login(&hall, "13800138000").await;
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut r =
            b.c.request(method, format!("{}{path}", b.base))
                .header("x-csrf-token", &b.csrf);
        if let Some(v) = body {
            r = r.json(&v);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method;
    let (s, v) = call(Method::GET, "/api/v1/catalogue".into(), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["projects"][0]["name"], "深圳市交易集团招投标平台 SM2");
    let (s, v) = call(Method::POST, "/api/v1/orders".into(), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let no = v["order_no"].as_str().unwrap().to_owned();
    let form: Value = {
        let mut m = serde_json::Map::new();
        let mut persons = vec![json!({}), json!({})];
        for (k, val) in valid_fields() {
            if let Some(rest) = k.strip_prefix("persons.") {
                let (i, f) = rest.split_once('.').unwrap();
                persons[i.parse::<usize>().unwrap()][f] = json!(val);
            } else if k == "org_cert" {
                m.insert(k.into(), json!(true));
            } else if k != "action" {
                m.insert(k.into(), json!(val));
            }
        }
        m.insert("persons".into(), json!(persons));
        Value::Object(m)
    };
    let (s, v) = call(
        Method::PUT,
        format!("/api/v1/orders/{no}/data"),
        Some(form.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["message"], "请先阅读并同意电子认证服务协议");
    let (s, v) = call(
        Method::POST,
        format!("/api/v1/orders/{no}/agreement"),
        Some(json!({"agree": false})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    call(
        Method::POST,
        format!("/api/v1/orders/{no}/agreement"),
        Some(json!({"agree": true})),
    )
    .await;
    let (s, _) = call(
        Method::POST,
        format!("/api/v1/orders/{no}/application"),
        Some(json!({"project": "szjt-sm2", "option": "szjt-platforms", "acknowledged": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut bad = form.clone();
    bad["handler_id"] = json!("110105491231002");
    bad["invoice_email"] = json!("not-an-email");
    bad["persons"][1]["years"] = json!("6");
    let (s, v) = call(Method::PUT, format!("/api/v1/orders/{no}/data"), Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let fields = v["error"]["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 3, "{v}");
    assert!(
        fields["handler_id"].as_str().unwrap().contains("15位"),
        "{v}"
    );
    assert_eq!(fields["persons.1.years"], "请选择办理年限(1-5年)");
    let (s, _) = call(Method::PUT, format!("/api/v1/orders/{no}/data"), Some(form)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(Method::POST, format!("/api/v1/orders/{no}/preview"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(Method::GET, format!("/api/v1/orders/{no}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["price"]["total_fen"], 240000);
    assert_eq!(v["form"]["handler_id"], ID);
    for kind in [
        "letter",
        "license",
        "person_id_0",
        "person_id_1",
        "seal_form",
    ] {
        let r =
            b.c.post(format!("{}/api/v1/orders/{no}/uploads/{kind}", b.base))
                .header("x-csrf-token", &b.csrf)
                .multipart(multipart::Form::new().part(
                    "file",
                    multipart::Part::bytes(PDF.to_vec()).file_name("a.pdf"),
                ))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{kind}");
    }
    let other = Browser::login(&hall, "13900139000").await;
    for path in [
        format!("/api/v1/orders/{no}"),
        "/api/v1/orders/XB20261123999999".into(),
    ] {
        let r = other
            .c
            .get(format!("{}{path}", other.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }
    let (s, v) = call(Method::POST, format!("/api/v1/orders/{no}/submit"), None).await;
    assert_eq!(
        (s, v["state_label"].as_str(), v["next"].as_str()),
        (
            StatusCode::OK,
            Some("待认证"),
            Some(&*format!("/orders/{no}/identity"))
        )
    );
    let (_, v) = call(Method::GET, "/api/v1/orders".into(), None).await;
    assert_eq!(v["orders"][0]["state"], "pending_verification");
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", hall.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/v1/orders",
        "/api/v1/orders/{no}/data",
        "/api/v1/orders/{no}/uploads/{kind}",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }
}

#[tokio::test]
async fn staff_read_the_catalogue() {
    use app::clock::Clock;
    let hall = TestHall::start(Backend::Sqlite).await;
    let c = hall
        .app
        .admin()
        .create_staff(
            app::authz::Operator::Cli,
            "reviewer1",
            "",
            app::model::Role::Reviewer,
        )
        .await
        .unwrap();
    let b = Browser::new(&hall).await;
    let totp = app::secrets::totp_now(&c.staff.totp_secret, hall.clock.now());
    let (s, _, _) = b
        .form(
            "/staff/login",
            &[
                ("username", "reviewer1"),
                ("password", &c.password),
                ("totp", &totp),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, body) = b.get("/staff/catalogue").await;
    assert_eq!(s, StatusCode::OK);
    for needle in [
        "深圳市交易集团招投标平台 SM2",
        "500.00",
        "300.00",
        "200.00",
        "版本 2026.1",
        "办理指南",
    ] {
        assert!(body.contains(needle), "{needle}");
    }
    let anon = Browser::new(&hall).await;
    assert_eq!(anon.get("/staff/catalogue").await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_draft_survives_logout_and_another_browser() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let b = Browser::login(&hall, "13800138000").await;
    let no = new_order(&b).await;
    b.form(&format!("/orders/{no}/agreement"), &[("agree", "1")])
        .await;
    b.form(
        &format!("/orders/{no}/application"),
        &[
            ("project", "szjt-sm2"),
            ("option", "szjt-platforms"),
            ("acknowledged", "1"),
        ],
    )
    .await;
    let (s, _, _) = b.form(&format!("/orders/{no}/data"), &valid_fields()).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = b.form("/logout", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        b.get(&format!("/orders/{no}/data")).await.0,
        StatusCode::SEE_OTHER,
        "logged out"
    );
    // Another browser, same account (a minute later: the SMS cool-down): the order is listed
    // and continues at the preview.
    hall.clock.advance(61_000);
    let other = Browser::login(&hall, "13800138000").await;
    let (_, body) = other.get("/account").await;
    assert!(body.contains(&format!("/orders/{no}/preview")), "{body}");
    let (s, body) = other.get(&format!("/orders/{no}/data")).await;
    assert_eq!(s, StatusCode::OK);
    for v in [
        "value=\"深圳市某某科技有限公司\"",
        "value=\"赵二\"",
        &format!("value=\"{HANDLER_PHONE}\""),
    ] {
        assert!(body.contains(v), "{v}");
    }
    // /apply does not pile up a new empty order for each visit.
    let a = new_order(&other).await;
    assert_eq!(new_order(&other).await, a);
    assert_ne!(a, no);
}

/// The `<tr>` of 我的业务单 (or 未完成的业务单) that holds order `no`.
fn row_of<'a>(body: &'a str, no: &str) -> &'a str {
    body.split("<tr")
        .find(|r| r.contains(&format!(">{no}<")))
        .unwrap_or_else(|| panic!("no row for {no}: {body}"))
}

#[tokio::test]
async fn the_order_list_says_which_step_a_draft_is_at() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, submitted) = submitted_order(&hall, "13800138011").await;
    let no = new_order(&b).await;
    let (_, body) = b.get("/account").await;
    let row = row_of(&body, &no);
    assert!(
        row.contains("草稿 · 第1步 电子认证服务协议")
            && row.contains(&format!("href=\"/orders/{no}/agreement\">继续办理")),
        "{row}"
    );
    b.form(&format!("/orders/{no}/agreement"), &[("agree", "1")])
        .await;
    b.form(
        &format!("/orders/{no}/application"),
        &[
            ("project", "szjt-sm2"),
            ("option", "szjt-platforms"),
            ("acknowledged", "1"),
        ],
    )
    .await;
    let (_, body) = b.get("/account").await;
    let row = row_of(&body, &no);
    assert!(
        row.contains("草稿 · 第3步 录入信息")
            && row.contains(&format!("href=\"/orders/{no}/data\">继续办理")),
        "{row}"
    );
    // Other states show their label, and no 继续办理.
    let row = row_of(&body, &submitted);
    assert!(
        row.contains("<span class=\"tag\">待认证</span>") && !row.contains("继续办理"),
        "{row}"
    );
    // 证书新办 lists the same unfinished draft with its step.
    let (_, body) = b.get("/apply").await;
    assert!(
        row_of(&body, &no).contains("草稿 · 第3步 录入信息"),
        "{body}"
    );
    assert!(!body.contains(&submitted));
}
