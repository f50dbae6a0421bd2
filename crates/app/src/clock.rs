//! Time is injected, so tests move it instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// One minute in milliseconds.
pub const MINUTE: Millis = 60_000;
/// One hour in milliseconds.
pub const HOUR: Millis = 60 * MINUTE;
/// One day in milliseconds.
pub const DAY: Millis = 24 * HOUR;

/// The source of "now" for every use case.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Millis;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests, demos).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starts at `at`.
    pub fn new(at: Millis) -> Self {
        Self(AtomicI64::new(at))
    }
    /// Moves forward by `by` milliseconds.
    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
    /// Jumps to `at`.
    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// Beijing time (China Standard Time) in seconds east of UTC; no daylight saving.
const BEIJING_OFFSET_SECONDS: i32 = 8 * 3600;

/// Formats a timestamp as Beijing time (UTC+8), `YYYY-MM-DD HH:MM:SS`, for pages and messages.
/// The calendar arithmetic is `domain::DateTime`'s (the `time` crate underneath); a timestamp
/// outside the years 1–9999 is written as its raw milliseconds.
pub fn format_beijing(ms: Millis) -> String {
    domain::DateTime::from_unix_seconds(ms.div_euclid(1000), BEIJING_OFFSET_SECONDS)
        .map_or_else(|| ms.to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_beijing_time() {
        // 2026-11-23T16:30:00Z is 2026-11-24 00:30:00 in Beijing.
        assert_eq!(format_beijing(1_795_451_400_000), "2026-11-24 00:30:00");
        assert_eq!(format_beijing(0), "1970-01-01 08:00:00");
        // Milliseconds are dropped, never rounded up; before 1970 too.
        assert_eq!(format_beijing(999), "1970-01-01 08:00:00");
        assert_eq!(format_beijing(-1), "1970-01-01 07:59:59");
        // 2024-02-29T15:59:59Z is the leap day's last second in Beijing.
        assert_eq!(format_beijing(1_709_222_399_000), "2024-02-29 23:59:59");
        assert_eq!(format_beijing(i64::MAX), i64::MAX.to_string());
    }
}
