//! The blob port: uploaded files, sealed at rest by the implementation.

use crate::ports::StoreResult;
use async_trait::async_trait;

/// Storage of uploaded files by opaque id. Implementations encrypt what they keep; an id is
/// never derived from a user-supplied name.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` and returns the new blob's id.
    async fn put(&self, bytes: Vec<u8>) -> StoreResult<String>;
    /// The bytes of a blob; `NotFound` if there is none.
    async fn get(&self, id: &str) -> StoreResult<Vec<u8>>;
    /// Removes a blob (missing ones are ignored).
    async fn delete(&self, id: &str) -> StoreResult<()>;
}
