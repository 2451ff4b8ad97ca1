"""A scripted HTTP server on 127.0.0.1 for the client's unit tests: each request gets the next
answer registered for its method and path, as the test wrote it, or none at all.

Why not the PDI simulator: these tests script what no PDI state produces (a 429, then a 503,
then a dropped connection, then a 200, on one path). Why not a stub library: the client talks
to a real socket, so that what it sends (headers, query, body) and what it makes of a dropped
connection are the real thing. Answers are chosen as `responses` chose them: the first
registered answer whose matchers accept the request, used up unless it is the last one left;
a request nothing accepts gets no answer (the connection is closed).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    """One request the server read."""

    method: str
    path: str
    url: str  # path and query, as sent
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Matcher = Callable[[Call], bool]


@dataclass
class Scripted:
    """One registered answer: `drop` closes the connection instead of answering."""

    method: str
    path: str
    status: int = 200
    json: Any = None
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False
    match: Sequence[Matcher] = ()

    def accepts(self, call: Call) -> bool:
        return (
            call.method == self.method
            and call.path == self.path
            and all(m(call) for m in self.match)
        )


def query_is(expected: Mapping[str, str]) -> Matcher:
    return lambda call: call.query == dict(expected)


def header_is(name: str, value: str) -> Matcher:
    return lambda call: call.headers.get(name.lower()) == value


def json_is(expected: Any) -> Matcher:
    return lambda call: bool(call.body) and call.json() == expected


class ScriptedServer:
    """Start with `start()`, register answers with `add`, read `calls`; `stop()` at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: list[Scripted] = []
        self.calls: list[Call] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def start(self) -> ScriptedServer:
        threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def add(self, method: str, path: str, *, drop: bool = False, **answer: Any) -> None:
        with self._lock:
            self._answers.append(Scripted(method, path, drop=drop, **answer))

    def replace(self, method: str, path: str, **answer: Any) -> None:
        """The answers for `method path` (without matchers) become this one."""
        with self._lock:
            self._answers = [
                a for a in self._answers if (a.method, a.path) != (method, path) or a.match
            ]
        self.add(method, path, **answer)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if (c.method, c.path) == (method, path)]

    def answer_for(self, call: Call) -> Scripted | None:
        with self._lock:
            self.calls.append(call)
            accepting = [a for a in self._answers if a.accepts(call)]
            if not accepting:
                return None
            if len(accepting) > 1:
                self._answers.remove(accepting[0])
            return accepting[0]


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # kept-alive connections, as PDI's
        disable_nagle_algorithm = True  # headers and body apart must not wait for an ACK

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            call = Call(
                method=self.command,
                path=parts.path,
                url=self.path,
                query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            scripted = server.answer_for(call)
            if scripted is None or scripted.drop:
                self.close_connection = True  # no answer at all: the client's answer is lost
                return
            content = (
                json.dumps(scripted.json).encode()
                if scripted.json is not None
                else scripted.body.encode()
            )
            self.send_response(scripted.status)
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            if scripted.json is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    return Handler
