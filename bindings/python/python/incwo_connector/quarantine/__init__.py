"""The quarantine workflow for an operator: list what the flow quarantined,
show one entry, replay entries after a fix, drop them with a reason.

    from incwo_connector import Connector, FileCheckpointStore
    from incwo_connector.quarantine import Quarantine

    store = FileCheckpointStore("state.json")
    q = Quarantine(store)
    for entry in q.list({"code": "contract."}):
        print(entry["id"], entry["error"]["code"], entry["runbook"])
    connector = Connector(server, business_file, login=…, password=…, store=store)
    q.replay(connector, ["q-…"], record=fixed_order)   # through the normal flow
    q.drop(["q-…"], "cancelled by the shop")

Every rule is the core's (``quarantine.*`` calls: filters, retention,
the lines a replay sends and which entries it may replay, settling,
dropping); a replay is a normal run
of the connector over the same store (ledger, reconcile-before-create: it
never creates a record twice) with the flow option ``manualReplay``.
The command line is ``python -m incwo_connector.quarantine``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from ..connector import Connector, SyncResult, now_ms
from ..core import call
from ..errors import UsageError
from ..stores import QuarantineStore
from .render import describe, table

__all__ = ["Quarantine", "QuarantineError", "ReplayResult", "describe", "table"]

Entry = Dict[str, Any]
#: A fixed record: a dict (a bare record, or ``{"kind", "record"}``), or its
#: JSON text, or ``{"kind", "record"}`` JSON Lines.
FixedRecord = Union[Mapping[str, Any], str]


class QuarantineError(Exception):
    """A quarantine command cannot do what was asked. Decide from ``code``:
    ``quarantine.unsupported_store``, ``quarantine.not_found``,
    ``quarantine.bad_arguments``, ``quarantine.other_store``, or the core's
    refusal of a replay (``quarantine.replay_batch``):
    ``usage.quarantine_not_open``, ``usage.quarantine_bare_record``,
    ``usage.quarantine_no_kind``, ``usage.quarantine_not_in_batch``;
    ``hint`` says what to do, ``details`` holds the facts (ids…) when the
    host has them."""

    def __init__(self, code: str, message: str, hint: str, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.details: Dict[str, Any] = dict(details or {})


@dataclass
class ReplayResult:
    """What a replay did."""

    #: Ids of the entries now ``replayed`` (their record synced or was already applied).
    replayed: List[str] = field(default_factory=list)
    #: Ids of the entries still open (quarantined again, or deferred).
    still_open: List[str] = field(default_factory=list)
    #: The run (``None`` when nothing matched).
    result: Optional[SyncResult] = None

    def to_dict(self) -> Dict[str, Any]:
        """The report of ``incwo quarantine replay``: ``{replayed, stillOpen,
        summary, problems, requests, metrics}`` (``metrics``: the
        ``replay_total`` samples)."""
        r = self.result
        return {
            "replayed": self.replayed,
            "stillOpen": self.still_open,
            "summary": r.summary if r else None,
            "problems": r.problems if r else [],
            "requests": r.requests if r else {},
            "metrics": [line for line in (r.metrics if r else "").splitlines() if line.startswith("replay_total{")],
        }


class Quarantine:
    """The quarantine of a store (:class:`~incwo_connector.stores.QuarantineStore`).
    ``retention_days`` overrides the core's retention (entries are deleted
    that long after their last change, when listed)."""

    def __init__(self, store: Any, retention_days: Optional[int] = None) -> None:
        if not isinstance(store, QuarantineStore):
            raise QuarantineError(
                "quarantine.unsupported_store",
                f"{type(store).__name__} keeps no quarantine",
                "use a MemoryCheckpointStore, FileCheckpointStore or SqliteCheckpointStore, or implement QuarantineStore",
            )
        self.store = store
        self.retention_days = retention_days

    def list(self, filter: Optional[Mapping[str, Any]] = None) -> List[Entry]:
        """The entries matching ``filter`` (``{code?, class?, resource?,
        olderThanSeconds?, state?}``: open ones unless ``state`` says
        ``replayed``, ``dropped`` or ``all``), oldest first; expired ones are deleted."""
        return self.store.quarantine_entries(filter, retention_days=self.retention_days)

    def show(self, entry_id: str) -> Entry:
        """One entry: the record (redacted), its error (violations with their
        paths, incwo's answer), the runbook line, the requests already made."""
        entry = self.store.quarantine_entry(entry_id)
        if entry is None:
            raise QuarantineError(
                "quarantine.not_found",
                f"no quarantine entry {entry_id}",
                "list them with `python -m incwo_connector.quarantine list --status all`",
                {"id": entry_id},
            )
        return entry

    def drop(self, ids: Iterable[str], reason: str) -> List[Entry]:
        """Closes entries with a reason, kept (redacted) with them; a blank
        reason raises the core's ``UsageError``."""
        dropped = []
        for entry_id in ids:
            entry = call("quarantine.drop", {"entry": self.show(entry_id), "reason": reason, "now": now_ms()})["entry"]
            self.store.replace_quarantine(entry)
            dropped.append(entry)
        return dropped

    def replay(
        self,
        connector: Connector,
        ids: Iterable[str] = (),
        *,
        matching: Optional[Mapping[str, Any]] = None,
        record: Optional[FixedRecord] = None,
        batch: Optional[str] = None,
    ) -> ReplayResult:
        """Replays open entries (``ids``, or every open one ``matching`` a
        filter) through the normal flow of ``connector``, whose store must be
        this quarantine's: from the fixed ``record``, or from their lines in
        ``batch`` (the original or fixed JSON Lines). Entries whose record
        synced (or was already there) become ``replayed``."""
        if connector.store is not self.store:
            raise QuarantineError(
                "quarantine.other_store",
                "the connector's store is not this quarantine's store",
                "build the Connector with store= the same store: the replay needs its ledger to never create twice",
            )
        if (record is None) == (batch is None):
            raise QuarantineError("quarantine.bad_arguments", "give the fixed record or the batch (one of them)", "pass record= or batch=")
        ids = list(ids)
        if matching is not None and ids:
            raise QuarantineError("quarantine.bad_arguments", "give ids or a filter, not both", "drop the ids or the matching filter")
        if matching is not None:
            entries = self.list({**dict(matching), "state": "open"})
        elif not ids:
            raise QuarantineError(
                "quarantine.bad_arguments", "name the entries to replay", "pass ids from list(), or matching= a filter"
            )
        else:
            entries = [self.show(i) for i in ids]
        if not entries:
            return ReplayResult()
        jsonl = _replay_batch(entries, record, batch)
        done: List[Any] = []
        result = connector.for_manual_replay(done.append).sync(jsonl)
        replayed = self._settle(entries, done)
        return ReplayResult(replayed=replayed, still_open=[e["id"] for e in entries if e["id"] not in replayed], result=result)

    def _settle(self, entries: List[Entry], done: List[Any]) -> List[str]:
        """Marks replayed the entries whose record ended synced or skipped
        (``quarantine.settle`` with each ``RecordDone``; the core settles the
        only entry replayed even when the fixed record's external id changed)."""
        replayed: List[str] = []
        for action in done:
            action_json: Dict[str, Any] = {
                "action": "recordDone",
                "index": action.index,
                "line": action.line,
                "kind": action.kind,
                "externalId": action.external_id,
                "outcome": json.loads(action.outcome_json),
            }
            current = [e for e in (self.store.quarantine_entry(x["id"]) for x in entries) if e is not None]
            settled = call("quarantine.settle", {"entries": current, "done": action_json, "now": now_ms()})["entry"]
            if settled is not None and settled.get("state") == "replayed":
                self.store.replace_quarantine(settled)
                replayed.append(settled["id"])
        return replayed


def _replay_batch(entries: List[Entry], record: Optional[FixedRecord], batch: Optional[str]) -> str:
    """The JSON Lines that replay ``entries`` (``quarantine.replay_batch``:
    only open entries; a bare record takes the kind of its one entry; a batch
    must hold a line of each). The core's refusal becomes a
    :class:`QuarantineError` with its code (``usage.quarantine_…``)."""
    fix: Dict[str, Any] = {"jsonl": batch} if record is None else {"record": record if isinstance(record, str) else dict(record)}
    try:
        return str(call("quarantine.replay_batch", {"entries": entries, **fix})["jsonl"])
    except UsageError as error:
        raise QuarantineError(error.code, error.message, error.hint) from None
