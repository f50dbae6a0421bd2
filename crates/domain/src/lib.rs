//! Business types of certhall. Everything here is pure: no I/O, no async, no clock reads.
//! Identifiers are parsed at the edge (`Phone::parse`, …) and cannot exist invalid.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod date;
pub mod mask;
pub mod phone;

pub use date::{Date, DateError, DateTime, Weekday};
pub use phone::{Phone, PhoneError};
