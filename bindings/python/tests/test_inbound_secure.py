"""The webhook intake is secure by default, over real HTTP on loopback:
no secret, no service (503, logged once); bodies over 1 MiB answered 413
unread; 429 after 10 wrong secrets a minute; 64 connections at once, the
next answered 503; log lines redacted by the core."""

from __future__ import annotations

import logging
import select
import socket
import time
from typing import Iterator, List, Tuple

import httpx
import pytest

import incwo_connector as ic

SECRET = "whsec-python-5d1e0b77aa"
PING = b'{"zname":"bill_sheets","zid":500001}'


@pytest.fixture
def endpoint() -> Iterator[ic.WebhookEndpoint]:
    e = ic.WebhookEndpoint({"secret": SECRET})
    yield e
    e.close()


def post(url: str, body: bytes = PING) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=10, trust_env=False)


def raw(port: int, head: bytes, body: bytes = b"") -> Tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    text = data.decode("latin-1")
    return int(text.split()[1]), text


def test_without_a_secret_every_call_is_refused_503_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="incwo_connector.inbound")
    e = ic.WebhookEndpoint({"allowNetworks": ["127.0.0.1"]})
    try:
        for _ in range(3):
            answer = post(e.url(None))
            assert answer.status_code == 503
            assert answer.json()["error"] == "inbound.no_secret"
            assert answer.headers["Retry-After"] == "60"
        assert e.take() == []
    finally:
        e.close()
    refusals = [r for r in caplog.records if "inbound.no_secret" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
    # The same rule for frameworks calling the intake themselves.
    result = ic.Inbound.webhook(PING, content_type=None, remote_addr=None, presented_secret=None, settings={})
    assert result["status"] == 503 and result["error"]["code"] == "inbound.no_secret"
    # The core's opt-in is the host's flag, not a setting slipped in.
    sneaked = {"insecureNoSecret": True}
    result = ic.Inbound.webhook(PING, content_type=None, remote_addr=None, presented_secret=None, settings=sneaked)
    assert result["status"] == 503 and result["error"]["code"] == "inbound.no_secret"
    result = ic.Inbound.webhook(
        PING, content_type=None, remote_addr=None, presented_secret=None, settings={}, insecure_no_secret=True
    )
    assert result["status"] == 202


def test_no_secret_is_accepted_only_when_named_and_on_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ic.WebhookEndpoint({}, host="0.0.0.0", insecure_no_secret=True)
    e = ic.WebhookEndpoint({}, insecure_no_secret=True)
    try:
        assert post(e.url(None)).status_code == 202
        assert e.take() == [{"resource": "bill_sheets", "id": 500001}]
    finally:
        e.close()


def test_bodies_over_1_mib_are_refused_before_being_read(endpoint: ic.WebhookEndpoint) -> None:
    head = f"POST /incwo/webhook/{SECRET} HTTP/1.1\r\nHost: x\r\nContent-Length: {2 * 1024 * 1024}\r\n\r\n".encode()
    started = time.monotonic()
    status, _ = raw(endpoint.port, head, b"{")
    assert status == 413 and time.monotonic() - started < 3
    # A client that sends the whole 2 MiB still gets the 413, not a reset.
    assert post(endpoint.url(SECRET), b"x" * (2 * 1024 * 1024)).status_code == 413
    # Over the core's 64 KiB but under 1 MiB: read, then refused by the core.
    big = b'{"zname":"bill_sheets","zid":1,"pad":"' + b"x" * (200 * 1024) + b'"}'
    assert post(endpoint.url(SECRET), big).status_code == 413
    assert post(endpoint.url(SECRET)).status_code == 202


def test_ten_wrong_secrets_a_minute_then_429_and_logs_never_carry_a_secret(
    endpoint: ic.WebhookEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="incwo_connector.inbound")
    assert post(endpoint.url(SECRET)).status_code == 202
    assert post(f"http://127.0.0.1:{endpoint.port}/incwo/webhook?zid=1&token={SECRET}").status_code == 202
    for i in range(10):
        assert post(endpoint.url(f"guess-{i}-{SECRET}x")).status_code == 403, i
    answer = post(endpoint.url(SECRET))
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert answer.json()["error"] == "inbound.too_many_failures"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/incwo/webhook/[redacted]" in text and "inbound.bad_secret" in text
    assert SECRET not in text and "guess-" not in text


def holding_connection(port: int) -> socket.socket:
    """A connection that holds a slot: one the server did not answer "busy"
    (the slot of the request just served may not be released yet)."""
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.2)
        readable, _, _ = select.select([s], [], [], 0)
        if not readable:
            return s
        s.close()
    raise AssertionError("every new connection was answered busy")


def test_64_connections_at_once_then_503(endpoint: ic.WebhookEndpoint) -> None:
    idle: List[socket.socket] = []
    try:
        for _ in range(ic.inbound.MAX_CONNECTIONS - 1):
            idle.append(socket.create_connection(("127.0.0.1", endpoint.port)))
        time.sleep(0.2)
        # 63 slots held by idle clients: the 64th connection is still served.
        assert post(endpoint.url(SECRET)).status_code == 202
        idle.append(holding_connection(endpoint.port))
        answer = post(endpoint.url(SECRET))
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 10
    while post(endpoint.url(SECRET)).status_code != 202:
        assert time.monotonic() < deadline, "slots never freed"
        time.sleep(0.1)


def test_redaction_helper_covers_the_credential_forms() -> None:
    text = ic.inbound.redact(
        f'password: hunter2 {{"password":"hunter2"}} /x?a=1&token=t0k Authorization: Basic dXNlcjpwYXNz /incwo/webhook/{SECRET}'
    )
    assert "hunter2" not in text and "t0k" not in text and "dXNlcjpwYXNz" not in text and SECRET not in text
    assert text.count("[redacted]") == 5
