"""Changes made in incwo, brought back to the host (docs/INBOUND.md): the
webhook intake, the re-read and change detection, and polling. The core
decides everything through four JSON calls (``inbound.webhook``,
``inbound.fetch``, ``inbound.detect``, ``inbound.poll``); this module only
marshals them and moves the bytes over httpx.

    inbound = Inbound(server, business_file_id, login=…, password=…,
                      options={"company": "acme"}, store=same_store_as_the_connector)
    answer = inbound.webhook(body, content_type=…, remote_addr=…, presented_secret=…,
                             settings={"secret": …, "allowNetworks": […]})   # answer at once
    events, failed = inbound.process([answer["target"]])                    # later, in a worker
    events, state = inbound.poll(state, page_budget=10)                      # or a periodic job
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs, urlsplit

import httpx

from . import core, transport
from .connector import now_ms
from .core import Profile, profile_text
from .errors import IncwoError
from .stores import CheckpointStore, MemoryCheckpointStore

__all__ = ["Inbound", "WebhookEndpoint", "WEBHOOK_PATH", "MAX_BODY", "MAX_CONNECTIONS", "redact"]

#: The path of the webhook endpoint; the secret is the segment after it.
WEBHOOK_PATH = "/incwo/webhook"
#: Largest body read: a longer one is answered 413 unread (the core refuses
#: anything over 64 KiB anyway).
MAX_BODY = 1024 * 1024
#: Connections served at once; the next ones are answered 503 at once.
MAX_CONNECTIONS = 64
#: Seconds a client has for each read of its request.
REQUEST_TIMEOUT = 10.0
_THROTTLE_ENTRIES = 4096
#: What to do when the core refuses webhooks for want of a secret.
NO_SECRET_HINT = "set settings['secret'] (a long random value) and register the URL with it in incwo"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: 16\r\n\r\n{\"error\":\"busy\"}"
)
_LOG = logging.getLogger("incwo_connector.inbound")


def _response_json(response: httpx.Response) -> Dict[str, Any]:
    body = response.content
    out: Dict[str, Any] = {"status": response.status_code, "headers": [[n, v] for n, v in response.headers.multi_items()]}
    try:
        out["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        out["bodyBase64"] = base64.b64encode(body).decode("ascii")
    return out


class Inbound:
    """The host side of inbound sync. ``store`` holds the flow checkpoint
    (its ledger is compared and updated); share it with the Connector."""

    def __init__(
        self,
        server: str,
        business_file_id: Union[str, int],
        *,
        login: Optional[str] = None,
        password: Optional[str] = None,
        token: Optional[str] = None,
        config: Optional[Mapping[str, Any]] = None,
        profile: Profile = None,
        options: Optional[Mapping[str, Any]] = None,
        store: Optional[CheckpointStore] = None,
        timeout: float = 10.0,
        client: Optional[httpx.Client] = None,
    ) -> None:
        cfg: Dict[str, Any] = {"server": server, "businessFileId": str(business_file_id)}
        if token is not None:
            cfg["auth"] = {"type": "bearer", "token": token}
        elif login is not None or password is not None:
            cfg["auth"] = {"type": "basic", "login": login, "password": password}
        cfg.update(config or {})
        self._config = cfg
        self._profile = profile_text(profile)
        self._options = dict(options or {})
        self.store: CheckpointStore = store if store is not None else MemoryCheckpointStore()
        self.timeout = timeout
        self._client = client

    def __repr__(self) -> str:  # never the credentials
        return f"Inbound(server={self._config.get('server')!r})"

    def _args(self, extra: Dict[str, Any]) -> Dict[str, Any]:
        args = dict(extra)
        args["config"] = self._config
        args["options"] = self._options
        args["now"] = now_ms()
        if self._profile is not None:
            args["profile"] = self._profile
        checkpoint = self.store.load()
        if checkpoint is not None:
            args["checkpoint"] = checkpoint
        else:
            args["entries"] = []
        return args

    def _keep(self, result: Mapping[str, Any]) -> None:
        checkpoint = result.get("checkpoint")
        if isinstance(checkpoint, str):
            self.store.save(checkpoint)

    def _send(self, client: httpx.Client, request: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        body = request.get("body") or ""
        content = base64.b64decode(body) if request.get("bodyEncoding") == "base64" else body.encode("utf-8")
        headers = [(h["name"], h["value"]) for h in request.get("headers", [])]
        try:
            response = client.request(request["method"], request["url"], headers=headers, content=content or None)
        except httpx.RequestError:
            return None
        return _response_json(response)

    def _with_client(self) -> Tuple[httpx.Client, bool]:
        if self._client is not None:
            return self._client, False
        return transport.new_client(self.timeout), True

    @staticmethod
    def webhook(
        body: bytes,
        *,
        content_type: Optional[str],
        remote_addr: Optional[str],
        presented_secret: Optional[str],
        settings: Mapping[str, Any],
        insecure_no_secret: bool = False,
    ) -> Dict[str, Any]:
        """The intake of one webhook call: ``{"status", "intake"?, "target"?,
        "error"?}``. Answer incwo with ``status`` at once and queue ``target``.
        Without a ``secret`` in ``settings`` the core answers 503
        (``inbound.no_secret``) unless ``insecure_no_secret`` says the host
        accepts unauthenticated calls on purpose (it sets the core's
        ``insecureNoSecret``, which ``settings`` cannot set by themselves)."""
        intake = {k: v for k, v in settings.items() if k != "insecureNoSecret"}
        if insecure_no_secret:
            intake["insecureNoSecret"] = True
        args = {
            "bodyBase64": base64.b64encode(body).decode("ascii"),
            "contentType": content_type,
            "remoteAddr": remote_addr,
            "presentedSecret": presented_secret,
            "settings": intake,
        }
        try:
            return core.call("inbound.webhook", args)
        except IncwoError as error:  # a refusal carries its status
            return error.error if "status" in error.error else {"status": 500, "error": error.error}

    def process(self, targets: List[Mapping[str, Any]]) -> Tuple[List[Dict[str, Any]], List[Tuple[Any, str]]]:
        """Re-reads each queued target and compares it with the ledger:
        the ``{queue, event}`` publications and the targets to retry (with why)."""
        events: List[Dict[str, Any]] = []
        failed: List[Tuple[Any, str]] = []
        client, own = self._with_client()
        try:
            for target in targets:
                try:
                    fetch = core.call("inbound.fetch", self._args({"target": target}))
                except IncwoError as error:
                    failed.append((target, f"inbound.fetch: {error.message}"))
                    continue
                response = self._send(client, fetch["request"])
                if response is None:
                    failed.append((target, "re-reading failed in transport"))
                    continue
                try:
                    result = core.call(
                        "inbound.detect", self._args({"target": target, "response": response, "source": "webhook"})
                    )
                except IncwoError as error:
                    failed.append((target, f"inbound.detect: {error.message}"))
                    continue
                self._keep(result)
                events.extend(result.get("events", []))
        finally:
            if own:
                client.close()
        return events, failed

    def poll(self, state: Any = None, page_budget: int = 10) -> Tuple[List[Dict[str, Any]], Any]:
        """One polling run: the publications and the poll state to keep for
        the next run. Raises :class:`RuntimeError` when the run stopped."""
        events: List[Dict[str, Any]] = []
        client, own = self._with_client()
        try:
            result = core.call("inbound.poll", self._args({"state": state, "pageBudget": page_budget}))
            while True:
                self._keep(result)
                events.extend(result.get("events", []))
                if result.get("stopped"):
                    raise RuntimeError(f"polling stopped: {json.dumps(result['stopped'])}")
                state = result.get("state")
                if result.get("done") or result.get("request") is None:
                    return events, state
                response = self._send(client, result["request"])
                if response is None:
                    raise RuntimeError("a list page could not be read (transport); the next run resumes")
                result = core.call("inbound.poll", self._args({"state": state, "response": response}))
        finally:
            if own:
                client.close()


def redact(text: str) -> str:
    """``text`` through the core's redaction (``telemetry.redact``): the
    webhook secret segment, ``token`` parameters, credentials, e-mails and
    phone numbers go. Every log line of this module passes through it."""
    try:
        return str(core.call("telemetry.redact", {"text": text})["text"])
    except IncwoError:
        return "[unredactable log line]"


def _log(level: int, text: str) -> None:
    _LOG.log(level, "%s", redact(text))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class WebhookEndpoint:
    """A minimal webhook endpoint (stdlib HTTP server, one thread per
    connection): answers each call at once with the core's status and queues
    the targets; a worker takes them with :meth:`take` and hands them to
    :meth:`Inbound.process`. Frameworks call :meth:`Inbound.webhook` from
    their own route instead.

    Secure by default: without a ``secret`` in ``settings`` the core answers
    every call 503 ``inbound.no_secret`` (logged once) unless ``insecure_no_secret=True``, which is
    accepted on a loopback ``host`` only; at most :data:`MAX_CONNECTIONS`
    connections are served at once (the next are answered 503); bodies over
    :data:`MAX_BODY` are answered 413 unread; an address that presented a
    wrong secret 10 times in a minute is answered 429 (the core's
    ``inbound.throttle``) until the minute ends. Log lines (logger
    ``incwo_connector.inbound``) go through the core's redaction."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        insecure_no_secret: bool = False,
    ) -> None:
        if insecure_no_secret and not _is_loopback(host):
            raise ValueError(
                f"insecure_no_secret listens on loopback only ({host} is not): set settings['secret'] to listen on {host}"
            )
        self.settings = dict(settings)
        self._insecure_no_secret = insecure_no_secret
        self._queue: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._throttle: Dict[str, Any] = {}
        self._no_secret_logged = False
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT  # an idle or slow client frees its slot

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's access log: the URL carries the secret
                pass

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path != WEBHOOK_PATH and not parts.path.startswith(WEBHOOK_PATH + "/"):
                    return self._answer(404, {"error": "not found"})
                address = str(self.client_address[0])
                refused = endpoint._check(address)
                if refused is not None:
                    return self._refuse_unread(
                        429,
                        {"error": "inbound.too_many_failures", "message": refused["error"]["message"]},
                        {"Retry-After": str(refused["retryAfterSeconds"])},
                    )
                if self.headers.get("Transfer-Encoding"):
                    return self._refuse_unread(411, {"error": "send the body with a Content-Length"})
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0:
                    return self._refuse_unread(400, {"error": "bad Content-Length"})
                if length > MAX_BODY:
                    return self._refuse_unread(413, {"error": "the body is over 1 MiB"})
                body = self.rfile.read(length) if length > 0 else b""
                secret = parts.path[len(WEBHOOK_PATH) :].strip("/") or None
                if secret is None:
                    secret = (parse_qs(parts.query).get("token") or [None])[0]
                result = Inbound.webhook(
                    body,
                    content_type=self.headers.get("Content-Type"),
                    remote_addr=f"{address}:{self.client_address[1]}",
                    presented_secret=secret,
                    settings=endpoint.settings,
                    insecure_no_secret=endpoint._insecure_no_secret,
                )
                if isinstance(result.get("target"), dict):
                    with endpoint._lock:
                        endpoint._queue.append(result["target"])
                error = result.get("error")
                status = int(result.get("status", 500))
                if error and error.get("code") == "inbound.no_secret":
                    endpoint._log_no_secret(str(error.get("message", "")))
                    retry_after = result.get("retryAfterSeconds")
                    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                    return self._answer(status, {"error": error.get("code"), "message": error.get("message")}, headers)
                if error:
                    if error.get("code") == "inbound.bad_secret":
                        endpoint._failed(address)
                    _log(logging.WARNING, f"webhook POST {self.path} from {address}: {status} {error.get('code')}")
                answer = {"accepted": True} if not error else {"error": error.get("code"), "message": error.get("message")}
                self._answer(status, answer)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(405, {"error": "POST only"})

            def _refuse_unread(self, status: int, body: Dict[str, Any], headers: Optional[Mapping[str, str]] = None) -> None:
                """Answers before the body was read, then half-closes and
                drains what the client still sends (bounded), so the answer
                reaches it instead of being lost to a connection reset."""
                self._answer(status, body, headers)
                try:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_WR)
                    self.connection.settimeout(0.5)
                    drained = 0
                    while drained < 2 * MAX_BODY:
                        chunk = self.connection.recv(65536)
                        if not chunk:
                            break
                        drained += len(chunk)
                except OSError:
                    pass

            def _answer(self, status: int, body: Dict[str, Any], headers: Optional[Mapping[str, str]] = None) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status >= 400:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

        self._server = _BoundedServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="incwo-webhooks", daemon=True)
        self._thread.start()
        if self._insecure_no_secret and not self._has_secret():
            _log(logging.WARNING, "webhooks are accepted WITHOUT a secret (insecure_no_secret), on loopback only")

    def _has_secret(self) -> bool:
        secret = self.settings.get("secret")
        return isinstance(secret, str) and secret.strip() != ""

    def _log_no_secret(self, why: str) -> None:
        """The core refuses every call for want of a secret: say why once."""
        with self._lock:
            first, self._no_secret_logged = not self._no_secret_logged, True
        if first:
            _log(logging.ERROR, f"webhooks are refused (503 inbound.no_secret): {why}; {NO_SECRET_HINT}")

    def _check(self, address: str) -> Optional[Dict[str, Any]]:
        """The core's refusal when ``address`` made too many failures, else None."""
        with self._lock:
            state = self._throttle.get(address)
        try:
            result = core.call("inbound.throttle", {"state": state, "now": now_ms()})
        except IncwoError as error:  # a refusal may come as the error document
            result = error.error
        return None if result.get("allowed", True) else result

    def _failed(self, address: str) -> None:
        with self._lock:
            state = self._throttle.get(address)
            try:
                result = core.call("inbound.throttle", {"state": state, "now": now_ms(), "failed": True})
            except IncwoError as error:  # refused from now on: the state is in the refusal
                result = error.error
            self._throttle[address] = result["state"]
            if len(self._throttle) > _THROTTLE_ENTRIES:
                cutoff = now_ms() - 60_000
                self._throttle = {a: s for a, s in self._throttle.items() if s["windowStart"] > cutoff}

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def url(self, secret: Optional[str]) -> str:
        """The URL to register in incwo (the secret as the last path segment)."""
        base = f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"
        return f"{base}/{secret}" if secret else base

    def take(self) -> List[Dict[str, Any]]:
        """The targets queued so far (the host's message queue)."""
        with self._lock:
            taken, self._queue = self._queue, []
        return taken

    def close(self) -> None:
        """Stops the server."""
        self._server.shutdown()
        self._server.server_close()


class _BoundedServer(ThreadingHTTPServer):
    """A threading server that serves at most :data:`MAX_CONNECTIONS`
    connections at once and answers the next ones 503 at once."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: Tuple[str, int], handler: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(0.5)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
