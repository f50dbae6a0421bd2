//! Couriers behind [`app::desk::Courier`], chosen by `[courier] provider`.
//!
//! ```toml
//! [courier]
//! provider = "sf"               # or "sandbox" (the default)
//!
//! [courier.sf]                  # 顺丰 丰桥 open platform, EXP_RECE_CREATE_ORDER
//! partner_id = "…"              # 顾客编码
//! check_word = "…"              # 校验码
//! url = "https://sfapi.sf-express.com/std/service"
//! sender_name = "深圳CA 制证中心"
//! sender_phone = "0755-…"
//! sender_address = "广东省深圳市…"
//! ```

mod sf;

pub use sf::{java_urlencode, msg_digest, SfConfig, SfExpress, SF_CREATE_ORDER};

use crate::ConfigError;
use app::desk::{Courier, SandboxCourier};
use serde::Deserialize;
use std::sync::Arc;

/// `[courier]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CourierConfig {
    /// `sandbox` (default) or `sf`.
    pub provider: String,
    /// Settings of 顺丰; required when `provider = "sf"`.
    pub sf: Option<SfConfig>,
}

/// Builds the configured courier.
pub fn build(config: &CourierConfig) -> Result<Arc<dyn Courier>, ConfigError> {
    match config.provider.trim() {
        "" | "sandbox" => Ok(Arc::new(SandboxCourier)),
        "sf" => {
            let c = config.sf.clone().ok_or(ConfigError::MissingTable {
                port: "courier",
                name: "sf",
            })?;
            Ok(Arc::new(SfExpress::new(c)?))
        }
        other => Err(ConfigError::UnknownProvider {
            port: "courier",
            name: other.into(),
            known: "sandbox, sf",
        }),
    }
}
