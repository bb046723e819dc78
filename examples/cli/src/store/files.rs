//! File-system details of the store: private modes, durable directory entries.

use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its file name (`state.db-wal`).
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates an empty file readable by its owner only, and makes its
/// directory entry durable.
pub(super) fn create_private(path: &Path) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(file) => file
            .sync_all()
            .map_err(|e| format!("cannot create the state store {}: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(format!("cannot create the state store {}: {e}", path.display())),
    }
    sync_dir(path)
}

/// Sets mode 0600 on a file that exists (the store and SQLite's files).
pub(super) fn make_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| format!("cannot make {} private (mode 0600): {e}", path.display()))?;
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Fsyncs the directory holding `path`, so a created or renamed entry survives a power cut.
pub(super) fn sync_dir(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("cannot sync the directory {}: {e}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
