//! Time for the CA service comes from an injected clock; the binary adapts the hall's clock
//! (`app::clock::Clock`) to this trait, tests use [`FixedClock`].

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The source of "now" for issuance, revocation, CRLs and OCSP.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// A clock that stands still until moved (tests, the benchmark's fixed instant).
#[derive(Debug)]
pub struct FixedClock(Mutex<SystemTime>);

impl FixedClock {
    /// Stands at `unix_seconds` after the epoch.
    pub fn at_unix(unix_seconds: u64) -> Self {
        Self(Mutex::new(UNIX_EPOCH + Duration::from_secs(unix_seconds)))
    }
    /// Moves forward by `by`.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0.lock().map(|t| *t).unwrap_or(UNIX_EPOCH)
    }
}

/// `t` cut to whole seconds (what certificates, CRLs and OCSP responses carry).
pub fn whole_seconds(t: SystemTime) -> SystemTime {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(d.as_secs())
}

/// `t` as milliseconds since the epoch (how the storage keeps times).
pub fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds since the epoch as a time (negative values are the epoch).
pub fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
