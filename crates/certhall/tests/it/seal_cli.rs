//! `certhall seal …` through the binary: the seal-maker key made by the hall's CA, a unit's
//! seal made for its 机构证书, `seal verify` printing every step (exit 0), and altered seals
//! and signatures refused with the failing step named (non-zero exit).

use std::path::Path;
use std::process::{Command, Output};

const PASS: &str = "test-passphrase-123";

fn certhall(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certhall"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env("CERTHALL_CA_PASSPHRASE", PASS)
        .env("CERTHALL_LOG", "warn")
        .env_remove("CERTHALL_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A red ring on transparency: a seal picture (also used by the revocation suite).
pub(crate) fn red_ring_png() -> Vec<u8> {
    let mut img = image::RgbaImage::new(100, 100);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let d = ((x as f32 - 50.0).powi(2) + (y as f32 - 50.0).powi(2)).sqrt();
        *p = image::Rgba([
            0xD4,
            0x12,
            0x1A,
            if (40.0..46.0).contains(&d) { 255 } else { 0 },
        ]);
    }
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn seal_make_and_verify_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = certhall(
        &data,
        &[
            "ca",
            "init",
            "--org",
            "测试CA",
            "--policy-oid",
            "1.3.6.1.4.1.32473.7.1",
            "--cps-uri",
            "http://127.0.0.1/cps",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = certhall(&data, &["seal", "maker-init"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = certhall(&data, &["seal", "maker-init"]);
    assert!(
        !o.status.success() && text(&o).contains("refusing"),
        "{}",
        text(&o)
    );

    // The unit's 机构证书, from a key the test holds (it signs documents below).
    let unit_key = pki::keys::generate();
    let csr = pki::csr::make_csr(
        &unit_key,
        pki::names::build_name(&[(pki::oid::AT_CN, "x")]).unwrap(),
    )
    .unwrap();
    let csr_path = dir.path().join("u.csr");
    std::fs::write(
        &csr_path,
        pki::issue::pem_encode("CERTIFICATE REQUEST", &csr),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = certhall(
        &data,
        &[
            "ca",
            "issue",
            "--csr",
            csr_path.to_str().unwrap(),
            "--profile",
            "org",
            "--years",
            "1",
            "--org",
            "深圳市某某有限公司",
            "--uscc",
            "91350100M000100Y43",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let pic = dir.path().join("seal.png");
    std::fs::write(&pic, red_ring_png()).unwrap();
    let seal_path = dir.path().join("unit.seal");
    for edition in ["2020", "2014", "2025"] {
        let o = certhall(
            &data,
            &[
                "seal",
                "make",
                "--name",
                "深圳市某某有限公司",
                "--cert",
                out.join("cert.pem").to_str().unwrap(),
                "--picture",
                pic.to_str().unwrap(),
                "--edition",
                edition,
                "--out",
                seal_path.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let o = certhall(&data, &["seal", "verify", seal_path.to_str().unwrap()]);
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        for step in [
            "印章结构:通过",
            "印章签名值:通过",
            "制章人证书:通过",
            "印章有效期:通过",
            "印章图片:通过",
            "结论:有效",
        ] {
            assert!(t.contains(step), "{edition}: {step} missing in {t}");
        }

        // A signature made with the unit's key over a document.
        let seal_der = std::fs::read(&seal_path).unwrap();
        let unit_pem = std::fs::read(out.join("cert.pem")).unwrap();
        let unit_cert = seal::verify::cert_der(&unit_pem).unwrap();
        let signer = pki::KeySigner::new(&unit_key).unwrap();
        let doc = dir.path().join("bid.pdf");
        std::fs::write(&doc, "投标文件").unwrap();
        let sig = seal::sign::sign_document(
            &seal_der,
            &signer,
            &unit_cert,
            "投标文件".as_bytes(),
            "bid.pdf",
            std::time::SystemTime::now(),
        )
        .unwrap();
        let sig_path = dir.path().join("bid.sig");
        std::fs::write(&sig_path, &sig).unwrap();
        let o = certhall(
            &data,
            &[
                "seal",
                "verify",
                sig_path.to_str().unwrap(),
                "--document",
                doc.to_str().unwrap(),
            ],
        );
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        for step in [
            "签章签名值:通过",
            "签章者证书与印章匹配:通过",
            "原文杂凑值:通过",
            "结论:有效",
        ] {
            assert!(t.contains(step), "{edition}: {step} missing in {t}");
        }

        // Altered: the seal's signature, the signature's, the document.
        let mut bad = seal_der.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        let bad_path = dir.path().join("bad.seal");
        std::fs::write(&bad_path, &bad).unwrap();
        let o = certhall(&data, &["seal", "verify", bad_path.to_str().unwrap()]);
        assert!(
            !o.status.success() && text(&o).contains("验证未通过:印章签名值"),
            "{}",
            text(&o)
        );
        let mut bad = sig.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        std::fs::write(&bad_path, &bad).unwrap();
        let o = certhall(&data, &["seal", "verify", bad_path.to_str().unwrap()]);
        assert!(
            !o.status.success() && text(&o).contains("验证未通过:签章签名值"),
            "{}",
            text(&o)
        );
        let other = dir.path().join("other.pdf");
        std::fs::write(&other, "改过的文件").unwrap();
        let o = certhall(
            &data,
            &[
                "seal",
                "verify",
                sig_path.to_str().unwrap(),
                "--document",
                other.to_str().unwrap(),
            ],
        );
        assert!(
            !o.status.success() && text(&o).contains("验证未通过:原文杂凑值"),
            "{}",
            text(&o)
        );
        // Truncated: a message, not a panic.
        std::fs::write(&bad_path, &seal_der[..seal_der.len() / 2]).unwrap();
        let o = certhall(&data, &["seal", "verify", bad_path.to_str().unwrap()]);
        assert!(
            !o.status.success() && text(&o).contains("印章结构:不通过"),
            "{}",
            text(&o)
        );
        assert!(!text(&o).contains("panicked"));
    }
}
