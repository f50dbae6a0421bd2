//! The pki crate's integration tests, one binary: bad input to the parsers, key envelopes,
//! interoperability (certificates, CRL and OCSP checked by openssl, sm2verify.py and pkilint),
//! and the issuance pipeline under injected faults. `common` holds the CA fixture and the
//! external checkers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod bad_input;
mod envelope;
mod interop;
mod relying;
