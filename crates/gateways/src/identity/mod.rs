//! Identity providers behind [`app::identity::IdentityCheck`] (face / liveness against the ID)
//! and [`app::identity::CarrierCheck`] (实名电信认证, three elements), chosen by name in
//! configuration.
//!
//! ```toml
//! [identity]
//! provider = "tencent"            # or "sandbox" (the default)
//! carrier_provider = "tencent"    # defaults to `provider`
//! attempts_per_day = 5
//!
//! [identity.sandbox]              # outcomes a tester can drive
//! fail_id_numbers = ["11010519491231002X"]
//! fail_phones = ["13700137001"]
//!
//! [identity.tencent]              # Tencent Cloud FaceID (慧眼), TC3-HMAC-SHA256
//! secret_id = "AKID…"
//! secret_key = "…"
//! rule_id = "1"
//! ```

mod sandbox;
mod tencent;

pub use sandbox::{SandboxCarrier, SandboxIdentity, SandboxIdentityConfig};
pub use tencent::{
    TencentCarrier, TencentFaceId, TencentFaceIdConfig, FACEID_SERVICE, FACEID_VERSION,
};

use crate::ConfigError;
use app::identity::{CarrierCheck, IdentityCheck, IdentityPolicy};
use serde::Deserialize;
use std::sync::Arc;

/// The provider names [`build`] accepts.
pub const PROVIDERS: &str = "sandbox, tencent";

/// `[identity]`: providers, their settings, and the limits of the step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderConfig {
    /// Face / liveness provider: `sandbox` (default) or `tencent`.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Carrier check provider; empty means the same as `provider`.
    #[serde(default)]
    pub carrier_provider: String,
    /// Minutes a QR link lives unscanned.
    #[serde(default = "d_link")]
    pub link_minutes: i64,
    /// Liveness attempts per order per Beijing day.
    #[serde(default = "d_attempts")]
    pub attempts_per_day: i64,
    /// QR codes per order per Beijing day.
    #[serde(default = "d_links")]
    pub links_per_day: i64,
    /// Days after an order completes before its ID photos are deleted.
    #[serde(default = "d_retention")]
    pub retention_days: i64,
    /// Sandbox outcomes.
    #[serde(default)]
    pub sandbox: SandboxIdentityConfig,
    /// Tencent Cloud FaceID; required when a provider is `tencent`.
    #[serde(default)]
    pub tencent: Option<TencentFaceIdConfig>,
}

fn default_provider() -> String {
    SandboxIdentity::NAME.into()
}
fn d_link() -> i64 {
    IdentityPolicy::default().link_minutes
}
fn d_attempts() -> i64 {
    IdentityPolicy::default().attempts_per_day
}
fn d_links() -> i64 {
    IdentityPolicy::default().links_per_day
}
fn d_retention() -> i64 {
    IdentityPolicy::default().retention_days
}

impl Default for IdentityProviderConfig {
    fn default() -> Self {
        Self {
            provider: default_provider(),
            carrier_provider: String::new(),
            link_minutes: d_link(),
            attempts_per_day: d_attempts(),
            links_per_day: d_links(),
            retention_days: d_retention(),
            sandbox: SandboxIdentityConfig::default(),
            tencent: None,
        }
    }
}

/// What [`build`] returns: the two providers and the limits.
pub struct IdentityProviders {
    /// Face / liveness.
    pub check: Arc<dyn IdentityCheck>,
    /// Carrier.
    pub carrier: Arc<dyn CarrierCheck>,
    /// Limits.
    pub policy: IdentityPolicy,
}

/// Builds the configured providers; unknown names or missing tables are errors at start.
pub fn build(config: &IdentityProviderConfig) -> Result<IdentityProviders, ConfigError> {
    for (key, v) in [
        ("link_minutes", config.link_minutes),
        ("attempts_per_day", config.attempts_per_day),
        ("links_per_day", config.links_per_day),
    ] {
        if v < 1 {
            return Err(ConfigError::Invalid(format!(
                "identity.{key}: must be at least 1"
            )));
        }
    }
    if config.retention_days < 0 {
        return Err(ConfigError::Invalid(
            "identity.retention_days: must not be negative".into(),
        ));
    }
    let tencent = || -> Result<TencentFaceIdConfig, ConfigError> {
        config.tencent.clone().ok_or(ConfigError::MissingTable {
            port: "identity",
            name: TencentFaceId::NAME,
        })
    };
    let check: Arc<dyn IdentityCheck> = match config.provider.trim() {
        SandboxIdentity::NAME => Arc::new(SandboxIdentity::new(config.sandbox.clone())),
        TencentFaceId::NAME => Arc::new(TencentFaceId::new(tencent()?)?),
        other => {
            return Err(ConfigError::UnknownProvider {
                port: "identity",
                name: other.to_owned(),
                known: PROVIDERS,
            })
        }
    };
    let carrier_name = if config.carrier_provider.trim().is_empty() {
        config.provider.trim()
    } else {
        config.carrier_provider.trim()
    };
    let carrier: Arc<dyn CarrierCheck> = match carrier_name {
        SandboxIdentity::NAME => Arc::new(SandboxCarrier::new(config.sandbox.clone())),
        TencentFaceId::NAME => Arc::new(TencentCarrier(TencentFaceId::new(tencent()?)?)),
        other => {
            return Err(ConfigError::UnknownProvider {
                port: "identity.carrier",
                name: other.to_owned(),
                known: PROVIDERS,
            })
        }
    };
    Ok(IdentityProviders {
        check,
        carrier,
        policy: IdentityPolicy {
            link_minutes: config.link_minutes,
            attempts_per_day: config.attempts_per_day,
            links_per_day: config.links_per_day,
            retention_days: config.retention_days,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_names() {
        let p = build(&IdentityProviderConfig::default()).unwrap();
        assert_eq!((p.check.name(), p.carrier.name()), ("sandbox", "sandbox"));
        assert_eq!(p.policy.attempts_per_day, 5);
        let c: IdentityProviderConfig = serde_json::from_str(r#"{"provider":"tencent"}"#).unwrap();
        assert!(matches!(
            build(&c).err().unwrap(),
            ConfigError::MissingTable { .. }
        ));
        let c: IdentityProviderConfig = serde_json::from_str(r#"{"provider":"aliyun"}"#).unwrap();
        assert!(build(&c).err().unwrap().to_string().contains("aliyun"));
        assert!(serde_json::from_str::<IdentityProviderConfig>(r#"{"provder":"x"}"#).is_err());
        let c: IdentityProviderConfig = serde_json::from_str(
            r#"{"carrier_provider":"tencent","tencent":{"secret_id":"a","secret_key":"b","rule_id":"1"}}"#,
        )
        .unwrap();
        let p = build(&c).unwrap();
        assert_eq!((p.check.name(), p.carrier.name()), ("sandbox", "tencent"));
    }
}
