//! The blob port: uploaded files, sealed at rest by the implementation. The sweep job that
//! deletes files no record refers to is [`crate::jobs::Jobs::sweep_orphan_blobs`].

use crate::clock::{Millis, DAY};
use crate::ports::StoreResult;
use async_trait::async_trait;

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
