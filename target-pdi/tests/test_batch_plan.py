"""The plan of a whole batch, one value made before the first write: a batch in, the plan out,
no PDI and no change to the id map."""

from __future__ import annotations

from typing import Any

import pytest
from plan_records import canvass_router, event, signup, synced
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import PdiObject, contact_key
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.planning.batch import (
    BatchPlan,
    Knowledge,
    plan_batch,
    plan_line,
    plan_of_records,
)
from target_pdi.sync.planning.events import Batch, plan_events
from target_pdi.sync.planning.signups import EventSource, SignupContext, settle_signups

APPROVED = {"APPROVED"}
OBJECTS = (PdiObject.EVENT, PdiObject.CONTACT, PdiObject.TOMBSTONE, PdiObject.LOCATION)


@pytest.fixture
def idmap() -> IdMap:
    return IdMap("sqlite://")


@pytest.fixture
def router() -> CalendarRouter:
    return canvass_router()


def snapshot(idmap: IdMap) -> dict[str, list[tuple[str, Any]]]:
    return {kind: sorted((k, e) for k, e in idmap.items(kind)) for kind in OBJECTS}


def knowledge(idmap: IdMap, router: CalendarRouter, batch: Batch, **changes: Any) -> Knowledge:
    """What the engine knows when it plans ``batch``: its people records among those seen."""
    seen = {person["id"]: person for person in batch.people}
    return Knowledge(idmap, router, APPROVED, {}, seen, **changes)


def a_batch(idmap: IdMap) -> Batch:
    """Event 1 new (two timeslots), event 3 known and deleted now, event 4 known and moved to
    another calendar's type; signups on the new event, on a known one, on one never seen."""
    synced(idmap, 3, 31)
    synced(idmap, 4, 41)
    synced(idmap, 5, 51)  # not in this batch: its calendar route changed meanwhile
    synced(idmap, 6, 61, event_type="PHONE_BANK", calendar_id="c1")
    return Batch(
        events=[event(1, 11, 12), event(4, 41)],
        deleted_events=[{"id": 3, "deleted_date": 1_800_000_000}],
        attendances=[
            signup(100, 1, 11, person_id=7),  # its event is written by this batch
            signup(101, 4, 41, person_id=8),  # its event is in PDI
            signup(102, 9, 91, person_id=7),  # first seen here: made from its own copy
            signup(103, 3, 31, person_id=10),  # its event is deleted now: invited, canceled
            signup(104, 3, 32, person_id=10),  # the deleted event's, never synced: skipped
        ],
        people=[{"id": 7, "email_addresses": [{"address": "p7@example.org"}]}],
    )


def test_a_batch_is_planned_whole_without_a_write(idmap: IdMap, router: CalendarRouter) -> None:
    batch = a_batch(idmap)
    before = snapshot(idmap)
    plan = plan_batch(batch, knowledge(idmap, router, batch, reroute=True))
    assert snapshot(idmap) == before

    assert list(plan.deleted) == [3]
    assert [(event_id, key) for event_id, key, _ in plan.deleted_cancels] == [(3, "ts:31")]
    assert plan.reroutes is not None
    # Event 6 moves; event 3 (deleted in this very batch, no tombstone yet) does not.
    assert plan.reroutes.moves == [("ts:61", "c2")]
    assert [job.key for job in plan.events.jobs] == ["ts:11", "ts:12", "ts:41"]
    sources = {s.attendance_id: s.event_source for s in plan.signups.signups}
    assert sources == {
        100: EventSource.AWAITED,
        101: EventSource.KNOWN,
        102: EventSource.MISSING,
        103: EventSource.KNOWN,
    }
    assert list(plan.signups.missing) == ["ts:91"]
    # The signup of the event this batch deletes: skipped as such, before its tombstone exists.
    assert dict(plan.signups.skips.reasons) == {"signups of deleted events": 1}
    emails = ["p10@example.org", "p7@example.org", "p8@example.org"]
    assert sorted(plan.people.by_email) == emails


def test_only_the_first_batch_of_a_run_looks_for_reroutes(
    idmap: IdMap, router: CalendarRouter
) -> None:
    batch = a_batch(idmap)
    assert plan_batch(batch, knowledge(idmap, router, batch)).reroutes is None


def test_a_signup_awaiting_an_event_whose_write_failed_fails_and_needs_no_contact(
    idmap: IdMap, router: CalendarRouter
) -> None:
    batch = a_batch(idmap)
    plan = plan_batch(batch, knowledge(idmap, router, batch))
    # The events step wrote ts:12 and ts:41, and failed event 1's ts:11 (dead-lettered).
    synced(idmap, 1, 12)
    events = {1: batch.events[0], 4: batch.events[1]}
    context = SignupContext(idmap, router, APPROVED, events, {}, {}, {1}, deleted_events={3})
    settled = settle_signups(plan.signups, context)
    assert [s.attendance_id for s in settled.signups] == [101, 102, 103]
    assert [(att_id, event_id) for att_id, _, event_id in settled.failed] == [(100, 1)]
    assert list(settled.missing) == ["ts:91"]
    # Person 7 is still a contact: their signup 102 stays.
    people = plan.people.without_signups({100})
    assert sorted(people.by_email) == ["p10@example.org", "p7@example.org", "p8@example.org"]
    # Without signup 101, person 8 was chosen for nothing.
    without = people.without_signups({100, 101}).by_email
    assert sorted(without) == ["p10@example.org", "p7@example.org"]


def test_a_person_chosen_only_for_a_dropped_signup_is_no_contact(
    idmap: IdMap, router: CalendarRouter
) -> None:
    batch = Batch(events=[event(1, 11)], attendances=[signup(100, 1, 11, person_id=7)])
    plan = plan_batch(batch, knowledge(idmap, router, batch))
    assert sorted(plan.people.by_email) == ["p7@example.org"]
    assert plan.people.without_signups({100}).by_email == {}
    assert plan.people.without_signups(set()).by_email == plan.people.by_email


def test_the_dry_run_line_counts_the_plan(idmap: IdMap, router: CalendarRouter) -> None:
    idmap.put(PdiObject.CONTACT, contact_key("p8@example.org"), "c8", "h", mobilize_id=8)
    batch = a_batch(idmap)
    plan: BatchPlan = plan_batch(batch, knowledge(idmap, router, batch, reroute=True))
    assert plan_line(plan, idmap) == (
        "DRY RUN: the plan of this batch: 4 events to write (3 new, 1 first seen in a signup); "
        "1 events to cancel (0 of removed timeslots, 0 of events not approved, 1 of deleted "
        "events; 0 not approved and 0 deleted events the id map does not know: canceled only "
        "if PDI has them); 1 events to move to their new calendar; "
        "3 contacts (2 new, 0 of people whose email changed, 0 people without email); "
        "4 invitations"
    )


def test_a_first_syncs_line_cancels_nothing_pdi_cannot_hold(
    idmap: IdMap, router: CalendarRouter
) -> None:
    """Events not approved or deleted that the id map does not know have no PDI event it could
    cancel: only PDI can tell (the writers look for them there), so the line counts no cancel
    and names them apart."""
    batch = Batch(
        events=[event(1, 11), event(2, 21, 22, approval_status="REJECTED")],
        deleted_events=[{"id": 3, "deleted_date": 1_800_000_000}],
        attendances=[signup(100, 1, 11, person_id=7)],
    )
    plan = plan_batch(batch, knowledge(idmap, router, batch))
    line = plan_line(plan, idmap)
    assert "; 0 events to cancel (0 of removed timeslots, 0 of events not approved, 0 of " in line
    assert "; 1 not approved and 1 deleted events the id map does not know: canceled " in line
    assert "1 contacts (1 new, " in line


def test_the_line_counts_the_pdi_events_the_writers_cancel(
    idmap: IdMap, router: CalendarRouter
) -> None:
    """A cancel per live PDI event the id map holds: of a timeslot removed, of an event no
    longer approved (one of its two canceled already: not again), of an event deleted."""
    synced(idmap, 1, 11)
    synced(idmap, 1, 12)  # removed from event 1
    synced(idmap, 2, 21)
    synced(idmap, 2, 22, canceled="unapproved")
    synced(idmap, 3, 31)
    synced(idmap, 3, 32)
    batch = Batch(
        events=[event(1, 11), event(2, 21, 22, approval_status="REJECTED")],
        deleted_events=[{"id": 3, "deleted_date": 1_800_000_000}],
    )
    plan = plan_batch(batch, knowledge(idmap, router, batch))
    assert "; 4 events to cancel (1 of removed timeslots, 1 of events not approved, 2 of " in (
        plan_line(plan, idmap)
    )


def test_the_line_gives_new_contacts_apart(idmap: IdMap, router: CalendarRouter) -> None:
    """A person known to the id map (a contact under their email) and a new one: 1 new."""
    idmap.put(PdiObject.CONTACT, contact_key("p8@example.org"), "c8", "h", mobilize_id=8)
    batch = Batch(
        events=[event(1, 11)],
        attendances=[signup(100, 1, 11, person_id=7), signup(101, 1, 11, person_id=8)],
    )
    plan = plan_batch(batch, knowledge(idmap, router, batch))
    assert "; 2 contacts (1 new, 0 of people whose email changed, " in plan_line(plan, idmap)


def test_the_plan_of_every_record_is_what_a_sync_would_make_of_them(
    idmap: IdMap, router: CalendarRouter
) -> None:
    batch = a_batch(idmap)
    before = snapshot(idmap)
    records = {
        "events": batch.events,
        "deleted_events": batch.deleted_events,
        "people": batch.people,
        "attendances": batch.attendances,
    }
    plan = plan_of_records(records, idmap, router, APPROVED)
    assert snapshot(idmap) == before
    # The events reconcile expects, as it computes them today: the live events' plan.
    live = {e["id"]: e for e in batch.events if e["id"] != 3}
    assert [j.key for j in plan.events.jobs] == [
        j.key for j in plan_events(live, idmap, router, APPROVED).jobs
    ]
    assert [s.attendance_id for s in plan.signups.signups] == [100, 101, 102, 103]
    assert list(plan.signups.missing) == ["ts:91"]
    assert plan.reroutes is None
