"""Bad Mobilize input (docs/reliability.md, "Bad input"): the rules target-pdi applies, as pure
functions, and the engine's lines and dead letters over real HTTP to the PDI simulator."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from target_pdi.rules import payloads as P
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.sync.planning.events import Batch
from target_pdi.sync.runtime import Runtime

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
GARBAGE = {"latitude": 123.456, "longitude": -200.5}  # a geocoder's answer for "nowhere"


# --- emails ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        (" Ann.Lee@Example.ORG ", "ann.lee@example.org"),
        ("a.b+tag@mail.example.co.uk", "a.b+tag@mail.example.co.uk"),
        ("zoë@exämple.org", "zoë@exämple.org"),
        ("ann.lee@gmail", None),  # no dotted domain
        ("ann lee@gmail.com", None),
        ("ann@lee@gmail.com", None),
        ("ann.gmail.com", None),
        ("ann@gmail..com", None),
        ("ann@gmail.com.", None),
        ("@gmail.com", None),
        ("", None),
    ],
)
def test_only_a_well_formed_email_keys_a_contact(raw: str, email: str | None) -> None:
    assert PP.normalize_email(raw) == email


def test_a_malformed_email_is_refused_like_a_missing_one_with_its_own_reason() -> None:
    malformed = F.person(1, "Ana", "Lopez", "ana.lopez@gmail")
    missing = F.person(2, "Bo", "Ray", None)
    blank = {**missing, "email_addresses": [{"primary": True, "address": "  "}]}
    assert PP.person_email(malformed) is None
    assert PP.no_email_reason(malformed) == "person has a malformed email address"
    assert PP.no_email_reason(missing) == PP.no_email_reason(blank) == "person has no email address"
    with pytest.raises(ValueError, match="malformed"):
        PP.contact_payload(malformed)


# --- coordinates and timeslots -----------------------------------------------------------------


def test_coordinates_out_of_range_never_merge_two_venues() -> None:
    north = F.event(1, "North", "CANVASS", [], location=F.location("North Hall", None, None))
    south = F.event(2, "South", "CANVASS", [], location=F.location("South Hall", None, None))
    for event in (north, south):
        event["location"]["location"] = dict(GARBAGE)
    assert P.coordinates(north) is None
    assert P.location_key(north) != P.location_key(south)
    assert P.location_key(north).startswith("addr:north hall|")
    fine = F.event(3, "Fine", "CANVASS", [])
    assert P.location_key(fine) == "geo:39.78172,-89.65015"
    nan = F.event(4, "NaN", "CANVASS", [])
    nan["location"]["location"] = {"latitude": float("nan"), "longitude": 0.0}
    assert P.coordinates(nan) is None


def test_event_problems_name_what_the_sync_works_around() -> None:
    backwards = F.slot(11, 1)
    backwards["end_date"] = backwards["start_date"] - 60
    event = F.event(1, "Odd", "CANVASS", [F.slot(10, 0), backwards])
    event["location"]["location"] = dict(GARBAGE)
    assert P.event_problems(event) == [
        "coordinates (123.456, -200.5) are out of range: its location is matched by name and "
        "address instead",
        "timeslot 11 ends before it starts: its PDI event ends at its start",
    ]
    assert P.event_problems(F.event(2, "Fine", "CANVASS", [F.slot(12, 0)])) == []
    # Missing coordinates are ordinary (geocoding failed): nothing to say.
    assert P.event_problems(F.event(3, "x", "CANVASS", [], location=None)) == []


# --- the engine over HTTP ------------------------------------------------------------------------


def dead_letters(runtime: Runtime) -> dict[tuple[str, str], dict[str, Any]]:
    runtime.deadletters.save()
    path = runtime.deadletters.path
    entries = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return {(x["stream"], x["key"]): x for x in entries}


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_timeslot_its_event_does_not_list_stays_out_a_batch_later(
    pdi: Pdi, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    listed = F.slot(1001, 3)
    event = F.event(101, "Canvass", "CANVASS", [listed])
    runtime.engine.run(Batch(events=[event]))
    # The signups come in a later batch of the same run, as in any run of some size.
    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    bob = F.person(2, "Bob", "Ray", "bob@example.org")
    removed = F.attendance(11, ann, event, F.slot(1999, 9), "REGISTERED", None)
    kept = F.attendance(12, bob, event, listed, "REGISTERED", None)
    caplog.set_level(logging.WARNING, logger="target-pdi")
    runtime.engine.run(Batch(attendances=[removed, kept]))
    state = pdi.state()
    assert [e["startDateTimeUtc"] for e in state["events"]] == [
        V.pdi_datetime(listed["start_date"])
    ]
    assert [c["emails"][0]["emailAddress"] for c in state["contacts"]] == ["bob@example.org"]
    assert [w for w in warnings(caplog) if "Timeslot 1999" in w] == [
        "Timeslot 1999 is not listed by event 101 (signup 11): taken as removed, its signups "
        "are skipped"
    ]
    assert not dead_letters(runtime)


def test_people_sharing_an_email_get_one_contact_and_one_line_per_batch(
    pdi: Pdi, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3), F.slot(1002, 4)])
    older = F.person(1, "Sam", "Rivera", "Sam.Rivera@Example.org")
    newer = F.person(2, "Samuel", "Rivera", "sam.rivera@example.org", modified=100)
    later = F.person(3, "Sammy", "Rivera", "sam.rivera@example.org", modified=50)
    caplog.set_level(logging.WARNING, logger="target-pdi")
    runtime.engine.run(
        Batch(
            events=[event],
            attendances=[
                F.attendance(11, older, event, F.slot(1001, 3), "REGISTERED", None),
                F.attendance(12, newer, event, F.slot(1002, 4), "REGISTERED", None),
            ],
        )
    )
    # A third person with that email in a later batch: still one contact, still its name.
    runtime.engine.run(
        Batch(attendances=[F.attendance(13, later, event, F.slot(1001, 3), "CONFIRMED", None)])
    )
    contacts = pdi.state()["contacts"]
    assert [(c["firstName"], c["emails"][0]["emailAddress"]) for c in contacts] == [
        ("Samuel", "sam.rivera@example.org")
    ]
    assert [w for w in warnings(caplog) if "share one email" in w] == [
        "People 1 and 2 share one email address: one PDI contact, named after person 2 "
        "(the most recently modified)",
        "People 3 and 2 share one email address: one PDI contact, named after person 2 "
        "(the most recently modified)",
    ]


def test_a_contact_pdi_refuses_in_every_batch_counts_as_one_failure(
    pdi: Pdi, runtime: Runtime
) -> None:
    """PDI refuses a blank last name; a person whose signups fill two batches is one failed
    contact in the summary (it said 2), as in the dead letters."""
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3), F.slot(1002, 4)])
    blank = F.person(1, "Ana", "", "ana.lopez@example.org")
    for att_id, ts in ((11, F.slot(1001, 3)), (12, F.slot(1002, 4))):
        runtime.engine.run(
            Batch(
                events=[event],
                attendances=[F.attendance(att_id, blank, event, ts, "REGISTERED", None)],
            )
        )
    assert not pdi.state()["contacts"]
    assert runtime.engine.summary.counts()["contacts"]["failed"] == 1
    assert [k for k in dead_letters(runtime) if k[0] == "people"] == [("people", "1")]


def test_a_person_without_email_seen_in_several_batches_is_skipped_once(
    pdi: Pdi, runtime: Runtime
) -> None:
    """The summary counts people and signups, as the dead letters hold them: the demo's first
    sync said '15 people without email' with 10 of them dead-lettered. A signup seen again (a
    dead letter retried beside its fresh copy) is one signup too."""
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3), F.slot(1002, 4)])
    nobody = F.person(1, "Ann", "Lee", None)
    first = F.attendance(11, nobody, event, F.slot(1001, 3), "REGISTERED", None)
    second = F.attendance(12, nobody, event, F.slot(1002, 4), "REGISTERED", None)
    for batch in (
        Batch(events=[event], attendances=[first]),
        Batch(attendances=[second]),
        Batch(attendances=[first]),
    ):
        runtime.engine.run(batch)
    skipped = runtime.engine.summary.skipped_reasons()
    assert skipped["people without email"] == 1
    assert skipped["attendances of people without email"] == 2
    assert sorted(dead_letters(runtime)) == [
        ("attendances", "11"),
        ("attendances", "12"),
        ("people", "1"),
    ]


def test_an_event_met_through_its_signups_too_is_counted_once(pdi: Pdi, runtime: Runtime) -> None:
    """A timeslot's event comes with the events stream and again inside each signup (a full
    refresh read 344 events and counted 369 unchanged)."""
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3), F.slot(1002, 4)])
    ana = F.person(1, "Ana", "Lopez", "ana.lopez@example.org")
    signup = F.attendance(11, ana, event, F.slot(1001, 3), "REGISTERED", None)
    runtime.engine.run(Batch(events=[event], attendances=[signup]))
    counts = runtime.engine.summary.counts
    assert counts()["events"]["created"] == 2
    runtime.engine.run(Batch(attendances=[signup]))
    runtime.engine.run(Batch(events=[event], attendances=[signup]))
    assert counts()["events"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    assert len(pdi.state()["events"]) == 2


def test_a_malformed_email_is_dead_lettered_with_its_reason(
    pdi: Pdi, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    ana = F.person(1, "Ana", "Lopez", "ana.lopez@gmail")
    caplog.set_level(logging.WARNING, logger="target-pdi")
    runtime.engine.run(
        Batch(
            events=[event],
            attendances=[F.attendance(11, ana, event, F.slot(1001, 3), "REGISTERED", None)],
        )
    )
    assert not pdi.state()["contacts"]
    reason = "person has a malformed email address"
    assert {k: x["reason"] for k, x in dead_letters(runtime).items()} == {
        ("people", "1"): reason,
        ("attendances", "11"): reason,
    }
    assert f"Dead letter: stream=people key=1 reason={reason}" in warnings(caplog)


def test_odd_events_are_written_with_one_line_each(
    pdi: Pdi, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    backwards = F.slot(1001, 3)
    backwards["end_date"] = backwards["start_date"] - 3600
    odd = F.event(101, "Backwards", "CANVASS", [backwards])
    north = F.event(102, "North", "CANVASS", [F.slot(1002, 4)])
    south = F.event(103, "South", "CANVASS", [F.slot(1003, 5)])
    north["location"] = F.location("North Hall", GARBAGE["latitude"], GARBAGE["longitude"])
    south["location"] = F.location("South Hall", GARBAGE["latitude"], GARBAGE["longitude"])
    caplog.set_level(logging.WARNING, logger="target-pdi")
    runtime.engine.run(Batch(events=[odd, north, south]))
    state = pdi.state()
    [written] = [e for e in state["events"] if e["name"] == "Backwards"]
    assert written["endDateTimeUtc"] == written["startDateTimeUtc"]
    names = {x["id"]: x["locationName"] for x in state["locations"]}
    assert {e["name"]: names[e["locationId"]] for e in state["events"]} == {
        "Backwards": "Union Hall",
        "North": "North Hall",
        "South": "South Hall",
    }
    lines = warnings(caplog)
    assert (
        "Event 101: timeslot 1001 ends before it starts: its PDI event ends at its start" in lines
    )
    assert [x for x in lines if "out of range" in x] == [
        f"Event {n}: coordinates (123.456, -200.5) are out of range: its location is matched by "
        "name and address instead"
        for n in (102, 103)
    ]


def test_dead_letter_file_keeps_a_refused_record_as_it_came(
    pdi: Pdi, runtime: Runtime, tmp_path: Path
) -> None:
    """PDI answering 400 (a last name is [Required]): the record is kept to be retried."""
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    prince = F.person(1, "Prince", "", "prince@example.org")
    runtime.engine.run(
        Batch(
            events=[event],
            attendances=[F.attendance(11, prince, event, F.slot(1001, 3), "REGISTERED", None)],
        )
    )
    letters = dead_letters(runtime)
    assert set(letters) == {("people", "1"), ("attendances", "11")}
    assert letters[("people", "1")]["http_status"] == 400
    assert "LastName" in letters[("people", "1")]["body"]
    assert letters[("people", "1")]["record"]["family_name"] == ""
    assert [e["name"] for e in pdi.state()["events"]] == ["Canvass"]  # the rest went on
