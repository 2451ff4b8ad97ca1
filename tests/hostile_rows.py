"""A sandbox dataset made hostile in place, the same way every time: some rows of every stream
the tap reads get values of other types than Mobilize documents and properties it does not
document, at the top and nested (an attendance's embedded person and event, an event's
location, timeslots and tags, a person's email addresses), array items of another type, and a
masked attendance with an unknown property. For comparing the tap's output across versions of
its row handling (bench/tap_cpu.py, tap-mobilize/tests/test_row_conformance.py).

Call it on the dataset a ``MobilizeApp`` was built from, after building it: the simulator's
indexes are made first, from the ids it needs, and only fields it never reads while paging or
filtering are changed (ids, ``modified_date``, ``visibility``, ``approval_status`` and the
timeslots' dates stay as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.datagen.dataset import Dataset

Row = dict[str, Any]
EVERY = 5  # one row in EVERY is garbled, each by the next garble of its stream's list


def _first(row: Row, name: str, value: Any) -> None:
    """Put a property first, as an API that adds fields may."""
    rest = list(row.items())
    row.clear()
    row[name] = value
    row.update(rest)


def _nested(row: Row, name: str, **changes: Any) -> None:
    """Replace a nested object with a changed copy (the original may be shared)."""
    if isinstance(row.get(name), dict):
        row[name] = {**row[name], **changes}


def _event_location(event: Row) -> None:
    location = event.get("location")
    if isinstance(location, dict):
        event["location"] = {
            **location,
            "zz_floor": 3,
            "address_lines": ["1 Main St", 7, None],
            "location": {"latitude": "north", "longitude": -89.6, "zz_datum": "WGS84"},
        }


def _event_timeslots(event: Row) -> None:
    slots = event.get("timeslots")
    if isinstance(slots, list) and slots:
        # Dicts with their dates intact: the simulator's re-check filters compare them.
        event["timeslots"] = [{**slots[0], "zz_room": "B", "is_full": "no"}, *slots[1:]]


def _event_tags(event: Row) -> None:
    event["tags"] = [{"id": "x", "name": "t"}, "loose", {"id": 2, "name": "u", "zz_color": "red"}]
    event["high_priority"] = "yes"


EVENT_GARBLES: list[Callable[[Row], None]] = [
    lambda e: e.update(title=5, zz_new={"a": 1}),
    _event_location,
    _event_timeslots,
    _event_tags,
    lambda e: (_nested(e, "sponsor", zz_level=1, is_coordinated="true"), e.update(contact=["a"])),
    lambda e: (_first(e, "zz_first", 1), _event_location(e)),
]

PERSON_GARBLES: list[Callable[[Row], None]] = [
    lambda p: p.update(given_name=["A"], zz_pronouns="they"),
    lambda p: p.update(
        email_addresses=[{"primary": "yes", "address": "a@example.org", "zz_verified": True}, "x"]
    ),
    lambda p: p.update(phone_numbers={"number": "1"}, blocked_date="soon"),
    lambda p: _first(p, "zz_first", {"nested": [1]}),
]

ATTENDANCE_GARBLES: list[Callable[[Row], None]] = [
    lambda a: a.update(status=3, zz_source="web"),
    lambda a: a.update(
        referrer={"utm_source": 5, "zz_gclid": "g"},
        custom_signup_field_values=[{"custom_field_id": "1", "zz": 1}, 4],
    ),
    lambda a: (_nested(a, "person", zz_age=30), _nested(a, "event", title=False, zz_x=1)),
    lambda a: (_nested(a, "timeslot", zz=1), a.update(attended="yes", person_id="x")),
    lambda a: (_nested(a, "sponsor", is_coordinated="true", zz_level=2), _first(a, "zz_0", 0)),
]


def garble(dataset: Dataset) -> None:
    """Make one row in EVERY of each stream hostile (see the module's docstring)."""
    for rows, garbles in (
        (dataset.events, EVENT_GARBLES),
        (dataset.people, PERSON_GARBLES),
        (dataset.attendances, ATTENDANCE_GARBLES),
    ):
        for n, row in enumerate(rows[::EVERY]):
            garbles[n % len(garbles)](row)
    for deleted in dataset.deleted_events[::2]:
        deleted["zz_reason"] = "spam"
    for organization in dataset.organizations:
        if organization["id"] == dataset.organization["id"]:
            organization.update(logo_url=5, zz_plan="pro")
    for attendance in dataset.attendances:
        if attendance["id"] is None:  # masked: skipped by the tap, so never warned about
            attendance["zz_masked"] = 1
