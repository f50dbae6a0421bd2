//! WeChat Pay API v3 (微信支付): requests carry `Authorization: WECHATPAY2-SHA256-RSA2048`
//! with a SHA256withRSA signature over `METHOD\nPATH\nTIMESTAMP\nNONCE\nBODY\n`; answers and
//! notifications are verified with the platform key over `TIMESTAMP\nNONCE\nBODY\n` (and a
//! timestamp within five minutes, against replays), and the notification's `resource` is
//! AEAD_AES_256_GCM-decrypted with the APIv3 key. Every request carries our `User-Agent`
//! (the v3 rules: requests without one may be refused) and `Wechatpay-Serial` naming the
//! platform key we verify with (the platform-public-key mode, `PUB_KEY_ID_…`, needs it; a
//! platform certificate's serial is accepted the same way). Only 2xx answers are believed,
//! and only signed; an error answer (4xx), which WeChat Pay may send unsigned, is reported as
//! its `code` and `message`.

use super::alipay::{rsa2_sign, rsa2_verify};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use app::clock::Millis;
use app::payments::{
    Ack, Notice, NoticeStatus, Notification, PayRequest, PayStart, PaymentGateway, RefundAnswer,
    RefundNotice, RefundRequest, RefundStatus,
};
use app::GatewayError;
use async_trait::async_trait;
use base64::Engine;
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

/// `[payments.wechat]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    /// 商户号.
    pub mchid: String,
    /// AppID bound to the merchant.
    pub appid: String,
    /// Serial number of our API certificate.
    pub serial_no: String,
    /// Our API private key (PKCS#8 PEM).
    pub private_key_pem: SecretString,
    /// The platform public key (SPKI PEM).
    pub platform_public_key_pem: String,
    /// Its serial (`Wechatpay-Serial`): the 微信支付公钥ID (`PUB_KEY_ID_…`) in the
    /// platform-public-key mode, or the platform certificate's serial. Sent on every request
    /// and required on every answer and notification.
    pub platform_serial: String,
    /// APIv3 key (32 characters).
    pub api_v3_key: SecretString,
    /// API base URL.
    #[serde(default = "default_base")]
    pub base_url: String,
}

fn default_base() -> String {
    "https://api.mch.weixin.qq.com".into()
}

/// Replay window for notifications and answers.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// The WeChat Pay provider.
pub struct WechatPay {
    cfg: WechatConfig,
    signer: SigningKey<Sha256>,
    verifier: VerifyingKey<Sha256>,
    http: reqwest::Client,
}

/// The message WeChat Pay signs in answers and notifications.
pub fn verify_message(timestamp: &str, nonce: &str, body: &[u8]) -> String {
    format!("{timestamp}\n{nonce}\n{}\n", String::from_utf8_lossy(body))
}

/// Decrypts a notification `resource` (AEAD_AES_256_GCM, base64 ciphertext with tag).
pub fn decrypt_resource(
    key: &[u8],
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Option<Vec<u8>> {
    if key.len() != 32 || nonce.len() != 12 {
        return None;
    }
    let ct = base64::engine::general_purpose::STANDARD
        .decode(ciphertext_b64)
        .ok()?;
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &ct,
                aad: associated_data.as_bytes(),
            },
        )
        .ok()
}

/// Encrypts a resource the way WeChat Pay does (for tests and local servers).
pub fn encrypt_resource(key: &[u8], nonce: &str, associated_data: &str, plain: &[u8]) -> String {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap_or_else(|_| unreachable!("32-byte key"));
    let ct = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plain,
                aad: associated_data.as_bytes(),
            },
        )
        .unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(ct)
}

fn cfg_err(m: String) -> crate::ConfigError {
    crate::ConfigError::Invalid(m)
}

impl WechatPay {
    /// Name in configuration.
    pub const NAME: &'static str = "wechat";

    /// A provider; keys are parsed now.
    pub fn new(cfg: WechatConfig) -> Result<Self, crate::ConfigError> {
        let sk = RsaPrivateKey::from_pkcs8_pem(cfg.private_key_pem.expose_secret())
            .map_err(|e| cfg_err(format!("payments.wechat.private_key_pem: {e}")))?;
        let pk = RsaPublicKey::from_public_key_pem(&cfg.platform_public_key_pem)
            .map_err(|e| cfg_err(format!("payments.wechat.platform_public_key_pem: {e}")))?;
        if cfg.api_v3_key.expose_secret().len() != 32 {
            return Err(cfg_err(
                "payments.wechat.api_v3_key must be 32 characters".into(),
            ));
        }
        Ok(Self {
            signer: SigningKey::<Sha256>::new(sk),
            verifier: VerifyingKey::<Sha256>::new(pk),
            http: crate::http_client(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| cfg_err(e.to_string()))?,
            cfg,
        })
    }

    fn check_signed(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Millis,
    ) -> Result<(), GatewayError> {
        let refuse = |m: &str| GatewayError::Refused(m.into());
        let h = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| refuse(k))
        };
        let ts = h("wechatpay-timestamp")?;
        let nonce = h("wechatpay-nonce")?;
        let sig = h("wechatpay-signature")?;
        if h("wechatpay-serial")? != self.cfg.platform_serial {
            return Err(refuse("unknown platform serial"));
        }
        let secs: i64 = ts.parse().map_err(|_| refuse("timestamp"))?;
        if (secs * 1000 - now).abs() > MAX_SKEW_MS {
            return Err(refuse("timestamp outside the replay window"));
        }
        if !rsa2_verify(&self.verifier, &verify_message(ts, nonce, body), sig) {
            return Err(refuse("signature mismatch"));
        }
        Ok(())
    }

    /// A signed request: `POST` with a JSON body, or `GET` (`body` `None`, signed over an
    /// empty body).
    async fn call(
        &self,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, GatewayError> {
        let method = if body.is_some() { "POST" } else { "GET" };
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let msg = format!("{method}\n{path}\n{ts}\n{nonce}\n{body}\n");
        let auth = format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{}\",timestamp=\"{ts}\",serial_no=\"{}\"",
            self.cfg.mchid,
            rsa2_sign(&self.signer, &msg),
            self.cfg.serial_no
        );
        let r = self
            .http
            .request(
                if method == "POST" {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::GET
                },
                format!("{}{path}", self.cfg.base_url.trim_end_matches('/')),
            )
            .header("authorization", auth)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("wechatpay-serial", &self.cfg.platform_serial)
            .body(body)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let status = r.status();
        let headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let bytes = r
            .bytes()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            // Signed or not, an error answer changes nothing here: it is reported as WeChat
            // Pay's code and message, never as a signature failure of ours.
            return Err(error_answer(status.as_u16(), &bytes));
        }
        self.check_signed(
            &headers,
            &bytes,
            time::OffsetDateTime::now_utc().unix_timestamp() * 1000,
        )?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| GatewayError::Refused("answer is not JSON".into()))?;
        Ok(v)
    }
}

/// WeChat Pay's refund `status` (answers) or `refund_status` (notifications).
pub fn refund_status(s: &str) -> Option<RefundStatus> {
    Some(match s {
        "SUCCESS" => RefundStatus::Succeeded,
        "PROCESSING" => RefundStatus::Processing,
        "ABNORMAL" => RefundStatus::Abnormal,
        "CLOSED" => RefundStatus::Closed,
        _ => return None,
    })
}

/// A refund answer (`refund_id`, `status`) read as it is: `PROCESSING` is not refunded.
fn refund_answer(v: &serde_json::Value) -> Result<RefundAnswer, GatewayError> {
    let refund_ref = v["refund_id"]
        .as_str()
        .ok_or_else(|| GatewayError::Refused("no refund_id".into()))?;
    let status = refund_status(v["status"].as_str().unwrap_or(""))
        .ok_or_else(|| GatewayError::Refused("no refund status".into()))?;
    Ok(RefundAnswer {
        refund_ref: refund_ref.to_owned(),
        status,
    })
}

/// An error answer of WeChat Pay (`{"code": "…", "message": "…"}`, HTTP 4xx/5xx) as finance
/// and the log read it. 5xx, 429 (`FREQUENCY_LIMITED`) and `SYSTEM_ERROR` are worth asking
/// again; the rest is a refusal.
pub fn error_answer(status: u16, body: &[u8]) -> GatewayError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = v["code"].as_str().unwrap_or("");
    let message = v["message"].as_str().unwrap_or("");
    let text = if code.is_empty() && message.is_empty() {
        format!("微信支付 HTTP {status}")
    } else {
        format!("微信支付 {code} {message} (HTTP {status})")
    };
    if status >= 500 || status == 429 || code == "SYSTEM_ERROR" {
        GatewayError::Unavailable(text)
    } else {
        GatewayError::Refused(text)
    }
}

#[async_trait]
impl PaymentGateway for WechatPay {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        "微信支付"
    }
    fn merchant(&self) -> String {
        self.cfg.mchid.clone()
    }
    async fn start(&self, req: &PayRequest) -> Result<PayStart, GatewayError> {
        let v = self
            .call(
                "/v3/pay/transactions/native",
                Some(serde_json::json!({
                    "appid": self.cfg.appid,
                    "mchid": self.cfg.mchid,
                    "description": req.subject,
                    "out_trade_no": req.trade_no,
                    "notify_url": req.notify_url,
                    "amount": {"total": req.amount_fen, "currency": "CNY"},
                })),
            )
            .await?;
        v["code_url"]
            .as_str()
            .map(|s| PayStart::QrCode(s.to_owned()))
            .ok_or_else(|| GatewayError::Refused("no code_url".into()))
    }
    fn verify(&self, n: &Notification, now: Millis) -> Result<Notice, GatewayError> {
        let refuse = |m: &str| GatewayError::Refused(m.into());
        self.check_signed(&n.headers, &n.body, now)?;
        let v: serde_json::Value =
            serde_json::from_slice(&n.body).map_err(|_| refuse("body is not JSON"))?;
        let r = &v["resource"];
        if r["algorithm"] != "AEAD_AES_256_GCM" {
            return Err(refuse("algorithm"));
        }
        let plain = decrypt_resource(
            self.cfg.api_v3_key.expose_secret().as_bytes(),
            r["nonce"].as_str().unwrap_or(""),
            r["associated_data"].as_str().unwrap_or(""),
            r["ciphertext"].as_str().unwrap_or(""),
        )
        .ok_or_else(|| refuse("resource does not decrypt"))?;
        let t: serde_json::Value =
            serde_json::from_slice(&plain).map_err(|_| refuse("resource is not JSON"))?;
        if t["appid"] != self.cfg.appid.as_str() {
            return Err(refuse("appid"));
        }
        let s = |k: &str| t[k].as_str().map(str::to_owned).ok_or_else(|| refuse(k));
        Ok(Notice {
            trade_no: s("out_trade_no")?,
            provider_ref: s("transaction_id")?,
            amount_fen: t["amount"]["total"]
                .as_i64()
                .ok_or_else(|| refuse("amount"))?,
            currency: t["amount"]["currency"].as_str().unwrap_or("").to_owned(),
            merchant: s("mchid")?,
            status: match (v["event_type"].as_str(), t["trade_state"].as_str()) {
                (Some("TRANSACTION.SUCCESS"), Some("SUCCESS")) => NoticeStatus::Paid,
                (_, Some("CLOSED" | "REVOKED" | "REFUND")) => NoticeStatus::Closed,
                _ => NoticeStatus::Pending,
            },
        })
    }
    fn ack(&self, ok: bool) -> Ack {
        if ok {
            Ack {
                status: 200,
                content_type: "application/json",
                body: r#"{"code":"SUCCESS","message":"成功"}"#.into(),
            }
        } else {
            Ack {
                status: 400,
                content_type: "application/json",
                body: r#"{"code":"FAIL","message":"失败"}"#.into(),
            }
        }
    }
    async fn refund(&self, req: &RefundRequest) -> Result<RefundAnswer, GatewayError> {
        let v = self
            .call(
                "/v3/refund/domestic/refunds",
                Some(serde_json::json!({
                    "out_trade_no": req.trade_no,
                    "out_refund_no": req.refund_no,
                    "reason": req.reason,
                    "notify_url": req.notify_url,
                    "amount": {"refund": req.amount_fen, "total": req.total_fen, "currency": "CNY"},
                })),
            )
            .await?;
        refund_answer(&v)
    }
    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    async fn query_refund(&self, req: &RefundRequest) -> Result<RefundAnswer, GatewayError> {
        let no: String = req
            .refund_no
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*' | '@'))
            .collect();
        let v = self
            .call(&format!("/v3/refund/domestic/refunds/{no}"), None)
            .await?;
        refund_answer(&v)
    }
    /// `REFUND.SUCCESS` / `REFUND.ABNORMAL` / `REFUND.CLOSED`: signed like payment
    /// notifications, the refund sealed in `resource` (`original_type` "refund").
    fn verify_refund(&self, n: &Notification, now: Millis) -> Result<RefundNotice, GatewayError> {
        let refuse = |m: &str| GatewayError::Refused(m.into());
        self.check_signed(&n.headers, &n.body, now)?;
        let v: serde_json::Value =
            serde_json::from_slice(&n.body).map_err(|_| refuse("body is not JSON"))?;
        let r = &v["resource"];
        if r["algorithm"] != "AEAD_AES_256_GCM" {
            return Err(refuse("algorithm"));
        }
        let plain = decrypt_resource(
            self.cfg.api_v3_key.expose_secret().as_bytes(),
            r["nonce"].as_str().unwrap_or(""),
            r["associated_data"].as_str().unwrap_or(""),
            r["ciphertext"].as_str().unwrap_or(""),
        )
        .ok_or_else(|| refuse("resource does not decrypt"))?;
        let t: serde_json::Value =
            serde_json::from_slice(&plain).map_err(|_| refuse("resource is not JSON"))?;
        let s = |k: &str| t[k].as_str().map(str::to_owned).ok_or_else(|| refuse(k));
        let status = refund_status(t["refund_status"].as_str().unwrap_or(""))
            .ok_or_else(|| refuse("refund_status"))?;
        Ok(RefundNotice {
            trade_no: s("out_trade_no")?,
            refund_no: s("out_refund_no")?,
            merchant: s("mchid")?,
            answer: RefundAnswer {
                refund_ref: s("refund_id")?,
                status,
            },
        })
    }
}
