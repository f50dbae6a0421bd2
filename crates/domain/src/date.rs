//! Civil dates and wall-clock date-times (proleptic Gregorian, no time zone), enough for birth
//! dates, order numbers and the working-day calendar. The domain reads no clock: callers pass
//! "today" or "now" in as values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a date or date-time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not written as `YYYY-MM-DD` (or `YYYY-MM-DD HH:MM[:SS]` for a date-time).
    #[error("日期格式不正确,请按 YYYY-MM-DD 填写,例如 2026-01-31")]
    Format,
    /// Month, day or time of day out of range (e.g. 2月30日, 25时).
    #[error("日期不存在,请核对年、月、日")]
    NoSuchDate,
}

/// Day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// 星期一
    Monday,
    /// 星期二
    Tuesday,
    /// 星期三
    Wednesday,
    /// 星期四
    Thursday,
    /// 星期五
    Friday,
    /// 星期六
    Saturday,
    /// 星期日
    Sunday,
}

impl Weekday {
    /// Saturday or Sunday.
    pub fn is_weekend(self) -> bool {
        matches!(self, Weekday::Saturday | Weekday::Sunday)
    }

    /// The Chinese name, e.g. 星期三.
    pub fn zh(self) -> &'static str {
        match self {
            Weekday::Monday => "星期一",
            Weekday::Tuesday => "星期二",
            Weekday::Wednesday => "星期三",
            Weekday::Thursday => "星期四",
            Weekday::Friday => "星期五",
            Weekday::Saturday => "星期六",
            Weekday::Sunday => "星期日",
        }
    }
}

/// A calendar date between the years 1 and 9999. Ordered chronologically.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Whether `year` has a 29 February.
pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1–12) of `year`; 0 for a month out of range.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// 0001-01-01, the earliest date this type holds.
    pub const MIN: Date = Date {
        year: 1,
        month: 1,
        day: 1,
    };

    /// 9999-12-31, the latest date this type holds.
    pub const MAX: Date = Date {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The date `year`-`month`-`day`, or `NoSuchDate` when it does not exist
    /// (years outside 1–9999 included).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, DateError> {
        if !(1..=9999).contains(&year) || day == 0 || day > days_in_month(year, month) {
            return Err(DateError::NoSuchDate);
        }
        Ok(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (exactly that shape, ASCII digits).
    pub fn parse(input: &str) -> Result<Self, DateError> {
        let b = input.trim().as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(DateError::Format);
        }
        let year = digits(&b[0..4]).ok_or(DateError::Format)?;
        let month = digits(&b[5..7]).ok_or(DateError::Format)?;
        let day = digits(&b[8..10]).ok_or(DateError::Format)?;
        Self::new(year as i32, month as u8, day as u8)
    }

    /// Parses the 8 digits `YYYYMMDD` used inside ID numbers and order numbers.
    pub fn parse_compact(input: &str) -> Result<Self, DateError> {
        let b = input.as_bytes();
        if b.len() != 8 {
            return Err(DateError::Format);
        }
        let year = digits(&b[0..4]).ok_or(DateError::Format)?;
        let month = digits(&b[4..6]).ok_or(DateError::Format)?;
        let day = digits(&b[6..8]).ok_or(DateError::Format)?;
        Self::new(year as i32, month as u8, day as u8)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Civil-to-day-count over 400-year eras whose years start on 1 March, so the leap day
        // is the last day of the shifted year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let year_of_era = y - era * 400;
        let m = i64::from(self.month);
        let shifted_month = if m > 2 { m - 3 } else { m + 9 };
        let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` days after 1970-01-01, or `None` outside the years 1–9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let year = i32::try_from(year).ok()?;
        Self::new(year, month as u8, day as u8).ok()
    }

    /// The day of the week.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        match (self.days_since_epoch() + 3).rem_euclid(7) {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            _ => Weekday::Sunday,
        }
    }

    /// The date `days` days later (earlier when negative), or `None` outside the years 1–9999.
    pub fn add_days(self, days: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch().checked_add(days)?)
    }

    /// The next day, or `None` after 9999-12-31.
    pub fn succ(self) -> Option<Self> {
        self.add_days(1)
    }

    /// `YYYYMMDD`, as used in order numbers.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// The date in Chinese, e.g. 2026年10月10日.
    pub fn zh(self) -> String {
        format!("{}年{}月{}日", self.year, self.month, self.day)
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD`.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Date> for String {
    fn from(d: Date) -> Self {
        d.to_string()
    }
}

/// A wall-clock date and time of day to the second, with no time zone: the caller decides
/// which zone it is in (for certhall, China Standard Time, UTC+8, which has no daylight saving).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DateTime {
    date: Date,
    seconds_of_day: u32,
}

impl DateTime {
    /// The date at `hour`:`minute`:`second` (0–23, 0–59, 0–59).
    pub fn new(date: Date, hour: u8, minute: u8, second: u8) -> Result<Self, DateError> {
        if hour > 23 || minute > 59 || second > 59 {
            return Err(DateError::NoSuchDate);
        }
        Ok(Self {
            date,
            seconds_of_day: u32::from(hour) * 3600 + u32::from(minute) * 60 + u32::from(second),
        })
    }

    /// 00:00:00 on `date`.
    pub fn start_of_day(date: Date) -> Self {
        Self {
            date,
            seconds_of_day: 0,
        }
    }

    /// Parses `YYYY-MM-DD HH:MM[:SS]`, with a space or `T` between date and time.
    pub fn parse(input: &str) -> Result<Self, DateError> {
        let s = input.trim();
        if s.len() < 16 || !s.is_char_boundary(10) || !s.is_char_boundary(11) {
            return Err(DateError::Format);
        }
        let (date, rest) = s.split_at(10);
        let date = Date::parse(date)?;
        let sep = rest.as_bytes()[0];
        if sep != b' ' && sep != b'T' {
            return Err(DateError::Format);
        }
        let t = &rest.as_bytes()[1..];
        let (h, m, sec) = match t.len() {
            5 if t[2] == b':' => (&t[0..2], &t[3..5], None),
            8 if t[2] == b':' && t[5] == b':' => (&t[0..2], &t[3..5], Some(&t[6..8])),
            _ => return Err(DateError::Format),
        };
        let h = digits(h).ok_or(DateError::Format)?;
        let m = digits(m).ok_or(DateError::Format)?;
        let sec = match sec {
            Some(x) => digits(x).ok_or(DateError::Format)?,
            None => 0,
        };
        Self::new(date, h as u8, m as u8, sec as u8)
    }

    /// The wall-clock time `unix_seconds` after 1970-01-01T00:00:00Z in a zone `utc_offset_seconds`
    /// east of UTC (28 800 for China), or `None` outside the years 1–9999.
    pub fn from_unix_seconds(unix_seconds: i64, utc_offset_seconds: i32) -> Option<Self> {
        let local = unix_seconds.checked_add(i64::from(utc_offset_seconds))?;
        let date = Date::from_days_since_epoch(local.div_euclid(86_400))?;
        Some(Self {
            date,
            seconds_of_day: local.rem_euclid(86_400) as u32,
        })
    }

    /// Seconds since 1970-01-01T00:00:00Z of this wall-clock time in a zone `utc_offset_seconds`
    /// east of UTC.
    pub fn to_unix_seconds(self, utc_offset_seconds: i32) -> i64 {
        self.date.days_since_epoch() * 86_400 + i64::from(self.seconds_of_day)
            - i64::from(utc_offset_seconds)
    }

    /// The date.
    pub fn date(self) -> Date {
        self.date
    }

    /// The same time of day on another date.
    pub fn with_date(self, date: Date) -> Self {
        Self { date, ..self }
    }

    /// Hour 0–23.
    pub fn hour(self) -> u8 {
        (self.seconds_of_day / 3600) as u8
    }

    /// Minute 0–59.
    pub fn minute(self) -> u8 {
        (self.seconds_of_day / 60 % 60) as u8
    }

    /// Second 0–59.
    pub fn second(self) -> u8 {
        (self.seconds_of_day % 60) as u8
    }
}

/// `YYYY-MM-DD HH:MM:SS`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date,
            self.hour(),
            self.minute(),
            self.second()
        )
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({self})")
    }
}

impl TryFrom<String> for DateTime {
    type Error = DateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DateTime> for String {
    fn from(d: DateTime) -> Self {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(
            is_leap_year(2000) && is_leap_year(2024) && !is_leap_year(1900) && !is_leap_year(2026)
        );
        assert!(Date::new(2024, 2, 29).is_ok());
        assert_eq!(Date::new(2026, 2, 29), Err(DateError::NoSuchDate));
        assert_eq!(Date::new(1900, 2, 29), Err(DateError::NoSuchDate));
        assert_eq!(Date::new(2026, 4, 31), Err(DateError::NoSuchDate));
        assert_eq!(Date::new(2026, 13, 1), Err(DateError::NoSuchDate));
        assert_eq!(Date::new(2026, 1, 0), Err(DateError::NoSuchDate));
    }

    #[test]
    fn parses_only_the_iso_shape() {
        assert_eq!(d("2026-10-01"), Date::new(2026, 10, 1).unwrap());
        assert_eq!(Date::parse_compact("19491231").unwrap(), d("1949-12-31"));
        for bad in [
            "2026-1-01",
            "2026/10/01",
            "20261001",
            "2026-10-0a",
            "",
            "２０２６-10-01",
        ] {
            assert_eq!(Date::parse(bad), Err(DateError::Format), "{bad}");
        }
        assert_eq!(Date::parse("2026-02-30"), Err(DateError::NoSuchDate));
    }

    #[test]
    fn weekdays_and_day_counts() {
        assert_eq!(d("1970-01-01").days_since_epoch(), 0);
        assert_eq!(d("1970-01-01").weekday(), Weekday::Thursday);
        assert_eq!(d("2026-01-01").weekday(), Weekday::Thursday);
        assert_eq!(d("2026-09-30").weekday(), Weekday::Wednesday);
        assert_eq!(d("2026-02-14").weekday(), Weekday::Saturday);
        assert_eq!(d("2027-01-01").weekday(), Weekday::Friday);
        assert_eq!(d("2000-02-29").weekday(), Weekday::Tuesday);
        assert_eq!(d("1949-10-01").weekday(), Weekday::Saturday);
        // Round trip over a span covering several leap rules.
        let mut day = d("1899-12-25");
        for _ in 0..(365 * 130) {
            let next = day.succ().unwrap();
            assert_eq!(next.days_since_epoch(), day.days_since_epoch() + 1);
            assert_eq!(
                Date::from_days_since_epoch(next.days_since_epoch()),
                Some(next)
            );
            assert!(next > day);
            day = next;
        }
        assert_eq!(d("2026-12-31").add_days(1), Some(d("2027-01-01")));
        assert_eq!(d("2024-03-01").add_days(-1), Some(d("2024-02-29")));
        assert_eq!(d("9999-12-31").succ(), None);
    }

    #[test]
    fn date_times() {
        let t = DateTime::parse("2026-09-30 10:15").unwrap();
        assert_eq!((t.hour(), t.minute(), t.second()), (10, 15, 0));
        assert_eq!(t.to_string(), "2026-09-30 10:15:00");
        assert_eq!(DateTime::parse("2026-09-30T10:15:07").unwrap().second(), 7);
        assert_eq!(
            DateTime::parse("2026-09-30 24:00"),
            Err(DateError::NoSuchDate)
        );
        assert_eq!(DateTime::parse("2026-09-30"), Err(DateError::Format));
        // 2026-01-01T00:00:00+08:00
        let unix = 1_767_196_800;
        let local = DateTime::from_unix_seconds(unix, 8 * 3600).unwrap();
        assert_eq!(local.to_string(), "2026-01-01 00:00:00");
        assert_eq!(local.to_unix_seconds(8 * 3600), unix);
    }

    #[test]
    fn serde_as_strings() {
        let date = d("2026-10-10");
        assert_eq!(serde_json::to_string(&date).unwrap(), "\"2026-10-10\"");
        assert_eq!(
            serde_json::from_str::<Date>("\"2026-10-10\"").unwrap(),
            date
        );
        assert!(serde_json::from_str::<Date>("\"2026-02-30\"").is_err());
    }
}
