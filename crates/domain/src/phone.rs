//! 手机号码: mainland China mobile numbers as the carriers issue them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a mobile number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing was typed.
    #[error("请输入手机号码")]
    Empty,
    /// Not 11 digits starting with 1[3-9].
    #[error("手机号码格式不正确,请输入11位中国大陆手机号码")]
    Format,
}

/// An 11-digit mainland mobile number (1[3-9]xxxxxxxxx). Spaces, dashes and a leading
/// +86 / 86 are removed before checking.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let digits: String = crate::text::identifier_chars(input)
            .chars()
            .filter(|c| *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| {
                (digits.len() == 13)
                    .then(|| digits.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() != 11
            || !b.iter().all(u8::is_ascii_digit)
            || b[0] != b'1'
            || !(b'3'..=b'9').contains(&b[1])
        {
            return Err(PhoneError::Format);
        }
        Ok(Self(digits.to_owned()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as shown where the full number is not needed: 138****5678.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.0, 3, 4)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> Self {
        p.0
    }
}

/// Debug never prints the whole number, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mainland_mobiles_with_decoration() {
        assert_eq!(Phone::parse("13800138000").unwrap().as_str(), "13800138000");
        assert_eq!(
            Phone::parse("+86 138-0013-8000").unwrap().as_str(),
            "13800138000"
        );
        assert_eq!(
            Phone::parse("8619912345678").unwrap().as_str(),
            "19912345678"
        );
        // Full-width digits, dash and plus (a Chinese input method), surrounding spaces.
        for typed in [
            "１３８００１３８０００",
            " ＋８６ １３８－００１３－８０００ ",
            "\u{3000}13800138000\n",
        ] {
            assert_eq!(
                Phone::parse(typed).unwrap().as_str(),
                "13800138000",
                "{typed:?}"
            );
        }
    }

    #[test]
    fn refuses_other_shapes() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        for bad in [
            "1380013800",
            "138001380001",
            "12800138000",
            "23800138000",
            "1380013800a",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError::Format), "{bad}");
        }
    }

    #[test]
    fn masks_and_hides_from_debug() {
        let p = Phone::parse("13800138000").unwrap();
        assert_eq!(p.masked(), "138****8000");
        assert!(!format!("{p:?}").contains("13800138000"));
    }
}
