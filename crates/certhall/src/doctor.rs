//! `certhall doctor --data DIR`: what an operator runs on a hall's data directory before a
//! start, after a crash or a restore, and when something looks wrong. It reads and never
//! changes anything (no migration, no keys file made, no file swept), and prints one line
//! per check — `ok`, `WARN` or `FAIL` — with what to do under every line that is not `ok`.
//! The command exits non-zero when any check failed.
//!
//! The checks, in order: the data directory, the free disk space, the database (reachable,
//! its own integrity check, migrations applied), the keys file (present, private, and the
//! one the data was written with: sealed rows open and lookup hashes match), the CA
//! (certificates, keys readable with the passphrase the hall would use, validity left), the
//! audit chain and its anchors outside the database, production lines left 签发中 by a
//! stopped process and serials the CA recorded but never stored, and the stored files
//! (referenced ones missing, unreferenced ones the daily sweep will delete).

use crate::config::Config;
use crate::Common;
use anyhow::Result;
use app::blobs::Blobs;
use app::clock::{Clock, Millis, DAY};
use app::desk::ProductionStore;
use app::orders::OrderStore;
use app::ports::AuditStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// The hall runs, but something wants attention.
    Warn,
    /// The hall cannot run correctly, or data is lost or changed.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How it came out.
    pub level: Level,
    /// Which check (`database`, `keys`, `ca`, `audit`, `production`, `files`, `disk`, `data`).
    pub check: &'static str,
    /// What was found.
    pub what: String,
    /// What to do (empty when nothing).
    pub advice: String,
}

fn finding(level: Level, check: &'static str, what: impl Into<String>, advice: &str) -> Finding {
    Finding {
        level,
        check,
        what: what.into(),
        advice: advice.to_owned(),
    }
}

/// Where the parts of one hall are: what the configuration says for a data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The data directory.
    pub data: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// The keys file.
    pub keys_file: PathBuf,
    /// The stored files.
    pub blobs: PathBuf,
    /// The CA directory.
    pub ca: PathBuf,
}

impl Layout {
    /// The layout `serve` would use for `common`.
    pub fn of(common: &Common) -> Result<Self> {
        let config = Config::load(common.config.as_deref())?;
        Ok(Self {
            data: common.data.clone(),
            database_url: config.database_url(&common.data),
            keys_file: config.keys_file(&common.data),
            blobs: common.data.join("blobs"),
            ca: crate::ca_cmd::ca_dir(&common.data),
        })
    }
}

/// The report: every finding, in the order checked.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The findings of `level`.
    pub fn at(&self, level: Level) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.level == level)
    }

    /// The report as printed.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let tag = match f.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            out.push_str(&format!("{tag}  {:<10} {}\n", f.check, f.what));
            if !f.advice.is_empty() {
                out.push_str(&format!("      {:<10} → {}\n", "", f.advice));
            }
        }
        let n = |l| self.at(l).count();
        out.push_str(&format!(
            "{} checks: {} ok, {} warnings, {} failures\n",
            self.findings.len(),
            n(Level::Ok),
            n(Level::Warn),
            n(Level::Fail)
        ));
        out
    }
}

/// Free space below which the hall is about to refuse writes.
const DISK_FAIL_BYTES: u64 = 256 << 20;
/// Free space below which an operator should make room soon.
const DISK_WARN_BYTES: u64 = 2 << 30;

/// The disk finding for `available` of `total` bytes free.
pub fn disk_finding(available: u64, total: u64) -> Finding {
    let shown = format!(
        "{} MiB free of {} MiB ({:.0} %)",
        available >> 20,
        total >> 20,
        if total == 0 {
            0.0
        } else {
            available as f64 * 100.0 / total as f64
        }
    );
    if available < DISK_FAIL_BYTES {
        finding(
            Level::Fail,
            "disk",
            shown,
            "the database refuses every change when the disk fills (submissions are refused, none acknowledged is lost): free space or move the data directory now",
        )
    } else if available < DISK_WARN_BYTES || available.saturating_mul(10) < total {
        finding(
            Level::Warn,
            "disk",
            shown,
            "uploads and the database grow with every order: free space or grow the volume soon",
        )
    } else {
        finding(Level::Ok, "disk", shown, "")
    }
}

/// Runs every check on `layout` at `clock`'s time.
pub async fn examine(layout: &Layout, clock: Arc<dyn Clock>) -> Report {
    let mut r = Report::default();
    if !layout.data.is_dir() {
        r.findings.push(finding(
            Level::Fail,
            "data",
            format!("no data directory at {}", layout.data.display()),
            "give --data the directory `certhall serve` was started with",
        ));
        return r;
    }
    r.findings.push(match rustix::fs::statvfs(&layout.data) {
        Ok(s) => disk_finding(
            s.f_bavail.saturating_mul(s.f_frsize),
            s.f_blocks.saturating_mul(s.f_frsize),
        ),
        Err(e) => finding(
            Level::Warn,
            "disk",
            format!("free space unknown ({e})"),
            "check the volume by hand (df -h)",
        ),
    });
    let Some(db) = database(layout, &mut r).await else {
        ca_files(layout, clock.now(), &mut r);
        skipped(&mut r, "keys, audit, production and files", "the database");
        return r;
    };
    let keys = keys(layout, &db, &mut r).await;
    let ca_label = ca_files(layout, clock.now(), &mut r);
    let Some(vault) = keys else {
        db.pool.close().await;
        skipped(&mut r, "audit, production and files", "the keys file");
        return r;
    };
    let store = store::SqlStore::new(db.clone(), vault.clone());
    audit(layout, &store, &mut r).await;
    production(&store, ca_label.as_deref(), clock.now(), &mut r).await;
    files(layout, &store, vault, clock, &mut r).await;
    db.pool.close().await;
    r
}

fn skipped(r: &mut Report, what: &str, needs: &str) {
    r.findings.push(finding(
        Level::Warn,
        "skipped",
        format!("{what} were not checked: they need {needs}"),
        "fix the FAIL or WARN above, then run doctor again",
    ));
}

/// `certhall doctor`: prints the report; an error (non-zero exit) when a check failed.
pub async fn run(common: &Common, clock: Arc<dyn Clock>) -> Result<()> {
    let layout = Layout::of(common)?;
    println!("certhall doctor: {}", layout.data.display());
    let report = examine(&layout, clock).await;
    print!("{}", report.text());
    let failed = report.at(Level::Fail).count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} check(s) failed: see the FAIL lines above and what to do under each"
        );
    }
    Ok(())
}

async fn database(layout: &Layout, r: &mut Report) -> Option<store::Db> {
    let mut url = layout.database_url.clone();
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p).to_owned())
    {
        if !Path::new(&path).exists() {
            r.findings.push(finding(
                Level::Fail,
                "database",
                format!("no database at {path}"),
                "is this the hall's data directory? `certhall migrate` makes a new, empty one; after a loss, restore it from the backup",
            ));
            return None;
        }
        // Read what is there; never make a new file.
        url = url.replace("mode=rwc", "mode=rw");
    }
    let shown = redact(&layout.database_url);
    let db = match store::Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "database",
                format!("cannot open {shown}: {e}"),
                "start the database server, or check [database] url and its password",
            ));
            return None;
        }
    };
    match db.integrity().await {
        Ok(bad) if bad.is_empty() => {}
        Ok(bad) => {
            r.findings.push(finding(
                Level::Fail,
                "database",
                format!(
                    "{shown}: the integrity check found {} problem(s): {}",
                    bad.len(),
                    bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                ),
                "stop the hall, keep this file for the investigation, and restore the last backup",
            ));
            return None;
        }
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "database",
                format!("{shown}: cannot be read ({e})"),
                "stop the hall, keep this file for the investigation, and restore the last backup",
            ));
            return None;
        }
    }
    match db.pending_migrations().await {
        Ok(p) if p.is_empty() => r.findings.push(finding(
            Level::Ok,
            "database",
            format!(
                "{shown}: integrity checked, all {} migrations applied",
                store::migrate::MIGRATIONS.len()
            ),
            "",
        )),
        Ok(p) => {
            let names: Vec<String> = p.iter().map(|(v, n)| format!("{v:04} {n}")).collect();
            r.findings.push(finding(
                Level::Warn,
                "database",
                format!(
                    "{shown}: {} migration(s) of this build not applied: {}; the checks that read the data were skipped",
                    p.len(),
                    names.join(", ")
                ),
                "run `certhall migrate` (serve applies them at start), then doctor again",
            ));
            return None;
        }
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "database",
                format!("{shown}: migrations unknown ({e})"),
                "check the database by hand; restore the backup if it was damaged",
            ));
            return None;
        }
    }
    Some(db)
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &url[s + 3..at];
            match auth.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn keys(layout: &Layout, db: &store::Db, r: &mut Report) -> Option<store::Vault> {
    let path = &layout.keys_file;
    if !path.exists() {
        r.findings.push(finding(
            Level::Fail,
            "keys",
            format!("no keys file at {}", path.display()),
            "restore it from the backup: without it no phone, ID number or file can be read, and `serve` would make new keys that open none of them",
        ));
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                r.findings.push(finding(
                    Level::Warn,
                    "keys",
                    format!(
                        "{} can be read by others (mode {:o})",
                        path.display(),
                        m.permissions().mode() & 0o777
                    ),
                    "chmod 600 it: anyone who reads it reads every sealed field",
                ));
            }
        }
    }
    let keys = match crate::keys::load(path) {
        Ok(k) => k,
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "keys",
                format!("{}: {e:#}", path.display()),
                "restore the keys file from the backup",
            ));
            return None;
        }
    };
    let store = store::SqlStore::new(db.clone(), keys.vault.clone());
    match store.key_check(50).await {
        Ok(c) if c.failed.is_empty() => r.findings.push(finding(
            Level::Ok,
            "keys",
            format!(
                "{}: opens the data ({} sealed values tried)",
                path.display(),
                c.tried
            ),
            "",
        )),
        Ok(c) => {
            r.findings.push(finding(
                Level::Fail,
                "keys",
                format!(
                    "{}: {} of {} sealed values do not open with it ({}): it is not the keys file this data was written with",
                    path.display(),
                    c.failed.len(),
                    c.tried,
                    c.failed.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                ),
                "restore the keys file that belongs to this database (the backup made with it); do not start serve until then",
            ));
            return None;
        }
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "keys",
                format!("cannot try the keys on the data ({e})"),
                "check the database by hand",
            ));
            return None;
        }
    }
    Some(keys.vault)
}

/// Checks the CA directory; answers the issuing CA's label when it could be read.
fn ca_files(layout: &Layout, now: Millis, r: &mut Report) -> Option<String> {
    let dir = &layout.ca;
    if !ca::files::exists(dir) {
        r.findings.push(finding(
            Level::Warn,
            "ca",
            format!("no CA at {}: production (制证) is refused", dir.display()),
            "make the CA with `certhall ca init` (a fresh data directory's first `serve` makes a development CA)",
        ));
        return None;
    }
    let files = match ca::CaFiles::load(dir) {
        Ok(f) => f,
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "ca",
                format!("{e}"),
                "restore the CA directory from the backup",
            ));
            return None;
        }
    };
    let label = files.issuing.label.clone();
    let now_s = u64::try_from(now / 1000).unwrap_or(0);
    let left_days = |na: u64| (na.saturating_sub(now_s) / 86_400) as i64;
    let kind = if files.cfg.development {
        "development CA"
    } else {
        "CA"
    };
    let passphrase = crate::ca_cmd::passphrase_for_doctor(dir);
    let keys = match &passphrase {
        Some(p) => match ca::files::load_keys(dir, &files, p) {
            Ok(_) => "keys open with the passphrase and match the certificates".to_owned(),
            Err(e) => {
                r.findings.push(finding(
                    Level::Fail,
                    "ca",
                    format!("{} keys: {e}", dir.display()),
                    "check CERTHALL_CA_PASSPHRASE(_FILE); if the key files were damaged, restore them from the backup",
                ));
                return Some(label);
            }
        },
        None => String::new(),
    };
    if passphrase.is_none() {
        r.findings.push(finding(
            Level::Warn,
            "ca",
            format!(
                "{kind} at {}: its keys were not tried (no passphrase in CERTHALL_CA_PASSPHRASE or CERTHALL_CA_PASSPHRASE_FILE)",
                dir.display()
            ),
            "run doctor with the passphrase set, as serve is run",
        ));
    }
    for (what, cert) in [("issuing CA", &files.issuing), ("root", &files.root)] {
        let na = cert.not_after();
        if na <= now_s {
            r.findings.push(finding(
                Level::Fail,
                "ca",
                format!("the {what} certificate has expired"),
                "nothing it signs is valid: make a new issuing CA (`certhall ca init`)",
            ));
        } else if left_days(na) < 365 && what == "issuing CA" {
            r.findings.push(finding(
                Level::Warn,
                "ca",
                format!("the {what} certificate expires in {} days", left_days(na)),
                "certificates are capped at the issuing CA's end: plan its successor",
            ));
        }
    }
    if !keys.is_empty() {
        r.findings.push(finding(
            Level::Ok,
            "ca",
            format!(
                "{kind} at {}: {keys}; issuing CA valid {} more days",
                dir.display(),
                left_days(files.issuing.not_after())
            ),
            "",
        ));
    }
    Some(label)
}

async fn audit(layout: &Layout, store: &store::SqlStore, r: &mut Report) {
    let anchors = match crate::anchors::read(&layout.data) {
        Ok(a) => a,
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "audit",
                format!("{e:#}"),
                "the anchors file was changed by hand: compare it with the backup",
            ));
            return;
        }
    };
    let (rows, head) = match store.audit_all().await {
        Ok(x) => x,
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "audit",
                format!("cannot read the audit log ({e})"),
                "check the database by hand",
            ));
            return;
        }
    };
    let mac = |seq: i64, hash: &str| store.audit_mac(seq, hash);
    r.findings.push(
        match app::audit::verify_chain(&rows, head.as_ref(), &mac, &anchors) {
            app::audit::ChainCheck::Intact {
                rows, anchors: n, ..
            } => finding(
                Level::Ok,
                "audit",
                format!("{rows} rows link and carry their MACs; {n} anchors outside the database reached"),
                "",
            ),
            app::audit::ChainCheck::Broken { seq, problem } => finding(
                Level::Fail,
                "audit",
                format!("the audit log was changed at row {seq}: {problem}"),
                "keep this database and the anchors file as evidence, find who had write access, and compare with the backups (`certhall audit verify` says the same)",
            ),
        },
    );
}

async fn production(store: &store::SqlStore, ca_label: Option<&str>, now: Millis, r: &mut Report) {
    let before = r.findings.len();
    match store.issuing_lines().await {
        Ok(lines) => {
            let stale: Vec<String> = lines
                .iter()
                .filter(|(_, _, until)| until.is_none_or(|t| t <= now))
                .map(|(no, line, _)| format!("{no} line {line}"))
                .collect();
            let held = lines.len() - stale.len();
            if !stale.is_empty() {
                r.findings.push(finding(
                    Level::Warn,
                    "production",
                    format!(
                        "{} certificate line(s) left 签发中 by a process that stopped: {}",
                        stale.len(),
                        stale.join(", ")
                    ),
                    "start `certhall serve` (with the CA passphrase): it finishes them at start, never signing a recorded serial twice; or press 制证 for the order",
                ));
            }
            if held > 0 {
                r.findings.push(finding(
                    Level::Ok,
                    "production",
                    format!("{held} line(s) being issued now by a running hall"),
                    "",
                ));
            }
        }
        Err(e) => r.findings.push(finding(
            Level::Fail,
            "production",
            format!("cannot read the production lines ({e})"),
            "check the database by hand",
        )),
    }
    if let Some(label) = ca_label {
        let cas = store::ca::CaStore::new(store.db().clone(), store.vault().clone());
        match ca::CaStorage::unfinished(&cas, label).await {
            Ok(u) if u.is_empty() => {}
            Ok(u) => r.findings.push(finding(
                Level::Warn,
                "production",
                format!(
                    "{} serial(s) the CA recorded but never stored: {}",
                    u.len(),
                    u.iter().map(|x| x.serial.as_str()).collect::<Vec<_>>().join(", ")
                ),
                "those of a line left 签发中 are finished by serve at start; others (a stopped `ca issue`) are never signed again: nothing to do",
            )),
            Err(e) => r.findings.push(finding(
                Level::Fail,
                "production",
                format!("cannot read the CA's issuance log ({e})"),
                "check the database by hand",
            )),
        }
    }
    if r.findings.len() == before {
        r.findings.push(finding(
            Level::Ok,
            "production",
            "no line left 签发中, no serial left unfinished",
            "",
        ));
    }
}

async fn files(
    layout: &Layout,
    store: &store::SqlStore,
    vault: store::Vault,
    clock: Arc<dyn Clock>,
    r: &mut Report,
) {
    let referenced = match store.referenced_blobs().await {
        Ok(x) => x,
        Err(e) => {
            r.findings.push(finding(
                Level::Fail,
                "files",
                format!("cannot read which files the records refer to ({e})"),
                "check the database by hand",
            ));
            return;
        }
    };
    let listed = if layout.blobs.is_dir() {
        let now = clock.now();
        let blobs = match store::FileBlobs::new(layout.blobs.clone(), vault) {
            Ok(b) => b.with_clock(clock),
            Err(e) => {
                r.findings.push(finding(
                    Level::Fail,
                    "files",
                    format!("{}: {e}", layout.blobs.display()),
                    "check the directory's owner and permissions",
                ));
                return;
            }
        };
        match blobs.list().await {
            Ok(l) => l.into_iter().map(|b| (b.id, now - b.stored_at)).collect(),
            Err(e) => {
                r.findings.push(finding(
                    Level::Fail,
                    "files",
                    format!("cannot list {} ({e})", layout.blobs.display()),
                    "check the directory's owner and permissions",
                ));
                return;
            }
        }
    } else {
        Vec::new()
    };
    let present: std::collections::HashSet<&str> =
        listed.iter().map(|(id, _)| id.as_str()).collect();
    let mut missing: Vec<&str> = referenced
        .iter()
        .map(String::as_str)
        .filter(|id| !present.contains(id))
        .collect();
    missing.sort_unstable();
    let stale: Vec<&str> = listed
        .iter()
        .filter(|(id, age)| !referenced.contains(id) && *age >= DAY)
        .map(|(id, _)| id.as_str())
        .collect();
    if !missing.is_empty() {
        r.findings.push(finding(
            Level::Fail,
            "files",
            format!(
                "{} file(s) the records refer to are missing from {}: {}",
                missing.len(),
                layout.blobs.display(),
                missing.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ),
            "restore the blobs directory from the backup (files are never deleted while referred to)",
        ));
    }
    if !stale.is_empty() {
        r.findings.push(finding(
            Level::Warn,
            "files",
            format!(
                "{} stored file(s) no record refers to, older than a day (uploads whose record was never saved)",
                stale.len()
            ),
            "nothing to do: serve's daily blobs.sweep deletes them",
        ));
    }
    if missing.is_empty() {
        r.findings.push(finding(
            Level::Ok,
            "files",
            format!(
                "{} stored, every one of the {} referred to present",
                listed.len(),
                referenced.len()
            ),
            "",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_space_thresholds() {
        assert_eq!(disk_finding(100 << 20, 100 << 30).level, Level::Fail);
        assert_eq!(disk_finding(1 << 30, 100 << 30).level, Level::Warn);
        // Plenty in bytes but under a tenth of the volume.
        assert_eq!(disk_finding(5 << 30, 100 << 30).level, Level::Warn);
        assert_eq!(disk_finding(50 << 30, 100 << 30).level, Level::Ok);
        assert!(disk_finding(50 << 30, 100 << 30)
            .what
            .contains("51200 MiB free"));
    }

    #[test]
    fn database_urls_are_shown_without_their_password() {
        assert_eq!(
            redact("postgres://hall:s3cret@db.example:5432/hall"),
            "postgres://hall:***@db.example:5432/hall"
        );
        assert_eq!(
            redact("sqlite:///d/certhall.db?mode=rwc"),
            "sqlite:///d/certhall.db?mode=rwc"
        );
    }
}
