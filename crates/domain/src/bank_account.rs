//! 银行账号: the number of a bank account, here the unit's corporate account used for
//! 金融认证 (the micro-deposit goes to it).

use crate::text::string_conversions;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a bank account number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankAccountError {
    /// Nothing was typed.
    #[error("请输入银行账号")]
    Empty,
    /// Something other than digits and spaces.
    #[error("银行账号只能填写数字,请勿包含字母、横线或其他符号")]
    Characters,
    /// Fewer than 8 or more than 32 digits.
    #[error("银行账号应为8至32位数字,请核对")]
    Length,
}

/// A bank account number: 8–32 ASCII digits once spaces (including the ideographic space) are
/// removed.
///
/// There is deliberately no Luhn check: card numbers carry one, but Chinese corporate
/// settlement accounts (对公账户) are numbered by each bank's own scheme and many valid ones
/// fail it. A wrong number is caught by the micro-deposit of 金融认证 instead.
///
/// Personal data: there is no `Display`; pages that show the whole value call `as_str`,
/// and `Debug` prints the masked form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankAccount(String);

impl BankAccount {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, BankAccountError> {
        let digits = crate::text::identifier_chars(input);
        if digits.is_empty() {
            return Err(BankAccountError::Empty);
        }
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(BankAccountError::Characters);
        }
        if !(8..=32).contains(&digits.len()) {
            return Err(BankAccountError::Length);
        }
        Ok(Self(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits in groups of four for reading aloud or copying: 6222 0212 3456 7890.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The number as shown where the whole of it is not needed: the first and last four digits.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.0, 4, 4)
    }

    /// The last four digits, e.g. for "尾号 7890".
    pub fn last_four(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

string_conversions!(BankAccount, BankAccountError);

/// Debug never prints the whole number, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for BankAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankAccount({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_digits_with_spaces() {
        let a = BankAccount::parse(" 4420 1500 1000 5252 6093 ").unwrap();
        assert_eq!(a.as_str(), "44201500100052526093");
        assert_eq!(a.grouped(), "4420 1500 1000 5252 6093");
        assert_eq!(a.last_four(), "6093");
        assert_eq!(
            BankAccount::parse("４４２０\u{3000}１５００１０００５２５２６０９３")
                .unwrap()
                .as_str(),
            "44201500100052526093"
        );
        assert!(BankAccount::parse("12345678").is_ok());
        assert!(BankAccount::parse(&"1".repeat(32)).is_ok());
        // Fails Luhn, still accepted (corporate accounts).
        assert!(BankAccount::parse("6222021234567891").is_ok());
    }

    #[test]
    fn refuses_other_shapes() {
        assert_eq!(BankAccount::parse("  "), Err(BankAccountError::Empty));
        for bad in [
            "4420-1500-1000",
            "442015001000525260Ｏ3",
            "44201500100052526O93",
            "4420\u{0}1500100",
        ] {
            assert_eq!(
                BankAccount::parse(bad),
                Err(BankAccountError::Characters),
                "{bad:?}"
            );
        }
        assert_eq!(BankAccount::parse("1234567"), Err(BankAccountError::Length));
        assert_eq!(
            BankAccount::parse(&"1".repeat(33)),
            Err(BankAccountError::Length)
        );
    }

    #[test]
    fn masks_and_hides_from_debug() {
        let a = BankAccount::parse("44201500100052526093").unwrap();
        assert_eq!(a.masked(), "4420************6093");
        assert!(!format!("{a:?}").contains("44201500100052526093"));
    }
}
