"""Fixtures for tap-mobilize: a stubbed Mobilize over `responses`, and a tap runner."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
import responses

# The repository root holds the `sandbox` package used by test_core.py.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tap_mobilize.tap import TapMobilize  # noqa: E402

API = "https://api.mobilize.test/v1"
ORG = 7
SECRET = "sk-live-DO-NOT-LEAK-4242"

Reply = tuple[int, dict[str, str], Any]
DROPPED = 0


@dataclass
class FakeMobilize:
    """Pages of records per path, cursor-paged like Mobilize: `next` echoes the query."""

    rsps: responses.RequestsMock
    pages: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    # Pages served instead, per (path, query parameter), when the query has that
    # parameter: the same path filtered (e.g. events with timeslot_start) answers otherwise.
    pages_when: dict[tuple[str, str], list[list[dict[str, Any]]]] = field(default_factory=dict)
    # Replies served (in order) before the normal pages, per path: errors, 429s...
    # Status DROPPED stands for a connection dropped before any answer.
    failures: dict[str, list[Reply]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # real monotonic time of each call
    next_base: str = API  # where `next` links point (a test moves it to another host)

    def __post_init__(self) -> None:
        self.rsps.add_callback(
            responses.GET,
            url=re.compile(re.escape(API) + "/.*"),
            callback=self._reply,
        )

    def paths_called(self) -> list[str]:
        return [urlparse(url).path for url in self.calls]

    def calls_to(self, path: str) -> list[str]:
        return [url for url in self.calls if urlparse(url).path == f"/v1{path}"]

    def _reply(self, request: Any) -> tuple[int, dict[str, str], str]:
        url = str(request.url)
        self.calls.append(url)
        self.times.append(time.monotonic())
        parsed = urlparse(url)
        path = parsed.path.removeprefix("/v1")
        queue = self.failures.get(path)
        if queue:
            status, headers, body = queue.pop(0)
            if status == DROPPED:
                raise requests.exceptions.ConnectionError("Connection aborted.")
            return status, headers, json.dumps(body)
        query = parse_qs(parsed.query, keep_blank_values=True)
        pages = self._pages_for(path, query)
        index = int(query.pop("cursor", ["0"])[0])
        next_url = None
        if index + 1 < len(pages):
            echoed = [(k, v) for k, values in query.items() for v in values]
            next_url = f"{self.next_base}{path}?{urlencode([*echoed, ('cursor', str(index + 1))])}"
        body = {
            "count": sum(len(p) for p in pages),
            "next": next_url,
            "previous": None,
            "data": pages[index],
            "metadata": {"url_name": "test"},
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _pages_for(self, path: str, query: dict[str, list[str]]) -> list[list[dict[str, Any]]]:
        for (variant_path, parameter), pages in self.pages_when.items():
            if variant_path == path and parameter in query:
                return pages
        return self.pages.get(path, [[]])


@pytest.fixture
def mobilize() -> Iterator[FakeMobilize]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeMobilize(rsps)


# "Now" for tests that fix the tap's clock (2023-11-14T22:13:20Z).
NOW = 1_700_000_000


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> int:
    """Fix the tap's wall clock (read start, re-check window) at NOW."""
    from tap_mobilize.client import MobilizeStream

    monkeypatch.setattr(MobilizeStream, "now", lambda self: NOW)
    return NOW


class FakeClock:
    """Time that moves only when someone sleeps; every sleep is recorded."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.time = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.time += seconds


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Fake the tap's Clock (rate, retries, budget, outage window) and time.sleep.

    Waits then take no real time, and the time budget or the outage window can run out
    within a test.
    """
    from pacing.clock import Clock

    fake = FakeClock()
    monkeypatch.setattr(Clock, "now", lambda self: fake.now())
    monkeypatch.setattr(Clock, "sleep", lambda self, seconds: fake.sleep(seconds))
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake


@pytest.fixture
def sleeps(fake_clock: FakeClock) -> list[float]:
    """Record waits (429 pauses, pacing, backoff) instead of sleeping."""
    return fake_clock.slept


@pytest.fixture
def config() -> dict[str, Any]:
    return {
        "api_url": API,
        "api_key": SECRET,
        "organization_id": ORG,
        "per_page": 2,
        "max_requests_per_second": 0,
    }


@dataclass
class RunResult:
    messages: list[dict[str, Any]]
    log: str
    stdout: str

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def final_state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    def bookmark(self, stream: str) -> Any:
        return self.final_state["bookmarks"][stream].get("replication_key_value")


@pytest.fixture
def run_tap(
    caplog: pytest.LogCaptureFixture,
) -> Callable[..., RunResult]:
    def run(
        config: dict[str, Any],
        state: dict[str, Any] | None = None,
        streams: list[str] | None = None,
    ) -> RunResult:
        # INFO, not DEBUG: the SDK's per-property selection chatter makes runs slow.
        caplog.set_level(logging.INFO)
        tap = TapMobilize(config=config, state=state, parse_env_config=False)
        if streams is not None:
            for name, stream in tap.streams.items():
                stream.selected = name in streams
        out = io.StringIO()
        with redirect_stdout(out):
            tap.sync_all()
        text = out.getvalue()
        messages = [json.loads(line) for line in text.splitlines() if line.strip()]
        return RunResult(messages=messages, log=caplog.text, stdout=text)

    return run


def _event(
    event_id: int | None, modified: int, timeslots: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": event_id,
        "title": f"Event {event_id}",
        "modified_date": modified,
        "created_date": 1_600_000_000,
        "event_type": "CANVASS",
        "visibility": "PUBLIC",
        "timeslots": timeslots
        if timeslots is not None
        else [{"id": (event_id or 0) * 10 + 1, "start_date": 1, "end_date": 2, "is_full": False}],
    }


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    """An Event in Mobilize's shape; one timeslot unless given."""
    return _event
