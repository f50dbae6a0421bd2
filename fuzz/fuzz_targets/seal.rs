//! Electronic seals and seal signatures (`seal::parse`, every edition told by structure:
//! GM/T 0031-2014, GB/T 38540-2020/2025; DER, PEM or Base64) must never panic, nor must the
//! step-by-step verifiers that start from them. A parsed seal is consistent: its edition is
//! the one its DER's shape says, its header is `ES` with a known version, its picture within
//! the limit, the signed bytes are the DER's first element, and its own DER reads back the
//! same; a parsed signature says it is one, and holds such a seal.
#![no_main]
use seal::parse::{is_signature, seal, signature, SealView};
use seal::verify::{render, verify_seal, verify_signature, NoStatus, Trust};
use seal::{Edition, MAX_PICTURE};

fn consistent(v: &SealView) {
    assert_eq!(Edition::of_seal(&v.der), Some(v.edition));
    assert_eq!(v.header_id, "ES");
    assert!(matches!(v.header_version, 1 | 2 | 4 | 5));
    assert!(v.picture.len() <= MAX_PICTURE);
    assert!(
        v.der
            .windows(v.signed_bytes.len())
            .any(|w| w == v.signed_bytes.as_slice()),
        "signed bytes are not inside the seal"
    );
    let again = seal(&v.der).expect("a parsed seal's DER parses again");
    assert_eq!(again.edition, v.edition);
    assert_eq!(again.signed_bytes, v.signed_bytes);
    assert_eq!(again.es_id, v.es_id);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(v) = seal(data) {
        consistent(&v);
    }
    if let Ok(s) = signature(data) {
        consistent(&s.seal);
        assert!(!s.signed_bytes.is_empty());
    }
    let _ = is_signature(data);
    let trust = Trust::default();
    let r = verify_seal(data, 1_795_399_200, &trust, &NoStatus);
    let _ = render(&r);
    let r = verify_signature(data, Some(b"document"), &trust, &NoStatus);
    let _ = render(&r);
});
