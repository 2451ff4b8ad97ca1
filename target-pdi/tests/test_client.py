"""PDI client: token expiry, renewal, paging, retries, lost-create safety (stubbed HTTP)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from pacing.clock import Clock as PacingClock
from pacing.rate import AdaptiveRate
from pacing.testing import Ticks
from responses import matchers
from target_pdi.errors import (
    APIUnavailableError,
    AuthenticationError,
    RecordRejected,
    RequestFailed,
    TimeBudgetSpent,
)
from target_pdi.pdi.client import WRITE_FAILURES_FATAL, WRITE_WINDOW, PDIClient, parse_expiration

URL = "https://pdi.test"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def client(clock: Clock | None = None, **kw: Any) -> PDIClient:
    pdi_up()
    return PDIClient(
        URL,
        "user",
        "s3cret-pass",
        "tok-123456",
        max_requests_per_second=0,
        backoff_base=0.0,
        sleep=lambda _s: None,
        now=clock or Clock(),
        **kw,
    )


def login(expires: str = "2026-11-01T13:00:00Z", token: str = "T1") -> None:  # noqa: S107
    responses.add(
        responses.POST, f"{URL}/sessions", json={"AccessToken": token, "ExpirationDate": expires}
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T13:00:00Z", datetime(2026, 11, 1, 13, tzinfo=UTC)),
        ("2026-11-01T13:00:00", datetime(2026, 11, 1, 13, tzinfo=UTC)),  # naive = UTC
        ("2026-11-01T15:00:00+02:00", datetime(2026, 11, 1, 13, tzinfo=UTC)),
        ("2100-01-01", datetime(2100, 1, 1, tzinfo=UTC)),  # date only (Parsons' mock)
        ("2026-11-01T13:00:00.1234567Z", datetime(2026, 11, 1, 13, 0, 0, 123456, tzinfo=UTC)),
        (None, NOW + timedelta(hours=1)),
        ("garbage", NOW + timedelta(hours=1)),
    ],
)
def test_parse_expiration(value: Any, expected: datetime) -> None:
    assert parse_expiration(value, NOW) == expected


@responses.activate
def test_login_body_and_bearer() -> None:
    responses.add(
        responses.POST,
        f"{URL}/sessions",
        match=[
            matchers.json_params_matcher(
                {"Username": "user", "Password": "s3cret-pass", "ApiToken": "tok-123456"}
            )
        ],
        json={"AccessToken": "T1", "ExpirationDate": "2026-11-01T13:00:00Z"},
    )
    responses.add(
        responses.GET,
        f"{URL}/calendars",
        match=[matchers.header_matcher({"Authorization": "Bearer T1"})],
        json={"data": [], "totalCount": 0},
    )
    assert client().list_all("/calendars") == []


@responses.activate
def test_token_renewed_shortly_before_expiry() -> None:
    clock = Clock()
    c = client(clock)
    login("2026-11-01T13:00:00Z", "T1")
    responses.add(responses.GET, f"{URL}/x", json={})
    c.get("/x")
    clock.now = NOW + timedelta(minutes=58)  # still valid, outside the 60 s margin
    c.get("/x")
    assert c.logins == 1
    responses.replace(
        responses.POST,
        f"{URL}/sessions",
        json={"AccessToken": "T2", "ExpirationDate": "2026-11-01T14:00:00Z"},
    )
    clock.now = NOW + timedelta(minutes=59, seconds=30)  # within 60 s of expiry: renew first
    c.get("/x")
    assert c.logins == 2
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer T2"


@responses.activate
def test_renewed_once_on_401() -> None:
    c = client()
    login(token="T1")
    responses.add(responses.GET, f"{URL}/x", status=401)
    responses.add(responses.GET, f"{URL}/x", json={"ok": 1})
    assert c.get("/x") == {"ok": 1}
    assert c.logins == 2


@responses.activate
def test_a_login_never_waits_for_a_request_slot() -> None:
    """A login runs under the token's lock, which requests already holding every slot wait
    on (to put the token in their header): a login that waited for a slot as well never
    ended (a sync stalled for good after its token expired, seen once on a loaded machine)."""
    c = client(pool_size=1, initial_concurrency=1)
    login(token="T1")
    held = c.concurrency.acquire()  # every slot taken, as by requests waiting for the token
    renewing = threading.Thread(target=c.login, daemon=True)
    try:
        renewing.start()
        renewing.join(timeout=10)
        assert not renewing.is_alive(), "the login waited for a request slot"
    finally:
        c.concurrency.release(held)
        renewing.join(timeout=10)
    assert c.logins == 1


@responses.activate
def test_persistent_401_is_fatal() -> None:
    c = client()
    login()
    responses.add(responses.GET, f"{URL}/x", status=401)
    with pytest.raises(AuthenticationError):
        c.get("/x")


@responses.activate
def test_bad_credentials_fatal_and_redacted() -> None:
    responses.add(
        responses.POST, f"{URL}/sessions", status=401, json={"message": "bad s3cret-pass"}
    )
    with pytest.raises(AuthenticationError) as exc:
        client().login()
    assert "username, password and api_token" in str(exc.value)
    assert "s3cret-pass" not in str(exc.value)


@responses.activate
def test_paging_fixed_limit_and_cursor_until_total() -> None:
    login()
    for cursor, rows in (
        (1, [{"id": 1}, {"id": 2}]),
        (2, [{"id": 3}, {"id": 4}]),
        (3, [{"id": 5}]),
    ):
        responses.add(
            responses.GET,
            f"{URL}/events",
            match=[
                matchers.query_param_matcher(
                    {"startDate": "2026-11-01", "limit": "2", "cursor": str(cursor)}
                )
            ],
            json={"data": rows, "totalCount": 5},
        )
    rows = client().list_all("/events", {"startDate": "2026-11-01"}, limit=2)
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]


@responses.activate
def test_paging_stops_on_empty_page() -> None:
    login()
    responses.add(responses.GET, f"{URL}/l", json={"data": [{"id": 1}], "totalCount": 9})
    responses.add(responses.GET, f"{URL}/l", json={"data": [], "totalCount": 9})
    assert len(client().list_all("/l", limit=1)) == 1


@responses.activate
def test_429_honours_retry_after_then_5xx_then_ok() -> None:
    ticks = Ticks()
    c = ticking(ticks, max_requests_per_second=0)
    login()
    pdi_up()
    responses.add(responses.GET, f"{URL}/x", status=429, headers={"Retry-After": "7"})
    responses.add(responses.GET, f"{URL}/x", status=503)
    responses.add(responses.GET, f"{URL}/x", body=requests.ConnectionError("reset"))
    responses.add(responses.GET, f"{URL}/x", json={"ok": True})
    assert c.get("/x") == {"ok": True}
    assert ticks.t - 1000.0 >= 7.0  # the Retry-After was waited out
    assert [r.request.url for r in responses.calls].count(f"{URL}/x") == 4


def ticking(ticks: Ticks, **kw: Any) -> PDIClient:
    return PDIClient(
        URL,
        "user",
        "s3cret-pass",
        "tok-123456",
        backoff_base=0.5,
        sleep=ticks.sleep,
        clock=ticks,
        now=Clock(),
        **kw,
    )


def pdi_up() -> None:
    """The probe a client sends when a request fails: PDI answers it (401 without a token)."""
    responses.add(responses.GET, f"{URL}/calendars", status=401)


def pdi_down() -> None:
    responses.add(responses.GET, f"{URL}/calendars", body=requests.ConnectionError("refused"))


@responses.activate
def test_5xx_while_pdi_answers_others_is_the_records_failure() -> None:
    login()
    pdi_up()
    responses.add(responses.GET, f"{URL}/x", status=500, body="boom")
    with pytest.raises(RequestFailed) as exc:
        client(max_retries=2).get("/x")
    # A RecordRejected: the sync dead-letters the record and goes on.
    assert isinstance(exc.value, RecordRejected)
    assert exc.value.http_status == 500
    assert "HTTP 500 3 times" in str(exc.value)
    assert len([c for c in responses.calls if c.request.url == f"{URL}/x"]) == 3


@responses.activate
def test_429s_use_up_no_retries_and_pause_for_retry_after() -> None:
    ticks = Ticks()
    login()
    for _ in range(20):
        responses.add(responses.GET, f"{URL}/x", status=429, headers={"Retry-After": "2"})
    responses.add(responses.GET, f"{URL}/x", json={"ok": True})
    c = ticking(ticks, max_retries=1, max_requests_per_second=20)
    assert c.get("/x") == {"ok": True}
    assert c.rate.throttled == 20
    assert ticks.t - 1000.0 >= 20 * 2  # every Retry-After was waited out


@responses.activate
def test_an_outage_is_waited_out_without_using_up_retries() -> None:
    ticks = Ticks()
    login()
    for _ in range(8):
        responses.add(responses.GET, f"{URL}/x", body=requests.ConnectionError("refused"))
    responses.add(responses.GET, f"{URL}/x", json={"ok": True})
    pdi_down()
    c = ticking(ticks, max_retries=1, outage_seconds=120)
    assert c.get("/x") == {"ok": True}
    assert max(ticks.slept) <= 10  # back soon after PDI is


@responses.activate
def test_an_outage_longer_than_the_window_stops_the_run() -> None:
    ticks = Ticks()
    login()
    responses.add(responses.GET, f"{URL}/x", status=503)
    pdi_down()
    c = ticking(ticks, max_retries=1, outage_seconds=60)
    with pytest.raises(APIUnavailableError, match="outage_seconds=60"):
        c.get("/x")
    assert 60 < ticks.t - 1000.0 < 90


@responses.activate
def test_the_time_budget_bounds_a_429_storm() -> None:
    ticks = Ticks()
    login()
    responses.add(responses.GET, f"{URL}/x", status=429, headers={"Retry-After": "5"})
    c = ticking(ticks, time_budget_seconds=100)
    with pytest.raises(TimeBudgetSpent, match="time_budget_seconds"):
        c.get("/x")


@responses.activate
def test_most_writes_failing_stops_the_run() -> None:
    login()
    responses.add(responses.POST, f"{URL}/contacts", status=400, json={"message": "no"})
    c = client()
    for _ in range(WRITE_FAILURES_FATAL - 1):
        with pytest.raises(RecordRejected):
            c.create("/contacts", {"firstName": "A"}, None)
    with pytest.raises(APIUnavailableError, match=f"of the last {WRITE_WINDOW} PDI writes failed"):
        c.create("/contacts", {"firstName": "A"}, None)


@responses.activate
def test_stale_ids_do_not_count_as_failing_writes() -> None:
    login()
    responses.add(responses.PUT, f"{URL}/events/1", status=404)
    c = client()
    for _ in range(WRITE_WINDOW + 5):
        with pytest.raises(RecordRejected):
            c.put("/events/1", {})


@responses.activate
def test_record_level_4xx_is_rejected_not_retried() -> None:
    login()
    responses.add(
        responses.POST,
        f"{URL}/contacts",
        status=400,
        json={"message": "FirstName required", "token": "tok-123456"},
    )
    with pytest.raises(RecordRejected) as exc:
        client().create("/contacts", {"firstName": ""}, None)
    assert exc.value.http_status == 400
    assert "tok-123456" not in exc.value.body
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 2  # login + one


@responses.activate
def test_lost_create_is_looked_up_not_resent() -> None:
    login()
    responses.add(responses.POST, f"{URL}/contacts", body=requests.ConnectionError("dropped"))
    lookups: list[int] = []

    def find() -> dict[str, Any] | None:
        lookups.append(1)
        return {"id": "EXISTING"}

    result = client().create("/contacts", {"firstName": "A"}, find)
    assert result == {"id": "EXISTING"}
    assert lookups == [1]
    posts = [c for c in responses.calls if c.request.url == f"{URL}/contacts"]
    assert len(posts) == 1  # never re-sent


@responses.activate
def test_lost_create_resent_only_when_not_found() -> None:
    login()
    responses.add(responses.POST, f"{URL}/contacts", body=requests.Timeout("slow"))
    responses.add(responses.POST, f"{URL}/contacts", json={"id": "NEW"})
    result = client().create("/contacts", {"firstName": "A"}, lambda: None)
    assert result == {"id": "NEW"}
    posts = [c for c in responses.calls if c.request.url == f"{URL}/contacts"]
    assert len(posts) == 2
    assert json.loads(posts[1].request.body) == {"firstName": "A"}


@responses.activate
def test_dry_run_client_refuses_writes() -> None:
    login()
    with pytest.raises(RuntimeError, match="dry run"):
        client(read_only=True).put("/events/1", {})


def test_a_429_pauses_every_worker_and_halves_the_rate_once_per_episode() -> None:
    ticks = Ticks()
    rate = AdaptiveRate(16, clock=PacingClock(ticks, ticks.sleep))
    sent_before = [rate.acquire() for _ in range(3)]  # three requests in flight at 16/s
    rate.on_throttled(sent_before[0], retry_after=3)
    assert rate.rate == 8
    # The others' 429s were sent at the old rate: they say nothing new.
    rate.on_throttled(sent_before[1], retry_after=3)
    rate.on_throttled(sent_before[2], retry_after=None)
    assert rate.rate == 8
    # Every caller, not only the one that got the 429, waits out the Retry-After.
    start = ticks.t
    episode = rate.acquire()
    assert ticks.t - start >= 3 - 3 / 16
    rate.on_throttled(episode, retry_after=0)
    assert rate.rate == 4


def test_the_rate_climbs_back_slowly_to_the_ceiling() -> None:
    ticks = Ticks()
    rate = AdaptiveRate(20, clock=PacingClock(ticks, ticks.sleep))
    rate.on_throttled(rate.acquire(), retry_after=0)
    assert rate.rate == 10
    start = ticks.t
    while rate.rate < 19:
        rate.acquire()
        rate.on_success()
    # About one request/s more per second of clean answers: 10 -> 19 takes seconds, not a burst.
    assert 5 < ticks.t - start < 12
    start = ticks.t
    while rate.rate < 20:
        rate.acquire()
        rate.on_success()
    # The last 5% below the rate PDI refused is probed at 0.05/s per second.
    assert 15 < ticks.t - start < 25
    rate.on_success()
    assert rate.rate == 20


def test_requests_are_spaced_at_the_rate() -> None:
    ticks = Ticks()
    rate = AdaptiveRate(50, clock=PacingClock(ticks, ticks.sleep))
    for _ in range(51):
        rate.acquire()
    assert ticks.t - 1000.0 == pytest.approx(1.0)


def test_proxy_settings_are_read_once_and_still_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read on every request they cost ~1.5 ms of CPU each; read once they must mean the same.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/our-bundle.pem")
    remote = PDIClient("https://api.bluevote.com", "u", "p", "t")
    session = remote._session()
    assert session.trust_env is False
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/our-bundle.pem"
    local = PDIClient("http://127.0.0.1:8002", "u", "p", "t")
    assert local._session().proxies == {}
