"""File primitives of the state stores: an exclusive lock held for a run
(``fcntl.flock``, bounded wait, the holder named on failure) and an atomic,
durable replacement of a file (unique temporary file, mode 0600, fsync of
the file and of its directory)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
import time
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from .store_errors import StoreError, StoreLockedError


class FileLock:
    """An exclusive ``flock`` on ``path`` (created 0600), taken within
    ``wait`` seconds or :class:`StoreLockedError` naming the holder (pid,
    host, start time, which the holder writes into the file)."""

    def __init__(self, path: str, wait: float) -> None:
        self.path = path
        self._fd: Optional[int] = None
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise StoreLockedError(path, holder, wait) from None
                time.sleep(0.05)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "startedAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Releases the lock (idempotent). The file stays: removing it would
        let two runs lock two different files."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "FileLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read_holder(fd: int) -> Dict[str, Any]:
    try:
        value = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def write_atomically(path: str, text: str) -> None:
    """Replaces ``path`` with ``text``: a uniquely named temporary file (0600)
    in the same directory, written and fsynced, renamed over ``path``, then
    the directory fsynced so that the rename survives a crash."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=folder)
    except OSError as error:
        raise StoreError("store.io", f"cannot create a temporary file in {folder}: {error.strerror}", "check that the directory exists and is writable by this user", {"path": folder}) from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError):
            raise StoreError("store.io", f"cannot write {path}: {error.strerror}", "free disk space or fix permissions and run again: the previous state is intact", {"path": path}) from error
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
