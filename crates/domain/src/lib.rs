//! Business types of certhall. Everything here is pure: no I/O, no async, no clock reads.
//! Identifiers are parsed at the edge (`Phone::parse`, …) and cannot exist invalid.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod credit_code;
pub mod date;
pub mod id_number;
pub mod mask;
pub mod phone;
pub mod text;

pub use credit_code::{CreditCode, CreditCodeError};
pub use date::{Date, DateError, DateTime, Weekday};
pub use id_number::{IdNumber, IdNumberError};
pub use phone::{Phone, PhoneError};
