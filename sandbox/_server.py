"""HTTP plumbing shared by the API simulators.

Each simulator is an ``App`` that turns a ``Request`` into a ``Response``; this module
owns the socket side: threading, JSON encoding, and the fault-injection switches
(latency, failures, 429 above a rate, dropped connections) that tests flip at run time
through ``POST /__admin/switches``.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, urlsplit


class BadJson(ValueError):
    """The request body is not valid JSON."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: Mapping[str, str]
    body: bytes
    client_ip: str
    base_url: str
    # Set by the app to a route template ("GET /v1/organizations/{id}/events") so that
    # stats group requests by endpoint rather than by concrete id.
    route: str | None = None

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadJson(str(exc)) from exc

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Close the socket without answering: the client sees a dropped connection.
    drop: bool = False


class App(Protocol):
    def handle(self, request: Request) -> Response: ...

    def admin(self, request: Request) -> Response | None: ...


@dataclass
class Switches:
    latency_ms: float = 0
    fail_rate: float = 0.0
    fail_status: int = 503
    fail_next: int = 0
    rate_limit: float | None = None
    retry_after: int | None = None
    drop_rate: float = 0.0
    drop_next: int = 0
    # Interpreted by apps that write: the write is done, then the connection dropped,
    # which is how a client loses the answer to a create that did happen.
    drop_after_write_next: int = 0

    def update(self, changes: Mapping[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, value)


class _RateWindow:
    """Sliding one-second window of request times per client address."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def over_limit(self, client: str, limit: float) -> bool:
        now = time.monotonic()
        with self._lock:
            window = self._seen.setdefault(client, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return True
            window.append(now)
            return False


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog (5) drops connections under a concurrent client.
    request_queue_size = 128

    def __init__(self, app: App, host: str, port: int, switches: Switches, seed: int = 0):
        self.app = app
        self.switches = switches
        self.rng = random.Random(seed)
        self.rate_window = _RateWindow()
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
            response = self._admin(request)
            self._send(response)
            return
        response = self._faults(request) or self._handle(request)
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

    def _faults(self, request: Request) -> Response | None:
        server, switches = self.server, self.server.switches
        if switches.latency_ms:
            time.sleep(switches.latency_ms / 1000)
        if server.consume("drop_next") or server.chance(switches.drop_rate):
            return Response(drop=True)
        if switches.rate_limit and server.rate_window.over_limit(
            request.client_ip, switches.rate_limit
        ):
            headers = {}
            if switches.retry_after is not None:
                headers["Retry-After"] = str(switches.retry_after)
            return Response(
                429, {"data": None, "error": {"detail": "Request was throttled."}}, headers
            )
        if server.consume("fail_next") or server.chance(switches.fail_rate):
            return Response(switches.fail_status, {"error": "injected failure"})
        return None

    def _admin(self, request: Request) -> Response:
        server = self.server
        route = (request.method, request.path)
        if route == ("GET", "/__admin/health"):
            return Response(200, {"ok": True})
        if route == ("GET", "/__admin/stats"):
            stats = server.stats()
            extra = getattr(server.app, "extra_stats", None)
            if callable(extra):
                stats.update(extra())
            return Response(200, stats)
        if route == ("POST", "/__admin/stats/reset"):
            server.reset_stats()
            reset_extra = getattr(server.app, "reset_extra_stats", None)
            if callable(reset_extra):
                reset_extra()
            return Response(200, server.stats())
        if route == ("GET", "/__admin/switches"):
            return Response(200, asdict(server.switches))
        if route == ("POST", "/__admin/switches"):
            try:
                with server.stats_lock:
                    server.switches.update(request.json() or {})
            except (BadJson, ValueError) as exc:
                return Response(400, {"message": str(exc)})
            return Response(200, asdict(server.switches))
        try:
            answer = server.app.admin(request)
        except BadJson as exc:
            answer = Response(400, {"message": str(exc)})
        return answer or Response(
            404, {"message": f"no admin route {request.method} {request.path}"}
        )

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


def add_switch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests/s per client; above: 429"
    )
    parser.add_argument("--retry-after", type=int, default=None, help="Retry-After seconds on 429s")
    parser.add_argument("--drop-rate", type=float, default=0.0)


def switches_from_args(args: argparse.Namespace) -> Switches:
    return Switches(
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        fail_status=args.fail_status,
        rate_limit=args.rate_limit,
        retry_after=args.retry_after,
        drop_rate=args.drop_rate,
    )


def run_cli(
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    build_app: Callable[[argparse.Namespace], App],
    argv: Sequence[str] | None = None,
) -> None:
    """Parse flags, build the app, and serve until interrupted."""
    parser = argparse.ArgumentParser(description=description)
    add_switch_arguments(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    server = make_server(build_app(args), args.host, args.port, switches_from_args(args))
    print(f"{description} listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
