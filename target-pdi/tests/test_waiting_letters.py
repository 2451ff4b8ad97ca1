"""waiting_letters.py: the dead letters as status tells them, never with their records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools.waiting_letters import Waiting, describe, waiting


def test_waiting_reads_kind_and_first_failure_not_the_record(tmp_path: Path) -> None:
    path = tmp_path / "dead_letters.jsonl"
    person = {"id": 7, "given_name": "Ann", "email_addresses": []}
    lines = [
        {
            "stream": "people",
            "key": "7",
            "reason": "person has no email address",
            "http_status": None,
            "record": person,
            "ts": "2026-11-29T04:00:00+00:00",
            "first_ts": "2026-11-20T16:00:00+00:00",
        },
        {
            "stream": "events",
            "key": "5",
            "reason": "event 5 failed: PDI answered HTTP 400",
            "http_status": 400,
            "record": {"id": 5},
            "ts": "2026-11-29T04:00:00+00:00",
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    found = waiting(Settings(dead_letter_path=str(path)))

    assert found == [
        Waiting(
            "people", "person has no email address", None, datetime(2026, 11, 20, 16, tzinfo=UTC)
        ),
        Waiting(
            "events",
            "event 5 failed: PDI answered HTTP 400",
            400,
            datetime(2026, 11, 29, 4, tzinfo=UTC),
        ),
    ]
    assert "Ann" not in repr(found)


def test_no_dead_letter_file_means_none_waiting(tmp_path: Path) -> None:
    assert waiting(Settings(dead_letter_path=str(tmp_path / "none.jsonl"))) == []


def test_described_by_kind_most_numerous_first_with_the_oldest_time() -> None:
    day = datetime(2026, 11, 20, 16, 5, tzinfo=UTC)
    later = datetime(2026, 11, 28, 4, tzinfo=UTC)
    letters = [
        Waiting("attendances", "person has a malformed email address", None, later),
        Waiting("attendances", "person has no email address", None, day),
        Waiting("people", "person has no email address", None, later),
        Waiting("attendances", "contact for person 3 failed: PDI answered 500", None, None),
        Waiting("attendances", "event 12 was dead-lettered", None, None),
        Waiting("attendances", "event for timeslot 4 is not in PDI", None, None),
    ]
    assert describe(letters) == [
        "2 signups of people without a usable email address, the first since 2026-11-20 16:05 "
        "UTC: they cannot succeed until someone gives them one in Mobilize",
        "1 person without a usable email address, the first since 2026-11-28 04:00 UTC: they "
        "cannot succeed until someone gives them one in Mobilize",
        "1 signup of events that failed: they follow once their event is written",
        "1 signup of people whose contact failed: they follow once their person is written",
        "1 signup that failed: retried every run; each reason is in the dead-letter file",
    ]
