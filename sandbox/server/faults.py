"""The switches applied to an API request on its way in, before the app sees it."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

from sandbox.server.messages import App, Request, Response
from sandbox.server.switches import Switches


class RateWindow:
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


class FaultSource(Protocol):
    """What the faults read of the server (``http_server.SandboxServer``)."""

    app: App
    switches: Switches
    rate_window: RateWindow

    def consume(self, name: str) -> bool: ...

    def chance(self, rate: float) -> bool: ...


def injected_fault(server: FaultSource, request: Request) -> Response | None:
    """The switches, in the order a request meets them on its way in: an API that is
    down answers nothing (and uses up no other switch, so a fault a test queued with
    ``*_next`` still comes after the outage); a dropped connection never reaches the
    rate limiter, so it does not count towards the rate; a throttled request is 429,
    never a 5xx; only a request let through can fail."""
    switches = server.switches
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
        return _throttled(server, switches.retry_after)
    if server.consume("fail_next") or server.chance(switches.fail_rate):
        return Response(switches.fail_status, {"error": "injected failure"})
    marked = switches.fail_body_containing
    if marked and marked.encode() in request.body:
        return Response(switches.fail_status, {"error": "injected failure"})
    return None


def _throttled(server: FaultSource, retry_after: int | None) -> Response:
    """429, with ``Retry-After`` when the switch gives one. The body is the app's
    (``throttled_body(retry_after)``), else Mobilize's: Django REST Framework's
    throttle message in Mobilize's error envelope."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    make_body = getattr(server.app, "throttled_body", None)
    if callable(make_body):
        return Response(429, make_body(retry_after), headers)
    detail = "Request was throttled."
    if retry_after is not None:
        unit = "second" if retry_after == 1 else "seconds"
        detail += f" Expected available in {retry_after} {unit}."
    return Response(429, {"data": None, "error": {"detail": detail}}, headers)
