"""The quarantine workflow in Python: entries kept by every store (merged,
listed with filters and retention, replaced), and end to end with httpx
against incwo-sim: a contract-violating order is quarantined by a sync,
listed, shown with its violation path and runbook line, fixed, replayed
(replay_total{reason="manual"} = 1) and synced exactly once in the
simulator's state; another is dropped with a reason that is kept."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import incwo_connector as ic
from conftest import BUSINESS_FILE, LOGIN, PASSWORD, Sim
from incwo_connector.quarantine import Quarantine, QuarantineError
from incwo_connector.quarantine.cli import main

DAY_MS = 86_400_000


def order(number: str, price: Optional[float]) -> Dict[str, Any]:
    line: Dict[str, Any] = {"sku": "KIT-API-01", "description": "Kit, ask jane.doe@example.com", "qty": 2, "taxCode": "TVA20"}
    if price is not None:
        line["unitPriceExclTax"] = price
    return {"orderNumber": number, "customerExternalId": "CLI-Q", "orderDate": "2026-04-11", "currency": "EUR", "lines": [line]}


def batch(price: Optional[float] = None) -> str:
    lines = [
        {
            "kind": "customer",
            "record": {
                "externalId": "CLI-Q",
                "name": "Client Q",
                "kind": "client",
                "billingAddress": {"line1": "18 rue des Tanneurs", "zipCode": "69002", "city": "Lyon", "country": "FR"},
            },
        },
        {"kind": "product", "record": {"sku": "KIT-API-01", "name": "Kit", "unitPriceExclTax": 49.9, "taxCode": "TVA20", "unit": "unit", "active": True}},
        {"kind": "order", "record": order("CMD-Q-1", price)},
        {"kind": "order", "record": order("CMD-Q-2", price)},
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


def quarantined_entry(number: str = "CMD-Q-1") -> Dict[str, Any]:
    """The entry the flow hands out for a contract-invalid order (no request needed)."""
    config = {"server": "http://127.0.0.1:9", "businessFileId": BUSINESS_FILE, "auth": {"type": "basic", "login": LOGIN, "password": PASSWORD}}
    args = {"config": config, "records": [{"kind": "order", "record": order(number, None)}], "now": ic.now_ms(), "seed": 1}
    flow = ic.FlowSession.start(json.dumps(args))
    while True:
        action = flow.poll(ic.now_ms())
        if action.is_record_done():
            assert action.quarantine_json is not None
            return json.loads(action.quarantine_json)
        assert not action.is_send() and not action.is_done(), action


@pytest.fixture(params=["memory", "file", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        return ic.MemoryCheckpointStore()
    if request.param == "file":
        return ic.FileCheckpointStore(tmp_path / "state.json")
    return ic.SqliteCheckpointStore(tmp_path / "state.db", "acme")


def test_the_flow_hands_out_a_redacted_entry_with_the_violation_path() -> None:
    entry = quarantined_entry()
    assert entry["id"].startswith("q-") and entry["state"] == "open"
    assert (entry["kind"], entry["externalId"], entry["attempts"]) == ("order", "CMD-Q-1", 1)
    assert entry["error"]["violations"][0]["path"] == "/lines/0/unitPriceExclTax"
    assert entry["runbook"].startswith("contract.invalid (contract): ")
    assert "jane.doe" not in json.dumps(entry), "personal data is redacted"


def test_every_store_merges_lists_replaces_and_expires_entries(store: Any) -> None:
    assert isinstance(store, ic.QuarantineStore)
    first = quarantined_entry()
    stored = store.put_quarantine(first)
    again = dict(quarantined_entry(), firstSeen=first["firstSeen"] + 5, lastSeen=first["lastSeen"] + 5)
    merged = store.put_quarantine(again)
    assert (merged["attempts"], merged["firstSeen"]) == (2, stored["firstSeen"])
    other = store.put_quarantine(quarantined_entry("CMD-Q-2"))
    assert [e["id"] for e in store.quarantine_entries()] == [first["id"], other["id"]]
    assert store.quarantine_entries({"code": "business."}) == []
    assert store.quarantine_entry(first["id"]) == merged
    assert store.quarantine_entry("q-0") is None

    dropped = ic.call("quarantine.drop", {"entry": merged, "reason": "duplicate order", "now": ic.now_ms()})["entry"]
    store.replace_quarantine(dropped)
    assert [e["id"] for e in store.quarantine_entries()] == [other["id"]]
    assert store.quarantine_entries({"state": "dropped"})[0]["dropReason"] == "duplicate order"
    # Quarantined again, a dropped record is open again.
    assert store.put_quarantine(quarantined_entry())["state"] == "open"

    later = merged["lastSeen"] + 31 * DAY_MS
    assert store.quarantine_entries({"state": "all"}, now=later) == []
    assert store.quarantine_entry(first["id"]) is None, "expired entries are deleted"
    with pytest.raises(ic.StoreError) as info:
        store.put_quarantine({"state": "open"})
    assert info.value.code == "store.bad_entry"
    with pytest.raises(ic.UsageError):
        store.quarantine_entries({"colour": "red"})


def test_sqlite_names_keep_their_own_quarantine(tmp_path: Path) -> None:
    a = ic.SqliteCheckpointStore(tmp_path / "state.db", "a")
    b = ic.SqliteCheckpointStore(tmp_path / "state.db", "b")
    a.put_quarantine(quarantined_entry())
    assert len(a.quarantine_entries()) == 1 and b.quarantine_entries() == []
    row = sqlite3_row(tmp_path / "state.db")
    assert row == ("a", "open", "contract.invalid", "contract", "order", "CMD-Q-1")


def sqlite3_row(path: Path) -> Any:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT checkpoint_key, state, code, class, kind, external_id FROM incwo_checkpoints_quarantine").fetchone()


def test_a_store_without_a_quarantine_is_refused() -> None:
    class Bare:
        def load(self) -> None:
            return None

    with pytest.raises(QuarantineError) as info:
        Quarantine(Bare())
    assert info.value.code == "quarantine.unsupported_store"


# -- end to end against the simulator ---------------------------------------


def orders_in_incwo(sim: Sim, number: str) -> int:
    state = sim.state()
    assert state["duplicates"] == [], state["duplicates"]
    return sum(1 for o in state["objects"].get("proposal_sheets", []) if o.get("title") == number)


def connector(sim: Sim, store: Any) -> ic.Connector:
    return ic.Connector(sim.base, BUSINESS_FILE, login=LOGIN, password=PASSWORD, store=store, timeout=5)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_contract_violating_order_is_quarantined_listed_shown_fixed_replayed_once_or_dropped(
    fresh_sim: Sim, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh_sim
    state = str(tmp_path / "state.db")
    at = ["--state", state]

    # Quarantined by a sync: nothing reaches incwo.
    result = connector(sim, ic.SqliteCheckpointStore(state)).sync(batch())
    assert result.summary["quarantined"] == 2, result.summary
    assert orders_in_incwo(sim, "CMD-Q-1") == 0

    # Listed: table, JSON, filters.
    code, table, _ = cli(capsys, "list", *at)
    assert code == 0 and table.startswith("ID "), table
    assert "contract.invalid" in table and "CMD-Q-1" in table and "2 record(s)" in table, table

    def listed(*extra: str) -> List[Dict[str, Any]]:
        code, out, err = cli(capsys, "list", *at, "--json", *extra)
        assert code == 0, err
        return json.loads(out)["entries"]

    entries = listed()
    ids = {e["externalId"]: e["id"] for e in entries}
    first, second = ids["CMD-Q-1"], ids["CMD-Q-2"]
    assert len(listed("--code", "contract.", "--class", "contract", "--resource", "order")) == 2
    assert listed("--code", "business.") == [] and listed("--resource", "invoice") == [] and listed("--older-than", "1h") == []

    # Shown: the violation's path, the runbook line, the record redacted.
    code, show, _ = cli(capsys, "show", first, *at)
    assert code == 0
    assert "/lines/0/unitPriceExclTax  required" in show, show
    assert "runbook: contract.invalid (contract): " in show, show
    assert "[email]" in show and "jane.doe" not in show, show
    assert "requests already made: none" in show, show
    code, _, err = cli(capsys, "show", "q-0", *at)
    assert code == 2 and "no quarantine entry q-0" in err
    code, _, err = cli(capsys, "list", "--state", str(tmp_path / "typo.db"))
    assert code == 2 and f"no state store at {tmp_path / 'typo.db'}" in err

    # Fixed and replayed: synced once, counted as a manual replay.
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(order("CMD-Q-1", 49.9)), encoding="utf-8")
    monkeypatch.setenv("INCWO_TEST_PASSWORD", PASSWORD)
    account = ["--server", sim.base, "--business-file", BUSINESS_FILE, "--login", LOGIN, "--password-env", "INCWO_TEST_PASSWORD", "--timeout-ms", "5000"]
    replay = ["replay", first, "--record", str(fixed), *account, *at]
    code, out, err = cli(capsys, *replay)
    assert code == 0, err
    report = json.loads(out)
    assert report["replayed"] == [first] and report["stillOpen"] == [], report
    assert report["metrics"] == ['replay_total{reason="manual"} 1'], report
    assert report["summary"]["synced"] == 1, report
    assert orders_in_incwo(sim, "CMD-Q-1") == 1

    # A replayed entry is closed: replaying it again is refused.
    code, _, err = cli(capsys, *replay)
    assert code == 2 and "is replayed" in err, err
    assert [e["id"] for e in listed("--status", "replayed")] == [first]
    assert orders_in_incwo(sim, "CMD-Q-1") == 1

    # The other one is dropped with its reason, kept; a blank reason is refused.
    code, out, _ = cli(capsys, "drop", second, "--reason", "cancelled by the shop, told jane.doe@example.com", *at)
    assert code == 0 and f"{second}  dropped  cancelled by the shop, told [email]" in out, out
    assert listed() == []
    assert listed("--status", "dropped")[0]["dropReason"] == "cancelled by the shop, told [email]"
    code, _, err = cli(capsys, "drop", second, "--reason", " ", *at)
    assert code == 2 and "reason" in err, err
    assert orders_in_incwo(sim, "CMD-Q-2") == 0

    # One fixed record with a new external id settles the entry it replays.
    third = connector(sim, ic.SqliteCheckpointStore(state)).sync(json.dumps({"kind": "order", "record": order("CMD-Q-3", None)}) + "\n")
    assert third.summary["quarantined"] == 1, third.summary
    [renamed] = [e["id"] for e in listed()]
    fixed.write_text(json.dumps(order("CMD-Q-3-FIXED", 49.9)), encoding="utf-8")
    code, out, err = cli(capsys, "replay", renamed, "--record", str(fixed), *account, *at)
    assert code == 0, err
    assert json.loads(out)["replayed"] == [renamed] and listed() == [], out
    assert (orders_in_incwo(sim, "CMD-Q-3-FIXED"), orders_in_incwo(sim, "CMD-Q-3")) == (1, 0)

    # The command line entry point of the installed package.
    run = subprocess.run([sys.executable, "-m", "incwo_connector.quarantine", "list", "--status", "all", "--json", *at], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    assert {e["state"] for e in json.loads(run.stdout)["entries"]} == {"replayed", "dropped"}


def test_replay_matching_takes_the_lines_from_the_fixed_batch(fresh_sim: Sim, tmp_path: Path) -> None:
    sim = fresh_sim
    store = ic.FileCheckpointStore(tmp_path / "state.json")
    assert connector(sim, store).sync(batch()).summary["quarantined"] == 2
    q = Quarantine(store)
    with pytest.raises(QuarantineError) as info:
        q.replay(connector(sim, ic.FileCheckpointStore(tmp_path / "state.json")), matching={}, batch=batch(49.9))
    assert info.value.code == "quarantine.other_store"
    with pytest.raises(QuarantineError) as info:
        q.replay(connector(sim, store), matching={"code": "contract.invalid"}, batch=batch(49.9).splitlines()[0])
    missing = [e["id"] for e in q.list()]
    assert info.value.code == "usage.quarantine_not_in_batch" and len(missing) == 2
    assert all(entry_id in info.value.message for entry_id in missing), info.value.message

    done = q.replay(connector(sim, store), matching={"code": "contract.invalid"}, batch=batch(49.9))
    report = done.to_dict()
    assert len(done.replayed) == 2 and done.still_open == [], report
    assert report["metrics"] == ['replay_total{reason="manual"} 2'], report
    assert report["requests"].get("POST") == 2, f"only the two orders are created: {report}"
    assert (orders_in_incwo(sim, "CMD-Q-1"), orders_in_incwo(sim, "CMD-Q-2")) == (1, 1)
    nothing = q.replay(connector(sim, store), matching={"code": "contract.invalid"}, batch=batch(49.9))
    assert nothing.result is None and nothing.replayed == []
