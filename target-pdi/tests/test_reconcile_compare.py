"""Reconcile's comparison (pure: no HTTP): one consistent organization, then one thing at a
time made to disagree, and what reconcile lists for it and how --fix would mend it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from target_pdi.operator_tools.reconcile import events
from target_pdi.operator_tools.reconcile.compare import compare
from target_pdi.operator_tools.reconcile.comparison import Comparison
from target_pdi.operator_tools.reconcile.contacts import chosen_people
from target_pdi.operator_tools.reconcile.found import (
    CANNOT,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    DELETED_LIVE,
    EVENT_FIELDS,
    EXTRA_INVITATION,
    INVITATION_LIVE,
    MISSING_EVENT,
    MISSING_INVITATION,
    MOVED_LIVE,
    REMOVED_LIVE,
    SHARED_EMAIL,
    STALE_ID,
    SUPERSEDED_LIVE,
    UNAPPROVED_LIVE,
    WRONG_ATTENDED,
    WRONG_CALENDAR,
    WRONG_CONFIRMED,
    WRONG_RSVP,
    WRONG_TIME,
    Discrepancy,
    Mend,
    Result,
)
from target_pdi.operator_tools.reconcile.invitations import latest_signups
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData
from target_pdi.operator_tools.reconcile.pdi_state import PdiState
from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import PdiObject
from target_pdi.stores.deadletters import FileDeadLetterStore
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.people_phase import PeoplePhase
from target_pdi.sync.summary import Summary
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.contacts import ContactItem
from target_pdi.sync.writers.invitations import InvitationWriter
from target_pdi.sync.writers.signups import SignupWriter

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
PHONE = "+1 217 555 0101"


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


def person(person_id: int, email: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": person_id,
        "given_name": "Ann",
        "family_name": "Lee",
        "email_addresses": [{"address": email, "primary": True}],
        "phone_numbers": [{"number": PHONE, "primary": True}],
        "modified_date": 1,
        **fields,
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
        self.add_contact("C1", EMAIL, "Ann", "Lee", PHONE)
        self.idmap.put(CONTACT, f"email:{EMAIL}", "C1", "h", mobilize_id=7)
        self.mobilize.attendances[100] = signup(100, ann, 10, 11)
        self.invite("E1", "C1", "I1", "Yes", attended=False)
        self.idmap.put(INVITATION, "E1:C1", "I1", "h", mobilize_id=100)

    def add_event(self, record: dict[str, Any], pdi_id: str, calendar: str = "cal-canvass") -> None:
        self.mobilize.events[record["id"]] = record
        slot = record["timeslots"][0]
        payload = P.event_payload(record, slot, "L1")
        self.pdi.events[pdi_id] = {"id": pdi_id, "calendarId": calendar, **payload}
        self.pdi.locations["L1"] = {"id": "L1", **P.location_payload(record)}
        self.idmap.put(LOCATION, P.location_key(record), "L1", "h")
        extra = {"payload": payload, "calendar_id": calendar, "event_type": record["event_type"]}
        self.idmap.put(
            EVENT, f"ts:{slot['id']}", pdi_id, "h", mobilize_id=record["id"], extra=extra
        )

    def add_contact(self, contact_id: str, email: str, first: str, last: str, phone: str) -> None:
        """A contact as PDI shows it when read: names, emails and phones."""
        self.pdi.contacts[contact_id] = {email}
        self.pdi.contact_rows[contact_id] = {
            "id": contact_id,
            "firstName": first,
            "lastName": last,
            "emails": [{"emailAddress": email, "isPrimary": True}],
            "phones": [{"phoneNumber": phone, "isPrimary": True}],
        }

    def invite(
        self,
        event_id: str,
        contact_id: str,
        inv_id: str,
        status: str,
        *,
        attended: bool,
        confirmed: bool = False,
    ) -> dict[str, Any]:
        row = {
            "id": inv_id,
            "contactId": contact_id,
            "rsvpStatus": status,
            "attended": attended,
            "isConfirmed": confirmed,
        }
        self.pdi.invitations.setdefault(event_id, {}).setdefault(contact_id, []).append(row)
        return row

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
    assert found.fix == "made again by the sync, with 1 invitation(s)"
    # Its signups go with it: the sync invites them on the new event, whatever contacts it has.
    assert found.mend == Mend(
        forget=((EVENT, "ts:11"),), events=(10,), attendances=(100,), people=(7,)
    )


def test_a_timeslot_never_written_is_created_unless_recovery_would_find_it(world: World) -> None:
    world.idmap.drop(EVENT, "ts:11")
    assert world.found() == []  # the live PDI event its website names, at its start: adopted
    world.pdi.events["E1"]["name"] = "[Canceled] Door knock"
    found = world.only()
    assert (found.kind, found.pdi_id, found.found) == (MISSING_EVENT, "", "none")
    assert found.mend == Mend(events=(10,), attendances=(100,), people=(7,))


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
    world.pdi.events["E1"]["endDateTimeUtc"] = V.pdi_datetime(START + 7200)
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


@pytest.mark.parametrize("how", ["deleted", "unapproved"])
def test_an_event_mobilize_no_longer_wants_live_is_canceled_again(world: World, how: str) -> None:
    canceled = {**world.idmap.get(EVENT, "ts:11").extra, "canceled": how}  # type: ignore[union-attr]
    world.idmap.put(EVENT, "ts:11", "E1", "h", mobilize_id=10, extra=canceled)
    world.pdi.invitations["E1"]["C1"][0]["rsvpStatus"] = "Cancelled"
    cancel = Mend(forget=((EVENT, "ts:11"),), cancel=(("ts:11", how),))
    if how == "deleted":
        world.mobilize.deleted_events[10] = {"id": 10, "deleted_date": 2}
        kind, rerun = DELETED_LIVE, cancel | Mend(deleted_events=(10,))
    else:
        world.mobilize.events[10]["approval_status"] = "REJECTED"
        kind, rerun = UNAPPROVED_LIVE, cancel | Mend(events=(10,))
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


# --- what the sync writes, field by field (issue 19: reconcile saw neither copies nor content) --


def test_a_second_live_pdi_event_for_a_timeslot_is_canceled(world: World) -> None:
    # A PDI user copied the event, or a crash left a second one: same website, start, calendar.
    world.pdi.events["E2"] = {**world.pdi.events["E1"], "id": "E2"}
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        "extra live PDI event",
        "timeslot:11",
        "E2",
    )
    assert (found.expected, found.found) == (
        "one live PDI event: E1",
        "live: Door knock, 2027-01-15 08:00-09:00 UTC",
    )
    assert found.mend == Mend(retire=(("E2", 10, "removed"),))
    # A copy moved to another time still names the event: one more than its timeslots.
    world.pdi.events["E2"]["startDateTimeUtc"] = V.pdi_datetime(START + 86400)
    found = world.only()
    assert (found.mobilize_key, found.expected) == ("event:10", "no PDI event at this time")


def test_a_second_event_is_found_when_the_id_map_lost_the_first(world: World) -> None:
    world.pdi.events["E2"] = {**world.pdi.events["E1"], "id": "E2"}
    world.idmap.drop(EVENT, "ts:11")
    found = world.only()  # recovery adopts the first PDI lists; the other is one too many
    assert (found.kind, found.pdi_id, found.expected) == (
        "extra live PDI event",
        "E2",
        "one live PDI event: E1",
    )


def test_an_event_renamed_in_pdi_is_written_again(world: World) -> None:
    world.pdi.events["E1"].update(name="Renamed", website="https://example.org/other")
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        "event fields differ",
        "timeslot:11",
        "E1",
    )
    assert found.expected == ("name: Door knock; website: https://www.mobilize.us/org/event/10/")
    assert found.found == "name: Renamed; website: https://example.org/other"
    assert found.mend == Mend(forget=((EVENT, "ts:11"),), events=(10,))


def test_every_field_the_sync_writes_of_an_event_is_compared(world: World) -> None:
    record = world.mobilize.events[10]
    want = P.event_payload(record, record["timeslots"][0], "L1")
    compared = set(want) - {"startDateTimeUtc", "endDateTimeUtc"}
    changed = {
        "name": "x",
        "description": "x",
        "website": "x",
        "phone": "555",
        "contactEmail": "x@example.org",
        "locationId": "L9",
        "isAllDay": True,
        "eventCategoryId": 3,
    }
    assert set(changed) == compared
    for name, value in changed.items():
        row = world.pdi.events["E1"]
        kept = row[name]
        row[name] = value
        (found,) = world.found()
        assert (found.kind, found.expected.split(":")[0]) == (EVENT_FIELDS, name), name
        row[name] = kept
    # The host's phone and email are named, never shown.
    world.pdi.events["E1"]["contactEmail"] = "someone@example.org"
    assert world.only().found == "contactEmail"


def test_a_location_changed_in_pdi_is_written_again(world: World) -> None:
    world.mobilize.events[10]["location"] = {
        "venue": "Union Hall",
        "address_lines": ["1 Main St"],
        "locality": "Springfield",
        "location": {"latitude": 39.7, "longitude": -89.6},
    }
    key = P.location_key(world.mobilize.events[10])
    world.idmap.put(LOCATION, key, "L1", "h")
    world.pdi.locations["L1"] = {
        "id": "L1",
        "locationName": "Union Hall",
        "locationAddress": "9 Elm St, Springfield",
    }
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == ("location fields differ", key, "L1")
    assert (found.expected, found.found) == (
        "locationAddress: 1 Main St, Springfield",
        "locationAddress: 9 Elm St, Springfield",
    )
    assert found.mend == Mend(forget=((LOCATION, key),), events=(10,))
    assert world.compare().checked.locations == 1


def test_a_contact_renamed_in_pdi_is_renamed_again_without_showing_names(world: World) -> None:
    world.pdi.contact_rows["C1"]["lastName"] = "Smith"
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        "contact names differ",
        f"email:{EMAIL}",
        "C1",
    )
    assert (found.expected, found.found) == ("as in Mobilize", "lastName changed in PDI")
    assert found.mend == Mend(forget=((CONTACT, f"email:{EMAIL}"),), people=(7,))
    # The most recently modified person with the email names the contact, as in the sync.
    world.mobilize.people[8] = person(8, EMAIL, family_name="Smith", modified_date=2)
    assert world.found() == []


def test_a_contact_that_lost_its_email_or_phone_gets_it_back(world: World) -> None:
    row = world.pdi.contact_rows["C1"]
    row["emails"], row["phones"] = [{"emailAddress": "new@example.org"}], []
    world.pdi.contacts["C1"] = {"new@example.org"}
    found = world.found()
    assert [(d.kind, d.pdi_id, d.found) for d in found] == [
        (CONTACT_EMAIL, "C1", "1 other email(s)"),
        (CONTACT_PHONE, "C1", "no phone"),
    ]
    assert [d.mend for d in found] == [
        Mend(emails=(("C1", EMAIL),)),
        Mend(phones=(("C1", PHONE),)),
    ]
    # A phone written otherwise is the same phone: digits only, as the sync matches it.
    row["phones"] = [{"phoneNumber": "+1 (217) 555-0101"}]
    world.pdi.contacts["C1"] = {EMAIL}
    assert world.found() == []
    # Rows without phones say nothing of them: not compared.
    del row["phones"]
    assert world.found() == []


def test_is_confirmed_that_disagrees(world: World) -> None:
    world.mobilize.attendances[100]["status"] = "CONFIRMED"
    found = world.only()
    assert (found.kind, found.pdi_id, found.expected, found.found) == (
        WRONG_CONFIRMED,
        "I1",
        f"{EMAIL}: true",
        "false",
    )


def test_a_signup_invited_twice_cannot_be_mended(world: World) -> None:
    world.invite("E1", "C1", "I2", "Yes", attended=False)
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (
        EXTRA_INVITATION,
        "attendance:100",
        "I2",
    )
    assert found.mend is None
    assert found.fix.startswith(CANNOT)
    assert "the sync writes to I1" in found.fix


def test_an_invitation_the_id_map_names_replaced_in_pdi_is_adopted(world: World) -> None:
    # A PDI user deleted the invitation and invited the contact again: the map's id is gone.
    world.pdi.invitations["E1"]["C1"][0]["id"] = "I7"
    world.pdi.invitations["E1"]["C1"][0]["rsvpStatus"] = "Maybe"
    found = world.only()
    assert (found.kind, found.pdi_id) == (WRONG_RSVP, "I7")
    assert found.mend == Mend(drop=((INVITATION, "E1:C1"),), attendances=(100,), people=(7,))


# --- what the sync canceled, live again ---------------------------------------------------------


def test_the_old_copy_of_a_moved_event_made_live_is_canceled_again(world: World) -> None:
    old = {**world.pdi.events["E1"], "id": "E0", "calendarId": "cal-phone"}
    world.pdi.events["E0"] = old
    extra = {"payload": {**old, "name": "[Canceled] Door knock"}, "canceled": "moved"}
    world.idmap.put(EVENT, "pdi:E0", "E0", "h0", mobilize_id=10, extra=extra)
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id, found.expected) == (
        MOVED_LIVE,
        "event:10",
        "E0",
        "canceled (moved to another calendar)",
    )
    assert found.mend == Mend(forget=((EVENT, "pdi:E0"),), cancel=(("pdi:E0", "moved"),))
    # Canceled in PDI, with an invitation a PDI user made live again.
    old["name"] = "[Canceled] Door knock"
    world.invite("E0", "C1", "I0", "Yes", attended=False)
    world.idmap.put(INVITATION, "E0:C1", "I0", "h", mobilize_id=100, extra={"live": None})
    found = world.only()
    assert (found.kind, found.pdi_id, found.expected, found.found) == (
        INVITATION_LIVE,
        "I0",
        "Cancelled (its event: moved to another calendar)",
        "Yes",
    )
    assert found.mend == Mend(forget=((INVITATION, "E0:C1"),), cancel=(("pdi:E0", "moved"),))


def test_a_removed_timeslot_live_in_pdi_is_canceled(world: World) -> None:
    # Removed in Mobilize since the last sync: the id map still has it live.
    world.mobilize.events[10]["timeslots"] = [
        {"id": 12, "start_date": START + 86400, "end_date": START + 90000}
    ]
    world.idmap.put(EVENT, "ts:12", "E2", "h", mobilize_id=10, extra={"calendar_id": "cal-canvass"})
    world.pdi.events["E2"] = {
        **world.pdi.events["E1"],
        "id": "E2",
        "startDateTimeUtc": V.pdi_datetime(START + 86400),
        "endDateTimeUtc": V.pdi_datetime(START + 90000),
    }
    del world.mobilize.attendances[100]
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (REMOVED_LIVE, "timeslot:11", "E1")
    assert found.mend == Mend(forget=((EVENT, "ts:11"),), cancel=(("ts:11", "removed"),))
    # Canceled by the sync, then made live by a PDI user: the same.
    entry = world.idmap.get(EVENT, "ts:11")
    assert entry is not None
    world.idmap.put(EVENT, "ts:11", "E1", "h", mobilize_id=10, extra={"canceled": "removed"})
    (again,) = world.found()
    assert (again.kind, again.mend) == (REMOVED_LIVE, found.mend)


def test_a_pdi_event_of_a_deleted_event_the_id_map_does_not_know_is_canceled(
    world: World,
) -> None:
    world.mobilize.deleted_events[10] = {"id": 10, "deleted_date": 2}
    world.idmap.put(EVENT, "ts:11", "E1", "h", mobilize_id=10, extra={"canceled": "deleted"})
    world.pdi.events["E1"]["name"] = "[Canceled] Door knock"
    world.pdi.invitations["E1"]["C1"][0]["rsvpStatus"] = "Cancelled"
    world.pdi.events["E2"] = {**world.pdi.events["E1"], "id": "E2", "name": "Door knock"}
    found = world.only()
    assert (found.kind, found.pdi_id, found.fix) == (
        DELETED_LIVE,
        "E2",
        "canceled by the sync (found by its website)",
    )
    assert found.mend == Mend(retire=(("E2", 10, "deleted"),), deleted_events=(10,))


def test_the_invitation_of_an_old_email_made_live_is_canceled_again(world: World) -> None:
    # Ann's email changed: her old contact's invitation was canceled, and a PDI user undid it.
    world.add_contact("C0", "old@example.org", "Ann", "Lee", PHONE)
    world.idmap.put(CONTACT, "email:old@example.org", "C0", "h", mobilize_id=7)
    world.invite("E1", "C0", "I0", "Yes", attended=False)
    extra = {"attendance": 100, "person": 7, "modified": 1, "live": None}
    world.idmap.put(INVITATION, "E1:C0", "I0", "h", mobilize_id=100, extra=extra)
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id, found.found) == (
        SUPERSEDED_LIVE,
        "attendance:100",
        "I0",
        "Yes",
    )
    assert found.mend == Mend(forget=((INVITATION, "E1:C0"),), superseded=("E1:C0",))
    world.pdi.invitations["E1"]["C0"][0]["rsvpStatus"] = "Cancelled"
    assert world.found() == []


def test_no_name_or_phone_is_ever_in_a_discrepancy(world: World) -> None:
    world.pdi.contact_rows["C1"].update(firstName="Anne", lastName="Smith", phones=[])
    world.pdi.events["E1"]["phone"] = "555-0199"
    text = " ".join(" ".join(d.row().values()) for d in world.found())
    for personal in ("Ann", "Anne", "Lee", "Smith", "555", "0101", "0199"):
        assert personal not in text, (personal, text)


class ContactsWritten:
    """The sync's contact writer as `PeoplePhase` calls it: each contact it would write."""

    def __init__(self) -> None:
        self.items: list[ContactItem] = []

    def upsert(self, item: ContactItem) -> None:
        self.items.append(item)


def test_reconcile_expects_the_signups_and_contacts_the_sync_writes(
    world: World, tmp_path: Path
) -> None:
    """What reconcile checks is the sync's plan of every record, taken as the sync's writers
    take it: the latest signup of each email on each timeslot, and each email's contact named
    after the most recently modified of its people, a signup's copy of a person the people
    stream does not hold included."""
    ann = world.mobilize.people[7]
    world.mobilize.attendances[99] = signup(99, ann, 10, 11, status="CANCELLED", modified_date=0)
    bob = world.mobilize.people[8] = person(8, "bob@example.org")
    world.mobilize.attendances[101] = signup(101, bob, 10, 11)
    cy = person(9, "cy@example.org", modified_date=5)  # only their signup shows them
    world.mobilize.attendances[102] = signup(102, cy, 10, 11)
    world.mobilize.people[12] = person(12, EMAIL, given_name="Dee", modified_date=2)
    for contact_id, email, person_id in (("C2", "bob@example.org", 8), ("C3", "cy@example.org", 9)):
        world.idmap.put(CONTACT, f"email:{email}", contact_id, "h", mobilize_id=person_id)
    calendars = CalendarRouter({"CANVASS": "Canvassing"})
    calendars.resolve(CALENDARS)
    c = Comparison(world.mobilize, world.pdi, world.idmap, calendars, ["APPROVED"])
    events.check(c)
    expected_signups = {key: att_id for key, (_, att_id, _, _) in latest_signups(c).items()}
    expected_people = {email: one.person_id for email, one in chosen_people(c).items()}

    shared = Shared(
        None,  # type: ignore[arg-type]  # neither asks PDI anything here
        world.idmap,
        Summary(),
        FileDeadLetterStore(tmp_path / "dead.jsonl"),
        max_concurrency=1,
    )
    written = SignupWriter(shared, InvitationWriter(shared)).from_planned(
        c.plan.signups.signups, {}
    )
    emails = {"C1": EMAIL, "C2": "bob@example.org", "C3": "cy@example.org"}
    assert {(11, emails[s.contact_id]): s.attendance_id for s in written.values()} == (
        expected_signups
    )
    contacts = ContactsWritten()
    PeoplePhase(shared, contacts, None).write_contacts(c.plan.people)  # type: ignore[arg-type]
    assert {item.email: item.mobilize_id for item in contacts.items} == expected_people

    assert expected_signups == {
        (11, EMAIL): 100,
        (11, "bob@example.org"): 101,
        (11, "cy@example.org"): 102,
    }
    assert expected_people == {EMAIL: 12, "bob@example.org": 8, "cy@example.org": 9}


def test_the_contact_of_a_person_only_a_signup_shows_is_checked(world: World) -> None:
    """The sync writes the contact of a signup's person from the signup's copy when the people
    stream does not hold them: a PDI user's change to it is drift as any other, mended by
    running that signup through the sync again."""
    cy = person(9, "cy@example.org")
    world.mobilize.attendances[102] = signup(102, cy, 10, 11)
    world.add_contact("C3", "cy@example.org", "Ann", "Lee", PHONE)
    world.idmap.put(CONTACT, "email:cy@example.org", "C3", "h", mobilize_id=9)
    world.invite("E1", "C3", "I3", "Yes", attended=False)
    world.idmap.put(INVITATION, "E1:C3", "I3", "h", mobilize_id=102)
    assert world.found() == []
    row = world.pdi.contact_rows["C3"]
    row["lastName"], row["phones"] = "Smith", []
    found = world.found()
    assert [(d.kind, d.mobilize_key, d.pdi_id, d.found) for d in found] == [
        ("contact names differ", "email:cy@example.org", "C3", "lastName changed in PDI"),
        (CONTACT_PHONE, "email:cy@example.org", "C3", "no phone"),
    ]
    assert [d.mend for d in found] == [
        Mend(forget=((CONTACT, "email:cy@example.org"),), attendances=(102,)),
        Mend(phones=(("C3", PHONE),)),
    ]


def test_a_removed_timeslot_canceled_before_as_not_approved_is_canceled_for_good(
    world: World,
) -> None:
    """An event canceled as not approved, approved again without one of its timeslots: the sync
    cancels that timeslot's PDI event for good by recording the reason alone (PDI shows it
    canceled already), so one a PDI user made live stays live unless reconcile says so."""
    world.idmap.put(
        EVENT,
        "ts:12",
        "E2",
        "h",
        mobilize_id=10,
        extra={"calendar_id": "cal-canvass", "canceled": "unapproved"},
    )
    world.pdi.events["E2"] = {
        **world.pdi.events["E1"],
        "id": "E2",
        "startDateTimeUtc": V.pdi_datetime(START + 86400),
        "endDateTimeUtc": V.pdi_datetime(START + 90000),
    }
    found = world.only()
    assert (found.kind, found.mobilize_key, found.pdi_id) == (REMOVED_LIVE, "timeslot:12", "E2")
    assert found.mend == Mend(forget=((EVENT, "ts:12"),), cancel=(("ts:12", "removed"),))
    # Canceled in PDI, as the sync left it: nothing to say.
    world.pdi.events["E2"]["name"] = "[Canceled] Door knock"
    assert world.found() == []
