//! Civil dates and wall-clock date-times (proleptic Gregorian, no time zone), enough for birth
//! dates, order numbers and the working-day calendar. The calendar arithmetic is the `time`
//! crate's; these newtypes keep the hall's range (years 1–9999), spellings and Chinese errors.
//! The domain reads no clock: callers pass "today" or "now" in as values.

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

/// A calendar date between the years 1 and 9999. Ordered chronologically. A thin newtype
/// over [`time::Date`], which does the calendar arithmetic; the newtype keeps the hall's
/// range, its `YYYY-MM-DD` spelling and its Chinese error messages.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(time::Date);

/// Whether `year` has a 29 February.
pub fn is_leap_year(year: i32) -> bool {
    time::util::is_leap_year(year)
}

/// Number of days in `month` (1–12) of `year`; 0 for a month out of range.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    time::Month::try_from(month).map_or(0, |m| time::util::days_in_month(m, year))
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

impl Date {
    /// 0001-01-01, the earliest date this type holds.
    pub const MIN: Date = Date(time::macros::date!(0001 - 01 - 01));

    /// 9999-12-31, the latest date this type holds.
    pub const MAX: Date = Date(time::macros::date!(9999 - 12 - 31));

    /// The date `year`-`month`-`day`, or `NoSuchDate` when it does not exist
    /// (years outside 1–9999 included).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, DateError> {
        let month = time::Month::try_from(month).map_err(|_| DateError::NoSuchDate)?;
        let date =
            time::Date::from_calendar_date(year, month, day).map_err(|_| DateError::NoSuchDate)?;
        Self::from_time(date).ok_or(DateError::NoSuchDate)
    }

    /// The date `date` when it lies in the years 1–9999.
    pub fn from_time(date: time::Date) -> Option<Self> {
        (1..=9999).contains(&date.year()).then_some(Self(date))
    }

    /// The same date as a [`time::Date`].
    pub fn to_time(self) -> time::Date {
        self.0
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
        self.0.year()
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.0.month().into()
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.0.day()
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
    }

    /// The date `days` days after 1970-01-01, or `None` outside the years 1–9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        let julian = i32::try_from(days.checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?;
        Self::from_time(time::Date::from_julian_day(julian).ok()?)
    }

    /// The day of the week.
    pub fn weekday(self) -> Weekday {
        match self.0.weekday() {
            time::Weekday::Monday => Weekday::Monday,
            time::Weekday::Tuesday => Weekday::Tuesday,
            time::Weekday::Wednesday => Weekday::Wednesday,
            time::Weekday::Thursday => Weekday::Thursday,
            time::Weekday::Friday => Weekday::Friday,
            time::Weekday::Saturday => Weekday::Saturday,
            time::Weekday::Sunday => Weekday::Sunday,
        }
    }

    /// The date `days` days later (earlier when negative), or `None` outside the years 1–9999.
    pub fn add_days(self, days: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch().checked_add(days)?)
    }

    /// The next day, or `None` after 9999-12-31.
    pub fn succ(self) -> Option<Self> {
        Self::from_time(self.0.next_day()?)
    }

    /// `YYYYMMDD`, as used in order numbers.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year(), self.month(), self.day())
    }

    /// The date in Chinese, e.g. 2026年10月10日.
    pub fn zh(self) -> String {
        format!("{}年{}月{}日", self.year(), self.month(), self.day())
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
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
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
/// A thin newtype over [`time::PrimitiveDateTime`] whose date is a [`Date`] and whose
/// sub-second part is always zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DateTime(time::PrimitiveDateTime);

impl DateTime {
    /// The date at `hour`:`minute`:`second` (0–23, 0–59, 0–59).
    pub fn new(date: Date, hour: u8, minute: u8, second: u8) -> Result<Self, DateError> {
        let t = time::Time::from_hms(hour, minute, second).map_err(|_| DateError::NoSuchDate)?;
        Ok(Self(time::PrimitiveDateTime::new(date.0, t)))
    }

    /// 00:00:00 on `date`.
    pub fn start_of_day(date: Date) -> Self {
        Self(time::PrimitiveDateTime::new(date.0, time::Time::MIDNIGHT))
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
        // The local wall-clock time is the UTC time of the shifted instant, which keeps
        // offsets of any size (time's `UtcOffset` stops at ±25 h).
        let at = time::OffsetDateTime::from_unix_timestamp(local).ok()?;
        let date = Date::from_time(at.date())?;
        Some(Self(time::PrimitiveDateTime::new(date.0, at.time())))
    }

    /// Seconds since 1970-01-01T00:00:00Z of this wall-clock time in a zone `utc_offset_seconds`
    /// east of UTC.
    pub fn to_unix_seconds(self, utc_offset_seconds: i32) -> i64 {
        self.0.assume_utc().unix_timestamp() - i64::from(utc_offset_seconds)
    }

    /// The same wall-clock time as a [`time::PrimitiveDateTime`].
    pub fn to_time(self) -> time::PrimitiveDateTime {
        self.0
    }

    /// The date.
    pub fn date(self) -> Date {
        Date(self.0.date())
    }

    /// The same time of day on another date.
    pub fn with_date(self, date: Date) -> Self {
        Self(self.0.replace_date(date.0))
    }

    /// Hour 0–23.
    pub fn hour(self) -> u8 {
        self.0.hour()
    }

    /// Minute 0–59.
    pub fn minute(self) -> u8 {
        self.0.minute()
    }

    /// Second 0–59.
    pub fn second(self) -> u8 {
        self.0.second()
    }
}

/// `YYYY-MM-DD HH:MM:SS`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date(),
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
    fn the_range_ends_at_years_1_and_9999_without_panicking() {
        assert_eq!(Date::MIN, d("0001-01-01"));
        assert_eq!(Date::MAX, d("9999-12-31"));
        assert_eq!(Date::new(0, 12, 31), Err(DateError::NoSuchDate));
        assert_eq!(Date::new(10_000, 1, 1), Err(DateError::NoSuchDate));
        assert_eq!(Date::MIN.add_days(-1), None);
        assert_eq!(Date::MAX.add_days(1), None);
        assert_eq!(Date::MIN.days_since_epoch(), -719_162);
        assert_eq!(Date::from_days_since_epoch(-719_162), Some(Date::MIN));
        assert_eq!(Date::from_days_since_epoch(-719_163), None);
        for huge in [
            i64::MIN,
            i64::MAX,
            i64::from(i32::MAX),
            -i64::from(i32::MAX),
        ] {
            assert_eq!(Date::from_days_since_epoch(huge), None);
            assert_eq!(d("2026-01-01").add_days(huge), None);
        }
        for huge in [i64::MIN, i64::MAX, 253_402_300_800] {
            assert_eq!(DateTime::from_unix_seconds(huge, 8 * 3600), None);
        }
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(2026, 13), 0);
        assert_eq!(days_in_month(2026, 0), 0);
    }

    #[test]
    fn converts_to_and_from_time() {
        let date = d("2026-10-10");
        assert_eq!(date.to_time(), time::macros::date!(2026 - 10 - 10));
        assert_eq!(Date::from_time(date.to_time()), Some(date));
        assert_eq!(Date::from_time(time::macros::date!(0000 - 12 - 31)), None);
        let t = DateTime::parse("2026-10-10 08:09:10").unwrap();
        assert_eq!(
            t.to_time(),
            time::macros::datetime!(2026 - 10 - 10 08:09:10)
        );
        assert_eq!(
            t.with_date(d("2027-01-02")).to_string(),
            "2027-01-02 08:09:10"
        );
        assert_eq!(
            DateTime::start_of_day(date).to_string(),
            "2026-10-10 00:00:00"
        );
        // Before 1970 and with a negative offset.
        let t = DateTime::from_unix_seconds(-1, -5 * 3600).unwrap();
        assert_eq!(t.to_string(), "1969-12-31 18:59:59");
        assert_eq!(t.to_unix_seconds(-5 * 3600), -1);
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
