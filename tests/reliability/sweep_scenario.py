"""The sweeps' scenario: three syncs of a small organization whose writes are every kind of
PDI write the sync makes, at least once each.

Run 1 syncs everything (locations, events, contacts with their phones, invitations) while PDI
refuses one person's contact (Dana: a 400, as PDI refuses a record for a reason of its own), so
her contact and signups become dead letters. Run 2 renames an event, removes one of its
timeslots, changes another event's type (a move to another calendar, its invitation copied),
unapproves a third, renames a person, marks an attendance and cancels a signup; and retries
Dana's dead letters, which PDI now takes. Run 3 edits calendars.yml (the meetings re-routed to
another calendar), approves the event again (revived with its invitation), deletes an event,
renames a venue and changes a person's email (a new contact; the old one's invitation
"Cancelled").

Each run's input is what tap-mobilize would send: the records changed since the last bookmark,
between its start and completion markers. `mobilize` is Mobilize's whole data after the run's
changes, what `tests/e2e/expect.py`'s model is synced with.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
DAY = 86400
BASE = 1_793_000_000  # 2026-10-26: the events are in the weeks after it

UNION_HALL = ("Union Hall", 39.781721, -89.650148, "1 Union Sq")
LIBRARY = ("Library", 40.110588, -88.207270, "200 Book Rd")
ROUTES_BEFORE = {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks", "MEETING": "Meetings"}
# Run 3's calendars.yml: the meetings go to another calendar.
ROUTES_AFTER = {**ROUTES_BEFORE, "MEETING": "Trainings"}
REFUSED_EMAIL = "dana@example.org"  # PDI refuses her contact in run 1 only


def slot(ts_id: int, day: int) -> Record:
    start = BASE + day * DAY + 15 * 3600
    return {"id": ts_id, "start_date": start, "end_date": start + 2 * 3600, "is_full": False}


def venue(place: tuple[str, float, float, str], name: str | None = None) -> Record:
    title, lat, lon, street = place
    return {
        "venue": name or title,
        "address_lines": [street, ""],
        "locality": "Springfield",
        "region": "IL",
        "country": "US",
        "postal_code": "62701",
        "location": {"latitude": lat, "longitude": lon},
    }


def event(
    event_id: int,
    title: str,
    event_type: str,
    slots: list[Record],
    place: tuple[str, float, float, str],
    **changes: Any,
) -> Record:
    record: Record = {
        "id": event_id,
        "title": title,
        "summary": "",
        "description": f"<p>{title}</p>",
        "event_type": event_type,
        "timeslots": slots,
        "location": venue(place),
        "timezone": "America/Chicago",
        "browser_url": f"https://www.mobilize.us/org/event/{event_id}/",
        "created_date": BASE - 30 * DAY,
        "modified_date": BASE - 10 * DAY,
        "visibility": "PUBLIC",
        "address_visibility": "PUBLIC",
        "is_virtual": False,
        "approval_status": "APPROVED",
        "sponsor": {"id": 1, "name": "Org"},
        "contact": {"name": "Host", "email_address": "host@example.org", "phone_number": ""},
    }
    record.update(changes)
    return record


def person(pid: int, given: str, family: str, email: str, phone: str | None) -> Record:
    return {
        "id": pid,
        "given_name": given,
        "family_name": family,
        "email_addresses": [{"primary": True, "address": email}],
        "phone_numbers": [{"primary": True, "number": phone}] if phone else [],
        "postal_addresses": [],
        "created_date": BASE - 100 * DAY,
        "modified_date": BASE - 50 * DAY,
    }


def signup(att_id: int, who: Record, ev: Record, ts: Record, status: str = "REGISTERED") -> Record:
    return {
        "id": att_id,
        "person": copy.deepcopy(who),
        "event": {**copy.deepcopy(ev), "timeslots": None},
        "timeslot": copy.deepcopy(ts),
        "status": status,
        "attended": None,
        "created_date": BASE - 5 * DAY,
        "modified_date": BASE - 5 * DAY,
        "person_id": who["id"],
        "event_id": ev["id"],
        "timeslot_id": ts["id"],
        "sponsor_id": 1,
    }


@dataclass(frozen=True)
class Refusal:
    """PDI refusing a person's contact (HTTP 400 to every request holding ``email``) during a
    run: the person and their signups are dead letters after it."""

    email: str
    person: int
    signups: frozenset[int]


@dataclass
class Run:
    """One sync of the scenario."""

    number: int
    routes: dict[str, str]  # calendars.yml's event_types
    input: dict[str, list[Record]]  # by stream, what the tap sends
    mobilize: dict[str, list[Record]]  # Mobilize's whole data after the run's changes
    refusal: Refusal | None = None

    @property
    def refused_email(self) -> str | None:
        return self.refusal.email if self.refusal else None

    @property
    def refused_signups(self) -> frozenset[int]:
        """Signups PDI cannot have after this run."""
        return self.refusal.signups if self.refusal else frozenset()

    @property
    def dead_letters(self) -> set[tuple[str, str]]:
        """The dead letters this run leaves: (stream, key)."""
        if self.refusal is None:
            return set()
        letters = {("attendances", str(a)) for a in self.refusal.signups}
        return letters | {("people", str(self.refusal.person))}

    @property
    def bookmark(self) -> dict[str, Any]:
        """The state the tap sends at the end of this run."""
        return {"bookmarks": {"events": {"replication_key_value": self.number}}}

    @property
    def given_state(self) -> dict[str, Any]:
        """The state Meltano gives the tap: the last run's bookmark."""
        if self.number == 1:
            return {}
        return {"bookmarks": {"events": {"replication_key_value": self.number - 1}}}


class Organization:
    """Mobilize's data, changed run by run; each change also goes to the next run's input."""

    def __init__(self) -> None:
        self.events: dict[int, Record] = {}
        self.people: dict[int, Record] = {}
        self.attendances: dict[int, Record] = {}
        self.deleted: dict[int, Record] = {}
        self._input: dict[str, dict[int, Record]] = {}
        self._clock = BASE

    def _tick(self) -> int:
        self._clock += 60
        return self._clock

    def _send(self, stream: str, record: Record) -> None:
        self._input.setdefault(stream, {})[record["id"]] = record

    def put_event(self, record: Record) -> Record:
        self.events[record["id"]] = record
        self._send("events", record)
        return record

    def change_event(self, event_id: int, **changes: Any) -> Record:
        return self.put_event({**self.events[event_id], **changes, "modified_date": self._tick()})

    def delete_event(self, event_id: int) -> None:
        del self.events[event_id]
        record = {"id": event_id, "deleted_date": self._tick()}
        self.deleted[event_id] = record
        self._send("deleted_events", record)

    def put_person(self, record: Record) -> Record:
        self.people[record["id"]] = record
        self._send("people", record)
        return record

    def change_person(self, pid: int, **changes: Any) -> Record:
        return self.put_person({**self.people[pid], **changes, "modified_date": self._tick()})

    def put_signup(self, record: Record) -> Record:
        self.attendances[record["id"]] = record
        self._send("attendances", record)
        return record

    def change_signup(self, att_id: int, **changes: Any) -> Record:
        return self.put_signup(
            {**self.attendances[att_id], **changes, "modified_date": self._tick()}
        )

    def take_run(self, number: int, routes: dict[str, str], refusal: Refusal | None = None) -> Run:
        """The run of the changes made since the last one."""
        streams = ("events", "deleted_events", "people", "attendances")
        sent = {s: list(self._input.get(s, {}).values()) for s in streams}
        self._input = {}
        whole = {
            "events": list(self.events.values()),
            "deleted_events": list(self.deleted.values()),
            "people": list(self.people.values()),
            "attendances": list(self.attendances.values()),
        }
        return Run(number, dict(routes), copy.deepcopy(sent), copy.deepcopy(whole), refusal)


def build() -> list[Run]:
    org = Organization()
    downtown = org.put_event(
        event(101, "Canvass Downtown", "CANVASS", [slot(1001, 3), slot(1002, 4)], UNION_HALL)
    )
    phones = org.put_event(event(102, "Phone Bank Night", "PHONE_BANK", [slot(1003, 5)], LIBRARY))
    meeting = org.put_event(event(103, "Volunteer Meeting", "MEETING", [slot(1004, 6)], UNION_HALL))
    north = org.put_event(event(104, "Canvass North", "CANVASS", [slot(1005, 7)], UNION_HALL))
    south = org.put_event(event(105, "Canvass South", "CANVASS", [slot(1006, 8)], UNION_HALL))
    east = org.put_event(event(106, "Canvass East", "CANVASS", [slot(1007, 9)], UNION_HALL))
    # Mobilize left its page address empty: the website names no Mobilize event.
    west = org.put_event(
        event(107, "Canvass West", "CANVASS", [slot(1008, 10)], LIBRARY, browser_url="")
    )
    ann = org.put_person(person(1, "Ann", "Archer", "ann@example.org", "+1 217 555 0101"))
    bob = org.put_person(person(2, "Bob", "Baker", "bob@example.org", None))
    cara = org.put_person(person(3, "Cara", "Cole", "cara@example.org", "+1 217 555 0103"))
    dana = org.put_person(person(4, "Dana", "Dunn", REFUSED_EMAIL, "+1 217 555 0104"))

    def first(ev: Record) -> Record:
        return dict(ev["timeslots"][0])

    org.put_signup(signup(11, ann, downtown, first(downtown)))
    org.put_signup(signup(12, ann, north, first(north), "CONFIRMED"))
    org.put_signup(signup(13, ann, south, first(south)))
    org.put_signup(signup(14, bob, downtown, first(downtown)))
    org.put_signup(signup(15, bob, meeting, first(meeting)))
    org.put_signup(signup(16, cara, downtown, dict(downtown["timeslots"][1])))
    org.put_signup(signup(17, cara, phones, first(phones)))
    org.put_signup(signup(18, dana, meeting, first(meeting)))
    org.put_signup(signup(19, dana, east, first(east)))
    org.put_signup(signup(20, ann, west, first(west)))
    runs = [org.take_run(1, ROUTES_BEFORE, Refusal(REFUSED_EMAIL, 4, frozenset({18, 19})))]

    # Run 2: an event renamed and a timeslot removed, a type changed (moved), an event no
    # longer approved, a person renamed, an attendance marked, a signup cancelled; Dana's
    # dead letters retried (PDI takes her now).
    org.change_event(101, title="Canvass Downtown (new route)", timeslots=[slot(1001, 3)])
    org.change_event(104, event_type="PHONE_BANK")
    org.change_event(105, approval_status="NEEDS_APPROVAL")
    org.change_person(2, given_name="Robert")
    org.change_signup(11, attended=True)
    org.change_signup(15, status="CANCELLED")
    runs.append(org.take_run(2, ROUTES_BEFORE))

    # Run 3: calendars.yml re-routes the meetings; the event approved again; one deleted; a
    # venue renamed; a person's email changed.
    org.change_event(105, approval_status="APPROVED")
    org.delete_event(106)
    org.change_event(102, location=venue(LIBRARY, "Main Library"))
    org.change_person(3, email_addresses=[{"primary": True, "address": "cara.cole@example.org"}])
    runs.append(org.take_run(3, ROUTES_AFTER))
    return runs
