//! Alipay (支付宝) open platform, RSA2: requests are signed SHA256withRSA (PKCS#1 v1.5) over
//! the parameters sorted by name as `k=v&…` (`sign` left out; we never send an empty
//! parameter, so the string is the one the official SDKs build); the async notification is
//! verified over the string Alipay's own SDKs build for it ([`verify_content`]: every
//! parameter but `sign` and `sign_type`, sorted, empty values kept) with the Alipay public
//! key, and must name our `app_id` and `seller_id` (Alipay's notification checklist); the
//! refund response is verified by the JSON text of its `alipay_trade_refund_response`
//! member. An error answer Alipay did not sign (`error_response`, or a response member
//! without `sign`) is reported with Alipay's code and message; an unsigned success is never
//! believed.

use super::codec::{field, form_decode, form_encode, yuan_to_fen};
use app::clock::Millis;
use app::payments::{
    yuan, Ack, Notice, NoticeStatus, Notification, PayRequest, PayStart, PaymentGateway,
    RefundAnswer, RefundRequest, RefundStatus,
};
use app::GatewayError;
use async_trait::async_trait;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

/// `[payments.alipay]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipayConfig {
    /// Our app id.
    pub app_id: String,
    /// Our application private key (PKCS#8 PEM).
    pub private_key_pem: SecretString,
    /// Alipay's public key (SPKI PEM).
    pub alipay_public_key_pem: String,
    /// Our merchant PID (`2088…`, 合作伙伴身份): a notification's `seller_id` must be it.
    pub seller_id: String,
    /// Gateway URL.
    #[serde(default = "default_gateway")]
    pub gateway_url: String,
}

fn default_gateway() -> String {
    "https://openapi.alipay.com/gateway.do".into()
}

/// The Alipay provider.
pub struct Alipay {
    cfg: AlipayConfig,
    signer: SigningKey<Sha256>,
    verifier: VerifyingKey<Sha256>,
    http: reqwest::Client,
}

/// The string a request is signed over: parameters sorted by name, `k=v` joined by `&`,
/// leaving out `sign`, `exclude` and empty values (as Alipay's Java SDK does for requests;
/// [`Alipay`] sends no empty parameter, so the Python SDK's string is the same).
pub fn sign_content(pairs: &[(String, String)], exclude: &[&str]) -> String {
    let mut v: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, v)| k != "sign" && !exclude.contains(&k.as_str()) && !v.is_empty())
        .collect();
    v.sort();
    v.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string an asynchronous notification is verified over, exactly as Alipay's SDKs build
/// it (`get_sign_content` of `alipay-sdk-python`, `AlipaySignature.getSignCheckContentV1`
/// in Java): every parameter but `sign` and `sign_type`, sorted by name, `k=v` joined by
/// `&`, **empty values kept** (`body=&…`): Alipay signed them, so dropping them refuses a
/// genuine notification and accepts one signed without them.
pub fn verify_content(pairs: &[(String, String)]) -> String {
    let mut v: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "sign" && k != "sign_type")
        .collect();
    v.sort();
    v.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A SHA256withRSA signing key from a PKCS#8 PEM private key.
pub fn signing_key(pem: &str) -> Result<SigningKey<Sha256>, String> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .map(SigningKey::<Sha256>::new)
        .map_err(|e| e.to_string())
}

/// A SHA256withRSA verifying key from an SPKI PEM public key.
pub fn verifying_key(pem: &str) -> Result<VerifyingKey<Sha256>, String> {
    RsaPublicKey::from_public_key_pem(pem)
        .map(VerifyingKey::<Sha256>::new)
        .map_err(|e| e.to_string())
}

/// Base64 SHA256withRSA signature of `content`, made with RSA blinding (a fresh random factor
/// for each signature), so the private-key operation never runs on a value an outsider chose
/// or knows: the `rsa` crate's arithmetic is not constant-time (RUSTSEC-2023-0071, see
/// `deny.toml`) and an applicant can have the hall sign by starting a payment. PKCS#1 v1.5
/// signatures are deterministic, so the result is the same as without blinding.
pub fn rsa2_sign(key: &SigningKey<Sha256>, content: &str) -> String {
    let sig = key.sign_with_rng(&mut rand::rngs::OsRng, content.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

/// Verifies a base64 SHA256withRSA signature.
pub fn rsa2_verify(key: &VerifyingKey<Sha256>, content: &str, sig_b64: &str) -> bool {
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig.as_slice()) else {
        return false;
    };
    key.verify(content.as_bytes(), &sig).is_ok()
}

fn beijing_timestamp(now_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000 + 8 * 3600)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn cfg_err(m: String) -> crate::ConfigError {
    crate::ConfigError::Invalid(m)
}

impl Alipay {
    /// Name in configuration.
    pub const NAME: &'static str = "alipay";

    /// A provider; the keys are parsed now so a bad key fails at start.
    pub fn new(cfg: AlipayConfig) -> Result<Self, crate::ConfigError> {
        let sk = RsaPrivateKey::from_pkcs8_pem(cfg.private_key_pem.expose_secret())
            .map_err(|e| cfg_err(format!("payments.alipay.private_key_pem: {e}")))?;
        let pk = RsaPublicKey::from_public_key_pem(&cfg.alipay_public_key_pem)
            .map_err(|e| cfg_err(format!("payments.alipay.alipay_public_key_pem: {e}")))?;
        Ok(Self {
            signer: SigningKey::<Sha256>::new(sk),
            verifier: VerifyingKey::<Sha256>::new(pk),
            http: crate::http_client(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| cfg_err(e.to_string()))?,
            cfg,
        })
    }

    fn common(&self, method: &str, biz: serde_json::Value) -> Vec<(String, String)> {
        vec![
            ("app_id".into(), self.cfg.app_id.clone()),
            ("method".into(), method.into()),
            ("format".into(), "JSON".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), "RSA2".into()),
            (
                "timestamp".into(),
                beijing_timestamp(time::OffsetDateTime::now_utc().unix_timestamp() * 1000),
            ),
            ("version".into(), "1.0".into()),
            ("biz_content".into(), biz.to_string()),
        ]
    }

    fn signed(&self, mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
        // An empty parameter is not sent: the signed set and the sent set stay the same
        // whichever SDK's rule Alipay applies.
        pairs.retain(|(_, v)| !v.is_empty());
        let sig = rsa2_sign(&self.signer, &sign_content(&pairs, &[]));
        pairs.push(("sign".into(), sig));
        pairs
    }
}

impl Alipay {
    /// Reads Alipay's answer to `method` (its member `{method}_response`): the member when it
    /// is signed with Alipay's key and says `code = 10000`. An error answer (`error_response`, which Alipay does not sign, or the
    /// member without `sign`) is reported as Alipay's code and message; a signed answer whose
    /// signature does not hold, or an unsigned success, is a signature failure.
    fn read_response(&self, body: &str, member: &str) -> Result<serde_json::Value, GatewayError> {
        let v: serde_json::Value = serde_json::from_str(body)
            .map_err(|_| GatewayError::Refused("支付宝应答不是JSON".into()))?;
        let (name, text) = match response_member(body, member) {
            Some(t) => (member, t),
            None => (
                "error_response",
                response_member(body, "error_response")
                    .ok_or_else(|| GatewayError::Refused(format!("支付宝应答中没有{member}")))?,
            ),
        };
        let m = v[name].clone();
        let success = name == member && m["code"] == "10000";
        match v["sign"].as_str() {
            Some(sign) if rsa2_verify(&self.verifier, text, sign) => {}
            Some(_) => {
                return Err(GatewayError::Refused(
                    "response signature mismatch (支付宝应答验签失败)".into(),
                ))
            }
            None if success => {
                return Err(GatewayError::Refused(
                    "unsigned success answer refused (支付宝应答未签名)".into(),
                ))
            }
            None => {}
        }
        if !success {
            return Err(provider_error(&m));
        }
        Ok(m)
    }
}

/// Alipay's error code and message, as finance and the log read them: `code msg` and,
/// where Alipay gives them, `sub_code sub_msg`.
fn provider_error(m: &serde_json::Value) -> GatewayError {
    let s = |k: &str| m[k].as_str().unwrap_or("").to_owned();
    let mut text = format!("支付宝 {} {}", s("code"), s("msg"));
    if !s("sub_code").is_empty() || !s("sub_msg").is_empty() {
        text.push_str(&format!(" ({} {})", s("sub_code"), s("sub_msg")));
    }
    if matches!(s("code").as_str(), "20000" | "20001") && s("sub_code").contains("unknow") {
        return GatewayError::Unavailable(text);
    }
    GatewayError::Refused(text)
}

/// The raw JSON text of `"member": {…}` in `body` (what Alipay signs in a response).
pub fn response_member<'a>(body: &'a str, member: &str) -> Option<&'a str> {
    let key = format!("\"{member}\"");
    let i = body.find(&key)? + key.len();
    let rest = body[i..].trim_start().strip_prefix(':')?.trim_start();
    let start = body.len() - rest.len();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    for (j, c) in rest.char_indices() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[start..start + j + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

#[async_trait]
impl PaymentGateway for Alipay {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        "支付宝"
    }
    fn merchant(&self) -> String {
        self.cfg.app_id.clone()
    }
    async fn start(&self, req: &PayRequest) -> Result<PayStart, GatewayError> {
        let mut pairs = self.common(
            "alipay.trade.page.pay",
            serde_json::json!({
                "out_trade_no": req.trade_no,
                "product_code": "FAST_INSTANT_TRADE_PAY",
                "total_amount": yuan(req.amount_fen),
                "subject": req.subject,
            }),
        );
        pairs.push(("notify_url".into(), req.notify_url.clone()));
        pairs.push(("return_url".into(), req.return_url.clone()));
        let pairs = self.signed(pairs);
        Ok(PayStart::Redirect(format!(
            "{}?{}",
            self.cfg.gateway_url,
            form_encode(&pairs)
        )))
    }
    fn verify(&self, n: &Notification, _now: Millis) -> Result<Notice, GatewayError> {
        let refuse = |m: &str| GatewayError::Refused(m.into());
        let pairs = form_decode(&n.body).ok_or_else(|| refuse("malformed body"))?;
        if field(&pairs, "sign_type") != Some("RSA2") {
            return Err(refuse("sign_type must be RSA2"));
        }
        let sign = field(&pairs, "sign").ok_or_else(|| refuse("no sign"))?;
        if !rsa2_verify(&self.verifier, &verify_content(&pairs), sign) {
            return Err(refuse("signature mismatch"));
        }
        let get = |k: &str| field(&pairs, k).map(str::to_owned).ok_or_else(|| refuse(k));
        // Alipay's checklist: the notification is for our app and our merchant (a genuine
        // notification of another merchant of the same app is not ours to credit). The
        // hall compares `app_id` again through `merchant`.
        if get("seller_id")? != self.cfg.seller_id {
            return Err(refuse("seller_id is not ours"));
        }
        let currency = field(&pairs, "currency").unwrap_or("CNY").to_owned();
        Ok(Notice {
            trade_no: get("out_trade_no")?,
            provider_ref: get("trade_no")?,
            amount_fen: yuan_to_fen(&get("total_amount")?).ok_or_else(|| refuse("total_amount"))?,
            currency,
            merchant: get("app_id")?,
            status: match get("trade_status")?.as_str() {
                "TRADE_SUCCESS" | "TRADE_FINISHED" => NoticeStatus::Paid,
                "TRADE_CLOSED" => NoticeStatus::Closed,
                _ => NoticeStatus::Pending,
            },
        })
    }
    fn ack(&self, ok: bool) -> Ack {
        Ack {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: if ok { "success" } else { "fail" }.into(),
        }
    }
    /// `alipay.trade.refund` is synchronous: `10000` means refunded (`fund_change` "N" is the
    /// answer to the same `out_request_no` again, refunded before).
    async fn refund(&self, req: &RefundRequest) -> Result<RefundAnswer, GatewayError> {
        let pairs = self.signed(self.common(
            "alipay.trade.refund",
            serde_json::json!({
                "out_trade_no": req.trade_no,
                "refund_amount": yuan(req.amount_fen),
                "out_request_no": req.refund_no,
                "refund_reason": req.reason,
            }),
        ));
        let r = self
            .http
            .post(&self.cfg.gateway_url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(form_encode(&pairs))
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if r.status().is_server_error() {
            return Err(GatewayError::Unavailable(format!("HTTP {}", r.status())));
        }
        let body = r
            .text()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let m = self.read_response(&body, "alipay_trade_refund_response")?;
        Ok(RefundAnswer {
            refund_ref: m["trade_no"].as_str().unwrap_or("").to_owned(),
            status: RefundStatus::Succeeded,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rsa::signature::Signer;

    #[test]
    fn blinded_signature_is_the_deterministic_pkcs1_v15_one() {
        let sk = RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let vk = VerifyingKey::<Sha256>::new(sk.to_public_key());
        let sk = SigningKey::<Sha256>::new(sk);
        let content = "app_id=1&biz_content={\"out_trade_no\":\"XB20261123000001\"}";
        let sig = rsa2_sign(&sk, content);
        assert_eq!(sig, rsa2_sign(&sk, content));
        let plain = base64::engine::general_purpose::STANDARD
            .encode(sk.sign(content.as_bytes()).to_bytes());
        assert_eq!(sig, plain);
        assert!(rsa2_verify(&vk, content, &sig));
        assert!(!rsa2_verify(&vk, "app_id=2", &sig));
    }
}
