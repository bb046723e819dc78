"""Where a host keeps the flow state (the ledger and the progress) between
runs: in memory, in a file, or in SQLite tables. The state holds no
credentials.

Every store here follows one design (docs/RELIABILITY.md, "State stores"):

- :class:`FileCheckpointStore`: one writer at a time. A run holds an
  exclusive lock (``fcntl.flock`` on ``<file>.lock``) until it ends; a second
  run waits at most ``lock_wait`` seconds, then raises
  :class:`StoreLockedError` naming the holder (pid, host, start time). Each
  write is atomic and durable: a uniquely named temporary file (0600),
  fsynced, renamed over the file, the directory fsynced.
- :class:`SqliteCheckpointStore`: one row per ledger entry (shared by every
  name in the database) and a small progress row per name, in WAL mode. A
  run writes only what its flow changed, in one transaction, each entry with
  a version check: a stale write raises :class:`StateConflictError` instead
  of overwriting another writer's entry, so runs on different customers go
  on together.

In both, the ``pending`` entry of a create is durable before its request
leaves (:meth:`StateSession.save` before every send).

Both keep the flow's marker index beside the ledger (marker → incwo ids, so
that a lookup reads only what is newer than the index), saved with the
entries: a file store's ``<file>.index.jsonl`` journal, appended under its
lock; an SQLite store's ``{table}_marker_index`` and ``{table}_marker_coverage``
tables, upserted in the entries' transaction (see ``_marker_index``).

Every store here also keeps the quarantine (:class:`QuarantineStore`): the
entries of quarantined records, by id, beside the state (a file store's
``<file>.quarantine.json``, an SQLite store's ``{table}_quarantine`` table).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
import time
from typing import Any, Dict, List, Optional, Protocol, Tuple, Union, runtime_checkable

from . import _marker_index
from ._files import FileLock, write_atomically
from ._quarantine_store import FileBackend, MemoryBackend, QuarantineEntries, QuarantineStore, SqliteBackend, file_path
from .store_errors import StateConflictError, StoreError, StoreLockedError

__all__ = [
    "CheckpointStore",
    "StateStore",
    "StateSession",
    "MemoryCheckpointStore",
    "FileCheckpointStore",
    "SqliteCheckpointStore",
    "StoreError",
    "StoreLockedError",
    "StateConflictError",
    "QuarantineStore",
    "open_store",
]

PathLike = Union[str, "os.PathLike[str]"]


@runtime_checkable
class CheckpointStore(Protocol):
    """Keeps the last checkpoint of a flow."""

    def load(self) -> Optional[str]:
        """The last checkpoint saved, or ``None``."""
        ...

    def save(self, checkpoint: str) -> None:
        """Replaces the checkpoint (durably, before the next request leaves)."""
        ...

    def clear(self) -> None:
        """Forgets the checkpoint (the next run starts with an empty ledger)."""
        ...


@runtime_checkable
class StateSession(Protocol):
    """A run's hold on a store's state (:meth:`StateStore.open`)."""

    def start_from(self) -> Dict[str, str]:
        """What to start the flow from: ``{"checkpoint": text}``, ``{"ledger":
        JSON list}`` or ``{}``, with ``"index"`` (JSON text) the marker index
        to load before the first poll. Read again after a conflict, it holds
        what other writers wrote since."""
        ...

    def save(self, flow: Any, progress: bool, final: bool = False) -> None:
        """Makes durable the entries ``flow`` changed since the last call (and
        saves its marker index changes with them) and, with ``progress``, its progress (at most once a second unless
        ``final``: the run stops); raises :class:`StateConflictError`. Progress
        only saves work on a resume: the ledger alone keeps a replay from
        creating anything twice."""
        ...

    def close(self) -> None:
        """Ends the run (releases a file store's lock; idempotent)."""
        ...


@runtime_checkable
class StateStore(Protocol):
    """A store a run opens for itself (the file and SQLite stores)."""

    def open(self) -> StateSession:
        """Opens the state for one run (a file store waits for its lock)."""
        ...


class MemoryCheckpointStore(QuarantineEntries):
    """A checkpoint (and quarantine) kept in memory (tests, one-shot jobs)."""

    def __init__(self, checkpoint: Optional[str] = None) -> None:
        self.checkpoint = checkpoint
        self.saves = 0
        self._quarantine = MemoryBackend()

    def _quarantine_backend(self) -> Any:
        return self._quarantine.locked()

    def load(self) -> Optional[str]:
        return self.checkpoint

    def save(self, checkpoint: str) -> None:
        self.checkpoint = checkpoint
        self.saves += 1

    def clear(self) -> None:
        self.checkpoint = None


def _changed(flow: Any) -> List[Dict[str, Any]]:
    entries = json.loads(flow.take_changed_entries()).get("entries", [])
    return entries if isinstance(entries, list) else []


class FileCheckpointStore(QuarantineEntries):
    """A checkpoint file (one per business file) with one writer at a time:
    see the module documentation. Its quarantine is ``<path>.quarantine.json``."""

    def __init__(self, path: PathLike, fsync: bool = True, lock_wait: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.fsync = fsync
        #: Seconds a run waits for another run's lock before :class:`StoreLockedError`.
        self.lock_wait = lock_wait

    def _quarantine_backend(self) -> Any:
        self._folder()
        return FileBackend(file_path(self.path), self.lock_wait).locked()

    def open(self) -> "_FileSession":
        self._folder()
        return _FileSession(self, FileLock(self.path + ".lock", self.lock_wait))

    def load(self) -> Optional[str]:
        try:
            with open(self.path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def save(self, checkpoint: str) -> None:
        """Replaces the checkpoint under the lock (waiting as :meth:`open` does)."""
        self._folder()
        with FileLock(self.path + ".lock", self.lock_wait):
            self._write(checkpoint)

    def clear(self) -> None:
        """Forgets the checkpoint and its marker index."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        _marker_index.FileJournal(self.path + ".index.jsonl").remove()

    def _write(self, checkpoint: str) -> None:
        if self.fsync:
            write_atomically(self.path, checkpoint)
        else:  # tests only: atomic, not durable
            tmp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
                f.write(checkpoint)
            os.replace(tmp, self.path)

    def _folder(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError as error:
            raise StoreError("store.io", f"cannot create the state directory {folder}: {error.strerror}", "create it, writable by the user running the connector", {"path": folder}) from error


class _FileSession:
    """A run holding a :class:`FileCheckpointStore`'s lock."""

    def __init__(self, store: FileCheckpointStore, lock: FileLock) -> None:
        self._store = store
        self._lock = lock
        self._written = False
        self._index = _marker_index.FileJournal(store.path + ".index.jsonl")

    def start_from(self) -> Dict[str, str]:
        text = self._store.load()
        start = {} if text is None else {"checkpoint": text}
        index = self._index.load()
        if index is not None:
            start["index"] = index
        return start

    def save(self, flow: Any, progress: bool, final: bool = False) -> None:
        """Writes the whole file (a file has no cheaper partial write) at the
        run's first save, then when the ledger changed or progress is asked
        for; appends the marker index's changes to its journal."""
        self._index.append(flow.take_index_changes())
        if _changed(flow) or progress or final or not self._written:
            self._store._write(flow.checkpoint())
            self._written = True

    def close(self) -> None:
        self._lock.release()


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def split_checkpoint(checkpoint: str) -> Tuple[str, Dict[str, str]]:
    """A checkpoint's progress (its ledger emptied) and its entries (JSON by
    idempotency key); a text that is not a flow checkpoint is all progress."""
    try:
        value = json.loads(checkpoint)
    except ValueError:
        return checkpoint, {}
    entries = value.get("ledger", {}).get("entries") if isinstance(value, dict) and isinstance(value.get("ledger"), dict) else None
    if not isinstance(entries, dict):
        return checkpoint, {}
    texts = {str(k): _dumps(v) for k, v in entries.items()}
    value["ledger"]["entries"] = {}
    return _dumps(value), texts


def join_checkpoint(progress: str, entries: Dict[str, str]) -> str:
    """The checkpoint of ``progress`` holding ``entries``."""
    try:
        value = json.loads(progress)
    except ValueError:
        return progress
    if not isinstance(value, dict) or (not entries and "ledger" not in value):
        return progress
    ledger = value.setdefault("ledger", {})
    ledger["entries"] = {k: json.loads(v) for k, v in entries.items()}
    return _dumps(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _writer_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _may_be_sending(writer: str) -> bool:
    """Whether the writer of a ``pending`` entry may still be sending it: not
    this process (its earlier runs ended), not a gone process of this host
    (a crash: reconcile at once); any other may."""
    if writer == _writer_id():
        return False
    host, _, pid = writer.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return writer != ""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteCheckpointStore(QuarantineEntries):
    """The flow state in SQLite tables (WAL mode): ``{table}_entry``, one row
    per ledger entry with a version, shared by every ``name`` of the
    database; ``{table}_progress``, each name's progress (the checkpoint
    without its ledger); ``{table}_marker_index`` and ``{table}_marker_coverage``,
    the marker index, shared as the entries are; ``{table}_quarantine``, each name's quarantine entries. Rows of the former one-text-per-name table
    ``{table}`` are imported once, then deleted. See the module
    documentation for the version check."""

    def __init__(self, path: PathLike, name: str = "default", table: str = "incwo_checkpoints", pending_lease: float = 60.0) -> None:
        if not _IDENTIFIER.match(table):
            raise ValueError(f"table must be an SQL identifier, got {table!r}")
        self.path = os.fspath(path)
        self.name = name
        self.table = table
        #: Seconds a starting run waits for another process's ``pending`` entry
        #: (its create in flight) before reconciling it as abandoned.
        self.pending_lease = pending_lease
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        with self._transaction():
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table}_entry (idempotency_key TEXT NOT NULL PRIMARY KEY, domain TEXT NOT NULL, "
                "external_id TEXT NOT NULL, step TEXT NOT NULL, state TEXT NOT NULL, entry TEXT NOT NULL, version INTEGER NOT NULL, "
                "writer TEXT NOT NULL, updated_at INTEGER NOT NULL)"
            )
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table}_progress (checkpoint_key TEXT NOT NULL PRIMARY KEY, progress TEXT NOT NULL, updated_at INTEGER NOT NULL)"
            )
            SqliteBackend.create(self._db, table)
            _marker_index.create_tables(self._db, table)
            self._import_legacy()
        self._quarantine = SqliteBackend(self._db, self._transaction, table, name)

    def open(self) -> "_SqliteSession":
        return _SqliteSession(self)

    def _quarantine_backend(self) -> Any:
        return self._quarantine.locked()

    def load(self) -> Optional[str]:
        """The whole checkpoint of this name (progress and every entry): an export."""
        progress = self._progress()
        if progress is None:
            return None
        return join_checkpoint(progress, {k: row[0] for k, row in self._entries().items()})

    def save(self, checkpoint: str) -> None:
        """Saves a whole checkpoint: its progress, and those of its entries
        that differ from the stored ones (last writer wins; runs use :meth:`open`)."""
        progress, entries = split_checkpoint(checkpoint)
        stored = self._entries()
        with self._transaction():
            for key, text in entries.items():
                if key not in stored or stored[key][0] != text:
                    self._upsert(key, text)
            self._save_progress(progress)

    def clear(self) -> None:
        """Forgets this name's progress (the shared ledger entries stay)."""
        with self._transaction():
            self._db.execute(f"DELETE FROM {self.table}_progress WHERE checkpoint_key = ?", (self.name,))

    def close(self) -> None:
        """Closes the database connection."""
        self._db.close()

    # -- internals shared with _SqliteSession --------------------------------

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db, self._lock)

    def _progress(self) -> Optional[str]:
        with self._lock:
            row = self._db.execute(f"SELECT progress FROM {self.table}_progress WHERE checkpoint_key = ?", (self.name,)).fetchone()
        return None if row is None else str(row[0])

    def _entries(self) -> Dict[str, Tuple[str, str, int, str, int]]:
        """Every entry: ``(json, state, version, writer, updated_at)`` by key."""
        with self._lock:
            rows = self._db.execute(f"SELECT idempotency_key, entry, state, version, writer, updated_at FROM {self.table}_entry").fetchall()
        return {str(r[0]): (str(r[1]), str(r[2]), int(r[3]), str(r[4]), int(r[5])) for r in rows}

    def _save_progress(self, progress: str) -> None:
        self._db.execute(
            f"INSERT INTO {self.table}_progress (checkpoint_key, progress, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(checkpoint_key) DO UPDATE SET progress = excluded.progress, updated_at = excluded.updated_at",
            (self.name, progress, _now()),
        )

    def _upsert(self, key: str, text: str) -> None:
        entry = json.loads(text)
        self._db.execute(
            f"INSERT INTO {self.table}_entry (idempotency_key, domain, external_id, step, state, entry, version, writer, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, '', ?) ON CONFLICT(idempotency_key) DO UPDATE SET domain = excluded.domain, "
            "external_id = excluded.external_id, step = excluded.step, state = excluded.state, entry = excluded.entry, "
            f"version = {self.table}_entry.version + 1, writer = '', updated_at = excluded.updated_at",
            (key, entry["domain"], entry["externalId"], entry["step"], entry["state"], text, _now()),
        )

    def _index(self) -> Optional[str]:
        """The whole marker index as JSON text, or ``None`` when empty."""
        with self._lock:
            return _marker_index.read_all(self._db, self.table)

    def _write_entries(
        self, entries: List[Dict[str, Any]], versions: Dict[str, int], writer: str, index: Optional[Dict[str, Any]] = None
    ) -> Dict[str, int]:
        """Writes entries in one transaction, each only if it still has the
        version ``versions`` says (0: absent), and the marker index's changes
        ``index`` (upserts) in the same transaction; returns the new versions."""
        written: Dict[str, int] = {}
        t = self.table
        with self._transaction():
            now = _now()
            if index is not None:
                _marker_index.write_changes(self._db, t, index, now)
            for entry in entries:
                key = str(entry["key"])
                text = _dumps(entry)
                expected = versions.get(key, 0)
                cols = (entry["domain"], entry["externalId"], entry["step"], entry["state"], text)
                if expected == 0:
                    try:
                        self._db.execute(
                            f"INSERT INTO {t}_entry (idempotency_key, domain, external_id, step, state, entry, version, writer, updated_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                            (key, *cols, writer, now),
                        )
                        ok = True
                    except sqlite3.IntegrityError:
                        ok = False
                else:
                    cursor = self._db.execute(
                        f"UPDATE {t}_entry SET domain = ?, external_id = ?, step = ?, state = ?, entry = ?, version = ?, writer = ?, "
                        "updated_at = ? WHERE idempotency_key = ? AND version = ?",
                        (*cols, expected + 1, writer, now, key, expected),
                    )
                    ok = cursor.rowcount == 1
                if not ok:
                    row = self._db.execute(f"SELECT version, state FROM {t}_entry WHERE idempotency_key = ?", (key,)).fetchone()
                    raise StateConflictError(key, entry["domain"], entry["externalId"], entry["step"], expected, int(row[0]) if row else 0, str(row[1]) if row else None)
                written[key] = expected + 1
        return written

    def _import_legacy(self) -> None:
        t = self.table
        if self._db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (t,)).fetchone()[0] == 0:
            return
        present = {str(r[0]) for r in self._db.execute(f"SELECT idempotency_key FROM {t}_entry")}
        for name, text in self._db.execute(f"SELECT name, checkpoint FROM {t}").fetchall():
            progress, entries = split_checkpoint(str(text))
            for key, entry in entries.items():
                if key not in present:
                    self._upsert(key, entry)
                    present.add(key)
            self._db.execute(f"INSERT OR IGNORE INTO {t}_progress (checkpoint_key, progress, updated_at) VALUES (?, ?, ?)", (name, progress, _now()))
            self._db.execute(f"DELETE FROM {t} WHERE name = ?", (name,))


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK``) under the store's
    thread lock: the write lock is taken first, so two processes never
    deadlock upgrading a read."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind: Any, *rest: Any) -> None:
        try:
            self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self._lock.release()


class _SqliteSession:
    """A run on a :class:`SqliteCheckpointStore`: the version of each entry
    it read or wrote, its last saved progress."""

    def __init__(self, store: SqliteCheckpointStore) -> None:
        self._store = store
        self._versions: Dict[str, int] = {}
        self._progress: Optional[str] = None
        self._progress_at = 0.0
        self._writer = _writer_id()

    def start_from(self) -> Dict[str, str]:
        """Reads every entry, again while another process's ``pending``
        entry is younger than the lease (its create may be in flight:
        starting from it would reconcile too early and create twice); if that
        lasts longer than the lease, starts without such entries."""
        deadline = time.monotonic() + self._store.pending_lease
        while True:
            rows = self._store._entries()
            fresh = _now() - int(self._store.pending_lease * 1000)
            busy = {k for k, r in rows.items() if r[1] == "pending" and r[4] >= fresh and _may_be_sending(r[3])}
            if not busy:
                break
            if time.monotonic() >= deadline:
                # Still busy: start without those entries. Reaching one of
                # them, this run's insert conflicts and it starts again.
                rows = {k: r for k, r in rows.items() if k not in busy}
                break
            time.sleep(0.02)
        self._versions = {k: r[2] for k, r in rows.items()}
        entries = {k: r[0] for k, r in rows.items()}
        self._progress = self._store._progress()
        start: Dict[str, str] = {}
        if self._progress is not None:
            start["checkpoint"] = join_checkpoint(self._progress, entries)
        elif entries:
            start["ledger"] = "[" + ",".join(entries.values()) + "]"
        index = self._store._index()
        if index is not None:
            start["index"] = index
        return start

    def save(self, flow: Any, progress: bool, final: bool = False) -> None:
        entries = _changed(flow)
        index = json.loads(flow.take_index_changes())
        changed = not _marker_index.is_empty(index)
        if entries or changed:
            # One transaction: the index's changes go with the ledger's, or not at all.
            self._versions.update(self._store._write_entries(entries, self._versions, self._writer, index if changed else None))
        now = time.monotonic()
        if final or (progress and now - self._progress_at >= 1.0):
            # The checkpoint's text holds every entry: split it at most once a second.
            self._progress_at = now
            text, _ = split_checkpoint(flow.checkpoint())
            if text != self._progress:
                with self._store._transaction():
                    self._store._save_progress(text)
                self._progress = text

    def close(self) -> None:
        pass


def _now() -> int:
    return int(time.time() * 1000)


def open_store(spec: PathLike) -> CheckpointStore:
    """A store from a command-line value: ``sqlite:PATH[#NAME]`` or a path
    ending in ``.sqlite`` / ``.db`` is an SQLite store, anything else a file."""
    text = os.fspath(spec)
    if text.startswith("sqlite:"):
        path, _, name = text[len("sqlite:") :].partition("#")
        return SqliteCheckpointStore(path, name or "default")
    if text.endswith((".sqlite", ".sqlite3", ".db")):
        return SqliteCheckpointStore(text)
    return FileCheckpointStore(text)
