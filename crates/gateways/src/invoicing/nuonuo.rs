//! 诺诺开放平台 (Nuonuo open platform) e-invoicing, 数电票 through the 诺税通 SaaS API, as
//! the platform documents it:
//!
//! - every call is `POST {api_url}` (`https://sdk.nuonuo.com/open/v1/services`) with the URL
//!   parameters `senid` (32-character request id), `nonce` (8 digits), `timestamp` (seconds)
//!   and `appkey`, the JSON content as the body, and the headers `X-Nuonuo-Sign`,
//!   `accessToken`, `userTax` (our 税号) and `method`;
//! - `X-Nuonuo-Sign` = Base64(HMAC-SHA1(appSecret,
//!   `a=services&l=v1&p=open&k={appKey}&i={senid}&n={nonce}&t={timestamp}&f={body}`)) over
//!   the exact body bytes sent ([`sign`]);
//! - the access token comes from `{token_url}` (`https://open.nuonuo.com/accessToken`,
//!   `client_credentials` for a 自用型 application), is kept in memory and fetched again when
//!   the platform says it is no longer valid (the same request is then sent again, same
//!   `senid`);
//! - answers are `{"code": "E0000", "describe": …, "result": …}`; any other code is the
//!   platform's refusal, reported as its code and `describe`.
//!
//! Methods: `nuonuo.OpeMplatform.requestBillingNew` (开票: accepted with an
//! `invoiceSerialNum`, issued later), `nuonuo.OpeMplatform.queryInvoiceResult` (status
//! `20`/`21` 开票中, `2` 已开票 with the PDF/OFD/XML addresses, `22`/`24` 开票失败),
//! `nuonuo.OpeMplatform.fastInvoiceRed` (红冲 of an issued 数电票). A request id is derived
//! from our order ([`senid_for`]): asking again after a timeout or a restart sends the same
//! `senid` and `orderNo`, which the platform answers with the invoice already accepted.
//! The files are fetched once by [`Nuonuo::fetch_file`] and kept by the hall, never linked.

use app::GatewayError;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use std::time::Duration;

/// `[invoicing.nuonuo]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NuonuoConfig {
    /// 应用 appKey.
    pub app_key: String,
    /// 应用 appSecret.
    pub app_secret: SecretString,
    /// 销方税号 (the CA's 纳税人识别号), sent as `userTax`.
    pub user_tax: String,
    /// 销方名称.
    pub saler_name: String,
    /// 销方地址、电话 (shown on the invoice).
    #[serde(default)]
    pub saler_address_phone: String,
    /// 销方开户行及账号.
    #[serde(default)]
    pub saler_account: String,
    /// 开票员.
    pub clerk: String,
    /// 商品和服务税收分类编码 of a certificate service line (19 digits).
    pub goods_code: String,
    /// 税率, e.g. "0.06".
    #[serde(default = "default_tax_rate")]
    pub tax_rate: String,
    /// API address.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Token address.
    #[serde(default = "default_token_url")]
    pub token_url: String,
    /// A token set up never to expire (created so in the platform's console); when set, no
    /// token is fetched.
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// Answer codes that mean "token no longer valid" (fetch a new one and ask again).
    #[serde(default = "default_token_codes")]
    pub token_error_codes: Vec<String>,
    /// Timeout of one request, milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Where the platform posts the invoice result (`callBackUrl`); empty: queried only.
    #[serde(default)]
    pub callback_url: String,
}

fn default_tax_rate() -> String {
    "0.06".into()
}
fn default_api_url() -> String {
    "https://sdk.nuonuo.com/open/v1/services".into()
}
fn default_token_url() -> String {
    "https://open.nuonuo.com/accessToken".into()
}
fn default_token_codes() -> Vec<String> {
    ["070301", "070302", "070303", "070304"]
        .map(String::from)
        .to_vec()
}
fn default_timeout() -> u64 {
    10_000
}

/// 开票.
pub const REQUEST_BILLING: &str = "nuonuo.OpeMplatform.requestBillingNew";
/// 开票结果查询.
pub const QUERY_RESULT: &str = "nuonuo.OpeMplatform.queryInvoiceResult";
/// 数电票快捷红冲.
pub const FAST_RED: &str = "nuonuo.OpeMplatform.fastInvoiceRed";
/// The code of a successful answer.
pub const OK: &str = "E0000";

/// The string `X-Nuonuo-Sign` is computed over.
pub fn sign_string(app_key: &str, senid: &str, nonce: &str, timestamp: &str, body: &str) -> String {
    format!("a=services&l=v1&p=open&k={app_key}&i={senid}&n={nonce}&t={timestamp}&f={body}")
}

/// `X-Nuonuo-Sign`: Base64(HMAC-SHA1(appSecret, [`sign_string`])).
pub fn sign(
    app_secret: &str,
    app_key: &str,
    senid: &str,
    nonce: &str,
    timestamp: &str,
    body: &str,
) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(sign_string(app_key, senid, nonce, timestamp, body).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `senid` of one request about one order (`purpose` "bill", "red"): 32 hex characters
/// derived from both, so every retry of it — after a timeout, a crash, a restart — carries
/// the same id.
pub fn senid_for(order_no: &str, purpose: &str) -> String {
    let h = sha2::Sha256::digest(format!("certhall|nuonuo|{purpose}|{order_no}").as_bytes());
    hex::encode(&h[..16])
}

/// What to invoice.
#[derive(Debug, Clone)]
pub struct BillingRequest {
    /// Our order number (`orderNo`, unique at the platform).
    pub order_no: String,
    /// 购方名称 (发票抬头).
    pub buyer_name: String,
    /// 购方税号.
    pub buyer_tax_no: String,
    /// Where the buyer gets the invoice by SMS from the platform (empty: we send it).
    pub buyer_phone: String,
    /// Lines: (name, amount in fen, tax included).
    pub lines: Vec<(String, i64)>,
    /// Order time, `yyyy-MM-dd HH:mm:ss` Beijing time.
    pub order_time: String,
}

/// Where an invoice stands at the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceState {
    /// 开票中 (`20`), 开票成功签章中 (`21`).
    Issuing,
    /// 已开票 (`2`).
    Issued {
        /// 发票号码 (数电票号码).
        invoice_no: String,
        /// PDF address (fetched once, kept by the hall).
        pdf_url: String,
        /// OFD address.
        ofd_url: String,
        /// XML address.
        xml_url: String,
    },
    /// 开票失败 (`22`), 签章失败 (`24`): the platform's reason.
    Failed(String),
    /// 已作废 / 作废中 (`3`, `31`).
    Voided,
}

/// The 诺诺 provider.
pub struct Nuonuo {
    cfg: NuonuoConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for Nuonuo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nuonuo")
            .field("app_key", &self.cfg.app_key)
            .field("api_url", &self.cfg.api_url)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(format!("诺诺: {e}"))
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl Nuonuo {
    /// Name in configuration.
    pub const NAME: &'static str = "nuonuo";

    /// A provider; refuses an unusable configuration.
    pub fn new(cfg: NuonuoConfig) -> Result<Self, crate::ConfigError> {
        for (k, v) in [
            ("app_key", cfg.app_key.as_str()),
            ("user_tax", cfg.user_tax.as_str()),
            ("saler_name", cfg.saler_name.as_str()),
            ("clerk", cfg.clerk.as_str()),
            ("goods_code", cfg.goods_code.as_str()),
        ] {
            if v.trim().is_empty() {
                return Err(crate::ConfigError::Invalid(format!(
                    "invoicing.nuonuo.{k} must not be empty"
                )));
            }
        }
        if cfg.app_secret.expose_secret().is_empty() {
            return Err(crate::ConfigError::Invalid(
                "invoicing.nuonuo.app_secret must not be empty".into(),
            ));
        }
        let http = crate::http_client(Duration::from_millis(cfg.timeout_ms.max(1)))
            .build()
            .map_err(|e| crate::ConfigError::Invalid(format!("invoicing.nuonuo: {e}")))?;
        let token = cfg
            .access_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned());
        Ok(Self {
            cfg,
            http,
            token: tokio::sync::Mutex::new(token),
        })
    }

    async fn token(&self, renew: bool) -> Result<String, GatewayError> {
        let mut held = self.token.lock().await;
        if let (Some(t), false) = (held.as_ref(), renew) {
            return Ok(t.clone());
        }
        let form = crate::payments::form_encode(&[
            ("client_id".into(), self.cfg.app_key.clone()),
            (
                "client_secret".into(),
                self.cfg.app_secret.expose_secret().to_owned(),
            ),
            ("grant_type".into(), "client_credentials".into()),
        ]);
        let r = self
            .http
            .post(&self.cfg.token_url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(form)
            .send()
            .await
            .map_err(unavailable)?;
        if r.status().is_server_error() {
            return Err(unavailable(format!("token HTTP {}", r.status())));
        }
        let v: Value = r.json().await.map_err(unavailable)?;
        let t = v["access_token"].as_str().ok_or_else(|| {
            GatewayError::Refused(format!(
                "诺诺 token: {} {}",
                v["error"].as_str().unwrap_or(""),
                v["error_description"].as_str().unwrap_or("")
            ))
        })?;
        *held = Some(t.to_owned());
        Ok(t.to_owned())
    }

    async fn send(
        &self,
        method: &str,
        senid: &str,
        body: &str,
        token: &str,
    ) -> Result<Value, GatewayError> {
        let nonce = format!("{:08}", 10_000_000 + rand::random::<u32>() % 90_000_000);
        let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let sig = sign(
            self.cfg.app_secret.expose_secret(),
            &self.cfg.app_key,
            senid,
            &nonce,
            &ts,
            body,
        );
        let url = format!(
            "{}?senid={senid}&nonce={nonce}&timestamp={ts}&appkey={}",
            self.cfg.api_url,
            crate::payments::pct(&self.cfg.app_key)
        );
        let r = self
            .http
            .post(url)
            .header("content-type", "application/json;charset=utf-8")
            .header("X-Nuonuo-Sign", sig)
            .header("accessToken", token)
            .header("userTax", &self.cfg.user_tax)
            .header("method", method)
            .body(body.to_owned())
            .send()
            .await
            .map_err(unavailable)?;
        if r.status().is_server_error() {
            return Err(unavailable(format!("HTTP {}", r.status())));
        }
        r.json().await.map_err(unavailable)
    }

    /// One call: the result of an `E0000` answer; a token the platform no longer accepts is
    /// fetched again once and the same request (same `senid`, same body) sent again.
    pub async fn call(
        &self,
        method: &str,
        senid: &str,
        content: &Value,
    ) -> Result<Value, GatewayError> {
        let body = content.to_string();
        let mut v = self
            .send(method, senid, &body, &self.token(false).await?)
            .await?;
        let code = |v: &Value| v["code"].as_str().unwrap_or("").to_owned();
        if self.cfg.token_error_codes.contains(&code(&v)) {
            v = self
                .send(method, senid, &body, &self.token(true).await?)
                .await?;
        }
        if code(&v) == OK {
            return Ok(v["result"].clone());
        }
        Err(GatewayError::Refused(format!(
            "诺诺 {} {}",
            code(&v),
            v["describe"].as_str().unwrap_or("")
        )))
    }

    /// 开票 (`requestBillingNew`, 数电普票 `invoiceType` 1, `invoiceLine` "pc"): the
    /// platform's `invoiceSerialNum`. Idempotent on the order: its `senid` and `orderNo`.
    pub async fn request_billing(&self, req: &BillingRequest) -> Result<String, GatewayError> {
        let details: Vec<Value> = req
            .lines
            .iter()
            .map(|(name, fen)| {
                json!({
                    "goodsName": name, "goodsCode": self.cfg.goods_code, "num": "1",
                    "withTaxFlag": "1", "taxIncludedAmount": yuan(*fen), "price": yuan(*fen),
                    "taxRate": self.cfg.tax_rate, "invoiceLineProperty": "0",
                })
            })
            .collect();
        let order = json!({"order": {
            "buyerName": req.buyer_name, "buyerTaxNum": req.buyer_tax_no,
            "buyerPhone": req.buyer_phone, "pushMode": if req.buyer_phone.is_empty() { "-1" } else { "1" },
            "salerTaxNum": self.cfg.user_tax, "salerName": self.cfg.saler_name,
            "salerAddress": self.cfg.saler_address_phone, "salerAccount": self.cfg.saler_account,
            "orderNo": req.order_no, "invoiceDate": req.order_time, "clerk": self.cfg.clerk,
            "invoiceType": "1", "invoiceLine": "pc", "callBackUrl": self.cfg.callback_url,
            "invoiceDetail": details,
        }});
        let r = self
            .call(REQUEST_BILLING, &senid_for(&req.order_no, "bill"), &order)
            .await?;
        r["invoiceSerialNum"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| GatewayError::Refused("诺诺: 应答中没有invoiceSerialNum".into()))
    }

    /// 开票结果查询 (`queryInvoiceResult`) of one `invoiceSerialNum`.
    pub async fn query(&self, serial: &str) -> Result<InvoiceState, GatewayError> {
        let senid = hex::encode(rand::random::<[u8; 16]>());
        let r = self
            .call(
                QUERY_RESULT,
                &senid,
                &json!({"serialNos": [serial], "isOfferInvoiceDetail": "0"}),
            )
            .await?;
        let item = r
            .as_array()
            .and_then(|a| a.iter().find(|i| i["serialNo"] == serial))
            .ok_or_else(|| GatewayError::Refused(format!("诺诺: 没有流水号 {serial} 的结果")))?;
        read_state(item)
    }

    /// 红冲 of an issued 数电票 (`fastInvoiceRed`): the red invoice's `invoiceSerialNum`
    /// (then queried like any invoice). Idempotent on the order.
    pub async fn red(
        &self,
        order_no: &str,
        invoice_no: &str,
        reason: &str,
    ) -> Result<String, GatewayError> {
        let r = self
            .call(
                FAST_RED,
                &senid_for(order_no, "red"),
                &json!({
                    "taxNum": self.cfg.user_tax, "orderNo": format!("{order_no}H"),
                    "invoiceNumber": invoice_no, "redReason": reason, "callBackUrl": self.cfg.callback_url,
                }),
            )
            .await?;
        r["invoiceSerialNum"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| GatewayError::Refused("诺诺: 应答中没有invoiceSerialNum".into()))
    }

    /// Fetches an invoice file (PDF, OFD, XML) once, for the hall to keep as a blob.
    pub async fn fetch_file(&self, url: &str) -> Result<Vec<u8>, GatewayError> {
        let r = self.http.get(url).send().await.map_err(unavailable)?;
        if !r.status().is_success() {
            return Err(unavailable(format!("file HTTP {}", r.status())));
        }
        Ok(r.bytes().await.map_err(unavailable)?.to_vec())
    }
}

/// One `queryInvoiceResult` item read as it is.
pub fn read_state(item: &Value) -> Result<InvoiceState, GatewayError> {
    let s = |k: &str| item[k].as_str().unwrap_or("").to_owned();
    Ok(match s("status").as_str() {
        "20" | "21" => InvoiceState::Issuing,
        "2" => InvoiceState::Issued {
            invoice_no: s("invoiceNo"),
            pdf_url: s("pdfUrl"),
            ofd_url: s("ofdUrl"),
            xml_url: s("xmlUrl"),
        },
        "22" | "24" => InvoiceState::Failed(format!("{} {}", s("status"), s("failCause"))),
        "3" | "31" => InvoiceState::Voided,
        other => {
            return Err(GatewayError::Refused(format!(
                "诺诺: 未知的发票状态 {other}"
            )))
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_string_and_the_request_id_are_as_documented() {
        assert_eq!(
            sign_string("SD12345678", "71fad242e0a2439fad1f7262a6c0062c", "10687097", "1626858160", "{\"a\":1}"),
            "a=services&l=v1&p=open&k=SD12345678&i=71fad242e0a2439fad1f7262a6c0062c&n=10687097&t=1626858160&f={\"a\":1}"
        );
        // Computed independently (Python hmac/hashlib/base64) from the documented algorithm.
        assert_eq!(
            sign(
                "SECRET0123456789",
                "SD12345678",
                "71fad242e0a2439fad1f7262a6c0062c",
                "10687097",
                "1626858160",
                "{\"a\":1}"
            ),
            "Ye2wz0VK7uAnzPccsC1K0knzvbc="
        );
        let id = senid_for("XB20261123000001", "bill");
        assert_eq!(id.len(), 32);
        assert_eq!(id, senid_for("XB20261123000001", "bill"));
        assert_ne!(id, senid_for("XB20261123000001", "red"));
        assert_ne!(id, senid_for("XB20261123000002", "bill"));
    }
}
