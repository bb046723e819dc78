"""The marker index beside the ledger (the core's ``flow::index``: marker →
incwo ids per resource, and how far each resource is proven complete), as
the stores keep it:

- :class:`FileJournal`: a file store's ``<file>.index.jsonl``, a journal of
  the flow's index changes, one JSON line per save (a save costs the change,
  not the index), written under the store's lock only; read whole when a run
  opens the state (later lines win, by resource and marker) and, holding
  more than one line, replaced atomically by one line holding everything.
- :func:`create_tables`, :func:`write_changes`, :func:`read_all`: an SQLite
  store's ``{table}_marker_index`` (one row per resource and marker, ``found``
  the JSON list of objects carrying it) and ``{table}_marker_coverage`` (one
  row per resource), upserted in the ledger entries' transaction.

The index is a cache of incwo's state: losing it costs list-page requests
(a sweep), never a duplicate. So a line cut by a crash is dropped, an append
is not fsynced, and a row that no longer parses is left out.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Dict, Optional

from ._files import write_atomically
from .store_errors import StoreError


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def is_empty(changes: Dict[str, Any]) -> bool:
    """Whether a ``take_index_changes()`` value changes nothing."""
    return not changes.get("entries") and not changes.get("coverage")


class FileJournal:
    """The marker index journal of a file store (see the module documentation)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> Optional[str]:
        """The whole index as ``{"entries", "coverage"}`` JSON text for
        ``FlowSession.load_index``, or ``None`` when there is none; compacts
        the journal into one line."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError("store.io", f"cannot read the marker index {self.path}: {error.strerror}", "check the file's owner and permissions, or delete it: the next run rebuilds it", {"path": self.path}) from error
        entries: Dict[tuple, Any] = {}
        coverage: Dict[str, Any] = {}
        lines = 0
        for line in text.split("\n"):
            if not line:
                continue
            lines += 1
            try:
                changes = json.loads(line)
            except ValueError:
                continue  # cut by a crash: a cache loses a few markers, read again later
            if not isinstance(changes, dict):
                continue
            for entry in changes.get("entries") or []:
                if isinstance(entry, dict) and "resource" in entry and "marker" in entry:
                    entries[(entry["resource"], entry["marker"])] = entry
            coverage.update(changes.get("coverage") or {})
        whole = _dumps({"entries": list(entries.values()), "coverage": coverage})
        if lines > 1 or not text.endswith("\n"):
            write_atomically(self.path, whole + "\n")
        return whole

    def append(self, changes: str) -> None:
        """Appends one ``take_index_changes()`` text; nothing when it is empty."""
        if is_empty(json.loads(changes)):
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with open(fd, "a", encoding="utf-8") as f:
                f.write(changes.strip() + "\n")
        except OSError as error:
            raise StoreError("store.io", f"cannot write the marker index {self.path}: {error.strerror}", "free disk space and check the directory's permissions: the ledger is intact", {"path": self.path}) from error

    def remove(self) -> None:
        """Deletes the journal (with its checkpoint)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def create_tables(db: sqlite3.Connection, table: str) -> None:
    """Creates an SQLite store's index tables when they do not exist."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {table}_marker_index (resource TEXT NOT NULL, marker TEXT NOT NULL, found TEXT NOT NULL, "
        "updated_at INTEGER NOT NULL, PRIMARY KEY (resource, marker))"
    )
    db.execute(f"CREATE TABLE IF NOT EXISTS {table}_marker_coverage (resource TEXT NOT NULL PRIMARY KEY, coverage TEXT NOT NULL, updated_at INTEGER NOT NULL)")


def write_changes(db: sqlite3.Connection, table: str, changes: Dict[str, Any], now: int) -> None:
    """Upserts a ``take_index_changes()`` value (inside the caller's transaction)."""
    db.executemany(
        f"INSERT INTO {table}_marker_index (resource, marker, found, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(resource, marker) DO UPDATE SET found = excluded.found, updated_at = excluded.updated_at",
        [(e["resource"], e["marker"], _dumps(e["found"]), now) for e in changes.get("entries") or []],
    )
    db.executemany(
        f"INSERT INTO {table}_marker_coverage (resource, coverage, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(resource) DO UPDATE SET coverage = excluded.coverage, updated_at = excluded.updated_at",
        [(resource, _dumps(c), now) for resource, c in (changes.get("coverage") or {}).items()],
    )


def read_all(db: sqlite3.Connection, table: str) -> Optional[str]:
    """The whole index as JSON text for ``FlowSession.load_index``, or
    ``None`` when empty; a row that no longer parses is left out."""
    # Coverage first: a row written between the two reads then only adds a
    # fact, while coverage read after the facts could claim facts this
    # reader never loaded (absence "proven" of an object that exists).
    coverage = {}
    for resource, text in db.execute(f"SELECT resource, coverage FROM {table}_marker_coverage").fetchall():
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            coverage[resource] = value
    entries = []
    for resource, marker, found in db.execute(f"SELECT resource, marker, found FROM {table}_marker_index").fetchall():
        try:
            value = json.loads(found)
        except ValueError:
            continue
        if isinstance(value, list):
            entries.append({"resource": resource, "marker": marker, "found": value})
    if not entries and not coverage:
        return None
    return _dumps({"entries": entries, "coverage": coverage})
