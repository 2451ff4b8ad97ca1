"""The plan of one batch, one value computed before the batch's first write: what each PDI
object should become, keyed by its Mobilize keys, with the cancels, moves and reroutes.

    deleted          Mobilize events deleted: remembered (tombstones), their PDI events canceled
    reroutes         PDI events whose calendar route changed (the run's first batch only)
    events           one PDI event per timeslot (`ts:<id>`) of an approved, routed event, and the
                     timeslots removed and events no longer approved, to cancel
    signups          one invitation per signup, naming its PDI event by timeslot key
    people           one contact per email (`contact:<email>`), and the people whose email moved

What a step needs from an earlier write is named, never interleaved: a signup whose PDI event
this batch writes says so (`EventSource.AWAITED`: the event's id is the answer of that write,
read from the id map when its invitation is written), a person chosen for a signup is a contact
only if that signup stays (`PeoplePlan.without_signups`), and the PDI events a deleted or new
Mobilize event may already have are looked up by the engine (`recovery.py`, `reclaim.py`).

`plan_batch` is pure: it reads the id map, writes nothing and asks PDI nothing. The engine
(`engine.py`) applies the plan in dependency order; the dry run prints it (`plan_line`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import contact_key, timeslot_key
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.planning.events import (
    CONTACT,
    EVENT,
    Batch,
    EventsPlan,
    canceled_reason,
    latest_by,
    live_timeslot_entries,
    plan_deleted,
    plan_events,
    plan_reroute,
    record_id,
    timeslot_ids,
)
from target_pdi.sync.planning.people import PeoplePlan, plan_people
from target_pdi.sync.planning.signups import SignupContext, SignupsPlan, plan_signups

Record = Mapping[str, Any]


@dataclass
class Knowledge:
    """What planning a batch reads besides its records: all of it as it is before the batch's
    first write."""

    idmap: IdMap
    router: CalendarRouter
    approval_statuses: Iterable[str]
    listed_slots: Mapping[int, set[int | None]]  # timeslots each event read this run lists
    people_seen: Mapping[int, Record]  # the freshest people record of each person
    refused_events: set[int] = field(default_factory=set)  # events refused as poison
    everyone: bool = False  # every person a contact (sync_all_people, a dead-letter retry)
    waiting: Callable[[int], bool] = lambda _: False  # a person's dead letter waits
    reroute: bool = False  # look for PDI events whose calendar route changed


@dataclass
class Reroutes:
    moves: list[tuple[str, str]] = field(default_factory=list)  # (timeslot key, calendar id)
    unrouted: int = 0  # PDI events whose event type routes nowhere now: left as they are


@dataclass
class BatchPlan:
    events_read: dict[int, Record] = field(default_factory=dict)  # the latest of each event
    masked_events: int = 0
    deleted: dict[int, Record] = field(default_factory=dict)  # every deleted event, by id
    # Timeslot keys to cancel of deleted events the id map knows, and the deleted events it
    # does not know (their PDI events are looked up by website).
    deleted_cancels: list[tuple[int, str, Record]] = field(default_factory=list)
    deleted_unknown: list[tuple[int, Record]] = field(default_factory=list)
    cancellations: list[dict[str, Any]] = field(default_factory=list)  # cancels retried
    reroutes: Reroutes | None = None
    events: EventsPlan = field(default_factory=EventsPlan)
    signups: SignupsPlan = field(default_factory=SignupsPlan)
    people: PeoplePlan = field(default_factory=PeoplePlan)


def latest_events(batch: Batch) -> dict[int, Record]:
    return {int(k): v for k, v in latest_by(batch.events, record_id).items()}


def plan_batch(batch: Batch, known: Knowledge) -> BatchPlan:
    """What the batch should make of PDI, without a request or a write."""
    events = latest_events(batch)
    deleted = latest_by(batch.deleted_events, record_id)
    plan = BatchPlan(events_read=events, deleted=deleted)
    plan.masked_events = sum(1 for r in batch.events if record_id(r) is None)
    plan.cancellations = list(batch.cancellations)
    if known.reroute:
        moves, unrouted = plan_reroute(known.idmap, known.router, {*events, *deleted})
        plan.reroutes = Reroutes(moves, unrouted)
    plan.deleted_cancels, plan.deleted_unknown = plan_deleted(deleted, known.idmap)
    plan.events = plan_events(
        events, known.idmap, known.router, known.approval_statuses, deleted=set(deleted)
    )
    context = SignupContext(
        known.idmap,
        known.router,
        known.approval_statuses,
        events,
        known.listed_slots,
        known.people_seen,
        set(known.refused_events),
        deleted_events=set(deleted),
        awaited=awaited_events(plan.events, known.idmap),
    )
    plan.signups = plan_signups(batch.attendances, context)
    plan.people = plan_people(
        batch.people,
        plan.signups.signups,
        known.people_seen,
        known.idmap,
        everyone=known.everyone,
        waiting=known.waiting,
    )
    return plan


def plan_of_records(
    records: Mapping[str, Iterable[Record]],
    idmap: IdMap,
    router: CalendarRouter,
    approval_statuses: Iterable[str],
) -> BatchPlan:
    """The plan of everything Mobilize says (``records``: stream -> its records), as one batch,
    without a write: what PDI should hold once a sync has run, for reconcile to compare with
    what it holds. Each person's latest record is the one seen; every timeslot list is read."""

    def stream(name: str) -> list[dict[str, Any]]:
        return [dict(r) for r in records.get(name, [])]

    batch = Batch(
        events=stream("events"),
        deleted_events=stream("deleted_events"),
        people=stream("people"),
        attendances=stream("attendances"),
    )
    people = latest_by(batch.people, record_id)
    listed = {
        event_id: slots
        for event_id, event in latest_events(batch).items()
        if (slots := timeslot_ids(event)) is not None
    }
    known = Knowledge(idmap, router, approval_statuses, listed, people)
    return plan_batch(batch, known)


def awaited_events(events: EventsPlan, idmap: IdMap) -> set[str]:
    """The timeslot keys whose PDI event the events step writes, or may claim from PDI (an event
    not approved that the id map has never seen: `reclaim.py` adopts its PDI events)."""
    keys = {job.key for job in events.jobs}
    for event_id, event in events.unapproved:
        if not idmap.keys_for_mobilize_id(EVENT, event_id):
            keys |= {timeslot_key(V.mobilize_id(s.get("id"))) for s in P.timeslots(event)}
    return keys


@dataclass
class Cancels:
    """The PDI events a batch's plan cancels, by timeslot key: those the id map holds live (one
    canceled already, as not approved, only takes its new reason), and the events not approved
    or deleted it does not know, whose PDI events, if any, only PDI can tell (`reclaim.py` and
    the engine look for them by website)."""

    removed: set[str] = field(default_factory=set)
    unapproved: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    unknown_unapproved: int = 0
    unknown_deleted: int = 0

    def __len__(self) -> int:
        return len(self.removed | self.unapproved | self.deleted)


def planned_cancels(plan: BatchPlan, idmap: IdMap) -> Cancels:
    """What the writers cancel of the PDI events the id map holds, read before the first write."""

    def live(keys: Iterable[str]) -> set[str]:
        return {
            key
            for key in keys
            if (entry := idmap.get(EVENT, key)) is not None and canceled_reason(entry) is None
        }

    cancels = Cancels(
        removed=live(key for _, key in plan.events.removed),
        deleted=live(key for _, key, _ in plan.deleted_cancels),
        unknown_deleted=len(plan.deleted_unknown),
    )
    for event_id, _ in plan.events.unapproved:
        if not idmap.keys_for_mobilize_id(EVENT, event_id):
            cancels.unknown_unapproved += 1
        cancels.unapproved |= live(key for key, _ in live_timeslot_entries(idmap, event_id))
    return cancels


def plan_line(plan: BatchPlan, idmap: IdMap) -> str:
    """What the plan of a batch would do, in counts (no names: a dry run's log may be shared).
    A PDI object the id map does not know is "new": a create, unless recovery finds it. A cancel
    is of a PDI event the id map holds: what it does not know is counted apart."""
    jobs = [*plan.events.jobs, *plan.signups.missing.values()]
    new_events = sum(1 for job in jobs if idmap.get(EVENT, job.key) is None)
    cancels = planned_cancels(plan, idmap)
    parts = [
        f"{len(jobs)} events to write ({new_events} new, "
        f"{len(plan.signups.missing)} first seen in a signup)",
        f"{len(cancels)} events to cancel ({len(cancels.removed)} of removed timeslots, "
        f"{len(cancels.unapproved)} of events not approved, {len(cancels.deleted)} of deleted "
        f"events; {cancels.unknown_unapproved} not approved and {cancels.unknown_deleted} "
        "deleted events the id map does not know: canceled only if PDI has them)",
    ]
    if plan.reroutes is not None:
        parts.append(f"{len(plan.reroutes.moves)} events to move to their new calendar")
    people = plan.people
    new_contacts = sum(
        1 for email in people.by_email if idmap.get(CONTACT, contact_key(email)) is None
    )
    parts += [
        f"{len(people.by_email)} contacts ({new_contacts} new, {len(people.moved)} of people "
        f"whose email changed, {len(people.no_email)} people without email)",
        f"{len(plan.signups.signups)} invitations",
    ]
    return "DRY RUN: the plan of this batch: " + "; ".join(parts)
