"""Regenerate the `.singer` fixtures: `python target-pdi/tests/make_fixtures.py`.

Faithful Mobilize shapes (integer epoch dates), as tap-mobilize emits them. run1 covers every seed
rule; run2 is a later incremental run (edits, a removed timeslot, a deleted event, a status change).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "fixtures"
DAY = 86400
BASE = 1_793_000_000  # 2026-10-26, before the sandbox epoch


def sandbox_config(pdi: Any, tmp_path: Path) -> dict[str, Any]:
    """target-pdi's config against the PDI simulator (`pdi` fixture), state in tmp_path."""
    return {
        "api_url": pdi.url,
        "username": "sandbox",
        "password": "sandbox-password",
        "api_token": "sandbox-token",
        "id_map_url": f"sqlite:///{tmp_path / 'idmap.sqlite'}",
        "dead_letter_path": str(tmp_path / "dead_letters.jsonl"),
        # Not the default, the repository's own .meltano/: tests run side by side.
        "summary_path": str(tmp_path / "summary.json"),
        "max_requests_per_second": 1000,
    }


OBJ = {"type": ["object", "null"], "additionalProperties": True, "properties": {}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "organization": {
        "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}
    },
    "events": {
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": ["string", "null"]},
            "timeslots": {"type": ["array", "null"], "items": OBJ},
            "location": OBJ,
            "contact": OBJ,
            "modified_date": {"type": ["integer", "null"]},
        }
    },
    "timeslots": {"properties": {"id": {"type": "integer"}, "event_id": {"type": "integer"}}},
    "deleted_events": {
        "properties": {"id": {"type": "integer"}, "deleted_date": {"type": ["integer", "null"]}}
    },
    "people": {"properties": {"id": {"type": "integer"}}},
    "attendances": {"properties": {"id": {"type": ["integer", "null"]}}},
    "unknown_stream": {"properties": {"id": {"type": "integer"}}},
}


def location(venue: str, lat: float | None, lon: float | None, **extra: Any) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "venue": venue,
        "address_lines": ["123 Main St", "Apt 4"],
        "locality": "Springfield",
        "region": "IL",
        "country": "US",
        "postal_code": "62701",
        "congressional_district": "13",
        "state_leg_district": "96",
        "state_senate_district": "48",
    }
    if lat is not None:
        loc["location"] = {"latitude": lat, "longitude": lon}
    loc.update(extra)
    return loc


def slot(ts_id: int, day: int, hours: int = 2) -> dict[str, Any]:
    start = BASE + day * DAY + 15 * 3600
    return {"id": ts_id, "start_date": start, "end_date": start + hours * 3600, "is_full": False}


def event(
    event_id: int, title: str, event_type: str, slots: list[dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": event_id,
        "title": title,
        "summary": "",
        "description": f"<p>{title} description</p>",
        "featured_image_url": "",
        "high_priority": None,
        "sponsor": {"id": 1, "name": "Org"},
        "timeslots": slots,
        "location": location("Union Hall", 39.781721, -89.650148),
        "timezone": "America/Chicago",
        "event_type": event_type,
        "browser_url": f"https://www.mobilize.us/org/event/{event_id}/",
        "created_date": BASE - 30 * DAY,
        "modified_date": BASE - 10 * DAY,
        "visibility": "PUBLIC",
        "address_visibility": "PUBLIC",
        "created_by_volunteer_host": False,
        "is_virtual": False,
        "virtual_action_url": None,
        "contact": {
            "name": "Host",
            "email_address": "host@example.org",
            "phone_number": "555-0100",
            "owner_user_id": 9,
        },
        "accessibility_status": None,
        "accessibility_notes": None,
        "tags": [],
        "approval_status": "APPROVED",
        "event_campaign": None,
        "instructions": None,
    }
    record.update(kw)
    return record


def person(
    pid: int,
    given: str,
    family: str,
    email: str | None,
    phone: str | None = None,
    modified: int = 0,
) -> dict[str, Any]:
    return {
        "id": pid,
        "person_id": pid,
        "user_id": pid + 1000,
        "created_date": BASE - 100 * DAY,
        "modified_date": BASE - 50 * DAY + modified,
        "given_name": given,
        "family_name": family,
        "email_addresses": [{"primary": True, "address": email}] if email else [],
        "phone_numbers": [{"primary": True, "number": phone}] if phone else [],
        "postal_addresses": [{"primary": True, "postal_code": "62701"}],
        "sms_opt_in_status": "UNSPECIFIED",
        "blocked_date": None,
    }


def attendance(
    att_id: int | None,
    who: dict[str, Any],
    ev: dict[str, Any],
    ts: dict[str, Any] | None,
    status: str,
    attended: bool | None,
    modified: int = 0,
) -> dict[str, Any]:
    embedded_event = {**copy.deepcopy(ev), "timeslots": None}
    return {
        "id": att_id,
        "created_date": BASE - 5 * DAY,
        "modified_date": BASE - 5 * DAY + modified,
        "person": copy.deepcopy(who),
        "event": embedded_event,
        "timeslot": copy.deepcopy(ts) if ts else {"id": None, "start_date": None, "end_date": None},
        "sponsor": {"id": 1, "name": "Org"},
        "status": status,
        "attended": attended,
        "referrer": {"utm_source": None, "url": None},
        "custom_signup_field_values": [],
        "person_id": who.get("id"),
        "event_id": ev.get("id"),
        "timeslot_id": ts.get("id") if ts else None,
        "sponsor_id": 1,
    }


def lines(streams: dict[str, list[dict[str, Any]]], state: dict[str, Any]) -> list[str]:
    out = []
    for name, records in streams.items():
        out.append(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": name,
                    "schema": SCHEMAS[name],
                    "key_properties": ["id"] if name != "attendances" else [],
                }
            )
        )
        out.extend(json.dumps({"type": "RECORD", "stream": name, "record": r}) for r in records)
    out.append(json.dumps({"type": "STATE", "value": state}))
    return out


def build() -> dict[str, list[str]]:
    e101 = event(101, "Canvass Springfield", "CANVASS", [slot(1001, 3), slot(1002, 4)])
    e102 = event(
        102, "Phone Bank Night", "PHONE_BANK", [slot(1003, 5)], is_virtual=True, location=None
    )
    e103 = event(
        103,
        "Private Canvass",
        "CANVASS",
        [slot(1004, 6)],
        address_visibility="PRIVATE",
        location={
            "venue": "This event's address is private. Sign up for more details",
            "address_lines": ["This event's address is private. Sign up for more details", ""],
            "locality": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "country": "US",
        },
    )
    e104 = event(104, "Team Meeting", "MEETING", [slot(1005, 7)])
    e105 = event(
        105,
        "Canvass Again",
        "CANVASS",
        [slot(1006, 8)],
        location=location("Union Hall", 39.7817209, -89.6501481),
    )
    e106 = event(106, "Canvass To Delete", "CANVASS", [slot(1007, 9)])
    e201 = event(
        201,
        "Library Canvass",
        "CANVASS",
        [],
        location=location("Library", 40.1, -88.2, address_lines=["1 Book Rd", ""]),
    )
    t2001 = slot(2001, 10)

    alice = person(1, "Alice", "Adams", " Alice@Example.com ", "+1 217 555 0101", modified=100)
    alice_old = person(1, "Alicia", "Adams", "alice@example.com", "+1 217 555 0101")
    bob = person(2, "Bob", "Brown", "bob@example.com")
    carol = person(3, "Carol", "Clark", None)
    dave = person(4, "Dave", "Davis", "dave@example.com")

    atts = [
        attendance(11, alice_old, e101, slot(1001, 3), "REGISTERED", None),
        attendance(12, alice_old, e101, slot(1002, 4), "CONFIRMED", None),
        attendance(13, bob, e101, slot(1001, 3), "CANCELLED", True),
        attendance(14, bob, e102, slot(1003, 5), "REGISTERED", True),
        attendance(15, bob, e103, slot(1004, 6), "REGISTERED", False),
        attendance(16, carol, e101, slot(1001, 3), "REGISTERED", None),
        attendance(None, bob, {**e101, "id": None}, None, "REGISTERED", None),
        attendance(18, alice_old, e102, slot(1003, 5), "REGISTERED", None, modified=100),
        attendance(19, alice_old, e102, slot(1003, 5), "CANCELLED", None, modified=200),
        attendance(20, bob, e201, t2001, "REGISTERED", None),
        attendance(21, alice_old, e104, slot(1005, 7), "REGISTERED", None),
        attendance(22, bob, e106, slot(1007, 9), "REGISTERED", None),
    ]
    run1 = lines(
        {
            "organization": [{"id": 1, "name": "Org"}],
            "events": [e101, e102, e103, e104, e105, e106],
            "timeslots": [{**s, "event_id": e["id"]} for e in (e101, e102) for s in e["timeslots"]],
            "deleted_events": [],
            "people": [alice, bob, carol, dave],
            "attendances": atts,
            "unknown_stream": [{"id": 1}],
        },
        {"bookmarks": {"events": {"replication_key_value": BASE}}},
    )
    e101b = {**e101, "title": "Canvass Springfield (edited)", "modified_date": BASE}
    e105b = {**e105, "timeslots": [slot(1008, 11)], "modified_date": BASE}
    a11b = {**atts[0], "attended": True, "modified_date": BASE}
    run2 = lines(
        {
            "events": [e101b, e105b],
            "deleted_events": [{"id": 106, "deleted_date": BASE}],
            "people": [],
            "attendances": [a11b],
        },
        {"bookmarks": {"events": {"replication_key_value": BASE + 1}}},
    )
    return {"run1.singer": run1, "run2.singer": run2}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, content in build().items():
        (HERE / name).write_text("\n".join(content) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
