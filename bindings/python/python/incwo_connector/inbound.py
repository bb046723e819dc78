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
import json
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

__all__ = ["Inbound", "WebhookEndpoint", "WEBHOOK_PATH"]

#: The path of the webhook endpoint; the secret is the segment after it.
WEBHOOK_PATH = "/incwo/webhook"


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
    ) -> Dict[str, Any]:
        """The intake of one webhook call: ``{"status", "intake"?, "target"?,
        "error"?}``. Answer incwo with ``status`` at once and queue ``target``."""
        args = {
            "bodyBase64": base64.b64encode(body).decode("ascii"),
            "contentType": content_type,
            "remoteAddr": remote_addr,
            "presentedSecret": presented_secret,
            "settings": dict(settings),
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


class WebhookEndpoint:
    """A minimal webhook endpoint (stdlib HTTP server in a thread): answers
    each call at once with the core's status and queues the targets; a
    worker takes them with :meth:`take` and hands them to
    :meth:`Inbound.process`. Frameworks call :meth:`Inbound.webhook` from
    their own route instead."""

    def __init__(self, settings: Mapping[str, Any], host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings = dict(settings)
        self._queue: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # no request logs (URLs carry the secret)
                pass

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if not parts.path.startswith(WEBHOOK_PATH):
                    return self._answer(404, {"error": "not found"})
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                secret = parts.path[len(WEBHOOK_PATH) :].strip("/") or None
                if secret is None:
                    secret = (parse_qs(parts.query).get("token") or [None])[0]
                result = Inbound.webhook(
                    body,
                    content_type=self.headers.get("Content-Type"),
                    remote_addr=f"{self.client_address[0]}:{self.client_address[1]}",
                    presented_secret=secret,
                    settings=endpoint.settings,
                )
                if isinstance(result.get("target"), dict):
                    with endpoint._lock:
                        endpoint._queue.append(result["target"])
                error = result.get("error")
                answer = {"accepted": True} if not error else {"error": error.get("code"), "message": error.get("message")}
                self._answer(int(result.get("status", 500)), answer)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(405, {"error": "POST only"})

            def _answer(self, status: int, body: Dict[str, Any]) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="incwo-webhooks", daemon=True)
        self._thread.start()

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
