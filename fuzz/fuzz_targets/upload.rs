//! The upload check (`app::uploads::check_now`: magic sniffing, PDF tail, image header
//! limits, decode and re-encode) must never panic, and what it accepts must be what it says:
//! the stored bytes start with the magic of the reported type, the digest is theirs, a PDF is
//! kept byte for byte, and a re-encoded image passes the check again as the same type.
#![no_main]
use app::uploads::{check_now, sniff};
use sha2::{Digest, Sha256};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(file) = check_now("file", data) else {
        return;
    };
    assert_eq!(
        sniff(data),
        Some(file.mime),
        "accepted type is not the input's magic"
    );
    assert_eq!(
        sniff(&file.bytes),
        Some(file.mime),
        "stored bytes lost their magic"
    );
    assert_eq!(file.sha256, hex::encode(Sha256::digest(&file.bytes)));
    if file.mime == "application/pdf" {
        assert_eq!(file.bytes, data, "a PDF is stored as uploaded");
    } else {
        let again = check_now("file", &file.bytes).expect("a re-encoded image checks again");
        assert_eq!(again.mime, file.mime);
    }
});
