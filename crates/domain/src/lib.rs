//! Business types of certhall. Everything here is pure: no I/O, no async, no clock reads.
//! Identifiers are parsed at the edge (`Phone::parse`, …) and cannot exist invalid.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod address;
pub mod bank_account;
pub mod bank_name;
pub mod calendar;
pub mod credit_code;
pub mod date;
pub mod email;
pub mod id_number;
pub mod job_title;
pub mod mask;
pub mod money;
pub mod order_no;
pub mod person_name;
pub mod phone;
pub mod tax_number;
pub mod text;
pub mod unit_name;

pub use address::{Address, AddressError};
pub use bank_account::{BankAccount, BankAccountError};
pub use bank_name::{BankName, BankNameError};
pub use calendar::{CalendarError, DayKind, Holiday, WorkCalendar, YearSchedule};
pub use credit_code::{CreditCode, CreditCodeError};
pub use date::{Date, DateError, DateTime, Weekday};
pub use email::{Email, EmailError};
pub use id_number::{IdNumber, IdNumberError};
pub use job_title::{JobTitle, JobTitleError};
pub use money::{Money, MoneyError};
pub use order_no::{OrderKind, OrderNo, OrderNoError};
pub use person_name::{PersonName, PersonNameError};
pub use phone::{Phone, PhoneError};
pub use tax_number::{TaxNumber, TaxNumberError};
pub use unit_name::{UnitName, UnitNameError};
