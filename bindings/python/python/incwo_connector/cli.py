"""``incwo-py``: the Python twin of the ``incwo`` command line.

Every command prints JSON (or the XML body for ``map``) on stdout and exits
0 on success, 1 when a record breaks the contract or incwo's rules, and 2 on
a usage error. ``sync`` reads the password from the environment variable
named by ``--password-env``, never from the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence

from . import core
from .connector import Connector
from .errors import IncwoError
from .progress import IndexProgress
from .stores import open_store


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def _text(path: str) -> str:
    data = _read(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _Usage(f"{path} is not UTF-8 (invalid byte at offset {e.start}); save it as UTF-8") from None


def _profile(path: Optional[str]) -> Optional[str]:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise _Usage(f"cannot read profile {path}: {e.strerror}") from None


class _Usage(Exception):
    pass


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _error_exit(error: IncwoError) -> int:
    print(f"incwo-py: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=sys.stderr)
    _print(error.to_dict())
    return 2 if error.error_class == "usage" else 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="incwo-py",
        description="Validate, map, parse and sync incwo records (independent connector, not affiliated with incwo)",
    )
    p.add_argument("--version", action="version", version=f"incwo-py {core.version()}")
    sub = p.add_subparsers(dest="command", required=True)
    kinds = "customer, product, quote, order, invoice, stock-movement or cancellation"

    v = sub.add_parser("validate", help="check a canonical record against the contract; prints the report")
    v.add_argument("kind", help=kinds)
    v.add_argument("file", nargs="?", default="-", help="the record's JSON file, or - for standard input")
    v.add_argument("--profile", help="mapping profile (JSON); the shipped default when absent")

    m = sub.add_parser("map", help="map a canonical record to the incwo XML body it becomes")
    m.add_argument("kind", help=kinds)
    m.add_argument("file", nargs="?", default="-", help="the record's JSON file, or - for standard input")
    m.add_argument("--profile", help="mapping profile (JSON); the shipped default when absent")
    m.add_argument("--json", action="store_true", help="print the JSON result instead of the bare XML")

    r = sub.add_parser("parse", help="read an incwo XML document into its typed view")
    r.add_argument("resource", help="incwo's plural resource name (firms, proposal_sheets, …)")
    r.add_argument("file", nargs="?", default="-", help="the XML file, or - for standard input")

    s = sub.add_parser("schema", help="print the JSON Schema of a kind")
    s.add_argument("kind", help=kinds)
    s.add_argument("--profile", help="mapping profile (JSON)")

    y = sub.add_parser("sync", help="sync a JSON Lines batch into incwo; rerunning resumes and creates nothing twice")
    y.add_argument("file", help='the batch: one {"kind": …, "record": {…}} per line, or - for standard input')
    y.add_argument("--server", required=True, help="incwo base URL (or the simulator's http://127.0.0.1:PORT)")
    y.add_argument("--business-file", required=True, help="the business file id")
    y.add_argument("--login", required=True, help="the API user's login")
    y.add_argument("--password-env", required=True, help="name of the environment variable holding the password")
    y.add_argument("--profile", help="mapping profile (JSON); the shipped default when absent")
    y.add_argument(
        "--state", required=True, help="checkpoint: a file, or sqlite:PATH[#NAME] / a .sqlite or .db path"
    )
    y.add_argument("--company", default=None, help="company segment of queue names")
    y.add_argument("--timeout-ms", type=int, default=10_000, help="per-request timeout in milliseconds")
    y.add_argument("--allow-insecure-http", action="store_true", help="allow a plain-http server off loopback")
    return p


def _sync(args: argparse.Namespace) -> int:
    password = os.environ.get(args.password_env)
    if password is None:
        raise _Usage(f"environment variable {args.password_env} is not set; export the incwo password in it")
    total = {"done": 0}
    terminal = sys.stderr.isatty()

    def progress(action: Any) -> None:
        total["done"] += 1
        if terminal:
            print(f"\r\x1b[2K{total['done']} records done", end="", file=sys.stderr)

    options: Dict[str, Any] = {}
    if args.company is not None:
        options["company"] = args.company
    connector = Connector(
        args.server,
        args.business_file,
        login=args.login,
        password=password,
        allow_insecure_http=args.allow_insecure_http,
        profile=_profile(args.profile),
        options=options or None,
        store=open_store(args.state),
        timeout=args.timeout_ms / 1000,
        on_record=progress,
    )
    index = IndexProgress(sys.stderr)
    try:
        result = connector.sync(_text(args.file), on_progress=index)
    finally:
        index.finish()
    if terminal:
        print(file=sys.stderr)
    _print({"summary": result.summary, "problems": result.problems, "requests": result.requests})
    stopped = result.summary.get("stopped")
    if stopped:
        print(f"incwo-py: the run stopped: {stopped.get('message')} ({stopped.get('code')})", file=sys.stderr)
    return 0 if result.ok else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``incwo-py`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            report = core.validate(args.kind, _text(args.file), _profile(args.profile))
            _print(report)
            return 0 if report.get("valid") else 1
        if args.command == "map":
            result = core.map_record(args.kind, _text(args.file), _profile(args.profile))
            if args.json:
                _print(result)
            else:
                for w in result.get("warnings", []):
                    print(f"warning: {w.get('path', '')} {w.get('message', '')} ({w.get('code', '')})", file=sys.stderr)
                print(result["xml"])
            return 0
        if args.command == "parse":
            _print(core.parse(args.resource, _read(args.file)))
            return 0
        if args.command == "schema":
            _print(core.schema(args.kind, _profile(args.profile)))
            return 0
        if args.command == "sync":
            return _sync(args)
    except IncwoError as error:
        return _error_exit(error)
    except (_Usage, OSError) as error:
        message = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"incwo-py: {message}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
