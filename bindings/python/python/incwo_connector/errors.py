"""Exceptions raised by the connector, one class per error class of the core.

The core classifies every error as ``usage`` (the host called it wrongly),
``contract`` (the record breaks the contract), ``technical`` (transport,
timeouts, 5xx, authentication) or ``business`` (incwo's state forbids it).
The classes are the ones uniffi generates (so every native call raises
them, whichever way it is reached), given Python names and helpers here::

    IncwoError
    ├── UsageError       (IncwoError.Usage)
    ├── ContractError    (IncwoError.Contract)
    ├── TechnicalError   (IncwoError.Technical)
    └── BusinessError    (IncwoError.Business)

Each carries ``code``, ``message``, ``hint``, ``violations`` (typed
``Violation`` records), ``error_json`` and, from it, ``error`` (the whole
error object as a dict, e.g. a profile's ``problems``).

A panic inside the native core (a bug; ``call("debug.panic", …)`` raises one
on purpose, as a self-test) is caught by the native module and raised as
:class:`UsageError` with code ``usage.internal_panic`` and the panic's
message; the process and the other objects go on.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Union

from . import _native

__all__ = [
    "IncwoError",
    "UsageError",
    "ContractError",
    "TechnicalError",
    "BusinessError",
    "InternalError",
]

#: An unexpected failure of the native glue itself (never a rule of the
#: core; a panic of the core is a ``UsageError`` ``usage.internal_panic``):
#: report it to the connector's maintainers.
InternalError = _native.InternalError

#: Base class of the core's errors (the exception uniffi generates for the
#: Rust ``IncwoError`` enum; its variants are the classes below).
IncwoError: type = _native.IncwoError.Usage.__mro__[1]
#: The host called the core wrongly (bad JSON, unknown kind, bad profile…).
UsageError = _native.IncwoError.Usage
#: The record breaks the contract; ``violations`` says where and why.
ContractError = _native.IncwoError.Contract
#: Transport failures, timeouts, 5xx, 429, authentication.
TechnicalError = _native.IncwoError.Technical
#: Well-formed, but the business state forbids it.
BusinessError = _native.IncwoError.Business


def _error(self: Any) -> Dict[str, Any]:
    """The whole error object of the core, as a dict."""
    return json.loads(self.error_json)


def _to_dict(self: Any) -> Dict[str, Any]:
    """The core's result for this error: ``{"error": {...}}``."""
    return {"error": _error(self)}


def _str(self: Any) -> str:
    return f"{self.code}: {self.message}"


def _repr(self: Any) -> str:
    return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


IncwoError.error = property(_error)  # type: ignore[attr-defined]
IncwoError.to_dict = _to_dict  # type: ignore[attr-defined]
IncwoError.__str__ = _str  # type: ignore[method-assign]
IncwoError.error_class = ""  # type: ignore[attr-defined]
for _cls, _name, _class in (
    (UsageError, "UsageError", "usage"),
    (ContractError, "ContractError", "contract"),
    (TechnicalError, "TechnicalError", "technical"),
    (BusinessError, "BusinessError", "business"),
):
    _cls.__name__ = _name
    _cls.error_class = _class  # type: ignore[attr-defined]
    _cls.__repr__ = _repr  # type: ignore[method-assign]
    _cls.__str__ = _str  # type: ignore[method-assign]


def _text(obj: Dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


_CLASSES = {"contract": ContractError, "technical": TechnicalError, "business": BusinessError}


def error_from_document(document: Union[bytes, str]) -> IncwoError:
    """The exception of an error document ``{"error": {...}}`` of the core
    (an item of a batch), as the native call would raise it: the class of
    its ``class``, its code, message, hint, violations and ``error_json``."""
    text = document.decode("utf-8") if isinstance(document, bytes) else document
    body = json.loads(text)["error"]
    prefix = '{"error":'
    # The core writes {"error":<body>}: the body's own text is error_json.
    error_json = text[len(prefix):-1] if text.startswith(prefix) and text.endswith("}") else json.dumps(body)
    violations = [
        _native.Violation(
            path=_text(v, "path"),
            code=_text(v, "code"),
            severity=_text(v, "severity"),
            message=_text(v, "message"),
            hint=_text(v, "hint"),
        )
        for v in body.get("violations") or []
        if isinstance(v, dict)
    ]
    hint = body.get("hint")
    cls = _CLASSES.get(body.get("class"), UsageError)
    return cls(
        code=_text(body, "code"),
        message=_text(body, "message"),
        hint=hint if isinstance(hint, str) else None,
        violations=violations,
        error_json=error_json,
    )
