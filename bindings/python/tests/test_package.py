"""The installed package: where it comes from, the native surface, errors,
batch entry points, stores. No network here."""

from __future__ import annotations

import inspect
import json
import re
import sqlite3
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any, Dict

import pytest

import incwo_connector as ic
from conftest import EXAMPLES, ROOT, VECTORS

ORDER = (EXAMPLES / "data" / "order.json").read_text(encoding="utf-8")
MISSING_PRICE = (EXAMPLES / "data" / "order-missing-price.json").read_text(encoding="utf-8")


def test_the_package_is_the_installed_wheel() -> None:
    installed = Path(sysconfig.get_paths()["purelib"]).resolve()
    here = Path(ic.__file__).resolve()
    assert installed in here.parents, f"{here} is not under {installed}"
    assert ROOT.resolve() not in here.parents or "site-packages" in here.parts
    native = list(here.parent.glob("_native/*.so"))
    assert native, "the native library is not in the package"
    assert (here.parent / "py.typed").exists()
    assert ic.version() == ic.__version__


def test_validate_and_map_return_dicts() -> None:
    report = ic.validate("order", ORDER)
    assert report["valid"] is True and report["kind"] == "order"
    mapped = ic.map_record("order", json.loads(ORDER))
    assert mapped["resource"] == "proposal_sheets"
    assert "<unit_price>49.90</unit_price>" in mapped["xml"]
    assert ic.schema("order")["required"][0] == "orderNumber"


def test_a_contract_error_carries_its_violations() -> None:
    with pytest.raises(ic.ContractError) as info:
        ic.map_record("order", MISSING_PRICE)
    error = info.value
    assert isinstance(error, ic.IncwoError) and error.error_class == "contract"
    assert error.code == "contract.invalid"
    assert error.violations[0].path == "/lines/0/unitPriceExclTax"
    assert error.violations[0].code == "required"
    assert error.violations[0].severity == "error"
    assert error.error["violations"][0]["path"] == "/lines/0/unitPriceExclTax"
    assert error.hint


def test_usage_errors_carry_code_hint_and_details() -> None:
    with pytest.raises(ic.UsageError) as info:
        ic.validate("orders", "{}")
    assert info.value.code == "usage.unknown_kind" and info.value.hint
    with pytest.raises(ic.UsageError) as info:
        ic.check_profile("{}")
    assert info.value.code == "usage.invalid_profile"
    assert info.value.error["problems"], "a profile's problems are listed"
    with pytest.raises(ic.UsageError):
        ic.Core("{}")
    with pytest.raises(ic.UsageError) as info:
        ic.call("request", "{not json")
    assert info.value.code == "usage.malformed_json"
    for cls in (ic.UsageError, ic.ContractError, ic.TechnicalError, ic.BusinessError):
        assert issubclass(cls, ic.IncwoError) and issubclass(cls, Exception)


def test_a_panic_inside_the_core_is_a_typed_usage_error_and_the_process_goes_on() -> None:
    core = ic.Core()
    for _ in range(2):
        with pytest.raises(ic.UsageError) as info:
            ic.call("debug.panic", {"message": "self-test from Python"})
        error = info.value
        assert isinstance(error, ic.IncwoError) and error.error_class == "usage"
        assert error.code == "usage.internal_panic"
        assert error.message == "the connector core panicked: self-test from Python"
        assert error.hint and error.error["code"] == "usage.internal_panic"
        with pytest.raises(ic.UsageError) as info:
            core.native().call("debug.panic", "{}")
        assert info.value.code == "usage.internal_panic"
        assert ic.validate("order", ORDER)["valid"] is True
        assert core.validate("order", ORDER)["valid"] is True


def test_classified_errors_map_to_technical_and_business() -> None:
    site = {"method": "POST", "endpoint": "/proposal_sheets.xml", "nowMs": 1, "correlationId": "2f1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}
    technical = ic.call("classify", {**site, "response": {"status": 503}})
    business = ic.call("classify", {**site, "response": {"status": 409}})
    assert (technical["class"], business["class"]) == ("technical", "business")


def test_a_configured_core_uses_its_profile() -> None:
    profile = (VECTORS / "profiles" / "final-invoices.json").read_text(encoding="utf-8")
    core = ic.Core(profile)
    assert core.validate("order", ORDER)["valid"]
    assert core.map_record("order", ORDER)["resource"] == "proposal_sheets"
    assert core.native().profile() == profile
    assert len(core.validate_many("order", [ORDER, ORDER])) == 2
    flow = core.start_flow({
        "config": {"server": "http://127.0.0.1:9", "businessFileId": "1", "auth": {"type": "bearer", "token": "t"}},
        "jsonl": (EXAMPLES / "data" / "batch.jsonl").read_text(encoding="utf-8"), "now": 1,
    })
    assert flow.summary().total == 5 and flow.poll(1).is_send()


def test_batch_entry_points_match_one_call_per_record() -> None:
    records = [json.loads(ORDER) for _ in range(200)]
    for i, r in enumerate(records):
        r["orderNumber"] = f"CMD-{i:05d}"
    records[7] = json.loads(MISSING_PRICE)
    many = ic.validate_many("order", records)
    one_by_one = [ic.validate("order", r) for r in records]
    assert many == one_by_one
    assert [r["valid"] for r in many].count(False) == 1
    mapped = ic.map_many("order", records)
    assert isinstance(mapped[7], ic.ContractError)
    assert mapped[7].violations[0].path == "/lines/0/unitPriceExclTax"
    assert mapped[7].to_dict() == ic.map_many("order", [MISSING_PRICE])[0].to_dict()
    assert mapped[0] == ic.map_record("order", records[0])["xml"].encode()
    assert mapped.warnings == {}
    assert ic.validate_many("order", ["{"])[0]["error"]["code"] == "usage.malformed_json"
    lines = ic.validate_jsonl((EXAMPLES / "data" / "batch.jsonl").read_text(encoding="utf-8"))
    assert [item["kind"] for item in lines] == ["customer", "product", "quote", "order", "invoice"]


def test_batch_calls_cost_less_than_a_python_loop() -> None:
    """Figures for the report; the assertion only guards the order of magnitude."""
    records = [ORDER] * 2000
    ic.validate_many("order", records[:10])
    t0 = time.perf_counter()
    for r in records:
        ic.validate("order", r)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    ic.validate_many("order", records)
    batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(5000):
        ic.version()
    call = (time.perf_counter() - t0) / 5000
    print(
        f"\nvalidate x{len(records)}: loop {loop * 1e6 / len(records):.1f} µs/record, "
        f"validate_many {batch * 1e6 / len(records):.1f} µs/record; empty native call {call * 1e6:.2f} µs"
    )
    assert batch < loop * 1.5


def test_headers_never_print_their_secret() -> None:
    header = ic.Header(name="Authorization", value="Basic c2VjcmV0", sensitive=True)
    request = ic.Request(
        method="GET", url="http://127.0.0.1:1/1/firms.xml", endpoint="/firms.xml", operation="list",
        correlation_id="c", headers=[header, ic.Header(name="Accept", value="application/xml", sensitive=False)], body=b"",
    )
    for text in (str(header), repr(header), str(request), repr([header])):
        assert "c2VjcmV0" not in text
    assert "application/xml" in str(request)
    connector = ic.Connector("http://127.0.0.1:1", 1, login="api@example.fr", password="hunter2")
    assert "hunter2" not in repr(connector) and "api@example.fr" not in repr(connector)


def test_file_store_replaces_atomically(tmp_path: Path) -> None:
    store = ic.FileCheckpointStore(tmp_path / "sub" / "state.json")
    assert store.load() is None
    store.save('{"a":1}')
    store.save('{"a":2}')
    assert store.load() == '{"a":2}'
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["state.json", "state.json.lock"], "no temporary file left"
    assert (tmp_path / "sub" / "state.json").stat().st_mode & 0o777 == 0o600
    store.clear()
    assert store.load() is None
    store.clear()


def test_sqlite_store_keeps_one_row_per_name(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    a = ic.SqliteCheckpointStore(path, "a")
    b = ic.SqliteCheckpointStore(path, "b")
    a.save("one")
    a.save("two")
    b.save("other")
    assert (a.load(), b.load()) == ("two", "other")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM incwo_checkpoints_progress").fetchone()[0] == 2
    a.clear()
    assert a.load() is None and b.load() == "other"
    with pytest.raises(ValueError):
        ic.SqliteCheckpointStore(path, table="x; DROP TABLE y")
    assert isinstance(ic.open_store(f"sqlite:{path}#c"), ic.SqliteCheckpointStore)
    assert isinstance(ic.open_store(tmp_path / "s.json"), ic.FileCheckpointStore)
    assert isinstance(ic.MemoryCheckpointStore(), ic.CheckpointStore)


def test_a_flow_refuses_bad_arguments() -> None:
    with pytest.raises(ic.UsageError) as info:
        ic.FlowSession.start("{}")
    assert info.value.code
    with pytest.raises(ic.UsageError) as info:
        ic.FlowSession.start("not json")
    assert info.value.code == "usage.malformed_json"
    assert repr(info.value).startswith("UsageError(") and str(info.value).startswith("usage.malformed_json: ")


def test_python_version_is_supported() -> None:
    assert sys.version_info >= (3, 10)


def test_the_flow_surface_is_typed() -> None:
    args = json.dumps({
        "config": {"server": "http://127.0.0.1:9", "businessFileId": "123456",
                   "auth": {"type": "basic", "login": "api@example.fr", "password": "pw-not-shown"}},
        "records": [{"kind": "customer", "record": {"externalId": "C-1", "name": "Atelier", "kind": "client"}}],
        "options": {"retry": {"maxAttempts": 1}},
        "now": 1_700_000_000_000, "seed": 1,
    })
    flow = ic.FlowSession.start(args)
    action = flow.poll(1_700_000_000_000)
    assert isinstance(action, ic.Action.SEND) and action.is_send()
    request = action.request
    assert isinstance(request, ic.Request) and request.method == "GET" and request.endpoint == "/firms.xml"
    assert isinstance(request.body, bytes)
    assert any(h.sensitive for h in request.headers) and "pw-not-shown" not in str(request)
    flow.on_transport_error(
        action.request_id, ic.TransportFailure(kind=ic.TransportKind.CONNECT_REFUSED, phase=ic.TransportPhase.CONNECT), 1_700_000_000_001
    )
    with pytest.raises(ic.UsageError):  # the same request cannot be answered twice
        flow.on_response(action.request_id, ic.Response(status=200, headers=[], body=b""), 1_700_000_000_002)
    seen = []
    now = 1_700_000_000_003
    while True:
        action = flow.poll(now)
        seen.append(type(action).__name__)
        if action.is_wait():
            now = action.until
        elif action.is_send():
            flow.on_transport_error(action.request_id, ic.TransportFailure(kind=ic.TransportKind.RESET, phase=ic.TransportPhase.CONNECT), now)
        elif action.is_record_done():
            assert action.outcome.is_deferred() or action.outcome.is_quarantined()
            assert action.outcome.error.error_class == "technical"
            assert json.loads(action.outcome_json)["outcome"] in ("deferred", "quarantined")
        elif action.is_done():
            summary = action.summary
            assert isinstance(summary, ic.Summary) and summary.total == 1 and summary.finished == 1
            break
        assert len(seen) < 50, seen
    typed = flow.summary()
    assert typed.total == 1 and sum(typed.errors_by_code.values()) == 1
    assert "pw-not-shown" not in flow.checkpoint()
    assert 'api_error_total{class="technical"' in flow.metrics()
    # A crash while the first request was in flight: resume from the checkpoint saved before it left.
    crashed = ic.FlowSession.start(args)
    first = crashed.poll(1_700_000_000_000)
    assert first.is_send()
    resumed = ic.FlowSession.resume(args, crashed.checkpoint())
    assert resumed.summary().total == 1 and resumed.summary().finished == 0
    assert resumed.poll(1_700_000_000_100).is_send()


def _conforms(value: Dict[str, Any], message: Any) -> None:
    """``value`` has every key the generated TypedDict requires and no other key."""
    required, optional = message.__required_keys__, message.__optional_keys__
    assert required <= value.keys(), (message.__name__, sorted(required - value.keys()))
    assert value.keys() <= required | optional, (message.__name__, sorted(value.keys() - required - optional))


def _fields(record: Any) -> set:
    return set(inspect.signature(record.__init__).parameters) - {"self"}


def _snake(names: Any) -> set:
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower() for name in names}


def test_the_core_json_is_what_the_generated_messages_describe() -> None:
    m = ic.messages
    args = json.dumps({
        "config": {"server": "http://127.0.0.1:9", "businessFileId": "123456",
                   "auth": {"type": "basic", "login": "api@example.fr", "password": "pw"}},
        "records": [{"kind": "customer", "record": {"externalId": "C-1", "name": "Atelier", "kind": "client"}}],
        "options": {"retry": {"maxAttempts": 1}},
        "now": 1_700_000_000_000, "seed": 1,
    })
    flow = ic.FlowSession.start(args)
    actions = {"send": m.ActionSend, "wait": m.ActionWait, "publish": m.ActionPublish,
               "recordDone": m.ActionRecordDone, "done": m.ActionDone}
    outcomes = {"synced": m.OutcomeSynced, "skipped": m.OutcomeSkipped,
                "quarantined": m.OutcomeQuarantined, "deferred": m.OutcomeDeferred}
    now, seen = 1_700_000_000_000, set()
    while len(seen) < 50:
        action = json.loads(flow.poll_json(now))
        seen.add(action["action"])
        _conforms(action, actions[action["action"]])
        changed = json.loads(flow.take_changed_entries())
        _conforms(changed, m.ChangedEntries)
        for entry in changed["entries"]:
            _conforms(entry, m.LedgerEntry)
        if action["action"] == "send":
            _conforms(action["request"], m.HttpRequest)
            for header in action["request"]["headers"]:
                _conforms(header, m.HttpHeader)
            failure = ic.TransportFailure(kind=ic.TransportKind.RESET, phase=ic.TransportPhase.CONNECT)
            flow.on_transport_error(action["requestId"], failure, now)
        elif action["action"] == "wait":
            now = action["until"]
        elif action["action"] == "recordDone":
            _conforms(action["outcome"], outcomes[action["outcome"]["outcome"]])
            _conforms(action["outcome"]["error"], m.ErrorInfo)
        elif action["action"] == "done":
            _conforms(action["summary"], m.Summary)
            break
    assert {"send", "recordDone", "done"} <= seen, seen
    report = json.loads(flow.summary_json())
    _conforms(report, m.FlowReport)
    _conforms(json.loads(flow.checkpoint()), m.Checkpoint)

    # The typed (uniffi) records carry every field of the messages they mirror.
    def keys(message: Any) -> set:
        return set(message.__required_keys__ | message.__optional_keys__)

    assert _fields(ic.Summary) == _snake(keys(m.Summary))
    assert _fields(ic.Violation) == _snake(keys(m.Violation))
    assert _fields(ic.Header) == keys(m.HttpHeader)
    # `body` is bytes there: no `bodyEncoding`.
    assert _fields(ic.Request) == _snake(keys(m.HttpRequest) - {"bodyEncoding"})
    # `class` is a Python keyword; `details` is JSON text there.
    assert keys(m.ErrorInfo) == {"class", "code", "message", "violations", "details"}
    assert _fields(ic.ErrorInfo) == {"error_class", "code", "message", "violations", "details_json"}


def test_the_xml_calls_give_map_records_bytes() -> None:
    """map_xml and map_many: bytes in, the XML of map_record out, warnings
    apart, one exception per record that fails, never a stop."""
    customer = (EXAMPLES / "data" / "customer.json").read_bytes()
    full = ic.map_record("customer", customer)
    warnings: list = []
    assert ic.map_xml("customer", customer, warnings=warnings) == full["xml"].encode()
    assert warnings == full["warnings"] and warnings[0]["code"] == "vat_key"
    assert ic.map_xml("order", ORDER) == ic.map_xml("order", ORDER.encode()) == ic.map_xml("order", json.loads(ORDER))
    with pytest.raises(ic.ContractError):
        ic.map_xml("order", MISSING_PRICE)
    with pytest.raises(ic.UsageError) as info:
        ic.map_xml("order", b'{"orderNumber": "\xff"}')
    assert info.value.code == "usage.malformed_json"
    many = ic.map_many("customer", [ORDER, customer, b"{\0}", bytearray(customer), "{"])
    assert len(many) == 5 and many[1] == many[3] == full["xml"].encode()
    assert isinstance(many[0], ic.ContractError)
    assert [type(many[i]) for i in (2, 4)] == [ic.UsageError, ic.UsageError], "a NUL stays inside its record"
    assert many.warnings == {1: full["warnings"], 3: full["warnings"]}
    assert ic.map_many("order", []) == []
    with pytest.raises(ic.UsageError):
        ic.map_many("orders", [ORDER])
    core = ic.Core()
    assert core.map_xml("order", ORDER) == core.map_many("order", [ORDER])[0] == ic.map_xml("order", ORDER)
