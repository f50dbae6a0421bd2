//! Payment providers behind [`app::payments::PaymentGateway`] and [`app::payments::Payouts`],
//! chosen by name in `[payments]`:
//!
//! ```toml
//! [payments]
//! gateways = ["sandbox"]          # any of "sandbox", "alipay", "wechat"
//! payouts = "sandbox"             # or "batch_file" (writes files for the bank)
//! public_url = "https://wt.example.cn"
//! code_ttl_days = 7
//!
//! [payments.alipay]
//! app_id = "2021…"
//! private_key_pem = "-----BEGIN PRIVATE KEY-----…"      # ours (PKCS#8)
//! alipay_public_key_pem = "-----BEGIN PUBLIC KEY-----…" # Alipay's
//!
//! [payments.wechat]
//! mchid = "1900…"
//! appid = "wx…"
//! serial_no = "…"                # our API certificate serial
//! private_key_pem = "…"          # our API key (PKCS#8)
//! platform_public_key_pem = "…"  # WeChat Pay platform key
//! platform_serial = "…"
//! api_v3_key = "32 bytes"
//! ```

pub mod alipay;
mod codec;
mod payouts;
mod sandbox;
pub mod wechat;

pub use codec::{form_decode, form_encode, pct};
pub use payouts::{BatchFilePayouts, SandboxPayouts};
pub use sandbox::SandboxGateway;

use crate::ConfigError;
use app::payments::{PaymentGateway, PaymentSettings, Payouts};
use serde::Deserialize;
use std::sync::Arc;

/// The gateway names [`build`] accepts.
pub const GATEWAYS: &str = "sandbox, alipay, wechat";
/// The payouts names [`build`] accepts.
pub const PAYOUTS: &str = "sandbox, batch_file";

/// `[payments]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// Gateways offered to payers.
    pub gateways: Vec<String>,
    /// Micro-deposit provider.
    pub payouts: String,
    /// Directory of payout batch files (`batch_file`); empty = `DATA/payouts`.
    pub batch_dir: String,
    /// Public base URL of the hall (notify and return URLs).
    pub public_url: String,
    /// The CA's receiving account (shown for 公对公转账).
    pub payee_name: String,
    /// Its bank.
    pub payee_bank: String,
    /// Its account number.
    pub payee_account: String,
    /// Micro-deposit code lifetime in days.
    pub code_ttl_days: i64,
    /// Wrong codes before a code is void.
    pub max_code_attempts: i64,
    /// Micro-deposits per order.
    pub max_deposits: usize,
    /// Alipay settings (needed when `alipay` is listed).
    pub alipay: Option<alipay::AlipayConfig>,
    /// WeChat Pay settings (needed when `wechat` is listed).
    pub wechat: Option<wechat::WechatConfig>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        let s = PaymentSettings::default();
        Self {
            gateways: vec![SandboxGateway::NAME.into()],
            payouts: SandboxPayouts::NAME.into(),
            batch_dir: String::new(),
            public_url: s.public_url,
            payee_name: s.payee_name,
            payee_bank: s.payee_bank,
            payee_account: s.payee_account,
            code_ttl_days: 7,
            max_code_attempts: s.max_code_attempts,
            max_deposits: s.max_deposits,
            alipay: None,
            wechat: None,
        }
    }
}

impl PaymentsConfig {
    /// The settings the use cases read.
    pub fn settings(&self) -> PaymentSettings {
        PaymentSettings {
            payee_name: self.payee_name.clone(),
            payee_bank: self.payee_bank.clone(),
            payee_account: self.payee_account.clone(),
            public_url: self.public_url.clone(),
            code_ttl_ms: self.code_ttl_days.max(1) * 86_400_000,
            max_code_attempts: self.max_code_attempts.max(1),
            max_deposits: self.max_deposits.max(1),
        }
    }
}

/// Builds the configured gateways and payouts provider. `data` is the data directory (for
/// the default batch directory).
#[allow(clippy::type_complexity)]
pub fn build(
    config: &PaymentsConfig,
    data: &std::path::Path,
) -> Result<(Vec<Arc<dyn PaymentGateway>>, Arc<dyn Payouts>), ConfigError> {
    let mut gateways: Vec<Arc<dyn PaymentGateway>> = Vec::new();
    for name in &config.gateways {
        let g: Arc<dyn PaymentGateway> = match name.trim() {
            SandboxGateway::NAME => Arc::new(SandboxGateway::new()),
            alipay::Alipay::NAME => Arc::new(alipay::Alipay::new(config.alipay.clone().ok_or(
                ConfigError::MissingTable {
                    port: "payments",
                    name: alipay::Alipay::NAME,
                },
            )?)?),
            wechat::WechatPay::NAME => Arc::new(wechat::WechatPay::new(
                config.wechat.clone().ok_or(ConfigError::MissingTable {
                    port: "payments",
                    name: wechat::WechatPay::NAME,
                })?,
            )?),
            other => {
                return Err(ConfigError::UnknownProvider {
                    port: "payments.gateways",
                    name: other.to_owned(),
                    known: GATEWAYS,
                })
            }
        };
        gateways.push(g);
    }
    let payouts: Arc<dyn Payouts> = match config.payouts.trim() {
        SandboxPayouts::NAME => Arc::new(SandboxPayouts),
        BatchFilePayouts::NAME => {
            let dir = if config.batch_dir.is_empty() {
                data.join("payouts")
            } else {
                std::path::PathBuf::from(&config.batch_dir)
            };
            Arc::new(BatchFilePayouts::new(dir))
        }
        other => {
            return Err(ConfigError::UnknownProvider {
                port: "payments.payouts",
                name: other.to_owned(),
                known: PAYOUTS,
            })
        }
    };
    Ok((gateways, payouts))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use app::payments::Payout;

    #[test]
    fn unknown_or_incomplete_providers_are_reported() {
        let dir = std::env::temp_dir();
        let mut c = PaymentsConfig::default();
        assert_eq!(build(&c, &dir).unwrap().0.len(), 1);
        c.gateways = vec!["paypal".into()];
        assert!(build(&c, &dir)
            .err()
            .unwrap()
            .to_string()
            .contains("paypal"));
        c.gateways = vec!["alipay".into()];
        assert!(build(&c, &dir)
            .err()
            .unwrap()
            .to_string()
            .contains("[payments.alipay]"));
        c.gateways = vec![];
        c.payouts = "cash".into();
        assert!(build(&c, &dir).is_err());
    }

    #[tokio::test]
    async fn batch_file_payouts_append_quoted_lines() {
        let dir = std::env::temp_dir().join(format!(
            "certhall-payouts-{}",
            hex::encode(rand::random::<[u8; 6]>())
        ));
        let p = BatchFilePayouts::new(dir.clone());
        let out = Payout {
            reference: "MD1".into(),
            account_name: "深圳市某某科技有限公司".into(),
            bank_name: "中国工商银行".into(),
            account: "44201500100052526093".into(),
            amount_fen: 37,
            memo: "=深圳CA金融认证验证码123456".into(),
        };
        assert_eq!(p.send(&out).await.unwrap(), "BATCH-MD1");
        p.send(&out).await.unwrap();
        let f = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "\"MD1\",\"深圳市某某科技有限公司\",\"中国工商银行\",\"44201500100052526093\",0.37,\"深圳CA金融认证验证码123456\"");
        let too_much = Payout {
            amount_fen: 100,
            ..out
        };
        assert!(SandboxPayouts.send(&too_much).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
