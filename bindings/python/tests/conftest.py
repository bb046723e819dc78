"""Shared fixtures: the repository's data folders, the subset matching rule
of the golden vectors, and a real incwo-sim process on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest

ROOT = Path(os.environ.get("INCWO_REPO_ROOT", Path(__file__).resolve().parents[3]))
VECTORS = ROOT / "tests" / "vectors"
SCENARIOS = ROOT / "tests" / "scenarios"
EXAMPLES = ROOT / "examples"

LOGIN = "api@example.fr"
PASSWORD = "secret"
BUSINESS_FILE = "123456"


def load_exact(path: Path) -> Any:
    """JSON with decimals kept exact (as the Rust runner's arbitrary precision)."""
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def dump_exact(value: Any) -> str:
    """Compact JSON with sorted keys and decimals written as read: the text
    serde_json (arbitrary precision, BTreeMap) gives the Rust runner."""
    if isinstance(value, dict):
        items = (json.dumps(k, ensure_ascii=False) + ":" + dump_exact(value[k]) for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump_exact(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def subset_mismatch(expected: Any, actual: Any, at: str = "") -> Optional[str]:
    """The vectors' matching rule: objects match on the keys they name,
    arrays element-wise with the same length, scalars by equality (numbers
    as doubles). Returns the first difference, or ``None``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key not in actual:
                return f"{at}/{key}: missing"
            diff = subset_mismatch(value, actual[key], f"{at}/{key}")
            if diff:
                return diff
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{at}: expected {len(expected)} items, got {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff = subset_mismatch(e, a, f"{at}/{i}")
            if diff:
                return diff
        return None
    if _is_number(expected) and _is_number(actual):
        return None if float(expected) == float(actual) else f"{at}: expected {expected}, got {actual}"
    if type(expected) is type(actual) and expected == actual:
        return None
    return f"{at}: expected {expected!r}, got {actual!r}"


class Sim:
    """A running incwo-sim and its admin API."""

    def __init__(self, process: subprocess.Popen, base: str) -> None:
        self.process = process
        self.base = base
        self.admin = httpx.Client(base_url=base, timeout=10, trust_env=False)

    def config(self) -> Dict[str, Any]:
        return {
            "server": self.base,
            "businessFileId": BUSINESS_FILE,
            "auth": {"type": "basic", "login": LOGIN, "password": PASSWORD},
            "allowInsecureHttp": False,
        }

    def reset(self) -> None:
        self.admin.post("/_sim/reset").raise_for_status()

    def clear_faults(self) -> None:
        self.admin.delete("/_sim/faults").raise_for_status()

    def add_faults(self, rules: List[Dict[str, Any]]) -> None:
        self.admin.post("/_sim/faults", json=rules).raise_for_status()

    def state(self) -> Dict[str, Any]:
        response = self.admin.get("/_sim/state")
        response.raise_for_status()
        return response.json()

    def seed(self, seed: Dict[str, Any]) -> Dict[str, Any]:
        """``POST /_sim/seed``: bulk-creates pre-existing objects (``{"firms": 2000, "prefix": "OLD"}``)."""
        response = self.admin.post("/_sim/seed", json=seed)
        response.raise_for_status()
        return response.json()

    def counts(self) -> Dict[str, Any]:
        """``GET /_sim/counts``: objects by resource and ``duplicatesTotal``."""
        response = self.admin.get("/_sim/counts")
        response.raise_for_status()
        return response.json()

    def requests(self) -> Dict[str, Any]:
        """``GET /_sim/requests``: API requests since the last reset (``byResourceMethod``…)."""
        response = self.admin.get("/_sim/requests")
        response.raise_for_status()
        return response.json()

    def reset_requests(self) -> None:
        self.admin.post("/_sim/requests/reset").raise_for_status()

    def set_progress(self, resource: str, object_id: int, progress_id: int) -> None:
        self.admin.put(f"/_sim/documents/{resource}/{object_id}/progress", json={"progress_id": progress_id}).raise_for_status()


def sim_binary() -> Path:
    return Path(os.environ.get("INCWO_SIM_BIN", ROOT / "target" / "debug" / "incwo-sim"))


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    binary = sim_binary()
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it with `cargo build -p incwo-sim`")
    process = subprocess.Popen([str(binary), "--port", "0"], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        pytest.fail(f"incwo-sim did not start: {line!r}")
    handle = Sim(process, line[len("listening on ") :])
    try:
        yield handle
    finally:
        handle.admin.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture()
def fresh_sim(sim: Sim) -> Sim:
    """The simulator, reset and without fault rules."""
    sim.reset()
    sim.clear_faults()
    return sim
