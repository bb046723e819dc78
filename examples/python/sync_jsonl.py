#!/usr/bin/env python3
"""Sync a JSON Lines batch into incwo (or the simulator) with incwo-connector.

    pip install incwo_connector-*.whl
    incwo-sim --port 0            # prints: listening on http://127.0.0.1:PORT
    python sync_jsonl.py --server http://127.0.0.1:PORT

Each line of the batch is {"kind": …, "record": {…}}. The checkpoint (the
ledger of what incwo already holds) is kept in --state, so running the
script again sends nothing twice: every record comes back "skipped".
Credentials come from INCWO_LOGIN / INCWO_PASSWORD (the simulator's
defaults otherwise); they are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import incwo_connector as ic

HERE = Path(__file__).resolve().parent
DEFAULT_BATCH = HERE.parent / "data" / "batch.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="base URL, e.g. http://127.0.0.1:PORT (the simulator)")
    parser.add_argument("--business-file", default=os.environ.get("INCWO_BUSINESS_FILE", "123456"))
    parser.add_argument("--file", type=Path, default=DEFAULT_BATCH, help="the JSON Lines batch")
    parser.add_argument("--state", default="incwo-state.json", help="checkpoint file (or a .sqlite path)")
    parser.add_argument("--company", default="acme", help="company segment of queue names")
    parser.add_argument("--async", dest="use_async", action="store_true", help="use the asyncio connector")
    args = parser.parse_args()

    def published(queue: str, event: dict) -> None:
        print(f"  event {event['type']:<22} -> {queue}  ({event.get('externalId')})")

    def record_done(action: ic.Action) -> None:
        outcome = json.loads(action.outcome_json)
        detail = outcome.get("incwoId") or outcome.get("error", {}).get("code", "")
        print(f"  line {action.line:>3} {action.kind or '?':<14} {action.external_id or '?':<20} {outcome['outcome']} {detail}")

    settings = dict(
        login=os.environ.get("INCWO_LOGIN", "api@example.fr"),
        password=os.environ.get("INCWO_PASSWORD", "secret"),
        options={"company": args.company},
        store=ic.open_store(args.state),
        timeout=10.0,
        on_publish=published,
        on_record=record_done,
    )
    batch = args.file.read_text(encoding="utf-8")
    print(f"syncing {args.file} into {args.server} (business file {args.business_file})")
    if args.use_async:
        import asyncio

        connector = ic.AsyncConnector(args.server, args.business_file, **settings)
        result = asyncio.run(connector.sync(batch))
    else:
        result = ic.Connector(args.server, args.business_file, **settings).sync(batch)
    print(json.dumps({"summary": result.summary, "requests": result.requests}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
