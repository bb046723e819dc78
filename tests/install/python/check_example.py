"""Smoke run of the installed wheel: examples/python/sync_jsonl.py against incwo-sim.

Run by the install suite with the fresh venv's interpreter, from outside the
source tree: `python check_example.py SERVER_URL WORKDIR`. It checks that
incwo_connector is imported from the venv (not the repository), that its
version is the workspace's (INCWO_EXPECTED_VERSION), then runs the README's
example twice with one state file: the first run syncs the whole batch, the
second sends nothing (every record skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import incwo_connector

ROOT = Path(os.environ["INCWO_REPO_ROOT"])
EXAMPLE = ROOT / "examples" / "python" / "sync_jsonl.py"
BATCH_LINES = sum(1 for line in (ROOT / "examples" / "data" / "batch.jsonl").read_text().splitlines() if line.strip())


def run_example(server: str, state: Path) -> dict:
    """One run of the example; returns its final JSON report ({summary, requests})."""
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--server", server, "--state", str(state)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    print(out, end="")
    return json.loads(out[out.index("\n{") + 1:])


def main() -> int:
    server, workdir = sys.argv[1], Path(sys.argv[2])
    package = Path(incwo_connector.__file__).resolve()
    assert Path(sys.prefix).resolve() in package.parents, f"incwo_connector comes from {package}, not the venv {sys.prefix}"
    assert version("incwo-connector") == os.environ["INCWO_EXPECTED_VERSION"], version("incwo-connector")
    state = workdir / "state.json"

    first = run_example(server, state)
    assert first["summary"]["synced"] == first["summary"]["total"] == BATCH_LINES, first
    assert first["requests"].get("POST", 0) >= BATCH_LINES, first

    again = run_example(server, state)
    assert again["summary"]["skipped"] == again["summary"]["total"] == BATCH_LINES, again
    assert again["requests"].get("POST", 0) == 0, again
    print(f"installed wheel {version('incwo-connector')}: {BATCH_LINES} records synced, then all skipped on replay")
    return 0


if __name__ == "__main__":
    sys.exit(main())
