"""The tap on its own, as data teams use it: warehouse loads with `meltano run`."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.e2e.conftest import SMALL, SMALL_ATTENDANCES, MakeProject

pytestmark = pytest.mark.e2e
STREAMS = ["organization", "events", "timeslots", "deleted_events", "people", "attendances"]


def expected_counts(project) -> dict[str, int]:
    from sandbox.datagen.dataset import Dataset

    return Dataset.from_json(json.dumps(project.dataset())).expected_counts()


DAY = 86_400


def rechecked(dataset: dict, now: float) -> tuple[set[int], set[int]]:
    """The events and signups the tap reads again by design: every signup of an event with a
    timeslot from three days ago to two days ahead (recheck_days_after/before at their defaults),
    whatever its modified_date. The dataset's dates are fixed and the window follows the
    clock, so how many these are depends on the day the test runs. Widened by ten minutes
    each side: the tap reads its clock a moment apart from this test."""
    latest_start, earliest_end = now + 2 * DAY + 600, now - 3 * DAY - 600
    events = {
        event["id"]
        for event in dataset["events"]
        if any(
            slot["start_date"] <= latest_start and slot["end_date"] >= earliest_end
            for slot in event.get("timeslots") or []
        )
    }
    signups = {
        a["id"] for a in dataset["attendances"] if (a.get("event") or {}).get("id") in events
    }
    return events, signups


def jsonl_counts(folder: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in folder.glob("*.jsonl"):
        counts[path.stem] += sum(1 for _ in path.open())
    return counts


def test_jsonl_load_has_every_record_and_incremental_run_reads_only_changes(
    make_project: MakeProject,
) -> None:
    project = make_project()
    out = project.workdir / "jsonl"
    project.extra_env.update(
        {"TARGET_JSONL_DESTINATION_PATH": str(out), "TARGET_JSONL_DO_TIMESTAMP_FILE": "false"}
    )
    expected = expected_counts(project)

    first = project.meltano("run", "tap-mobilize", "target-jsonl")
    assert first.returncode == 0, first.output
    counts = jsonl_counts(out)
    assert {s: counts[s] for s in STREAMS} == {s: expected[s] for s in STREAMS}

    # The tap's start and end markers (a key beside a STATE's value) pass through a target that
    # knows nothing of them: Meltano keeps the tap's own last state, and no marker.
    stored = project.meltano("state", "get", "dev:tap-mobilize-to-target-jsonl")
    assert stored.returncode == 0, stored.output[-3000:]
    tap = project.meltano("invoke", "tap-mobilize")
    assert tap.returncode == 0, tap.output[-3000:]
    states = [m for m in map(json.loads, tap.stdout.splitlines()) if m["type"] == "STATE"]
    plain = [m["value"] for m in states if "tap_mobilize" not in m]
    assert states[0] == {"type": "STATE", "value": {}, "tap_mobilize": {"outcome": "started"}}
    assert states[-1] == {
        "type": "STATE",
        "value": plain[-1],
        "tap_mobilize": {"outcome": "completed"},
    }
    assert json.loads(stored.stdout) == {"singer_state": plain[-1]}

    # One attendance marked attended and one event retitled: the next run reads those
    # (plus the lookback window's re-reads), not the whole organization again.
    attendance_id = project.dataset()["attendances"][0]["id"]
    event_id = project.dataset()["events"][0]["id"]
    project.mutate("update_attendance", id=attendance_id, attended=True)
    project.mutate("update_event", id=event_id, fields={"title": "Retitled canvass"})
    for path in out.glob("*.jsonl"):
        path.unlink()
    project.mobilize.admin("stats/reset", {})

    second = project.meltano("run", "tap-mobilize", "target-jsonl")
    assert second.returncode == 0, second.output
    # Besides the two changes, only rows inside the lookback window (the last 300 s
    # before the bookmark) are read again.
    attendances = {a["id"]: a for a in map(json.loads, (out / "attendances.jsonl").open())}
    events = {e["id"]: e for e in map(json.loads, (out / "events.jsonl").open())}
    assert attendances[attendance_id]["attended"] is True
    assert events[event_id]["title"] == "Retitled canvass"
    # The re-check's signups aside (how many depends on the day), only a few: the lookback's.
    recheck_events, recheck = rechecked(project.dataset(), time.time())
    assert len(set(attendances) - recheck) < expected["attendances"] / 10, sorted(recheck)
    assert len(events) < expected["events"] / 4
    requests = project.mobilize.admin("stats")["requests"]
    # One page per stream, the window's event list, one signup list per event in the window.
    assert requests <= 6 + len(recheck_events), project.mobilize.admin("stats")


def test_duckdb_warehouse_row_counts(make_project: MakeProject) -> None:
    project = make_project([*SMALL, *SMALL_ATTENDANCES])
    database = project.workdir / "warehouse.duckdb"
    project.extra_env["TARGET_DUCKDB_FILEPATH"] = str(database)
    expected = expected_counts(project)

    result = project.meltano("run", "tap-mobilize", "target-duckdb")
    assert result.returncode == 0, result.output
    with duckdb.connect(str(database), read_only=True) as db:
        rows = {s: db.execute(f"select count(*) from mobilize.{s}").fetchone()[0] for s in STREAMS}
    assert rows == {s: expected[s] for s in STREAMS}
