//! Dual certificates (SPEC F2): the key manager makes the encryption key pair, the CA issues
//! its certificate, and the private key goes back enveloped to the signing key. The test opens
//! the envelope (both the GM/T 0009 DER and the GM/T 0016 blob) with the signing private key and
//! checks the key matches the encryption certificate.

use crate::common::*;
use der::Decode;
use pki::envelope::{open, open_skf, seal, Sm2EnvelopedKey};
use pki::{CertType, IssueRequest, SubjectData, Usage};

#[test]
fn envelope_opens_with_the_signing_key_and_matches_the_encryption_certificate() {
    let fx = fixture();
    let mut rng = rand::rngs::OsRng;
    let signing_key = pki::keys::generate(); // in the USB key
    let subject = SubjectData::new(
        CertType::Org,
        "深圳市某某科技有限公司",
        uscc("91350100M000100Y43"),
        None,
    )
    .unwrap();
    let issue = |req: &IssueRequest, rng: &mut rand::rngs::OsRng| {
        fx.issuer
            .issue(fx.issuer.prepare(req, now(), rng).unwrap())
            .unwrap()
    };
    let sign_cert = issue(
        &IssueRequest {
            usage: Usage::Signing,
            subject: subject.clone(),
            public_key: signing_key.public_key(),
            years: 1,
        },
        &mut rng,
    );
    // Key manager: new encryption key, certificate, envelope to the signing certificate's key.
    let enc_key = pki::keys::generate();
    let enc_cert = issue(
        &IssueRequest {
            usage: Usage::Encryption,
            subject,
            public_key: enc_key.public_key(),
            years: 1,
        },
        &mut rng,
    );
    let sign_pub = pki::csr::sm2_public_key(
        &x509_cert::Certificate::from_der(&sign_cert.der)
            .unwrap()
            .tbs_certificate
            .subject_public_key_info,
    )
    .unwrap();
    let env = seal(&enc_key, &sign_pub, &mut rng).unwrap();

    // Structure: SEQUENCE { SM4, SM2Cipher{x,y,hash(32),cipherText(16)}, BIT STRING 65, BIT STRING 32 }.
    let parsed = Sm2EnvelopedKey::from_der(&env.der).unwrap();
    assert_eq!(parsed.sym_alg_id.oid, pki::oid::SM4);
    assert_eq!(parsed.sym_encrypted_key.hash.as_bytes().len(), 32);
    assert_eq!(parsed.sym_encrypted_key.cipher_text.as_bytes().len(), 16);
    assert_eq!(parsed.sm2_public_key.as_bytes().unwrap().len(), 65);
    assert_eq!(
        parsed.sm2_encrypted_private_key.as_bytes().unwrap().len(),
        32
    );
    assert_eq!(env.skf_blob.len(), 388);

    // Open with the signing private key: the key matches the encryption certificate.
    let cert = x509_cert::Certificate::from_der(&enc_cert.der).unwrap();
    let cert_pub = pki::csr::sm2_public_key(&cert.tbs_certificate.subject_public_key_info).unwrap();
    let opened = open(&env.der, &signing_key).unwrap();
    assert_eq!(opened.public_key(), cert_pub);
    assert_eq!(opened.to_bytes(), enc_key.to_bytes());
    let opened_skf = open_skf(&env.skf_blob, &signing_key).unwrap();
    assert_eq!(opened_skf.public_key(), cert_pub);

    // Anyone else cannot open it; a damaged envelope is refused.
    assert!(open(&env.der, &pki::keys::generate()).is_err());
    let mut bad = env.der.clone();
    let n = bad.len();
    bad[n - 40] ^= 1;
    assert!(open(&bad, &signing_key).is_err());
    assert!(open(b"\x30\x00", &signing_key).is_err());
    assert!(open_skf(&[0u8; 10], &signing_key).is_err());

    // Escrow copy, to the key manager's own key, opens with that key.
    let km = pki::keys::generate();
    let escrow = seal(&enc_key, &km.public_key(), &mut rng).unwrap();
    assert_eq!(
        open(&escrow.der, &km).unwrap().to_bytes(),
        enc_key.to_bytes()
    );
}

#[test]
fn sm2_encryption_interoperates_with_gmssl() {
    // Encrypt with our code, decrypt with gmssl (C1C3C2, the GM/T 0003.4 order): an independent
    // check of the SM2Cipher inside the envelope.
    require_python_modules();
    let key = pki::keys::generate();
    let mut rng = rand::rngs::OsRng;
    let c = pki::envelope::sm2_encrypt(&key.public_key(), b"0123456789abcdef", &mut rng).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let pad = |b: &[u8]| {
        let b = if b.len() == 33 { &b[1..] } else { b };
        let mut v = vec![0u8; 32 - b.len()];
        v.extend_from_slice(b);
        v
    };
    let c1c3c2 = format!(
        "{}{}{}{}",
        hex(&pad(c.x.as_bytes())),
        hex(&pad(c.y.as_bytes())),
        hex(c.hash.as_bytes()),
        hex(c.cipher_text.as_bytes())
    );
    use sm2::elliptic_curve::sec1::ToEncodedPoint;
    let pubhex = hex(&key.public_key().to_encoded_point(false).as_bytes()[1..]);
    let script = format!(
        "from gmssl import sm2\nc=sm2.CryptSM2(private_key='{}',public_key='{}',mode=1)\nprint(c.decrypt(bytes.fromhex('{}')))",
        hex(&key.to_bytes()), pubhex, c1c3c2
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 (pip install gmssl)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0123456789abcdef"),
        "gmssl could not decrypt: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
