//! Tencent Cloud FaceID (慧眼) over its public API, signed with TC3-HMAC-SHA256 (the same
//! signer as the SMS provider, [`crate::sms::tc3_authorization`]):
//! - liveness, H5 flow: `DetectAuth` (RuleId, IdCard, Name, RedirectUrl → Url, BizToken),
//!   the phone does the check on Tencent's page and comes back to RedirectUrl, then
//!   `GetDetectInfoEnhanced` (BizToken, RuleId, InfoType "0") → `Text.ErrCode` 0 = passed;
//! - carrier three elements: `PhoneVerification` (IdCard, Name, Phone) → `Result` "0" = match.
//!
//! Timeouts, connection failures, 5xx, `InternalError*`, `RequestLimitExceeded*` and the
//! carrier's "-11 服务繁忙" are `Unavailable` (try again later); other refusals are `Refused`.
//! Only codes and request ids are logged, never the request body.

use crate::sms::{tc3_authorization, CONTENT_TYPE};
use crate::ConfigError;
use app::error::GatewayError;
use app::identity::{
    CarrierCheck, CarrierOutcome, IdentityCheck, IdentityOutcome, LivenessRequest, LivenessStart,
};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

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
    #[serde(default = "default_region")]
    pub region: String,
    /// API key id (SecretId).
    pub secret_id: String,
    /// API key secret (SecretKey); hidden from `Debug`, never logged.
    pub secret_key: SecretString,
    /// The 慧眼 business rule (RuleId) from the FaceID console.
    pub rule_id: String,
    /// Whole-request timeout in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_endpoint() -> String {
    "https://faceid.tencentcloudapi.com".into()
}
fn default_region() -> String {
    "ap-guangzhou".into()
}
fn default_timeout_ms() -> u64 {
    10_000
}

/// A FaceID client (liveness); [`TencentCarrier`] wraps it for the carrier check.
#[derive(Debug)]
pub struct TencentFaceId {
    config: TencentFaceIdConfig,
    url: reqwest::Url,
    host: String,
    client: reqwest::Client,
}

impl TencentFaceId {
    /// The provider name used in configuration.
    pub const NAME: &'static str = "tencent";

    /// Checks the configuration and prepares the HTTP client.
    pub fn new(config: TencentFaceIdConfig) -> Result<Self, ConfigError> {
        let invalid =
            |key: &str, why: &str| ConfigError::Invalid(format!("identity.tencent.{key}: {why}"));
        let url = reqwest::Url::parse(&config.endpoint)
            .map_err(|e| invalid("endpoint", &e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("endpoint", "must be an http(s) URL"));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(invalid("endpoint", "has no host")),
        };
        for (key, value) in [
            ("secret_id", &config.secret_id),
            ("rule_id", &config.rule_id),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if config.secret_key.expose_secret().is_empty() {
            return Err(invalid("secret_key", "must not be empty"));
        }
        if config.timeout_ms == 0 {
            return Err(invalid("timeout_ms", "must be above zero"));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Invalid(format!("identity.tencent: HTTP client: {e}")))?;
        Ok(Self {
            config,
            url,
            host,
            client,
        })
    }

    /// One signed API call; the `Response` object on success.
    async fn call(&self, action: &str, body: &Value) -> Result<Value, GatewayError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| GatewayError::Refused(format!("tencent faceid: encode: {e}")))?;
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let authorization = tc3_authorization(
            &self.config.secret_id,
            self.config.secret_key.expose_secret(),
            FACEID_SERVICE,
            &self.host,
            timestamp,
            &body,
        );
        let resp = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("X-TC-Action", action)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Version", FACEID_VERSION)
            .header("X-TC-Region", &self.config.region)
            .body(body)
            .send()
            .await
            .map_err(|e| transport(action, &e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| transport(action, &e))?;
        let outcome = interpret(action, status, &bytes);
        if let Err(e) = &outcome {
            tracing::warn!(identity.provider = "tencent", identity.action = action, error = %e, "faceid call failed");
        }
        outcome
    }
}

fn transport(action: &str, e: &reqwest::Error) -> GatewayError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    GatewayError::Unavailable(format!("tencent faceid {action}: {kind}"))
}

/// Maps an answer to its `Response` object or an error (codes and request ids only).
fn interpret(action: &str, status: u16, body: &[u8]) -> Result<Value, GatewayError> {
    if status >= 500 {
        return Err(GatewayError::Unavailable(format!(
            "tencent faceid {action}: HTTP {status}"
        )));
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        GatewayError::Unavailable(format!(
            "tencent faceid {action}: HTTP {status} with an unreadable body"
        ))
    })?;
    let r = v.get("Response").cloned().unwrap_or(Value::Null);
    let request_id = r["RequestId"].as_str().unwrap_or_default().to_owned();
    if let Some(code) = r["Error"]["Code"].as_str() {
        let msg = format!("tencent faceid {action}: {code} (request {request_id})");
        return Err(
            if code.starts_with("InternalError") || code.starts_with("RequestLimitExceeded") {
                GatewayError::Unavailable(msg)
            } else {
                GatewayError::Refused(msg)
            },
        );
    }
    if !(200..300).contains(&status) || r.is_null() {
        return Err(GatewayError::Refused(format!(
            "tencent faceid {action}: HTTP {status}"
        )));
    }
    Ok(r)
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
                &json!({"BizToken": biz_token, "RuleId": self.config.rule_id, "InfoType": "0"}),
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
                provider_ref: request_id,
            }),
            Some("-4" | "-6" | "-7" | "-8" | "-9") => Ok(CarrierOutcome {
                matched: false,
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
