//! `certhall ca …` end to end through the binary: init, issue (with the dual encryption
//! certificate), revoke, crl, export-chain, show; and bad input to `ca issue`: a clear error,
//! a non-zero exit code, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASS: &str = "test-passphrase-123";
/// A policy OID under IANA PEN 32473, reserved for documentation (RFC 5612).
const POLICY: &str = "1.3.6.1.4.1.32473.7.1";

/// The serial (upper-case hex) of a PEM certificate.
fn serial_of(pem: &[u8]) -> String {
    let der = pki::csr::pem_or_der(pem, &["CERTIFICATE"], "certificate").unwrap();
    let c = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
    pki::issue::serial_hex(c.tbs_certificate.serial_number.as_bytes())
}

fn certhall(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certhall"))
        .arg("ca")
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

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pki/tests/fixtures")
        .join(name)
}

fn sm2verify() -> PathBuf {
    for c in [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/sm2verify.py"),
        PathBuf::from("/work/shared/tools/sm2verify.py"),
    ] {
        if c.exists() {
            return c;
        }
    }
    panic!("sm2verify.py not found (shared/tools beside the work tree)");
}

#[test]
fn ca_commands_end_to_end_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A production CA must name its CPS (issue 19 item 12).
    let o = certhall(&data, &["init", "--org", "测试CA"]);
    assert!(
        !o.status.success() && text(&o).contains("CPS OID"),
        "{}",
        text(&o)
    );
    let o = certhall(
        &data,
        &[
            "init",
            "--org",
            "测试CA",
            "--policy-oid",
            POLICY,
            "--cps-uri",
            "http://127.0.0.1/cps",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = certhall(&data, &["init", "--org", "测试CA", "--policy-oid", POLICY]);
    assert!(
        !o.status.success() && text(&o).contains("already exists"),
        "{}",
        text(&o)
    );
    // OpenSSL 3.0 opens the CA's key files with stock tools (issue 19 item 11).
    for k in ["root.key", "issuing.key", "km.key"] {
        let v = Command::new("openssl")
            .args(["pkey", "-noout", "-passin", &format!("pass:{PASS}"), "-in"])
            .arg(data.join("ca").join(k))
            .output()
            .unwrap();
        assert!(v.status.success(), "openssl pkey {k}: {}", text(&v));
    }
    let o = certhall(&data, &["init"]);
    assert!(
        !o.status.success() && text(&o).contains("already exists"),
        "{}",
        text(&o)
    );

    // A CSR from a key we hold, so the envelope can be opened.
    let user = pki::keys::generate();
    let csr = pki::csr::make_csr(
        &user,
        pki::names::build_name(&[(pki::oid::AT_CN, "from-csr-ignored")]).unwrap(),
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
            "issue",
            "--csr",
            csr_path.to_str().unwrap(),
            "--profile",
            "org",
            "--years",
            "3",
            "--org",
            "深圳市某某有限公司",
            "--uscc",
            "91350100M000100Y43",
            "--with-encryption",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for f in ["cert.pem", "chain.pem", "enc-cert.pem", "enc-key.envelope"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    for f in ["cert.pem", "enc-cert.pem"] {
        let v = Command::new("openssl")
            .args([
                "verify",
                "-vfyopt",
                "distid:1234567812345678",
                "-partial_chain",
                "-CAfile",
            ])
            .arg(out.join("chain.pem"))
            .arg(out.join(f))
            .output()
            .expect("openssl (apt-get install openssl)");
        assert!(v.status.success(), "{}", text(&v));
        let v = Command::new("python3")
            .arg(sm2verify())
            .arg(data.join("ca/issuing.pem"))
            .arg(out.join(f))
            .output()
            .expect("python3");
        assert!(
            v.status.success(),
            "sm2verify (pip install gmssl asn1crypto): {}",
            text(&v)
        );
    }
    // Open the envelope with the CSR's key: it is the encryption certificate's key.
    let env = std::fs::read(out.join("enc-key.envelope")).unwrap();
    let opened = pki::envelope::open(&env, &user).unwrap();
    let enc_der = pki::csr::pem_or_der(
        &std::fs::read(out.join("enc-cert.pem")).unwrap(),
        &["CERTIFICATE"],
        "c",
    )
    .unwrap();
    let enc = <x509_cert::Certificate as der::Decode>::from_der(&enc_der).unwrap();
    assert_eq!(
        opened.public_key(),
        pki::csr::sm2_public_key(&enc.tbs_certificate.subject_public_key_info).unwrap()
    );

    // Revoke, CRL, chain, show.
    let serial = text(&o)
        .lines()
        .find_map(|l| l.strip_prefix("issued org serial "))
        .unwrap()
        .trim()
        .to_string();
    let o = certhall(&data, &["revoke", &serial, "--reason", "keyCompromise"]);
    assert!(o.status.success(), "{}", text(&o));
    // The encryption certificate of the pair goes with it, and the output says so.
    let enc_serial = serial_of(&std::fs::read(out.join("enc-cert.pem")).unwrap());
    assert!(
        text(&o).contains(&format!("revoked {enc_serial} (KeyCompromise) with it")),
        "{}",
        text(&o)
    );
    let crl = dir.path().join("ca.crl");
    let o = certhall(&data, &["crl", "--out", crl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let v = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&crl)
        .output()
        .unwrap();
    assert!(
        text(&v).contains(&serial) && text(&v).contains(&enc_serial),
        "{}",
        text(&v)
    );
    let v = Command::new("python3")
        .arg(sm2verify())
        .arg(data.join("ca/issuing.pem"))
        .arg(&crl)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v));
    // The root revokes the issuing CA; the ARL lists it and verifies against the root.
    let o = certhall(
        &data,
        &["revoke", "--issuing-ca", "--reason", "cessationOfOperation"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let issuing_serial = serial_of(&std::fs::read(data.join("ca/issuing.pem")).unwrap());
    let arl = dir.path().join("root.crl");
    let o = certhall(&data, &["arl", "--out", arl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let v = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&arl)
        .output()
        .unwrap();
    assert!(text(&v).contains(&issuing_serial), "{}", text(&v));
    let v = Command::new("python3")
        .arg(sm2verify())
        .arg(data.join("ca/root.pem"))
        .arg(&arl)
        .output()
        .unwrap();
    assert!(v.status.success(), "ARL against the root: {}", text(&v));
    let chain = dir.path().join("chain.pem");
    assert!(
        certhall(&data, &["export-chain", "--out", chain.to_str().unwrap()])
            .status
            .success()
    );
    let o = certhall(&data, &["show"]);
    assert!(
        o.status.success() && text(&o).contains("revoked: 2"),
        "{}",
        text(&o)
    );

    // Every CA action is in the tamper-evident audit log: init, 2 × issue, revoke, crl.
    let a = Command::new(env!("CARGO_BIN_EXE_certhall"))
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .env("CERTHALL_LOG", "warn")
        .output()
        .unwrap();
    let t = text(&a);
    let rows: usize = t
        .split("intact: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(a.status.success() && rows >= 5, "{t}");

    // Import the same issuing CA into another data directory; it issues certificates that chain.
    let data2 = dir.path().join("data2");
    let o = certhall(
        &data2,
        &[
            "init",
            "--policy-oid",
            POLICY,
            "--cps-uri",
            "http://127.0.0.1/cps",
            "--import-cert",
            data.join("ca/issuing.pem").to_str().unwrap(),
            "--import-key",
            data.join("ca/issuing.key").to_str().unwrap(),
            "--import-root",
            data.join("ca/root.pem").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out2 = dir.path().join("out2");
    let o = certhall(
        &data2,
        &[
            "issue",
            "--csr",
            csr_path.to_str().unwrap(),
            "--profile",
            "org",
            "--years",
            "1",
            "--org",
            "单位",
            "--uscc",
            "91350100M000100Y43",
            "--out",
            out2.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v = Command::new("openssl")
        .args([
            "verify",
            "-vfyopt",
            "distid:1234567812345678",
            "-partial_chain",
            "-CAfile",
        ])
        .arg(data.join("ca/issuing.pem"))
        .arg(out2.join("cert.pem"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v));
    // A key that does not match the certificate is refused.
    let o = certhall(
        &dir.path().join("data3"),
        &[
            "init",
            "--policy-oid",
            POLICY,
            "--cps-uri",
            "http://127.0.0.1/cps",
            "--import-cert",
            data.join("ca/root.pem").to_str().unwrap(),
            "--import-key",
            data.join("ca/issuing.key").to_str().unwrap(),
            "--import-root",
            data.join("ca/root.pem").to_str().unwrap(),
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("does not match"),
        "{}",
        text(&o)
    );

    // Bad input to `ca issue`.
    let bad = |name: &str, bytes: &[u8], extra: &[&str]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o_dir = dir.path().join(format!("out-{name}"));
        let mut args = vec![
            "issue",
            "--csr",
            p.to_str().unwrap(),
            "--profile",
            "org",
            "--out",
            o_dir.to_str().unwrap(),
        ];
        for (k, v) in [
            ("--years", "1"),
            ("--org", "单位"),
            ("--uscc", "91350100M000100Y43"),
        ] {
            if !extra.contains(&k) {
                args.extend_from_slice(&[k, v]);
            }
        }
        args.extend_from_slice(extra);
        let o = certhall(&data, &args);
        let t = text(&o);
        assert!(!o.status.success(), "{name}: accepted: {t}");
        assert!(
            t.contains("error:") && !t.contains("panicked"),
            "{name}: {t}"
        );
        assert!(
            !o_dir.join("cert.pem").exists(),
            "{name}: wrote a certificate"
        );
        t
    };
    let t = bad(
        "garbage.pem",
        b"-----BEGIN CERTIFICATE REQUEST-----\n@@@@\n-----END CERTIFICATE REQUEST-----\n",
        &[],
    );
    assert!(t.contains("PEM"), "{t}");
    bad("truncated.der", &csr[..csr.len() / 2], &[]);
    let t = bad("rsa.csr", &std::fs::read(fixture("rsa.csr")).unwrap(), &[]);
    assert!(t.contains("RSA"), "{t}");
    let t = bad(
        "p256.csr",
        &std::fs::read(fixture("p256.csr")).unwrap(),
        &[],
    );
    assert!(t.contains("P-256"), "{t}");
    let mut wrong = csr.clone();
    let n = wrong.len();
    wrong[n - 3] ^= 0x40;
    let t = bad("wrongsig.der", &wrong, &[]);
    assert!(t.contains("signature"), "{t}");
    let t = bad("huge.csr", &vec![b'A'; 1 << 20], &[]);
    assert!(t.contains("too large"), "{t}");
    // NUL cannot pass through argv; control characters in the name are refused the same way.
    let t = bad(
        "ctl.csr",
        &pki::issue::pem_encode("CERTIFICATE REQUEST", &csr).into_bytes(),
        &["--org", "单位\u{1}名称"],
    );
    assert!(t.contains("control"), "{t}");
    let t = bad("baduscc.csr", &csr, &["--uscc", "91350100M000100Y44"]);
    assert!(t.contains("check"), "{t}");
    let t = bad("years.csr", &csr, &["--years", "9"]);
    assert!(t.contains("年限"), "{t}");
}
