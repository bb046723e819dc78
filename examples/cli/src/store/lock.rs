//! One writer at a time: an OS file lock per (state, business file, role),
//! with a holder record that names who has it.
//!
//! The lock is `flock`-style (std's `File::try_lock`): the kernel drops it
//! when its holder exits, however it ends (SIGKILL included), so a crashed
//! holder never blocks the next run. The holder record (pid, command, since,
//! host) is JSON written into the lock file once the lock is taken; a stale
//! record left by a crash is overwritten by the next holder. Lock files live
//! in `<state>.locks/` (mode 0700).

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Exit code of a command that found its state busy (EX_TEMPFAIL: try again later).
pub const EXIT_BUSY: u8 = 75;

/// Who holds a lock, as its holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// The command (`incwo sync batch.jsonl`).
    pub command: String,
    /// When it took the lock (ms since the epoch).
    pub since_ms: u64,
    /// The machine it runs on.
    pub host: String,
}

impl Holder {
    /// This process, running `command`.
    pub fn me(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            command: command.to_string(),
            since_ms: crate::host::now_ms(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = i64::try_from(self.since_ms)
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map_or_else(
                || "an unknown time".into(),
                |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        write!(
            f,
            "pid {} on host {} (`{}`, holding it since {since})",
            self.pid, self.host, self.command
        )
    }
}

/// Why a lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it (its record, when readable) after the wait.
    Busy(Option<Holder>),
    /// The wait was interrupted (Ctrl-C).
    Interrupted,
    /// The lock file could not be opened or locked.
    Io(String),
}

/// A held lock: released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Guard {
    _file: File,
}

/// The lock file of `name` (`writer-123456`, `listen-123456`) for `state`.
pub fn path(state: &Path, name: &str) -> PathBuf {
    let mut dir = state.as_os_str().to_owned();
    dir.push(".locks");
    PathBuf::from(dir).join(name)
}

/// The lock name of a role for a business file (its id, kept to safe characters).
pub fn name(role: &str, business_file: &str) -> String {
    let safe: String = business_file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{role}-{safe}")
}

/// Takes the lock at `path`, waiting up to `wait` (checking `interrupted`
/// every 50 ms), then writes `me` into it. `on_wait` is called once, with
/// the current holder, when the lock is busy at first try.
pub fn acquire(
    path: &Path,
    me: &Holder,
    wait: Duration,
    interrupted: &dyn Fn() -> bool,
    on_wait: &mut dyn FnMut(Option<&Holder>),
) -> Result<Guard, LockError> {
    let file = open(path).map_err(|e| LockError::Io(format!("cannot open the lock file {}: {e}", path.display())))?;
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if !told {
                    told = true;
                    on_wait(holder(path).as_ref());
                }
                if Instant::now() >= deadline {
                    return Err(LockError::Busy(holder(path)));
                }
                if interrupted() {
                    return Err(LockError::Interrupted);
                }
                std::thread::sleep(Duration::from_millis(50).min(deadline - Instant::now()));
            }
            Err(TryLockError::Error(e)) => return Err(LockError::Io(format!("cannot lock {}: {e}", path.display()))),
        }
    }
    let record = serde_json::to_vec(me).unwrap_or_default();
    let mut f = &file;
    f.set_len(0)
        .and_then(|_| f.seek(SeekFrom::Start(0)))
        .and_then(|_| f.write_all(&record))
        .map_err(|e| LockError::Io(format!("cannot write the holder record {}: {e}", path.display())))?;
    Ok(Guard { _file: file })
}

/// The holder record in a lock file, if one is readable.
pub fn holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_waits_then_names_the_holder_and_gets_it_once_released() {
        let dir = std::env::temp_dir().join(format!("incwo-lock-{}", std::process::id()));
        let path = path(&dir.join("state.db"), &name("writer", "123/456"));
        assert!(path.ends_with("state.db.locks/writer-123_456"));
        let first = Holder::me("incwo sync a.jsonl");
        let guard = acquire(&path, &first, Duration::ZERO, &|| false, &mut |_| {}).unwrap();
        let mut seen = None;
        let started = Instant::now();
        let second = acquire(
            &path,
            &Holder::me("incwo sync b.jsonl"),
            Duration::from_millis(200),
            &|| false,
            &mut |h| seen = h.cloned(),
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        match second {
            Err(LockError::Busy(Some(h))) => assert_eq!(h, first),
            other => panic!("expected busy: {other:?}"),
        }
        assert_eq!(seen, Some(first.clone()));
        assert!(first.to_string().contains(&format!("pid {}", first.pid)));
        drop(guard);
        let _again = acquire(
            &path,
            &Holder::me("incwo sync b.jsonl"),
            Duration::ZERO,
            &|| false,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(holder(&path).unwrap().command, "incwo sync b.jsonl");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
