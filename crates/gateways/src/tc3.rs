//! Tencent Cloud API 3.0 calls, shared by the providers that speak it (SMS, FaceID 慧眼):
//! requests signed with TC3-HMAC-SHA256 as Tencent documents it ("签名方法 v3"), sent as a
//! JSON `POST /` with the `X-TC-*` headers, and answers unwrapped from the
//! `{"Response": {…, "Error": {"Code"}, "RequestId"}}` envelope.
//!
//! [`Tc3Client::call`] reports what went wrong as a [`Tc3Failure`]; each provider turns it
//! into its own [`app::error::GatewayError`] (its wording, and which API codes are worth
//! retrying). Only codes and request ids are kept, never a body: answers may echo personal
//! data.

use crate::ConfigError;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The only content type the signature covers; sent exactly like this.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// The signing algorithm name.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The region a provider's configuration defaults to.
pub fn default_region() -> String {
    "ap-guangzhou".into()
}

/// The whole-request timeout (milliseconds) a provider's configuration defaults to.
pub fn default_timeout_ms() -> u64 {
    10_000
}

/// What a provider needs to reach one Tencent Cloud service.
pub struct Tc3Settings<'a> {
    /// The configuration table, for error messages (`sms.tencent`).
    pub section: &'a str,
    /// API base URL (`https://sms.tencentcloudapi.com`); only tests change it.
    pub endpoint: &'a str,
    /// Provider-specific keys that must not be blank, checked after the endpoint.
    pub required: &'a [(&'a str, &'a str)],
    /// API key id (SecretId).
    pub secret_id: &'a str,
    /// API key secret (SecretKey).
    pub secret_key: &'a SecretString,
    /// Whole-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// The service name in the credential scope (`sms`, `faceid`).
    pub service: &'static str,
    /// The API version (`X-TC-Version`).
    pub version: &'static str,
    /// The region (`X-TC-Region`).
    pub region: &'a str,
}

/// A signed Tencent Cloud API client for one service.
#[derive(Debug)]
pub struct Tc3Client {
    url: reqwest::Url,
    host: String,
    client: reqwest::Client,
    secret_id: String,
    secret_key: SecretString,
    service: &'static str,
    version: &'static str,
    region: String,
}

/// Why a call gave no `Response` to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tc3Failure {
    /// Timeout, refused connection, reset…: `kind` is `timeout`, `connect` or `transport`,
    /// `cause` the innermost error (the outer message only repeats the URL).
    Transport {
        /// `timeout`, `connect` or `transport`.
        kind: &'static str,
        /// The innermost cause.
        cause: String,
    },
    /// HTTP 5xx.
    Server(u16),
    /// The body is not JSON.
    Unreadable(u16),
    /// JSON without a `Response` object.
    NoResponse(u16),
    /// `Response.Error.Code` was set.
    Api {
        /// The error code (`AuthFailure.SignatureFailure`…).
        code: String,
        /// `Response.RequestId`, possibly empty.
        request_id: String,
    },
    /// Another non-2xx status without an error code.
    Status(u16),
}

impl Tc3Client {
    /// Checks the endpoint, the required keys, the secret and the timeout (in that order),
    /// and prepares the HTTP client (no redirects).
    pub fn new(s: Tc3Settings<'_>) -> Result<Self, ConfigError> {
        let section = s.section;
        let invalid =
            |key: &str, why: &str| ConfigError::Invalid(format!("{section}.{key}: {why}"));
        let url =
            reqwest::Url::parse(s.endpoint).map_err(|e| invalid("endpoint", &e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("endpoint", "must be an http(s) URL"));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(invalid("endpoint", "has no host")),
        };
        for (key, value) in s.required {
            if value.trim().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if s.secret_key.expose_secret().is_empty() {
            return Err(invalid("secret_key", "must not be empty"));
        }
        if s.timeout_ms == 0 {
            return Err(invalid("timeout_ms", "must be above zero"));
        }
        let client = crate::http_client(Duration::from_millis(s.timeout_ms))
            .build()
            .map_err(|e| ConfigError::Invalid(format!("{section}: HTTP client: {e}")))?;
        Ok(Self {
            url,
            host,
            client,
            secret_id: s.secret_id.to_owned(),
            secret_key: s.secret_key.clone(),
            service: s.service,
            version: s.version,
            region: s.region.to_owned(),
        })
    }

    /// One signed call of `action` with the JSON `body`; the `Response` object on success.
    pub async fn call(&self, action: &str, body: Vec<u8>) -> Result<Value, Tc3Failure> {
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let authorization = tc3_authorization(
            &self.secret_id,
            self.secret_key.expose_secret(),
            self.service,
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
            .header("X-TC-Version", self.version)
            .header("X-TC-Region", &self.region)
            .body(body)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| transport(&e))?;
        envelope(status, &bytes)
    }
}

fn transport(e: &reqwest::Error) -> Tc3Failure {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    Tc3Failure::Transport {
        kind,
        cause: root_cause(e),
    }
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

/// Unwraps an answer: 5xx first, then the body must be JSON with a `Response` object, then
/// `Response.Error.Code` wins over the status, then the status must be 2xx.
pub fn envelope(status: u16, body: &[u8]) -> Result<Value, Tc3Failure> {
    if status >= 500 {
        return Err(Tc3Failure::Server(status));
    }
    let mut v: Value = serde_json::from_slice(body).map_err(|_| Tc3Failure::Unreadable(status))?;
    let r = match v.get_mut("Response").map(Value::take) {
        Some(r @ Value::Object(_)) => r,
        _ => return Err(Tc3Failure::NoResponse(status)),
    };
    if let Some(code) = r["Error"]["Code"].as_str() {
        return Err(Tc3Failure::Api {
            code: code.to_owned(),
            request_id: request_id(&r),
        });
    }
    if !(200..300).contains(&status) {
        return Err(Tc3Failure::Status(status));
    }
    Ok(r)
}

/// `RequestId` of a `Response` object, or empty.
pub fn request_id(response: &Value) -> String {
    response["RequestId"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
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
    fn envelope_order_of_checks() {
        let ok = br#"{"Response":{"Result":"0","RequestId":"r"}}"#;
        assert_eq!(envelope(200, ok).unwrap()["Result"], "0");
        assert_eq!(envelope(502, ok), Err(Tc3Failure::Server(502)));
        assert_eq!(envelope(200, b"<html>"), Err(Tc3Failure::Unreadable(200)));
        assert_eq!(envelope(403, b"{}"), Err(Tc3Failure::NoResponse(403)));
        assert_eq!(
            envelope(
                400,
                br#"{"Response":{"Error":{"Code":"AuthFailure"},"RequestId":"r-2"}}"#
            ),
            Err(Tc3Failure::Api {
                code: "AuthFailure".into(),
                request_id: "r-2".into()
            })
        );
        assert_eq!(envelope(404, ok), Err(Tc3Failure::Status(404)));
    }
}
