//! The sandbox providers of the default install: the liveness "H5 page" is the hall's own
//! `/sandbox/liveness` page, and outcomes follow lists a tester sets in configuration, so
//! both the passing and the failing path can be shown without any outside service.

use app::error::GatewayError;
use app::identity::{
    CarrierCheck, CarrierOutcome, IdentityCheck, IdentityOutcome, LivenessRequest, LivenessStart,
};
use async_trait::async_trait;
use serde::Deserialize;

/// `[identity.sandbox]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxIdentityConfig {
    /// ID numbers whose liveness check fails (人脸与身份证信息不一致).
    pub fail_id_numbers: Vec<String>,
    /// Mobile numbers whose carrier check fails (实名信息不一致).
    pub fail_phones: Vec<String>,
    /// ID numbers for which the sandbox answers like a provider that is down.
    pub down_id_numbers: Vec<String>,
}

/// Sandbox face / liveness.
#[derive(Debug, Clone)]
pub struct SandboxIdentity(SandboxIdentityConfig);

impl SandboxIdentity {
    /// The provider name used in configuration.
    pub const NAME: &'static str = "sandbox";

    /// A sandbox with these outcomes.
    pub fn new(config: SandboxIdentityConfig) -> Self {
        Self(config)
    }
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait]
impl IdentityCheck for SandboxIdentity {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn start(&self, req: &LivenessRequest) -> Result<LivenessStart, GatewayError> {
        let biz_token = format!("SBX{}", app::secrets::random_hex(12).to_uppercase());
        Ok(LivenessStart {
            url: format!(
                "/sandbox/liveness?token={biz_token}&next={}",
                form_encode(&req.redirect_path)
            ),
            biz_token,
        })
    }

    async fn outcome(
        &self,
        biz_token: &str,
        req: &LivenessRequest,
    ) -> Result<IdentityOutcome, GatewayError> {
        if self.0.down_id_numbers.iter().any(|x| x == &req.id_number) {
            return Err(GatewayError::Unavailable(
                "sandbox: simulated outage".into(),
            ));
        }
        let passed = !self.0.fail_id_numbers.iter().any(|x| x == &req.id_number);
        Ok(IdentityOutcome {
            passed,
            reason: if passed {
                String::new()
            } else {
                "活体认证未通过:人脸与身份证信息不一致".into()
            },
            provider_ref: biz_token.to_owned(),
        })
    }
}

/// Sandbox carrier three-element check.
#[derive(Debug, Clone)]
pub struct SandboxCarrier(SandboxIdentityConfig);

impl SandboxCarrier {
    /// A sandbox with these outcomes.
    pub fn new(config: SandboxIdentityConfig) -> Self {
        Self(config)
    }
}

#[async_trait]
impl CarrierCheck for SandboxCarrier {
    fn name(&self) -> &'static str {
        SandboxIdentity::NAME
    }

    async fn check(
        &self,
        _name: &str,
        id_number: &str,
        phone: &str,
    ) -> Result<CarrierOutcome, GatewayError> {
        if self.0.down_id_numbers.iter().any(|x| x == id_number) {
            return Err(GatewayError::Unavailable(
                "sandbox: simulated outage".into(),
            ));
        }
        Ok(CarrierOutcome {
            matched: !self.0.fail_phones.iter().any(|x| x == phone),
            unsupported_number: false,
            provider_ref: format!("SBX{}", app::secrets::random_hex(8).to_uppercase()),
        })
    }
}
