//! SMS providers behind [`app::ports::Sms`], chosen by `sms.provider` in configuration.
//!
//! ```toml
//! [sms]
//! provider = "tencent"          # or "sandbox" (the default)
//!
//! [sms.tencent]
//! secret_id = "AKID…"
//! secret_key = "…"
//! sdk_app_id = "1400…"
//! sign_name = "深圳CA"
//! templates = { login_code = "1234567", reset_code = "1234568", change_phone_code = "1234569" }
//! ```

mod sandbox;
mod tencent;

pub use crate::tc3::{tc3_authorization, tc3_signature, utc_date, ALGORITHM, CONTENT_TYPE};
pub use sandbox::SandboxSms;
pub use tencent::{TencentSms, TencentSmsConfig, ACTION, API_VERSION, SERVICE};

use crate::ConfigError;
use app::ports::Sms;
use serde::Deserialize;
use std::sync::Arc;

/// The provider names [`build`] accepts.
pub const PROVIDERS: &str = "sandbox, tencent";

/// `[sms]`: which provider sends, and the settings of the real ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsProviderConfig {
    /// Provider name: `sandbox` (default) or `tencent`.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Settings of the Tencent Cloud provider; required when `provider = "tencent"`.
    #[serde(default)]
    pub tencent: Option<TencentSmsConfig>,
}

fn default_provider() -> String {
    SandboxSms::NAME.into()
}

impl Default for SmsProviderConfig {
    fn default() -> Self {
        Self {
            provider: default_provider(),
            tencent: None,
        }
    }
}

/// Builds the configured SMS provider. An unknown name, or a real provider without its
/// table, is an error to report at start.
pub fn build(config: &SmsProviderConfig) -> Result<Arc<dyn Sms>, ConfigError> {
    match config.provider.trim() {
        SandboxSms::NAME => Ok(Arc::new(SandboxSms)),
        TencentSms::NAME => {
            let tencent = config.tencent.clone().ok_or(ConfigError::MissingTable {
                port: "sms",
                name: TencentSms::NAME,
            })?;
            Ok(Arc::new(TencentSms::new(tencent)?))
        }
        other => Err(ConfigError::UnknownProvider {
            port: "sms",
            name: other.to_owned(),
            known: PROVIDERS,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(json: &str) -> SmsProviderConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn default_is_the_sandbox() {
        let sms = build(&SmsProviderConfig::default()).unwrap();
        assert_eq!(sms.name(), "sandbox");
        assert!(sms.is_sandbox());
        assert_eq!(build(&parse("{}")).unwrap().name(), "sandbox");
    }

    #[test]
    fn tencent_by_name() {
        let sms = build(&parse(
            r#"{"provider":"tencent","tencent":{"secret_id":"a","secret_key":"b","sdk_app_id":"1","sign_name":"s"}}"#,
        ))
        .unwrap();
        assert_eq!(sms.name(), "tencent");
        assert!(!sms.is_sandbox());
    }

    #[test]
    fn unknown_provider_is_named_in_the_error() {
        let err = build(&parse(r#"{"provider":"aliyun"}"#)).err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("\"aliyun\"") && text.contains("sandbox, tencent"),
            "{text}"
        );
    }

    #[test]
    fn tencent_without_its_table_is_refused() {
        let err = build(&parse(r#"{"provider":"tencent"}"#)).err().unwrap();
        assert!(matches!(err, ConfigError::MissingTable { .. }), "{err}");
        assert!(err.to_string().contains("[sms.tencent]"));
    }

    #[test]
    fn bad_tencent_values_are_refused() {
        for (cfg, key) in [
            (
                r#"{"secret_id":" ","secret_key":"b","sdk_app_id":"1","sign_name":"s"}"#,
                "secret_id",
            ),
            (
                r#"{"secret_id":"a","secret_key":"","sdk_app_id":"1","sign_name":"s"}"#,
                "secret_key",
            ),
            (
                r#"{"secret_id":"a","secret_key":"b","sdk_app_id":"1","sign_name":"s","endpoint":"ftp://x"}"#,
                "endpoint",
            ),
            (
                r#"{"secret_id":"a","secret_key":"b","sdk_app_id":"1","sign_name":"s","timeout_ms":0}"#,
                "timeout_ms",
            ),
        ] {
            let config = parse(&format!(r#"{{"provider":"tencent","tencent":{cfg}}}"#));
            let err = build(&config).err().unwrap().to_string();
            assert!(err.contains(&format!("sms.tencent.{key}")), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(serde_json::from_str::<SmsProviderConfig>(
            r#"{"provider":"sandbox","tencnet":{}}"#
        )
        .is_err());
    }
}
