//! Tencent Cloud SMS (API 3.0, action `SendSms`, version 2021-01-11), called through the
//! shared TC3-HMAC-SHA256 client ([`crate::tc3`]).

use app::error::GatewayError;
use app::ports::{Sms, SmsMessage, SmsReceipt};
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::tc3::{Tc3Client, Tc3Failure, Tc3Settings};
use crate::ConfigError;

/// The API version this provider speaks.
pub const API_VERSION: &str = "2021-01-11";
/// The API action used to send.
pub const ACTION: &str = "SendSms";
/// The service name in the credential scope.
pub const SERVICE: &str = "sms";

/// `[sms.tencent]`: credentials and templates for Tencent Cloud SMS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentSmsConfig {
    /// API base URL; only tests change it.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Region the SMS application lives in (`ap-guangzhou`, `ap-beijing`, `ap-nanjing`).
    #[serde(default = "crate::tc3::default_region")]
    pub region: String,
    /// API key id (SecretId).
    pub secret_id: String,
    /// API key secret (SecretKey); hidden from `Debug` and never logged.
    pub secret_key: SecretString,
    /// SMS application id (SdkAppId) from the SMS console.
    pub sdk_app_id: String,
    /// Approved signature text (签名), without the brackets.
    pub sign_name: String,
    /// Approved template id for each template name the hall sends (`login_code = "1234567"`).
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// Whole-request timeout in milliseconds.
    #[serde(default = "crate::tc3::default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_endpoint() -> String {
    "https://sms.tencentcloudapi.com".into()
}

/// Sends through Tencent Cloud SMS.
#[derive(Debug)]
pub struct TencentSms {
    config: TencentSmsConfig,
    api: Tc3Client,
}

impl TencentSms {
    /// The provider name used in configuration.
    pub const NAME: &'static str = "tencent";

    /// Checks the configuration and prepares the HTTP client.
    pub fn new(config: TencentSmsConfig) -> Result<Self, ConfigError> {
        let api = Tc3Client::new(Tc3Settings {
            section: "sms.tencent",
            endpoint: &config.endpoint,
            required: &[
                ("region", &config.region),
                ("secret_id", &config.secret_id),
                ("sdk_app_id", &config.sdk_app_id),
                ("sign_name", &config.sign_name),
            ],
            secret_id: &config.secret_id,
            secret_key: &config.secret_key,
            timeout_ms: config.timeout_ms,
            service: SERVICE,
            version: API_VERSION,
            region: &config.region,
        })?;
        Ok(Self { config, api })
    }

    /// The JSON body of `SendSms` for one message, or `Refused` when the template has no
    /// configured id.
    fn body(&self, msg: &SmsMessage) -> Result<Vec<u8>, GatewayError> {
        let template_id = self.config.templates.get(&msg.template).ok_or_else(|| {
            GatewayError::Refused(format!(
                "tencent: no template id configured for template {:?} (sms.tencent.templates)",
                msg.template
            ))
        })?;
        let params: Vec<&str> = msg.params.iter().map(|(_, v)| v.as_str()).collect();
        let body = serde_json::json!({
            "PhoneNumberSet": [format!("+86{}", msg.phone.as_str())],
            "SmsSdkAppId": self.config.sdk_app_id,
            "SignName": self.config.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": params,
        });
        serde_json::to_vec(&body)
            .map_err(|e| GatewayError::Refused(format!("tencent: cannot encode request: {e}")))
    }
}

#[async_trait]
impl Sms for TencentSms {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn is_sandbox(&self) -> bool {
        false
    }

    async fn send(&self, msg: &SmsMessage) -> Result<SmsReceipt, GatewayError> {
        let body = self.body(msg)?;
        let started = std::time::Instant::now();
        let outcome = receipt(self.api.call(ACTION, body).await);
        let duration_ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Ok(_) => {
                tracing::info!(sms.provider = Self::NAME, sms.template = %msg.template, duration_ms, "sms accepted")
            }
            Err(e) => {
                tracing::warn!(sms.provider = Self::NAME, sms.template = %msg.template, duration_ms, error = %e, "sms not accepted")
            }
        }
        outcome
    }
}

#[derive(Deserialize)]
struct ResponseBody {
    #[serde(rename = "SendStatusSet", default)]
    send_status_set: Vec<SendStatus>,
    #[serde(rename = "RequestId", default)]
    request_id: String,
}

#[derive(Deserialize)]
struct SendStatus {
    #[serde(rename = "SerialNo", default)]
    serial_no: String,
    #[serde(rename = "Code")]
    code: String,
}

/// Maps Tencent's answer (status and body) to a receipt or an error.
#[cfg(test)]
fn interpret(status: u16, body: &[u8]) -> Result<SmsReceipt, GatewayError> {
    receipt(crate::tc3::envelope(status, body))
}

/// Maps the outcome of a `SendSms` call to a receipt or an error. Only codes and the request
/// id are kept: Tencent's messages may echo the number. Transport failures and 5xx may pass
/// (`Unavailable`); API error codes are refusals.
fn receipt(answer: Result<Value, Tc3Failure>) -> Result<SmsReceipt, GatewayError> {
    let response = answer.map_err(|f| match f {
        Tc3Failure::Transport { kind, cause } => {
            GatewayError::Unavailable(format!("tencent: {kind}: {cause}"))
        }
        Tc3Failure::Server(status) => GatewayError::Unavailable(format!("tencent: HTTP {status}")),
        Tc3Failure::Unreadable(status) | Tc3Failure::NoResponse(status) if status < 400 => {
            GatewayError::Unavailable(format!("tencent: HTTP {status} with an unreadable body"))
        }
        Tc3Failure::Unreadable(status)
        | Tc3Failure::NoResponse(status)
        | Tc3Failure::Status(status) => GatewayError::Refused(format!("tencent: HTTP {status}")),
        Tc3Failure::Api { code, request_id } => {
            GatewayError::Refused(format!("tencent: {code} (request {request_id})"))
        }
    })?;
    let r: ResponseBody = serde_json::from_value(response).map_err(|_| {
        GatewayError::Unavailable("tencent: an answer with an unreadable SendStatusSet".into())
    })?;
    match r.send_status_set.first() {
        Some(s) if s.code == "Ok" && !s.serial_no.is_empty() => Ok(SmsReceipt {
            provider_ref: s.serial_no.clone(),
        }),
        Some(s) => Err(GatewayError::Refused(format!(
            "tencent: {} (request {})",
            s.code, r.request_id
        ))),
        None => Err(GatewayError::Refused(format!(
            "tencent: no send status (request {})",
            r.request_id
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn interprets_success_and_refusals() {
        let ok = br#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:104571066915","PhoneNumber":"+8613800138000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r-1"}}"#;
        assert_eq!(
            interpret(200, ok).unwrap().provider_ref,
            "5000:104571066915"
        );

        let err = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"r-2"}}"#;
        match interpret(200, err) {
            Err(GatewayError::Refused(m)) => {
                assert!(
                    m.contains("AuthFailure.SignatureFailure") && m.contains("r-2"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }

        let status = br#"{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8613800138000","Fee":0,"Code":"FailedOperation.PhoneNumberInBlacklist","Message":"+8613800138000 is in blacklist","IsoCode":"CN"}],"RequestId":"r-3"}}"#;
        match interpret(200, status) {
            Err(GatewayError::Refused(m)) => {
                assert!(m.contains("FailedOperation.PhoneNumberInBlacklist"), "{m}");
                assert!(!m.contains("13800138000"), "phone leaked: {m}");
            }
            other => panic!("{other:?}"),
        }

        assert!(matches!(
            interpret(503, b"busy"),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(502, ok),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(403, b"<html>"),
            Err(GatewayError::Refused(_))
        ));
        assert!(matches!(
            interpret(200, b"<html>"),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(200, br#"{"Response":{"SendStatusSet":[],"RequestId":"r"}}"#),
            Err(GatewayError::Refused(_))
        ));
    }

    #[test]
    fn debug_hides_the_secret_key() {
        let cfg: TencentSmsConfig = toml_like(
            r#"{"secret_id":"AKIDtest","secret_key":"very-secret-value","sdk_app_id":"1400000001","sign_name":"深圳CA"}"#,
        );
        let shown = format!("{:?}", TencentSms::new(cfg).unwrap());
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("AKIDtest"));
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let cfg: TencentSmsConfig =
            toml_like(r#"{"secret_id":"a","secret_key":"b","sdk_app_id":"1","sign_name":"s"}"#);
        assert_eq!(cfg.endpoint, "https://sms.tencentcloudapi.com");
        assert_eq!(cfg.region, "ap-guangzhou");
        assert_eq!(cfg.timeout_ms, 10_000);
        let bad = serde_json::from_str::<TencentSmsConfig>(
            r#"{"secret_id":"a","secret_key":"b","sdk_app_id":"1","sign_name":"s","secretkey":"x"}"#,
        );
        assert!(bad.is_err());
    }

    fn toml_like(json: &str) -> TencentSmsConfig {
        serde_json::from_str(json).unwrap()
    }
}
