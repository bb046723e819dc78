"""Two Python processes sync overlapping batches through one state store,
started together, against one simulator: 500 customers and 500 orders
(1,000 records) in all, each process 300 customers and their orders, 100 of
them in both. The simulator must hold each document once, and the store a
done entry for every record."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

import incwo_connector as ic
from conftest import Sim

CUSTOMERS = 500
WORKER = Path(__file__).with_name("two_writer_worker.py")


def batch(first: int, last: int) -> str:
    lines = []
    for n in range(first, last + 1):
        lines.append(json.dumps({"kind": "customer", "record": {"externalId": f"C{n}", "name": f"Client {n}", "kind": "client"}}))
        lines.append(
            json.dumps(
                {
                    "kind": "order",
                    "record": {
                        "orderNumber": f"O{n}",
                        "customerExternalId": f"C{n}",
                        "orderDate": "2026-04-11",
                        "currency": "EUR",
                        "lines": [{"sku": "P1", "description": "x", "qty": 1, "unitPriceExclTax": 10, "taxCode": "TVA20"}],
                    },
                }
            )
        )
    return "\n".join(lines) + "\n"


def run_two_writers(sim: Sim, tmp_path: Path, spec: str, store: Any) -> List[Dict[str, Any]]:
    files = []
    for i, (first, last) in enumerate([(1, 300), (201, 500)]):
        path = tmp_path / f"batch{i}.jsonl"
        path.write_text(batch(first, last), encoding="utf-8")
        files.append(path)
    started = time.monotonic()
    processes = [
        subprocess.Popen([sys.executable, str(WORKER), sim.base, spec, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path in files
    ]
    ended = [(process, *process.communicate(timeout=900)) for process in processes]
    reports = []
    for i, (process, out, err) in enumerate(ended):
        assert process.returncode == 0, f"worker {i} failed: {out} {err}"
        report = json.loads(out.strip().splitlines()[-1])
        assert report["summary"]["quarantined"] == 0 and report["summary"]["finished"] == 600, report
        reports.append(report)
    seconds = time.monotonic() - started

    state = sim.state()
    assert state["duplicates"] == [], "no document created twice"
    assert state["counts"]["firms"] == CUSTOMERS and state["counts"]["proposal_sheets"] == CUSTOMERS

    checkpoint = json.loads(store.load())
    done: Dict[str, set] = {"customer": set(), "order": set()}
    for entry in checkpoint["ledger"]["entries"].values():
        if entry["state"] == "done" and entry["domain"] in done:
            done[entry["domain"]].add(entry["externalId"])
    assert done["customer"] == {f"C{n}" for n in range(1, CUSTOMERS + 1)}, "every customer's entry is in the store, done"
    assert done["order"] == {f"O{n}" for n in range(1, CUSTOMERS + 1)}, "every order's entry is in the store, done"
    print(f"two writers, 1000 records, {seconds:.1f} s, restarts {reports[0]['restarts']} + {reports[1]['restarts']}")
    return reports


def test_two_processes_on_one_file_store_take_turns_and_lose_nothing(fresh_sim: Sim, tmp_path: Path) -> None:
    path = tmp_path / "state" / "business-123456.json"
    run_two_writers(fresh_sim, tmp_path, f"file:{path}", ic.FileCheckpointStore(path))
    assert path.stat().st_mode & 0o777 == 0o600, "the state file is private"
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "business-123456.json",
        "business-123456.json.index.jsonl",
        "business-123456.json.lock",
    ], "no temporary file left (the state, its marker index, its lock)"
    index = path.parent / "business-123456.json.index.jsonl"
    assert index.stat().st_mode & 0o777 == 0o600, "the marker index is private"


def test_two_processes_on_one_sqlite_store_run_together_and_lose_nothing(fresh_sim: Sim, tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    run_two_writers(fresh_sim, tmp_path, f"sqlite:{path}", ic.SqliteCheckpointStore(path, name="business-123456"))
