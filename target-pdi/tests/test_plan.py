"""The batch plan, without HTTP: what is written, what is skipped and why, what is canceled."""

from __future__ import annotations

from typing import Any

import pytest
from plan_records import canvass_router, event, signup, synced
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import PdiObject, contact_key, mobilize_event_key
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.planning.events import (
    DELETED,
    REMOVED,
    plan_deleted,
    plan_events,
    plan_reroute,
)
from target_pdi.sync.planning.people import plan_people
from target_pdi.sync.planning.signups import SignupContext, plan_signups

APPROVED = {"APPROVED"}


@pytest.fixture
def idmap() -> IdMap:
    return IdMap("sqlite://")


@pytest.fixture
def router() -> CalendarRouter:
    return canvass_router()


def test_one_job_per_timeslot_of_approved_routed_events(
    idmap: IdMap, router: CalendarRouter
) -> None:
    events = {
        1: event(1, 11, 12),
        2: event(2, 21, event_type="MEETING"),  # no route, no default
        3: event(3, 31, approval_status="NEEDS_APPROVAL"),
        4: {**event(4), "timeslots": [{"id": None}, {"id": 41}]},
    }
    plan = plan_events(events, idmap, router, APPROVED)
    assert [(j.key, j.calendar_id) for j in plan.jobs] == [
        ("ts:11", "c1"),
        ("ts:12", "c1"),
        ("ts:41", "c1"),
    ]
    assert plan.unapproved == [(3, events[3])]
    assert dict(plan.skips.reasons) == {
        "events not approved (NEEDS_APPROVAL)": 1,
        "masked timeslots (null id)": 1,
    }
    assert dict(plan.skips.unrouted) == {"MEETING": 1}


def test_a_synced_timeslot_the_event_no_longer_lists_is_removed(
    idmap: IdMap, router: CalendarRouter
) -> None:
    synced(idmap, 1, 11)
    synced(idmap, 1, 12)
    synced(idmap, 1, 13, canceled=REMOVED)  # canceled for good already
    plan = plan_events({1: event(1, 11)}, idmap, router, APPROVED)
    assert plan.removed == [(1, "ts:12")]
    # An event record that does not list its timeslots says nothing about them.
    unknown = {**event(1), "timeslots": None}
    assert plan_events({1: unknown}, idmap, router, APPROVED).removed == []


def test_deleted_events_are_skipped_and_their_live_timeslots_canceled(
    idmap: IdMap, router: CalendarRouter
) -> None:
    synced(idmap, 1, 11)
    synced(idmap, 1, 12, canceled=DELETED)
    idmap.put(PdiObject.TOMBSTONE, mobilize_event_key(1), "", None, mobilize_id=1)
    plan = plan_events({1: event(1, 11)}, idmap, router, APPROVED)
    assert plan.jobs == []
    assert dict(plan.skips.reasons) == {"events deleted in Mobilize (canceled instead)": 1}
    deleted = {1: {"id": 1}, 2: {"id": 2}}
    work, unknown = plan_deleted(deleted, idmap)
    assert [(event_id, key) for event_id, key, _ in work] == [(1, "ts:11")]
    assert unknown == [(2, {"id": 2})]


def test_reroute_moves_events_whose_type_now_routes_elsewhere(
    idmap: IdMap, router: CalendarRouter
) -> None:
    synced(idmap, 1, 11)  # CANVASS in c1: stays
    synced(idmap, 2, 21, event_type="PHONE_BANK")  # now routed to c2: moves
    synced(idmap, 3, 31, event_type="MEETING")  # routed nowhere now: left
    synced(idmap, 4, 41, event_type="PHONE_BANK")  # in this batch: left to it
    synced(idmap, 5, 51, moving_from="old")  # a move a crash interrupted: finished
    work, unrouted = plan_reroute(idmap, router, exclude={4})
    assert sorted(work) == [("ts:21", "c2"), ("ts:51", "c1")]
    assert unrouted == 1


def context(idmap: IdMap, router: CalendarRouter, **changes: Any) -> SignupContext:
    fields: dict[str, Any] = {
        "idmap": idmap,
        "router": router,
        "approval_statuses": APPROVED,
        "batch_events": {},
        "listed_slots": {},
        "people_seen": {},
        "failed_events": set(),
        **changes,
    }
    return SignupContext(**fields)


def test_signups_plan_the_events_they_need_and_skip_what_cannot_be_written(
    idmap: IdMap, router: CalendarRouter
) -> None:
    synced(idmap, 1, 11)
    idmap.put(PdiObject.TOMBSTONE, mobilize_event_key(2), "", None, mobilize_id=2)
    attendances = [
        signup(100, 1, 11),  # its event is in PDI
        signup(101, 3, 31),  # first seen here: its event is created from the embedded copy
        signup(102, 2, 21),  # deleted event
        signup(103, 4, 42),  # event 4, as read this run, lists only timeslot 41
        signup(104, 4, 42),  # same removed timeslot: skipped, reported once
        {**signup(105, 5, 51), "id": None},  # masked
        signup(106, 6, 61),  # its event was dead-lettered in this batch
    ]
    ctx = context(idmap, router, listed_slots={4: {41}}, failed_events={6})
    plan = plan_signups(attendances, ctx)
    assert [s.attendance_id for s in plan.signups] == [100, 101]
    assert list(plan.missing) == ["ts:31"]
    assert plan.missing["ts:31"].stream == "attendances"
    assert plan.removed == [(42, 4, 103)]
    assert [(att_id, event_id) for att_id, _, event_id in plan.failed] == [(106, 6)]
    assert dict(plan.skips.reasons) == {
        "masked attendances (null ids)": 1,
        "signups of deleted events": 1,
        "signups of removed timeslots": 2,
    }


def test_people_written_are_signed_up_known_or_everyone(
    idmap: IdMap, router: CalendarRouter
) -> None:
    people = [
        {"id": 7, "email_addresses": [{"address": "p7@example.org"}]},
        {"id": 8, "email_addresses": [{"address": "p8@example.org"}]},
        {"id": 9, "email_addresses": [{"address": "new9@example.org"}]},
        {"id": 10, "email_addresses": []},
    ]
    seen = {p["id"]: p for p in people}
    idmap.put(PdiObject.CONTACT, contact_key("old9@example.org"), "c-old", "h", mobilize_id=9)
    signups = plan_signups([signup(100, 1, 11, person_id=7)], context(idmap, router))
    plan = plan_people(people, signups.signups, seen, idmap, everyone=False)
    # 7 signed up, 9 is known to PDI (under its old email); 8 and 10 are neither.
    assert sorted(plan.by_email) == ["new9@example.org", "p7@example.org"]
    assert plan.moved == {9: {"c-old"}}
    everyone = plan_people(people, [], seen, idmap, everyone=True)
    assert len(everyone.by_email) == 3
    assert [p.person_id for p in everyone.no_email] == [10]
