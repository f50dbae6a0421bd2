//! 开户银行: the bank and branch where an account is held (e.g. 中国工商银行深圳市分行).

use crate::text::{plain, string_conversions, TextProblem};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a 开户银行 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankNameError {
    /// Nothing was typed.
    #[error("请输入开户银行")]
    Empty,
    /// Fewer than 2 characters.
    #[error("开户银行至少2个字,请填写完整")]
    TooShort,
    /// More than 100 characters.
    #[error("开户银行不能超过100个字")]
    TooLong,
    /// A control or invisible character (line break, tab, NUL, zero-width, direction override).
    #[error("开户银行含有换行、制表符等不可见字符,请删除后重新输入")]
    Forbidden,
}

impl From<TextProblem> for BankNameError {
    fn from(p: TextProblem) -> Self {
        match p {
            TextProblem::Empty => Self::Empty,
            TextProblem::TooShort => Self::TooShort,
            TextProblem::TooLong => Self::TooLong,
            TextProblem::Forbidden => Self::Forbidden,
        }
    }
}

/// 开户银行: 2–100 characters (counted as characters, not bytes) after trimming
/// surrounding whitespace, with no control or invisible character
/// (see [`crate::text::is_forbidden_char`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankName(String);

impl BankName {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, BankNameError> {
        Ok(Self(plain(input, 2, 100)?.to_owned()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(BankName, BankNameError);

impl fmt::Display for BankName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BankName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_trimmed_text() {
        assert_eq!(
            BankName::parse(" 中国工商银行深圳市分行 ")
                .unwrap()
                .as_str(),
            "中国工商银行深圳市分行"
        );
        assert_eq!(
            BankName::parse(" 招商银行深圳车公庙支行 ")
                .unwrap()
                .as_str(),
            "招商银行深圳车公庙支行"
        );
    }

    #[test]
    fn refuses_empty_short_long_and_control_characters() {
        assert_eq!(BankName::parse(" \u{3000} "), Err(BankNameError::Empty));
        assert_eq!(BankName::parse("深"), Err(BankNameError::TooShort));
        assert!(BankName::parse(&"深".repeat(100)).is_ok());
        assert_eq!(
            BankName::parse(&"深".repeat(101)),
            Err(BankNameError::TooLong)
        );
        for bad in [
            "中国工商银行深圳市分行\0",
            "中国\n工商银行深圳市分行",
            "中\u{200B}国工商银行深圳市分行",
        ] {
            assert_eq!(
                BankName::parse(bad),
                Err(BankNameError::Forbidden),
                "{bad:?}"
            );
        }
        assert_eq!(
            BankNameError::TooLong.to_string(),
            "开户银行不能超过100个字"
        );
    }
}
