"""Quarantine entries as text for a person: the list as an aligned table and
one entry in full, the same shapes as ``incwo quarantine list`` / ``show``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, List

__all__ = ["table", "describe"]

_COLUMNS = ["ID", "STATE", "CODE", "CLASS", "KIND", "EXTERNAL ID", "FIRST SEEN", "ATTEMPTS"]


def _time(ms: Any) -> str:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def table(entries: List[Dict[str, Any]]) -> str:
    """The entries as an aligned table, with a count."""
    if not entries:
        return "no quarantined record matches\n"
    rows = [_COLUMNS]
    for e in entries:
        error = e.get("error") or {}
        rows.append(
            [
                str(e.get("id", "")),
                str(e.get("state", "")),
                str(error.get("code", "")),
                str(error.get("class", "")),
                e.get("kind") or "-",
                e.get("externalId") or f"(line {e.get('line')})",
                _time(e.get("firstSeen")),
                str(e.get("attempts", "")),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines) + f"\n{len(entries)} record(s)\n"


def describe(e: Dict[str, Any]) -> str:
    """One entry: who, its error with each violation's path, incwo's answer,
    the runbook line, the requests already made, the record (redacted)."""
    error = e.get("error") or {}
    out = [
        f"{e.get('id')}  {e.get('kind') or '-'} {e.get('externalId') or '(no external id)'}  (line {e.get('line')} of batch {e.get('batch')})",
        f"state: {e.get('state')}, quarantined {e.get('attempts')} time(s), first {_time(e.get('firstSeen'))}, last {_time(e.get('lastSeen'))}",
    ]
    if e.get("dropReason"):
        out.append(f"dropped because: {e['dropReason']}")
    out.append(f"error: {error.get('class')} {error.get('code')}: {error.get('message')}")
    for v in error.get("violations") or []:
        out.append(f"  {v.get('path')}  {v.get('code')}  {v.get('message')} (hint: {v.get('hint')})")
    if error.get("details") is not None:
        out.append(f"incwo answered: {json.dumps(error['details'], ensure_ascii=False, separators=(',', ':'))}")
    out.append(f"runbook: {e.get('runbook')}")
    requests = e.get("requests") or []
    if not requests:
        out.append("requests already made: none")
    else:
        out.append("requests already made:")
        for r in requests:
            answer = r.get("status") if r.get("status") is not None else r.get("failure") or "no answer"
            out.append(f"  {r.get('method')} {r.get('url')} → {answer}")
    out.append("record (redacted):")
    out.append(json.dumps(e.get("record"), indent=2, ensure_ascii=False))
    if e.get("state") == "open":
        out.append(
            f"replay after the fix: python -m incwo_connector.quarantine replay {e.get('id')} --record FIXED.json (or --batch ORIGINAL.jsonl) …"
        )
    return "\n".join(out) + "\n"
