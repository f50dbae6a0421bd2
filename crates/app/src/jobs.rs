//! The job worker: runs queued jobs (SMS sending first), retries with backoff, and leaves
//! jobs that keep failing visible to staff.

use crate::clock::{Millis, MINUTE};
use crate::error::GatewayError;
use crate::model::{Job, SmsStatus};
use crate::ports::SmsMessage;
use crate::App;

/// Job kind: send the outbox SMS whose id is in the payload.
pub const SEND_SMS: &str = "sms.send";
/// Tries before a job is failed for good.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claim lasts before another worker may take the job.
pub const LEASE: Millis = 5 * MINUTE;

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Finished.
    Done,
    /// Failed; will be retried.
    Retry(String),
    /// Failed for good.
    Failed(String),
}

/// Delay before try `attempts + 1`: 10 s, 20 s, 40 s… capped at one hour.
pub fn backoff(attempts: i64) -> Millis {
    let exp = attempts.clamp(0, 12) as u32;
    (10_000i64 << exp).min(60 * MINUTE)
}

impl App {
    /// Claims and runs one due job; `None` when nothing is due.
    pub async fn run_one_job(&self) -> Result<Option<(Job, JobOutcome)>, crate::StoreError> {
        let now = self.now();
        let Some(job) = self.store.claim_job(now, LEASE).await? else {
            return Ok(None);
        };
        let result = match job.kind.as_str() {
            SEND_SMS => self.send_outbox_sms(&job).await,
            crate::identity::PURGE_PHOTOS => self.run_identity_purge().await,
            crate::blobs::SWEEP => self.run_blob_sweep().await,
            other => Err(GatewayError::Refused(format!("unknown job kind {other}"))),
        };
        let outcome = match result {
            Ok(()) => {
                self.store.job_done(job.id, self.now()).await?;
                JobOutcome::Done
            }
            Err(GatewayError::Unavailable(e)) if job.attempts < MAX_ATTEMPTS => {
                self.store
                    .job_failed(job.id, &e, Some(self.now() + backoff(job.attempts)))
                    .await?;
                JobOutcome::Retry(e)
            }
            Err(GatewayError::Unavailable(e) | GatewayError::Refused(e)) => {
                self.store.job_failed(job.id, &e, None).await?;
                if job.kind == SEND_SMS {
                    if let Some(id) = job.payload.get("outbox_id").and_then(|v| v.as_i64()) {
                        self.store.sms_error(id, self.sms.name(), &e, true).await?;
                    }
                }
                JobOutcome::Failed(e)
            }
        };
        if outcome != JobOutcome::Done {
            tracing::warn!(job.id = job.id, job.kind = %job.kind, job.attempts = job.attempts, "job failed");
        }
        Ok(Some((job, outcome)))
    }

    /// Runs due jobs until none is left (tests call this instead of waiting for the worker).
    pub async fn drain_jobs(&self) -> Result<usize, crate::StoreError> {
        let mut n = 0;
        while self.run_one_job().await?.is_some() {
            n += 1;
            if n > 10_000 {
                break;
            }
        }
        Ok(n)
    }

    async fn send_outbox_sms(&self, job: &Job) -> Result<(), GatewayError> {
        let id = job
            .payload
            .get("outbox_id")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| GatewayError::Refused("payload has no outbox_id".into()))?;
        let msg = self
            .store
            .outbox_sms(id)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .ok_or_else(|| GatewayError::Refused(format!("outbox row {id} is gone")))?;
        if msg.status == SmsStatus::Sent {
            return Ok(()); // sent by an earlier try whose completion was lost
        }
        let text = self.templates.render(&msg.template, &msg.params);
        let out = SmsMessage {
            phone: msg.phone.clone(),
            template: msg.template.clone(),
            params: msg.params.clone(),
            text,
        };
        match self.sms.send(&out).await {
            Ok(receipt) => {
                self.store
                    .sms_sent(id, self.sms.name(), &receipt.provider_ref, self.now())
                    .await
                    .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
                // A PIN is erased once delivered (F4); the sandbox keeps it, its outbox is
                // the recipient's phone.
                if !self.sms.is_sandbox() && crate::production::is_pin_template(&msg.template) {
                    if let Err(e) = self.desk.store.redact_sms_params(id).await {
                        tracing::warn!(outbox.id = id, error = %e, "PIN parameters not erased");
                    }
                }
                Ok(())
            }
            Err(e) => {
                let _ = self
                    .store
                    .sms_error(id, self.sms.name(), &e.to_string(), false)
                    .await;
                Err(e)
            }
        }
    }

    /// The worker loop of `serve`: runs jobs, idles briefly when the queue is empty.
    pub async fn job_worker(self, idle: std::time::Duration) {
        loop {
            match self.run_one_job().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "job worker cannot reach the store"),
            }
            tokio_sleep(idle).await;
        }
    }
}

async fn tokio_sleep(d: std::time::Duration) {
    tokio::time::sleep(d).await;
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), 10_000);
        assert_eq!(backoff(1), 20_000);
        assert_eq!(backoff(20), 3_600_000);
    }
}
