//! The bid-safety port (issue 14): a trading platform that can say "certificate serial X has
//! a bid opening at T". Renewing replaces the encryption certificate, and a bid sealed to the
//! old one cannot be opened with the new key, so 我的证书 shows every opening still ahead
//! beside the certificate, and a renewal before T has to wait or keep the old key.
//!
//! Providers: [`SandboxBids`] (the default install: a tester enters openings at
//! `/sandbox/bids`) and `gateways::bids::HttpBids`, which asks a platform over HTTP/JSON
//! (shape in docs/ARCHITECTURE.md).

use crate::clock::Millis;
use crate::{AppError, AppResult, GatewayError};
use async_trait::async_trait;
use std::sync::{Arc, RwLock};

/// One bid opening a platform knows of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidOpening {
    /// The certificate serial the bid is bound to (signing or encryption certificate, hex).
    pub serial: String,
    /// When the bids are opened (decrypted), ms.
    pub opens_at: Millis,
    /// The project (as the platform names it).
    pub project: String,
    /// The platform.
    pub platform: String,
}

/// A trading platform's calendar of openings.
#[async_trait]
pub trait BidCalendar: Send + Sync {
    /// Provider name.
    fn name(&self) -> &'static str;
    /// Whether this is the sandbox (its page is on).
    fn is_sandbox(&self) -> bool {
        false
    }
    /// The openings bound to any of `serials` (hex, upper case), in any order.
    async fn openings(&self, serials: &[String]) -> Result<Vec<BidOpening>, GatewayError>;
    /// Records an opening (the sandbox's tester page); other providers refuse.
    async fn add(&self, _opening: BidOpening) -> Result<(), GatewayError> {
        Err(GatewayError::Refused(
            "this bid calendar is read-only".into(),
        ))
    }
    /// Every opening known (the sandbox's page); other providers list none.
    async fn all(&self) -> Vec<BidOpening> {
        Vec::new()
    }
}

/// Sandbox: openings a tester entered, held in memory by the hall process.
#[derive(Debug, Default)]
pub struct SandboxBids {
    openings: RwLock<Vec<BidOpening>>,
}

#[async_trait]
impl BidCalendar for SandboxBids {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    fn is_sandbox(&self) -> bool {
        true
    }
    async fn openings(&self, serials: &[String]) -> Result<Vec<BidOpening>, GatewayError> {
        let all = self
            .openings
            .read()
            .map(|v| v.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        Ok(all
            .into_iter()
            .filter(|o| serials.contains(&o.serial))
            .collect())
    }
    async fn add(&self, opening: BidOpening) -> Result<(), GatewayError> {
        match self.openings.write() {
            Ok(mut v) => v.push(opening),
            Err(e) => e.into_inner().push(opening),
        }
        Ok(())
    }
    async fn all(&self) -> Vec<BidOpening> {
        self.openings
            .read()
            .map(|v| v.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// The openings still ahead at `now`, earliest first.
pub fn ahead(mut v: Vec<BidOpening>, now: Millis) -> Vec<BidOpening> {
    v.retain(|o| o.opens_at > now);
    v.sort_by_key(|o| o.opens_at);
    v
}

/// The sandbox page's use case: list and add openings; `NotFound` with a real provider.
#[derive(Clone)]
pub struct SandboxBidDesk {
    pub(crate) bids: Arc<dyn BidCalendar>,
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
}

impl SandboxBidDesk {
    /// Whether the sandbox page is on.
    pub fn is_on(&self) -> bool {
        self.bids.is_sandbox()
    }

    /// Every opening entered, earliest first.
    pub async fn list(&self) -> AppResult<Vec<BidOpening>> {
        if !self.is_on() {
            return Err(AppError::NotFound);
        }
        let mut v = self.bids.all().await;
        v.sort_by_key(|o| o.opens_at);
        Ok(v)
    }

    /// Adds an opening from the tester's form: serial (hex), time (`YYYY-MM-DD HH:MM`,
    /// Beijing), project.
    pub async fn add(&self, serial: &str, opens_at: &str, project: &str) -> AppResult<()> {
        if !self.is_on() {
            return Err(AppError::NotFound);
        }
        let serial = crate::certificates::normalise_serial(serial)?;
        let at = parse_beijing_minute(opens_at).ok_or_else(|| {
            AppError::invalid("opens_at", "开标时间格式应为 YYYY-MM-DD HH:MM(北京时间)")
        })?;
        if at <= self.clock.now() {
            return Err(AppError::invalid("opens_at", "开标时间应晚于当前时间"));
        }
        let project = project.trim();
        if project.is_empty() || project.chars().count() > 100 {
            return Err(AppError::invalid("project", "请填写项目名称(最多100字)"));
        }
        self.bids
            .add(BidOpening {
                serial,
                opens_at: at,
                project: project.to_owned(),
                platform: "沙箱交易平台".into(),
            })
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }
}

/// `YYYY-MM-DD HH:MM` (or with `T`) in Beijing time as Unix ms.
pub fn parse_beijing_minute(s: &str) -> Option<Millis> {
    let s = s.trim().replace('T', " ");
    let (d, t) = s.split_once(' ')?;
    let date = domain::Date::parse(d).ok()?;
    let (h, m) = t.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(((date.days_since_epoch() * 24 + h) * 60 + m) * 60_000 - 8 * 3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_minutes() {
        // 2026-11-24 00:30 in Beijing is 2026-11-23T16:30:00Z.
        assert_eq!(
            parse_beijing_minute("2026-11-24 00:30"),
            Some(1_795_451_400_000)
        );
        assert_eq!(
            parse_beijing_minute("2026-11-24T00:30"),
            Some(1_795_451_400_000)
        );
        assert_eq!(parse_beijing_minute("2026-11-24 24:00"), None);
        assert_eq!(parse_beijing_minute("tomorrow"), None);
    }
}
