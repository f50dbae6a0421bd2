//! Every certificate, CRL and OCSP response made here is checked by independent tools:
//! `openssl verify` (with and without the GM/T signer ID), `sm2verify.py` (gmssl), pkilint.

use crate::common::*;
use pki::crl::{build_crl, Reason, RevokedEntry};
use pki::issue::pem_encode;
use pki::names::build_name;
use pki::ocsp::{CertState, Responder, StatusLookup};
use pki::{CertType, IssueRequest, SubjectData, Usage};
use std::collections::HashMap;
use std::time::Duration;

struct Map(HashMap<Vec<u8>, CertState>);
impl StatusLookup for Map {
    fn status(&self, serial: &[u8]) -> CertState {
        self.0.get(serial).copied().unwrap_or(CertState::Unknown)
    }
}

#[test]
fn certificates_crl_and_ocsp_pass_independent_checks() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let mut rng = rand::rngs::OsRng;

    std::fs::write(p("root.pem"), fx.root.pem()).unwrap();
    std::fs::write(p("issuing.pem"), fx.issuer.ca.pem()).unwrap();
    std::fs::write(
        p("chain.pem"),
        format!("{}{}", fx.issuer.ca.pem(), fx.root.pem()),
    )
    .unwrap();

    // CA certificates themselves.
    sm2verify(&p("root.pem"), &p("root.pem"));
    sm2verify(&p("root.pem"), &p("issuing.pem"));
    pkilint_cert(&p("root.pem"), false);
    pkilint_cert(&p("issuing.pem"), false);

    // A CSR from the "USB key", checked by us and by sm2verify.
    let user_key = pki::keys::generate();
    let csr_der = pki::csr::make_csr(
        &user_key,
        build_name(&[(pki::oid::AT_CN, "ignored")]).unwrap(),
    )
    .unwrap();
    std::fs::write(p("req.pem"), pem_encode("CERTIFICATE REQUEST", &csr_der)).unwrap();
    sm2verify(&p("req.pem"), &p("req.pem"));
    let csr = pki::csr::parse_csr(pem_encode("CERTIFICATE REQUEST", &csr_der).as_bytes()).unwrap();

    let org = "深圳市某某建设工程有限公司";
    let cases = [
        ("org-sign", CertType::Org, Usage::Signing, None),
        ("org-enc", CertType::Org, Usage::Encryption, None),
        (
            "ind-sign",
            CertType::OrgPerson,
            Usage::Signing,
            Some(("张三", id_number("11010519491231002X"))),
        ),
        (
            "ind-enc",
            CertType::OrgPerson,
            Usage::Encryption,
            Some(("张三", id_number("11010519491231002X"))),
        ),
    ];
    let mut states = HashMap::new();
    let mut serials = Vec::new();
    for (name, kind, usage, person) in cases {
        let public_key = if usage == Usage::Signing {
            csr.public_key
        } else {
            pki::keys::generate().public_key()
        };
        let req = IssueRequest {
            usage,
            subject: SubjectData::new(kind, org, uscc("91350100M000100Y43"), person).unwrap(),
            public_key,
            years: 3,
        };
        let token = fx.issuer.prepare(&req, now(), &mut rng).unwrap();
        let issued = fx.issuer.issue(token).unwrap();
        let f = p(&format!("{name}.pem"));
        std::fs::write(&f, issued.pem()).unwrap();
        if std::env::var("PKI_KEEP").is_ok() {
            std::fs::create_dir_all("/tmp/pki-keep").unwrap();
            for n in ["root.pem", "issuing.pem", "chain.pem"] {
                std::fs::copy(p(n), format!("/tmp/pki-keep/{n}")).unwrap();
            }
            std::fs::copy(&f, format!("/tmp/pki-keep/{name}.pem")).unwrap();
        }
        openssl_verify(&p("chain.pem"), &p("root.pem"), &p("issuing.pem"), &f);
        sm2verify(&p("issuing.pem"), &f);
        let findings = pkilint_cert(&f, usage == Usage::Encryption);
        eprintln!("pkilint {name}: {}", findings.trim());
        states.insert(issued.serial.clone(), CertState::Good);
        serials.push(issued.serial);
    }
    assert_eq!(serials.len(), 4);

    // Revoke one; CRL.
    let revoked_at = now();
    states.insert(
        serials[1].clone(),
        CertState::Revoked {
            at: revoked_at,
            reason: Reason::KeyCompromise,
        },
    );
    let entries = vec![
        RevokedEntry {
            serial: serials[1].clone(),
            revoked_at,
            reason: Reason::KeyCompromise,
        },
        RevokedEntry {
            serial: vec![0x42; 16],
            revoked_at,
            reason: Reason::Unspecified,
        },
    ];
    let crl = build_crl(
        &fx.issuer.ca,
        &fx.issuer.signer,
        &entries,
        7,
        now(),
        now() + Duration::from_secs(86400),
    )
    .unwrap();
    std::fs::write(p("ca.crl"), &crl).unwrap();
    let text = openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-noout",
        "-text",
        "-in",
        p("ca.crl").to_str().unwrap(),
    ]);
    assert!(
        text.contains("Key Compromise") && text.contains("X509v3 CRL Number"),
        "{text}"
    );
    sm2verify(&p("issuing.pem"), &p("ca.crl"));
    pkilint_crl(&p("ca.crl"));
    let empty = build_crl(
        &fx.issuer.ca,
        &fx.issuer.signer,
        &[],
        8,
        now(),
        now() + Duration::from_secs(86400),
    )
    .unwrap();
    std::fs::write(p("empty.crl"), &empty).unwrap();
    sm2verify(&p("issuing.pem"), &p("empty.crl"));
    pkilint_crl(&p("empty.crl"));

    // OCSP: good (pre-signed), revoked, unknown, with a nonce.
    let responder = Responder::new(
        fx.issuer.ca.clone(),
        KeySignerRef(&fx.issuer.signer),
        Duration::from_secs(3600),
    )
    .unwrap();
    let lookup = Map(states);
    for (i, (serial, nonce, want)) in [
        (serials[0].clone(), None, "good"),
        (serials[1].clone(), None, "revoked"),
        (vec![0x51; 16], Some(&b"0123456789abcdef"[..]), "unknown"),
        (serials[2].clone(), Some(&b"nonce-nonce-nonce"[..]), "good"),
    ]
    .into_iter()
    .enumerate()
    {
        let req =
            pki::ocsp::make_request(vec![responder.cert_id(&serial).unwrap()], nonce).unwrap();
        std::fs::write(p(&format!("ocsp{i}.req")), &req).unwrap();
        let resp = responder.respond(&req, &lookup, now());
        let f = p(&format!("ocsp{i}.der"));
        std::fs::write(&f, &resp).unwrap();
        let text = openssl_ok(&[
            "ocsp",
            "-respin",
            f.to_str().unwrap(),
            "-resp_text",
            "-noverify",
        ]);
        assert!(text.contains(&format!("Cert Status: {want}")), "{text}");
        if nonce.is_some() {
            assert!(text.contains("OCSP Nonce"), "{text}");
        }
        sm2verify(&p("issuing.pem"), &f);
        pkilint_ocsp(&f);
    }
    // openssl also makes a request we can answer (SHA-1 CertID by default).
    openssl_ok(&[
        "ocsp",
        "-issuer",
        p("issuing.pem").to_str().unwrap(),
        "-cert",
        p("org-sign.pem").to_str().unwrap(),
        "-reqout",
        p("openssl.req").to_str().unwrap(),
        "-no_nonce",
    ]);
    let resp = responder.respond(&std::fs::read(p("openssl.req")).unwrap(), &lookup, now());
    std::fs::write(p("openssl.resp"), &resp).unwrap();
    let text = openssl_ok(&[
        "ocsp",
        "-respin",
        p("openssl.resp").to_str().unwrap(),
        "-resp_text",
        "-noverify",
    ]);
    assert!(text.contains("Cert Status: good"), "{text}");
    sm2verify(&p("issuing.pem"), &p("openssl.resp"));

    // Pre-signed responses fall due for refresh after half their validity.
    let t0 = now();
    responder.presign(&serials[0], CertState::Good, t0).unwrap();
    assert!(!responder
        .due_for_refresh(t0 + Duration::from_secs(1799))
        .contains(&serials[0]));
    assert!(responder
        .due_for_refresh(t0 + Duration::from_secs(1800))
        .contains(&serials[0]));

    if std::env::var("PKI_KEEP").is_ok() {
        let keep = dir.keep();
        eprintln!("artefacts kept in {}", keep.display());
    }
}

/// Borrowing signer so the responder and the issuer share one key in the test.
struct KeySignerRef<'a>(&'a pki::KeySigner);
impl pki::Signer for KeySignerRef<'_> {
    fn public_key(&self) -> &sm2::PublicKey {
        pki::Signer::public_key(self.0)
    }
    fn sign(&self, m: &[u8]) -> pki::Result<Vec<u8>> {
        pki::Signer::sign(self.0, m)
    }
}
