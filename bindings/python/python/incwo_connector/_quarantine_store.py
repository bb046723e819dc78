"""Quarantine entries in the state stores.

A record the flow quarantines comes with its entry (``RecordDone``'s
``quarantine_json``, already redacted by the core); a store keeps entries by
``id``. Every rule about them is the core's (the ``quarantine.*`` calls):
:class:`QuarantineEntries` merges a record quarantined again with
``quarantine.merge``, lists with ``quarantine.list`` and deletes the ids it
reports ``expired``. A store only reads, writes and deletes entries, through
one of the small backends below (memory, a JSON file beside the checkpoint,
an SQLite table).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional, Protocol, runtime_checkable

from ._files import FileLock, write_atomically
from .core import call
from .store_errors import StoreError

__all__ = ["QuarantineStore", "QuarantineEntries"]

Entry = Dict[str, Any]


@runtime_checkable
class QuarantineStore(Protocol):
    """A store that keeps quarantine entries (the memory, file and SQLite stores)."""

    def put_quarantine(self, entry: Mapping[str, Any]) -> Entry:
        """Stores an entry the flow reported, merged into the record's previous one; returns what was stored."""
        ...

    def quarantine_entries(
        self, filter: Optional[Mapping[str, Any]] = None, *, now: Optional[int] = None, retention_days: Optional[int] = None
    ) -> List[Entry]:
        """The entries matching ``filter`` (the core's), oldest first, after deleting the expired ones."""
        ...

    def quarantine_entry(self, entry_id: str) -> Optional[Entry]:
        """One entry by id, or ``None``."""
        ...

    def replace_quarantine(self, entry: Mapping[str, Any]) -> None:
        """Writes an entry as it is (after a replay or a drop)."""
        ...


def _id(entry: Mapping[str, Any]) -> str:
    entry_id = entry.get("id") if isinstance(entry, Mapping) else None
    if not isinstance(entry_id, str) or not entry_id:
        raise StoreError(
            "store.bad_entry",
            "a quarantine entry needs a string id",
            "store the entry the flow reported (RecordDone.quarantine_json), as it is",
        )
    return entry_id


def _now() -> int:
    return int(time.time() * 1000)


class QuarantineEntries:
    """The quarantine methods of a store (:class:`QuarantineStore`) over
    its backend (``_quarantine_backend``, a context manager giving the backend
    for one exclusive read-modify-write)."""

    def _quarantine_backend(self) -> Any:
        raise NotImplementedError

    def put_quarantine(self, entry: Mapping[str, Any]) -> Entry:
        """Stores an entry the flow reported, merged into the record's
        previous one (``quarantine.merge``: first sighting kept, attempts
        counted, open again); returns what was stored."""
        entry_id = _id(entry)
        with self._quarantine_backend() as backend:
            previous = backend.get(entry_id)
            args: Dict[str, Any] = {"entry": dict(entry)}
            if previous is not None:
                args["previous"] = previous
            merged: Entry = call("quarantine.merge", args)["entry"]
            backend.write(merged)
        return merged

    def quarantine_entries(
        self, filter: Optional[Mapping[str, Any]] = None, *, now: Optional[int] = None, retention_days: Optional[int] = None
    ) -> List[Entry]:
        """The entries matching ``filter`` (``{code?, class?, resource?,
        olderThanSeconds?, state?}``; open ones by default), oldest first
        (``quarantine.list``); the entries past their retention (the core's
        default unless ``retention_days``) are deleted."""
        with self._quarantine_backend() as backend:
            args: Dict[str, Any] = {"entries": backend.all(), "now": _now() if now is None else now}
            if filter is not None:
                args["filter"] = dict(filter)
            if retention_days is not None:
                args["retentionDays"] = retention_days
            out = call("quarantine.list", args)
            if out["expired"]:
                backend.delete([str(i) for i in out["expired"]])
        return list(out["entries"])

    def quarantine_entry(self, entry_id: str) -> Optional[Entry]:
        """One entry by id, or ``None``."""
        with self._quarantine_backend() as backend:
            return backend.get(entry_id)

    def replace_quarantine(self, entry: Mapping[str, Any]) -> None:
        """Writes an entry as it is (the core's settled or dropped entry)."""
        _id(entry)
        with self._quarantine_backend() as backend:
            backend.write(dict(entry))


def _oldest_first(entries: List[Entry]) -> List[Entry]:
    return sorted(entries, key=lambda e: (e.get("firstSeen", 0), e.get("id", "")))


class MemoryBackend:
    """Entries in a dict (the memory store)."""

    def __init__(self) -> None:
        self.entries: Dict[str, Entry] = {}
        self._lock = threading.Lock()

    @contextmanager
    def locked(self) -> Iterator["MemoryBackend"]:
        with self._lock:
            yield self

    def get(self, entry_id: str) -> Optional[Entry]:
        entry = self.entries.get(entry_id)
        return None if entry is None else json.loads(json.dumps(entry))

    def all(self) -> List[Entry]:
        return _oldest_first([json.loads(json.dumps(e)) for e in self.entries.values()])

    def write(self, entry: Entry) -> None:
        self.entries[entry["id"]] = json.loads(json.dumps(entry))

    def delete(self, ids: List[str]) -> None:
        for entry_id in ids:
            self.entries.pop(entry_id, None)


class FileBackend:
    """Entries in one JSON file beside the checkpoint (``<file>.quarantine.json``,
    ``{"entries": {id: entry}}``), each change under its own short lock
    (``….lock``: not the run's, so an operator lists while a run goes on),
    written atomically and durably."""

    def __init__(self, path: str, lock_wait: float) -> None:
        self.path = path
        self.lock_wait = lock_wait
        self._entries: Dict[str, Entry] = {}

    @contextmanager
    def locked(self) -> Iterator["FileBackend"]:
        with FileLock(self.path + ".lock", self.lock_wait):
            self._entries = self._read()
            yield self

    def _read(self) -> Dict[str, Entry]:
        try:
            with open(self.path, encoding="utf-8") as f:
                value = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise StoreError(
                "store.io",
                f"cannot read the quarantine file {self.path}: {error}",
                "restore it from a backup, or move it away to start an empty quarantine",
                {"path": self.path},
            ) from error
        entries = value.get("entries") if isinstance(value, dict) else None
        if not isinstance(entries, dict):
            raise StoreError(
                "store.io",
                f"the quarantine file {self.path} has no entries object",
                "restore it from a backup, or move it away to start an empty quarantine",
                {"path": self.path},
            )
        return entries

    def _save(self) -> None:
        write_atomically(self.path, json.dumps({"entries": self._entries}, ensure_ascii=False, separators=(",", ":")))

    def get(self, entry_id: str) -> Optional[Entry]:
        return self._entries.get(entry_id)

    def all(self) -> List[Entry]:
        return _oldest_first(list(self._entries.values()))

    def write(self, entry: Entry) -> None:
        self._entries[entry["id"]] = entry
        self._save()

    def delete(self, ids: List[str]) -> None:
        for entry_id in ids:
            self._entries.pop(entry_id, None)
        self._save()


def file_path(checkpoint_path: str) -> str:
    """The quarantine file of a checkpoint file."""
    return os.fspath(checkpoint_path) + ".quarantine.json"


class SqliteBackend:
    """Entries in the table ``{table}_quarantine``, one row per name and id
    (state, code, class, kind and times in columns, for queries by hand)."""

    def __init__(self, db: sqlite3.Connection, transaction: Any, table: str, name: str) -> None:
        self._db = db
        self._transaction = transaction
        self._table = f"{table}_quarantine"
        self._name = name

    @staticmethod
    def create(db: sqlite3.Connection, table: str) -> None:
        """Creates the table (in the caller's transaction)."""
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_quarantine (checkpoint_key TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, "
            "code TEXT NOT NULL, class TEXT NOT NULL, kind TEXT, external_id TEXT, first_seen INTEGER NOT NULL, "
            "last_seen INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (checkpoint_key, id))"
        )

    @contextmanager
    def locked(self) -> Iterator["SqliteBackend"]:
        with self._transaction():
            yield self

    def get(self, entry_id: str) -> Optional[Entry]:
        row = self._db.execute(f"SELECT entry FROM {self._table} WHERE checkpoint_key = ? AND id = ?", (self._name, entry_id)).fetchone()
        return None if row is None else json.loads(row[0])

    def all(self) -> List[Entry]:
        rows = self._db.execute(f"SELECT entry FROM {self._table} WHERE checkpoint_key = ? ORDER BY first_seen, id", (self._name,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def write(self, entry: Entry) -> None:
        error = entry.get("error") or {}
        self._db.execute(
            f"INSERT INTO {self._table} (checkpoint_key, id, state, code, class, kind, external_id, first_seen, last_seen, entry) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (checkpoint_key, id) DO UPDATE SET state = excluded.state, "
            "code = excluded.code, class = excluded.class, kind = excluded.kind, external_id = excluded.external_id, "
            "first_seen = excluded.first_seen, last_seen = excluded.last_seen, entry = excluded.entry",
            (
                self._name,
                entry["id"],
                str(entry.get("state", "")),
                str(error.get("code", "")),
                str(error.get("class", "")),
                entry.get("kind"),
                entry.get("externalId"),
                int(entry.get("firstSeen", 0)),
                int(entry.get("lastSeen", 0)),
                json.dumps(entry, ensure_ascii=False, separators=(",", ":")),
            ),
        )

    def delete(self, ids: List[str]) -> None:
        self._db.executemany(f"DELETE FROM {self._table} WHERE checkpoint_key = ? AND id = ?", [(self._name, i) for i in ids])
