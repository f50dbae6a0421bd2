//! 姓名: a person's name as on their identity document.

use crate::text::{is_forbidden_char, string_conversions};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    /// Nothing was typed.
    #[error("请输入姓名")]
    Empty,
    /// Fewer than 2 characters.
    #[error("姓名至少2个字,请填写完整姓名")]
    TooShort,
    /// More than 30 characters.
    #[error("姓名不能超过30个字")]
    TooLong,
    /// A digit.
    #[error("姓名不能包含数字")]
    Digits,
    /// A control or invisible character.
    #[error("姓名含有换行、制表符等不可见字符,请删除后重新输入")]
    Forbidden,
    /// Something other than Chinese characters with `·`, or Latin letters with spaces.
    #[error("姓名请填写与身份证件一致的汉字(少数民族姓名可用间隔号·);外籍人员可填写英文字母和空格,不要混用")]
    Characters,
    /// The middle dot at the start or end, or two in a row.
    #[error("姓名中的间隔号·不能在开头、结尾或连续出现")]
    Dot,
}

/// A person's name, 2–30 characters after normalisation, in one of two scripts:
/// - Chinese: CJK ideographs (basic block, extensions A–H, compatibility ideographs, 〇), with
///   the middle dot `·` (U+00B7) between parts of a transcribed name (买买提·艾力). Look-alike
///   dots people type (• U+2022, ・ U+30FB, ･ U+FF65, ‧ U+2027, ．U+FF0E) are stored as `·`.
/// - Latin, for foreigners: letters including accented ones (é, ñ, ß, …), single spaces
///   (runs of spaces are collapsed), and `-`, `'`, `.` inside a name (Jean-Luc O'Neil Jr.).
///
/// Digits, control characters and a mix of the two scripts are refused. Surrounding whitespace
/// is removed.
///
/// Personal data: there is no `Display`; pages that show the whole value call `as_str`,
/// and `Debug` prints the masked form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

const DOT: char = '·';

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3007}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{323AF}')
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (c.is_alphabetic() && matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}'))
}

impl PersonName {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, PersonNameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PersonNameError::Empty);
        }
        if trimmed.chars().any(is_forbidden_char) {
            return Err(PersonNameError::Forbidden);
        }
        if trimmed.chars().any(|c| c.is_numeric() && c != '\u{3007}') {
            return Err(PersonNameError::Digits);
        }
        let name: String = if trimmed.chars().any(is_han) {
            Self::chinese(trimmed)?
        } else {
            Self::latin(trimmed)?
        };
        let n = name.chars().count();
        if n < 2 {
            return Err(PersonNameError::TooShort);
        }
        if n > 30 {
            return Err(PersonNameError::TooLong);
        }
        Ok(Self(name))
    }

    fn chinese(s: &str) -> Result<String, PersonNameError> {
        let name: String = s
            .chars()
            .map(|c| match c {
                '\u{2022}' | '\u{30FB}' | '\u{FF65}' | '\u{2027}' | '\u{FF0E}' => DOT,
                other => other,
            })
            .collect();
        if !name.chars().all(|c| is_han(c) || c == DOT) {
            return Err(PersonNameError::Characters);
        }
        if name.starts_with(DOT) || name.ends_with(DOT) || name.contains("··") {
            return Err(PersonNameError::Dot);
        }
        Ok(name)
    }

    fn latin(s: &str) -> Result<String, PersonNameError> {
        let name = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let punct = |c: char| matches!(c, '-' | '\'' | '\u{2019}' | '.');
        if !name
            .chars()
            .all(|c| is_latin_letter(c) || c == ' ' || punct(c))
            || !name.chars().next().is_some_and(is_latin_letter)
        {
            return Err(PersonNameError::Characters);
        }
        Ok(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as shown where the whole of it is not needed: 张*, 张*明, 买****力.
    pub fn masked(&self) -> String {
        if self.0.chars().count() <= 2 {
            crate::mask::mask_middle(&self.0, 1, 0)
        } else {
            crate::mask::mask_middle(&self.0, 1, 1)
        }
    }
}

string_conversions!(PersonName, PersonNameError);

/// Debug never prints the whole name, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_chinese_names_with_middle_dot() {
        assert_eq!(PersonName::parse(" 张三 ").unwrap().as_str(), "张三");
        assert_eq!(PersonName::parse("欧阳修文").unwrap().as_str(), "欧阳修文");
        assert_eq!(
            PersonName::parse("买买提·艾力").unwrap().as_str(),
            "买买提·艾力"
        );
        assert_eq!(
            PersonName::parse("买买提•艾力").unwrap().as_str(),
            "买买提·艾力"
        );
        assert_eq!(
            PersonName::parse("买买提・艾力").unwrap().as_str(),
            "买买提·艾力"
        );
        // A rare character outside the basic block (extension B).
        assert!(PersonName::parse("王\u{20BB7}").is_ok());
    }

    #[test]
    fn accepts_latin_names_for_foreigners() {
        assert_eq!(
            PersonName::parse("  John   Smith ").unwrap().as_str(),
            "John Smith"
        );
        assert!(PersonName::parse("Jean-Luc O'Neil Jr.").is_ok());
        assert!(PersonName::parse("José Muñoz").is_ok());
        assert!(PersonName::parse("Li").is_ok());
    }

    #[test]
    fn refuses_what_no_id_document_holds() {
        assert_eq!(PersonName::parse(" "), Err(PersonNameError::Empty));
        assert_eq!(PersonName::parse("张"), Err(PersonNameError::TooShort));
        assert_eq!(PersonName::parse("J"), Err(PersonNameError::TooShort));
        assert_eq!(
            PersonName::parse(&"张".repeat(31)),
            Err(PersonNameError::TooLong)
        );
        assert!(PersonName::parse(&"张".repeat(30)).is_ok());
        assert_eq!(PersonName::parse("张三1"), Err(PersonNameError::Digits));
        assert_eq!(PersonName::parse("张三２"), Err(PersonNameError::Digits));
        assert_eq!(PersonName::parse("张\0三"), Err(PersonNameError::Forbidden));
        assert_eq!(PersonName::parse("张\n三"), Err(PersonNameError::Forbidden));
        assert_eq!(PersonName::parse("张 三"), Err(PersonNameError::Characters));
        assert_eq!(
            PersonName::parse("张三Smith"),
            Err(PersonNameError::Characters)
        );
        assert_eq!(PersonName::parse("张三!"), Err(PersonNameError::Characters));
        assert_eq!(
            PersonName::parse("ＪＯＨＮ"),
            Err(PersonNameError::Characters)
        );
        assert_eq!(
            PersonName::parse("John_Smith"),
            Err(PersonNameError::Characters)
        );
        assert_eq!(PersonName::parse("-John"), Err(PersonNameError::Characters));
        assert_eq!(PersonName::parse("Иван"), Err(PersonNameError::Characters));
        for bad in ["·艾力", "艾力·", "买买提··艾力"] {
            assert_eq!(PersonName::parse(bad), Err(PersonNameError::Dot), "{bad}");
        }
    }

    #[test]
    fn masks_and_hides_from_debug() {
        assert_eq!(PersonName::parse("张三").unwrap().masked(), "张*");
        assert_eq!(PersonName::parse("张小明").unwrap().masked(), "张*明");
        let n = PersonName::parse("买买提·艾力").unwrap();
        assert_eq!(n.masked(), "买****力");
        assert!(!format!("{n:?}").contains("买买提"));
    }
}
