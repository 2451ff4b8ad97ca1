"""Which signups of a batch become invitations: planned before the batch's first write.

A signup names its PDI event by its timeslot. When the id map holds that event, or this batch
writes it (the signup `awaits` the answer of that write), the signup is planned as it is; when
neither, the PDI event is planned from the signup's own copy of its event (`missing`), or the
signup is skipped and counted. After the events are written, `settle_signups` decides the
signups whose event was not there after all (its write failed, its timeslot turned out removed),
with the very rules that decide a missing event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import timeslot_key
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.planning.events import (
    EVENT,
    TOMBSTONE,
    EventJob,
    Skips,
    as_map,
    attendance_person,
    is_approved,
    is_deleted,
    is_masked,
    latest_by,
    record_id,
    timeslot_ids,
)

Record = Mapping[str, Any]


class EventSource(Enum):
    """Where a signup's PDI event comes from, as planned."""

    KNOWN = "known"  # the id map holds it
    AWAITED = "awaited"  # this batch's events write it: its id is the answer of that write
    MISSING = "missing"  # made from the signup's own copy of the event (`SignupsPlan.missing`)


@dataclass
class PlannedSignup:
    attendance: Record
    attendance_id: int
    person_id: int | None
    person: Record | None
    timeslot_id: int
    event_id: int
    event_source: EventSource = EventSource.KNOWN


@dataclass
class SignupsPlan:
    signups: list[PlannedSignup] = field(default_factory=list)
    # PDI events to create first: timeslots first seen in a signup.
    missing: dict[str, EventJob] = field(default_factory=dict)
    # Timeslots found removed (the event as read no longer lists them): (timeslot, event, signup)
    removed: list[tuple[int, int, int]] = field(default_factory=list)
    removed_ids: set[int] = field(default_factory=set)
    # Signups of events dead-lettered in this batch: (attendance id, record, event id)
    failed: list[tuple[int, Record, int]] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)


@dataclass
class SignupContext:
    """What planning signups needs besides the attendances."""

    idmap: IdMap
    router: CalendarRouter
    approval_statuses: Iterable[str]
    batch_events: Mapping[int, Record]  # this batch's events records
    listed_slots: Mapping[int, set[int | None]]  # timeslots each event read this run lists
    people_seen: Mapping[int, Record]  # the freshest people record of each person
    failed_events: set[int]  # events dead-lettered in this batch
    # Events this batch deletes (their tombstones are written by the batch's first step).
    deleted_events: Collection[int] = ()
    # Timeslot keys whose PDI event this batch's events step writes or may claim.
    awaited: Collection[str] = ()


def plan_signups(attendances: list[dict[str, Any]], ctx: SignupContext) -> SignupsPlan:
    """Which signups become invitations, and the PDI events to create for timeslots first seen
    in a signup (before any contact, so contacts are made only for written signups)."""
    plan = SignupsPlan()
    masked = [a for a in attendances if is_masked(a)]
    if masked:
        plan.skips.skip("masked attendances (null ids)", len(masked))
    latest = latest_by([a for a in attendances if not is_masked(a)], record_id)
    for att_id, att in latest.items():
        ts_id = V.mobilize_id(att.get("timeslot_id") or as_map(att.get("timeslot")).get("id"))
        event_id = V.mobilize_id(att.get("event_id") or as_map(att.get("event")).get("id"))
        assert ts_id is not None
        assert event_id is not None
        person_id, person = attendance_person(att, ctx.people_seen)
        source = EventSource.KNOWN
        key = timeslot_key(ts_id)
        if ctx.idmap.get(EVENT, key) is None:
            if key in ctx.awaited:
                source = EventSource.AWAITED
            else:
                job = _missing_event(plan, ctx, att, (att_id, ts_id, event_id))
                if job is None:
                    continue
                plan.missing.setdefault(job.key, job)
                source = EventSource.MISSING
        signup = PlannedSignup(att, att_id, person_id, person, ts_id, event_id, source)
        plan.signups.append(signup)
    return plan


def settle_signups(plan: SignupsPlan, ctx: SignupContext) -> SignupsPlan:
    """The plan once the batch's events are written: a signup whose PDI event is still not in
    the id map (its write failed, a cancel found it gone, no claim came) is decided as a
    missing event is, against ``ctx`` (its ``failed_events`` now holds the events whose write
    failed). Its missing events are not yet written, so their signups stay as planned."""
    settled = replace(
        plan,
        signups=[],
        missing=dict(plan.missing),
        removed=list(plan.removed),
        removed_ids=set(plan.removed_ids),
        failed=list(plan.failed),
        skips=Skips(Counter(plan.skips.reasons), Counter(plan.skips.unrouted)),
    )
    for signup in plan.signups:
        if signup.event_source is not EventSource.MISSING and (
            ctx.idmap.get(EVENT, timeslot_key(signup.timeslot_id)) is None
        ):
            ids = (signup.attendance_id, signup.timeslot_id, signup.event_id)
            job = _missing_event(settled, ctx, signup.attendance, ids)
            if job is None:
                continue
            settled.missing.setdefault(job.key, job)
            signup = replace(signup, event_source=EventSource.MISSING)
        settled.signups.append(signup)
    return settled


def _skip_reason(
    plan: SignupsPlan, ctx: SignupContext, source: Record, listed: Any, ids: tuple[int, int, int]
) -> str | None:
    """Why a signup whose timeslot has no PDI event is skipped (None: its event can be made)."""
    att_id, ts_id, event_id = ids
    if is_deleted(ctx.idmap, event_id) or event_id in ctx.deleted_events:
        return "signups of deleted events"
    if ctx.idmap.get(TOMBSTONE, timeslot_key(ts_id)) is not None or ts_id in plan.removed_ids:
        return "signups of removed timeslots"
    if listed is not None and ts_id not in listed:
        # The event as read in this run no longer lists it: removed.
        plan.removed.append((ts_id, event_id, att_id))
        plan.removed_ids.add(ts_id)
        return "signups of removed timeslots"
    if not is_approved(source, ctx.approval_statuses):
        return "signups of events not approved"
    return None


def _missing_event(
    plan: SignupsPlan, ctx: SignupContext, att: Record, ids: tuple[int, int, int]
) -> EventJob | None:
    """The PDI event to create for a signup's timeslot that has none, or None (skipped)."""
    att_id, ts_id, event_id = ids
    event = ctx.batch_events.get(event_id)
    source = event if event is not None else as_map(att.get("event"))
    listed = timeslot_ids(event) if event is not None else ctx.listed_slots.get(event_id)
    if listed is None:
        # A signup's dead letter holds the newer events record it was refreshed with.
        listed = timeslot_ids(source)
    reason = _skip_reason(plan, ctx, source, listed, ids)
    if reason is not None:
        plan.skips.skip(reason)
        return None
    calendar_id = ctx.router.route(source.get("event_type"))
    if calendar_id is None:
        plan.skips.unrouted[str(source.get("event_type") or "(none)")] += 1
        return None
    if event_id in ctx.failed_events:
        plan.failed.append((att_id, att, event_id))
        return None
    slot = as_map(att.get("timeslot"))
    if event is not None:
        slot = next(
            (s for s in P.timeslots(event) if V.mobilize_id(s.get("id")) == ts_id),
            slot,
        )
    return EventJob(
        "attendances",
        str(att_id),
        att,
        {**source, "id": event_id},
        {**slot, "id": ts_id},
        calendar_id,
    )
