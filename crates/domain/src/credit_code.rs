//! 统一社会信用代码: the 18-character unified social credit code of GB 32100-2015.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a credit code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Nothing was typed.
    #[error("请输入统一社会信用代码")]
    Empty,
    /// Not 18 characters (how many there were, spaces not counted).
    #[error("统一社会信用代码应为18位,您填写了{0}位,请核对位数")]
    Length(usize),
    /// A character outside the code's alphabet (digits and capital letters except I、O、S、V、Z).
    #[error("统一社会信用代码只能由数字和大写英文字母组成,且不含字母I、O、S、V、Z")]
    Characters,
    /// The 1st character is not a registration-authority code.
    #[error("统一社会信用代码第1位(登记管理部门代码)不正确,请核对")]
    Authority,
    /// The 2nd character is not an organisation-type code.
    #[error("统一社会信用代码第2位(机构类别代码)不正确,请核对")]
    Kind,
    /// Characters 3–8 are not a 6-digit region code.
    #[error("统一社会信用代码第3至8位(登记管理机关行政区划码)应为数字,请核对")]
    Region,
    /// The 18th character does not match the check of the first 17.
    #[error("统一社会信用代码校验位不正确,请对照营业执照逐位核对")]
    CheckDigit,
}

/// The 31 characters of the code, in the order of their values 0–30.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights 3^(i) mod 31 of positions 1–17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Registration-authority codes (1st character): 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政,
/// 6 旅游, 7 宗教, 8 工会, 9 工商/市场监管, A 中央军委改革和编制办公室, N 农业, Y 其他.
const AUTHORITIES: &[u8] = b"123456789ANY";

/// A unified social credit code (GB 32100-2015), stored in upper case.
///
/// What [`CreditCode::parse`] checks:
/// - 18 characters from `0-9 A-H J-N P-R T-U W-Y` (lower case accepted and stored upper;
///   surrounding whitespace and inner spaces ignored);
/// - 1st character a registration-authority code (1–9, A, N, Y);
/// - 2nd character an organisation-type code, a digit 1–9 (the meaning of each digit depends on
///   the authority, so only the range is checked);
/// - characters 3–8 six digits (the region code of the registering office; not checked against
///   a list, since offices and their codes change);
/// - the 18th character is `31 - (Σ value×weight mod 31)` (31 written as 0), with weights
///   1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28.
///
/// The embedded organisation code (characters 9–17) is not checked separately.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses what a person typed.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let s = crate::text::identifier_chars(input);
        if s.is_empty() {
            return Err(CreditCodeError::Empty);
        }
        let n = s.chars().count();
        if n != 18 {
            return Err(CreditCodeError::Length(n));
        }
        let values: Vec<u32> = s
            .bytes()
            .map(value_of)
            .collect::<Option<_>>()
            .ok_or(CreditCodeError::Characters)?;
        if values.len() != 18 {
            return Err(CreditCodeError::Characters);
        }
        let b = s.as_bytes();
        if !AUTHORITIES.contains(&b[0]) {
            return Err(CreditCodeError::Authority);
        }
        if !(b'1'..=b'9').contains(&b[1]) {
            return Err(CreditCodeError::Kind);
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Region);
        }
        if check_value(&values[..17]) != values[17] {
            return Err(CreditCodeError::CheckDigit);
        }
        Ok(Self(s))
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit region code of the registering office (characters 3–8).
    pub fn region_code(&self) -> &str {
        &self.0[2..8]
    }
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

fn check_value(values: &[u32]) -> u32 {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A credit code is public (printed on the business licence), so Debug shows it whole.
impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CreditCode> for String {
    fn from(c: CreditCode) -> Self {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "91110000600037341L";

    fn with_check(first17: &str) -> String {
        let values: Vec<u32> = first17.bytes().map(|c| value_of(c).unwrap()).collect();
        format!(
            "{first17}{}",
            ALPHABET[check_value(&values) as usize] as char
        )
    }

    #[test]
    fn accepts_a_valid_code_in_any_case() {
        assert_eq!(CreditCode::parse(VALID).unwrap().as_str(), VALID);
        assert_eq!(
            CreditCode::parse("91110000600037341l").unwrap().as_str(),
            VALID
        );
        assert_eq!(
            CreditCode::parse(" 9111 0000 6000 3734 1L ")
                .unwrap()
                .as_str(),
            VALID
        );
        // Full-width digits and letters (a Chinese input method), lower case, spaces.
        assert_eq!(
            CreditCode::parse("９１１１００００６０００３７３４１ｌ")
                .unwrap()
                .as_str(),
            VALID
        );
        assert_eq!(
            CreditCode::parse("\u{3000}9111000060003734１l\u{3000}")
                .unwrap()
                .as_str(),
            VALID
        );
        assert_eq!(CreditCode::parse(VALID).unwrap().region_code(), "110000");
    }

    #[test]
    fn refuses_every_single_character_change() {
        let original = VALID.as_bytes();
        let candidates = b"0123456789ABCDEFGHJKLMNPQRTUWXYIOZSV";
        for pos in 0..original.len() {
            for &c in candidates {
                if c == original[pos] {
                    continue;
                }
                let mut changed = original.to_vec();
                changed[pos] = c;
                let changed = String::from_utf8(changed).unwrap();
                assert!(
                    CreditCode::parse(&changed).is_err(),
                    "{changed} was accepted"
                );
            }
        }
    }

    #[test]
    fn each_rule_has_its_message() {
        assert_eq!(CreditCode::parse("  "), Err(CreditCodeError::Empty));
        assert_eq!(
            CreditCode::parse("91110000600037341"),
            Err(CreditCodeError::Length(17))
        );
        // 19 characters (a pasted code with one too many): a length message.
        assert_eq!(
            CreditCode::parse("91110000600037341LL"),
            Err(CreditCodeError::Length(19))
        );
        assert_eq!(
            CreditCode::parse(" 911100006000373410L ")
                .unwrap_err()
                .to_string(),
            "统一社会信用代码应为18位,您填写了19位,请核对位数"
        );
        assert_eq!(
            CreditCode::parse("91110000600037341I"),
            Err(CreditCodeError::Characters)
        );
        assert_eq!(
            CreditCode::parse(&with_check("B1110000600037341")),
            Err(CreditCodeError::Authority)
        );
        assert_eq!(
            CreditCode::parse(&with_check("90110000600037341")),
            Err(CreditCodeError::Kind)
        );
        assert_eq!(
            CreditCode::parse(&with_check("911100A0600037341")),
            Err(CreditCodeError::Region)
        );
        assert_eq!(
            CreditCode::parse("91110000600037341M"),
            Err(CreditCodeError::CheckDigit)
        );
        // Other authorities are accepted; a check value of 31 is written 0 (below).
        for first17 in [
            "12100000000013127",
            "51440300MJL123456",
            "Y1440300000000001",
            "N2440300000000001",
        ] {
            let code = with_check(first17);
            assert!(CreditCode::parse(&code).is_ok(), "{code}");
        }
        assert!(CreditCode::parse("9144030000000000G0").is_ok());
        assert!(CreditCodeError::CheckDigit.to_string().contains("校验位"));
    }

    #[test]
    fn serde_round_trip() {
        let code = CreditCode::parse(VALID).unwrap();
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            format!("\"{VALID}\"")
        );
        assert!(serde_json::from_str::<CreditCode>("\"91110000600037341M\"").is_err());
    }
}
