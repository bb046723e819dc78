"""The Connector end to end over real loopback HTTP against incwo-sim:
sync, replay, resume after a crash with each store, async, transport
failures inside the loop, the console script and the example."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import incwo_connector as ic
from conftest import BUSINESS_FILE, EXAMPLES, LOGIN, PASSWORD, Sim

BATCH = (EXAMPLES / "data" / "batch.jsonl").read_text(encoding="utf-8")
FAST_RETRY = {"retry": {"maxAttempts": 2, "baseDelayMs": 10, "maxDelayMs": 20}}


def connector(sim: Sim, **kwargs: Any) -> ic.Connector:
    kwargs.setdefault("options", {"company": "acme"})
    kwargs.setdefault("timeout", 2.0)
    return ic.Connector(sim.base, BUSINESS_FILE, login=LOGIN, password=PASSWORD, seed=1, **kwargs)


def names(result: ic.SyncResult) -> List[str]:
    return [o["outcome"] if o else "unfinished" for o in result.outcomes]


def test_sync_then_replay_sends_nothing(fresh_sim: Sim, tmp_path: Path) -> None:
    store = ic.FileCheckpointStore(tmp_path / "state.json")
    records: List[ic.Action] = []
    first = connector(fresh_sim, store=store, on_record=records.append).sync(BATCH)
    assert names(first) == ["synced"] * 5, first.outcomes
    assert first.ok and first.summary["synced"] == 5
    assert [r.external_id for r in records] == ["CLI-INC-8872", "KIT-API-01", "DEV-INC-2026-0107", "CMD-INC-2026-0411", "FAC-INC-2026-0198"]
    assert all(r.outcome.is_synced() and r.outcome.incwo_id for r in records)
    types = {event["type"] for _, event in first.published}
    assert {"quote.created", "order.created", "invoice.created"} <= types
    assert first.requests["POST"] >= 5
    state = fresh_sim.state()
    assert state["duplicates"] == []
    assert state["counts"]["firms"] == 1 and state["counts"]["bill_sheets"] == 1
    bill = state["objects"]["bill_sheets"][0]
    assert (bill["vat_exl_total"], bill["vat_inc_total"]) == ("499.00", "598.80")

    checkpoint = store.load()
    assert checkpoint and PASSWORD not in checkpoint and "Authorization" not in checkpoint

    second = connector(fresh_sim, store=store).sync(BATCH)
    assert names(second) == ["skipped"] * 5
    assert second.requests.get("POST", 0) == 0 and second.requests.get("PUT", 0) == 0
    assert 'replay_total{reason="already_applied"} 5' in second.metrics
    assert fresh_sim.state()["counts"] == state["counts"]


def test_async_connector_with_sqlite_store(fresh_sim: Sim, tmp_path: Path) -> None:
    store = ic.SqliteCheckpointStore(tmp_path / "state.db", name="acme")
    make = lambda: ic.AsyncConnector(
        fresh_sim.base, BUSINESS_FILE, login=LOGIN, password=PASSWORD, options={"company": "acme"}, store=store, timeout=2.0
    )
    first = asyncio.run(make().sync(BATCH))
    assert names(first) == ["synced"] * 5
    second = asyncio.run(make().sync(BATCH))
    assert names(second) == ["skipped"] * 5 and second.requests.get("POST", 0) == 0
    assert fresh_sim.state()["duplicates"] == []


class Crash(Exception):
    pass


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_a_crash_resumes_from_the_store(fresh_sim: Sim, tmp_path: Path, kind: str) -> None:
    store: Any = ic.FileCheckpointStore(tmp_path / "s.json") if kind == "file" else ic.SqliteCheckpointStore(tmp_path / "s.db")
    seen = {"n": 0}

    def die_at_the_third_send(action: Any) -> None:
        if action.is_send():
            seen["n"] += 1
            if seen["n"] == 3:
                raise Crash()

    with pytest.raises(Crash):
        connector(fresh_sim, store=store, on_action=die_at_the_third_send).sync(BATCH)
    assert store.load() is not None
    resumed = connector(fresh_sim, store=store).sync(BATCH)
    assert names(resumed) == ["synced"] * 5
    state = fresh_sim.state()
    assert state["duplicates"] == [] and state["counts"]["proposal_sheets"] == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_is_a_transport_failure() -> None:
    c = ic.Connector(
        f"http://127.0.0.1:{free_port()}", BUSINESS_FILE, login=LOGIN, password=PASSWORD, options=FAST_RETRY, timeout=2.0
    )
    result = c.sync(BATCH.splitlines()[0])
    [outcome] = result.outcomes
    assert outcome["outcome"] == "deferred", outcome
    assert outcome["error"]["class"] == "technical"
    assert "connect_refused" in outcome["error"]["code"]
    assert PASSWORD not in json.dumps(result.outcomes)


def test_a_reset_inside_the_loop_is_reported_and_reconciled(fresh_sim: Sim) -> None:
    fresh_sim.add_faults([{"method": "POST", "resource": "firms", "times": 1, "fault": {"kind": "drop_after_commit"}}])
    result = connector(fresh_sim).sync(BATCH.splitlines()[0])
    assert names(result) == ["synced"]
    assert 'api_error_total{class="technical"' in result.metrics
    assert 'replay_total{reason="reconciled"} 1' in result.metrics
    state = fresh_sim.state()
    assert state["counts"]["firms"] == 1 and state["duplicates"] == []
    assert state["counters"]["faults_fired"] == {"drop_after_commit": 1}


def test_a_timeout_is_reported_as_maybe_sent(fresh_sim: Sim) -> None:
    fresh_sim.add_faults([{"method": "POST", "resource": "firms", "times": 1, "fault": {"kind": "timeout", "ms": 4000}}])
    result = connector(fresh_sim, timeout=1.0).sync(BATCH.splitlines()[0])
    assert names(result) == ["synced"]
    assert 'replay_total{reason="reconciled"} 1' in result.metrics
    assert fresh_sim.state()["counts"]["firms"] == 1


def test_a_record_that_breaks_the_contract_is_quarantined_with_violations(fresh_sim: Sim) -> None:
    order = json.loads((EXAMPLES / "data" / "order-missing-price.json").read_text(encoding="utf-8"))
    result = connector(fresh_sim).sync([{"kind": "order", "record": order}])
    [outcome] = result.outcomes
    assert outcome["outcome"] == "quarantined"
    assert outcome["error"]["class"] == "contract"
    assert outcome["error"]["violations"][0]["path"] == "/lines/0/unitPriceExclTax"
    assert result.requests == {}


def run(args: List[str], **env: str) -> subprocess.CompletedProcess:
    bindir = Path(sys.executable).parent
    full_env = {**os.environ, **env}
    return subprocess.run(args, capture_output=True, text=True, env=full_env, cwd=bindir, timeout=120)


def test_console_script_mirrors_the_cli(fresh_sim: Sim, tmp_path: Path) -> None:
    exe = str(Path(sys.executable).parent / "incwo-py")
    batch = str(EXAMPLES / "data" / "batch.jsonl")
    sync = [exe, "sync", batch, "--server", fresh_sim.base, "--business-file", BUSINESS_FILE, "--login", LOGIN,
            "--password-env", "SIM_PASSWORD", "--state", str(tmp_path / "state.json"), "--company", "acme"]
    first = run(sync, SIM_PASSWORD=PASSWORD)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["summary"]["synced"] == 5 and report["problems"] == []
    second = run(sync, SIM_PASSWORD=PASSWORD)
    assert second.returncode == 0 and json.loads(second.stdout)["summary"]["skipped"] == 5
    assert "POST" not in json.loads(second.stdout)["requests"]
    for out in (first, second):
        assert PASSWORD not in out.stdout + out.stderr
    missing = run(sync)
    assert missing.returncode == 2 and "SIM_PASSWORD" in missing.stderr

    valid = run([exe, "validate", "order", str(EXAMPLES / "data" / "order.json")])
    assert valid.returncode == 0 and json.loads(valid.stdout)["valid"] is True
    invalid = run([exe, "map", "order", str(EXAMPLES / "data" / "order-missing-price.json")])
    assert invalid.returncode == 1 and json.loads(invalid.stdout)["error"]["class"] == "contract"
    unknown = run([exe, "schema", "orders"])
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["error"]["code"] == "usage.unknown_kind"
    xml = run([exe, "map", "order", str(EXAMPLES / "data" / "order.json")])
    assert xml.returncode == 0 and xml.stdout.startswith("<")


def test_the_example_script_syncs_the_batch(fresh_sim: Sim, tmp_path: Path) -> None:
    script = str(EXAMPLES / "python" / "sync_jsonl.py")
    state = str(tmp_path / "example-state.json")
    first = run([sys.executable, script, "--server", fresh_sim.base, "--state", state])
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads(first.stdout[first.stdout.index("{") :])["summary"]["synced"] == 5
    again = run([sys.executable, script, "--server", fresh_sim.base, "--state", state, "--async"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout[again.stdout.index("{") :])["summary"]["skipped"] == 5
    assert fresh_sim.state()["duplicates"] == []
