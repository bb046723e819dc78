"""Where a host keeps the flow checkpoint (the ledger and the progress)
between runs: in memory, in a file (replaced atomically) or in an SQLite
table. The checkpoint holds no credentials."""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import threading
import time
from typing import Optional, Protocol, Union, runtime_checkable

__all__ = ["CheckpointStore", "MemoryCheckpointStore", "FileCheckpointStore", "SqliteCheckpointStore", "open_store"]

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


class MemoryCheckpointStore:
    """A checkpoint kept in memory (tests, one-shot jobs)."""

    def __init__(self, checkpoint: Optional[str] = None) -> None:
        self.checkpoint = checkpoint
        self.saves = 0

    def load(self) -> Optional[str]:
        return self.checkpoint

    def save(self, checkpoint: str) -> None:
        self.checkpoint = checkpoint
        self.saves += 1

    def clear(self) -> None:
        self.checkpoint = None


class FileCheckpointStore:
    """A checkpoint file, replaced atomically (temporary file, fsync, rename)."""

    def __init__(self, path: PathLike, fsync: bool = True) -> None:
        self.path = os.fspath(path)
        self.fsync = fsync

    def load(self) -> Optional[str]:
        try:
            with open(self.path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def save(self, checkpoint: str) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(checkpoint)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def clear(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SqliteCheckpointStore:
    """A checkpoint row in an SQLite table (``name`` → checkpoint), so many
    flows can share one database file."""

    def __init__(self, path: PathLike, name: str = "default", table: str = "incwo_checkpoints") -> None:
        if not _IDENTIFIER.match(table):
            raise ValueError(f"table must be an SQL identifier, got {table!r}")
        self.path = os.fspath(path)
        self.name = name
        self.table = table
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        with self._db:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                "name TEXT PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at REAL NOT NULL)"
            )

    def load(self) -> Optional[str]:
        with self._lock:
            row = self._db.execute(f"SELECT checkpoint FROM {self.table} WHERE name = ?", (self.name,)).fetchone()
        return None if row is None else str(row[0])

    def save(self, checkpoint: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                f"INSERT INTO {self.table} (name, checkpoint, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at",
                (self.name, checkpoint, time.time()),
            )

    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute(f"DELETE FROM {self.table} WHERE name = ?", (self.name,))

    def close(self) -> None:
        """Closes the database connection."""
        self._db.close()


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
