//! 业务单号: the number an order gets when it is created, shown to the applicant and staff and
//! quoted in bank-transfer memos.

use crate::date::Date;
use crate::text::string_conversions;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an order number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderNoError {
    /// Nothing was typed.
    #[error("请输入业务单号")]
    Empty,
    /// Not a known prefix followed by 8 date digits and a 6-digit sequence.
    #[error("业务单号格式不正确,应为XB加14位数字,例如 XB20261001000001")]
    Format,
    /// The 8 date digits are not a real date.
    #[error("业务单号中的日期不正确,请核对")]
    Date,
    /// A sequence number of 0 or more than 999 999.
    #[error("业务单号序号应在1至999999之间")]
    Sequence,
}

/// The business type an order number belongs to, given by its two-letter prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// 证书新办, prefix `XB`.
    NewIssue,
    /// 证书续期, prefix `XQ` (issue 14).
    Renewal,
}

impl OrderKind {
    /// The two-letter prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            OrderKind::NewIssue => "XB",
            OrderKind::Renewal => "XQ",
        }
    }

    fn from_prefix(p: &str) -> Option<Self> {
        match p {
            "XB" => Some(OrderKind::NewIssue),
            "XQ" => Some(OrderKind::Renewal),
            _ => None,
        }
    }
}

/// An order number: a two-letter prefix of the business type ([`OrderKind`]), the date the
/// order was created as `YYYYMMDD`, and a 6-digit sequence within that day starting at
/// 000001; e.g. `XB20261001000042`. The sequence is allocated by the store; this type only
/// formats and parses it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderNo(String);

impl OrderNo {
    /// The highest sequence number in a day.
    pub const MAX_SEQUENCE: u32 = 999_999;

    /// The number of the `seq`-th new-issue order (证书新办) created on `date`.
    pub fn new_issue(date: Date, seq: u32) -> Result<Self, OrderNoError> {
        Self::new(OrderKind::NewIssue, date, seq)
    }

    /// The number of the `seq`-th order of `kind` created on `date`.
    pub fn new(kind: OrderKind, date: Date, seq: u32) -> Result<Self, OrderNoError> {
        if seq == 0 || seq > Self::MAX_SEQUENCE {
            return Err(OrderNoError::Sequence);
        }
        if !(1000..=9999).contains(&date.year()) {
            return Err(OrderNoError::Date);
        }
        Ok(Self(format!("{}{}{seq:06}", kind.prefix(), date.compact())))
    }

    /// Parses a number typed or taken from a URL; lower-case letters and surrounding
    /// whitespace are accepted.
    pub fn parse(input: &str) -> Result<Self, OrderNoError> {
        let s = input.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(OrderNoError::Empty);
        }
        if s.len() != 16
            || !s.is_char_boundary(2)
            || !s.as_bytes()[2..].iter().all(u8::is_ascii_digit)
        {
            return Err(OrderNoError::Format);
        }
        let kind = OrderKind::from_prefix(&s[..2]).ok_or(OrderNoError::Format)?;
        let date = Date::parse_compact(&s[2..10]).map_err(|_| OrderNoError::Date)?;
        let seq: u32 = s[10..].parse().map_err(|_| OrderNoError::Format)?;
        Self::new(kind, date, seq)
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The business type.
    pub fn kind(&self) -> OrderKind {
        OrderKind::from_prefix(&self.0[..2]).unwrap_or(OrderKind::NewIssue)
    }

    /// The date the order was created.
    pub fn date(&self) -> Date {
        Date::parse_compact(&self.0[2..10]).unwrap_or(Date::MIN)
    }

    /// The sequence within the day.
    pub fn sequence(&self) -> u32 {
        self.0[10..].parse().unwrap_or(0)
    }
}

string_conversions!(OrderNo, OrderNoError);

impl fmt::Display for OrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrderNo({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oct1() -> Date {
        Date::new(2026, 10, 1).unwrap()
    }

    #[test]
    fn renewal_numbers_have_their_own_prefix() {
        let no = OrderNo::new(OrderKind::Renewal, oct1(), 7).unwrap();
        assert_eq!(no.as_str(), "XQ20261001000007");
        assert_eq!(
            OrderNo::parse("xq20261001000007").unwrap().kind(),
            OrderKind::Renewal
        );
        assert!(OrderNo::parse("XZ20261001000007").is_err());
    }

    #[test]
    fn formats_and_parses_back() {
        let no = OrderNo::new_issue(oct1(), 42).unwrap();
        assert_eq!(no.as_str(), "XB20261001000042");
        assert_eq!(OrderNo::parse(" xb20261001000042 ").unwrap(), no);
        assert_eq!(no.kind(), OrderKind::NewIssue);
        assert_eq!(no.date(), oct1());
        assert_eq!(no.sequence(), 42);
        assert_eq!(
            OrderNo::new_issue(oct1(), 999_999).unwrap().as_str(),
            "XB20261001999999"
        );
        // Sorting by number sorts by day, then sequence.
        assert!(OrderNo::new_issue(oct1(), 2).unwrap() > OrderNo::new_issue(oct1(), 1).unwrap());
    }

    #[test]
    fn refuses_other_shapes() {
        assert_eq!(OrderNo::new_issue(oct1(), 0), Err(OrderNoError::Sequence));
        assert_eq!(
            OrderNo::new_issue(oct1(), 1_000_000),
            Err(OrderNoError::Sequence)
        );
        assert_eq!(OrderNo::parse(""), Err(OrderNoError::Empty));
        for bad in [
            "XB2026100100004",
            "XB202610010000420",
            "XX20261001000042",
            "XB2026100100004A",
            "XB20261001 00042",
            "ＸB2026100100004",
        ] {
            assert_eq!(OrderNo::parse(bad), Err(OrderNoError::Format), "{bad}");
        }
        assert_eq!(OrderNo::parse("XB20260230000001"), Err(OrderNoError::Date));
        assert_eq!(
            OrderNo::parse("XB20261001000000"),
            Err(OrderNoError::Sequence)
        );
        assert!(serde_json::from_str::<OrderNo>("\"../etc/passwd\"").is_err());
    }
}
