//! [`app::blobs::Blobs`] on the local file system: each blob a file under the data directory,
//! sealed by the [`Vault`] with its id as associated data. Ids are random; no user-supplied
//! name is ever part of a path.

use crate::Vault;
use app::blobs::Blobs;
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use std::path::PathBuf;

/// Sealed files in one directory.
#[derive(Debug, Clone)]
pub struct FileBlobs {
    dir: PathBuf,
    vault: Vault,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Other(format!("blob: {e}"))
}

impl FileBlobs {
    /// Blobs under `dir` (created if missing).
    pub fn new(dir: PathBuf, vault: Vault) -> StoreResult<Self> {
        std::fs::create_dir_all(&dir).map_err(io)?;
        Ok(Self { dir, vault })
    }

    /// The directory (for checks).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    fn path(&self, id: &str) -> StoreResult<PathBuf> {
        if id.len() != 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(StoreError::NotFound);
        }
        Ok(self.dir.join(&id[..2]).join(format!("{id}.blob")))
    }
}

#[async_trait]
impl Blobs for FileBlobs {
    async fn put(&self, bytes: Vec<u8>) -> StoreResult<String> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let path = self.path(&id)?;
        let sealed = self.vault.seal(&format!("blob:{id}"), &bytes)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        {
            use tokio::io::AsyncWriteExt;
            let mut f = tokio::fs::File::create(&tmp).await.map_err(io)?;
            f.write_all(&sealed).await.map_err(io)?;
            f.sync_all().await.map_err(io)?;
        }
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(id)
    }

    async fn get(&self, id: &str) -> StoreResult<Vec<u8>> {
        let path = self.path(id)?;
        let sealed = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound),
            Err(e) => return Err(io(e)),
        };
        self.vault.open(&format!("blob:{id}"), &sealed)
    }

    async fn delete(&self, id: &str) -> StoreResult<()> {
        let path = self.path(id)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}
