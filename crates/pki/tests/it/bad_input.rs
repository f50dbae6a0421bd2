//! Bad input to CSR and OCSP-request parsing: a clear error, never a panic.

use crate::common::{id_number, uscc};
use pki::csr::parse_csr;
use pki::issue::pem_encode;
use pki::names::build_name;
use pki::{CertType, PkiError, SubjectData};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn good_csr() -> Vec<u8> {
    let k = pki::keys::generate();
    pki::csr::make_csr(&k, build_name(&[(pki::oid::AT_CN, "x")]).unwrap()).unwrap()
}

#[test]
fn openssl_made_sm2_csr_is_accepted() {
    let c = parse_csr(&fixture("sm2-openssl.csr")).unwrap();
    assert!(c.subject.contains("openssl-sm2"));
}

#[test]
fn garbage_pem() {
    let e = parse_csr(b"-----BEGIN CERTIFICATE REQUEST-----\n!!!!not base64!!!!\n-----END CERTIFICATE REQUEST-----\n").unwrap_err();
    assert!(matches!(e, PkiError::Encoding { .. }), "{e}");
    let e = parse_csr(b"hello world").unwrap_err();
    assert!(matches!(e, PkiError::Encoding { .. }), "{e}");
    let e = parse_csr(b"").unwrap_err();
    assert!(matches!(e, PkiError::Encoding { .. }), "{e}");
    let e = parse_csr(pem_encode("CERTIFICATE", &good_csr()).as_bytes()).unwrap_err();
    assert!(e.to_string().contains("label"), "{e}");
}

#[test]
fn truncated_der_at_every_length() {
    let der = good_csr();
    for n in 0..der.len() {
        assert!(parse_csr(&der[..n]).is_err(), "truncated at {n} accepted");
    }
    assert!(parse_csr(&der).is_ok());
}

#[test]
fn rsa_p256_and_explicit_parameters_refused() {
    let e = parse_csr(&fixture("rsa.csr")).unwrap_err();
    assert!(
        matches!(e, PkiError::KeyAlgorithm(_)) && e.to_string().contains("RSA"),
        "{e}"
    );
    let e = parse_csr(&fixture("p256.csr")).unwrap_err();
    assert!(
        matches!(e, PkiError::KeyAlgorithm(_)) && e.to_string().contains("P-256"),
        "{e}"
    );
    let e = parse_csr(&fixture("sm2-explicit.csr")).unwrap_err();
    assert!(
        matches!(e, PkiError::KeyAlgorithm(_)) && e.to_string().contains("explicit"),
        "{e}"
    );
}

#[test]
fn wrong_signature_refused() {
    let mut der = good_csr();
    let n = der.len();
    der[n - 5] ^= 0x01; // inside s of the DER signature
    let e = parse_csr(&der).unwrap_err();
    assert!(matches!(e, PkiError::BadSignature(_)), "{e}");
    // A CSR whose key was swapped after signing.
    let other = pki::keys::generate();
    let a = good_csr();
    let mut req: x509_cert::request::CertReq = der::Decode::from_der(&a).unwrap();
    req.info.public_key = pki::signer::spki_of(&other.public_key()).unwrap();
    let swapped = der::Encode::to_der(&req).unwrap();
    assert!(matches!(
        parse_csr(&swapped).unwrap_err(),
        PkiError::BadSignature(_)
    ));
}

#[test]
fn one_megabyte_refused_before_parsing() {
    let big = vec![b'A'; 1 << 20];
    let e = parse_csr(&big).unwrap_err();
    assert!(matches!(e, PkiError::TooLarge { .. }), "{e}");
    let mut pem = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
    pem.extend(std::iter::repeat_n(b'Q', 1 << 20));
    assert!(matches!(
        parse_csr(&pem).unwrap_err(),
        PkiError::TooLarge { .. }
    ));
}

#[test]
fn nul_and_control_bytes_in_names_refused() {
    let code = uscc("91350100M000100Y43");
    let id = id_number("11010519491231002X");
    for bad in [
        "单位\0名称",
        "\0",
        "a\nb",
        " leading",
        "x".repeat(65).as_str(),
        "",
    ] {
        assert!(
            SubjectData::new(CertType::Org, bad, code.clone(), None).is_err(),
            "{bad:?}"
        );
        assert!(SubjectData::new(
            CertType::OrgPerson,
            "单位",
            code.clone(),
            Some((bad, id.clone()))
        )
        .is_err());
    }
    // Wrong check characters cannot even reach the CA: the request takes domain's parsed
    // types, and their parsers refuse them (GB 32100, GB 11643; tests beside the parsers).
    assert!(domain::CreditCode::parse("91350100M000100Y44").is_err());
    assert!(domain::IdNumber::parse_stored("110105194912310021").is_err());
    assert!(SubjectData::new(CertType::OrgPerson, "单位", code.clone(), None).is_err());
    assert!(SubjectData::new(CertType::Org, "单位", code, Some(("张三", id))).is_err());
}

#[test]
fn ocsp_request_garbage() {
    use pki::ocsp::{decode_get, parse_request};
    assert!(parse_request(b"").is_err());
    assert!(parse_request(b"\x30\x03\x30\x01").is_err());
    assert!(parse_request(&vec![0x30; 1 << 20]).is_err());
    assert!(decode_get("%zz").is_err());
    assert!(decode_get("%").is_err());
    assert!(decode_get("!!!").is_err());
    assert!(parse_request(&decode_get("MAMCAQA%3D").unwrap_or_default()).is_err());
}
