"""One of the two processes of test_two_writers: syncs a JSON Lines batch
into the simulator through a state store shared with the other process.

Usage: python two_writer_worker.py SIM_URL STORE BATCH_FILE
  STORE: file:PATH | sqlite:PATH
Prints one JSON line {summary, restarts, requests}; on a store error
{error: {code}} and exit status 1."""

from __future__ import annotations

import json
import sys

import incwo_connector as ic


def main() -> int:
    sim_url, spec, batch = sys.argv[1:4]
    if spec.startswith("file:"):
        store: ic.CheckpointStore = ic.FileCheckpointStore(spec[len("file:") :], lock_wait=600.0)
    else:
        store = ic.SqliteCheckpointStore(spec[len("sqlite:") :], name="business-123456")
    connector = ic.Connector(sim_url, "123456", login="api@example.fr", password="secret", store=store, timeout=10.0)
    try:
        with open(batch, encoding="utf-8") as f:
            result = connector.sync(f.read())
    except ic.StoreError as error:
        print(json.dumps({"error": {"code": error.code, "message": str(error)}}))
        return 1
    print(json.dumps({"summary": result.summary, "restarts": result.restarts, "requests": result.requests}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
