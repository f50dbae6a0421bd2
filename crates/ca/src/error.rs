//! The one error type of the `ca` crate.

use crate::storage::StorageError;
use pki::PkiError;

/// What can go wrong in the CA service. None of the messages carries key material or
/// personal data.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The request does not fit its profile, fails a lint, or a primitive failed (including
    /// the signer: `PkiError::Signer`).
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The storage refused or failed.
    #[error("CA storage: {0}")]
    Storage(#[from] StorageError),
    /// The pipeline stopped after recording: the named serials were recorded and then
    /// dropped (marked abandoned when the storage allowed it); none of them was handed out.
    #[error("{stage}: {cause}; serials {serials:?} recorded but not issued (never signed again)")]
    Interrupted {
        /// Which step failed (`signing`, `storing`).
        stage: &'static str,
        /// The failure.
        cause: String,
        /// The serials of the batch, upper-case hex.
        serials: Vec<String>,
    },
    /// A file of the CA directory could not be read or written.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The CA directory or its configuration is not usable as asked (exists already, key
    /// does not match, bad OID, …).
    #[error("{0}")]
    Setup(String),
    /// No certificate of this CA with that serial is in the state the operation needs.
    #[error("{0}")]
    NotFound(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, CaError>;

impl CaError {
    pub(crate) fn file(path: &std::path::Path, detail: impl std::fmt::Display) -> Self {
        CaError::File {
            path: path.display().to_string(),
            detail: detail.to_string(),
        }
    }
}
