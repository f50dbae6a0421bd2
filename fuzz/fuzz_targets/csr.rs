//! CSR parsing (PEM or DER, key checks, proof of possession) must never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pki::csr::parse_csr(data);
});
