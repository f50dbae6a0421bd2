//! 居民身份证号码: the 18-character citizen identification number of GB 11643-1999.

use crate::date::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an ID number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing was typed.
    #[error("请输入身份证号码")]
    Empty,
    /// 15 digits: a first-generation number, which must be converted to the 18-character form.
    #[error("旧版15位身份证号码请换算为18位后填写")]
    OldFifteenDigit,
    /// Neither 18 nor 15 characters (how many there were, spaces not counted).
    #[error("身份证号码应为18位,您填写了{0}位,请核对位数")]
    Length(usize),
    /// Characters other than 17 digits followed by a digit or X.
    #[error("身份证号码只能由数字组成,最后一位可以是字母X")]
    Characters,
    /// The first two digits are not a province-level region code.
    #[error("身份证号码前6位地区码不正确,请核对")]
    Region,
    /// Digits 7–14 are not a real date.
    #[error("身份证号码中的出生日期(第7至14位)不是有效日期,请核对")]
    BirthDate,
    /// Digits 7–14 are a date after today.
    #[error("身份证号码中的出生日期晚于今天,请核对")]
    FutureBirthDate,
    /// The 18th character does not match the ISO 7064 MOD 11-2 check of the first 17.
    #[error("身份证号码校验位不正确,请逐位核对后重新输入")]
    CheckDigit,
}

/// Province-level codes (the first two digits) of GB/T 2260, plus 71 台湾, 81 香港, 82 澳门,
/// and 83 used by residence permits for Taiwan residents.
const PROVINCES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// Weights 2^(17-i) mod 11 of ISO 7064 MOD 11-2 for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for a weighted sum mod 11.
const CHECK: [u8; 11] = *b"10X98765432";

/// The earliest birth date accepted.
const EARLIEST_BIRTH: (i32, u8, u8) = (1900, 1, 1);

/// A citizen identification number (GB 11643-1999), 18 characters, `X` in upper case.
///
/// What [`IdNumber::parse`] checks:
/// - 18 characters: 17 ASCII digits, then a digit or `X` (`x` accepted and stored as `X`);
///   surrounding whitespace and inner spaces are ignored;
/// - digits 1–2 are a province-level code (11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81,
///   82, 83). Digits 3–6 (prefecture and county) are not checked against a list: codes are
///   renamed and retired over the years and a number keeps the code it was issued with;
/// - digits 7–14 are a real calendar date (leap years included), not before 1900-01-01 and
///   not after the `today` given by the caller;
/// - the 18th character is the ISO 7064 MOD 11-2 check character of the first 17.
///
/// A 15-digit first-generation number is refused with its own message.
///
/// Personal data: there is no `Display`; pages that show the whole value call `as_str`,
/// and `Debug` prints the masked form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses what a person typed, with `today` as the latest possible birth date.
    pub fn parse(input: &str, today: Date) -> Result<Self, IdNumberError> {
        let id = Self::parse_structure(input)?;
        if id.birth_date() > today {
            return Err(IdNumberError::FutureBirthDate);
        }
        Ok(id)
    }

    /// Parses a number that was accepted by [`IdNumber::parse`] before (a stored record):
    /// every rule except "birth date not after today", which needs a clock. Deserialisation
    /// uses this. Input from a person goes through [`IdNumber::parse`].
    pub fn parse_stored(input: &str) -> Result<Self, IdNumberError> {
        Self::parse_structure(input)
    }

    fn parse_structure(input: &str) -> Result<Self, IdNumberError> {
        let s = crate::text::identifier_chars(input);
        if s.is_empty() {
            return Err(IdNumberError::Empty);
        }
        let b = s.as_bytes();
        let n = s.chars().count();
        if n == 15 && b.iter().all(u8::is_ascii_digit) {
            return Err(IdNumberError::OldFifteenDigit);
        }
        if n != 18 {
            return Err(IdNumberError::Length(n));
        }
        if b.len() != 18
            || !b[..17].iter().all(u8::is_ascii_digit)
            || !(b[17].is_ascii_digit() || b[17] == b'X')
        {
            return Err(IdNumberError::Characters);
        }
        let province = (b[0] - b'0') * 10 + (b[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(IdNumberError::Region);
        }
        let birth = Date::parse_compact(&s[6..14]).map_err(|_| IdNumberError::BirthDate)?;
        let (y, m, d) = EARLIEST_BIRTH;
        if birth < Date::new(y, m, d).map_err(|_| IdNumberError::BirthDate)? {
            return Err(IdNumberError::BirthDate);
        }
        if check_char(&b[..17]) != b[17] {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(Self(s))
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date written in digits 7–14.
    pub fn birth_date(&self) -> Date {
        // Checked in parse; the fallback is never reached.
        Date::parse_compact(&self.0[6..14]).unwrap_or(Date::MIN)
    }

    /// The 6-digit administrative region code of where the number was issued.
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// The number as shown where the full number is not needed: 1101**********002X.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.0, 4, 4)
    }
}

/// ISO 7064 MOD 11-2 check character of 17 ASCII digits.
fn check_char(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Whether 18 characters have the GB 11643 shape and a correct check character; used where an
/// ID number may stand in for another identifier (a personal tax number).
pub(crate) fn has_valid_check_char(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && check_char(&b[..17]) == b[17].to_ascii_uppercase()
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse_stored(&s)
    }
}

impl From<IdNumber> for String {
    fn from(id: IdNumber) -> Self {
        id.0
    }
}

/// Debug never prints the whole number, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "11010519491231002X";

    fn today() -> Date {
        Date::new(2026, 11, 23).unwrap()
    }

    #[test]
    fn accepts_a_valid_number_and_normalises_x() {
        let id = IdNumber::parse(VALID, today()).unwrap();
        assert_eq!(id.as_str(), VALID);
        assert_eq!(id.birth_date(), Date::new(1949, 12, 31).unwrap());
        assert_eq!(id.region_code(), "110105");
        let lower = IdNumber::parse(" 11010519491231002x ", today()).unwrap();
        assert_eq!(lower.as_str(), VALID);
        assert_eq!(
            IdNumber::parse("110105 19491231 002X", today()).unwrap(),
            id
        );
    }

    #[test]
    fn refuses_every_single_character_change() {
        let original: Vec<char> = VALID.chars().collect();
        let alphabet: Vec<char> = "0123456789X".chars().collect();
        for pos in 0..original.len() {
            for &c in &alphabet {
                if c == original[pos] {
                    continue;
                }
                let mut changed = original.clone();
                changed[pos] = c;
                let changed: String = changed.into_iter().collect();
                assert!(
                    IdNumber::parse(&changed, today()).is_err(),
                    "{changed} was accepted"
                );
            }
        }
    }

    #[test]
    fn checks_region_birth_date_and_check_digit() {
        // A correct check digit but province 10 does not exist.
        assert_eq!(
            IdNumber::parse(&with_check("10010519491231002"), today()),
            Err(IdNumberError::Region)
        );
        assert_eq!(
            IdNumber::parse(&with_check("99010519491231002"), today()),
            Err(IdNumberError::Region)
        );
        // 29 February only in leap years.
        assert!(IdNumber::parse(&with_check("11010520000229002"), today()).is_ok());
        assert_eq!(
            IdNumber::parse(&with_check("11010519990229002"), today()),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            IdNumber::parse(&with_check("11010518991231002"), today()),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            IdNumber::parse(&with_check("11010519491331002"), today()),
            Err(IdNumberError::BirthDate)
        );
        // Born tomorrow, and born today.
        assert_eq!(
            IdNumber::parse(&with_check("11010520261124002"), today()),
            Err(IdNumberError::FutureBirthDate)
        );
        assert!(IdNumber::parse(&with_check("11010520261123002"), today()).is_ok());
        // A stored number is not re-checked against a clock.
        assert!(IdNumber::parse_stored(&with_check("11010520261124002")).is_ok());
        assert_eq!(
            IdNumber::parse("110105194912310021", today()),
            Err(IdNumberError::CheckDigit)
        );
    }

    #[test]
    fn refuses_other_shapes_with_their_own_messages() {
        assert_eq!(IdNumber::parse("", today()), Err(IdNumberError::Empty));
        assert_eq!(
            IdNumber::parse("110105491231002", today()),
            Err(IdNumberError::OldFifteenDigit)
        );
        assert_eq!(
            IdNumber::parse("110105491231002", today())
                .unwrap_err()
                .to_string(),
            "旧版15位身份证号码请换算为18位后填写"
        );
        assert_eq!(
            IdNumber::parse("1101051949123100", today()),
            Err(IdNumberError::Length(16))
        );
        // 19 characters: a length message, not a check-digit one.
        let nineteen = IdNumber::parse("11010519491231002XX", today());
        assert_eq!(nineteen, Err(IdNumberError::Length(19)));
        assert_eq!(
            nineteen.unwrap_err().to_string(),
            "身份证号码应为18位,您填写了19位,请核对位数"
        );
        assert_eq!(
            IdNumber::parse("1101051949123100AX", today()),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002\0", today()),
            Err(IdNumberError::Characters)
        );
    }

    #[test]
    fn stores_the_normal_form_of_what_was_pasted() {
        // Lower-case x, surrounding and inner spaces (ASCII, ideographic, a line break),
        // full-width digits and letters from a Chinese input method: all the same number.
        for typed in [
            "11010519491231002x",
            " 11010519491231002X ",
            "\u{3000}110105 19491231 002x\n",
            "１１０１０５１９４９１２３１００２Ｘ",
            "１１０１０５１９４９１２３１００２ｘ",
        ] {
            let id = IdNumber::parse(typed, today()).unwrap();
            assert_eq!(id.as_str(), VALID, "{typed:?}");
        }
    }

    #[test]
    fn masks_and_hides_from_debug() {
        let id = IdNumber::parse(VALID, today()).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(1101**********002X)");
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{VALID}\""));
        assert_eq!(
            serde_json::from_str::<IdNumber>(&format!("\"{VALID}\"")).unwrap(),
            id
        );
    }

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()) as char)
    }
}
