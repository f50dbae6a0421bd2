//! Tencent Cloud FaceID (慧眼) over its public API, called through the TC3-HMAC-SHA256 client
//! the SMS provider also uses ([`crate::tc3`]):
//! - liveness, H5 flow: `DetectAuth` (RuleId, IdCard, Name, RedirectUrl → Url, BizToken),
//!   the phone does the check on Tencent's page and comes back to RedirectUrl, then
//!   `GetDetectInfoEnhanced` (BizToken, RuleId, InfoType "1": the text result only, so ID
//!   card images, best frames and video — biometric data, sensitive under PIPL Art. 28 —
//!   never reach the hall, which reads only `Text.ErrCode`) → `Text.ErrCode` 0 = passed;
//! - carrier three elements: `PhoneVerification` (IdCard, Name, Phone) → `Result` "0" = match;
//!   "-13" (该号段不支持验证) is final for that number: reported as such, so the applicant is
//!   told to use another number rather than to try again.
//!
//! Timeouts, connection failures, 5xx, `InternalError*`, `RequestLimitExceeded*` and the
//! carrier's "-11 服务繁忙" are `Unavailable` (try again later); other refusals are `Refused`.
//! Only codes and request ids are logged, never the request body.

use crate::tc3::{Tc3Client, Tc3Failure, Tc3Settings};
use crate::ConfigError;
use app::error::GatewayError;
use app::identity::{
    CarrierCheck, CarrierOutcome, IdentityCheck, IdentityOutcome, LivenessRequest, LivenessStart,
};
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

/// The FaceID API version.
pub const FACEID_VERSION: &str = "2018-03-01";
/// The service name in the TC3 credential scope.
pub const FACEID_SERVICE: &str = "faceid";

/// `[identity.tencent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentFaceIdConfig {
    /// API base URL; only tests change it.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Region header (FaceID accepts an empty one; `ap-guangzhou` is the usual).
    #[serde(default = "crate::tc3::default_region")]
    pub region: String,
    /// API key id (SecretId).
    pub secret_id: String,
    /// API key secret (SecretKey); hidden from `Debug`, never logged.
    pub secret_key: SecretString,
    /// The 慧眼 business rule (RuleId) from the FaceID console.
    pub rule_id: String,
    /// Whole-request timeout in milliseconds.
    #[serde(default = "crate::tc3::default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_endpoint() -> String {
    "https://faceid.tencentcloudapi.com".into()
}

/// A FaceID client (liveness); [`TencentCarrier`] wraps it for the carrier check.
#[derive(Debug)]
pub struct TencentFaceId {
    config: TencentFaceIdConfig,
    api: Tc3Client,
}

impl TencentFaceId {
    /// The provider name used in configuration.
    pub const NAME: &'static str = "tencent";

    /// Checks the configuration and prepares the HTTP client.
    pub fn new(config: TencentFaceIdConfig) -> Result<Self, ConfigError> {
        let api = Tc3Client::new(Tc3Settings {
            section: "identity.tencent",
            endpoint: &config.endpoint,
            required: &[
                ("secret_id", &config.secret_id),
                ("rule_id", &config.rule_id),
            ],
            secret_id: &config.secret_id,
            secret_key: &config.secret_key,
            timeout_ms: config.timeout_ms,
            service: FACEID_SERVICE,
            version: FACEID_VERSION,
            region: &config.region,
        })?;
        Ok(Self { config, api })
    }

    /// One signed API call; the `Response` object on success.
    async fn call(&self, action: &str, body: &Value) -> Result<Value, GatewayError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| GatewayError::Refused(format!("tencent faceid: encode: {e}")))?;
        let outcome = self
            .api
            .call(action, body)
            .await
            .map_err(|f| gateway_error(action, f));
        if let Err(e) = &outcome {
            tracing::warn!(identity.provider = "tencent", identity.action = action, error = %e, "faceid call failed");
        }
        outcome
    }
}

/// Maps an answer to its `Response` object or an error (codes and request ids only).
#[cfg(test)]
fn interpret(action: &str, status: u16, body: &[u8]) -> Result<Value, GatewayError> {
    crate::tc3::envelope(status, body).map_err(|f| gateway_error(action, f))
}

/// Timeouts, connection failures, 5xx, unreadable bodies, `InternalError*` and
/// `RequestLimitExceeded*` may pass (`Unavailable`); the rest are refusals.
fn gateway_error(action: &str, f: Tc3Failure) -> GatewayError {
    let unavailable =
        |what: String| GatewayError::Unavailable(format!("tencent faceid {action}: {what}"));
    let refused = |what: String| GatewayError::Refused(format!("tencent faceid {action}: {what}"));
    match f {
        Tc3Failure::Transport { kind, .. } => unavailable(kind.to_owned()),
        Tc3Failure::Server(status) => unavailable(format!("HTTP {status}")),
        Tc3Failure::Unreadable(status) => {
            unavailable(format!("HTTP {status} with an unreadable body"))
        }
        Tc3Failure::NoResponse(status) | Tc3Failure::Status(status) => {
            refused(format!("HTTP {status}"))
        }
        Tc3Failure::Api { code, request_id } => {
            let what = format!("{code} (request {request_id})");
            if code.starts_with("InternalError") || code.starts_with("RequestLimitExceeded") {
                unavailable(what)
            } else {
                refused(what)
            }
        }
    }
}

#[async_trait]
impl IdentityCheck for TencentFaceId {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn start(&self, req: &LivenessRequest) -> Result<LivenessStart, GatewayError> {
        let r = self
            .call(
                "DetectAuth",
                &json!({
                    "RuleId": self.config.rule_id,
                    "IdCard": req.id_number,
                    "Name": req.name,
                    "RedirectUrl": req.redirect_url,
                }),
            )
            .await?;
        match (r["Url"].as_str(), r["BizToken"].as_str()) {
            (Some(url), Some(token))
                if url.starts_with("https://") || url.starts_with("http://") =>
            {
                Ok(LivenessStart {
                    url: url.to_owned(),
                    biz_token: token.to_owned(),
                })
            }
            _ => Err(GatewayError::Refused(
                "tencent faceid DetectAuth: no Url/BizToken".into(),
            )),
        }
    }

    async fn outcome(
        &self,
        biz_token: &str,
        _req: &LivenessRequest,
    ) -> Result<IdentityOutcome, GatewayError> {
        let r = self
            .call(
                "GetDetectInfoEnhanced",
                &json!({"BizToken": biz_token, "RuleId": self.config.rule_id, "InfoType": INFO_TYPE_TEXT}),
            )
            .await?;
        let request_id = r["RequestId"].as_str().unwrap_or_default().to_owned();
        let text = &r["Text"];
        match text["ErrCode"].as_i64() {
            Some(0) => Ok(IdentityOutcome {
                passed: true,
                reason: String::new(),
                provider_ref: request_id,
            }),
            // The user has not finished on Tencent's page yet: nothing decided.
            None => Err(GatewayError::Unavailable(format!(
                "tencent faceid: no result yet (request {request_id})"
            ))),
            Some(code) => Ok(IdentityOutcome {
                passed: false,
                reason: format!("活体认证未通过(错误码 {code}),请在光线充足处正对手机重新认证"),
                provider_ref: request_id,
            }),
        }
    }
}

/// `GetDetectInfoEnhanced`'s `InfoType` for the text result alone ("0" would be everything:
/// "1" text, "2" ID card images, "3" best frames, "4" video).
pub const INFO_TYPE_TEXT: &str = "1";

/// Carrier three elements through FaceID's `PhoneVerification`.
#[derive(Debug)]
pub struct TencentCarrier(pub TencentFaceId);

#[async_trait]
impl CarrierCheck for TencentCarrier {
    fn name(&self) -> &'static str {
        TencentFaceId::NAME
    }

    async fn check(
        &self,
        name: &str,
        id_number: &str,
        phone: &str,
    ) -> Result<CarrierOutcome, GatewayError> {
        let r = self
            .0
            .call(
                "PhoneVerification",
                &json!({"IdCard": id_number, "Name": name, "Phone": phone}),
            )
            .await?;
        let request_id = r["RequestId"].as_str().unwrap_or_default().to_owned();
        match r["Result"].as_str() {
            Some("0") => Ok(CarrierOutcome {
                matched: true,
                unsupported_number: false,
                provider_ref: request_id,
            }),
            Some("-4" | "-6" | "-7" | "-8" | "-9") => Ok(CarrierOutcome {
                matched: false,
                unsupported_number: false,
                provider_ref: request_id,
            }),
            // 该号段不支持验证: asking again gives the same answer.
            Some("-13") => Ok(CarrierOutcome {
                matched: false,
                unsupported_number: true,
                provider_ref: request_id,
            }),
            other => Err(GatewayError::Unavailable(format!(
                "tencent faceid PhoneVerification: result {} (request {request_id})",
                other.unwrap_or("none")
            ))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn interprets_errors() {
        assert!(matches!(
            interpret("X", 503, b""),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(
                "X",
                200,
                br#"{"Response":{"Error":{"Code":"InternalError.X"},"RequestId":"r"}}"#
            ),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            interpret("X", 200, br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure"},"RequestId":"r"}}"#),
            Err(GatewayError::Refused(_))
        ));
        assert_eq!(
            interpret("X", 200, br#"{"Response":{"Result":"0","RequestId":"r"}}"#).unwrap()
                ["Result"],
            "0"
        );
    }
}
