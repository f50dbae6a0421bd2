//! The seal crate's behaviour: seals and signatures of every edition made, read back,
//! verified step by step, refused when altered, and checked by an independent verifier
//! (`tests/sesverify.py`: asn1crypto + gmssl); hostile input; the picture extraction.

// Fixtures build certificates and files; a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod picture;

use pki::issue::{make_issuing, make_root, CaNames, IssueRequest};
use pki::profile::{CertType, SubjectData, Usage};
use pki::{Issuer, KeySigner, PublishConfig};
use seal::asn1::{self, Edition};
use seal::make::{make_seal, seal_maker_cert, SealKind, SealSpec};
use seal::verify::{verify_seal, verify_signature, NoStatus, Outcome, Status, Trust};
use seal::SealError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// 2026-11-23 02:00:00 UTC, the hall's test instant.
const NOW: u64 = 1_795_399_200;
const DAY: u64 = 86_400;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

struct Unit {
    cert: Vec<u8>,
    signer: KeySigner,
}

struct World {
    root: Vec<u8>,
    issuing: Vec<u8>,
    issuer: Issuer<KeySigner>,
    maker_cert: Vec<u8>,
    maker: KeySigner,
}

impl World {
    fn new() -> World {
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
        let root = make_root(&root_signer, &names, at(NOW), &mut rng).unwrap();
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
            at(NOW),
            &mut rng,
        )
        .unwrap();
        let issuer = Issuer {
            ca,
            signer: KeySigner::new(&issuing_key).unwrap(),
            publish,
            profile: Default::default(),
        };
        let maker_key = pki::keys::generate();
        let maker_cert = seal_maker_cert(
            &issuer.signer,
            &issuer.ca,
            &maker_key.public_key(),
            "certhall 测试CA",
            at(NOW),
            5,
            &mut rng,
        )
        .unwrap();
        World {
            root: root.der.clone(),
            issuing: issuer.ca.der.clone(),
            issuer,
            maker_cert,
            maker: KeySigner::new(&maker_key).unwrap(),
        }
    }

    /// A 机构证书 (signing) for a unit, issued by the CA the way production does.
    fn unit(&self, name: &str, uscc: &str) -> Unit {
        let key = pki::keys::generate();
        let subject = SubjectData::new(
            CertType::Org,
            name,
            domain::CreditCode::parse(uscc).unwrap(),
            None,
        )
        .unwrap();
        let req = IssueRequest {
            usage: Usage::Signing,
            subject,
            public_key: key.public_key(),
            years: 1,
        };
        let prepared = self
            .issuer
            .prepare(&req, at(NOW), &mut rand::rngs::OsRng)
            .unwrap();
        let issued = self.issuer.issue(prepared).unwrap();
        Unit {
            cert: issued.der,
            signer: KeySigner::new(&key).unwrap(),
        }
    }

    fn trust(&self) -> Trust {
        Trust {
            cas: vec![self.root.clone(), self.issuing.clone()],
            seal_makers: vec![self.maker_cert.clone()],
        }
    }

    fn seal(&self, edition: Edition, unit: &Unit) -> Vec<u8> {
        make_seal(&self.spec(edition, unit), &self.maker, &self.maker_cert).unwrap()
    }

    fn spec(&self, edition: Edition, unit: &Unit) -> SealSpec {
        SealSpec {
            edition,
            es_id: "44030000000001".into(),
            kind: SealKind::Unit,
            name: "深圳市前海明星科技有限公司".into(),
            signer_certs: vec![unit.cert.clone()],
            created: at(NOW),
            valid_start: at(NOW),
            valid_end: at(NOW + 365 * DAY),
            picture_png: picture::red_ring_png(),
            width_mm: 42,
            height_mm: 42,
        }
    }
}

const EDITIONS: [Edition; 3] = [
    Edition::Gmt0031_2014,
    Edition::Gbt38540_2020,
    Edition::Gbt38540_2025,
];

fn steps(r: &seal::verify::Report) -> Vec<(&'static str, Outcome)> {
    r.steps.iter().map(|s| (s.name, s.outcome)).collect()
}

#[test]
fn a_seal_of_each_edition_reads_back_and_verifies() {
    let w = World::new();
    let unit = w.unit("深圳市前海明星科技有限公司", "91350100M000100Y43");
    for edition in EDITIONS {
        let der = w.seal(edition, &unit);
        assert_eq!(Edition::of_seal(&der), Some(edition), "{edition:?}");
        let view = seal::parse::seal(&der).unwrap();
        assert_eq!(view.edition, edition);
        assert_eq!(view.header_version, edition.header_version());
        assert_eq!(view.name, "深圳市前海明星科技有限公司");
        assert_eq!(view.es_id, "44030000000001");
        assert_eq!(view.kind, 1);
        assert_eq!(view.width_mm, 42);
        assert_eq!(view.valid_start, NOW);
        assert_eq!(view.valid_end, NOW + 365 * DAY);
        assert_eq!(
            view.cert_list,
            asn1::CertList::Certs(vec![unit.cert.clone()])
        );
        assert_eq!(view.maker_cert, w.maker_cert);
        let report = verify_seal(&der, NOW + DAY, &w.trust(), &NoStatus);
        assert!(
            report.ok(),
            "{edition:?}: {}",
            seal::verify::render(&report)
        );
        assert_eq!(
            steps(&report),
            vec![
                ("印章结构", Outcome::Pass),
                ("印章签名值", Outcome::Pass),
                ("制章人证书", Outcome::Pass),
                ("印章有效期", Outcome::Pass),
                ("印章图片", Outcome::Pass),
            ]
        );
        // PEM and Base64 forms read the same.
        let b64 = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(&der)
        };
        assert_eq!(seal::parse::seal(b64.as_bytes()).unwrap().der, der);
    }
}

#[test]
fn a_signature_verifies_in_the_standards_order_and_names_the_failing_step() {
    let w = World::new();
    let unit = w.unit("深圳市前海明星科技有限公司", "91350100M000100Y43");
    let other = w.unit("深圳市另一家公司", "91350100M000100Y43");
    let document = "投标文件 第一册".as_bytes();
    for edition in EDITIONS {
        let seal_der = w.seal(edition, &unit);
        let sig = seal::sign::sign_document(
            &seal_der,
            &unit.signer,
            &unit.cert,
            document,
            "bid-001.pdf",
            at(NOW + 2 * DAY),
        )
        .unwrap();
        assert_eq!(Edition::of_signature(&sig), Some(edition));
        assert!(seal::parse::is_signature(&sig));
        assert!(!seal::parse::is_signature(&seal_der));
        let r = verify_signature(&sig, Some(document), &w.trust(), &NoStatus);
        assert!(r.ok(), "{edition:?}: {}", seal::verify::render(&r));
        let names: Vec<_> = r.steps.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            vec![
                "签章结构",
                "签章签名值",
                "签章者证书与印章匹配",
                "印章签名值",
                "制章人证书",
                "印章有效期",
                "原文杂凑值"
            ]
        );
        // Without the document, the hash is not checked, and says so.
        let r = verify_signature(&sig, None, &w.trust(), &NoStatus);
        assert!(r.ok());
        assert_eq!(r.steps.last().unwrap().outcome, Outcome::Skipped);
        // Another document.
        let r = verify_signature(&sig, Some(b"changed"), &w.trust(), &NoStatus);
        assert_eq!(r.failed_step().unwrap().name, "原文杂凑值");
        // Signed by a certificate that is not in the seal's list.
        let stolen = seal::sign::sign_document(
            &seal_der,
            &other.signer,
            &other.cert,
            document,
            "bid-001.pdf",
            at(NOW + 2 * DAY),
        )
        .unwrap();
        let r = verify_signature(&stolen, Some(document), &w.trust(), &NoStatus);
        assert_eq!(
            r.failed_step().unwrap().name,
            "签章者证书与印章匹配",
            "{edition:?}"
        );
        // After the seal's validity.
        let late = seal::sign::sign_document(
            &seal_der,
            &unit.signer,
            &unit.cert,
            document,
            "bid-001.pdf",
            at(NOW + 366 * DAY),
        )
        .unwrap();
        let r = verify_signature(&late, Some(document), &w.trust(), &NoStatus);
        // The unit's certificate (one year) also ends then: whichever ends first is named.
        let failed = r.failed_step().unwrap().name;
        assert!(failed == "签章签名值" || failed == "印章有效期", "{failed}");
        // A seal-maker that is not trusted.
        let mut t = w.trust();
        t.seal_makers.clear();
        let r = verify_signature(&sig, Some(document), &t, &NoStatus);
        assert_eq!(r.failed_step().unwrap().name, "制章人证书");
        // A signature byte flipped.
        let mut bad = sig.clone();
        let n = bad.len();
        bad[n - 5] ^= 0x01;
        let r = verify_signature(&bad, Some(document), &w.trust(), &NoStatus);
        assert_eq!(r.failed_step().unwrap().name, "签章签名值");
    }
}

struct Revoked(Vec<u8>);
impl Status for Revoked {
    fn revoked(&self, cert: &x509_cert::Certificate) -> Option<bool> {
        Some(cert.tbs_certificate.serial_number.as_bytes() == self.0.as_slice())
    }
}

#[test]
fn a_revoked_signer_or_altered_seal_is_refused() {
    use der::{Decode, Encode};
    let w = World::new();
    let unit = w.unit("深圳市前海明星科技有限公司", "91350100M000100Y43");
    let seal_der = w.seal(Edition::Gbt38540_2020, &unit);
    let sig = seal::sign::sign_document(
        &seal_der,
        &unit.signer,
        &unit.cert,
        b"doc",
        "d",
        at(NOW + DAY),
    )
    .unwrap();
    let serial = x509_cert::Certificate::from_der(&unit.cert)
        .unwrap()
        .tbs_certificate
        .serial_number
        .as_bytes()
        .to_vec();
    let r = verify_signature(&sig, Some(b"doc"), &w.trust(), &Revoked(serial));
    assert_eq!(r.failed_step().unwrap().name, "签章签名值");
    assert!(r.failed_step().unwrap().detail.contains("已吊销"));
    // Dates moved without the seal-maker: the seal's signature no longer matches.
    let mut s = asn1::Seal::from_der(&seal_der).unwrap();
    s.e_seal_info.property.valid_end =
        der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(NOW + 3650 * DAY))
            .unwrap();
    let moved = s.to_der().unwrap();
    let r = verify_seal(&moved, NOW + DAY, &w.trust(), &NoStatus);
    assert_eq!(r.failed_step().unwrap().name, "印章签名值");
}

#[test]
fn hostile_input_gets_a_message_never_a_panic() {
    let w = World::new();
    let unit = w.unit("深圳市前海明星科技有限公司", "91350100M000100Y43");
    let good = w.seal(Edition::Gbt38540_2020, &unit);
    // Every truncation of a good seal.
    for n in 0..good.len() {
        let r = verify_seal(&good[..n], NOW, &w.trust(), &NoStatus);
        assert!(!r.ok());
        assert_eq!(r.steps[0].name, "印章结构");
        let r = verify_signature(&good[..n], None, &w.trust(), &NoStatus);
        assert!(!r.ok());
    }
    // A 50 MB file.
    let big = vec![0x30u8; 50 * 1024 * 1024];
    match seal::parse::seal(&big) {
        Err(SealError::TooLarge { .. }) => {}
        other => panic!("{other:?}"),
    }
    // A 3 MB picture inside an otherwise well-formed seal.
    let mut spec = w.spec(Edition::Gbt38540_2020, &unit);
    spec.picture_png = vec![0u8; 3 * 1024 * 1024];
    assert!(matches!(
        make_seal(&spec, &w.maker, &w.maker_cert),
        Err(SealError::TooLarge { .. })
    ));
    // A wrong header version (3 is in no edition) and a wrong header id.
    use der::{Decode, Encode};
    let mut s = asn1::Seal::from_der(&good).unwrap();
    s.e_seal_info.header.version = 3;
    let e = seal::parse::seal(&s.to_der().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("版本号 3"), "{e}");
    let mut s = asn1::Seal::from_der(&good).unwrap();
    s.e_seal_info.header.id = der::asn1::Ia5String::new("XX").unwrap();
    let e = seal::parse::seal(&s.to_der().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ES"), "{e}");
    // Tools write version 1 or 2 for the 2014 edition: read by structure, either way.
    let old = w.seal(Edition::Gmt0031_2014, &unit);
    let mut s = asn1::SealV2::from_der(&old).unwrap();
    s.e_seal_info.header.version = 1;
    assert_eq!(
        seal::parse::seal(&s.to_der().unwrap()).unwrap().edition,
        Edition::Gmt0031_2014
    );
    // A 2020 layout that claims version 2 is still read as 2020.
    let mut s = asn1::Seal::from_der(&good).unwrap();
    s.e_seal_info.header.version = 2;
    assert_eq!(
        seal::parse::seal(&s.to_der().unwrap()).unwrap().edition,
        Edition::Gbt38540_2020
    );
    // Random bytes.
    let mut x: u32 = 12345;
    for len in [1usize, 2, 10, 100, 1000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        assert!(!verify_seal(&junk, NOW, &w.trust(), &NoStatus).ok());
    }
}

fn sesverify() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sesverify.py")
}

fn independent(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new("python3")
        .arg(sesverify())
        .args(args)
        .output()
        .expect("python3 (pip install gmssl asn1crypto)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn an_independent_verifier_accepts_our_seals_and_refuses_altered_ones() {
    use der::{Decode, Encode};
    let dir = tempfile::tempdir().unwrap();
    let w = World::new();
    let unit = w.unit("深圳市前海明星科技有限公司", "91350100M000100Y43");
    let other = w.unit("深圳市另一家公司", "91350100M000100Y43");
    let ca = dir.path().join("issuing.der");
    std::fs::write(&ca, &w.issuing).unwrap();
    let doc = dir.path().join("bid.pdf");
    std::fs::write(&doc, "投标文件").unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    for edition in EDITIONS {
        let seal_der = w.seal(edition, &unit);
        let seal_path = write("seal.der", &seal_der);
        let (ok, out) = independent(&[
            "seal".as_ref(),
            seal_path.as_os_str(),
            "--ca".as_ref(),
            ca.as_os_str(),
        ]);
        assert!(ok && out.contains("OK"), "{edition:?} seal: {out}");
        let sig = seal::sign::sign_document(
            &seal_der,
            &unit.signer,
            &unit.cert,
            "投标文件".as_bytes(),
            "bid.pdf",
            at(NOW + DAY),
        )
        .unwrap();
        let sig_path = write("sig.der", &sig);
        let args = |p: &Path| -> Vec<std::ffi::OsString> {
            vec![
                "signature".into(),
                p.into(),
                "--ca".into(),
                ca.clone().into(),
                "--document".into(),
                doc.clone().into(),
            ]
        };
        let run = |p: &Path| {
            let a = args(p);
            let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
            independent(&refs)
        };
        let (ok, out) = run(&sig_path);
        assert!(ok && out.contains("OK"), "{edition:?} signature: {out}");
        // Altered seal signature.
        let mut bad = seal_der.clone();
        let n = bad.len();
        bad[n - 3] ^= 0x01;
        let p = write("bad-seal.der", &bad);
        let (ok, out) = independent(&[
            "seal".as_ref(),
            p.as_os_str(),
            "--ca".as_ref(),
            ca.as_os_str(),
        ]);
        assert!(
            !ok && out.contains("FAIL"),
            "{edition:?} altered seal signature: {out}"
        );
        // A signature whose signer is not in the seal's cert list.
        let stolen = seal::sign::sign_document(
            &seal_der,
            &other.signer,
            &other.cert,
            "投标文件".as_bytes(),
            "bid.pdf",
            at(NOW + DAY),
        )
        .unwrap();
        let (ok, out) = run(&write("stolen.der", &stolen));
        assert!(
            !ok && out.contains("FAIL signer-in-cert-list"),
            "{edition:?}: {out}"
        );
        // Dates altered after signing (the 2020 layout: re-encoded with a later validEnd).
        if edition != Edition::Gmt0031_2014 {
            let mut s = asn1::Seal::from_der(&seal_der).unwrap();
            s.e_seal_info.property.valid_end = der::asn1::GeneralizedTime::from_unix_duration(
                Duration::from_secs(NOW + 3650 * DAY),
            )
            .unwrap();
            let p = write("dates.der", &s.to_der().unwrap());
            let (ok, out) = independent(&[
                "seal".as_ref(),
                p.as_os_str(),
                "--ca".as_ref(),
                ca.as_os_str(),
            ]);
            assert!(!ok && out.contains("FAIL seal-signature"), "{out}");
        }
        // Another document.
        let other_doc = write("other.pdf", b"other");
        let a = [
            std::ffi::OsString::from("signature"),
            sig_path.clone().into(),
            "--ca".into(),
            ca.clone().into(),
            "--document".into(),
            other_doc.into(),
        ];
        let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
        let (ok, out) = independent(&refs);
        assert!(!ok && out.contains("FAIL document-hash"), "{out}");
    }
}

/// The seal fuzz target's seeds (`fuzz/seeds/seal/`): a seal and a signature of each edition
/// as these tests make them, plus a Base64 seal; each reads back as its edition.
/// `CERTHALL_WRITE_FUZZ_SEEDS=1` makes them anew (fresh keys, so new bytes).
#[test]
fn the_seal_fuzz_seeds_are_seals_and_signatures_of_every_edition() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/seal");
    let tag = |e: Edition| match e {
        Edition::Gmt0031_2014 => "2014",
        Edition::Gbt38540_2020 => "2020",
        Edition::Gbt38540_2025 => "2025",
    };
    if std::env::var_os("CERTHALL_WRITE_FUZZ_SEEDS").is_some() {
        let w = World::new();
        let unit = w.unit("深圳市前海明星科技有限公司", "91350100M000100Y43");
        std::fs::create_dir_all(&dir).unwrap();
        for edition in EDITIONS {
            let seal_der = w.seal(edition, &unit);
            let sig = seal::sign::sign_document(
                &seal_der,
                &unit.signer,
                &unit.cert,
                b"fuzz seed",
                "seed.pdf",
                at(NOW + DAY),
            )
            .unwrap();
            std::fs::write(dir.join(format!("seal-{}.der", tag(edition))), &seal_der).unwrap();
            std::fs::write(dir.join(format!("signature-{}.der", tag(edition))), &sig).unwrap();
            if edition == Edition::Gbt38540_2020 {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(&seal_der);
                std::fs::write(dir.join("seal-2020.b64"), b64).unwrap();
            }
        }
    }
    for edition in EDITIONS {
        let seal_der = std::fs::read(dir.join(format!("seal-{}.der", tag(edition)))).unwrap();
        assert_eq!(seal::parse::seal(&seal_der).unwrap().edition, edition);
        let sig = std::fs::read(dir.join(format!("signature-{}.der", tag(edition)))).unwrap();
        let view = seal::parse::signature(&sig).unwrap();
        assert_eq!((view.edition, view.seal.der), (edition, seal_der));
    }
    let b64 = std::fs::read(dir.join("seal-2020.b64")).unwrap();
    assert_eq!(
        seal::parse::seal(&b64).unwrap().edition,
        Edition::Gbt38540_2020
    );
}
