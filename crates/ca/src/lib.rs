//! The certhall CA service, between the callers that want certificates (the command line,
//! the staff console's production step, the benchmark) and the pure primitives of `pki`.
//!
//! - [`Ca::issue`] is the one issuance pipeline, Boulder's shape (`ca/ca.go` around
//!   `issuance/cert.go`): prepare (profile, TBS, lints; `pki::Issuer::prepare` returns a
//!   token) → record the serial and TBS durably ([`CaStorage::record`]) → sign each token once
//!   (`pki::Issuer::issue` consumes it) → store the certificate ([`CaStorage::store`]).
//!   Every caller goes through it, so its fault-injection tests (`tests/pipeline.rs`) cover
//!   what production runs.
//! - [`Publisher`]: the OCSP responder with pre-signed responses, the CRL source and the
//!   refresher that keeps both fresh.
//! - [`files`]: `ca.toml`, the certificates and the encrypted keys of a CA directory.
//! - Ports: [`CaStorage`] (the issuance log, revocations, CRLs, key escrow; implemented on the
//!   hall's database by `store::ca::CaStore`, in memory by [`MemoryStorage`]) and [`Clock`]
//!   (the binary passes the hall's clock: nothing here reads the system time).
#![forbid(unsafe_code)]

pub mod clock;
pub mod error;
pub mod files;
pub mod publisher;
pub mod service;
pub mod storage;

pub use clock::{Clock, FixedClock};
pub use error::{CaError, Result};
pub use files::{CaConfig, CaFiles};
pub use publisher::Publisher;
pub use service::{Ca, FaultPoints, Pair, PairSerials, Revocation};
pub use storage::{CaStorage, MemoryStorage, SerialStatus, StorageError};

/// Re-export of the primitives, so callers name the same types.
pub use pki;
