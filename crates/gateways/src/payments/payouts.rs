//! Micro-deposit providers. The sandbox "pays" at once; its statement is the page
//! `/sandbox/payouts` (what the unit's finance would see on its bank statement). The batch
//! file provider appends each payout to a daily CSV file that finance uploads to the
//! corporate online bank (the bank's batch-transfer import).

use app::payments::{Payout, Payouts};
use app::GatewayError;
use async_trait::async_trait;
use std::io::Write;
use std::path::PathBuf;

/// The sandbox payouts provider.
pub struct SandboxPayouts;

impl SandboxPayouts {
    /// Name in configuration.
    pub const NAME: &'static str = "sandbox";
}

#[async_trait]
impl Payouts for SandboxPayouts {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn is_sandbox(&self) -> bool {
        true
    }
    async fn send(&self, p: &Payout) -> Result<String, GatewayError> {
        if p.amount_fen <= 0 || p.amount_fen >= 100 {
            return Err(GatewayError::Refused(
                "micro-deposit must be under 1 yuan".into(),
            ));
        }
        Ok(format!("SBXPO-{}", p.reference))
    }
}

/// Writes payouts to `DIR/payouts-YYYYMMDD.csv` (UTC date), one line each.
pub struct BatchFilePayouts {
    dir: PathBuf,
    lock: std::sync::Mutex<()>,
}

impl BatchFilePayouts {
    /// Name in configuration.
    pub const NAME: &'static str = "batch_file";

    /// A provider writing under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            lock: std::sync::Mutex::new(()),
        }
    }
}

fn csv_cell(s: &str) -> String {
    let s = s.trim_start_matches(['=', '+', '-', '@']);
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[async_trait]
impl Payouts for BatchFilePayouts {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn is_sandbox(&self) -> bool {
        false
    }
    async fn send(&self, p: &Payout) -> Result<String, GatewayError> {
        let day = time::OffsetDateTime::now_utc().date();
        let file = self.dir.join(format!(
            "payouts-{:04}{:02}{:02}.csv",
            day.year(),
            u8::from(day.month()),
            day.day()
        ));
        let _g = self
            .lock
            .lock()
            .map_err(|_| GatewayError::Unavailable("lock".into()))?;
        std::fs::create_dir_all(&self.dir).map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let new = !file.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if new {
            writeln!(
                f,
                "reference,account_name,bank_name,account,amount_yuan,memo"
            )
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        }
        writeln!(
            f,
            "{},{},{},{},{},{}",
            csv_cell(&p.reference),
            csv_cell(&p.account_name),
            csv_cell(&p.bank_name),
            csv_cell(&p.account),
            app::payments::yuan(p.amount_fen),
            csv_cell(&p.memo)
        )
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(format!("BATCH-{}", p.reference))
    }
}
