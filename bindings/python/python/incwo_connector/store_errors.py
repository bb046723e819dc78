"""Errors of the state stores. Decide from the class or ``code``, never
from the message."""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = ["StoreError", "StoreLockedError", "StateConflictError"]


class StoreError(Exception):
    """A state store cannot do what the run needs: ``code`` is
    ``store.locked``, ``store.conflict``, ``store.io`` or
    ``store.legacy_unreadable``; ``hint`` says what to do; ``details`` holds
    structured facts (path, key, holder…)."""

    def __init__(self, code: str, message: str, hint: str, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.details: Dict[str, Any] = dict(details or {})


class StoreLockedError(StoreError):
    """``store.locked``: another run holds the state longer than the store
    waits. ``holder`` is ``{pid, host, startedAt}`` as that run wrote it."""

    def __init__(self, path: str, holder: Dict[str, Any], waited: float) -> None:
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('startedAt', '?')}"
        super().__init__(
            "store.locked",
            f"the state {path} is held by another run ({who}); waited {waited:.1f} s",
            "wait for that run to end (or stop it), then run again; raise the store's lock_wait to queue runs longer",
            {"path": path, "holder": holder, "waitedSeconds": waited},
        )
        self.holder = holder


class StateConflictError(StoreError):
    """``store.conflict``: another writer changed a ledger entry since this
    run read it; this run's write was refused instead of overwriting it
    (nothing was sent for it). :meth:`Connector.sync` starts again from the
    store."""

    def __init__(self, key: str, domain: str, external_id: str, step: str, expected: int, found: int, found_state: Optional[str]) -> None:
        super().__init__(
            "store.conflict",
            f"ledger entry {domain} {external_id} {step} ({key}) was changed by another writer: this run read version {expected}, the store holds version {found}",
            "start again from the store (Connector.sync does it); the other writer's entry is kept",
            {"key": key, "domain": domain, "externalId": external_id, "step": step, "expectedVersion": expected, "foundVersion": found, "foundState": found_state},
        )
        self.key = key
        self.domain = domain
        self.external_id = external_id
        self.step = step

