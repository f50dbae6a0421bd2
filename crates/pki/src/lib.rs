//! The SM2 certificate authority of certhall: keys, CSR checks, GM/T 0015 profiles, issuance,
//! CRLs, OCSP and key envelopes. Pure: no database, no HTTP, no clock reads (callers pass `now`).
//! The certificate kind and the identifiers that go into certificates are `domain`'s types.
//! Every signature is SM3withSM2 (1.2.156.10197.1.501) with the GM/T 0009 default signer ID.
#![forbid(unsafe_code)]

pub mod crl;
pub mod csr;
pub mod envelope;
pub mod error;
pub mod fast;
pub mod inspect;
pub mod issue;
pub mod keys;
pub mod lint;
pub mod names;
pub mod nonce;
pub mod ocsp;
pub mod oid;
pub mod possession;
pub mod profile;
pub mod signer;
pub mod token;

pub use error::{PkiError, Result};
pub use issue::{CaCert, IssueRequest, Issued, Issuer, Prepared, PublishConfig};
pub use profile::{parse_profile, profile_name, CertType, SubjectData, Usage};
pub use signer::{KeySigner, Signer};

/// Re-exports of the curve crate, so callers name the same types.
pub use sm2;
