//! The CA's HTTP endpoints on a real listener: `GET /crl/issuing.crl`, `GET /ca/issuing.cer`,
//! `POST /ocsp` and `GET /ocsp/<base64>`; responses checked by openssl, sm2verify and pkilint;
//! a revocation shows at once even though a "good" response was pre-signed; bad requests get
//! OCSP error responses, never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::clock::SystemClock;
use certhall::ca_cmd::{self, CaAction, InitArgs};
use certhall::Common;
use pki::{CertType, IssueRequest, SubjectData, Usage};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn sm2verify(issuer: &Path, obj: &Path) {
    let tool = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/sm2verify.py"),
        PathBuf::from("/work/shared/tools/sm2verify.py"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("sm2verify.py (shared/tools beside the work tree)");
    let o = Command::new("python3")
        .arg(tool)
        .arg(issuer)
        .arg(obj)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "sm2verify (pip install gmssl asn1crypto): {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn openssl(args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (apt-get install openssl)");
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "openssl {args:?}: {t}");
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_and_ocsp_over_http() {
    // It sets the CA passphrase in the environment, which `ca init` reads.
    if crate::support::own_process::in_own_process("pki_http::crl_and_ocsp_over_http") {
        return;
    }
    std::env::set_var("CERTHALL_CA_PASSPHRASE", "http-test-passphrase");
    std::env::remove_var("CERTHALL_DATABASE_URL");
    let dir = tempfile::tempdir().unwrap();
    let common = Common {
        data: dir.path().join("data"),
        config: None,
    };
    let clock = Arc::new(SystemClock);
    ca_cmd::run(
        &common,
        CaAction::Init(Box::new(InitArgs {
            org: "测试CA".into(),
            root_cn: "Root".into(),
            issuing_cn: "Issuing".into(),
            root_years: 20,
            issuing_years: 10,
            base_url: "http://127.0.0.1".into(),
            policy_oid: Some("1.3.6.1.4.1.32473.7.1".into()),
            cps_uri: Some("http://127.0.0.1/cps".into()),
            dev: false,
            profile_edition: "2023".into(),
            unit_code_2012_arc: false,
            unit_code_in_dn: "serialNumber".into(),
            person_id_in_dn: "serialNumber".into(),
            import_cert: None,
            import_key: None,
            import_root: None,
        })),
        clock.clone(),
    )
    .await
    .unwrap();
    let ca = Arc::new(
        ca_cmd::open_ca(&common, "http-test-passphrase", clock)
            .await
            .unwrap(),
    );
    let now = ca.now();
    let req = IssueRequest {
        usage: Usage::Signing,
        subject: SubjectData::new(
            CertType::Org,
            "某单位",
            domain::CreditCode::parse("91350100M000100Y43").unwrap(),
            None,
        )
        .unwrap(),
        public_key: pki::keys::generate().public_key(),
        years: 1,
    };
    let issued = ca.issue(&[req]).await.unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("cert.pem"), issued[0].pem()).unwrap();
    std::fs::write(p("issuing.pem"), ca.files().issuing.pem()).unwrap();
    let publisher = Arc::new(ca::Publisher::new(ca.clone()).unwrap());
    publisher.refresh().await.unwrap(); // first CRL
    publisher
        .responder()
        .presign(&issued[0].serial, pki::ocsp::CertState::Good, now)
        .unwrap();
    let router = ca_cmd::pki_router(publisher.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(web::serve(listener, router, std::future::pending()));
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    // CRL and CA certificate.
    let r = http
        .get(format!("{base}/crl/issuing.crl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pkix-crl");
    std::fs::write(p("issuing.crl"), r.bytes().await.unwrap()).unwrap();
    openssl(&[
        "crl",
        "-inform",
        "DER",
        "-noout",
        "-in",
        p("issuing.crl").to_str().unwrap(),
    ]);
    sm2verify(&p("issuing.pem"), &p("issuing.crl"));
    // The ARL, where the issuing CA certificate's CRLDP points: made by the refresher with the
    // root key (no more 404), signed by the root.
    let r = http
        .get(format!("{base}/crl/root.crl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    std::fs::write(p("root.crl"), r.bytes().await.unwrap()).unwrap();
    std::fs::write(p("root.pem"), ca.files().root.pem()).unwrap();
    sm2verify(&p("root.pem"), &p("root.crl"));
    // OCSP about the issuing CA itself: answered by the root, good.
    let root_id = pki::ocsp::Responder::new(
        ca.files().root.clone(),
        pki::KeySigner::new(&pki::keys::generate()).unwrap(),
        std::time::Duration::from_secs(60),
    )
    .unwrap()
    .cert_id(
        ca.files()
            .issuing
            .cert
            .tbs_certificate
            .serial_number
            .as_bytes(),
    )
    .unwrap();
    let r = http
        .post(format!("{base}/ocsp"))
        .header("content-type", "application/ocsp-request")
        .body(pki::ocsp::make_request(vec![root_id], None).unwrap())
        .send()
        .await
        .unwrap();
    std::fs::write(p("issuing-ca.ocsp"), r.bytes().await.unwrap()).unwrap();
    let t = openssl(&[
        "ocsp",
        "-respin",
        p("issuing-ca.ocsp").to_str().unwrap(),
        "-resp_text",
        "-noverify",
    ]);
    assert!(t.contains("Cert Status: good"), "{t}");
    sm2verify(&p("root.pem"), &p("issuing-ca.ocsp"));
    assert_eq!(
        http.get(format!("{base}/crl/nosuch.crl"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{base}/crl/..%2Fetc.crl"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = http
        .get(format!("{base}/ca/issuing.cer"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // OCSP POST with openssl's own request.
    openssl(&[
        "ocsp",
        "-issuer",
        p("issuing.pem").to_str().unwrap(),
        "-cert",
        p("cert.pem").to_str().unwrap(),
        "-reqout",
        p("req.der").to_str().unwrap(),
        "-no_nonce",
    ]);
    let reqder = std::fs::read(p("req.der")).unwrap();
    let post = |body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{base}/ocsp");
        async move {
            let r = http
                .post(url)
                .header("content-type", "application/ocsp-request")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (st, body) = post(reqder.clone()).await;
    assert_eq!(st, 200);
    std::fs::write(p("good.der"), &body).unwrap();
    let t = openssl(&[
        "ocsp",
        "-respin",
        p("good.der").to_str().unwrap(),
        "-resp_text",
        "-noverify",
    ]);
    assert!(t.contains("Cert Status: good"), "{t}");
    sm2verify(&p("issuing.pem"), &p("good.der"));

    // GET form: base64 of the DER, URL-encoded.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(&reqder)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let r = http.get(format!("{base}/ocsp/{b64}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // RFC 5019 §6.2 cache headers: thisUpdate, nextUpdate (validity 24 h), a hash.
    let h = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {n} header"))
    };
    let meta = pki::ocsp::response_meta(&body).unwrap();
    assert_eq!(
        h("last-modified"),
        web::pki_routes::http_date(meta.this_update)
    );
    assert_eq!(h("expires"), web::pki_routes::http_date(meta.next_update));
    assert!(h("last-modified").ends_with(" GMT") && h("expires") != h("last-modified"));
    assert_eq!(h("etag"), format!("\"{}\"", meta.etag));
    let max_age: u64 = h("cache-control")
        .split("max-age=")
        .nth(1)
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        max_age > 0 && max_age <= 24 * 3600,
        "{}",
        h("cache-control")
    );
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        body,
        "GET and POST serve the same pre-signed response"
    );

    // Revoke: the next answer says revoked although "good" was pre-signed.
    let serial = pki::issue::serial_hex(&issued[0].serial);
    ca.storage()
        .revoke(
            "issuing",
            &serial,
            pki::crl::Reason::KeyCompromise,
            ca::clock::millis(ca.now()),
        )
        .await
        .unwrap();
    let (_, body) = post(reqder.clone()).await;
    std::fs::write(p("revoked.der"), &body).unwrap();
    let t = openssl(&[
        "ocsp",
        "-respin",
        p("revoked.der").to_str().unwrap(),
        "-resp_text",
        "-noverify",
    ]);
    assert!(
        t.contains("Cert Status: revoked") && t.contains("keyCompromise"),
        "{t}"
    );
    sm2verify(&p("issuing.pem"), &p("revoked.der"));

    // Bad requests: OCSP malformedRequest (RFC 6960 §2.3), or 413 for an oversized body.
    let malformed = vec![0x30, 0x03, 0x0a, 0x01, 0x01];
    for bad in [
        vec![],
        b"garbage".to_vec(),
        reqder[..reqder.len() / 2].to_vec(),
        vec![0u8; 100],
    ] {
        let (st, body) = post(bad).await;
        assert_eq!((st, body), (200, malformed.clone()));
    }
    // An oversized body gets an OCSP malformedRequest too (RFC 6960 §2.3), not a page, past
    // the OCSP route's limit. (This router has no edge in front; a body far past the limit can
    // meet a closed connection while still being written, a race on a loaded machine, so the
    // size stays small enough to be sent whole.)
    for size in [16 * 1024] {
        let sent = http
            .post(format!("{base}/ocsp"))
            .header("content-type", "application/ocsp-request")
            .body(vec![0x30; size])
            .send()
            .await
            .unwrap();
        assert_eq!(
            sent.headers().get("content-type").unwrap(),
            "application/ocsp-response",
            "{size} bytes"
        );
        assert_eq!(
            sent.bytes().await.unwrap().to_vec(),
            malformed,
            "{size} bytes"
        );
    }
    // The server is still there afterwards (on a new connection: the pooled one may be the
    // one the server closed after its 413, which a loaded machine makes a race).
    let fresh = reqwest::Client::new()
        .post(format!("{base}/ocsp"))
        .header("content-type", "application/ocsp-request")
        .body(reqder.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    let r = http
        .get(format!("{base}/ocsp/!!!notbase64"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), malformed);
}
