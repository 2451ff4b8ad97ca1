"""The SDK's standard tap tests, and a few end-to-end checks, against the real Mobilize
sandbox (``sandbox.mobilize``) served over HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import pytest
import requests
from singer_sdk.testing import SuiteConfig, TapTestRunner, get_tap_test_class

from sandbox.datagen.build import generate
from sandbox.datagen.dataset import Dataset, DatasetSpec
from sandbox.mobilize.app import MobilizeApp
from sandbox.server.http_server import SandboxServer, make_server
from tap_mobilize.errors import MobilizeFatalError
from tap_mobilize.tap import TapMobilize

SANDBOX_KEY = "sandbox-mobilize-key"
# Small, but with every kind of variety datagen builds in (masked attendances included).
SPEC = DatasetSpec(seed=1, org_id=1, events=12, timeslots_per_event=2, people=40, attendances=90)
# No record cap: the end-to-end test compares exact counts with the dataset's.
SUITE_CONFIG = SuiteConfig(max_records_limit=None)

# Filled in with the sandbox URL once the server is up (its port is only known then);
# the SDK's test factory needs a config dict when the class is built, at import time.
SANDBOX_CONFIG: dict[str, Any] = {
    "api_url": "http://127.0.0.1:9/v1",
    "api_key": SANDBOX_KEY,
    "organization_id": SPEC.org_id,
    "per_page": 7,  # several pages per stream, so `next` links are really followed
    "max_requests_per_second": 100,
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(SPEC)


@pytest.fixture(scope="module")
def sandbox(dataset: Dataset) -> Iterator[SandboxServer]:
    server = make_server(MobilizeApp(dataset, api_key=SANDBOX_KEY)).start_in_thread()
    SANDBOX_CONFIG["api_url"] = f"{server.url}/v1"
    yield server
    server.stop()


_StandardTests = get_tap_test_class(
    TapMobilize,
    config=SANDBOX_CONFIG,
    suite_config=SUITE_CONFIG,
    parse_env_config=False,
)


class TestTapMobilize(_StandardTests):  # type: ignore[misc,valid-type]
    """Discovery, CLI, connection test, schemas, records and keys of every stream."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, sandbox: SandboxServer) -> TapTestRunner:
        test_runner = TapTestRunner(
            TapMobilize,
            config=SANDBOX_CONFIG,
            suite_config=SUITE_CONFIG,
            parse_env_config=False,
        )
        test_runner.sync_all()
        return test_runner


def _run(config: dict[str, Any], state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        TapMobilize(config=config, state=state, parse_env_config=False).sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def _records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def _state(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return [m["value"] for m in messages if m["type"] == "STATE"][-1]


def test_a_keyed_run_emits_exactly_the_dataset(sandbox: SandboxServer, dataset: Dataset) -> None:
    messages = _run(SANDBOX_CONFIG)

    expected = dataset.expected_counts()
    for stream in ("organization", "events", "timeslots", "deleted_events", "people"):
        assert len(_records(messages, stream)) == expected[stream], stream
    assert len(_records(messages, "attendances")) == expected["attendances"]
    private = [e for e in _records(messages, "events") if e["visibility"] == "PRIVATE"]
    unapproved = [e for e in _records(messages, "events") if e["approval_status"] != "APPROVED"]
    assert private, "private events need visibility=PUBLIC&visibility=PRIVATE"
    assert unapproved, "unapproved events need every approval_status"


def test_a_second_run_reads_only_what_changed(sandbox: SandboxServer) -> None:
    first = _run(SANDBOX_CONFIG)
    attendance = _records(first, "attendances")[0]
    changed = requests.post(
        f"{sandbox.url}/__admin/mutate",
        json={"op": "update_attendance", "id": attendance["id"], "status": "CANCELLED"},
        timeout=5,
    )
    assert changed.status_code == 200, changed.text

    bookmark = _state(first)["bookmarks"]["attendances"]["replication_key_value"]

    # The re-check window would add the signups of events near now; this test is about
    # what updated_since alone brings (test_an_incremental_run_rechecks_... covers it).
    second = _run(
        {**SANDBOX_CONFIG, "lookback_seconds": 0, "recheck_recent_signups": False},
        state=_state(first),
    )

    again = {a["id"]: a for a in _records(second, "attendances")}
    assert again[attendance["id"]]["status"] == "CANCELLED"
    # Besides the change, only the row(s) at the old bookmark (updated_since is inclusive).
    others = [a for i, a in again.items() if i != attendance["id"]]
    assert all(a["modified_date"] == bookmark for a in others)
    assert len(again) < len(_records(first, "attendances"))
    assert (
        _state(second)["bookmarks"]["attendances"]["replication_key_value"]
        == (again[attendance["id"]]["modified_date"])
    )


def test_without_a_key_only_public_data_is_read(sandbox: SandboxServer, dataset: Dataset) -> None:
    config = {k: v for k, v in SANDBOX_CONFIG.items() if k != "api_key"}

    messages = _run(config)

    events = _records(messages, "events")
    public_approved = [
        e
        for e in dataset.events
        if e["visibility"] == "PUBLIC" and e["approval_status"] == "APPROVED"
    ]
    assert len(events) == len(public_approved)
    assert _records(messages, "people") == []
    assert _records(messages, "attendances") == []


def test_a_wrong_key_fails_with_the_setting_to_check(sandbox: SandboxServer) -> None:
    with pytest.raises(MobilizeFatalError, match="check the api_key setting"):
        _run({**SANDBOX_CONFIG, "api_key": "not-the-key"})


def test_transient_failures_and_rate_limits_are_ridden_out(
    sandbox: SandboxServer, dataset: Dataset
) -> None:
    requests.post(f"{sandbox.url}/__admin/stats/reset", timeout=5).raise_for_status()
    switches = {"fail_next": 2, "fail_status": 503, "rate_limit": 20, "retry_after": 1}
    requests.post(f"{sandbox.url}/__admin/switches", json=switches, timeout=5).raise_for_status()
    try:
        # Paced faster than the sandbox allows, so some requests are answered 429.
        messages = _run({**SANDBOX_CONFIG, "max_requests_per_second": 0, "per_page": 5})
    finally:
        reset = {"fail_next": 0, "rate_limit": None, "retry_after": None}
        requests.post(f"{sandbox.url}/__admin/switches", json=reset, timeout=5)
    assert len(_records(messages, "events")) == dataset.expected_counts()["events"]
    statuses = requests.get(f"{sandbox.url}/__admin/stats", timeout=5).json()["statuses"]
    assert statuses.get("503") == 2
    assert statuses.get("429", 0) > 0


def _mutate(sandbox: SandboxServer, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{sandbox.url}/__admin/mutate", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_incremental_run_rechecks_signups_of_events_near_now(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    first = _run(SANDBOX_CONFIG)
    listed = {e["id"] for e in _records(first, "events")}
    signup = next(
        a
        for a in _records(first, "attendances")
        if a["event_id"] in listed and a["timeslot_id"] is not None
    )
    # Move its timeslot to now, so the event is in the window whatever the dataset's dates.
    now = int(time.time())
    _mutate(
        sandbox,
        op="update_timeslot",
        event_id=signup["event_id"],
        timeslot_id=signup["timeslot_id"],
        fields={"start_date": now - 3600, "end_date": now + 3600},
    )
    marked = not signup["attended"]
    _mutate(sandbox, op="update_attendance", id=signup["id"], attended=marked)

    # Whether the simulator bumps modified_date on that mark is a switch; either way an
    # incremental run must bring the mark.
    second = _run(SANDBOX_CONFIG, state=_state(first))
    again = {a["id"]: a for a in _records(second, "attendances")}
    assert again[signup["id"]]["attended"] is marked

    # With a bookmark past anything the simulator can have stamped (our clock behind
    # Mobilize's), updated_since cannot bring the mark: only the re-check can.
    state = _state(second)
    ahead = now + 86_400
    state["bookmarks"]["attendances"]["replication_key_value"] = ahead
    caplog.set_level(logging.INFO)
    caplog.clear()
    third = _run(SANDBOX_CONFIG, state=state)
    again = {a["id"]: a for a in _records(third, "attendances")}
    assert again[signup["id"]]["attended"] is marked
    assert _state(third)["bookmarks"]["attendances"]["replication_key_value"] == ahead
    assert "event(s) with a timeslot in it" in caplog.text
    # The window's event rows have trimmed timeslots and are never emitted: any event
    # emitted (the lookback re-reads the moved one) is the events stream's full copy.
    full = {e["id"]: len(e["timeslots"]) for e in _records(first, "events")}
    assert all(len(e["timeslots"]) == full[e["id"]] for e in _records(third, "events"))
    assert len(_records(third, "events")) <= 1
