//! Anchors of the audit chain outside the database: `DATA/audit/anchors`, one line
//! `SEQ HASH` per point of the chain seen, appended (and synced) by `serve` every minute the
//! chain grew and by every `audit verify` that found it intact. Someone who can rewrite the
//! database can delete the tail of the chain and rewind its head consistently; they cannot
//! make the chain reach an anchor again. Each node keeps its own file, so a multi-node hall
//! is anchored by every node that serves.

use anyhow::{Context, Result};
use app::model::AuditAnchor;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The anchors file of a data directory.
pub fn path(data: &Path) -> PathBuf {
    data.join("audit").join("anchors")
}

/// Every anchor recorded, oldest first (none when the file does not exist yet).
pub fn read(data: &Path) -> Result<Vec<AuditAnchor>> {
    let p = path(data);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let mut it = l.split_whitespace();
            let seq = it.next().and_then(|s| s.parse::<i64>().ok());
            let hash = it.next().filter(|h| h.len() == 64);
            match (seq, hash) {
                (Some(seq), Some(hash)) => Ok(AuditAnchor {
                    seq,
                    hash: hash.to_owned(),
                }),
                _ => anyhow::bail!("{} line {}: not `SEQ HASH`", p.display(), i + 1),
            }
        })
        .collect()
}

/// Appends `a` (and syncs the file) unless the newest anchor is already at or past it.
pub fn append(data: &Path, a: &AuditAnchor) -> Result<bool> {
    if read(data)?.last().is_some_and(|last| last.seq >= a.seq) {
        return Ok(false);
    }
    let p = path(data);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .with_context(|| format!("cannot open {}", p.display()))?;
    writeln!(f, "{} {}", a.seq, a.hash)?;
    f.sync_all()?;
    Ok(true)
}

/// Records the chain's end now, if it grew since the last anchor.
pub async fn record(app: &app::App, data: &Path) -> Result<()> {
    if let Some(a) = app
        .admin()
        .audit_anchor()
        .await
        .map_err(|e| anyhow::anyhow!("audit head: {e}"))?
    {
        append(data, &a)?;
    }
    Ok(())
}

/// `serve`'s task: anchors the chain every minute it grew.
pub async fn every_minute(app: app::App, data: PathBuf) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = record(&app, &data).await {
            tracing::warn!(error = %e, "audit anchor not written");
        }
    }
}
