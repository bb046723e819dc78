"""incwo-connector: sync business records into incwo (XML over HTTP Basic).

A sans-IO Rust core validates canonical JSON records, maps them to incwo's
XML, classifies errors, decides retries and drives replayable flows; this
package is its Python host: the native functions (uniffi), the exceptions,
checkpoint stores and the flow loop over httpx.

    from incwo_connector import Connector, FileCheckpointStore
    connector = Connector("https://www.incwo.com", 123456, login=…, password=…,
                          store=FileCheckpointStore("state.json"))
    result = connector.sync(open("batch.jsonl").read())

Independent connector, not affiliated with incwo.
"""

from __future__ import annotations

from . import _native, messages
from ._native import (
    Action,
    ErrorInfo,
    FlowSession,
    Header,
    HttpHeader,
    Outcome,
    Request,
    Response,
    Summary,
    TransportFailure,
    TransportKind,
    TransportPhase,
    Violation,
)
from .connector import AsyncConnector, Connector, Records, SyncResult, now_ms
from .core import (
    Core,
    MappedMany,
    call,
    check_profile,
    map_many,
    map_record,
    map_xml,
    parse,
    profile_text,
    schema,
    validate,
    validate_jsonl,
    validate_many,
    version,
)
from .inbound import WEBHOOK_PATH, Inbound, WebhookEndpoint
from .errors import BusinessError, ContractError, IncwoError, InternalError, TechnicalError, UsageError
from .stores import (
    CheckpointStore,
    FileCheckpointStore,
    MemoryCheckpointStore,
    QuarantineStore,
    SqliteCheckpointStore,
    StateConflictError,
    StateSession,
    StateStore,
    StoreError,
    StoreLockedError,
    open_store,
)

__version__ = _native.version()


def _header_text(self: Header) -> str:
    value = "[redacted]" if self.sensitive else repr(self.value)
    return f"Header(name={self.name!r}, value={value}, sensitive={self.sensitive})"


# The generated record prints its value; an Authorization header must never
# reach a log or a debug print.
Header.__str__ = _header_text  # type: ignore[method-assign]
Header.__repr__ = _header_text  # type: ignore[method-assign]

__all__ = [
    "Action",
    "AsyncConnector",
    "BusinessError",
    "CheckpointStore",
    "Connector",
    "ContractError",
    "Core",
    "ErrorInfo",
    "FileCheckpointStore",
    "FlowSession",
    "Header",
    "HttpHeader",
    "IncwoError",
    "Inbound",
    "InternalError",
    "MemoryCheckpointStore",
    "Outcome",
    "QuarantineStore",
    "Records",
    "Request",
    "Response",
    "SqliteCheckpointStore",
    "StateConflictError",
    "StateSession",
    "StateStore",
    "StoreError",
    "StoreLockedError",
    "Summary",
    "SyncResult",
    "TechnicalError",
    "TransportFailure",
    "TransportKind",
    "TransportPhase",
    "UsageError",
    "Violation",
    "WEBHOOK_PATH",
    "WebhookEndpoint",
    "call",
    "check_profile",
    "MappedMany",
    "map_many",
    "map_record",
    "map_xml",
    "messages",
    "now_ms",
    "open_store",
    "parse",
    "profile_text",
    "schema",
    "validate",
    "validate_jsonl",
    "validate_many",
    "version",
]
