//! Version-1 JSON checkpoints (the `--state` files of earlier versions)
//! become a state store once, in place.
//!
//! The JSON is copied to `<state>.v1-backup.json` (fsynced, mode 0600), a
//! store is built beside it under a temporary name with the checkpoint's
//! progress, outcomes and ledger as the given business file's rows, and it
//! is renamed over the JSON (then the directory is fsynced). A crash before
//! the rename leaves the JSON in place and the next run imports it again.

use super::{create_private, sync_dir, Store};
use incwo_core::flow::CheckpointParts;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What `--state` points at.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing yet: a new store.
    Missing,
    /// An SQLite file (or an empty one SQLite will initialise).
    Store,
    /// A version-1 JSON checkpoint.
    V1Json,
}

/// Looks at the first bytes of `path`.
pub fn kind(path: &Path) -> Result<Kind, String> {
    let mut head = [0u8; 16];
    let read = match std::fs::File::open(path) {
        Ok(mut f) => f
            .read(&mut head)
            .map_err(|e| format!("cannot read the state {}: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(e) => return Err(format!("cannot open the state {}: {e}", path.display())),
    };
    let head = &head[..read];
    if head.is_empty() || head == b"SQLite format 3\0" {
        return Ok(Kind::Store);
    }
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Kind::V1Json);
    }
    Err(format!(
        "{} is neither an incwo state store nor a version-1 JSON checkpoint; pass another --state path",
        path.display()
    ))
}

/// Imports the version-1 checkpoint at `path` into `business_file` and
/// returns the open store (see the module documentation).
pub fn import(path: &Path, business_file: &str) -> Result<Store, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the state {}: {e}", path.display()))?;
    let parts = CheckpointParts::split(&text).map_err(|e| {
        format!(
            "{} looks like a version-1 JSON checkpoint but cannot be imported: {e}; {}",
            path.display(),
            e.hint
        )
    })?;
    let backup = backup_path(path, &text);
    write_private(&backup, &text)?;
    let tmp = super::sibling(path, &format!(".import-{}", std::process::id()));
    for stale in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(super::sibling(&tmp, stale));
    }
    create_private(&tmp)?;
    {
        let mut store = Store::connect(&tmp)?;
        store.begin_run(business_file, &parts)?;
        store
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| format!("cannot finish the import into {}: {e}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {} by its store: {e}", path.display()))?;
    sync_dir(path)?;
    eprintln!(
        "incwo: imported the version-1 JSON checkpoint {} into a state store (business file {business_file}, {} ledger entries); \
         the JSON is kept as {}; `incwo state export --state {}` prints it as JSON again",
        path.display(),
        parts.entries.len(),
        backup.display(),
        path.display()
    );
    Store::connect(path)
}

/// `<state>.v1-backup.json`, or a dated name when that exists with other content.
fn backup_path(path: &Path, text: &str) -> PathBuf {
    let plain = super::sibling(path, ".v1-backup.json");
    match std::fs::read_to_string(&plain) {
        Err(_) => plain,
        Ok(existing) if existing == text => plain,
        Ok(_) => super::sibling(path, &format!(".v1-backup-{}.json", crate::host::now_ms())),
    }
}

/// Writes `text` to a new or existing file, mode 0600, fsynced.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| format!("cannot write the backup {}: {e}", path.display()))?;
    sync_dir(path)
}
