"""The flow loop over httpx: :class:`Connector` (sync) and
:class:`AsyncConnector` (asyncio).

The core decides everything (what to send, when to retry, when to
reconcile, how a record ends); the connector only moves bytes and time::

    poll → Send    → save state, HTTP, on_response / on_transport_error
         → Wait    → sleep until `until`
         → Publish → on_publish(queue, event)
         → RecordDone / Done
    save state after every action

A checkpoint store makes a run resumable: the next ``sync`` of the same
batch continues where a crash left it, and a replay sends nothing twice.
With a :class:`~incwo_connector.stores.StateStore` (the file and SQLite
stores) ``sync`` opens the state for the run (a file store's lock), saves
the ledger entries the flow changed before every send and after every other
action (what an answer changed goes with the next action), and the progress
when a record ends; the marker index the store keeps beside the ledger is
loaded before the first poll and its changes saved with the entries
(``on_progress`` sees its passes over list pages). A quarantined record's entry (``RecordDone``'s
``quarantine_json``) goes to the store's quarantine (``put_quarantine`` of a
:class:`~incwo_connector.stores.QuarantineStore`: every store here); when another writer of a
shared store refused a write (:class:`StateConflictError`, nothing sent for
it), the run starts again from the store.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import httpx

from . import _native, messages, transport
from . import errors as _errors  # noqa: F401  (names the exception classes)
from .core import Profile, profile_text
from .stores import CheckpointStore, MemoryCheckpointStore, StateConflictError, StateSession

__all__ = ["Connector", "AsyncConnector", "SyncResult", "Records", "now_ms"]

#: A batch: JSON Lines text, or ``{"kind": …, "record": {…}}`` dicts.
Records = Union[str, bytes, Iterable[Mapping[str, Any]]]


def now_ms() -> int:
    """The real clock in ms since the epoch (the core keeps no clock)."""
    return int(time.time() * 1000)


@dataclass
class SyncResult:
    """What a run did."""

    #: ``{total, finished, synced, skipped, quarantined, deferred, errorsByCode, stopped?}``.
    summary: messages.Summary
    #: The outcome of each record (``None`` while not finished), as the core's JSON.
    outcomes: List[Optional[messages.Outcome]]
    #: ``(queue, event)`` of every Publish action, in order.
    published: List[Tuple[str, messages.FlowEvent]] = field(default_factory=list)
    #: Requests sent, by method.
    requests: Dict[str, int] = field(default_factory=dict)
    #: The flow's metrics (Prometheus text).
    metrics: str = ""
    #: The last checkpoint.
    checkpoint: str = ""
    #: Actions handled.
    actions: int = 0
    #: Times the run started again from a shared store after another writer's entry refused its write.
    restarts: int = 0

    @property
    def problems(self) -> List[Dict[str, Any]]:
        """``{index, outcome}`` of each quarantined or deferred record."""
        return [
            {"index": i, "outcome": o}
            for i, o in enumerate(self.outcomes)
            if o is not None and o.get("outcome") in ("quarantined", "deferred")
        ]

    @property
    def ok(self) -> bool:
        """Every record synced or skipped, and the run was not stopped."""
        s = self.summary
        return not s.get("stopped") and s.get("quarantined", 0) == 0 and s.get("deferred", 0) == 0


class _Run:
    """The bookkeeping of one run (shared by the sync and async loops)."""

    def __init__(self) -> None:
        self.published: List[Tuple[str, messages.FlowEvent]] = []
        self.requests: Dict[str, int] = {}
        self.actions = 0

    def result(self, session: _native.FlowSession) -> SyncResult:
        data = json.loads(session.summary_json())
        return SyncResult(
            summary=data["summary"],
            outcomes=data["outcomes"],
            published=self.published,
            requests=self.requests,
            metrics=session.metrics(),
            checkpoint=session.checkpoint(),
            actions=self.actions,
        )


class _Base:
    def __init__(
        self,
        server: str,
        business_file_id: Union[str, int],
        *,
        login: Optional[str] = None,
        password: Optional[str] = None,
        token: Optional[str] = None,
        allow_insecure_http: bool = False,
        config: Optional[Mapping[str, Any]] = None,
        profile: Profile = None,
        options: Optional[Mapping[str, Any]] = None,
        store: Optional[CheckpointStore] = None,
        timeout: float = 10.0,
        seed: Optional[int] = None,
        on_publish: Optional[Callable[[str, Dict[str, Any]], Any]] = None,
        on_record: Optional[Callable[[Any], Any]] = None,
        on_action: Optional[Callable[[Any], Any]] = None,
        on_progress: Optional[Callable[[str, int, int], Any]] = None,
        max_restarts: int = 1000,
    ) -> None:
        cfg: Dict[str, Any] = {
            "server": server,
            "businessFileId": str(business_file_id),
            "allowInsecureHttp": allow_insecure_http,
        }
        if token is not None:
            cfg["auth"] = {"type": "bearer", "token": token}
        elif login is not None or password is not None:
            cfg["auth"] = {"type": "basic", "login": login, "password": password}
        cfg.update(config or {})
        self._config = cfg
        self._profile = profile_text(profile)
        self._options = dict(options) if options is not None else None
        #: Where the checkpoint lives between runs.
        self.store: CheckpointStore = store if store is not None else MemoryCheckpointStore()
        #: Per-request timeout of the HTTP client, in seconds.
        self.timeout = timeout
        self._seed = seed
        self.on_publish = on_publish
        self.on_record = on_record
        self.on_action = on_action
        #: ``on_progress(resource, pages_read, total_pages)`` after each action
        #: while a marker index pass reads list pages (the sweep of a large
        #: account: show a progress bar and an ETA).
        self.on_progress = on_progress
        #: How many times a run starts again after a :class:`StateConflictError`.
        self.max_restarts = max_restarts

    def __repr__(self) -> str:  # never the credentials
        return f"{type(self).__name__}(server={self._config.get('server')!r}, business_file_id={self._config.get('businessFileId')!r})"

    def for_manual_replay(self, on_record: Optional[Callable[[Any], Any]] = None) -> Any:
        """A copy of this connector whose runs replay quarantined records by
        hand (flow option ``manualReplay``: each record counts in
        ``replay_total{reason="manual"}``), calling ``on_record`` after its own."""
        twin = copy.copy(self)
        twin._options = {**(self._options or {}), "manualReplay": True}
        if on_record is not None:
            first = self.on_record

            def both(action: Any) -> None:
                if first is not None:
                    first(action)
                on_record(action)

            twin.on_record = both
        return twin

    def start_args(self, records: Records, checkpoint: Optional[str] = None) -> Dict[str, Any]:
        """The arguments of ``FlowSession.start`` for this batch (they hold the
        credentials: never log them)."""
        args: Dict[str, Any] = {
            "config": self._config,
            "now": now_ms(),
            "seed": self._seed if self._seed is not None else secrets.randbits(53),
        }
        if isinstance(records, bytes):
            records = records.decode("utf-8")
        if isinstance(records, str):
            args["jsonl"] = records
        else:
            args["records"] = [dict(r) for r in records]
        if self._profile is not None:
            args["profile"] = self._profile
        if self._options is not None:
            args["options"] = self._options
        if checkpoint is not None:
            args["checkpoint"] = checkpoint
        return args

    def start(self, records: Records) -> _native.FlowSession:
        """Starts the flow of a batch, resuming from the store's checkpoint
        when there is one."""
        args = self.start_args(records, self.store.load())
        return _native.FlowSession.start(json.dumps(args, ensure_ascii=False))

    def _open_state(self) -> Optional[StateSession]:
        opener = getattr(self.store, "open", None)
        return opener() if callable(opener) else None

    def _start_from(self, records: Records, state: StateSession) -> _native.FlowSession:
        args = self.start_args(records)
        start = dict(state.start_from())
        index = start.pop("index", None)
        args.update(start)
        session = _native.FlowSession.start(json.dumps(args, ensure_ascii=False))
        if index is not None:
            session.load_index(index)
        return session

    def _report_progress(self, session: _native.FlowSession, on_progress: Optional[Callable[[str, int, int], Any]]) -> None:
        if on_progress is not None:
            for p in json.loads(session.index_progress()).get("passes", []):
                on_progress(p["resource"], p["pagesRead"], p["totalPages"])

    def _save(self, session: _native.FlowSession, state: Optional[StateSession], progress: bool, final: bool) -> None:
        if state is not None:
            state.save(session, progress, final)
        else:
            self.store.save(session.checkpoint())

    def _give_up(self, restarts: int, conflict: StateConflictError) -> None:
        if restarts >= self.max_restarts:
            raise conflict

    def _note_send(self, run: _Run, action: Any) -> None:
        method = action.request.method
        run.requests[method] = run.requests.get(method, 0) + 1

    def _handle_other(self, run: _Run, action: Any) -> None:
        if action.is_publish():
            event = json.loads(action.event_json)
            run.published.append((action.queue, event))
            if self.on_publish is not None:
                self.on_publish(action.queue, event)
        elif action.is_record_done():
            put = getattr(self.store, "put_quarantine", None)
            if action.quarantine_json is not None and callable(put):
                put(json.loads(action.quarantine_json))
            if self.on_record is not None:
                self.on_record(action)


class Connector(_Base):
    """Syncs batches into incwo over ``httpx.Client``.

    ``Connector(server, business_file_id, login=…, password=…, store=…)``
    then ``connector.sync(records)``. Pass ``client`` to use your own
    ``httpx.Client`` (then keep-alive reuse is yours to switch off).
    ``on_action`` sees each action before it is handled; an exception it
    raises stops the run (the last saved checkpoint stays in the store).
    """

    def __init__(self, server: str, business_file_id: Union[str, int], *, client: Optional[httpx.Client] = None, **kwargs: Any) -> None:
        super().__init__(server, business_file_id, **kwargs)
        self._client = client

    def sync(self, records: Records, on_progress: Optional[Callable[[str, int, int], Any]] = None) -> SyncResult:
        """Runs the batch to its end and returns what happened;
        ``on_progress`` (default: the connector's) sees the marker index
        passes, ``(resource, pages_read, total_pages)``."""
        state = self._open_state()
        if state is None:
            return self.run(self.start(records), on_progress=on_progress)
        try:
            restarts = 0
            while True:
                try:
                    result = self.run(self._start_from(records, state), state, on_progress)
                    result.restarts = restarts
                    return result
                except StateConflictError as conflict:
                    self._give_up(restarts, conflict)
                    restarts += 1
        finally:
            state.close()

    def run(
        self, session: _native.FlowSession, state: Optional[StateSession] = None, on_progress: Optional[Callable[[str, int, int], Any]] = None
    ) -> SyncResult:
        """Drives a started flow until ``Done`` (saving to ``state`` when
        given, else the store's whole checkpoint)."""
        progress = on_progress or self.on_progress
        own = self._client is None
        client = transport.new_client(self.timeout) if own else self._client
        assert client is not None
        run = _Run()
        try:
            while True:
                action = session.poll(now_ms())
                if self.on_action is not None:
                    self.on_action(action)
                if action.is_send():
                    self._save(session, state, False, False)
                    self._note_send(run, action)
                    try:
                        response = client.send(transport.build_request(client, action.request))
                    except httpx.RequestError as error:
                        session.on_transport_error(action.request_id, transport.transport_failure(error), now_ms())
                    else:
                        answer = transport.to_response(response)
                        response.close()
                        session.on_response(action.request_id, answer, now_ms())
                elif action.is_wait():
                    delay = action.until - now_ms()
                    if delay > 0:
                        time.sleep(delay / 1000)
                else:
                    self._handle_other(run, action)
                if state is None or not action.is_send():
                    # A state session writes what an answer changed with the
                    # next action: before the next send, or after any other.
                    self._save(session, state, action.is_record_done() or action.is_done(), action.is_done())
                self._report_progress(session, progress)
                run.actions += 1
                if action.is_done():
                    return run.result(session)
        finally:
            if own:
                client.close()


class AsyncConnector(_Base):
    """The asyncio twin of :class:`Connector`, over ``httpx.AsyncClient``.
    The core's calls are synchronous and take microseconds."""

    def __init__(
        self, server: str, business_file_id: Union[str, int], *, client: Optional[httpx.AsyncClient] = None, **kwargs: Any
    ) -> None:
        super().__init__(server, business_file_id, **kwargs)
        self._client = client

    async def sync(self, records: Records, on_progress: Optional[Callable[[str, int, int], Any]] = None) -> SyncResult:
        """Runs the batch to its end and returns what happened (opening a
        file store's lock blocks the event loop while it waits);
        ``on_progress`` as :meth:`Connector.sync`."""
        state = self._open_state()
        if state is None:
            return await self.run(self.start(records), on_progress=on_progress)
        try:
            restarts = 0
            while True:
                try:
                    result = await self.run(self._start_from(records, state), state, on_progress)
                    result.restarts = restarts
                    return result
                except StateConflictError as conflict:
                    self._give_up(restarts, conflict)
                    restarts += 1
        finally:
            state.close()

    async def run(
        self, session: _native.FlowSession, state: Optional[StateSession] = None, on_progress: Optional[Callable[[str, int, int], Any]] = None
    ) -> SyncResult:
        """Drives a started flow until ``Done`` (saving to ``state`` when
        given, else the store's whole checkpoint)."""
        progress = on_progress or self.on_progress
        own = self._client is None
        client = transport.new_async_client(self.timeout) if own else self._client
        assert client is not None
        run = _Run()
        try:
            while True:
                action = session.poll(now_ms())
                if self.on_action is not None:
                    self.on_action(action)
                if action.is_send():
                    self._save(session, state, False, False)
                    self._note_send(run, action)
                    try:
                        response = await client.send(transport.build_request(client, action.request))
                    except httpx.RequestError as error:
                        session.on_transport_error(action.request_id, transport.transport_failure(error), now_ms())
                    else:
                        answer = transport.to_response(response)
                        await response.aclose()
                        session.on_response(action.request_id, answer, now_ms())
                elif action.is_wait():
                    delay = action.until - now_ms()
                    if delay > 0:
                        await asyncio.sleep(delay / 1000)
                else:
                    self._handle_other(run, action)
                if state is None or not action.is_send():
                    # A state session writes what an answer changed with the
                    # next action: before the next send, or after any other.
                    self._save(session, state, action.is_record_done() or action.is_done(), action.is_done())
                self._report_progress(session, progress)
                run.actions += 1
                if action.is_done():
                    return run.result(session)
        finally:
            if own:
                await client.aclose()
