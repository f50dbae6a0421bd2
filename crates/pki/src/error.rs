//! The one error type of the `pki` crate.

/// Everything that can go wrong in the CA primitives. Messages name the cause plainly so the
/// CLI and the staff console can show them as they are; none of them carries key material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The input is not PEM of the expected label nor DER.
    #[error("not a PEM or DER {what}: {detail}")]
    Encoding {
        /// what was expected ("certificate request", "OCSP request", …)
        what: &'static str,
        /// the decoder's complaint
        detail: String,
    },
    /// The input is larger than this crate accepts for its kind.
    #[error("{what} is too large: {len} bytes, at most {max} accepted")]
    TooLarge {
        /// what was being read
        what: &'static str,
        /// its length
        len: usize,
        /// the limit
        max: usize,
    },
    /// The public key is not an SM2 key on the SM2 curve (GM/T 0006 1.2.156.10197.1.301).
    #[error("public key refused: {0}")]
    KeyAlgorithm(String),
    /// A signature (CSR proof of possession, or any other) does not verify.
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    /// The signature algorithm is not SM3withSM2 (1.2.156.10197.1.501).
    #[error("signature algorithm {0} refused: only SM3withSM2 (1.2.156.10197.1.501) is accepted")]
    SignatureAlgorithm(String),
    /// A field of the order or of the CSR does not fit the profile.
    #[error("{field}: {reason}")]
    Profile {
        /// the field concerned
        field: &'static str,
        /// why it was refused
        reason: String,
    },
    /// The to-be-signed certificate failed one of our own pre-signing lints.
    #[error("lint {0}")]
    Lint(String),
    /// A private key could not be read, decrypted or written.
    #[error("private key: {0}")]
    Key(String),
    /// The signer (key file or HSM) failed.
    #[error("signer: {0}")]
    Signer(String),
    /// A key envelope could not be made or opened.
    #[error("key envelope: {0}")]
    Envelope(String),
    /// DER encoding of our own structure failed (a bug or an out-of-range value).
    #[error("DER: {0}")]
    Der(#[from] der::Error),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, PkiError>;

impl PkiError {
    /// Shorthand for a profile error.
    pub(crate) fn profile(field: &'static str, reason: impl Into<String>) -> Self {
        PkiError::Profile {
            field,
            reason: reason.into(),
        }
    }
}
