"""HTTP plumbing shared by the API simulators.

Each simulator is an ``App`` that turns a ``Request`` into a ``Response``; this module
owns the socket side: threading, JSON encoding, and the fault-injection switches
(latency and latency spikes, failures, the requests of one record refused, 429 above a
rate, dropped connections, the whole API down) that tests flip at run time through
``POST /__admin/switches``.

It also holds the base of the apps' *answers* (``Answers``): one field per open question
of an API reference, each with its allowed values, the harsh one (hardest for a client)
by default. Apps that have answers define ``answers`` and ``update_answers(changes)``;
the base then serves ``GET|POST /__admin/answers`` for them and ``run_cli`` adds the
``--answers harsh|lenient`` and ``--answer NAME=VALUE`` flags.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Protocol, Self, cast, get_args, get_type_hints
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
    # Latency spikes: this fraction of requests waits spike_ms more (on top of latency_ms),
    # the slow tail that a client's timeouts and concurrency must live with.
    spike_rate: float = 0.0
    spike_ms: float = 200
    fail_rate: float = 0.0
    fail_status: int = 503
    fail_next: int = 0
    # Every request whose body holds this text fails with fail_status, until the switch is
    # cleared (null): the API refusing one record for a reason of its own (say a contact, by
    # its email), then taking it again, as a record that a later run's retry can write.
    fail_body_containing: str | None = None
    rate_limit: float | None = None
    retry_after: int | None = None
    drop_rate: float = 0.0
    drop_next: int = 0
    # Interpreted by apps that write: the write is done, then the connection dropped,
    # which is how a client loses the answer to a create that did happen.
    drop_after_write_next: int = 0
    # The API is down: every API request is read and its connection closed unanswered
    # (the client sees a connection error); /__admin/* keeps answering, so a test can
    # bring the API back.
    down: bool = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial change. Every value is checked first, so a rejected change
        leaves every switch as it was (``{"down": "false"}`` must not take the API down)."""
        if not isinstance(changes, Mapping):
            raise ValueError("switches: expected a JSON object of name: value")
        hints = get_type_hints(type(self))
        unknown = set(changes) - set(hints)
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}; known: {sorted(hints)}")
        for name, value in changes.items():
            _check_switch(name, value, hints[name])
        for name, value in changes.items():
            setattr(self, name, value)


def _check_switch(name: str, value: Any, annotation: Any) -> None:
    allowed = get_args(annotation) or (annotation,)
    if value is None:
        ok = type(None) in allowed
    elif isinstance(value, bool):  # before int: True is an int in Python, not in JSON
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
    elif isinstance(value, float):
        ok = float in allowed and math.isfinite(value)
    elif isinstance(value, str):
        ok = str in allowed and bool(value)
    else:
        ok = False
    spelled = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    if not ok:
        raise ValueError(
            f"invalid value {json.dumps(value, default=repr)} for switch {name}: expected {spelled}"
        )
    if value is None or isinstance(value, bool | str):
        return
    if value < 0 or (name.endswith("_rate") and value > 1):
        bounds = "between 0 and 1" if name.endswith("_rate") else "0 or more"
        raise ValueError(f"invalid value {value} for switch {name}: expected {bounds}")
    if name == "fail_status" and not 100 <= value <= 599:
        raise ValueError(f"invalid value {value} for switch {name}: expected an HTTP status")


PRESETS = ("harsh", "lenient")


def answer(*choices: Any, harsh: Any, lenient: Any) -> Any:
    """A field of an ``Answers`` dataclass: its allowed values; the harsh one is the default."""
    if harsh not in choices or lenient not in choices:
        raise ValueError(f"harsh {harsh!r} and lenient {lenient!r} must be among {choices!r}")
    return field(default=harsh, metadata={"choices": choices, "lenient": lenient})


def _same_value(a: Any, b: Any) -> bool:
    # ``1 == True`` in Python; an answer of ``1`` must not pass for ``true``.
    return type(a) is type(b) and a == b


@dataclass
class Answers:
    """Base of an app's answers to the open questions of its API reference.

    A subclass is a dataclass whose fields are made with ``answer(...)``. ``update``
    checks every change before applying any, so a rejected request changes nothing.
    """

    TITLE: ClassVar[str] = "answers"

    @classmethod
    def choices(cls) -> dict[str, tuple[Any, ...]]:
        return {f.name: tuple(f.metadata["choices"]) for f in fields(cls)}

    @classmethod
    def preset(cls, name: str) -> dict[str, Any]:
        """``harsh`` (the defaults) or ``lenient`` (the other answer of each), as a new dict."""
        if name == "harsh":
            return {f.name: f.default for f in fields(cls)}
        if name == "lenient":
            return {f.name: f.metadata["lenient"] for f in fields(cls)}
        raise ValueError(f"unknown preset {name!r}; expected one of {list(PRESETS)}")

    @classmethod
    def check(cls, changes: Mapping[str, Any]) -> None:
        """ValueError naming the first unknown name or invalid value in ``changes``."""
        if not isinstance(changes, Mapping):
            raise ValueError(f"{cls.TITLE}: expected a JSON object of name: value")
        allowed = cls.choices()
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {cls.TITLE} {unknown}; known: {sorted(allowed)}")
        for name, value in changes.items():
            if not any(_same_value(value, choice) for choice in allowed[name]):
                # JSON spellings: the values come from JSON bodies and CLI flags.
                raise ValueError(
                    f"invalid value {json.dumps(value, default=repr)} for {name}; "
                    f"expected one of {json.dumps(list(allowed[name]))}"
                )

    @classmethod
    def build(cls, changes: Mapping[str, Any] | None = None) -> Self:
        """The harsh answers with ``changes`` applied."""
        answers = cls()
        answers.update(changes or {})
        return answers

    def update(self, changes: Mapping[str, Any]) -> None:
        self.check(changes)
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class HasAnswers(Protocol):
    """An app with answers (see ``Answers``); ``update_answers`` returns the new answers."""

    answers: Answers

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]: ...


def parse_answer_flag(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` with a JSON-ish value: ``true``/``false``/numbers, else the raw string."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--answer {text!r}: expected NAME=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


def answers_from_flags(
    answers_class: type[Answers], preset: str, flags: Sequence[str]
) -> dict[str, Any]:
    """The preset's answers with every ``--answer`` applied in order (ValueError if bad)."""
    values = answers_class.preset(preset)
    for text in flags:
        name, value = parse_answer_flag(text)
        answers_class.check({name: value})
        values[name] = value
    return values


def add_answer_arguments(parser: argparse.ArgumentParser, answers_class: type[Answers]) -> None:
    names = ", ".join(
        f"{name} ({'|'.join(json.dumps(c) for c in choices)})"
        for name, choices in answers_class.choices().items()
    )
    parser.add_argument(
        "--answers",
        choices=PRESETS,
        default="harsh",
        help="preset of answers to the open API questions (default: harsh)",
    )
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override one answer after the preset (repeatable): {names}",
    )


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
        """The switches, in the order a request meets them on its way in: an API that is
        down answers nothing (and uses up no other switch, so a fault a test queued with
        ``*_next`` still comes after the outage); a dropped connection never reaches the
        rate limiter, so it does not count towards the rate; a throttled request is 429,
        never a 5xx; only a request let through can fail."""
        server, switches = self.server, self.server.switches
        if switches.down:
            return Response(drop=True)
        delay_ms = switches.latency_ms
        if server.chance(switches.spike_rate):
            delay_ms += switches.spike_ms
        if delay_ms:
            time.sleep(delay_ms / 1000)
            # An outage that began while the request waited cuts it off too: nothing
            # reaches the app once the API is down.
            if switches.down:
                return Response(drop=True)
        if server.consume("drop_next") or server.chance(switches.drop_rate):
            return Response(drop=True)
        if switches.rate_limit and server.rate_window.over_limit(
            request.client_ip, switches.rate_limit
        ):
            return self._throttled(switches.retry_after)
        if server.consume("fail_next") or server.chance(switches.fail_rate):
            return Response(switches.fail_status, {"error": "injected failure"})
        marked = switches.fail_body_containing
        if marked and marked.encode() in request.body:
            return Response(switches.fail_status, {"error": "injected failure"})
        return None

    def _throttled(self, retry_after: int | None) -> Response:
        """429, with ``Retry-After`` when the switch gives one. The body is the app's
        (``throttled_body(retry_after)``), else Mobilize's: Django REST Framework's
        throttle message in Mobilize's error envelope."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        make_body = getattr(self.server.app, "throttled_body", None)
        if callable(make_body):
            return Response(429, make_body(retry_after), headers)
        detail = "Request was throttled."
        if retry_after is not None:
            unit = "second" if retry_after == 1 else "seconds"
            detail += f" Expected available in {retry_after} {unit}."
        return Response(429, {"data": None, "error": {"detail": detail}}, headers)

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
        if request.path.rstrip("/") == "/__admin/answers":
            answers_response = self._answers(request)
            if answers_response is not None:
                return answers_response
        try:
            answer = server.app.admin(request)
        except BadJson as exc:
            answer = Response(400, {"message": str(exc)})
        return answer or Response(
            404, {"message": f"no admin route {request.method} {request.path}"}
        )

    def _answers(self, request: Request) -> Response | None:
        """``GET|POST /__admin/answers`` for apps that have answers (None otherwise)."""
        app = self.server.app
        if not isinstance(getattr(app, "answers", None), Answers):
            return None
        holder = cast(HasAnswers, app)
        if request.method == "GET":
            return Response(200, holder.answers.as_dict())
        if request.method != "POST":
            return None
        try:
            changes = request.json()
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of answer name: value")
            return Response(200, holder.update_answers(changes))
        except (BadJson, ValueError) as exc:
            return Response(400, {"message": str(exc)})

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
    parser.add_argument(
        "--spike-rate", type=float, default=0.0, help="fraction of requests delayed by --spike-ms"
    )
    parser.add_argument(
        "--spike-ms", type=float, default=200, help="extra delay of a spike (default 200)"
    )
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests/s per client; above: 429"
    )
    parser.add_argument("--retry-after", type=int, default=None, help="Retry-After seconds on 429s")
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument(
        "--down",
        action="store_true",
        help="start down: API requests closed unanswered until POST /__admin/switches "
        '{"down": false}',
    )


def switches_from_args(args: argparse.Namespace) -> Switches:
    """The switches the flags give, checked as ``POST /__admin/switches`` checks them
    (ValueError naming the switch)."""
    switches = Switches()
    switches.update(
        {
            "latency_ms": args.latency_ms,
            "spike_rate": args.spike_rate,
            "spike_ms": args.spike_ms,
            "fail_rate": args.fail_rate,
            "fail_status": args.fail_status,
            "rate_limit": args.rate_limit,
            "retry_after": args.retry_after,
            "drop_rate": args.drop_rate,
            "down": args.down,
        }
    )
    return switches


def run_cli(
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    build_app: Callable[[argparse.Namespace], App],
    argv: Sequence[str] | None = None,
    answers_class: type[Answers] | None = None,
) -> None:
    """Parse flags, build the app, and serve until interrupted.

    With ``answers_class``, ``--answers``/``--answer`` are added and ``build_app`` finds
    the resulting answers (a full dict) in ``args.answer_values``.
    """
    parser = argparse.ArgumentParser(description=description)
    add_switch_arguments(parser)
    if answers_class is not None:
        add_answer_arguments(parser, answers_class)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if answers_class is not None:
        try:
            args.answer_values = answers_from_flags(answers_class, args.answers, args.answer)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        switches = switches_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    server = make_server(build_app(args), args.host, args.port, switches)
    print(f"{description} listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
