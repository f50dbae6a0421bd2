//! 金额: amounts of renminbi, kept as a whole number of fen (分, 0.01 元). Never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an amount was refused or could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing was typed.
    #[error("请输入金额")]
    Empty,
    /// Not a non-negative decimal number of yuan.
    #[error("金额格式不正确,请填写数字,例如 1234.50")]
    Format,
    /// More than two decimal places.
    #[error("金额最多保留两位小数(精确到分)")]
    Precision,
    /// The result does not fit (beyond ±92 233 720 368 547 758.07 元).
    #[error("金额超出可处理的范围")]
    Overflow,
}

/// An amount of renminbi in fen. Arithmetic is checked: every operation that could overflow
/// returns `Err(MoneyError::Overflow)` instead of wrapping or panicking, and there are
/// deliberately no `+`/`-`/`*` operators. Serialised as the integer number of fen.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// 0 元.
    pub const ZERO: Money = Money(0);

    /// `fen` fen.
    pub const fn from_fen(fen: i64) -> Self {
        Self(fen)
    }

    /// `yuan` whole yuan.
    pub fn from_yuan(yuan: i64) -> Result<Self, MoneyError> {
        yuan.checked_mul(100).map(Self).ok_or(MoneyError::Overflow)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Whether the amount is 0.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether the amount is below 0 (a refund or correction).
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + other`.
    pub fn checked_add(self, other: Money) -> Result<Self, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Self)
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`.
    pub fn checked_sub(self, other: Money) -> Result<Self, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Self)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × n`, e.g. a yearly price times the years ordered.
    pub fn checked_mul(self, n: i64) -> Result<Self, MoneyError> {
        self.0.checked_mul(n).map(Self).ok_or(MoneyError::Overflow)
    }

    /// The sum of `amounts`, 0 for none.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Self, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// Parses an amount of yuan as a person types it: `1234.5`, `1,234.50`, `¥1234`, `￥1234`,
    /// `1234元`; at most two decimal places; not negative.
    pub fn parse_yuan(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim();
        let s = s
            .strip_prefix('¥')
            .or_else(|| s.strip_prefix('￥'))
            .unwrap_or(s);
        let s = s.strip_suffix('元').unwrap_or(s).trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let whole: String = whole.chars().filter(|&c| c != ',').collect();
        if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) {
            return Err(MoneyError::Format);
        }
        if (s.contains('.') && frac.is_empty()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return Err(MoneyError::Format);
        }
        if frac.len() > 2 {
            return Err(MoneyError::Precision);
        }
        let yuan: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let fen: i64 = format!("{frac:0<2}")
            .parse()
            .map_err(|_| MoneyError::Format)?;
        Self::from_yuan(yuan)?.checked_add(Money(fen))
    }

    /// The amount as `1234.50元`, for texts such as SMS and the authorization letter.
    pub fn yuan_string(self) -> String {
        let (sign, yuan, fen) = self.parts();
        format!("{sign}{yuan}.{fen:02}元")
    }

    fn parts(self) -> (&'static str, u64, u64) {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        (sign, abs / 100, abs % 100)
    }
}

/// `¥1,234.50`; negative amounts as `-¥1,234.50`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sign, yuan, fen) = self.parts();
        let digits = yuan.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}¥{grouped}.{fen:02}")
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_with_separators_and_two_decimals() {
        assert_eq!(Money::from_fen(123_450).to_string(), "¥1,234.50");
        assert_eq!(Money::from_fen(123_450).yuan_string(), "1234.50元");
        assert_eq!(Money::ZERO.to_string(), "¥0.00");
        assert_eq!(Money::from_fen(5).to_string(), "¥0.05");
        assert_eq!(Money::from_fen(100_000_000).to_string(), "¥1,000,000.00");
        assert_eq!(Money::from_fen(99_999).to_string(), "¥999.99");
        assert_eq!(Money::from_fen(-123_450).to_string(), "-¥1,234.50");
        assert_eq!(Money::from_fen(-5).yuan_string(), "-0.05元");
        assert_eq!(
            Money::from_fen(i64::MIN).to_string(),
            "-¥92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let price = Money::from_yuan(300).unwrap();
        let total =
            Money::checked_sum([price.checked_mul(3).unwrap(), Money::from_fen(50)]).unwrap();
        assert_eq!(total.fen(), 90_050);
        assert_eq!(
            total.checked_sub(Money::from_fen(50)).unwrap(),
            Money::from_yuan(900).unwrap()
        );
        assert_eq!(
            Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(i64::MIN).checked_sub(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(i64::MAX / 2 + 1).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Money::from_yuan(i64::MAX / 10), Err(MoneyError::Overflow));
        assert_eq!(
            Money::checked_sum([Money::from_fen(i64::MAX), Money::from_fen(1)]),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Money::checked_sum([]), Ok(Money::ZERO));
    }

    #[test]
    fn parses_yuan_as_typed() {
        for (input, fen) in [
            ("1234.5", 123_450),
            ("1,234.50", 123_450),
            ("¥1234", 123_400),
            ("￥0.05", 5),
            ("300元", 30_000),
            (" 0 ", 0),
        ] {
            assert_eq!(Money::parse_yuan(input).unwrap().fen(), fen, "{input}");
        }
        assert_eq!(Money::parse_yuan(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse_yuan("¥"), Err(MoneyError::Empty));
        for bad in ["-1", "1.", ".5", "1.2.3", "1e3", "一百", "12a", "1 234"] {
            assert_eq!(Money::parse_yuan(bad), Err(MoneyError::Format), "{bad}");
        }
        assert_eq!(Money::parse_yuan("1.234"), Err(MoneyError::Precision));
        assert_eq!(
            Money::parse_yuan("99999999999999999999"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn serialises_as_fen() {
        assert_eq!(
            serde_json::to_string(&Money::from_fen(123_450)).unwrap(),
            "123450"
        );
        assert_eq!(
            serde_json::from_str::<Money>("5").unwrap(),
            Money::from_fen(5)
        );
    }
}
