//! 单位名称: the full registered name of an organisation, as on its business licence.

use crate::text::{plain, string_conversions, TextProblem};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a 单位名称 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitNameError {
    /// Nothing was typed.
    #[error("请输入单位名称")]
    Empty,
    /// Fewer than 2 characters.
    #[error("单位名称至少2个字,请填写完整")]
    TooShort,
    /// More than 100 characters.
    #[error("单位名称不能超过100个字")]
    TooLong,
    /// A control or invisible character (line break, tab, NUL, zero-width, direction override).
    #[error("单位名称含有换行、制表符等不可见字符,请删除后重新输入")]
    Forbidden,
}

impl From<TextProblem> for UnitNameError {
    fn from(p: TextProblem) -> Self {
        match p {
            TextProblem::Empty => Self::Empty,
            TextProblem::TooShort => Self::TooShort,
            TextProblem::TooLong => Self::TooLong,
            TextProblem::Forbidden => Self::Forbidden,
        }
    }
}

/// 单位名称: 2–100 characters (counted as characters, not bytes) after trimming
/// surrounding whitespace, with no control or invisible character
/// (see [`crate::text::is_forbidden_char`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitName(String);

impl UnitName {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, UnitNameError> {
        Ok(Self(plain(input, 2, 100)?.to_owned()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(UnitName, UnitNameError);

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_trimmed_text() {
        assert_eq!(
            UnitName::parse(" 深圳市某某科技有限公司 ")
                .unwrap()
                .as_str(),
            "深圳市某某科技有限公司"
        );
        assert_eq!(
            UnitName::parse(" 中国银行股份有限公司深圳市分行（营业部） ")
                .unwrap()
                .as_str(),
            "中国银行股份有限公司深圳市分行（营业部）"
        );
    }

    #[test]
    fn refuses_empty_short_long_and_control_characters() {
        assert_eq!(UnitName::parse(" \u{3000} "), Err(UnitNameError::Empty));
        assert_eq!(UnitName::parse("深"), Err(UnitNameError::TooShort));
        assert!(UnitName::parse(&"深".repeat(100)).is_ok());
        assert_eq!(
            UnitName::parse(&"深".repeat(101)),
            Err(UnitNameError::TooLong)
        );
        for bad in [
            "深圳市某某科技有限公司\0",
            "深圳\n市某某科技有限公司",
            "深\u{200B}圳市某某科技有限公司",
        ] {
            assert_eq!(
                UnitName::parse(bad),
                Err(UnitNameError::Forbidden),
                "{bad:?}"
            );
        }
        assert_eq!(
            UnitNameError::TooLong.to_string(),
            "单位名称不能超过100个字"
        );
    }
}
