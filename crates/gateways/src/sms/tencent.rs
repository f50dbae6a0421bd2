//! Tencent Cloud SMS (API 3.0, action `SendSms`, version 2021-01-11), with requests signed
//! by TC3-HMAC-SHA256 as Tencent documents it ("签名方法 v3").

use app::error::GatewayError;
use app::ports::{Sms, SmsMessage, SmsReceipt};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::ConfigError;

/// The API version this provider speaks.
pub const API_VERSION: &str = "2021-01-11";
/// The API action used to send.
pub const ACTION: &str = "SendSms";
/// The service name in the credential scope.
pub const SERVICE: &str = "sms";
/// The only content type the signature covers; sent exactly like this.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// The signing algorithm name.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// `[sms.tencent]`: credentials and templates for Tencent Cloud SMS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentSmsConfig {
    /// API base URL; only tests change it.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Region the SMS application lives in (`ap-guangzhou`, `ap-beijing`, `ap-nanjing`).
    #[serde(default = "default_region")]
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
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_endpoint() -> String {
    "https://sms.tencentcloudapi.com".into()
}

fn default_region() -> String {
    "ap-guangzhou".into()
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// Sends through Tencent Cloud SMS.
#[derive(Debug)]
pub struct TencentSms {
    config: TencentSmsConfig,
    url: reqwest::Url,
    host: String,
    client: reqwest::Client,
}

impl TencentSms {
    /// The provider name used in configuration.
    pub const NAME: &'static str = "tencent";

    /// Checks the configuration and prepares the HTTP client.
    pub fn new(config: TencentSmsConfig) -> Result<Self, ConfigError> {
        let invalid =
            |key: &str, why: &str| ConfigError::Invalid(format!("sms.tencent.{key}: {why}"));
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
            ("region", &config.region),
            ("secret_id", &config.secret_id),
            ("sdk_app_id", &config.sdk_app_id),
            ("sign_name", &config.sign_name),
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
            .map_err(|e| ConfigError::Invalid(format!("sms.tencent: HTTP client: {e}")))?;
        Ok(Self {
            config,
            url,
            host,
            client,
        })
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
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let authorization = tc3_authorization(
            &self.config.secret_id,
            self.config.secret_key.expose_secret(),
            SERVICE,
            &self.host,
            timestamp,
            &body,
        );
        let started = std::time::Instant::now();
        let result = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Version", API_VERSION)
            .header("X-TC-Region", &self.config.region)
            .body(body)
            .send()
            .await;
        let outcome = match result {
            Err(e) => Err(transport_error(&e)),
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Err(e) => Err(transport_error(&e)),
                    Ok(bytes) => interpret(status.as_u16(), &bytes),
                }
            }
        };
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

/// A transport failure (timeout, refused connection, reset): the provider may come back.
fn transport_error(e: &reqwest::Error) -> GatewayError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    GatewayError::Unavailable(format!("tencent: {kind}: {}", root_cause(e)))
}

/// The innermost cause of a transport error (the outer message only repeats the URL).
fn root_cause(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    innermost.unwrap_or_else(|| "request failed".into())
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: ResponseBody,
}

#[derive(Deserialize)]
struct ResponseBody {
    #[serde(rename = "Error")]
    error: Option<ApiError>,
    #[serde(rename = "SendStatusSet", default)]
    send_status_set: Vec<SendStatus>,
    #[serde(rename = "RequestId", default)]
    request_id: String,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "Code")]
    code: String,
}

#[derive(Deserialize)]
struct SendStatus {
    #[serde(rename = "SerialNo", default)]
    serial_no: String,
    #[serde(rename = "Code")]
    code: String,
}

/// Maps Tencent's answer to a receipt or an error. Only codes and the request id are
/// kept: Tencent's messages may echo the number.
fn interpret(status: u16, body: &[u8]) -> Result<SmsReceipt, GatewayError> {
    if status >= 500 {
        return Err(GatewayError::Unavailable(format!("tencent: HTTP {status}")));
    }
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if status >= 400 => {
            return Err(GatewayError::Refused(format!("tencent: HTTP {status}")))
        }
        Err(_) => {
            return Err(GatewayError::Unavailable(format!(
                "tencent: HTTP {status} with an unreadable body"
            )))
        }
    };
    let r = envelope.response;
    if let Some(err) = r.error {
        return Err(GatewayError::Refused(format!(
            "tencent: {} (request {})",
            err.code, r.request_id
        )));
    }
    if !(200..300).contains(&status) {
        return Err(GatewayError::Refused(format!("tencent: HTTP {status}")));
    }
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

type HmacSha256 = Hmac<Sha256>;

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The UTC calendar date (`YYYY-MM-DD`) of a Unix timestamp, as the credential scope needs.
/// Days-to-civil conversion of the proleptic Gregorian calendar (H. Hinnant's algorithm).
pub fn utc_date(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The TC3-HMAC-SHA256 signature (lowercase hex) of a JSON `POST /` to `host`, signing the
/// headers `content-type` (exactly [`CONTENT_TYPE`]) and `host`. Pure: the caller supplies
/// the timestamp that it also sends as `X-TC-Timestamp`.
///
/// ```text
/// CanonicalRequest = "POST\n/\n\n" + "content-type:" + CONTENT_TYPE + "\nhost:" + host + "\n\n"
///                    + "content-type;host\n" + hex(SHA256(payload))
/// StringToSign     = "TC3-HMAC-SHA256\n" + timestamp + "\n" + date/service/tc3_request + "\n"
///                    + hex(SHA256(CanonicalRequest))
/// SecretSigning    = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request")
/// Signature        = hex(HMAC(SecretSigning, StringToSign))
/// ```
pub fn tc3_signature(
    secret_key: &str,
    service: &str,
    host: &str,
    timestamp: i64,
    payload: &[u8],
) -> String {
    let date = utc_date(timestamp);
    let canonical_request = format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
        sha256_hex(payload)
    );
    let scope = format!("{date}/{service}/tc3_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()))
}

/// The `Authorization` header value for [`tc3_signature`]:
/// `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=content-type;host, Signature=<hex>`.
pub fn tc3_authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    timestamp: i64,
    payload: &[u8],
) -> String {
    let signature = tc3_signature(secret_key, service, host, timestamp, payload);
    format!(
        "{ALGORITHM} Credential={secret_id}/{}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={signature}",
        utc_date(timestamp)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Vector computed independently of this code with Python 3.11's hmac/hashlib, from
    // Tencent's description of TC3-HMAC-SHA256; the script was run once and its output pasted:
    //
    //   import hashlib, hmac, datetime
    //   key, ts, host = "TEST-SECRET-KEY-0123456789abcdef", 1763936130, "sms.tencentcloudapi.com"
    //   payload = '{"PhoneNumberSet":["+8613800138000"],"SmsSdkAppId":"1400000001",' \
    //             '"SignName":"深圳CA","TemplateId":"1234567","TemplateParamSet":["654321"]}'.encode()
    //   date = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")
    //   cr = "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:" + host \
    //        + "\n\ncontent-type;host\n" + hashlib.sha256(payload).hexdigest()
    //   sts = "TC3-HMAC-SHA256\n%d\n%s/sms/tc3_request\n%s" % (ts, date,
    //         hashlib.sha256(cr.encode()).hexdigest())
    //   h = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
    //   k = h(h(h(("TC3" + key).encode(), date), "sms"), "tc3_request")
    //   print(date, hmac.new(k, sts.encode(), hashlib.sha256).hexdigest())
    //
    // Output: 2025-11-23 4918b655114a99b69d2ea825ae9c18b0f7eeeecdb9f973cc2a4ee8a61eafc374
    const VECTOR_SIGNATURE: &str =
        "4918b655114a99b69d2ea825ae9c18b0f7eeeecdb9f973cc2a4ee8a61eafc374";

    fn vector_payload() -> Vec<u8> {
        let s = r#"{"PhoneNumberSet":["+8613800138000"],"SmsSdkAppId":"1400000001","SignName":"深圳CA","TemplateId":"1234567","TemplateParamSet":["654321"]}"#;
        s.as_bytes().to_vec()
    }

    #[test]
    fn signature_matches_independent_vector() {
        let sig = tc3_signature(
            "TEST-SECRET-KEY-0123456789abcdef",
            "sms",
            "sms.tencentcloudapi.com",
            1_763_936_130,
            &vector_payload(),
        );
        assert_eq!(sig, VECTOR_SIGNATURE);
    }

    #[test]
    fn authorization_header_shape() {
        let auth = tc3_authorization(
            "AKIDtest",
            "TEST-SECRET-KEY-0123456789abcdef",
            "sms",
            "sms.tencentcloudapi.com",
            1_763_936_130,
            &vector_payload(),
        );
        assert_eq!(
            auth,
            format!("TC3-HMAC-SHA256 Credential=AKIDtest/2025-11-23/sms/tc3_request, SignedHeaders=content-type;host, Signature={VECTOR_SIGNATURE}")
        );
    }

    #[test]
    fn signature_depends_on_every_input() {
        let base = tc3_signature("k", "sms", "h", 1_700_000_000, b"{}");
        assert_ne!(base, tc3_signature("k2", "sms", "h", 1_700_000_000, b"{}"));
        assert_ne!(base, tc3_signature("k", "cvm", "h", 1_700_000_000, b"{}"));
        assert_ne!(base, tc3_signature("k", "sms", "h2", 1_700_000_000, b"{}"));
        assert_ne!(base, tc3_signature("k", "sms", "h", 1_700_000_001, b"{}"));
        assert_ne!(base, tc3_signature("k", "sms", "h", 1_700_000_000, b"{ }"));
    }

    #[test]
    fn utc_date_agrees_with_the_time_crate() {
        for ts in [
            0_i64,
            -1,
            951_782_400, // 2000-02-29
            1_763_936_130,
            1_763_942_399, // last second of 2025-11-23
            1_763_942_400,
            4_102_444_800,  // 2100-01-01
            -2_208_988_800, // 1900-01-01
        ] {
            let d = time::OffsetDateTime::from_unix_timestamp(ts)
                .unwrap()
                .date();
            let expected = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
            assert_eq!(utc_date(ts), expected, "timestamp {ts}");
        }
    }

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
