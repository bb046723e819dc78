"""The core's JSON façade for Python: validate, map, parse, schema, profile
checks and the JSON-only calls, one native call each.

Records go in as dicts or JSON text (``str`` or ``bytes``) and results come
back as dicts; errors raise the exceptions of :mod:`incwo_connector.errors`.
:func:`map_xml` and :func:`map_many` give the XML alone, as ``bytes``, with
no JSON document to decode. The ``*_many`` functions handle a whole list in
one native call (a call costs microseconds; a Python loop of calls costs
more than the work).
"""

from __future__ import annotations

import json
import os
from array import array
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _native
from . import errors as _errors

__all__ = [
    "Record",
    "Profile",
    "validate",
    "map_record",
    "map_xml",
    "parse",
    "schema",
    "check_profile",
    "call",
    "validate_many",
    "map_many",
    "MappedMany",
    "validate_jsonl",
    "profile_text",
    "Core",
    "version",
]

#: A record: a dict (serialised to JSON) or its JSON text.
Record = Union[Mapping[str, Any], str, bytes]
#: A mapping profile: a dict, its JSON text, or a path to its file.
Profile = Union[Mapping[str, Any], str, "os.PathLike[str]", None]


def _text(record: Record) -> str:
    if isinstance(record, bytes):
        return record.decode("utf-8")
    if isinstance(record, str):
        return record
    return json.dumps(record, ensure_ascii=False)


def _bytes(record: Record) -> bytes:
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode("utf-8")
    if isinstance(record, (bytearray, memoryview)):
        return bytes(record)
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


class MappedMany(List[Union[bytes, "_errors.IncwoError"]]):
    """The result of :func:`map_many`: for each record, in order, its XML
    (``bytes``) or, for a record that was not mapped, its exception (an
    :class:`IncwoError`, returned, not raised). ``warnings`` holds the
    warnings of the records mapped with some, by index (e.g. a VAT number's
    key; the ``warnings`` of :func:`map_record`)."""

    warnings: Dict[int, List[Dict[str, Any]]]

    def __init__(self, items: Iterable[Union[bytes, "_errors.IncwoError"]] = (),
                 warnings: Optional[Dict[int, List[Dict[str, Any]]]] = None) -> None:
        super().__init__(items)
        self.warnings = warnings or {}


def _pack(records: Iterable[Record]) -> Tuple[bytes, bytes]:
    """The records concatenated and their lengths (native unsigned 64-bit)."""
    texts = [_bytes(r) for r in records]
    return b"".join(texts), array("Q", map(len, texts)).tobytes()


def _many(mapped: Any) -> MappedMany:
    items: List[Any] = mapped.items.split(b"\0")
    items.pop()  # every item ends with a NUL: the last piece is empty
    for index in mapped.failed:
        items[index] = _errors.error_from_document(items[index])
    warnings = None
    if mapped.warnings_json is not None:
        warnings = {entry["index"]: entry["warnings"] for entry in json.loads(mapped.warnings_json)}
    return MappedMany(items, warnings)


def _xml(mapped: Any, warnings: Optional[List[Dict[str, Any]]]) -> bytes:
    if warnings is not None and mapped.warnings_json is not None:
        warnings.extend(json.loads(mapped.warnings_json))
    return mapped.xml


def profile_text(profile: Profile) -> Optional[str]:
    """The JSON text of a profile given as a dict, a text or a file path."""
    if profile is None:
        return None
    if isinstance(profile, os.PathLike):
        with open(profile, encoding="utf-8") as f:
            return f.read()
    if isinstance(profile, str):
        return profile
    return json.dumps(profile, ensure_ascii=False)


def version() -> str:
    """The version of the native library."""
    return _native.version()


def validate(kind: str, record: Record, profile: Profile = None) -> Dict[str, Any]:
    """The validation report ``{kind, valid, violations, record?}``; an invalid
    record is a report with ``valid: False``, not an exception."""
    return json.loads(_native.validate(kind, _text(record), profile_text(profile)))


def map_record(kind: str, record: Record, profile: Profile = None) -> Dict[str, Any]:
    """The incwo XML a record becomes: ``{resource, xml, totals?, warnings}``;
    raises :class:`ContractError` (with ``violations``) for an invalid record."""
    return json.loads(_native.map(kind, _text(record), profile_text(profile)))


def parse(resource: str, xml: Union[bytes, str]) -> Dict[str, Any]:
    """The typed view of an incwo XML document (``{"one": …}`` / ``{"page": …}``)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
    return json.loads(_native.parse(resource, data))


def schema(kind: str, profile: Profile = None) -> Dict[str, Any]:
    """The JSON Schema of a kind."""
    return json.loads(_native.schema(kind, profile_text(profile)))


def check_profile(profile: Profile) -> Dict[str, Any]:
    """The checked profile with its defaults filled; raises :class:`UsageError`
    whose ``error["problems"]`` lists what is wrong."""
    text = profile_text(profile)
    if text is None:
        raise TypeError("check_profile needs a profile")
    return json.loads(_native.check_profile(text))


def call(name: str, args: Union[Mapping[str, Any], str]) -> Dict[str, Any]:
    """A JSON-only call of the core (``request``, ``classify``, ``retry``,
    ``retry.decide``, ``telemetry.render``, ``telemetry.redact``,
    ``telemetry.normalize_endpoint``, ``telemetry.log``…). ``debug.panic``
    (``{"message": "…"}``) is the self-test of the panic barrier: it raises
    :class:`UsageError` ``usage.internal_panic``; never use it in production."""
    return json.loads(_native.call(name, _text(args)))


def validate_many(kind: str, records: Iterable[Record], profile: Profile = None) -> List[Dict[str, Any]]:
    """Validates a list of records of one kind in one native call: one report
    (or ``{"error": …}``) per record, in order."""
    texts = [_text(r) for r in records]
    return json.loads(_native.validate_many(kind, texts, profile_text(profile)))


def map_xml(kind: str, record: Record, profile: Profile = None, *,
            warnings: Optional[List[Dict[str, Any]]] = None) -> bytes:
    """The incwo XML a record becomes, as bytes: the ``xml`` of
    :func:`map_record`, same bytes, with no JSON document to decode; raises
    :class:`ContractError` for an invalid record, as ``map_record`` does.
    The record's warnings are appended to ``warnings`` when a list is given."""
    return _xml(_native.map_xml(kind, _bytes(record), profile_text(profile)), warnings)


def map_many(kind: str, records: Iterable[Record], profile: Profile = None) -> MappedMany:
    """Maps a list of records of one kind in one native call, bytes in and
    out: for each record, in order, its XML (as :func:`map_xml`) or its
    exception (returned, not raised); see :class:`MappedMany`. Raises only
    when the call itself is refused (an unknown kind, a bad profile)."""
    return _many(_native.map_many_xml(kind, *_pack(records), profile_text(profile)))


def validate_jsonl(jsonl: Union[str, bytes], profile: Profile = None) -> List[Dict[str, Any]]:
    """Reads and validates a JSON Lines batch (``{"kind", "record"}`` per line)
    in one native call, as a flow would: one item per line."""
    text = jsonl.decode("utf-8") if isinstance(jsonl, bytes) else jsonl
    return json.loads(_native.validate_jsonl(text, profile_text(profile)))


class Core:
    """A core configured once with a mapping profile (checked up front)."""

    def __init__(self, profile: Profile = None) -> None:
        self._native = _native.IncwoCore(profile_text(profile))

    def native(self) -> _native.IncwoCore:
        """The underlying uniffi object (its calls take and return JSON text)."""
        return self._native

    def validate(self, kind: str, record: Record) -> Dict[str, Any]:
        """See :func:`validate`."""
        return json.loads(self._native.validate(kind, _text(record)))

    def map_record(self, kind: str, record: Record) -> Dict[str, Any]:
        """See :func:`map_record`."""
        return json.loads(self._native.map(kind, _text(record)))

    def schema(self, kind: str) -> Dict[str, Any]:
        """See :func:`schema`."""
        return json.loads(self._native.schema(kind))

    def validate_many(self, kind: str, records: Iterable[Record]) -> List[Dict[str, Any]]:
        """See :func:`validate_many`."""
        return json.loads(self._native.validate_many(kind, [_text(r) for r in records]))

    def map_xml(self, kind: str, record: Record, *, warnings: Optional[List[Dict[str, Any]]] = None) -> bytes:
        """See :func:`map_xml`."""
        return _xml(self._native.map_xml(kind, _bytes(record)), warnings)

    def map_many(self, kind: str, records: Iterable[Record]) -> MappedMany:
        """See :func:`map_many`."""
        return _many(self._native.map_many_xml(kind, *_pack(records)))

    def validate_jsonl(self, jsonl: str) -> List[Dict[str, Any]]:
        """See :func:`validate_jsonl`."""
        return json.loads(self._native.validate_jsonl(jsonl))

    def start_flow(self, args: Union[Mapping[str, Any], str]) -> _native.FlowSession:
        """Starts (or resumes, with ``checkpoint``) a flow with this core's
        profile; ``args`` is ``FlowSession.start``'s (they hold credentials)."""
        return self._native.start_flow(_text(args))
