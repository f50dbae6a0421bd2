//! Shared fixtures for the pki integration tests: a root and an issuing CA made fresh, and the
//! independent checkers (openssl, sm2verify.py, pkilint) run as external commands. A missing
//! tool fails the test with the command that installs it.

use pki::issue::{make_issuing, make_root, CaNames};
use pki::{CaCert, Issuer, KeySigner, PublishConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// A root CA and an issuing CA under it, with their keys.
pub struct Fixture {
    pub root: CaCert,
    #[allow(dead_code)] // no test signs with the root yet
    pub root_key: sm2::SecretKey,
    pub issuer: Issuer<KeySigner>,
}

/// The tests' clock: 2026-11-23 02:00:00 UTC (10:00 Beijing, the hall's test T0), fixed so
/// every run builds the same validity; `openssl verify` is told the same instant (`-attime`).
pub const NOW_UNIX: u64 = 1_795_399_200;

/// [`NOW_UNIX`] as a `SystemTime`, passed in as the pki crate requires.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_UNIX)
}

/// A 统一社会信用代码 parsed as the order's edge parses it.
pub fn uscc(s: &str) -> pki::profile::CreditCode {
    domain::CreditCode::parse(s).unwrap()
}

/// A 身份证号码 parsed as the order's edge parses it, on the tests' date.
pub fn id_number(s: &str) -> pki::profile::IdNumber {
    domain::IdNumber::parse(s, domain::Date::new(2026, 11, 23).unwrap()).unwrap()
}

pub fn fixture() -> Fixture {
    let mut rng = rand::rngs::OsRng;
    let names = CaNames {
        root_cn: "certhall Test Root CA".into(),
        issuing_cn: "certhall Test SM2 CA".into(),
        org: "certhall 测试CA".into(),
        root_years: 20,
        issuing_years: 10,
    };
    let root_key = pki::keys::generate();
    let root_signer = KeySigner::new(&root_key).unwrap();
    let root = make_root(&root_signer, &names, now(), &mut rng).unwrap();
    let issuing_key = pki::keys::generate();
    let publish = PublishConfig {
        base_url: "http://ca.example.cn".into(),
        policy_oid: "1.3.6.1.4.1.99999.1.1".parse().unwrap(),
        cps_uri: Some("http://ca.example.cn/cps".into()),
    };
    let ca = make_issuing(
        &root_signer,
        &root,
        &issuing_key.public_key(),
        &names,
        &publish,
        now(),
        &mut rng,
    )
    .unwrap();
    let issuer = Issuer {
        ca,
        signer: KeySigner::new(&issuing_key).unwrap(),
        publish,
        profile: Default::default(),
    };
    Fixture {
        root,
        root_key,
        issuer,
    }
}

pub fn tools_dir() -> PathBuf {
    // crates/pki → repository root → ../shared/tools (beside the work tree), or $SM2VERIFY.
    if let Ok(p) = std::env::var("SM2VERIFY") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for c in [
        root.join("../shared/tools/sm2verify.py"),
        root.join("shared/tools/sm2verify.py"),
        PathBuf::from("/work/shared/tools/sm2verify.py"),
    ] {
        if c.exists() {
            return c;
        }
    }
    panic!("sm2verify.py not found: set SM2VERIFY=/path/to/shared/tools/sm2verify.py");
}

fn run(cmd: &mut Command, install: &str) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}; install with: {install}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn require_python_modules() {
    let (ok, text) = run(
        Command::new("python3").args(["-c", "import gmssl, asn1crypto, pkilint"]),
        "pip install gmssl asn1crypto pkilint",
    );
    assert!(
        ok,
        "python modules missing ({text}); install with: pip install gmssl asn1crypto pkilint"
    );
}

/// openssl verify with the GM/T signer ID, and without it.
///
/// OpenSSL 3.0's `verify -vfyopt distid:…` sets the ID on the *target* certificate only; the
/// certificates read from `-CAfile` keep the empty default ID, so the literal
/// `openssl verify -vfyopt distid:1234567812345678 -CAfile chain.pem cert.pem` checks the leaf
/// with the GM/T ID and then fails on the issuing CA's own signature ("error 7 at 1 depth").
/// Each link is therefore checked by OpenSSL as its own target:
/// 1. the leaf against the issuing CA: `-partial_chain -CAfile chain.pem` → OK with the ID,
///    failure at depth 0 without it;
/// 2. the issuing CA against the root: `-CAfile root.pem issuing.pem` → OK with the ID,
///    failure without it;
/// 3. the literal command: fails, and only at depth 1 (the leaf passed), which pins the
///    limitation above so a change in it is noticed.
pub fn openssl_verify(chain: &Path, root: &Path, issuing: &Path, cert: &Path) {
    let at = NOW_UNIX.to_string();
    let ossl = |args: &[&str], extra: &[&Path]| {
        let mut c = Command::new("openssl");
        // `verify` first, then the check time, then the options and files.
        c.arg(args[0])
            .args(["-attime", at.as_str()])
            .args(&args[1..]);
        for p in extra {
            c.arg(p);
        }
        run(&mut c, "apt-get install openssl")
    };
    let id = ["-vfyopt", "distid:1234567812345678"];
    let (ok, t) = ossl(
        &[&["verify"][..], &id, &["-partial_chain", "-CAfile"]].concat(),
        &[chain, cert],
    );
    assert!(ok && t.contains(": OK"), "leaf with GM/T ID: {t}");
    let (ok, t) = ossl(&["verify", "-partial_chain", "-CAfile"], &[chain, cert]);
    assert!(
        !ok && t.contains("at 0 depth"),
        "leaf WITHOUT the GM/T ID unexpectedly passed: {t}"
    );
    let (ok, t) = ossl(
        &[&["verify"][..], &id, &["-CAfile"]].concat(),
        &[root, issuing],
    );
    assert!(ok && t.contains(": OK"), "issuing CA with GM/T ID: {t}");
    let (ok, t) = ossl(&["verify", "-CAfile"], &[root, issuing]);
    assert!(
        !ok,
        "issuing CA WITHOUT the GM/T ID unexpectedly passed: {t}"
    );
    let (ok, t) = ossl(
        &[&["verify"][..], &id, &["-CAfile"]].concat(),
        &[chain, cert],
    );
    assert!(
        !ok && t.contains("at 1 depth"),
        "literal command: expected the OpenSSL 3.0 depth-1 limitation, got: {t}"
    );
}

/// The independent SM2 implementation: `sm2verify.py ISSUER OBJECT` must print OK.
pub fn sm2verify(issuer: &Path, object: &Path) -> String {
    require_python_modules();
    let (ok, text) = run(
        Command::new("python3")
            .arg(tools_dir())
            .arg(issuer)
            .arg(object),
        "pip install gmssl asn1crypto",
    );
    assert!(
        ok && text.starts_with("OK"),
        "sm2verify {} {} failed: {text}",
        issuer.display(),
        object.display()
    );
    text
}

/// The one pkilint finding we accept, in one place: pkilint's PKIX profile flags
/// keyEncipherment on an EC key (RFC 5480 §3 allows only keyAgreement for ECDH keys), but
/// GM/T 0015 encryption certificates carry keyEncipherment and dataEncipherment for SM2
/// public-key encryption (GM/T 0003.4), which RFC 5480 does not know. Allowed for encryption
/// certificates only.
pub const ALLOWED_ENC_CERT_FINDINGS: &[&str] = &["pkix.key_usage_value_prohibited_for_ec"];

fn error_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("(ERROR)") || l.contains("(FATAL)"))
        .map(String::from)
        .collect()
}

/// pkilint on a certificate; returns all findings (for the report); panics on ERROR/FATAL
/// except the allowed finding on encryption certificates.
pub fn pkilint_cert(path: &Path, encryption: bool) -> String {
    require_python_modules();
    let (_, text) = run(
        Command::new("lint_pkix_cert")
            .args(["lint", "-s", "ERROR"])
            .arg(path),
        "pip install pkilint",
    );
    let bad: Vec<_> = error_lines(&text)
        .into_iter()
        .filter(|l| !(encryption && ALLOWED_ENC_CERT_FINDINGS.iter().any(|a| l.contains(a))))
        .collect();
    assert!(
        bad.is_empty(),
        "pkilint ERROR findings on {}: {text}",
        path.display()
    );
    text
}

pub fn pkilint_crl(path: &Path) -> String {
    require_python_modules();
    let (_, text) = run(
        Command::new("lint_crl")
            .args(["lint", "-t", "CRL", "-p", "PKIX", "-s", "ERROR"])
            .arg(path),
        "pip install pkilint",
    );
    assert!(
        error_lines(&text).is_empty(),
        "pkilint ERROR findings on CRL: {text}"
    );
    text
}

pub fn pkilint_ocsp(path: &Path) -> String {
    require_python_modules();
    let (_, text) = run(
        Command::new("lint_ocsp_response")
            .args(["lint", "-s", "ERROR"])
            .arg(path),
        "pip install pkilint",
    );
    assert!(
        error_lines(&text).is_empty(),
        "pkilint ERROR findings on OCSP response: {text}"
    );
    text
}

pub fn openssl_ok(args: &[&str]) -> String {
    let (ok, text) = run(
        Command::new("openssl").args(args),
        "apt-get install openssl",
    );
    assert!(ok, "openssl {args:?} failed: {text}");
    text
}
