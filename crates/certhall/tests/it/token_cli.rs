//! `certhall token …` through the binary, as a tester uses it by hand: make a token, make a
//! request, have `certhall ca issue` sign it with the dual encryption certificate, write the
//! answer into the token (the envelope opened with the new key), sign a challenge for a
//! renewal, and a new request for the same subject; a wrong PIN and a missing PIN refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use std::path::Path;
use std::process::{Command, Output};

const PASS: &str = "test-passphrase-123";
const PIN: &str = "13572468";

fn run(dir: &Path, pin: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_certhall"));
    c.args(args)
        .current_dir(dir)
        .env("CERTHALL_CA_PASSPHRASE", PASS)
        .env("CERTHALL_LOG", "warn")
        .env_remove("CERTHALL_DATABASE_URL")
        .env_remove("CERTHALL_TOKEN_PIN");
    if let Some(p) = pin {
        c.env("CERTHALL_TOKEN_PIN", p);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn token_by_hand_request_issue_import_and_prove() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(run(
        d,
        None,
        &[
            "ca",
            "init",
            "--data",
            "data",
            "--policy-oid",
            "1.3.6.1.4.1.32473.7.1",
            "--cps-uri",
            "http://127.0.0.1/cps",
        ],
    ));
    // No PIN in the environment: refused, nothing made.
    let o = run(d, None, &["token", "--file", "t.json", "init"]);
    assert!(
        !o.status.success() && text(&o).contains("CERTHALL_TOKEN_PIN"),
        "{}",
        text(&o)
    );
    assert!(!d.join("t.json").exists());
    ok(run(
        d,
        Some(PIN),
        &["token", "--file", "t.json", "init", "--label", "测试Key"],
    ));
    // A token file is never overwritten.
    assert!(!run(d, Some(PIN), &["token", "--file", "t.json", "init"])
        .status
        .success());
    let json = std::fs::read_to_string(d.join("t.json")).unwrap();
    assert!(json.contains(pki::token::FORMAT));

    ok(run(
        d,
        Some(PIN),
        &[
            "token",
            "--file",
            "t.json",
            "gen-csr",
            "--subject",
            "CN=深圳市某某有限公司,O=深圳市某某有限公司,C=CN",
            "--out",
            "req.pem",
        ],
    ));
    let csr_pem = std::fs::read(d.join("req.pem")).unwrap();
    let first = pki::csr::parse_csr(&csr_pem).unwrap();
    // The wrong PIN opens nothing.
    let o = run(
        d,
        Some("00000000"),
        &["token", "--file", "t.json", "gen-csr"],
    );
    assert!(
        !o.status.success() && text(&o).contains("wrong PIN"),
        "{}",
        text(&o)
    );

    ok(run(
        d,
        None,
        &[
            "ca",
            "--data",
            "data",
            "issue",
            "--csr",
            "req.pem",
            "--profile",
            "org",
            "--years",
            "2",
            "--org",
            "深圳市某某有限公司",
            "--uscc",
            "91350100M000100Y43",
            "--with-encryption",
            "--out",
            "out",
        ],
    ));
    let b64 = base64::engine::general_purpose::STANDARD;
    let sign_pem = std::fs::read_to_string(d.join("out/cert.pem")).unwrap();
    let enc_pem = std::fs::read_to_string(d.join("out/enc-cert.pem")).unwrap();
    let envelope = std::fs::read(d.join("out/enc-key.envelope")).unwrap();
    let answer = serde_json::json!({
        "sign_cert": sign_pem,
        "enc_cert": enc_pem,
        "enc_key_envelope": b64.encode(&envelope),
    });
    std::fs::write(d.join("answer.json"), answer.to_string()).unwrap();
    let out = ok(run(
        d,
        Some(PIN),
        &["token", "--file", "t.json", "import", "answer.json"],
    ));
    let facts = pki::inspect::facts(
        &pki::csr::pem_or_der(sign_pem.as_bytes(), &["CERTIFICATE"], "certificate").unwrap(),
    )
    .unwrap();
    assert!(out.contains(&facts.serial), "{out}");
    // The certificate carries the key the token made for the request.
    assert_eq!(facts.public_key, first.public_key);
    let shown = ok(run(d, None, &["token", "--file", "t.json", "show"]));
    assert!(
        shown.contains("测试Key") && shown.contains(&facts.serial),
        "{shown}"
    );
    assert!(!shown.contains("waits"), "{shown}");

    // The token decrypts what is encrypted to its encryption certificate.
    let t = pki::token::SoftToken::open(&std::fs::read_to_string(d.join("t.json")).unwrap(), PIN)
        .unwrap();
    let c = pki::token::SoftToken::encrypt_to(&enc_pem, b"sealed bid").unwrap();
    assert_eq!(t.decrypt("main", &c).unwrap(), b"sealed bid");

    // Renewal: a new request with the certificate's subject, signed by the old key.
    ok(run(
        d,
        Some(PIN),
        &["token", "--file", "t.json", "gen-csr", "--out", "renew.pem"],
    ));
    let renew = pki::csr::parse_csr(&std::fs::read(d.join("renew.pem")).unwrap()).unwrap();
    assert_eq!(renew.subject, facts.subject.to_string());
    assert_ne!(renew.public_key, first.public_key);
    let challenge = "a1".repeat(32);
    let proof = ok(run(
        d,
        Some(PIN),
        &[
            "token",
            "--file",
            "t.json",
            "sign-challenge",
            "--challenge",
            &challenge,
            "--csr",
            "renew.pem",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(v["serial"], facts.serial.as_str());
    let csr_der = b64.decode(v["csr"].as_str().unwrap()).unwrap();
    assert_eq!(csr_der, renew.der);
    let sig = b64.decode(v["signature"].as_str().unwrap()).unwrap();
    let ch = hex::decode(&challenge).unwrap();
    // Signed by the OLD key (the certificate's), not the new one.
    pki::possession::check(&facts.public_key, &ch, &csr_der, &sig).unwrap();
    assert!(pki::possession::check(&renew.public_key, &ch, &csr_der, &sig).is_err());
    let shown = ok(run(d, None, &["token", "--file", "t.json", "show"]));
    assert!(shown.contains("waits for its certificate"), "{shown}");
}
