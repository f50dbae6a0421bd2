//! The job worker: runs queued jobs (SMS sending first), retries with backoff, and leaves
//! jobs that keep failing visible to staff.

use crate::blobs::{Blobs, SweepReport};
use crate::clock::{Clock, Millis, DAY, MINUTE};
use crate::error::GatewayError;
use crate::identity::Verification;
use crate::model::{Job, JobStatus, SmsStatus};
use crate::orders::OrderStore;
use crate::policy::SmsTemplates;
use crate::ports::{JobStore, OutboxStore, Sms, SmsMessage, StoreResult};
use crate::AppResult;
use std::collections::HashSet;
use std::sync::Arc;

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

/// The background work: the job queue's worker, SMS delivery through the provider, the
/// daily sweeps.
#[derive(Clone)]
pub struct Jobs {
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) sms: Arc<dyn Sms>,
    pub(crate) templates: Arc<SmsTemplates>,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) orders: Arc<dyn OrderStore>,
    pub(crate) verification: Verification,
    pub(crate) billing: crate::payments::Billing,
    pub(crate) certificates: crate::certificates::Certificates,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Jobs {
    fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The SMS provider's name (`sandbox`, `tencent`…), for the start-up line.
    pub fn sms_provider(&self) -> &'static str {
        self.sms.name()
    }

    /// Claims and runs one due job; `None` when nothing is due.
    pub async fn run_one(&self) -> Result<Option<(Job, JobOutcome)>, crate::StoreError> {
        let now = self.now();
        let Some(job) = self.store.claim_job(now, LEASE).await? else {
            return Ok(None);
        };
        let result = match job.kind.as_str() {
            SEND_SMS => self.send_outbox_sms(&job).await,
            crate::identity::PURGE_PHOTOS => self.run_identity_purge().await,
            crate::blobs::SWEEP => self.run_blob_sweep().await,
            crate::payments::TRACK_REFUND => match job.payload["payment"].as_i64() {
                Some(id) => self.billing.track_refund(id).await,
                None => Err(GatewayError::Refused("payload has no payment".into())),
            },
            crate::certificates::REMIND => self.run_reminders().await,
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
                        self.outbox.sms_error(id, self.sms.name(), &e, true).await?;
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
    pub async fn drain(&self) -> Result<usize, crate::StoreError> {
        let mut n = 0;
        while self.run_one().await?.is_some() {
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
            .outbox
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
                self.outbox
                    .sms_sent(id, self.sms.name(), &receipt.provider_ref, self.now())
                    .await
                    .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
                // A PIN is erased once delivered (F4); the sandbox keeps it, its outbox is
                // the recipient's phone.
                if !self.sms.is_sandbox() && crate::production::is_pin_template(&msg.template) {
                    if let Err(e) = self.outbox.redact_sms_params(id).await {
                        tracing::warn!(outbox.id = id, error = %e, "PIN parameters not erased");
                    }
                }
                Ok(())
            }
            Err(e) => {
                let _ = self
                    .outbox
                    .sms_error(id, self.sms.name(), &e.to_string(), false)
                    .await;
                Err(e)
            }
        }
    }

    /// The worker loop of `serve`: runs jobs, idles briefly when the queue is empty.
    pub async fn worker(self, idle: std::time::Duration) {
        loop {
            match self.run_one().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "job worker cannot reach the store"),
            }
            tokio_sleep(idle).await;
        }
    }
}

impl Jobs {
    /// Queues `kind` now unless one is already waiting (the daily jobs queue their next run
    /// themselves).
    async fn schedule(&self, kind: &str) -> AppResult<()> {
        let queued = self.store.list_jobs(Some(JobStatus::Pending), 1000).await?;
        if queued.iter().any(|j| j.kind == kind) {
            return Ok(());
        }
        self.store
            .enqueue_job(kind, serde_json::json!({}), self.now())
            .await?;
        Ok(())
    }

    /// Queues the blob sweep (at start of `serve`).
    pub async fn schedule_blob_sweep(&self) -> AppResult<()> {
        self.schedule(crate::blobs::SWEEP).await
    }

    /// Queues the identity-photo retention job (at start of `serve`).
    pub async fn schedule_identity_purge(&self) -> AppResult<()> {
        self.schedule(crate::identity::PURGE_PHOTOS).await
    }

    /// Deletes stored files that no order draft, identity attempt or other record refers to
    /// and that were stored more than [`crate::blobs::SWEEP_MIN_AGE`] ago: the orphans of an
    /// upload whose record was never saved (a crash between [`Blobs::put`] and the save).
    /// The files are listed first and the references read after, so a file stored and
    /// referred to while the sweep runs is either too young or already referenced. If the
    /// references cannot be read, nothing is deleted.
    pub async fn sweep_orphan_blobs(&self) -> StoreResult<SweepReport> {
        let files = self.blobs.list().await?;
        let referenced: HashSet<String> = self.orders.referenced_blobs().await?;
        let cutoff = self.now() - crate::blobs::SWEEP_MIN_AGE;
        let mut r = SweepReport {
            seen: files.len(),
            ..SweepReport::default()
        };
        for f in files {
            if referenced.contains(&f.id) {
                r.referenced += 1;
            } else if f.stored_at > cutoff {
                r.young += 1;
            } else {
                self.blobs.delete(&f.id).await?;
                r.deleted += 1;
            }
        }
        Ok(r)
    }

    async fn run_blob_sweep(&self) -> Result<(), GatewayError> {
        let err = |e: crate::StoreError| GatewayError::Unavailable(e.to_string());
        let r = self.sweep_orphan_blobs().await.map_err(err)?;
        tracing::info!(
            blobs.seen = r.seen,
            blobs.referenced = r.referenced,
            blobs.young = r.young,
            blobs.deleted = r.deleted,
            "unreferenced stored files swept"
        );
        self.store
            .enqueue_job(crate::blobs::SWEEP, serde_json::json!({}), self.now() + DAY)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Queues the daily certificate expiry reminders (at start of `serve`).
    pub async fn schedule_cert_reminders(&self) -> AppResult<()> {
        self.schedule(crate::certificates::REMIND).await
    }

    async fn run_reminders(&self) -> Result<(), GatewayError> {
        let n = self
            .certificates
            .send_reminders()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        tracing::info!(certs.reminded = n, "certificate expiry reminders queued");
        self.store
            .enqueue_job(
                crate::certificates::REMIND,
                serde_json::json!({}),
                self.now() + DAY,
            )
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(())
    }

    async fn run_identity_purge(&self) -> Result<(), GatewayError> {
        let n = self.verification.purge_photos().await?;
        tracing::info!(
            identity.purged = n,
            "identity photos past retention deleted"
        );
        self.store
            .enqueue_job(
                crate::identity::PURGE_PHOTOS,
                serde_json::json!({}),
                self.now() + DAY,
            )
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(())
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
