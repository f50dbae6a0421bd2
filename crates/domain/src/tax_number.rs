//! 纳税人识别号: the taxpayer identification number printed on an e-invoice (电子发票).

use crate::credit_code::CreditCode;
use crate::text::string_conversions;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a tax number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxNumberError {
    /// Nothing was typed.
    #[error("请输入纳税人识别号")]
    Empty,
    /// Something other than letters and digits.
    #[error("纳税人识别号只能包含数字和英文字母")]
    Characters,
    /// Not 15, 17, 18 or 20 characters.
    #[error("纳税人识别号应为15、17、18或20位,单位一般为18位统一社会信用代码")]
    Length,
    /// 18 characters that are neither a valid credit code nor a valid ID number.
    #[error("18位纳税人识别号即统一社会信用代码,校验未通过,请对照营业执照逐位核对")]
    Check,
}

/// A taxpayer identification number, stored in upper case without spaces.
///
/// Accepted shapes:
/// - 18 characters: a unified social credit code (checked as [`CreditCode`]), which is what
///   units have used since 2015; or a citizen ID number (GB 11643 check character), which
///   individual taxpayers use. 18 characters that pass neither check are refused, as they are
///   almost always a mistyped credit code;
/// - 15, 17 or 20 letters and digits: older numbers (6-digit region + 9-character organisation
///   code; or a 15/18-digit ID number + 2), which still appear on some records. Only their
///   length and alphabet are checked.
///
/// Personal data: there is no `Display`; pages that show the whole value call `as_str`,
/// and `Debug` prints the masked form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxNumber(String);

impl TaxNumber {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, TaxNumberError> {
        let s = crate::text::identifier_chars(input);
        if s.is_empty() {
            return Err(TaxNumberError::Empty);
        }
        if !s.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(TaxNumberError::Characters);
        }
        match s.len() {
            15 | 17 | 20 => {}
            18 => {
                if CreditCode::parse(&s).is_err() && !crate::id_number::has_valid_check_char(&s) {
                    return Err(TaxNumberError::Check);
                }
            }
            _ => return Err(TaxNumberError::Length),
        }
        Ok(Self(s))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The credit code, when the number is one.
    pub fn credit_code(&self) -> Option<CreditCode> {
        CreditCode::parse(&self.0).ok()
    }

    /// The number as shown where the whole of it is not needed (it may be a person's ID number).
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.0, 4, 4)
    }
}

impl From<CreditCode> for TaxNumber {
    fn from(code: CreditCode) -> Self {
        Self(code.as_str().to_owned())
    }
}

string_conversions!(TaxNumber, TaxNumberError);

/// Debug never prints the whole number: for an individual it is the ID number.
impl fmt::Debug for TaxNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaxNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_credit_codes_id_numbers_and_older_shapes() {
        let t = TaxNumber::parse("91110000600037341l").unwrap();
        assert_eq!(t.as_str(), "91110000600037341L");
        assert_eq!(t.credit_code().unwrap().as_str(), "91110000600037341L");
        let id = TaxNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(id.credit_code().is_none());
        assert!(TaxNumber::parse("440300123456789").is_ok());
        assert!(TaxNumber::parse("44030012345678901").is_ok());
        assert!(TaxNumber::parse("4403 0012 3456 7890 1234").is_ok());
        assert_eq!(
            TaxNumber::parse(" ９１１１００００６０００３７３４１ｌ ")
                .unwrap()
                .as_str(),
            "91110000600037341L"
        );
        let code = CreditCode::parse("91110000600037341L").unwrap();
        assert_eq!(TaxNumber::from(code), t);
    }

    #[test]
    fn refuses_other_shapes() {
        assert_eq!(TaxNumber::parse(""), Err(TaxNumberError::Empty));
        assert_eq!(
            TaxNumber::parse("9111000060003734-L"),
            Err(TaxNumberError::Characters)
        );
        assert_eq!(
            TaxNumber::parse("9111000060003734１Ｌ＃"),
            Err(TaxNumberError::Characters)
        );
        for bad in [
            "12345678901234",
            "1234567890123456",
            "1234567890123456789",
            " 1234567890123456789 ",
            "123456789012345678901",
        ] {
            assert_eq!(TaxNumber::parse(bad), Err(TaxNumberError::Length), "{bad}");
        }
        assert_eq!(
            TaxNumber::parse("91110000600037341M"),
            Err(TaxNumberError::Check)
        );
    }

    #[test]
    fn hides_from_debug() {
        let t = TaxNumber::parse("11010519491231002X").unwrap();
        assert!(!format!("{t:?}").contains("11010519491231002X"));
    }
}
