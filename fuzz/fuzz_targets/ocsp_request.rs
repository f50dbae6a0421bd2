//! OCSP request parsing, both the DER (POST) and the GET path forms, must never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pki::ocsp::parse_request(data);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(der) = pki::ocsp::decode_get(s) {
            let _ = pki::ocsp::parse_request(&der);
        }
    }
});
