"""Every scenario of tests/scenarios/ end to end: the installed package's
Connector drives the core over real loopback HTTP (httpx) against incwo-sim,
and incwo's state is read back from the simulator, as
tests/scenarios/README.md specifies (the same runner as the Rust CLI's)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import httpx
import pytest

import incwo_connector as ic
from conftest import BUSINESS_FILE, SCENARIOS, Sim, load_exact, subset_mismatch

FILES = sorted(SCENARIOS.glob("*.json"))


class SimulatedCrash(Exception):
    """The host process dies (not a transport error: nothing catches it)."""


class CrashingTransport(httpx.BaseTransport):
    """Real HTTP (a fresh connection per request); when armed, the answer of
    the request is lost as if the process died while it was in flight."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        self.armed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError:
            if self.armed:
                raise SimulatedCrash() from None
            raise
        if self.armed:
            response.close()
            raise SimulatedCrash()
        return response

    def close(self) -> None:
        self.inner.close()


def metric_value(metrics: str, sample: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


class StepLog:
    def __init__(self) -> None:
        self.requests: Dict[str, int] = {}
        self.published: List[Tuple[str, Dict[str, Any]]] = []
        self.actions = 0
        self.crashed = False


def run_step(
    sim: Sim,
    scenario: Dict[str, Any],
    step: Dict[str, Any],
    index: int,
    store: ic.MemoryCheckpointStore,
    profile: Optional[str],
) -> Tuple[ic.SyncResult, StepLog]:
    sim.clear_faults()
    if step.get("faults"):
        sim.add_faults(step["faults"])
    crash_at = step.get("crashAfterActions")
    log = StepLog()
    transport = CrashingTransport()
    client = httpx.Client(transport=transport, timeout=2.0, follow_redirects=False, trust_env=False)

    def on_action(action: Any) -> None:
        log.actions += 1
        if action.is_send():
            method = action.request.method
            log.requests[method] = log.requests.get(method, 0) + 1
        if crash_at is not None and log.actions == crash_at:
            if action.is_send():
                transport.armed = True  # sent, then the answer is lost
            else:
                raise SimulatedCrash()  # dropped before it is handled

    config = sim.config()
    connector = ic.Connector(
        config["server"],
        config["businessFileId"],
        login=config["auth"]["login"],
        password=config["auth"]["password"],
        profile=profile,
        options=scenario.get("options"),
        store=store,
        seed=7 + index,
        client=client,
        on_action=on_action,
        on_publish=lambda queue, event: log.published.append((queue, event)),
    )
    records = [json.loads(json.dumps(r, default=_exact)) for r in step.get("records", [])]
    try:
        try:
            result = connector.sync(records)
        except SimulatedCrash:
            assert crash_at is not None
            log.crashed = True
            transport.armed = False
            crash_at = None
            result = connector.sync(records)  # resumes from the last saved checkpoint
    finally:
        client.close()
    assert log.crashed == (step.get("crashAfterActions") is not None), "the simulated crash did not happen"
    return result, log


class InboundSide:
    """The scenario's inbound side (README "Inbound"): the package's webhook
    endpoint registered with the simulator, forged calls, changes "from the
    incwo UI", and the Inbound calls (re-read + detect, or polling)."""

    def __init__(self, sim: Sim, scenario: Dict[str, Any], store: ic.MemoryCheckpointStore, profile: Optional[str]) -> None:
        spec = scenario.get("inbound") or {}
        self.sim = sim
        self.secret: Optional[str] = spec.get("secret")
        self.endpoint: Optional[ic.WebhookEndpoint] = None
        if spec.get("webhooks") is True:
            settings: Dict[str, Any] = {"secret": self.secret, "businessFileId": BUSINESS_FILE}
            if spec.get("allowNetworks") is not None:
                settings["allowNetworks"] = spec["allowNetworks"]
            self.endpoint = ic.WebhookEndpoint(settings)
            answer = sim.admin.put("/_sim/webhooks", json={"url": self.endpoint.url(self.secret), "retryMs": 20})
            answer.raise_for_status()
        options = scenario.get("options") or {}
        config = sim.config()
        self.inbound = ic.Inbound(
            config["server"], config["businessFileId"], login=config["auth"]["login"], password=config["auth"]["password"],
            profile=profile, options={"tenant": options.get("tenant", ""), "company": options.get("company", "default")},
            store=store, timeout=2.0,
        )
        self.poll_state: Any = None

    def close(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()

    def id_of(self, resource: str, marker: str) -> int:
        state = self.sim.state()
        field = state["marker_fields"].get(resource) or "title"
        for obj in state["objects"][resource]:
            if str(obj.get(field, "")).strip() == marker:
                return int(obj["id"])
        raise AssertionError(f"no {resource} with {field} {marker} in the simulator")

    def substitute(self, text: str) -> str:
        out, rest = "", text
        while "{{id:" in rest:
            start = rest.index("{{id:")
            out += rest[:start]
            after = rest[start + 5 :]
            end = after.index("}}")
            resource, marker = after[:end].split(":", 1)
            out += str(self.id_of(resource, marker))
            rest = after[end + 2 :]
        return out + rest

    def step(self, step: Dict[str, Any], label: str, failures: List[str]) -> List[Dict[str, Any]]:
        admin = self.sim.admin
        for change in step.get("incwoChanges", []):
            resource, oid = change["resource"], self.id_of(change["resource"], change["marker"])
            if "progressId" in change:
                admin.put(f"/_sim/documents/{resource}/{oid}/progress", json={"progress_id": change["progressId"]}).raise_for_status()
            if isinstance(change.get("xml"), str):
                admin.put(f"/_sim/objects/{resource}/{oid}", content=change["xml"]).raise_for_status()
            if change.get("delete") is True:
                admin.delete(f"/_sim/objects/{resource}/{oid}").raise_for_status()
        for i, hook in enumerate(step.get("webhooks", [])):
            assert self.endpoint is not None, 'webhooks need "inbound": {"webhooks": true} in the scenario'
            body = hook["body"] if isinstance(hook["body"], str) else json.dumps(hook["body"], default=float)
            body = self.substitute(body)
            secret = hook["secret"] if isinstance(hook.get("secret"), str) else (self.secret if hook.get("secret") is None else None)
            answer = httpx.post(
                self.endpoint.url(secret), content=body.encode("utf-8"),
                headers={"Content-Type": hook.get("contentType", "application/json")}, timeout=5, trust_env=False,
            )
            if "expectStatus" in hook and answer.status_code != hook["expectStatus"]:
                failures.append(f"{label}: webhook {i + 1} answered {answer.status_code}, expected {hook['expectStatus']}")
        mode_spec = step.get("inbound")
        if mode_spec is None:
            return []
        mode = mode_spec if isinstance(mode_spec, str) else mode_spec.get("mode", "")
        if mode == "webhook":
            assert self.endpoint is not None, 'inbound webhook mode needs "inbound": {"webhooks": true}'
            deadline = time.monotonic() + 10
            while admin.get("/_sim/webhooks").json().get("pending") != 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            events, failed = self.inbound.process(self.endpoint.take())
            failures.extend(f"{label}: {target}: {why}" for target, why in failed)
        elif mode == "poll":
            budget = mode_spec.get("pageBudget", 10) if isinstance(mode_spec, dict) else 10
            events, self.poll_state = self.inbound.poll(self.poll_state, int(budget))
        else:
            raise AssertionError(f"{label}: unknown inbound mode {mode!r} (webhook or poll)")
        return [{**p["event"], "queue": p["queue"]} for p in events]


def _exact(value: Any) -> Any:
    return float(value)


def check_step(label: str, step: Dict[str, Any], result: ic.SyncResult, log: StepLog) -> List[str]:
    failures = []
    expect = step.get("expect", {})
    if "outcomes" in expect:
        diff = subset_mismatch(expect["outcomes"], result.outcomes)
        if diff:
            failures.append(f"{label} outcomes{diff}; got {json.dumps(result.outcomes)[:3000]}")
    for wanted in expect.get("published", []):
        if not any(q == wanted["queue"] and e.get("type") == wanted["type"] for q, e in log.published):
            seen = [f"{q} {e.get('type')}" for q, e in log.published]
            failures.append(f"{label}: no {wanted} among published events {seen}")
    for metric in expect.get("metrics", []):
        value = metric_value(result.metrics, metric["sample"])
        if "min" in metric and value < float(metric["min"]):
            failures.append(f"{label}: {metric['sample']} = {value}, expected >= {metric['min']}")
        if "equals" in metric and value != float(metric["equals"]):
            failures.append(f"{label}: {metric['sample']} = {value}, expected {metric['equals']}")
    for method, count in expect.get("requests", {}).items():
        sent = log.requests.get(method, 0)
        if sent != count:
            failures.append(f"{label}: {sent} {method} requests sent, expected {count}")
    return failures


def test_scenarios_are_there() -> None:
    assert FILES, f"no scenario under {SCENARIOS}"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenario(fresh_sim: Sim, path: Path) -> None:
    scenario = load_exact(path)
    profile = (path.parent / scenario["profileFile"]).read_text(encoding="utf-8") if "profileFile" in scenario else None
    store = ic.MemoryCheckpointStore()
    failures: List[str] = []
    inbound = InboundSide(fresh_sim, scenario, store, profile)
    try:
        for n, step in enumerate(scenario["steps"]):
            label = f"step {n + 1}"
            result, log = run_step(fresh_sim, scenario, step, n, store, profile)
            assert all(o is not None for o in result.outcomes), f"{label}: unfinished records {result.outcomes}"
            assert result.summary["finished"] == result.summary["total"] == len(step.get("records", []))
            failures += check_step(label, step, result, log)
            received = inbound.step(step, label, failures)
            if "inbound" in step.get("expect", {}):
                diff = subset_mismatch(step["expect"]["inbound"], received)
                if diff:
                    failures.append(f"{label} inbound{diff}; received {json.dumps(received, default=str)[:3000]}")
    finally:
        inbound.close()
    state = fresh_sim.state()
    if state["duplicates"]:
        failures.append(f"duplicates in incwo: {state['duplicates']}")
    diff = subset_mismatch(scenario.get("incwo", {}), state)
    if diff:
        failures.append(f"incwo state{diff}")
    assert not failures, "\n".join(failures)
