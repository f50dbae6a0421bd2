//! The sandbox gateway: the default install's 网厅缴费. Its checkout page (`/sandbox/pay/…`,
//! in `web`) plays the gateway: on 确认支付 it signs a notification with the sandbox's own
//! key (HMAC-SHA256 over the sorted `k=v` pairs, like Alipay's RSA2 canonical form) and posts
//! it to the hall's callback, which verifies it exactly as it verifies a real gateway.

use super::codec::{field, form_decode, form_encode};
use app::clock::Millis;
use app::payments::{
    Ack, Notice, NoticeStatus, Notification, PayRequest, PayStart, PaymentGateway, RefundAnswer,
    RefundRequest, RefundStatus,
};
use app::GatewayError;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The sandbox gateway with its own signing key (random per process).
pub struct SandboxGateway {
    key: [u8; 32],
}

impl Default for SandboxGateway {
    fn default() -> Self {
        Self::new()
    }
}

/// Merchant id of the sandbox.
pub const SANDBOX_MERCHANT: &str = "SANDBOX-MCH-0001";

fn canonical(pairs: &[(String, String)]) -> String {
    let mut v: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "sign").collect();
    v.sort();
    v.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

impl SandboxGateway {
    /// Name in configuration.
    pub const NAME: &'static str = "sandbox";

    /// A gateway with a fresh key.
    pub fn new() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self, data: &str) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        m.update(data.as_bytes());
        m
    }

    /// The gateway's side: a signed notification that `trade_no` was paid `amount_fen`.
    pub fn signed_notification(
        &self,
        trade_no: &str,
        amount_fen: i64,
        status: &str,
    ) -> Notification {
        let mut pairs = vec![
            ("merchant".to_owned(), SANDBOX_MERCHANT.to_owned()),
            ("trade_no".into(), trade_no.into()),
            (
                "gateway_ref".into(),
                format!("SBX{}", hex::encode(rand::random::<[u8; 6]>())),
            ),
            ("amount_fen".into(), amount_fen.to_string()),
            ("currency".into(), "CNY".into()),
            ("trade_status".into(), status.into()),
        ];
        let sign = hex::encode(self.mac(&canonical(&pairs)).finalize().into_bytes());
        pairs.push(("sign".into(), sign));
        Notification {
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: form_encode(&pairs).into_bytes(),
        }
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        "沙箱支付(演示)"
    }
    fn merchant(&self) -> String {
        SANDBOX_MERCHANT.into()
    }
    async fn start(&self, req: &PayRequest) -> Result<PayStart, GatewayError> {
        Ok(PayStart::Redirect(format!("/sandbox/pay/{}", req.trade_no)))
    }
    fn verify(&self, n: &Notification, _now: Millis) -> Result<Notice, GatewayError> {
        let refuse = |m: &str| GatewayError::Refused(m.into());
        let pairs = form_decode(&n.body).ok_or_else(|| refuse("malformed body"))?;
        let sign = field(&pairs, "sign").ok_or_else(|| refuse("no signature"))?;
        let sig = hex::decode(sign).map_err(|_| refuse("bad signature"))?;
        self.mac(&canonical(&pairs))
            .verify_slice(&sig)
            .map_err(|_| refuse("signature mismatch"))?;
        let get = |k: &str| field(&pairs, k).map(str::to_owned).ok_or_else(|| refuse(k));
        Ok(Notice {
            trade_no: get("trade_no")?,
            provider_ref: get("gateway_ref")?,
            amount_fen: get("amount_fen")?.parse().map_err(|_| refuse("amount"))?,
            currency: get("currency")?,
            merchant: get("merchant")?,
            status: match get("trade_status")?.as_str() {
                "SUCCESS" => NoticeStatus::Paid,
                "CLOSED" => NoticeStatus::Closed,
                _ => NoticeStatus::Pending,
            },
        })
    }
    fn ack(&self, ok: bool) -> Ack {
        Ack {
            status: if ok { 200 } else { 400 },
            content_type: "text/plain; charset=utf-8",
            body: if ok { "success" } else { "fail" }.into(),
        }
    }
    async fn refund(&self, req: &RefundRequest) -> Result<RefundAnswer, GatewayError> {
        if req.amount_fen <= 0 || req.amount_fen > req.total_fen {
            return Err(GatewayError::Refused("refund amount".into()));
        }
        // Like the real gateways, one refund per refund number: asking again with the same
        // number answers the same refund.
        use sha2::Digest;
        let h = sha2::Sha256::digest(format!("{}|{}", req.trade_no, req.refund_no).as_bytes());
        Ok(RefundAnswer {
            refund_ref: format!("SBXRF{}", hex::encode(&h[..6]).to_uppercase()),
            status: RefundStatus::Succeeded,
        })
    }
    fn sandbox_notification(&self, trade_no: &str, amount_fen: i64) -> Option<Notification> {
        Some(self.signed_notification(trade_no, amount_fen, "SUCCESS"))
    }
}
