//! 地址: a postal or registered address, free text.

use crate::text::{plain, string_conversions, TextProblem};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a 地址 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing was typed.
    #[error("请输入地址")]
    Empty,
    /// Fewer than 5 characters.
    #[error("地址至少5个字,请填写完整")]
    TooShort,
    /// More than 200 characters.
    #[error("地址不能超过200个字")]
    TooLong,
    /// A control or invisible character (line break, tab, NUL, zero-width, direction override).
    #[error("地址含有换行、制表符等不可见字符,请删除后重新输入")]
    Forbidden,
}

impl From<TextProblem> for AddressError {
    fn from(p: TextProblem) -> Self {
        match p {
            TextProblem::Empty => Self::Empty,
            TextProblem::TooShort => Self::TooShort,
            TextProblem::TooLong => Self::TooLong,
            TextProblem::Forbidden => Self::Forbidden,
        }
    }
}

/// 地址: 5–200 characters (counted as characters, not bytes) after trimming
/// surrounding whitespace, with no control or invisible character
/// (see [`crate::text::is_forbidden_char`]).
///
/// Personal data: there is no `Display`; pages that show the whole value call `as_str`,
/// and `Debug` prints the masked form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address(String);

impl Address {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        Ok(Self(plain(input, 5, 200)?.to_owned()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 地址 as shown where the whole of it is not needed: the first 6 characters, the rest as `*`.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.0, 6, 0)
    }
}

string_conversions!(Address, AddressError);

/// Debug never prints the whole 地址, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_trimmed_text() {
        assert_eq!(
            Address::parse(" 广东省深圳市福田区深南大道1号 ")
                .unwrap()
                .as_str(),
            "广东省深圳市福田区深南大道1号"
        );
        assert_eq!(
            Address::parse(" Room 1, 2 Main St, Hong Kong ")
                .unwrap()
                .as_str(),
            "Room 1, 2 Main St, Hong Kong"
        );
    }

    #[test]
    fn refuses_empty_short_long_and_control_characters() {
        assert_eq!(Address::parse(" \u{3000} "), Err(AddressError::Empty));
        assert_eq!(Address::parse(&"深".repeat(4)), Err(AddressError::TooShort));
        assert!(Address::parse(&"深".repeat(200)).is_ok());
        assert_eq!(
            Address::parse(&"深".repeat(201)),
            Err(AddressError::TooLong)
        );
        for bad in [
            "广东省深圳市福田区深南大道1号\0",
            "广东\n省深圳市福田区深南大道1号",
            "广\u{200B}东省深圳市福田区深南大道1号",
        ] {
            assert_eq!(Address::parse(bad), Err(AddressError::Forbidden), "{bad:?}");
        }
        assert_eq!(AddressError::TooLong.to_string(), "地址不能超过200个字");
    }

    #[test]
    fn hides_from_debug() {
        let v = Address::parse("广东省深圳市福田区深南大道1号").unwrap();
        assert!(!format!("{v:?}").contains("广东省深圳市福田区深南大道1号"));
        assert!(v.masked().starts_with("广东省深圳市*"));
    }
}
