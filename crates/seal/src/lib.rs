//! Electronic seals (电子印章) and seal signatures (电子签章).
//!
//! - [`make`]: a seal-maker (制章人) makes a `SESeal` for a unit from its picture and its
//!   机构证书 ([`make::make_seal`]); the seal-maker certificate itself ([`make::seal_maker_cert`]).
//! - [`sign`]: what a platform does with the seal: a `SES_Signature` over a document's hash.
//! - [`parse`]: every edition read by structure into one [`parse::SealView`].
//! - [`verify`]: verification in the standard's order, each step named in Chinese.
//! - [`picture`]: the red impression of a scanned 印模采集表 extracted into a transparent PNG.
//!
//! Pure: no clock reads (callers pass the time), no I/O.
#![forbid(unsafe_code)]

pub mod asn1;
pub mod make;
pub mod parse;
pub mod picture;
pub mod sign;
pub mod verify;

pub use asn1::Edition;

/// What can go wrong making, parsing or signing a seal. Messages are Chinese: they reach
/// staff and the public verification page.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The bytes are not a seal / signature of any edition.
    #[error("{what}格式错误:{detail}")]
    Format {
        /// 电子印章 / 电子签章
        what: &'static str,
        /// what the decoder said
        detail: String,
    },
    /// Input larger than accepted.
    #[error("{what}过大:{len} 字节,最多 {max} 字节")]
    TooLarge {
        /// what
        what: &'static str,
        /// its size
        len: usize,
        /// the limit
        max: usize,
    },
    /// A field that cannot be encoded (name not UTF-8 encodable, esID not IA5…).
    #[error("{field}:{reason}")]
    Field {
        /// the field
        field: &'static str,
        /// why
        reason: String,
    },
    /// Signing failed.
    #[error("签名失败:{0}")]
    Sign(#[from] pki::PkiError),
}

impl From<der::Error> for SealError {
    fn from(e: der::Error) -> Self {
        SealError::Format {
            what: "电子印章",
            detail: e.to_string(),
        }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, SealError>;

/// The largest seal or signature file accepted (a seal picture is a few tens of KB; 4 MiB
/// leaves room for a high-resolution picture and a certificate chain).
pub const MAX_FILE: usize = 4 * 1024 * 1024;
/// The largest seal picture accepted inside a seal.
pub const MAX_PICTURE: usize = 2 * 1024 * 1024;
