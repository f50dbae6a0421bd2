//! 证书续期 rules that need no I/O (issue 14): which route a renewal takes on a given day —
//! 实时续期 inside the window (by default from 90 days before notAfter to 365 days after,
//! as BJCA's hall allows), 人工审核续期 outside it, none for a revoked certificate — and the
//! new validity: an unexpired certificate is extended from its old notAfter, an expired one
//! from the day of issuance. Times are Unix milliseconds, years are calendar years in UTC (a
//! 29 February becomes 28 February, as the CA's own year arithmetic does).

use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;

/// The 实时续期 window around notAfter (configurable, `[desk]` of the hall).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenewalWindow {
    /// Days before notAfter the window opens.
    pub before_days: u32,
    /// Days after notAfter it closes.
    pub after_days: u32,
}

impl Default for RenewalWindow {
    fn default() -> Self {
        Self {
            before_days: 90,
            after_days: 365,
        }
    }
}

/// Why a renewal cannot be 实时续期.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualWhy {
    /// The window has not opened yet (it opens at this time, ms).
    TooEarly(i64),
    /// The certificate expired longer ago than the window allows.
    ExpiredLong,
}

/// The route a renewal takes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// 实时续期: identity check again, pay, no review.
    Live,
    /// 人工审核续期: uploads and review like 新办.
    Manual(ManualWhy),
    /// A revoked certificate is not renewed (证书新办 instead).
    Revoked,
}

impl Route {
    /// What 我的证书 shows.
    pub fn label(self) -> &'static str {
        match self {
            Route::Live => "可实时续期",
            Route::Manual(_) => "人工审核续期",
            Route::Revoked => "不能续期",
        }
    }
    /// Machine name (API).
    pub fn key(self) -> &'static str {
        match self {
            Route::Live => "live",
            Route::Manual(_) => "manual",
            Route::Revoked => "none",
        }
    }
}

impl RenewalWindow {
    /// When the window opens and closes for a certificate ending at `not_after`.
    pub fn bounds(&self, not_after: i64) -> (i64, i64) {
        (
            not_after.saturating_sub(i64::from(self.before_days) * DAY_MS),
            not_after.saturating_add(i64::from(self.after_days) * DAY_MS),
        )
    }

    /// The route of a renewal at `now`.
    pub fn route(&self, not_after: i64, revoked: bool, now: i64) -> Route {
        if revoked {
            return Route::Revoked;
        }
        let (opens, closes) = self.bounds(not_after);
        if now < opens {
            Route::Manual(ManualWhy::TooEarly(opens))
        } else if now > closes {
            Route::Manual(ManualWhy::ExpiredLong)
        } else {
            Route::Live
        }
    }
}

/// `t` (ms) plus `years` calendar years in UTC; 29 February becomes 28 February. `None` out
/// of range.
pub fn add_years(t: i64, years: u8) -> Option<i64> {
    let dt = time::OffsetDateTime::from_unix_timestamp(t.div_euclid(1000)).ok()?;
    let year = dt.year() + i32::from(years);
    let (month, mut day) = (dt.month(), dt.day());
    if month == time::Month::February && day == 29 && !time::util::is_leap_year(year) {
        day = 28;
    }
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(dt.replace_date(date).unix_timestamp() * 1000 + t.rem_euclid(1000))
}

/// The new notAfter of a renewal for `years` at `now`: from the old notAfter while the
/// certificate is unexpired, else from now (the day of issuance).
pub fn new_not_after(old_not_after: i64, now: i64, years: u8) -> Option<i64> {
    add_years(old_not_after.max(now), years)
}

/// 办理年限 of a renewal: 1 to 5 years (the hall's catalogue prices each year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RenewalYears(u8);

impl RenewalYears {
    /// Fewest years.
    pub const MIN: u8 = 1;
    /// Most years.
    pub const MAX: u8 = 5;

    /// Parses what the applicant chose; the error is the message shown beside the field.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s.trim().parse::<u8>() {
            Ok(n) if (Self::MIN..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err("续期年限请选择1至5年"),
        }
    }

    /// The number of years.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Route {
    /// Why 实时续期 is refused on this route, in the words the page shows (none on
    /// [`Route::Live`]). 人工审核续期 is not an order yet, so the refusal says where to go.
    pub fn live_refusal(self) -> Option<&'static str> {
        match self {
            Route::Live => None,
            Route::Manual(ManualWhy::TooEarly(_)) => {
                Some("该证书尚未进入实时续期时间;如需提前续期,请办理人工审核续期")
            }
            Route::Manual(ManualWhy::ExpiredLong) => {
                Some("该证书过期已超过实时续期期限,请办理人工审核续期")
            }
            Route::Revoked => Some("该证书已吊销,不能续期,请办理证书新办"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23T00:00:00Z
    const NA: i64 = 1_795_392_000_000;

    #[test]
    fn the_window_runs_from_90_days_before_to_365_after() {
        let w = RenewalWindow::default();
        assert_eq!(
            w.route(NA, false, NA - 91 * DAY_MS),
            Route::Manual(ManualWhy::TooEarly(NA - 90 * DAY_MS))
        );
        assert_eq!(w.route(NA, false, NA - 90 * DAY_MS), Route::Live);
        assert_eq!(w.route(NA, false, NA), Route::Live);
        assert_eq!(w.route(NA, false, NA + 365 * DAY_MS), Route::Live);
        assert_eq!(
            w.route(NA, false, NA + 365 * DAY_MS + 1),
            Route::Manual(ManualWhy::ExpiredLong)
        );
        assert_eq!(w.route(NA, true, NA), Route::Revoked);
        let narrow = RenewalWindow {
            before_days: 30,
            after_days: 0,
        };
        assert_eq!(
            narrow.route(NA, false, NA - 31 * DAY_MS),
            Route::Manual(ManualWhy::TooEarly(NA - 30 * DAY_MS))
        );
        assert_eq!(
            narrow.route(NA, false, NA + 1),
            Route::Manual(ManualWhy::ExpiredLong)
        );
    }

    #[test]
    fn unexpired_extends_from_not_after_expired_from_now() {
        // 2029-11-23T00:00:00Z
        let plus3 = 1_890_086_400_000;
        assert_eq!(new_not_after(NA, NA - 10 * DAY_MS, 3), Some(plus3));
        let now = NA + 10 * DAY_MS;
        assert_eq!(new_not_after(NA, now, 3), Some(plus3 + 10 * DAY_MS));
        // 2028-02-29 + 1 year = 2029-02-28; + 4 years = 2032-02-29.
        let leap = 1_835_395_200_000; // 2028-02-29T00:00:00Z
        assert_eq!(add_years(leap, 1), Some(1_866_931_200_000));
        assert_eq!(add_years(leap, 4), Some(1_961_625_600_000));
    }

    #[test]
    fn years_are_one_to_five_and_refusals_name_the_manual_route() {
        assert_eq!(RenewalYears::parse(" 3 ").map(RenewalYears::get), Ok(3));
        for bad in ["0", "6", "", "x", "-1", "300"] {
            assert_eq!(RenewalYears::parse(bad), Err("续期年限请选择1至5年"));
        }
        assert_eq!(Route::Live.live_refusal(), None);
        assert!(Route::Manual(ManualWhy::TooEarly(0))
            .live_refusal()
            .is_some_and(|m| m.contains("人工审核续期")));
        assert!(Route::Manual(ManualWhy::ExpiredLong)
            .live_refusal()
            .is_some_and(|m| m.contains("人工审核续期")));
        assert!(Route::Revoked
            .live_refusal()
            .is_some_and(|m| m.contains("已吊销")));
    }
}
