"""The httpx side of the flow loop: sending a core request, reading the
answer back, and turning a transport exception into the failure the core
classifies (it decides what happens next, never this module)."""

from __future__ import annotations

import socket
import ssl
from typing import Iterator, List, Optional, Tuple

import httpx

from . import _native

__all__ = ["new_client", "new_async_client", "build_request", "to_response", "transport_failure"]


def _limits() -> httpx.Limits:
    # A fresh connection per request: some clients resend a POST when a
    # reused connection dies, which would hide a failure from the core.
    return httpx.Limits(max_keepalive_connections=0)


def new_client(timeout: float) -> httpx.Client:
    """A client for the loop: no keep-alive reuse, no redirects followed."""
    return httpx.Client(timeout=timeout, limits=_limits(), follow_redirects=False, trust_env=False)


def new_async_client(timeout: float) -> httpx.AsyncClient:
    """The asyncio twin of :func:`new_client`."""
    return httpx.AsyncClient(timeout=timeout, limits=_limits(), follow_redirects=False, trust_env=False)


def build_request(client: "httpx.Client | httpx.AsyncClient", request: _native.Request) -> httpx.Request:
    """The httpx request for a core request, headers and body untouched."""
    headers: List[Tuple[str, str]] = [(h.name, h.value) for h in request.headers]
    content: Optional[bytes] = bytes(request.body) if request.body else None
    return client.build_request(request.method, request.url, headers=headers, content=content)


def to_response(response: httpx.Response) -> _native.Response:
    """The core's response record for an httpx response (body already read)."""
    headers = [_native.HttpHeader(name=name, value=value) for name, value in response.headers.multi_items()]
    return _native.Response(status=response.status_code, headers=headers, body=response.content)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _has(error: BaseException, kinds: Tuple[type, ...]) -> bool:
    return any(isinstance(e, kinds) for e in _causes(error))


def transport_failure(error: httpx.RequestError) -> _native.TransportFailure:
    """What the core needs to know about a failed request: the kind of
    failure and the phase it had reached, from httpx's exception classes
    (never the message). Only ``CONNECT`` and ``TLS_HANDSHAKE`` tell the
    core that nothing left; otherwise it reconciles before it creates
    anything again."""
    kind, phase = _native.TransportKind, _native.TransportPhase
    if isinstance(error, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return _native.TransportFailure(kind=kind.TIMEOUT, phase=phase.CONNECT)
    if isinstance(error, httpx.TimeoutException):
        return _native.TransportFailure(kind=kind.TIMEOUT, phase=phase.SENT)
    if _has(error, (ssl.SSLError,)):
        during_handshake = isinstance(error, httpx.ConnectError)
        return _native.TransportFailure(kind=kind.TLS, phase=phase.TLS_HANDSHAKE if during_handshake else phase.SENT)
    if isinstance(error, (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol)):
        if _has(error, (socket.gaierror,)):
            return _native.TransportFailure(kind=kind.DNS, phase=phase.CONNECT)
        return _native.TransportFailure(kind=kind.CONNECT_REFUSED, phase=phase.CONNECT)
    # Reset, closed without an answer, or broken while writing or reading:
    # the request may have reached incwo.
    return _native.TransportFailure(kind=kind.RESET, phase=phase.SENT)
