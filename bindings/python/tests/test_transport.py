"""transport_failure on real httpx failures: the phase comes from httpx's
exception classes, never from the message. Real requests against loopback
servers that fail at each step (the TLS faults after a completed handshake
run against incwo-sim in test_tls_matrix.py)."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator

import httpx
import pytest

import incwo_connector as ic
from incwo_connector.transport import new_client, transport_failure

Kind, Phase = ic.TransportKind, ic.TransportPhase


def serve(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-thread TCP server on 127.0.0.1 whose connections `handle` deals with."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                handle(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def read_request(conn: socket.socket) -> None:
    seen = b""
    while b"\r\n\r\n" not in seen:
        chunk = conn.recv(8192)
        if not chunk:
            return
        seen += chunk


def close_after_request(conn: socket.socket) -> None:
    read_request(conn)


def reset_after_request(conn: socket.socket) -> None:
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def silent(conn: socket.socket) -> None:
    read_request(conn)
    conn.settimeout(2.0)
    try:
        while conn.recv(8192):  # the body, then nothing until the client gives up
            pass
    except OSError:
        pass


def cut_body(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: 100\r\n\r\n<?xml")


def close_at_once(conn: socket.socket) -> None:
    pass


def not_tls(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")


def failure(url: str, timeout: float = 2.0) -> ic.TransportFailure:
    with new_client(timeout) as client:
        with pytest.raises(httpx.RequestError) as caught:
            client.post(url, content=b"<firm/>").read()
    return transport_failure(caught.value)


@pytest.mark.parametrize(
    "scheme, handle, kind, phase",
    [
        ("http", close_after_request, Kind.RESET, Phase.SENT),
        ("http", reset_after_request, Kind.RESET, Phase.SENT),
        ("http", cut_body, Kind.RESET, Phase.SENT),
        ("http", silent, Kind.TIMEOUT, Phase.SENT),
        ("https", close_at_once, None, None),
        ("https", not_tls, Kind.TLS, Phase.TLS_HANDSHAKE),
    ],
    ids=["closed after the request", "reset after the request", "body cut", "no answer", "TLS: closed before the handshake", "TLS: not a TLS server"],
)
def test_each_failure_has_the_phase_it_reached(scheme: str, handle: Callable[[socket.socket], None], kind: object, phase: object) -> None:
    server = serve(handle)
    port = next(server)
    try:
        got = failure(f"{scheme}://127.0.0.1:{port}/123456/firms.xml", timeout=0.5 if handle is silent else 2.0)
    finally:
        next(server, None)
    if kind is None:
        # Closed before any TLS byte: never sent, whether httpx saw an SSL EOF or a reset while connecting.
        assert got.phase in (Phase.TLS_HANDSHAKE, Phase.CONNECT), got
    else:
        assert (got.kind, got.phase) == (kind, phase)


def test_a_refused_connection_and_an_unknown_host_end_before_sending() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = failure(f"http://127.0.0.1:{port}/x")
    assert (got.kind, got.phase) == (Kind.CONNECT_REFUSED, Phase.CONNECT)
    got = failure("http://nowhere.invalid/x")
    assert (got.kind, got.phase) == (Kind.DNS, Phase.CONNECT)


def test_the_message_is_never_read() -> None:
    # A read error whose text speaks of a refused TLS handshake is still after sending.
    got = transport_failure(httpx.ReadError("SSL handshake failed: connection refused"))
    assert (got.kind, got.phase) == (Kind.RESET, Phase.SENT)
    got = transport_failure(httpx.ConnectError("Connection reset by peer after the request was sent"))
    assert (got.kind, got.phase) == (Kind.CONNECT_REFUSED, Phase.CONNECT)
