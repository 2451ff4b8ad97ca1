"""The simulators' HTTP server: one thread per connection, keep-alive, JSON answers, and
the request counts of ``/__admin/stats``."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from sandbox.server.admin import admin_response
from sandbox.server.faults import RateWindow, injected_fault
from sandbox.server.messages import App, BadJson, Request, Response
from sandbox.server.switches import Switches


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog (5) drops connections under a concurrent client.
    request_queue_size = 128

    def __init__(self, app: App, host: str, port: int, switches: Switches, seed: int = 0):
        self.app = app
        self.switches = switches
        self.rng = random.Random(seed)
        self.rate_window = RateWindow()
        self.stats_lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.requests = 0
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)
        # Optional hook: an app that needs its server (e.g. to consume the
        # ``drop_after_write_next`` switch) defines ``attach_server(server)``.
        attach = getattr(app, "attach_server", None)
        if callable(attach):
            attach(self)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # AF_INET: never bytes
        return f"http://{host}:{port}"

    def start_in_thread(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def consume(self, name: str) -> bool:
        """Take one from a ``*_next`` counter switch; True when one was left."""
        with self.stats_lock:
            left = getattr(self.switches, name)
            if left > 0:
                setattr(self.switches, name, left - 1)
                return True
            return False

    def chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.stats_lock:
            return self.rng.random() < rate

    def count(self, request: Request, status: int) -> None:
        with self.stats_lock:
            self.requests += 1
            self.by_route[request.route or f"{request.method} {request.path}"] += 1
            self.statuses[str(status)] += 1

    def stats(self) -> dict[str, Any]:
        with self.stats_lock:
            return {
                "requests": self.requests,
                "by_route": dict(self.by_route),
                "statuses": dict(self.statuses),
            }

    def reset_stats(self) -> None:
        with self.stats_lock:
            self.requests = 0
            self.by_route.clear()
            self.statuses.clear()


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each keep-alive answer
    # waits for the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines would bury test output; stats are available on /__admin/stats.
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _read_request(self) -> Request:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            raw_query=split.query,
            headers=cast(Mapping[str, str], self.headers),  # HTTPMessage: case-insensitive
            body=body,
            client_ip=self.client_address[0],
            base_url=f"http://{host}",
        )

    def _dispatch(self) -> None:
        request = self._read_request()
        if request.path.startswith("/__admin/"):
            response = admin_response(self.server, request)
            self._send(response)
            return
        response = injected_fault(self.server, request) or self._handle(request)
        if response.drop:
            self.server.count(request, 0)
            self.close_connection = True
            return
        self.server.count(request, response.status)
        self._send(response)

    def _handle(self, request: Request) -> Response:
        try:
            return self.server.app.handle(request)
        except BadJson as exc:
            return Response(400, {"message": f"The request body is not valid JSON: {exc}"})

    def _send(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        if response.body is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def make_server(
    app: App,
    host: str = "127.0.0.1",
    port: int = 0,
    switches: Switches | None = None,
    seed: int = 0,
) -> SandboxServer:
    """Bind a server for ``app``; port 0 picks a free port (see ``server.url``)."""
    return SandboxServer(app, host, port, switches or Switches(), seed)
