//! Business types of certhall. Everything here is pure: no I/O, no async, no clock reads.
//! Identifiers are parsed at the edge (`Phone::parse`, …) and cannot exist invalid.
#![forbid(unsafe_code)]

pub mod mask;
pub mod phone;

pub use phone::{Phone, PhoneError};
