//! [`app::blobs::Blobs`] on the local file system: each blob a file under the data directory,
//! sealed by the [`Vault`] with its id as associated data. Ids are random; no user-supplied
//! name is ever part of a path. A file's modification time is set from the injected clock
//! when it is stored, and [`Blobs::list`] reports it, so the sweep's "older than a day" uses
//! the same time as everything else.

use crate::Vault;
use app::blobs::{Blobs, StoredBlob};
use app::clock::{Clock, Millis};
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// Sealed files in one directory.
#[derive(Clone)]
pub struct FileBlobs {
    dir: PathBuf,
    vault: Vault,
    clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for FileBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBlobs").field("dir", &self.dir).finish()
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Other(format!("blob: {e}"))
}

impl FileBlobs {
    /// Blobs under `dir` (created if missing).
    pub fn new(dir: PathBuf, vault: Vault) -> StoreResult<Self> {
        std::fs::create_dir_all(&dir).map_err(io)?;
        Ok(Self {
            dir,
            vault,
            clock: None,
        })
    }

    /// Stamps stored files with `clock`'s time (the system's otherwise).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The files of one two-letter directory: `{id}.blob` with their modification times.
    fn list_dir(dir: &std::path::Path, out: &mut Vec<StoredBlob>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".blob")) else {
                continue;
            };
            if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                continue;
            }
            let modified = e.metadata()?.modified()?;
            let stored_at = match modified.duration_since(UNIX_EPOCH) {
                Ok(d) => Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX),
                Err(_) => 0,
            };
            out.push(StoredBlob {
                id: id.to_owned(),
                stored_at,
            });
        }
        Ok(())
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
            if let Some(c) = &self.clock {
                let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(c.now()).unwrap_or(0));
                let std = f.into_std().await;
                let std = tokio::task::spawn_blocking(move || std.set_modified(at).map(|()| std))
                    .await
                    .map_err(|e| StoreError::Other(format!("blob: {e}")))?
                    .map_err(io)?;
                f = tokio::fs::File::from_std(std);
            }
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

    async fn list(&self) -> StoreResult<Vec<StoredBlob>> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for e in std::fs::read_dir(&dir)? {
                let e = e?;
                let name = e.file_name();
                let sub = name.to_str().unwrap_or("");
                if e.file_type()?.is_dir()
                    && sub.len() == 2
                    && sub.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    Self::list_dir(&e.path(), &mut out)?;
                }
            }
            Ok::<_, std::io::Error>(out)
        })
        .await
        .map_err(|e| StoreError::Other(format!("blob: {e}")))?
        .map_err(io)
    }
}
