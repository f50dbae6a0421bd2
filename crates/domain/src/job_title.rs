//! 职务: a person's position in the unit (e.g. 经理, 财务主管).

use crate::text::{plain, string_conversions, TextProblem};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a 职务 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobTitleError {
    /// Nothing was typed.
    #[error("请输入职务")]
    Empty,
    /// Fewer than 2 characters.
    #[error("职务至少2个字,请填写完整")]
    TooShort,
    /// More than 50 characters.
    #[error("职务不能超过50个字")]
    TooLong,
    /// A control or invisible character (line break, tab, NUL, zero-width, direction override).
    #[error("职务含有换行、制表符等不可见字符,请删除后重新输入")]
    Forbidden,
}

impl From<TextProblem> for JobTitleError {
    fn from(p: TextProblem) -> Self {
        match p {
            TextProblem::Empty => Self::Empty,
            TextProblem::TooShort => Self::TooShort,
            TextProblem::TooLong => Self::TooLong,
            TextProblem::Forbidden => Self::Forbidden,
        }
    }
}

/// 职务: 2–50 characters (counted as characters, not bytes) after trimming
/// surrounding whitespace, with no control or invisible character
/// (see [`crate::text::is_forbidden_char`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobTitle(String);

impl JobTitle {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, JobTitleError> {
        Ok(Self(plain(input, 2, 50)?.to_owned()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(JobTitle, JobTitleError);

impl fmt::Display for JobTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JobTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobTitle({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_trimmed_text() {
        assert_eq!(JobTitle::parse(" 经理 ").unwrap().as_str(), "经理");
        assert_eq!(JobTitle::parse(" 财务主管 ").unwrap().as_str(), "财务主管");
        assert_eq!(
            JobTitle::parse(" IT Manager ").unwrap().as_str(),
            "IT Manager"
        );
    }

    #[test]
    fn refuses_empty_short_long_and_control_characters() {
        assert_eq!(JobTitle::parse(" \u{3000} "), Err(JobTitleError::Empty));
        assert_eq!(JobTitle::parse("深"), Err(JobTitleError::TooShort));
        assert!(JobTitle::parse(&"深".repeat(50)).is_ok());
        assert_eq!(
            JobTitle::parse(&"深".repeat(51)),
            Err(JobTitleError::TooLong)
        );
        for bad in ["经理\0", "经\n理", "经\u{200B}理"] {
            assert_eq!(
                JobTitle::parse(bad),
                Err(JobTitleError::Forbidden),
                "{bad:?}"
            );
        }
        assert_eq!(JobTitleError::TooLong.to_string(), "职务不能超过50个字");
    }
}
