"""Reconcile's comparison (pure: no HTTP): one consistent organization, then one thing at a
time made to disagree, and what reconcile lists for it and how --fix would mend it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from target_pdi import payloads as P
from target_pdi.idmap import IdMap
from target_pdi.reconcile.compare import (
    CANNOT,
    DELETED_LIVE,
    MISSING_EVENT,
    MISSING_INVITATION,
    SHARED_EMAIL,
    STALE_ID,
    UNAPPROVED_LIVE,
    WRONG_ATTENDED,
    WRONG_CALENDAR,
    WRONG_RSVP,
    WRONG_TIME,
    Discrepancy,
    Mend,
    Result,
    compare,
)
from target_pdi.reconcile.mobilize import MobilizeData
from target_pdi.reconcile.pdi_state import PdiState
from target_pdi.routing import CalendarRouter
from target_pdi.vocabulary import PdiObject

EVENT, CONTACT, INVITATION, LOCATION = (
    PdiObject.EVENT,
    PdiObject.CONTACT,
    PdiObject.INVITATION,
    PdiObject.LOCATION,
)
CALENDARS = [
    {"id": "cal-canvass", "name": "Canvassing"},
    {"id": "cal-phone", "name": "Phone Banks"},
]
START = 1_800_000_000
EMAIL = "ann@example.org"


def event(event_id: int, timeslot_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "title": "Door knock",
        "event_type": "CANVASS",
        "approval_status": "APPROVED",
        "browser_url": f"https://www.mobilize.us/org/event/{event_id}/",
        "timeslots": [{"id": timeslot_id, "start_date": START, "end_date": START + 3600}],
        "modified_date": 1,
        **fields,
    }


def person(person_id: int, email: str) -> dict[str, Any]:
    return {
        "id": person_id,
        "given_name": "Ann",
        "family_name": "Lee",
        "email_addresses": [{"address": email, "primary": True}],
        "modified_date": 1,
    }


def signup(
    attendance_id: int, who: dict[str, Any], event_id: int, timeslot_id: int, **fields: Any
) -> dict[str, Any]:
    return {
        "id": attendance_id,
        "person": who,
        "person_id": who["id"],
        "event": {"id": event_id},
        "event_id": event_id,
        "timeslot": {"id": timeslot_id},
        "timeslot_id": timeslot_id,
        "status": "REGISTERED",
        "attended": None,
        "modified_date": 1,
        **fields,
    }


@dataclass
class World:
    """Mobilize, PDI and the id map of one organization, all agreeing: one event with one
    timeslot (PDI event E1), one person with one signup (contact C1, invitation I1)."""

    mobilize: MobilizeData = field(default_factory=MobilizeData)
    pdi: PdiState = field(default_factory=PdiState)
    idmap: IdMap = field(default_factory=lambda: IdMap("sqlite://"))
    dead_letters: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.pdi.calendars = {c["id"]: c["name"] for c in CALENDARS}
        self.add_event(event(10, 11), "E1")
        ann = person(7, EMAIL)
        self.mobilize.people[7] = ann
        self.pdi.contacts["C1"] = {EMAIL}
        self.idmap.put(CONTACT, f"email:{EMAIL}", "C1", "h", mobilize_id=7)
        self.mobilize.attendances[100] = signup(100, ann, 10, 11)
        self.invite("E1", "C1", "I1", "Yes", attended=False)
        self.idmap.put(INVITATION, "E1:C1", "I1", "h", mobilize_id=100)

    def add_event(self, record: dict[str, Any], pdi_id: str, calendar: str = "cal-canvass") -> None:
        self.mobilize.events[record["id"]] = record
        slot = record["timeslots"][0]
        payload = P.event_payload(record, slot, "L1")
        self.pdi.events[pdi_id] = {"id": pdi_id, "calendarId": calendar, **payload}
        self.pdi.locations.add("L1")
        self.idmap.put(LOCATION, P.location_key(record), "L1", "h")
        extra = {"payload": payload, "calendar_id": calendar, "event_type": record["event_type"]}
        self.idmap.put(
            EVENT, f"ts:{slot['id']}", pdi_id, "h", mobilize_id=record["id"], extra=extra
        )

    def invite(
        self, event_id: str, contact_id: str, inv_id: str, status: str, *, attended: bool
    ) -> None:
        row = {"id": inv_id, "contactId": contact_id, "rsvpStatus": status, "attended": attended}
        self.pdi.invitations.setdefault(event_id, {}).setdefault(contact_id, []).append(row)

    def compare(self) -> Result:
        calendars = CalendarRouter({"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"})
        calendars.resolve(CALENDARS)
        return compare(
            self.mobilize, self.pdi, self.idmap, calendars, ["APPROVED"], self.dead_letters
        )

    def found(self) -> list[Discrepancy]:
        return self.compare().found

    def only(self) -> Discrepancy:
        found = self.found()
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def world() -> World:
    return World()


def test_nothing_found_when_everything_agrees(world: World) -> None:
    result = world.compare()
    assert result.found == []
    assert (result.checked.timeslots, result.checked.signups, result.checked.contacts) == (1, 1, 1)


def test_a_pdi_event_deleted_is_made_again_with_its_invitations(world: World) -> None:
    del world.pdi.events["E1"]
    del world.pdi.invitations["E1"]
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (MISSING_EVENT, "timeslot:11", "E1")
    assert found.expected == "Canvassing, 2027-01-15 08:00-09:00 UTC"
    assert found.mend == Mend(forget=((EVENT, "ts:11"),), events=(10,))


def test_a_timeslot_never_written_is_created_unless_recovery_would_find_it(world: World) -> None:
    world.idmap.drop(EVENT, "ts:11")
    assert world.found() == []  # the live PDI event its website names, at its start: adopted
    world.pdi.events["E1"]["name"] = "[Canceled] Door knock"
    found = world.only()
    assert (found.kind, found.pdi_id, found.found) == (MISSING_EVENT, "", "none")
    assert found.mend == Mend(events=(10,))


def test_an_event_in_another_calendar_is_moved(world: World) -> None:
    world.pdi.events["E1"]["calendarId"] = "cal-phone"
    found = world.only()
    assert (found.kind, found.expected, found.found) == (
        WRONG_CALENDAR,
        "Canvassing",
        "Phone Banks",
    )
    assert found.mend == Mend(calendar=(("ts:11", "cal-phone"),), events=(10,))


def test_an_event_at_another_time_is_rewritten(world: World) -> None:
    world.pdi.events["E1"]["endDateTimeUtc"] = P.pdi_datetime(START + 7200)
    found = world.only()
    assert (found.kind, found.found) == (WRONG_TIME, "2027-01-15 08:00-10:00 UTC")
    assert found.mend == Mend(forget=((EVENT, "ts:11"),), events=(10,))


def test_a_signup_without_invitation(world: World) -> None:
    world.pdi.invitations["E1"] = {}
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        MISSING_INVITATION,
        "attendance:100",
        "E1",
    )
    assert (found.expected, found.found) == (f"{EMAIL}: Yes", "none")
    assert found.mend == Mend(forget=((INVITATION, "E1:C1"),), people=(7,), attendances=(100,))


def test_attended_and_rsvp_status_that_disagree(world: World) -> None:
    world.mobilize.attendances[100]["attended"] = True  # Mobilize: Completed, attended
    found = world.found()
    assert [(d.kind, d.pdi_id, d.expected, d.found) for d in found] == [
        (WRONG_ATTENDED, "I1", f"{EMAIL}: true", "false"),
        (WRONG_RSVP, "I1", f"{EMAIL}: Completed", "Yes"),
    ]
    assert {d.mend for d in found} == {
        Mend(forget=((INVITATION, "E1:C1"),), people=(7,), attendances=(100,))
    }


def test_the_latest_signup_of_a_person_on_a_timeslot_decides(world: World) -> None:
    ann = world.mobilize.people[7]
    world.mobilize.attendances[99] = signup(99, ann, 10, 11, status="CANCELLED", modified_date=0)
    assert world.found() == []


def test_dead_lettered_signups_are_left_to_the_sync(world: World) -> None:
    # PDI refused the invitation: no invitation, and a dead letter the next sync retries.
    world.pdi.invitations["E1"] = {}
    world.idmap.drop(INVITATION, "E1:C1")
    world.dead_letters.add(("attendances", "100"))
    result = world.compare()
    assert result.found == []
    assert result.checked.dead_lettered == 1


def test_two_contacts_sharing_an_email_cannot_be_mended(world: World) -> None:
    world.pdi.contacts["C2"] = {EMAIL, "other@example.org"}
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        SHARED_EMAIL,
        f"email:{EMAIL}",
        "C1 C2",
    )
    assert found.mend is None
    assert found.fix.startswith(CANNOT)
    assert "the sync writes to C1" in found.fix


@pytest.mark.parametrize("how", ["deleted", "rejected"])
def test_an_event_mobilize_no_longer_wants_live_is_canceled_again(world: World, how: str) -> None:
    canceled = {**world.idmap.get(EVENT, "ts:11").extra, "canceled": how}  # type: ignore[union-attr]
    world.idmap.put(EVENT, "ts:11", "E1", "h", mobilize_id=10, extra=canceled)
    world.pdi.invitations["E1"]["C1"][0]["rsvpStatus"] = "Cancelled"
    if how == "deleted":
        world.mobilize.deleted_events[10] = {"id": 10, "deleted_date": 2}
        kind, rerun = DELETED_LIVE, Mend(revive=("ts:11",), deleted_events=(10,))
    else:
        world.mobilize.events[10]["approval_status"] = "REJECTED"
        kind, rerun = UNAPPROVED_LIVE, Mend(revive=("ts:11",), events=(10,))
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id, found.found) == (
        kind,
        "event:10",
        "E1",
        "live: Door knock",
    )
    assert found.mend == rerun
    world.pdi.events["E1"]["name"] = "[Canceled] Door knock"
    assert world.found() == []


def test_a_contact_pdi_lost_is_made_again_with_its_invitations(world: World) -> None:
    del world.pdi.contacts["C1"]
    del world.pdi.invitations["E1"]["C1"]
    found = world.only()  # its signup is not listed again
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        STALE_ID.format("contact"),
        f"email:{EMAIL}",
        "C1",
    )
    assert found.mend == Mend(
        forget=((CONTACT, f"email:{EMAIL}"),),
        drop=((INVITATION, "E1:C1"),),
        people=(7,),
        attendances=(100,),
    )


def test_id_map_entries_of_objects_pdi_lost(world: World) -> None:
    world.pdi.locations.clear()
    world.idmap.put(EVENT, "pdi:E9", "E9", "h", mobilize_id=10, extra={"canceled": "moved"})
    world.idmap.put(EVENT, "ts:12", "E8", "h", mobilize_id=10, extra={"canceled": "removed"})
    world.idmap.put(INVITATION, "E1:C1x", "I9", "h")  # a contact PDI also lost: listed there
    world.pdi.contacts["C1x"] = {"x@example.org"}
    world.idmap.put(INVITATION, "E1:C1x", "I9", "h")
    found = world.found()
    by_key = {d.mobilize_key: d for d in found}
    assert [d.kind for d in found] == [
        STALE_ID.format(k) for k in ("location", "event", "event", "invitation")
    ]
    assert by_key[P.location_key(world.mobilize.events[10])].mend == Mend(
        forget=((LOCATION, P.location_key(world.mobilize.events[10])),), events=(10,)
    )
    assert by_key["pdi:E9"].mend == Mend(drop=((EVENT, "pdi:E9"),))
    assert by_key["ts:12"].mend == Mend(drop=((EVENT, "ts:12"),), tombstones=("ts:12",))
    assert by_key["E1:C1x"].mend == Mend(drop=((INVITATION, "E1:C1x"),))
