//! The sandbox SMS provider: accepts every message without sending anything. The outbox row
//! written by the use case is the sandbox inbox shown at `/sandbox/sms`.

use app::error::GatewayError;
use app::ports::{Sms, SmsMessage, SmsReceipt};
use async_trait::async_trait;

/// SMS provider for the default install and for tests: no I/O, always accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxSms;

impl SandboxSms {
    /// The provider name used in configuration.
    pub const NAME: &'static str = "sandbox";
}

#[async_trait]
impl Sms for SandboxSms {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn is_sandbox(&self) -> bool {
        true
    }

    async fn send(&self, _msg: &SmsMessage) -> Result<SmsReceipt, GatewayError> {
        let id: [u8; 8] = rand::random();
        Ok(SmsReceipt {
            provider_ref: format!("sandbox-{}", hex::encode(id)),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use domain::Phone;

    #[tokio::test]
    async fn accepts_with_distinct_sandbox_refs() {
        let sms = SandboxSms;
        let msg = SmsMessage {
            phone: Phone::parse("13800138000").unwrap(),
            template: "login_code".into(),
            params: vec![("code".into(), "123456".into())],
            text: "code 123456".into(),
        };
        let a = sms.send(&msg).await.unwrap().provider_ref;
        let b = sms.send(&msg).await.unwrap().provider_ref;
        assert!(
            a.starts_with("sandbox-") && a.len() == "sandbox-".len() + 16,
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(sms.name(), "sandbox");
        assert!(sms.is_sandbox());
    }
}
