//! 顺丰速运 through the 丰桥 open platform: `EXP_RECE_CREATE_ORDER` books a pick-up and returns
//! the waybill number. The request is a form POST of `partnerID`, `requestID`, `serviceCode`,
//! `timestamp`, `msgDigest` and `msgData` (JSON); `msgDigest` =
//! Base64(MD5(URLEncoder.encode(msgData + timestamp + checkWord, "UTF-8"))), Java's
//! URLEncoder (space → `+`, `*-._` and alphanumerics kept, the rest `%XX` upper case). The
//! answer's `apiResultCode` must be `A1000` and `apiResultData` (a JSON string) must say
//! `success: true`. Postage is collect: `payMethod = 2` (收方付, 邮费到付).

use crate::ConfigError;
use app::clock::{Clock, SystemClock};
use app::desk::{Courier, MailLabel};
use app::GatewayError;
use async_trait::async_trait;
use base64::Engine;
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The service code of order creation.
pub const SF_CREATE_ORDER: &str = "EXP_RECE_CREATE_ORDER";

/// `[courier.sf]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfConfig {
    /// 顾客编码 (partnerID).
    pub partner_id: String,
    /// 校验码 (checkWord).
    pub check_word: SecretString,
    /// Service URL (production `https://sfapi.sf-express.com/std/service`, sandbox
    /// `https://sfapi-sbox.sf-express.com/std/service`).
    #[serde(default = "default_url")]
    pub url: String,
    /// 月结卡号, if any (unused for 到付 but sent when set).
    #[serde(default)]
    pub monthly_card: String,
    /// Sender (the CA's production office).
    pub sender_name: String,
    /// Sender phone.
    pub sender_phone: String,
    /// Sender address.
    pub sender_address: String,
}

fn default_url() -> String {
    "https://sfapi.sf-express.com/std/service".into()
}

/// Java `URLEncoder.encode(s, "UTF-8")`.
pub fn java_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The request signature of the 丰桥 platform.
pub fn msg_digest(msg_data: &str, timestamp: &str, check_word: &str) -> String {
    let encoded = java_urlencode(&format!("{msg_data}{timestamp}{check_word}"));
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(encoded.as_bytes()))
}

/// 顺丰 as a [`Courier`].
pub struct SfExpress {
    cfg: SfConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl SfExpress {
    /// A provider with `cfg`.
    pub fn new(cfg: SfConfig) -> Result<Self, ConfigError> {
        if cfg.partner_id.trim().is_empty() || cfg.check_word.expose_secret().is_empty() {
            return Err(ConfigError::Invalid(
                "courier.sf: partner_id and check_word are required".into(),
            ));
        }
        let http = crate::http_client(Duration::from_secs(15))
            .build()
            .map_err(|e| ConfigError::Invalid(format!("courier.sf: {e}")))?;
        Ok(Self {
            cfg,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// The same provider reading its request timestamps from `clock` (the system clock by
    /// default: 丰桥 checks the timestamp against its own time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn msg_data(&self, label: &MailLabel) -> String {
        serde_json::json!({
            "language": "zh-CN",
            "orderId": label.order_no,
            "cargoDetails": [{ "name": "数字证书USB Key", "count": 1 }],
            "contactInfoList": [
                {
                    "contactType": 1,
                    "contact": self.cfg.sender_name,
                    "mobile": self.cfg.sender_phone,
                    "address": self.cfg.sender_address,
                    "country": "CN",
                },
                {
                    "contactType": 2,
                    "contact": label.recipient,
                    "mobile": label.phone,
                    "address": label.address,
                    "country": "CN",
                }
            ],
            "expressTypeId": 1,
            "payMethod": if label.postage_collect { 2 } else { 1 },
            "monthlyCard": self.cfg.monthly_card,
            "isReturnRoutelabel": 1,
        })
        .to_string()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiResponse {
    api_result_code: String,
    #[serde(default)]
    api_error_msg: Option<String>,
    #[serde(default)]
    api_result_data: Option<String>,
}

#[async_trait]
impl Courier for SfExpress {
    fn name(&self) -> &'static str {
        "sf"
    }

    async fn book(&self, label: &MailLabel) -> Result<String, GatewayError> {
        let msg_data = self.msg_data(label);
        let timestamp = self.clock.now().to_string();
        let digest = msg_digest(&msg_data, &timestamp, self.cfg.check_word.expose_secret());
        let request_id = hex::encode(rand::random::<[u8; 16]>());
        let form = [
            ("partnerID", self.cfg.partner_id.as_str()),
            ("requestID", request_id.as_str()),
            ("serviceCode", SF_CREATE_ORDER),
            ("timestamp", timestamp.as_str()),
            ("msgDigest", digest.as_str()),
            ("msgData", msg_data.as_str()),
        ];
        let resp = self
            .http
            .post(&self.cfg.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(format!("sf: {e}")))?;
        if resp.status().is_server_error() {
            return Err(GatewayError::Unavailable(format!(
                "sf: HTTP {}",
                resp.status()
            )));
        }
        let body: ApiResponse = resp
            .json()
            .await
            .map_err(|e| GatewayError::Unavailable(format!("sf: bad answer: {e}")))?;
        if body.api_result_code != "A1000" {
            return Err(GatewayError::Refused(format!(
                "sf {}: {}",
                body.api_result_code,
                body.api_error_msg.unwrap_or_default()
            )));
        }
        let data: serde_json::Value =
            serde_json::from_str(body.api_result_data.as_deref().unwrap_or(""))
                .map_err(|e| GatewayError::Unavailable(format!("sf: bad apiResultData: {e}")))?;
        if data["success"] != serde_json::Value::Bool(true) {
            return Err(GatewayError::Refused(format!(
                "sf {}: {}",
                data["errorCode"].as_str().unwrap_or(""),
                data["errorMsg"].as_str().unwrap_or("")
            )));
        }
        data["msgData"]["waybillNoInfoList"][0]["waybillNo"]
            .as_str()
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| GatewayError::Unavailable("sf: no waybill number".into()))
    }

    fn tracking_url(&self, tracking_no: &str) -> String {
        format!("https://www.sf-express.com/chn/sc/waybill/waybill-detail/{tracking_no}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_urlencoding_and_digest() {
        assert_eq!(java_urlencode("a b*-._~中"), "a+b*-._%7E%E4%B8%AD");
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72.
        assert_eq!(msg_digest("a", "b", "c"), "kAFQmDzST7DWlj99KOF/cg==");
    }
}
