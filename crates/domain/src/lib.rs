//! Business types of certhall. Everything here is pure: no I/O, no async, no clock reads.
//! Identifiers are parsed at the edge (`Phone::parse`, …) and cannot exist invalid.
//!
//! - identifiers of people and units: [`IdNumber`] (GB 11643), [`CreditCode`] (GB 32100),
//!   [`TaxNumber`], [`Phone`], [`Email`], [`BankAccount`];
//! - form text: [`PersonName`], [`UnitName`], [`Address`], [`JobTitle`], [`BankName`]
//!   (all refuse control and invisible characters, see [`text::is_forbidden_char`]);
//! - orders and money: [`OrderNo`], [`Money`];
//! - time: [`Date`], [`DateTime`] and the working-day [`WorkCalendar`].
//!
//! Each error's `Display` is a Chinese message for the person who typed the value. The `Debug`
//! of personal data prints only a masked form ([`mask`]).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod address;
pub mod bank_account;
pub mod bank_name;
pub mod calendar;
pub mod catalogue;
pub mod credit_code;
pub mod date;
pub mod email;
pub mod form;
pub mod id_number;
pub mod job_title;
pub mod mask;
pub mod money;
pub mod order;
pub mod order_no;
pub mod person_name;
pub mod phone;
pub mod renewal;
pub mod tax_number;
pub mod text;
pub mod unit_name;

pub use address::{Address, AddressError};
pub use bank_account::{BankAccount, BankAccountError};
pub use bank_name::{BankName, BankNameError};
pub use calendar::{CalendarError, DayKind, Holiday, WorkCalendar, YearSchedule};
pub use catalogue::{Catalogue, CatalogueError, CertType};
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parser of typed input refuses NUL and other control characters, wherever they are.
    #[test]
    fn every_parser_refuses_control_characters() {
        let today = Date::new(2026, 11, 23).unwrap();
        type Accepts<'a> = &'a dyn Fn(&str) -> bool;
        let valid: [(&str, Accepts); 13] = [
            ("11010519491231002X", &|s| IdNumber::parse(s, today).is_ok()),
            ("91110000600037341L", &|s| CreditCode::parse(s).is_ok()),
            ("13800138000", &|s| Phone::parse(s).is_ok()),
            ("zhangsan@qq.com", &|s| Email::parse(s).is_ok()),
            ("44201500100052526093", &|s| BankAccount::parse(s).is_ok()),
            ("张小明", &|s| PersonName::parse(s).is_ok()),
            ("深圳市某某科技有限公司", &|s| {
                UnitName::parse(s).is_ok()
            }),
            ("广东省深圳市福田区深南大道1号", &|s| {
                Address::parse(s).is_ok()
            }),
            ("91110000600037341L", &|s| TaxNumber::parse(s).is_ok()),
            ("财务经理", &|s| JobTitle::parse(s).is_ok()),
            ("中国工商银行深圳市分行", &|s| {
                BankName::parse(s).is_ok()
            }),
            ("XB20261001000042", &|s| OrderNo::parse(s).is_ok()),
            ("1234.50", &|s| Money::parse_yuan(s).is_ok()),
        ];
        for (good, accepts) in valid {
            assert!(accepts(good), "{good} should be accepted");
            let chars: Vec<char> = good.chars().collect();
            for bad_char in ['\0', '\u{1}', '\u{7F}', '\u{9B}', '\u{200B}', '\u{202E}'] {
                for pos in [1, chars.len() / 2, chars.len() - 1] {
                    let mut bad = chars.clone();
                    bad.insert(pos, bad_char);
                    let bad: String = bad.into_iter().collect();
                    assert!(!accepts(&bad), "{bad:?} was accepted");
                }
            }
        }
    }
}
