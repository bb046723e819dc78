"""``python -m incwo_connector.quarantine list|show|replay|drop``: the
quarantine for an operator, as ``incwo quarantine``. Exits 0 on success, 1
when a replayed entry stays open, 2 on a usage error (unknown id, missing
store, blank reason…). ``replay`` reads the password from the environment
variable named by ``--password-env``, never from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence

from ..connector import Connector
from ..errors import IncwoError
from ..store_errors import StoreError
from ..stores import open_store
from . import Quarantine, QuarantineError
from .render import describe, table

PROG = "python -m incwo_connector.quarantine"


class _Usage(Exception):
    pass


def _age(text: str) -> int:
    """Seconds of ``90s``, ``15m``, ``2h``, ``7d`` (a bare number is seconds)."""
    digits = len(text) - len(text.lstrip("0123456789"))
    number, unit = text[:digits], text[digits:]
    factors = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
    if not number:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age; write 90s, 15m, 2h or 7d")
    if unit not in factors:
        raise argparse.ArgumentTypeError(f"{text!r}: unknown unit {unit!r}; use s, m, h or d")
    return int(number) * factors[unit]


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", required=True, help="the state store of your sync: a file, or sqlite:PATH[#NAME] / a .sqlite or .db path")
    p.add_argument("--retention-days", type=int, default=None, help="days an entry is kept after its last change (default 30)")


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--code", help="error code (contract.invalid), or a prefix ending in . (business.)")
    p.add_argument("--class", dest="error_class", help="error class: contract, business, technical, usage")
    p.add_argument("--resource", help="the record's kind: customer, product, quote, order, invoice, stock-movement, cancellation")
    p.add_argument("--older-than", type=_age, help="first quarantined at least this long ago: 90s, 15m, 2h, 7d")
    p.add_argument("--status", help="open (default), replayed, dropped or all")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Inspect, replay and drop quarantined records")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="list quarantined records (open ones unless --status says otherwise), oldest first")
    _store_args(ls)
    _filter_args(ls)
    ls.add_argument("--json", action="store_true", help="print the entries as JSON instead of a table")

    sh = sub.add_parser("show", help="one entry: the record (redacted), the violations or incwo's answer, the runbook line, the requests made")
    sh.add_argument("id", help="the entry's id (q-…, from list)")
    _store_args(sh)
    sh.add_argument("--json", action="store_true", help="print the entry as JSON")

    rp = sub.add_parser("replay", help="replay entries after a fix through the normal flow (never twice); counts replay_total{reason=\"manual\"}")
    rp.add_argument("ids", nargs="*", help="the entries' ids (or --all-matching)")
    rp.add_argument("--all-matching", action="store_true", help="replay every open entry matching the filters instead of ids")
    _filter_args(rp)
    source = rp.add_mutually_exclusive_group(required=True)
    source.add_argument("--record", help="the fixed record: its JSON (one id), or {\"kind\", \"record\"} lines")
    source.add_argument("--batch", help="the original (or fixed) batch: the entries' lines are taken from it")
    _store_args(rp)
    rp.add_argument("--server", required=True, help="incwo base URL (or the simulator's http://127.0.0.1:PORT)")
    rp.add_argument("--business-file", required=True, help="the business file id")
    rp.add_argument("--login", required=True, help="the API user's login")
    rp.add_argument("--password-env", required=True, help="name of the environment variable holding the password")
    rp.add_argument("--profile", help="mapping profile (JSON), e.g. the fixed one; the shipped default when absent")
    rp.add_argument("--company", default=None, help="company segment of queue names")
    rp.add_argument("--timeout-ms", type=int, default=10_000, help="per-request timeout in milliseconds")
    rp.add_argument("--allow-insecure-http", action="store_true", help="allow a plain-http server off loopback")

    dr = sub.add_parser("drop", help="drop entries: they are kept, closed, with the reason")
    dr.add_argument("ids", nargs="+", help="the entries' ids")
    dr.add_argument("--reason", required=True, help="why (kept with the entry, redacted like a log line)")
    _store_args(dr)
    return p


def _filter(args: argparse.Namespace) -> Dict[str, Any]:
    pairs = {
        "code": args.code,
        "class": args.error_class,
        "resource": args.resource,
        "olderThanSeconds": args.older_than,
        "state": args.status,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def _quarantine(args: argparse.Namespace) -> Quarantine:
    """The quarantine of an existing store (a mistyped path is an error, not an empty quarantine)."""
    spec = args.state
    path = spec[len("sqlite:") :].partition("#")[0] if spec.startswith("sqlite:") else spec
    if not os.path.isfile(path):
        raise _Usage(f"no state store at {path}; pass the --state of your sync")
    return Quarantine(open_store(spec), retention_days=args.retention_days)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise _Usage(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise _Usage(f"{path} is not UTF-8 (invalid byte at offset {e.start}); save it as UTF-8") from None


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _replay(args: argparse.Namespace) -> int:
    password = os.environ.get(args.password_env)
    if password is None:
        raise _Usage(f"environment variable {args.password_env} is not set; export the incwo password in it")
    if args.all_matching == bool(args.ids):
        raise _Usage("name the entries to replay (ids from list), or --all-matching with filters")
    q = _quarantine(args)
    connector = Connector(
        args.server,
        args.business_file,
        login=args.login,
        password=password,
        allow_insecure_http=args.allow_insecure_http,
        profile=_read(args.profile) if args.profile else None,
        options={"company": args.company} if args.company else None,
        store=q.store,
        timeout=args.timeout_ms / 1000,
    )
    result = q.replay(
        connector,
        args.ids,
        matching=_filter(args) if args.all_matching else None,
        record=_read(args.record) if args.record else None,
        batch=_read(args.batch) if args.batch else None,
    )
    if result.result is None:
        print("no open quarantined record matches; nothing replayed")
        return 0
    _print(result.to_dict())
    return 1 if result.still_open else 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        entries = _quarantine(args).list(_filter(args))
        if args.json:
            _print({"entries": entries})
        else:
            sys.stdout.write(table(entries))
        return 0
    if args.command == "show":
        entry = _quarantine(args).show(args.id)
        if args.json:
            _print(entry)
        else:
            sys.stdout.write(describe(entry))
        return 0
    if args.command == "drop":
        for entry in _quarantine(args).drop(args.ids, args.reason):
            print(f"{entry['id']}  dropped  {entry.get('dropReason', '')}")
        return 0
    return _replay(args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m incwo_connector.quarantine``."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (QuarantineError, StoreError) as error:
        print(f"{PROG}: {error.message}", file=sys.stderr)
        print(f"hint: {error.hint}", file=sys.stderr)
        return 2
    except IncwoError as error:
        print(f"{PROG}: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return 2 if error.error_class == "usage" else 1
    except _Usage as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
