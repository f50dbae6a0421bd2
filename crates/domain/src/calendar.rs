//! 工作日: the working-day calendar behind the review deadline (审核时效, three working days).
//!
//! A working day is Monday to Friday, except the official days off of a holiday (放假), plus
//! the weekend days the State Council declares working days (调休上班). Each year's schedule is
//! data, published by the State Council every November, loaded from a TOML file of the shape of
//! `data/cn-holidays-2026.toml`; nothing here invents a date. For a year without a schedule the
//! calendar counts weekends only, and [`WorkCalendar::has_year`] lets callers warn about it.

use crate::date::{Date, DateTime};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The built-in schedule file for 2026 (国务院办公厅关于2026年部分节假日安排的通知).
pub const BUILTIN_2026: &str = include_str!("../data/cn-holidays-2026.toml");

/// Why a holiday schedule file was refused. Shown to the administrator importing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not TOML, or missing or unknown keys.
    #[error("节假日文件格式不正确:{0}")]
    Toml(String),
    /// `year` outside 1900–9999.
    #[error("节假日文件中的年份 {0} 不正确")]
    Year(i64),
    /// A holiday without a name.
    #[error("节假日文件中有节日名称为空")]
    EmptyName,
    /// No holiday at all: most likely the wrong file.
    #[error("节假日文件中没有任何节假日安排,请确认文件是否正确")]
    NoHolidays,
    /// A date not written as YYYY-MM-DD, or not a real date.
    #[error("节假日文件中的日期“{0}”不正确,应为 YYYY-MM-DD 格式的真实日期")]
    Date(String),
    /// A date more than a year away from the schedule's year.
    #[error("日期 {date} 不属于 {year} 年的节假日安排")]
    OutsideYear {
        /// The date.
        date: Date,
        /// The schedule's year.
        year: i32,
    },
    /// A `work` day that is not a Saturday or Sunday (every weekday is a working day already).
    #[error("调休上班日 {0} 不是星期六或星期日,请核对")]
    WorkNotWeekend(Date),
    /// A date listed both as a day off and as a working day, in one file or across years.
    #[error("日期 {0} 同时被列为放假日和调休上班日,请核对")]
    Conflict(Date),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    year: i64,
    source: String,
    #[serde(default)]
    holiday: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    off: Vec<String>,
    #[serde(default)]
    work: Vec<String>,
}

/// The parser's message, prefixed with the line it concerns when known.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |t| t.matches('\n').count())
                + 1;
            format!("第{line}行:{}", e.message())
        }
        None => e.message().to_owned(),
    }
}

/// One holiday of a year's schedule (e.g. 国庆节): its days off and its adjusted working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    name: String,
    off: Vec<Date>,
    work: Vec<Date>,
}

impl Holiday {
    /// The holiday's name, e.g. 春节.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its days off, in the order of the file.
    pub fn off(&self) -> &[Date] {
        &self.off
    }

    /// Its weekend days that are working days (调休上班).
    pub fn work(&self) -> &[Date] {
        &self.work
    }
}

/// The official holiday schedule of one year, as published by the State Council.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    year: i32,
    source: String,
    holidays: Vec<Holiday>,
}

impl YearSchedule {
    /// Parses a schedule file:
    ///
    /// ```toml
    /// year = 2026
    /// source = "国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)"
    /// [[holiday]]
    /// name = "国庆节"
    /// off = ["2026-10-01", "2026-10-02"]   # days off
    /// work = ["2026-10-10"]                # weekend days that are working days
    /// ```
    ///
    /// Checks: known keys only; at least one holiday, each named; every date a real
    /// `YYYY-MM-DD` within the year or an adjacent one (a notice may move a day of the
    /// previous or next year, e.g. a 元旦 break starting on 31 December); every `work` day a
    /// Saturday or Sunday; no date both off and work.
    pub fn parse_toml(text: &str) -> Result<Self, CalendarError> {
        let raw: RawSchedule =
            toml::from_str(text).map_err(|e| CalendarError::Toml(toml_problem(text, &e)))?;
        let year = i32::try_from(raw.year)
            .ok()
            .filter(|y| (1900..=9999).contains(y))
            .ok_or(CalendarError::Year(raw.year))?;
        if raw.holiday.is_empty() {
            return Err(CalendarError::NoHolidays);
        }
        let date = |s: &String| -> Result<Date, CalendarError> {
            let d = Date::parse(s).map_err(|_| CalendarError::Date(s.clone()))?;
            if (d.year() - year).abs() > 1 {
                return Err(CalendarError::OutsideYear { date: d, year });
            }
            Ok(d)
        };
        let mut holidays = Vec::with_capacity(raw.holiday.len());
        for h in &raw.holiday {
            let name = h.name.trim();
            if name.is_empty() {
                return Err(CalendarError::EmptyName);
            }
            let off = h.off.iter().map(date).collect::<Result<Vec<_>, _>>()?;
            let work = h.work.iter().map(date).collect::<Result<Vec<_>, _>>()?;
            if let Some(d) = work.iter().find(|d| !d.weekday().is_weekend()) {
                return Err(CalendarError::WorkNotWeekend(*d));
            }
            holidays.push(Holiday {
                name: name.to_owned(),
                off,
                work,
            });
        }
        let schedule = Self {
            year,
            source: raw.source.trim().to_owned(),
            holidays,
        };
        let work = schedule.work_days();
        if let Some(d) = schedule.off_days().into_iter().find(|d| work.contains(d)) {
            return Err(CalendarError::Conflict(d));
        }
        Ok(schedule)
    }

    /// The year the schedule is for.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Where the dates come from (the notice and its date).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The holidays, in the order of the file.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// Every day off of the schedule.
    pub fn off_days(&self) -> BTreeSet<Date> {
        self.holidays
            .iter()
            .flat_map(|h| h.off.iter().copied())
            .collect()
    }

    /// Every adjusted working day of the schedule.
    pub fn work_days(&self) -> BTreeSet<Date> {
        self.holidays
            .iter()
            .flat_map(|h| h.work.iter().copied())
            .collect()
    }
}

/// What kind of day a date is, with the holiday that makes it so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind<'a> {
    /// Monday to Friday with no holiday.
    Weekday,
    /// Saturday or Sunday with no adjustment.
    Weekend,
    /// A day off of the named holiday (放假).
    Holiday(&'a str),
    /// A weekend day that is a working day because of the named holiday (调休上班).
    AdjustedWorkday(&'a str),
}

impl DayKind<'_> {
    /// Whether staff work that day.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Weekday | DayKind::AdjustedWorkday(_))
    }
}

/// The working-day calendar: the yearly schedules loaded so far, weekends only for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    schedules: BTreeMap<i32, YearSchedule>,
}

impl WorkCalendar {
    /// A calendar with no schedule: Monday to Friday are working days.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// The calendar with the schedules shipped in the binary ([`BUILTIN_2026`]).
    pub fn builtin() -> Self {
        let mut calendar = Self::default();
        // The built-in file is checked by the tests; a broken one must not start silently.
        #[allow(clippy::expect_used)]
        let schedule = YearSchedule::parse_toml(BUILTIN_2026).expect("built-in holiday schedule");
        calendar.schedules.insert(schedule.year(), schedule);
        calendar
    }

    /// Adds a year's schedule, replacing the one of the same year if there was one (which is
    /// returned). Refused if a date conflicts with another year's schedule (off in one, work in
    /// the other); the calendar is then unchanged.
    pub fn insert(
        &mut self,
        schedule: YearSchedule,
    ) -> Result<Option<YearSchedule>, CalendarError> {
        let off = schedule.off_days();
        let work = schedule.work_days();
        for other in self.schedules.values().filter(|s| s.year != schedule.year) {
            if let Some(d) = other.work_days().intersection(&off).next() {
                return Err(CalendarError::Conflict(*d));
            }
            if let Some(d) = other.off_days().intersection(&work).next() {
                return Err(CalendarError::Conflict(*d));
            }
        }
        Ok(self.schedules.insert(schedule.year, schedule))
    }

    /// Whether the official schedule of `year` is loaded. When it is not, dates of that year
    /// count weekends only, and the caller should warn that holidays are not taken into account.
    pub fn has_year(&self, year: i32) -> bool {
        self.schedules.contains_key(&year)
    }

    /// The years with a schedule, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.schedules.keys().copied()
    }

    /// The schedule of `year`, if loaded.
    pub fn schedule(&self, year: i32) -> Option<&YearSchedule> {
        self.schedules.get(&year)
    }

    /// The years from `from` to `to` (inclusive) that have no schedule, e.g. to warn that a
    /// due date was computed with weekends only.
    pub fn missing_years(&self, from: Date, to: Date) -> Vec<i32> {
        (from.year()..=to.year())
            .filter(|y| !self.has_year(*y))
            .collect()
    }

    /// What kind of day `date` is. A date listed in any loaded schedule (its own year's, or an
    /// adjacent year's notice) follows that listing; any other date is a working day Monday to
    /// Friday.
    pub fn day_kind(&self, date: Date) -> DayKind<'_> {
        let years = date.year().saturating_sub(1)..=date.year().saturating_add(1);
        for schedule in self.schedules.range(years).map(|(_, s)| s) {
            for h in &schedule.holidays {
                if h.off.contains(&date) {
                    return DayKind::Holiday(&h.name);
                }
                if h.work.contains(&date) {
                    return DayKind::AdjustedWorkday(&h.name);
                }
            }
        }
        if date.weekday().is_weekend() {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        }
    }

    /// Whether `date` is a working day: not an official day off, and either Monday to Friday or
    /// an adjusted working weekend day.
    pub fn is_working_day(&self, date: Date) -> bool {
        self.day_kind(date).is_working()
    }

    /// The first working day strictly after `date` (9999-12-31 if none is representable).
    pub fn next_working_day(&self, date: Date) -> Date {
        let mut d = date;
        loop {
            match d.succ() {
                Some(next) if self.is_working_day(next) => return next,
                Some(next) => d = next,
                None => return Date::MAX,
            }
        }
    }

    /// The due time of a period of `n` working days that starts at `start` (e.g. review within
    /// three working days of entering review):
    ///
    /// 1. If `start` is on a working day, the clock starts at `start`. Otherwise it starts at
    ///    00:00 of the next working day.
    /// 2. The due time is the clock-start time of day on the `n`-th working day after the
    ///    clock-start day.
    ///
    /// So exactly `n` whole working days (24 hours each, counting only working days) lie between
    /// the clock start and the due time. With the 2026 schedule: Wed 2026-09-30 10:00 + 3 →
    /// Sat 2026-10-10 10:00 (10-01…10-07 are 国庆 days off; 10-08 and 10-09 count 1 and 2;
    /// 10-10 is an adjusted working Saturday); Sat 2026-10-03 15:00 + 3 → clock start Thu
    /// 10-08 00:00 → due Mon 10-12 00:00. `n = 0` gives the clock start. Saturates at
    /// 9999-12-31.
    pub fn add_working_days(&self, start: DateTime, n: u32) -> DateTime {
        let clock_start = if self.is_working_day(start.date()) {
            start
        } else {
            DateTime::start_of_day(self.next_working_day(start.date()))
        };
        let mut day = clock_start.date();
        for _ in 0..n {
            day = self.next_working_day(day);
            if day == Date::MAX {
                break;
            }
        }
        clock_start.with_date(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn t(s: &str) -> DateTime {
        DateTime::parse(s).unwrap()
    }

    #[test]
    fn builtin_2026_is_the_official_schedule() {
        let cal = WorkCalendar::builtin();
        assert!(cal.has_year(2026));
        assert_eq!(cal.years().collect::<Vec<_>>(), [2026]);
        let s = cal.schedule(2026).unwrap();
        assert_eq!(s.holidays().len(), 7);
        assert!(s.source().contains("国务院办公厅"));
        assert_eq!(s.off_days().len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
        assert_eq!(s.work_days().len(), 6);
    }

    #[test]
    fn working_days_of_2026() {
        let cal = WorkCalendar::builtin();
        // Adjusted working Saturdays and Sunday.
        for day in [
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        ] {
            assert!(cal.is_working_day(d(day)), "{day}");
        }
        assert_eq!(
            cal.day_kind(d("2026-02-14")),
            DayKind::AdjustedWorkday("春节")
        );
        // Days off, on weekdays and weekends.
        for day in [
            "2026-01-01",
            "2026-01-02",
            "2026-02-16",
            "2026-02-23",
            "2026-04-06",
            "2026-05-05",
            "2026-06-19",
            "2026-09-25",
            "2026-10-01",
            "2026-10-07",
        ] {
            assert!(!cal.is_working_day(d(day)), "{day}");
        }
        assert_eq!(cal.day_kind(d("2026-10-03")), DayKind::Holiday("国庆节"));
        // Ordinary days.
        assert_eq!(cal.day_kind(d("2026-11-23")), DayKind::Weekday);
        assert_eq!(cal.day_kind(d("2026-11-22")), DayKind::Weekend);
        assert!(!cal.is_working_day(d("2026-11-21")));
    }

    #[test]
    fn three_working_days_across_national_day() {
        let cal = WorkCalendar::builtin();
        assert_eq!(
            cal.add_working_days(t("2026-09-30 10:00"), 3),
            t("2026-10-10 10:00")
        );
        // Starting inside the holiday: the clock starts on Thu 10-08 at 00:00.
        assert_eq!(
            cal.add_working_days(t("2026-10-03 15:00"), 3),
            t("2026-10-12 00:00")
        );
        // 中秋 then an ordinary weekend.
        assert_eq!(
            cal.add_working_days(t("2026-09-24 16:30:05"), 3),
            t("2026-09-30 16:30:05")
        );
        assert_eq!(
            cal.add_working_days(t("2026-09-24 16:30"), 0),
            t("2026-09-24 16:30")
        );
        assert_eq!(
            cal.add_working_days(t("2026-09-26 16:30"), 0),
            t("2026-09-28 00:00")
        );
    }

    #[test]
    fn three_working_days_across_spring_festival() {
        let cal = WorkCalendar::builtin();
        // Fri 02-13 → Sat 02-14 (adjusted) is 1, 02-15…02-23 off, 02-24 is 2, 02-25 is 3.
        assert_eq!(
            cal.add_working_days(t("2026-02-13 09:00"), 3),
            t("2026-02-25 09:00")
        );
        // Starting on a day off.
        assert_eq!(
            cal.add_working_days(t("2026-02-22 12:00"), 3),
            t("2026-02-27 00:00")
        );
        // Starting on the adjusted working Saturday itself.
        assert_eq!(
            cal.add_working_days(t("2026-02-14 11:00"), 1),
            t("2026-02-24 11:00")
        );
    }

    #[test]
    fn a_year_without_data_falls_back_to_weekends() {
        let cal = WorkCalendar::builtin();
        assert!(!cal.has_year(2027));
        // 2027-01-01 is a Friday: working under the fallback; no date is invented.
        assert!(cal.is_working_day(d("2027-01-01")));
        assert!(!cal.is_working_day(d("2027-01-02")));
        assert_eq!(
            cal.add_working_days(t("2026-12-31 10:00"), 3),
            t("2027-01-05 10:00")
        );
        assert_eq!(cal.missing_years(d("2026-12-31"), d("2027-01-05")), [2027]);
        assert!(cal
            .missing_years(d("2026-01-01"), d("2026-12-31"))
            .is_empty());
        let empty = WorkCalendar::weekends_only();
        assert!(!empty.has_year(2026));
        assert!(empty.is_working_day(d("2026-10-01")));
        assert!(!empty.is_working_day(d("2026-02-14")));
    }

    #[test]
    fn loading_another_year() {
        let mut cal = WorkCalendar::builtin();
        let y2027 = YearSchedule::parse_toml(
            "year = 2027\nsource = \"test\"\n[[holiday]]\nname = \"元旦\"\noff = [\"2027-01-01\"]\n",
        )
        .unwrap();
        assert_eq!(cal.insert(y2027.clone()), Ok(None));
        assert!(cal.has_year(2027));
        assert!(!cal.is_working_day(d("2027-01-01")));
        assert_eq!(cal.insert(y2027.clone()), Ok(Some(y2027)));
        // A neighbouring year's notice may list 31 December; conflicts across years are refused.
        let clash = YearSchedule::parse_toml(
            "year = 2025\nsource = \"test\"\n[[holiday]]\nname = \"x\"\noff = [\"2026-01-04\"]\n",
        )
        .unwrap();
        assert_eq!(
            cal.insert(clash),
            Err(CalendarError::Conflict(d("2026-01-04")))
        );
        assert!(!cal.has_year(2025));
    }

    #[test]
    fn refuses_bad_schedule_files() {
        let file =
            |body: &str| YearSchedule::parse_toml(&format!("year = 2026\nsource = \"s\"\n{body}"));
        assert!(matches!(
            YearSchedule::parse_toml("year = "),
            Err(CalendarError::Toml(_))
        ));
        assert!(matches!(
            file("colour = 1\n[[holiday]]\nname=\"a\"\noff=[]"),
            Err(CalendarError::Toml(_))
        ));
        assert!(matches!(
            file("[[holiday]]\nname=\"a\"\noff=[2026-01-01]"),
            Err(CalendarError::Toml(_))
        ));
        assert_eq!(file(""), Err(CalendarError::NoHolidays));
        assert_eq!(
            file("[[holiday]]\nname=\" \"\noff=[]"),
            Err(CalendarError::EmptyName)
        );
        assert_eq!(
            file("[[holiday]]\nname=\"a\"\noff=[\"2026-02-30\"]"),
            Err(CalendarError::Date("2026-02-30".into()))
        );
        assert_eq!(
            file("[[holiday]]\nname=\"a\"\noff=[\"2026/01/01\"]"),
            Err(CalendarError::Date("2026/01/01".into()))
        );
        assert_eq!(
            file("[[holiday]]\nname=\"a\"\noff=[\"2028-01-01\"]"),
            Err(CalendarError::OutsideYear {
                date: d("2028-01-01"),
                year: 2026
            })
        );
        assert_eq!(
            file("[[holiday]]\nname=\"a\"\noff=[]\nwork=[\"2026-01-05\"]"),
            Err(CalendarError::WorkNotWeekend(d("2026-01-05")))
        );
        assert_eq!(
            file("[[holiday]]\nname=\"a\"\noff=[\"2026-01-04\"]\n[[holiday]]\nname=\"b\"\noff=[]\nwork=[\"2026-01-04\"]"),
            Err(CalendarError::Conflict(d("2026-01-04")))
        );
        assert_eq!(
            YearSchedule::parse_toml(
                "year = 99999\nsource = \"s\"\n[[holiday]]\nname=\"a\"\noff=[]"
            ),
            Err(CalendarError::Year(99999))
        );
        assert!(CalendarError::WorkNotWeekend(d("2026-01-05"))
            .to_string()
            .contains("2026-01-05"));
    }
}
