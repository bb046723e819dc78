//! The CLI's state store: the ledger, the progress of the current run and
//! the polling cursor of each business file, in one SQLite file shared by
//! `incwo sync` and `incwo listen`.
//!
//! - **One writer per business file.** A command that writes a business
//!   file's state first takes its writer lock ([`lock`]): a second writer
//!   waits up to `--lock-wait-ms`, then stops (exit 75) naming the holder.
//!   The lock dies with its process, SIGKILL included.
//! - **Durable before a send.** SQLite in WAL mode. A save made before a
//!   request leaves (the create's `pending` entry) commits with
//!   `synchronous=FULL`: the WAL is fsynced before the request is sent. Saves
//!   after other actions commit with `synchronous=NORMAL` (no fsync): a
//!   process crash loses nothing (the WAL is written), and a power cut loses
//!   at most what followed the last send, which the flow redoes or
//!   reconciles from the durable `pending` entry (find by marker) as after
//!   any crash. The run's last save is FULL again.
//! - **Incremental.** A save writes the progress row, the outcomes set and
//!   the ledger entries changed since the last save
//!   ([`incwo_core::flow::Flow::take_changes`]), one upsert each, in one
//!   transaction; nothing rewrites the history.
//! - **Private.** The file (and SQLite's `-wal` and `-shm`, which take its
//!   mode) is mode 0600; lock files live in a 0700 directory beside it.
//! - **Version-1 JSON checkpoints** found at `--state` are imported once
//!   ([`import`]); `incwo state export` prints that format again.

mod args;
mod files;
pub mod import;
mod index;
pub mod lock;
mod quarantine;
mod schema;

pub use args::StateArgs;
use files::{create_private, make_private, sibling, sync_dir};

use incwo_core::flow::index::IndexChanges;
use incwo_core::flow::ledger::Entry;
use incwo_core::flow::{CheckpointParts, Outcome};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An open state store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The progress text last written per business file (unchanged: not rewritten).
    last_progress: std::collections::BTreeMap<String, String>,
}

fn now_ms() -> i64 {
    i64::try_from(crate::host::now_ms()).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens the store at `path` for writing, creating it (mode 0600) when
    /// absent and importing a version-1 JSON checkpoint found there into
    /// `business_file` (once; see [`import`]). Creation and import run under
    /// the store's `open` lock (held for that moment only), so two commands
    /// opening a new or JSON state at once do it once.
    pub fn open(path: &Path, business_file: &str) -> Result<Store, String> {
        let _open = lock::acquire(
            &lock::path(path, "open"),
            &lock::Holder::me("incwo (opening the state)"),
            Duration::from_secs(60),
            &|| false,
            &mut |_| {},
        )
        .map_err(|e| match e {
            lock::LockError::Busy(Some(h)) => {
                format!("the state {} is being opened by {h} for over 60 s", path.display())
            }
            lock::LockError::Io(m) => m,
            _ => format!(
                "the state {} cannot be opened: its open lock stays busy",
                path.display()
            ),
        })?;
        match import::kind(path)? {
            import::Kind::Missing => create_private(path)?,
            import::Kind::V1Json => return import::import(path, business_file),
            import::Kind::Store => {}
        }
        Store::connect(path)
    }

    /// Opens an existing store for reading (`incwo state export`).
    pub fn open_existing(path: &Path) -> Result<Store, String> {
        Store::connect(path)
    }

    /// Opens the SQLite connection: WAL, busy timeout, schema, mode 0600.
    fn connect(path: &Path) -> Result<Store, String> {
        let fail = |e: rusqlite::Error| format!("cannot open the state store {}: {e}", path.display());
        make_private(path)?;
        let mut conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(fail)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "the state store {} cannot use WAL mode (got {mode}); put it on a local file system",
                path.display()
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(fail)?;
        schema::migrate(&mut conn, path)?;
        for suffix in ["-wal", "-shm"] {
            make_private(&sibling(path, suffix))?;
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            last_progress: Default::default(),
        })
    }

    /// The error of a failed `what` in this store.
    fn fail(&self, what: &str) -> impl Fn(rusqlite::Error) -> String {
        let prefix = format!("cannot {what} in the state store {}", self.path.display());
        move |e| format!("{prefix}: {e}")
    }

    /// The business files this store holds a run or ledger entries for.
    pub fn business_files(&self) -> Result<Vec<String>, String> {
        let fail = self.fail("list the business files");
        let mut statement = self
            .conn
            .prepare("SELECT business_file FROM run UNION SELECT business_file FROM ledger ORDER BY 1")
            .map_err(&fail)?;
        let rows = statement.query_map([], |r| r.get(0)).map_err(&fail)?;
        rows.collect::<Result<_, _>>().map_err(&fail)
    }

    /// The ledger entries of a business file.
    pub fn entries(&self, business_file: &str) -> Result<Vec<Entry>, String> {
        read_entries(&self.conn, business_file, &self.path)
    }

    /// The checkpoint of a business file's run (a version-1 checkpoint's
    /// text), read in one snapshot; `None` when it never ran here.
    pub fn checkpoint(&mut self, business_file: &str) -> Result<Option<String>, String> {
        let fail = self.fail("read the run");
        let tx = self.conn.transaction().map_err(&fail)?;
        let progress: Option<String> = tx
            .query_row(
                "SELECT progress FROM run WHERE business_file = ?1",
                [business_file],
                |r| r.get(0),
            )
            .optional()
            .map_err(&fail)?;
        let Some(progress) = progress else {
            return Ok(None);
        };
        let mut outcomes = Vec::new();
        {
            let mut statement = tx
                .prepare("SELECT record_index, outcome FROM outcome WHERE business_file = ?1 ORDER BY record_index")
                .map_err(&fail)?;
            let mut rows = statement.query([business_file]).map_err(&fail)?;
            while let Some(row) = rows.next().map_err(&fail)? {
                let index: i64 = row.get(0).map_err(&fail)?;
                let text: String = row.get(1).map_err(&fail)?;
                let outcome: Outcome = serde_json::from_str(&text)
                    .map_err(|e| format!("{}: outcome {index} is unreadable: {e}", self.path.display()))?;
                outcomes.push((usize::try_from(index).unwrap_or(usize::MAX), outcome));
            }
        }
        let entries = read_entries(&tx, business_file, &self.path)?;
        let parts = CheckpointParts {
            progress,
            outcomes,
            entries,
        };
        parts
            .join()
            .map(Some)
            .map_err(|e| format!("{}: {e}; {}", self.path.display(), e.hint))
    }

    /// Writes a run's starting point: its progress and outcomes replace the
    /// business file's previous run (the ledger is kept and added to).
    pub fn begin_run(&mut self, business_file: &str, parts: &CheckpointParts) -> Result<(), String> {
        let fail = self.fail("start the run");
        let tx = self.conn.transaction().map_err(&fail)?;
        tx.execute("DELETE FROM outcome WHERE business_file = ?1", [business_file])
            .map_err(&fail)?;
        write_parts(&tx, business_file, parts).map_err(&fail)?;
        tx.commit().map_err(&fail)?;
        self.last_progress
            .insert(business_file.to_string(), parts.progress.clone());
        Ok(())
    }

    /// Saves what changed since the last save, the marker index's changes
    /// included (upserts, one transaction). `durable`: fsync before
    /// returning (a request is about to leave).
    pub fn save(
        &mut self,
        business_file: &str,
        changes: &CheckpointParts,
        index: &IndexChanges,
        durable: bool,
    ) -> Result<(), String> {
        let unchanged = changes.outcomes.is_empty()
            && changes.entries.is_empty()
            && index.entries.is_empty()
            && index.coverage.is_empty()
            && self.last_progress.get(business_file) == Some(&changes.progress);
        if unchanged && !durable {
            return Ok(());
        }
        let fail = self.fail("save");
        self.conn
            .pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })
            .map_err(&fail)?;
        let tx = self.conn.transaction().map_err(&fail)?;
        write_parts(&tx, business_file, changes).map_err(&fail)?;
        index::write(&tx, business_file, index).map_err(&fail)?;
        tx.commit().map_err(&fail)?;
        self.last_progress
            .insert(business_file.to_string(), changes.progress.clone());
        Ok(())
    }

    /// The marker index saved for a business file (empty when none).
    pub fn index(&self, business_file: &str) -> Result<IndexChanges, String> {
        index::read(&self.conn, business_file).map_err(self.fail("read the marker index"))
    }

    /// Upserts ledger entries (durably), e.g. those `incwo listen` updated.
    pub fn put_entries(&mut self, business_file: &str, entries: &[Entry]) -> Result<(), String> {
        if entries.is_empty() {
            return Ok(());
        }
        let fail = self.fail("save ledger entries");
        self.conn.pragma_update(None, "synchronous", "FULL").map_err(&fail)?;
        let tx = self.conn.transaction().map_err(&fail)?;
        for entry in entries {
            put_entry(&tx, business_file, entry).map_err(&fail)?;
        }
        tx.commit().map_err(&fail)
    }

    /// The polling cursor of a business file (the core's poll state JSON).
    pub fn poll_cursor(&self, business_file: &str) -> Result<Option<String>, String> {
        self.conn
            .query_row(
                "SELECT state FROM poll_cursor WHERE business_file = ?1",
                [business_file],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.fail("read the polling cursor"))
    }

    /// Saves the polling cursor (durably).
    pub fn set_poll_cursor(&mut self, business_file: &str, state: &str) -> Result<(), String> {
        let fail = self.fail("save the polling cursor");
        self.conn.pragma_update(None, "synchronous", "FULL").map_err(&fail)?;
        self.conn
            .execute(
                "INSERT INTO poll_cursor (business_file, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (business_file) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![business_file, state, now_ms()],
            )
            .map(|_| ())
            .map_err(&fail)
    }
}

fn read_entries(conn: &Connection, business_file: &str, path: &Path) -> Result<Vec<Entry>, String> {
    let fail = |e: rusqlite::Error| format!("cannot read the ledger in the state store {}: {e}", path.display());
    let mut statement = conn
        .prepare_cached("SELECT idempotency_key, entry FROM ledger WHERE business_file = ?1")
        .map_err(fail)?;
    let mut rows = statement.query([business_file]).map_err(fail)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(fail)? {
        let key: String = row.get(0).map_err(fail)?;
        let text: String = row.get(1).map_err(fail)?;
        out.push(
            serde_json::from_str(&text)
                .map_err(|e| format!("{}: ledger entry {key} is unreadable: {e}", path.display()))?,
        );
    }
    Ok(out)
}

fn write_parts(conn: &Connection, business_file: &str, parts: &CheckpointParts) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO run (business_file, progress, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (business_file) DO UPDATE SET progress = excluded.progress, updated_at = excluded.updated_at",
    )?
    .execute(params![business_file, parts.progress, now_ms()])?;
    let mut statement = conn.prepare_cached(
        "INSERT INTO outcome (business_file, record_index, outcome) VALUES (?1, ?2, ?3)
         ON CONFLICT (business_file, record_index) DO UPDATE SET outcome = excluded.outcome",
    )?;
    for (index, outcome) in &parts.outcomes {
        let text = serde_json::to_string(outcome).unwrap_or_default();
        statement.execute(params![business_file, i64::try_from(*index).unwrap_or(i64::MAX), text])?;
    }
    for entry in &parts.entries {
        put_entry(conn, business_file, entry)?;
    }
    Ok(())
}

fn put_entry(conn: &Connection, business_file: &str, entry: &Entry) -> rusqlite::Result<()> {
    let state = serde_json::to_value(entry.state).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO ledger (business_file, idempotency_key, domain, external_id, step, state, incwo_id, entry, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (business_file, idempotency_key) DO UPDATE SET
           domain = excluded.domain, external_id = excluded.external_id, step = excluded.step,
           state = excluded.state, incwo_id = excluded.incwo_id, entry = excluded.entry,
           updated_at = excluded.updated_at",
    )?
    .execute(params![
        business_file,
        entry.key,
        entry.domain.as_str(),
        entry.external_id,
        entry.step,
        state.as_str().unwrap_or_default(),
        entry.incwo_id.and_then(|i| i64::try_from(i).ok()),
        serde_json::to_string(entry).unwrap_or_default(),
        now_ms(),
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("incwo-store-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const V1: &str = include_str!("../../tests/fixtures/v1-checkpoint.json");

    #[test]
    fn saved_parts_come_back_as_the_checkpoint_per_business_file() {
        let d = dir("parts");
        let path = d.join("s.db");
        let parts = CheckpointParts::split(V1).unwrap();
        let mut store = Store::open(&path, "111").unwrap();
        assert_eq!(store.checkpoint("111").unwrap(), None);
        let mut start = parts.clone();
        start.outcomes.clear();
        start.entries.truncate(2);
        store.begin_run("111", &start).unwrap();
        let rest = CheckpointParts {
            progress: parts.progress.clone(),
            outcomes: parts.outcomes.clone(),
            entries: parts.entries[2..].to_vec(),
        };
        store.save("111", &rest, &IndexChanges::default(), true).unwrap();
        store.begin_run("222", &start).unwrap();
        let back: serde_json::Value = serde_json::from_str(&store.checkpoint("111").unwrap().unwrap()).unwrap();
        // A v1 checkpoint comes back with the run id it did not have (0, the
        // field's default since status changes carry their run).
        let mut v1: serde_json::Value = serde_json::from_str(V1).unwrap();
        v1["runId"] = 0.into();
        assert_eq!(back, v1);
        assert_eq!(store.business_files().unwrap(), ["111", "222"]);
        assert_eq!(store.entries("222").unwrap().len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn other_files_are_refused_with_the_path() {
        let d = dir("other");
        let text = d.join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        let e = Store::open(&text, "1").err().unwrap();
        assert!(
            e.contains("neither an incwo state store") && e.contains("notes.txt"),
            "{e}"
        );
        let other = d.join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let e = Store::open(&other, "1").err().unwrap();
        assert!(e.contains("not an incwo state store"), "{e}");
        let newer = d.join("newer.db");
        drop(Store::open(&newer, "1").unwrap());
        Connection::open(&newer)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = Store::open(&newer, "1").err().unwrap();
        assert!(e.contains("schema 99") && e.contains("newer incwo"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
