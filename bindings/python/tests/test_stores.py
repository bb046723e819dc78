"""The state stores' guarantees one by one: the file lock (bounded wait,
holder named), private durable files, per-entry version checks, the legacy
import. No network here."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict

import pytest

import incwo_connector as ic


def entry(key: str, customer: str, state: str) -> Dict[str, Any]:
    return {"key": key, "domain": "customer", "externalId": customer, "step": "upsert", "mapperVersion": 1, "state": state, "hash": "h", "verified": False, "published": False, "updatedAt": 1}


def test_a_second_writer_of_a_file_waits_then_fails_naming_the_holder(tmp_path: Path) -> None:
    first = ic.FileCheckpointStore(tmp_path / "state.json").open()
    started = time.monotonic()
    with pytest.raises(ic.StoreLockedError) as info:
        ic.FileCheckpointStore(tmp_path / "state.json", lock_wait=0.3).open()
    assert time.monotonic() - started >= 0.3, "it waited"
    assert info.value.code == "store.locked" and info.value.holder["pid"] == os.getpid()
    assert f"pid {os.getpid()}" in str(info.value)
    first.close()
    ic.FileCheckpointStore(tmp_path / "state.json", lock_wait=0.3).open().close()


def test_a_stale_entry_write_is_refused_not_overwritten(tmp_path: Path) -> None:
    store = ic.SqliteCheckpointStore(tmp_path / "s.sqlite")
    assert store._write_entries([entry("k1", "C1", "pending")], {}, "host:1") == {"k1": 1}
    with pytest.raises(ic.StateConflictError) as info:
        store._write_entries([entry("k1", "C1", "pending")], {}, "host:2")
    assert info.value.code == "store.conflict"
    assert (info.value.details["expectedVersion"], info.value.details["foundVersion"], info.value.details["foundState"]) == (0, 1, "pending")
    assert store._write_entries([entry("k1", "C1", "done")], {"k1": 1}, "host:1") == {"k1": 2}
    with pytest.raises(ic.StateConflictError):
        store._write_entries([entry("k0", "C0", "done"), entry("k1", "C1", "quarantined")], {"k1": 1}, "host:2")
    rows = store._entries()
    assert list(rows) == ["k1"] and rows["k1"][1] == "done", "the refused transaction left nothing"
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def dead_pid() -> int:
    pid = 999_999
    while os.path.isdir(f"/proc/{pid}"):
        pid -= 1
    return pid


def test_a_run_starts_only_when_no_other_live_process_may_be_sending_a_pending_create(tmp_path: Path) -> None:
    store = ic.SqliteCheckpointStore(tmp_path / "s.sqlite", pending_lease=1.0)
    host = socket.gethostname()
    store._write_entries([entry("mine", "C1", "pending")], {}, f"{host}:{os.getpid()}")
    store._write_entries([entry("crashed", "C2", "pending")], {}, f"{host}:{dead_pid()}")
    started = time.monotonic()
    ledger = json.loads(store.open().start_from()["ledger"])
    assert time.monotonic() - started < 0.8, "its own and a dead process's pending entries are reconciled at once"
    assert sorted(e["externalId"] for e in ledger) == ["C1", "C2"]

    # pid 1 is alive: its pending create may be in flight, until the lease ends.
    store._write_entries([entry("live", "C3", "pending")], {}, f"{host}:1")
    started = time.monotonic()
    ledger = json.loads(store.open().start_from()["ledger"])
    assert time.monotonic() - started >= 0.8, "it waited for the live writer (until its entry, written just before, was older than the lease)"
    assert sorted(e["externalId"] for e in ledger) == ["C1", "C2", "C3"], "older than the lease: abandoned, reconciled by this run"


def test_legacy_rows_are_imported_once_and_progress_is_kept_without_its_ledger(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    checkpoint = {"checkpointVersion": 1, "cursor": 2, "outcomes": [None, None], "ledger": {"entries": {"k1": entry("k1", "C1", "done"), "k2": entry("k2", "C2", "done")}}}
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE incwo_checkpoints (name TEXT PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at REAL NOT NULL)")
        db.execute("INSERT INTO incwo_checkpoints VALUES ('acme', ?, 1)", (json.dumps(checkpoint),))
    store = ic.SqliteCheckpointStore(path, name="acme")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM incwo_checkpoints").fetchone()[0] == 0, "imported once: the row is gone"
        progress = json.loads(db.execute("SELECT progress FROM incwo_checkpoints_progress WHERE checkpoint_key = 'acme'").fetchone()[0])
    assert progress["ledger"]["entries"] == {} and progress["cursor"] == 2, "the progress row holds no entry"
    exported = json.loads(store.load() or "")
    assert sorted(exported["ledger"]["entries"]) == ["k1", "k2"] and exported["cursor"] == 2
    assert exported["ledger"]["entries"]["k2"]["externalId"] == "C2"
