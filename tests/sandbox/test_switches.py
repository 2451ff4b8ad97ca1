"""The fault switches both simulators share (``sandbox/server/``), over real HTTP on
127.0.0.1: latency spikes, the API down, and 429s with Retry-After combined with failures
and dropped connections."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.datagen.build import generate
from sandbox.datagen.dataset import DatasetSpec
from sandbox.mobilize import cli as mobilize_cli
from sandbox.mobilize.app import MobilizeApp
from sandbox.pdi import cli as pdi_cli
from sandbox.pdi.app import PdiApp
from sandbox.server.http_server import SandboxServer, make_server
from sandbox.server.switches import Switches

CREDENTIALS = {"Username": "sandbox", "Password": "sandbox-password", "ApiToken": "sandbox-token"}
CONTACT = {"firstName": "Ada", "lastName": "Lovelace"}


class Api:
    """A client of one simulator: its API through a keep-alive session, its admin routes."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url
        self.http = requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}{path}", timeout=10, **kwargs)

    def admin(self, path: str, body: Any = None) -> Any:
        method = "GET" if body is None else "POST"
        answer = requests.request(method, f"{self.url}/__admin/{path}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def switches(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("switches", changes)
        return result

    def login(self) -> None:
        answer = self.call("POST", "/sessions", json=CREDENTIALS)
        assert answer.status_code == 200, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['AccessToken']}"

    def writes(self) -> int:
        return int(self.admin("stats")["writes"])


def _serve(app: Any) -> Iterator[Api]:
    server = make_server(app, switches=Switches()).start_in_thread()
    try:
        yield Api(server)
    finally:
        server.stop()


@pytest.fixture
def pdi_api() -> Iterator[Api]:
    yield from _serve(PdiApp())


@pytest.fixture
def mobilize_api() -> Iterator[Api]:
    dataset = generate(
        DatasetSpec(seed=3, events=2, timeslots_per_event=1, people=3, attendances=3)
    )
    yield from _serve(MobilizeApp(dataset))


def _timed(api: Api, count: int) -> list[float]:
    durations = []
    for _ in range(count):
        started = time.monotonic()
        assert api.call("GET", "/calendars").status_code == 401  # answered, no token needed
        durations.append(time.monotonic() - started)
    return durations


# -- latency spikes -----------------------------------------------------------------------------


def test_spikes_delay_a_fraction_of_requests_by_spike_ms(pdi_api: Api) -> None:
    pdi_api.switches(spike_rate=0.5, spike_ms=300)
    durations = _timed(pdi_api, 12)
    slow = [d for d in durations if d >= 0.3]
    # Seeded: the same requests are late on every run; some are, not all.
    assert 0 < len(slow) < len(durations), durations
    # The others are not delayed at all (a spike is all or nothing).
    assert all(d < 0.25 for d in durations if d < 0.3), durations


def test_spikes_add_to_latency_and_stop_at_rate_zero(pdi_api: Api) -> None:
    pdi_api.switches(latency_ms=100, spike_rate=1.0, spike_ms=200)
    assert all(d >= 0.3 for d in _timed(pdi_api, 3))
    pdi_api.switches(latency_ms=0, spike_rate=0.0)
    assert all(d < 0.25 for d in _timed(pdi_api, 3))


def test_spikes_leave_admin_routes_alone(pdi_api: Api) -> None:
    pdi_api.switches(spike_rate=1.0, spike_ms=1000)
    started = time.monotonic()
    pdi_api.admin("health")
    assert time.monotonic() - started < 0.5


# -- down -----------------------------------------------------------------------------------------


def test_down_closes_every_api_connection_unanswered_while_admin_answers(pdi_api: Api) -> None:
    pdi_api.login()
    assert pdi_api.call("GET", "/calendars").status_code == 200  # a keep-alive connection
    assert pdi_api.switches(down=True)["down"] is True

    # The open connection, a new one, a login and a write: all cut off, none reaches PDI.
    with pytest.raises(requests.ConnectionError):
        pdi_api.call("GET", "/calendars")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{pdi_api.url}/contacts", json=CONTACT, timeout=10)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{pdi_api.url}/sessions", json=CREDENTIALS, timeout=10)
    # No answer at all: not a status line, not a byte; the server closes its end.
    with socket.create_connection(pdi_api.server.server_address[:2], timeout=10) as sock:
        sock.sendall(b"GET /calendars HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(1024) == b""

    assert pdi_api.admin("health") == {"ok": True}
    stats = pdi_api.admin("stats")
    assert stats["statuses"] == {"200": 2, "0": 4}
    assert stats["writes"] == 0

    pdi_api.switches(down=False)
    assert pdi_api.call("GET", "/calendars").status_code == 200  # the same session, back
    assert pdi_api.call("POST", "/contacts", json=CONTACT).status_code == 200
    assert pdi_api.writes() == 1


def test_down_leaves_queued_faults_for_after_the_outage(pdi_api: Api) -> None:
    pdi_api.switches(down=True, fail_next=1, drop_next=1)
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{pdi_api.url}/calendars", timeout=10)
    assert pdi_api.switches(down=False)["fail_next"] == 1
    with pytest.raises(requests.ConnectionError):  # drop_next, now
        requests.get(f"{pdi_api.url}/calendars", timeout=10)
    assert requests.get(f"{pdi_api.url}/calendars", timeout=10).status_code == 503
    assert requests.get(f"{pdi_api.url}/calendars", timeout=10).status_code == 401


def test_down_cuts_off_a_request_already_waiting(pdi_api: Api) -> None:
    pdi_api.login()
    pdi_api.switches(latency_ms=800)
    outcome: list[object] = []

    def write() -> None:
        try:
            outcome.append(pdi_api.call("POST", "/contacts", json=CONTACT).status_code)
        except requests.ConnectionError as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.3)  # the write is in the server, waiting out its latency
    pdi_api.switches(down=True)
    writer.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], requests.ConnectionError)
    assert pdi_api.writes() == 0


# -- 429 with Retry-After, alone and combined ---------------------------------------------------


def _burst(api: Api, path: str, count: int) -> list[requests.Response]:
    return [api.call("GET", path) for _ in range(count)]


def test_mobilize_429_is_drf_shaped_with_retry_after(mobilize_api: Api) -> None:
    mobilize_api.switches(rate_limit=3, retry_after=2)
    answers = _burst(mobilize_api, "/v1/enums", 4)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.headers["Retry-After"] == "2"
    assert limited.json() == {
        "data": None,
        "error": {"detail": "Request was throttled. Expected available in 2 seconds."},
    }
    # Without retry_after, no header (a client must then pick its own wait).
    time.sleep(1.05)
    mobilize_api.switches(retry_after=None)
    limited = _burst(mobilize_api, "/v1/enums", 4)[-1]
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
    assert limited.json()["error"]["detail"] == "Request was throttled."


def test_pdi_429_has_retry_after_and_pdi_error_shape(pdi_api: Api) -> None:
    pdi_api.login()
    pdi_api.switches(rate_limit=3, retry_after=1)
    answers = _burst(pdi_api, "/calendars", 4)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "1"
    assert answers[-1].json() == {"message": "Too many requests. Retry after 1 s."}
    # Waiting as told is enough.
    time.sleep(1.05)
    assert pdi_api.call("GET", "/calendars").status_code == 200


def test_fail_and_drop_combine_with_the_rate_limit(mobilize_api: Api) -> None:
    limit = 10
    mobilize_api.switches(rate_limit=limit, retry_after=1, fail_rate=0.3, drop_rate=0.2)
    seen: Counter[str] = Counter()
    started = time.monotonic()
    for _ in range(60):
        try:
            answer = mobilize_api.call("GET", "/v1/enums")
        except requests.ConnectionError:
            seen["dropped"] += 1
            continue
        seen[str(answer.status_code)] += 1
        if answer.status_code == 429:
            assert answer.headers["Retry-After"] == "1"
        elif answer.status_code == 503:
            assert answer.json() == {"error": "injected failure"}
    elapsed = time.monotonic() - started
    assert set(seen) == {"200", "503", "429", "dropped"}, seen
    # Only requests let through by the rate limiter succeed or fail (a throttled one is
    # never a 5xx), and dropped ones never count towards the rate: no more than `limit`
    # were let through in any second.
    assert seen["200"] + seen["503"] <= limit * math.ceil(elapsed), (seen, elapsed)
    assert mobilize_api.admin("stats")["statuses"] == {
        "0": seen["dropped"],
        "200": seen["200"],
        "429": seen["429"],
        "503": seen["503"],
    }


# -- one record refused ---------------------------------------------------------------------------


def test_fail_body_containing_refuses_that_record_until_cleared(pdi_api: Api) -> None:
    pdi_api.login()
    ada = {**CONTACT, "emails": [{"emailAddress": "ada@example.org"}]}
    grace = {"firstName": "Grace", "lastName": "Hopper"}
    pdi_api.switches(fail_body_containing="ada@example.org", fail_status=400)
    for _ in range(2):  # each time, not once
        assert pdi_api.call("POST", "/contacts", json=ada).status_code == 400
    assert pdi_api.call("POST", "/contacts", json=grace).status_code == 200
    assert pdi_api.call("GET", "/contacts", params={"email": "ada@example.org"}).ok  # no body
    assert pdi_api.writes() == 1
    pdi_api.switches(fail_body_containing=None)
    assert pdi_api.call("POST", "/contacts", json=ada).status_code == 200
    assert pdi_api.writes() == 2


# -- setting them ---------------------------------------------------------------------------------


def test_bad_values_are_400_and_change_nothing(pdi_api: Api) -> None:
    before = pdi_api.admin("switches")
    assert {"spike_rate", "spike_ms", "down"} <= set(before)
    for bad, named in (
        ({"down": "false"}, "down"),  # a string would be truthy: the API would go down
        ({"down": 1}, "down"),
        ({"spike_rate": 1.5}, "spike_rate"),
        ({"spike_ms": -5}, "spike_ms"),
        ({"fail_next": 1.5}, "fail_next"),
        ({"fail_status": 42}, "fail_status"),
        ({"fail_body_containing": ""}, "fail_body_containing"),  # would match every request
        ({"fail_body_containing": 5}, "fail_body_containing"),
        ({"latency_ms": "5"}, "latency_ms"),
        # One bad value: the good one beside it is not applied either.
        ({"latency_ms": 5, "drop_rate": True}, "drop_rate"),
        ({"downn": True}, "downn"),
    ):
        answer = requests.post(f"{pdi_api.url}/__admin/switches", json=bad, timeout=10)
        assert answer.status_code == 400, bad
        assert named in answer.json()["message"]
    assert pdi_api.admin("switches") == before
    assert pdi_api.switches(rate_limit=None, retry_after=None, latency_ms=0)["latency_ms"] == 0


@pytest.mark.parametrize("simulator", [mobilize_cli, pdi_cli], ids=["mobilize", "pdi"])
def test_cli_flags_set_the_switches(monkeypatch: pytest.MonkeyPatch, simulator: Any) -> None:
    seen: list[Switches] = []

    def fake_make_server(app: Any, host: str, port: int, switches: Switches) -> Any:
        seen.append(switches)
        raise SystemExit(0)

    monkeypatch.setattr("sandbox.server.cli.make_server", fake_make_server)
    tiny = (
        ["--events", "1", "--people", "1", "--attendances", "1"]
        if simulator is mobilize_cli
        else []
    )
    for flags in (
        [],
        ["--spike-rate", "0.1", "--spike-ms", "150", "--down", "--retry-after", "3"],
    ):
        with pytest.raises(SystemExit):
            simulator.main(["--port", "0", *tiny, *flags])
    default, flagged = seen
    assert (default.spike_rate, default.spike_ms, default.down) == (0.0, 200, False)
    assert (flagged.spike_rate, flagged.spike_ms, flagged.down) == (0.1, 150, True)
    assert flagged.retry_after == 3
    # Out of range: refused like a bad POST, naming the switch.
    with pytest.raises(SystemExit) as refused:
        simulator.main(["--port", "0", *tiny, "--spike-rate", "2"])
    assert refused.value.code == 2
