//! 证书新办 in a real browser: a new user registers, then goes from the home page through the
//! whole wizard (one 机构证书 and two 机构个人证书), is told about one bad field, uploads every
//! file, logs out half-way through the uploads, logs in again, finds the draft intact in
//! 个人中心 → 我的业务单, finishes and submits; the order is then 待认证.
//!
//! `CERTHALL_SCREENSHOTS=DIR` saves every step at a desktop (1280×900) and a phone (375×812)
//! size: `NN-step-desktop.png` / `NN-step-phone.png` show the first screen, and
//! `…-full.png` the whole page when it is taller than that. Without it nothing is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use certhall::testing::{Backend, TestHall};
use std::path::{Path, PathBuf};
use std::time::Instant;
use support::pages::{code_from_sandbox, id_number, select, type_in, upload, value_of};
use support::webdriver::{tempdir, Driver, Session};

const PHONE: &str = "13800138000";
const PASSWORD: &str = "Hall-2026pw";
const UNIT: &str = "深圳市某某科技有限公司";
const USCC: &str = "91110000600037341L";
const HANDLER_ID: &str = "11010519491231002X";
const HANDLER_PHONE: &str = "13612345678";

#[test]
fn id_numbers_are_generated_with_the_right_check_digit() {
    assert_eq!(id_number("110105", "19491231", "002"), HANDLER_ID);
}

/// The sizes every step is looked at: a desktop and a phone.
const SIZES: [(&str, u32, u32, bool); 2] =
    [("desktop", 1280, 900, false), ("phone", 375, 812, true)];

/// Saves every step at both sizes when `CERTHALL_SCREENSHOTS` names a directory.
struct Shots {
    dir: Option<PathBuf>,
    n: usize,
    taken: Vec<String>,
}

impl Shots {
    fn from_env() -> Shots {
        let dir = std::env::var_os("CERTHALL_SCREENSHOTS")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).unwrap();
        }
        Shots {
            dir,
            n: 0,
            taken: Vec::new(),
        }
    }

    /// Checks the page has `title` and shows `text`, then takes its pictures.
    async fn step(&mut self, b: &Session, name: &str, title: &str, text: &str) {
        let body = b.wait_text(text).await;
        let t = b.title().await;
        assert!(t.contains(title), "{name}: title {t:?} lacks {title:?}");
        assert!(
            !body.contains("服务暂时不可用") && !t.contains("页面不存在"),
            "{name}: {body}"
        );
        self.n += 1;
        let Some(dir) = self.dir.clone() else { return };
        for (size, w, h, mobile) in SIZES {
            b.set_viewport(w, h, mobile).await;
            let stem = format!("{:02}-{name}-{size}", self.n);
            let path = dir.join(format!("{stem}.png"));
            b.save_screenshot(&path).await;
            self.taken.push(path.display().to_string());
            let full = b.full_page_screenshot().await;
            if png_height(&full) > h + 8 {
                let path = dir.join(format!("{stem}-full.png"));
                std::fs::write(&path, full).unwrap();
                self.taken.push(path.display().to_string());
            }
        }
        let (_, w, h, mobile) = SIZES[0];
        b.set_viewport(w, h, mobile).await;
    }
}

fn png_height(png: &[u8]) -> u32 {
    assert!(png.starts_with(b"\x89PNG") && png.len() > 24, "not a PNG");
    u32::from_be_bytes([png[20], png[21], png[22], png[23]])
}

/// Small valid files to upload, in a directory of their own.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = tempdir("certhall-wizard-files");
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 160])
        })
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
        std::fs::write(dir.join("license.png"), png.into_inner()).unwrap();
        let mut jpg = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_fn(48, 64, |x, y| {
            image::Rgb([200, (x * 5) as u8, (y * 4) as u8])
        })
        .write_to(&mut jpg, image::ImageFormat::Jpeg)
        .unwrap();
        let jpg = jpg.into_inner();
        assert!(jpg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        std::fs::write(dir.join("id-wang.jpg"), &jpg).unwrap();
        std::fs::write(dir.join("id-zhao.jpg"), &jpg).unwrap();
        let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
        std::fs::write(dir.join("letter.pdf"), pdf).unwrap();
        std::fs::write(dir.join("seal-form.pdf"), pdf).unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        let p: &Path = &self.dir.join(name);
        p.canonicalize().unwrap().display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_completes_the_wizard_in_a_browser() {
    let started = Instant::now();
    let hall = TestHall::start(Backend::Sqlite).await;
    let driver = Driver::start().await;
    let b = driver.session(1280, 900).await;
    let base = hall.base.as_str();
    let mut shots = Shots::from_env();
    let files = Files::new();
    let legal_id = id_number("440304", "19700315", "031");
    let wang_id = id_number("440305", "19880608", "123");
    let zhao_id = id_number("110108", "19920229", "024");

    // A new user registers with phone, SMS code and password.
    b.goto(&format!("{base}/register")).await;
    b.fill("#phone", PHONE).await;
    b.click("button[name=action][value=send_code]").await;
    b.wait_text("验证码已发送").await;
    let code = code_from_sandbox(&hall, PHONE).await;
    b.fill("#code", &code).await;
    b.fill("#password", PASSWORD).await;
    b.fill("#password_confirm", PASSWORD).await;
    b.click("button[name=action][value=submit]:not(.default-submit)")
        .await;
    b.wait_path(base, "/account").await;
    shots
        .step(&b, "account-new", "个人中心", "暂无业务单")
        .await;

    // From the home page: 证书新办.
    b.click("header a.home-link").await;
    b.wait_path(base, "/").await;
    shots.step(&b, "home", "首页", "证书新办").await;
    b.click(".hero-actions a[href='/apply']").await;
    b.wait_path(base, "/apply").await;
    shots.step(&b, "apply", "证书新办", "办理前请准备").await;
    b.click("form[action='/apply'] button").await;

    // 电子认证服务协议: 下一步 without the box is refused; then ticked.
    let text = b.wait_text("我同意并接受《隐私保护》").await;
    let url = b.current_url().await;
    let no = url
        .strip_prefix(&format!("{base}/orders/"))
        .and_then(|r| r.strip_suffix("/agreement"))
        .unwrap_or_else(|| panic!("not the agreement page: {url}"))
        .to_owned();
    assert!(no.starts_with("XB"), "{no}");
    assert!(text.contains(&no), "the order number is shown: {text}");
    shots
        .step(
            &b,
            "agreement",
            "电子认证服务协议",
            "我同意并接受《隐私保护》",
        )
        .await;
    b.click("form[action$='/agreement'] button.btn").await;
    b.wait_text("请勾选“我同意并接受《隐私保护》”").await;
    shots
        .step(&b, "agreement-unticked", "电子认证服务协议", "请勾选")
        .await;
    b.click("input[name=agree]").await;
    b.click("form[action$='/agreement'] button.btn").await;
    b.wait_path(base, &format!("/orders/{no}/application"))
        .await;

    // 选择应用: the project, its guide, the platform, 已知悉.
    let text = b.wait_text("办理指南").await;
    assert!(
        text.contains("深圳市交易集团招投标平台 SM2")
            && text
                .contains("深圳市交易集团-支持阳光采购平台、深圳智慧政采电子招投标系统(新)等平台"),
        "{text}"
    );
    b.click("input[name=project][value='szjt-sm2']").await;
    b.click("input[name=option][value='szjt-platforms']").await;
    // 阅读办理指南,点击"已知悉": the button the guide names takes the applicant on.
    assert_eq!(b.text("#acknowledge").await.trim(), "已知悉");
    shots.step(&b, "application", "选择应用", "已知悉").await;
    b.click("#acknowledge").await;
    b.wait_path(base, &format!("/orders/{no}/data")).await;

    // 录入信息: one 机构证书 (2 years), two 机构个人证书 added with the page's own button.
    let text = b.wait_text("单位信息").await;
    for needle in [
        "证书类型",
        "法人信息",
        "经办人信息",
        "温馨提示: 请填写实名手机号码",
        "温馨提示: 此邮箱用于接收电子发票,请正确填写",
        "金融认证信息",
        "申请人信息",
        "邮寄信息",
        "电子发票信息",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    shots.step(&b, "data-empty", "录入信息", "单位信息").await;
    let org = b.try_find("input[name=org_cert]:checked").await;
    if org.is_none() {
        b.click("input[name=org_cert]").await;
    }
    select(&b, "org_years", "2").await;
    b.click("input[name=seal][value=yes]").await;
    let fields: Vec<(&str, String)> = vec![
        ("unit_name", UNIT.into()),
        ("credit_code", USCC.into()),
        ("unit_address", "广东省深圳市福田区深南大道1号".into()),
        ("legal_name", "李大明".into()),
        ("legal_id", legal_id.clone()),
        ("legal_phone", "13900139000".into()),
        ("handler_name", "张小明".into()),
        // One bad field first: the last digit of the handler's ID changed.
        ("handler_id", "110105194912310021".into()),
        ("handler_phone", HANDLER_PHONE.into()),
        ("handler_email", "zhangxm@example.com".into()),
        ("handler_title", "财务经理".into()),
        ("bank_account_name", UNIT.into()),
        ("bank_name", "中国工商银行深圳市分行".into()),
        ("bank_account", "44201500100052526093".into()),
        ("mail_recipient", "张小明".into()),
        ("mail_phone", HANDLER_PHONE.into()),
        ("mail_address", "广东省深圳市福田区深南大道1号".into()),
        ("invoice_title", UNIT.into()),
        ("invoice_tax_no", USCC.into()),
        ("invoice_email", "fapiao@example.com".into()),
    ];
    for (id, v) in &fields {
        type_in(&b, id, v).await;
    }
    // The add button re-shows the form: what was typed stays.
    b.click("button[name=action][value=add_person]").await;
    b.find("[id='persons.0.name']").await;
    assert_eq!(value_of(&b, "unit_name").await, UNIT);
    type_in(&b, "persons.0.name", "王一").await;
    type_in(&b, "persons.0.id_number", &wang_id).await;
    type_in(&b, "persons.0.phone", "13700137000").await;
    select(&b, "persons.0.years", "1").await;
    b.click("button[name=action][value=add_person]").await;
    b.find("[id='persons.1.name']").await;
    assert_eq!(value_of(&b, "persons.0.name").await, "王一");
    type_in(&b, "persons.1.name", "赵二").await;
    type_in(&b, "persons.1.id_number", &zhao_id).await;
    type_in(&b, "persons.1.phone", "13700137001").await;
    select(&b, "persons.1.years", "3").await;
    shots
        .step(&b, "data-filled", "录入信息", "机构个人证书 2")
        .await;

    // 保存并下一步 with the one bad field: its message beside it, everything typed kept.
    b.click("form.wizard-form button.btn[name=action][value=save]")
        .await;
    b.find("#handler_id[aria-invalid=true]").await;
    let msg = b.text("#handler_id ~ .field-error").await;
    assert_eq!(msg, "身份证号码校验位不正确,请逐位核对后重新输入");
    assert_eq!(
        b.count(".field-error").await,
        1,
        "only the one field is wrong"
    );
    assert!(b.body_text().await.contains("有1项信息需要修改"));
    for (id, v) in &fields {
        assert_eq!(&value_of(&b, id).await, v, "{id} was kept");
    }
    assert_eq!(value_of(&b, "persons.1.id_number").await, zhao_id);
    assert_eq!(value_of(&b, "persons.1.years").await, "3");
    assert_eq!(value_of(&b, "org_years").await, "2");
    assert!(b
        .try_find("input[name=seal][value=yes]:checked")
        .await
        .is_some());
    shots
        .step(&b, "data-error", "录入信息", "身份证号码校验位不正确")
        .await;
    type_in(&b, "handler_id", HANDLER_ID).await;
    b.click("form.wizard-form button.btn[name=action][value=save]")
        .await;
    b.wait_path(base, &format!("/orders/{no}/preview")).await;

    // 预览申请信息: masked, with the total: 2 × 500 + (1 + 3) × 300 + 200 = 2400 元.
    let text = b.wait_text("合计").await;
    assert!(text.contains("2400.00"), "{text}");
    assert!(
        text.contains(UNIT) && text.contains("王一") && text.contains("赵二"),
        "{text}"
    );
    assert!(!text.contains(HANDLER_ID) && !text.contains(HANDLER_PHONE));
    assert!(b.text("tr.total").await.contains("2400.00"));
    // The groups: 证书类型 first, each 申请人 numbered, value columns starting at one x.
    let heads = b
        .script("return [...document.querySelectorAll('section.card h2')].map(h => h.textContent)")
        .await;
    let heads: Vec<&str> = heads
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h.as_str())
        .collect();
    for h in ["证书类型", "申请人信息(1)", "申请人信息(2)"] {
        assert!(heads.contains(&h), "{h}: {heads:?}");
    }
    let xs = b
        .script("return [...new Set([...document.querySelectorAll('dl.kv dd')].map(d => Math.round(d.getBoundingClientRect().left)))]")
        .await;
    assert_eq!(
        xs.as_array().unwrap().len(),
        1,
        "value columns at one x: {xs}"
    );
    shots.step(&b, "preview", "预览申请信息", "合计").await;
    b.click("form[action$='/preview'] button.btn").await;
    b.wait_path(base, &format!("/orders/{no}/letter")).await;

    // 《单位授权委托书》: the data, the certificates and years, seal; the PDF link.
    let letter = b.text("article.letter").await;
    for needle in [
        "单位授权委托书",
        UNIT,
        USCC,
        "张小明",
        HANDLER_ID,
        HANDLER_PHONE,
        "证书类型:机构证书_2年",
        "证书类型:机构个人证书_1年",
        "证书类型:机构个人证书_3年",
        "是否办理电子印章:是",
        "具体负责以下办理事项",
        "授权期限",
        "委托单位(盖公章)",
        "经办人(签字)",
    ] {
        assert!(letter.contains(needle), "{needle}: {letter}");
    }
    b.find("button[data-print]").await;
    let pdf = reqwest::Client::new()
        .get(format!("{base}/orders/{no}/letter.pdf"))
        .header("cookie", b.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    b.find(&format!("a[href='/orders/{no}/letter.pdf']")).await;
    shots
        .step(&b, "letter", "单位授权委托书", "打印授权委托书")
        .await;
    b.click(&format!("a.btn[href='/orders/{no}/uploads']"))
        .await;
    b.wait_path(base, &format!("/orders/{no}/uploads")).await;

    // 上传资料: five files; two now, then log out.
    let text = b.wait_text("上传电子资料").await;
    for needle in [
        "授权委托书扫描件",
        "营业执照扫描件",
        "申请人身份证复印件(王一)",
        "申请人身份证复印件(赵二)",
        "《数字证书印模采集表》",
        "下载通用模版",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(b.count("li.upload").await, 5);
    shots.step(&b, "uploads-empty", "上传资料", "未上传").await;
    upload(&b, "letter", &files.path("letter.pdf"), 0).await;
    upload(&b, "license", &files.path("license.png"), 1).await;
    shots.step(&b, "uploads-two", "上传资料", "已上传").await;

    b.click("header form[action='/logout'] button").await;
    b.wait_path(base, "/").await;
    assert!(b.try_find("header form[action='/logout']").await.is_none());
    b.goto(&format!("{base}/orders/{no}/uploads")).await;
    assert!(
        b.current_url().await.starts_with(&format!("{base}/login?")),
        "logged out"
    );

    // Log in again with the password; 个人中心 → 我的业务单 → 继续办理.
    b.goto(&format!("{base}/login?tab=password")).await;
    b.fill("#account", PHONE).await;
    b.fill("#password", PASSWORD).await;
    b.click("button[name=action][value=submit]:not(.default-submit)")
        .await;
    b.find("header form[action='/logout']").await;
    b.click("header nav a[href='/account']").await;
    b.wait_path(base, "/account").await;
    let row = b.text("table.orders tbody tr").await;
    assert!(
        row.contains(&no) && row.contains(UNIT) && row.contains("草稿"),
        "{row}"
    );
    shots
        .step(&b, "account-draft", "个人中心", "继续办理")
        .await;
    b.click("table.orders a[href$='/uploads']").await;
    b.wait_path(base, &format!("/orders/{no}/uploads")).await;
    b.wait_text("上传电子资料").await;
    assert_eq!(
        b.count("li.upload .tag.good").await,
        2,
        "earlier uploads kept"
    );
    for kind in ["letter", "license"] {
        assert!(
            b.text(&format!("li.upload:has(form[action*='/uploads/{kind}?'])"))
                .await
                .contains("已上传"),
            "{kind}"
        );
    }
    shots
        .step(&b, "uploads-after-login", "上传资料", "已上传")
        .await;
    // The form data too: the letter shows it in full, the form has every field.
    b.click(&format!("a[href='/orders/{no}/letter']")).await;
    b.wait_path(base, &format!("/orders/{no}/letter")).await;
    let again = b.text("article.letter").await;
    assert_eq!(again, letter, "the letter is unchanged");
    b.goto(&format!("{base}/orders/{no}/data")).await;
    b.wait_text("单位信息").await;
    for (id, v) in &fields {
        let want = if *id == "handler_id" { HANDLER_ID } else { v };
        assert_eq!(value_of(&b, id).await, want, "{id} after logging in again");
    }
    assert_eq!(value_of(&b, "persons.0.id_number").await, wang_id);
    assert_eq!(value_of(&b, "persons.1.name").await, "赵二");
    assert_eq!(value_of(&b, "persons.1.years").await, "3");
    b.goto(&format!("{base}/orders/{no}/uploads")).await;

    // The rest of the files, then 下一步 (submit).
    upload(&b, "person_id_0", &files.path("id-wang.jpg"), 2).await;
    upload(&b, "person_id_1", &files.path("id-zhao.jpg"), 3).await;
    upload(&b, "seal_form", &files.path("seal-form.pdf"), 4).await;
    shots.step(&b, "uploads-done", "上传资料", "重新上传").await;
    b.click(&format!("form[action='/orders/{no}/submit'] button.btn"))
        .await;
    // After the uploads the PC shows the identity QR code straight away.
    b.wait_path(base, &format!("/orders/{no}/identity")).await;
    b.wait_text("经办人在线认证").await;
    shots
        .step(&b, "identity-qr", "经办人在线认证", "扫一扫")
        .await;
    b.goto(&format!("{base}/orders/{no}")).await;
    b.wait_path(base, &format!("/orders/{no}")).await;
    let text = b.wait_text("待认证").await;
    for needle in ["提交申请资料", "创建业务单", "保存申请信息"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    shots.step(&b, "order-submitted", "业务单", "待认证").await;
    b.click("header nav a[href='/account']").await;
    b.wait_path(base, "/account").await;
    let row = b.text("table.orders tbody tr").await;
    assert!(row.contains(&no) && row.contains("待认证"), "{row}");
    shots
        .step(&b, "account-submitted", "个人中心", "待认证")
        .await;

    b.close().await;
    eprintln!(
        "wizard in the browser: {:.1}s, {} steps",
        started.elapsed().as_secs_f64(),
        shots.n
    );
    if !shots.taken.is_empty() {
        eprintln!("screenshots:\n  {}", shots.taken.join("\n  "));
    }
}
