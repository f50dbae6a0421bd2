//! The blob port: uploaded files, sealed at rest by the implementation, and the sweep job
//! that deletes files no record refers to.

use crate::clock::{Millis, DAY};
use crate::error::GatewayError;
use crate::ports::StoreResult;
use crate::App;
use async_trait::async_trait;
use std::collections::HashSet;

/// Job kind: delete stored files that no record refers to (daily).
pub const SWEEP: &str = "blobs.sweep";
/// A file younger than this is never swept: an upload stores its file first and then saves
/// the record that refers to it, so a young file may simply not be referred to *yet*.
pub const SWEEP_MIN_AGE: Millis = DAY;

/// A stored file as [`Blobs::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its id.
    pub id: String,
    /// When it was stored (by the clock the store was given).
    pub stored_at: Millis,
}

/// Storage of uploaded files by opaque id. Implementations encrypt what they keep; an id is
/// never derived from a user-supplied name.
///
/// Every blob must be referred to from a place the store's
/// [`crate::orders::OrderStore::referenced_blobs`] lists (a draft's uploads, a `*_blob` text
/// column), or the daily [`SWEEP`] deletes it a day after it was stored.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` and returns the new blob's id.
    async fn put(&self, bytes: Vec<u8>) -> StoreResult<String>;
    /// The bytes of a blob; `NotFound` if there is none.
    async fn get(&self, id: &str) -> StoreResult<Vec<u8>>;
    /// Removes a blob (missing ones are ignored).
    async fn delete(&self, id: &str) -> StoreResult<()>;
    /// Every stored blob with the time it was stored. An implementation that cannot list
    /// lists nothing, so nothing is ever swept from it.
    async fn list(&self) -> StoreResult<Vec<StoredBlob>> {
        Ok(Vec::new())
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Files looked at.
    pub seen: usize,
    /// Files some record refers to (kept).
    pub referenced: usize,
    /// Unreferenced files younger than [`SWEEP_MIN_AGE`] (kept).
    pub young: usize,
    /// Unreferenced old files deleted.
    pub deleted: usize,
}

impl App {
    /// Deletes stored files that no order draft, identity attempt or other record refers to
    /// and that were stored more than [`SWEEP_MIN_AGE`] ago: the orphans of an upload whose
    /// record was never saved (a crash between [`Blobs::put`] and the save). The files are
    /// listed first and the references read after, so a file stored and referred to while
    /// the sweep runs is either too young or already referenced. If the references cannot be
    /// read, nothing is deleted.
    pub async fn sweep_orphan_blobs(&self) -> StoreResult<SweepReport> {
        let files = self.blobs.list().await?;
        let referenced: HashSet<String> = self.orders.referenced_blobs().await?;
        let cutoff = self.now() - SWEEP_MIN_AGE;
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

    /// Queues the sweep (at start of `serve`; the job queues its next run itself).
    pub async fn schedule_blob_sweep(&self) -> crate::AppResult<()> {
        let queued = self
            .store
            .list_jobs(Some(crate::model::JobStatus::Pending), 1000)
            .await?;
        if queued.iter().any(|j| j.kind == SWEEP) {
            return Ok(());
        }
        self.store
            .enqueue_job(SWEEP, serde_json::json!({}), self.now())
            .await?;
        Ok(())
    }

    /// Runs the sweep and queues the next run a day later.
    pub(crate) async fn run_blob_sweep(&self) -> Result<(), GatewayError> {
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
            .enqueue_job(SWEEP, serde_json::json!({}), self.now() + DAY)
            .await
            .map_err(err)?;
        Ok(())
    }
}
