"""The TLS fault matrix (tests/tls/order-create.json): over HTTPS against
incwo-sim in TLS mode, httpx trusting its test CA (``verify`` with the CA
file), the order create meets each TLS fault once, and the simulator holds
exactly one order, no duplicate, and the record ended synced."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import httpx
import pytest

import incwo_connector as ic
from conftest import BUSINESS_FILE, LOGIN, PASSWORD, ROOT, Sim, sim_binary

MATRIX: Dict[str, Any] = json.loads((ROOT / "tests" / "tls" / "order-create.json").read_text(encoding="utf-8"))


def trusting(ca_file: Path, timeout: float) -> httpx.Client:
    """The loop's client (no keep-alive reuse, no redirects) trusting the test CA."""
    return httpx.Client(
        timeout=timeout,
        limits=httpx.Limits(max_keepalive_connections=0),
        follow_redirects=False,
        trust_env=False,
        verify=ssl.create_default_context(cafile=str(ca_file)),
    )


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    ca_dir = tmp_path_factory.mktemp("tls") / "ca"
    process = subprocess.Popen(
        [str(sim_binary()), "--port", "0", "--tls-dir", str(ca_dir)], stdout=subprocess.PIPE, stderr=sys.stderr, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening on https://"):
        process.kill()
        pytest.fail(f"incwo-sim did not start in TLS mode: {line!r}")
    handle = Sim(process, line[len("listening on ") :])
    handle.admin.close()
    handle.admin = trusting(ca_dir / "ca.pem", 10.0)
    handle.admin.base_url = httpx.URL(handle.base)
    handle.ca_file = ca_dir / "ca.pem"  # type: ignore[attr-defined]
    try:
        yield handle
    finally:
        handle.admin.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize("name", sorted(MATRIX["faults"]))
def test_the_order_is_created_exactly_once(tls_sim: Sim, name: str) -> None:
    rule = MATRIX["faults"][name]
    tls_sim.reset()
    store = ic.MemoryCheckpointStore()
    with trusting(tls_sim.ca_file, 2.0) as client:  # type: ignore[attr-defined]
        connector = ic.Connector(
            tls_sim.base, BUSINESS_FILE, login=LOGIN, password=PASSWORD, options=MATRIX["options"], store=store, timeout=2.0, seed=1, client=client
        )
        setup = connector.sync(MATRIX["setup"])
        assert [o["outcome"] for o in setup.outcomes] == ["synced", "synced"], setup.outcomes
        tls_sim.add_faults([rule])
        # No admin call until the order is synced: a handshake fault strikes the next new connection.
        result = connector.sync(MATRIX["order"])
    state = tls_sim.state()
    assert state["counters"]["faults_fired"].get(rule["fault"]["kind"]) == 1, state["counters"]
    assert state["duplicates"] == []
    assert state["counts"]["proposal_sheets"] == 1, "exactly one order"
    assert state["objects"]["proposal_sheets"][0]["sheet_type"] == "order"
    assert [o["outcome"] for o in result.outcomes] == ["synced"], result.outcomes
