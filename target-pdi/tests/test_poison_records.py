"""A record the sync cannot turn into requests is that record's failure (issue 19, defect 3):
one line naming the stream, the record's key and the reason, a dead letter, and the run goes on
to write the batch's other records and emit STATE. In-process target, real HTTP to the PDI
simulator under its harsh answers."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from singer_sdk.testing import TargetTestRunner
from target_pdi.rules import values as V
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
STATE = {"bookmarks": {"events": {"replication_key_value": F.BASE}}}


def run(config: dict[str, Any], tmp_path: Path, streams: dict[str, list[Any]]) -> TargetTestRunner:
    path = tmp_path / "input.singer"
    path.write_text("\n".join(F.lines(streams, STATE)) + "\n")
    runner = TargetTestRunner(TargetPDI, config, input_filepath=path)
    runner.sync_all()
    return runner


def dead_letters(config: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    path = Path(config["dead_letter_path"])
    entries = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return {(x["stream"], x["key"]): x for x in entries}


def event_at(event_id: int, ts_id: int, start: Any) -> dict[str, Any]:
    slot = {**F.slot(ts_id, 0), "start_date": start, "end_date": start}
    return F.event(event_id, f"Event {event_id}", "CANVASS", [slot])


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(F.BASE * 1000, id="epoch-milliseconds"),
        pytest.param(10**20, id="ten-to-the-twentieth"),
        pytest.param(-(10**20), id="minus-ten-to-the-twentieth"),
    ],
)
def test_an_impossible_start_time_is_its_records_failure_and_the_run_goes_on(
    pdi: Pdi,
    config: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    start: int,
) -> None:
    """A timeslot start in epoch milliseconds (a valid integer by the schema) stopped the sync
    with `ValueError: year 58787 is out of range` (`10**20`: OverflowError) raised while the
    PDI events around the batch's start times were read for recovery, outside any record's
    catch: the good records of the batch unwritten, no STATE, and the same record back in
    every run after it."""
    good = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    bad = event_at(102, 1002, start)
    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    bob = F.person(2, "Bob", "Ray", "bob@example.org")
    signups = [
        F.attendance(11, ann, good, F.slot(1001, 3), "REGISTERED", None),
        F.attendance(12, bob, bad, bad["timeslots"][0], "REGISTERED", None),
    ]
    caplog.set_level(logging.WARNING, logger="target-pdi")
    runner = run(config, tmp_path, {"events": [good, bad], "attendances": signups})

    assert runner.state_messages[-1] == STATE
    state = pdi.state()
    assert [(e["name"], e["startDateTimeUtc"]) for e in state["events"]] == [
        ("Canvass", V.pdi_datetime(F.slot(1001, 3)["start_date"]))
    ]
    assert [c["emails"][0]["emailAddress"] for c in state["contacts"]] == ["ann@example.org"]
    assert len(state["invitations"]) == 1
    letters = dead_letters(config)
    assert set(letters) == {("events", "102"), ("attendances", "12")}
    assert "start_date" in letters[("events", "102")]["reason"]
    assert letters[("events", "102")]["record"] == json.loads(json.dumps(bad))
    lines = [r.getMessage() for r in caplog.records if "stream=events key=102" in r.getMessage()]
    assert len(lines) == 1, lines
    assert not [r for r in caplog.records if r.exc_info]


ROOT = Path(__file__).resolve().parents[2]


def test_a_record_its_fields_file_map_raises_on_is_dead_lettered_and_remapped_when_retried(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The project's own fields.yml maps Event.phone with `contact['phone_number'] if contact
    else ''`: an event whose contact is a string (against the tap's schema) raised TypeError in
    singer-sdk's stream map, before any sink, and stopped the target with a traceback, no
    STATE, on every run. Now the record is dead-lettered as it came; its retry goes through the
    maps again, and once fields_file no longer raises on it, it is written."""
    fields = tmp_path / "fields.yml"
    fields.write_text((ROOT / "mappings" / "fields.yml").read_text())
    config = {**config, "fields_file": str(fields)}
    good = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    odd = F.event(102, "Phone Bank", "CANVASS", [F.slot(1002, 4)], contact="call the office")
    caplog.set_level(logging.WARNING, logger="target-pdi")
    runner = run(config, tmp_path, {"events": [good, odd]})

    assert runner.state_messages[-1] == STATE
    assert [e["name"] for e in pdi.state()["events"]] == ["Canvass"]
    letter = dead_letters(config)[("events", "102")]
    assert letter["record"] == json.loads(json.dumps(odd))
    assert letter["reason"].startswith(
        "fields_file's map of stream events failed on it: TypeError: string indices"
    )
    assert len([r for r in caplog.records if "stream=events key=102" in r.getMessage()]) == 1
    assert not [r for r in caplog.records if r.exc_info]

    # Retried through the same maps: refused again, without a request.
    writes = pdi.writes()
    run(config, tmp_path, {"events": []})
    assert pdi.writes() == writes
    assert set(dead_letters(config)) == {("events", "102")}

    # fields_file mended: the retry maps the record again and writes it.
    mended = [x for x in fields.read_text().splitlines() if "contact[" not in x]
    fields.write_text("\n".join(mended) + "\n")
    run(config, tmp_path, {"events": []})
    assert sorted(e["name"] for e in pdi.state()["events"]) == ["Canvass", "Phone Bank"]
    assert dead_letters(config) == {}


def test_a_signups_copy_of_an_event_or_person_is_checked_unless_it_equals_one_that_passed() -> None:
    """The screen checks a batch's repeated event and timeslot once (planning/poison.py
    `Passed`); a copy under the same ids that differs is checked on its own."""
    from target_pdi.sync.planning import poison
    from target_pdi.sync.planning.events import Batch

    good = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    bad = event_at(101, 1001, 10**20)  # same ids, an impossible start in this copy
    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    signups = [
        F.attendance(11, ann, good, good["timeslots"][0], "REGISTERED", None),
        F.attendance(12, ann, good, good["timeslots"][0], "REGISTERED", None),
        F.attendance(13, ann, bad, bad["timeslots"][0], "REGISTERED", None),
        F.attendance(14, ann, good, good["timeslots"][0], "REGISTERED", None),
    ]
    batch = Batch(attendances=signups)
    refused = poison.screen(batch)
    assert [r["id"] for r in batch.attendances] == [11, 12, 14]
    reasons = {key: reason for _, key, _, reason in refused.records}
    assert set(reasons) == {"13"}
    assert "start_date" in reasons["13"] or "out of range" in reasons["13"], reasons["13"]
