"""The work of one batch, planned without a single request: pure functions of the records read,
what the id map knows and the calendar routes. This module holds the records' rules and the
events' plans; signups are planned in `planning/signups.py`, people in `planning/people.py`, and the
whole batch in `planning/batch.py`.

Each plan says what to write and what to skip (and why), so it can be tested without HTTP; the
engine (`engine.py`) counts the skips and hands the work to the writers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import (
    PdiObject,
    is_timeslot_key,
    mobilize_event_key,
    timeslot_key,
    timeslot_of,
)
from target_pdi.stores.idmap import Entry, IdMap

EVENT, CONTACT, TOMBSTONE = PdiObject.EVENT, PdiObject.CONTACT, PdiObject.TOMBSTONE

# Why a PDI event was canceled. Mobilize cannot bring back a deleted event or a removed timeslot,
# and an event that moved calendar lives on in the new one; an event that left the allowed
# approval statuses can come back.
DELETED, REMOVED, MOVED, UNAPPROVED = "deleted", "removed", "moved", "unapproved"
PERMANENT = frozenset({DELETED, REMOVED, MOVED})
# The skip of an event Mobilize gave no approval status: treated as not approved.
NO_APPROVAL_STATUS = "events without an approval status"

Record = Mapping[str, Any]


@dataclass
class Batch:
    events: list[dict[str, Any]] = field(default_factory=list)
    deleted_events: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    attendances: list[dict[str, Any]] = field(default_factory=list)
    # Dead-letter retries of a cancel that failed: {"key": "ts:1", "reason": ..., "event_id": ...}
    cancellations: list[dict[str, Any]] = field(default_factory=list)
    # Dead-letter retries: people are retried even without a signup in this batch.
    retry: bool = False
    # Records refused before they reached a sink (a stream map raised): (stream, record, why)
    refused: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.events)
            + len(self.deleted_events)
            + len(self.people)
            + len(self.attendances)
            + len(self.cancellations)
            + len(self.refused)
        )


@dataclass
class EventJob:
    """One PDI event to upsert: a Mobilize timeslot plus the record it came from."""

    stream: str  # record to dead-letter on failure: "events" or "attendances"
    record_key: str
    record: Record
    event: Record
    timeslot: Record
    calendar_id: str

    @property
    def key(self) -> str:
        return timeslot_key(self.timeslot.get("id"))

    @property
    def event_id(self) -> int | None:
        return V.mobilize_id(self.event.get("id"))

    @property
    def start(self) -> int | None:
        return V.to_epoch(self.timeslot.get("start_date"))


@dataclass
class Skips:
    """Records left out, by reason (the summary's "skipped" line), and unrouted event types."""

    reasons: Counter[str] = field(default_factory=Counter)
    unrouted: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, n: int = 1) -> None:
        self.reasons[reason] += n


# --- records ---------------------------------------------------------------------------------


def modified(record: Record) -> tuple[int, int]:
    """Which of two versions of a record is the later: modified_date, then id."""
    return (V.to_epoch(record.get("modified_date")) or 0, V.mobilize_id(record.get("id")) or 0)


def record_id(record: Record) -> int | None:
    return V.mobilize_id(record.get("id"))


def latest_by(records: Iterable[Record], key: Callable[[Record], Any]) -> dict[Any, Record]:
    """Dedupe by key, the latest modified_date (then highest id) wins."""
    out: dict[Any, Record] = {}
    for record in records:
        k = key(record)
        if k is None:
            continue
        if k not in out or modified(record) >= modified(out[k]):
            out[k] = record
    return out


def as_map(value: Any) -> Record:
    return value if isinstance(value, Mapping) else {}


def timeslot_ids(event: Record) -> set[int | None] | None:
    """Ids of an event's timeslots, or None when the record does not list them (an attendance's
    embedded copy, a stub): "unknown" must never read as "every timeslot removed"."""
    slots = event.get("timeslots")
    if not isinstance(slots, list):
        return None
    return {V.mobilize_id(s.get("id")) for s in slots if isinstance(s, Mapping)}


def canceled_reason(entry: Entry | None) -> str | None:
    """Why an event entry is canceled (None: live). Old id maps stored `canceled: true`."""
    if entry is None:
        return None
    reason = entry.extra.get("canceled")
    if reason is True:
        return DELETED
    return str(reason) if reason else None


def approval_status(event: Record) -> str:
    """The event's approval status, upper case; "" when Mobilize gave none (null or no key)."""
    return str(event.get("approval_status") or "").strip().upper()


def is_approved(event: Record, statuses: Iterable[str]) -> bool:
    """Only a status in `statuses` (APPROVED by default) may be live. Mobilize fills the status
    on every event, a signup's masked copy included: a missing one is no evidence of approval."""
    status = approval_status(event)
    return bool(status) and status in statuses


def is_deleted(idmap: IdMap, event_id: int | None) -> bool:
    return event_id is not None and idmap.get(TOMBSTONE, mobilize_event_key(event_id)) is not None


def live_timeslot_entries(idmap: IdMap, event_id: int) -> list[tuple[str, Entry]]:
    """The id map's PDI events of one Mobilize event that Mobilize could still change."""
    return [
        (key, entry)
        for key, entry in idmap.keys_for_mobilize_id(EVENT, event_id)
        if is_timeslot_key(key) and canceled_reason(entry) not in PERMANENT
    ]


# --- events ----------------------------------------------------------------------------------


@dataclass
class EventsPlan:
    jobs: list[EventJob] = field(default_factory=list)
    removed: list[tuple[int, str]] = field(default_factory=list)  # (event id, timeslot key)
    unapproved: list[tuple[int, Record]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # logged, still written
    skips: Skips = field(default_factory=Skips)


def plan_events(
    events: Mapping[int, Record],
    idmap: IdMap,
    router: CalendarRouter,
    approval_statuses: Iterable[str],
    deleted: Collection[int] = (),
) -> EventsPlan:
    """One job per timeslot of each approved, routed, not deleted event; the timeslots it
    no longer lists (removed) and the events no longer approved, to cancel. ``deleted``: the
    events deleted in this batch, whose tombstones are not written yet."""
    plan = EventsPlan()
    for event_id, event in events.items():
        if is_deleted(idmap, event_id) or event_id in deleted:
            plan.skips.skip("events deleted in Mobilize (canceled instead)")
            continue
        if not is_approved(event, approval_statuses):
            status = approval_status(event)
            plan.skips.skip(f"events not approved ({status})" if status else NO_APPROVAL_STATUS)
            plan.unapproved.append((event_id, event))
            continue
        current = timeslot_ids(event)
        if current is not None:
            # A timeslot we synced that the re-fetched event no longer lists was removed.
            plan.removed += [
                (event_id, key)
                for key, _ in live_timeslot_entries(idmap, event_id)
                if V.mobilize_id(timeslot_of(key)) not in current
            ]
        calendar_id = router.route(event.get("event_type"))
        slots = P.timeslots(event)
        if calendar_id is None:
            plan.skips.unrouted[str(event.get("event_type") or "(none)")] += len(slots)
            continue
        plan.problems += [(event_id, problem) for problem in P.event_problems(event)]
        for slot in slots:
            if V.mobilize_id(slot.get("id")) is None:
                plan.skips.skip("masked timeslots (null id)")
                continue
            plan.jobs.append(EventJob("events", str(event_id), event, event, slot, calendar_id))
    return plan


def plan_deleted(
    deleted: Mapping[int, Record], idmap: IdMap
) -> tuple[list[tuple[int, str, Record]], list[tuple[int, Record]]]:
    """(the timeslot keys to cancel of each deleted event, deleted events the id map never
    knew: deleted before we saw them, or the map was lost)."""
    work: list[tuple[int, str, Record]] = []
    unknown: list[tuple[int, Record]] = []
    for event_id, record in deleted.items():
        if not idmap.keys_for_mobilize_id(EVENT, event_id):
            unknown.append((event_id, record))
            continue
        work += [(event_id, key, record) for key, _ in live_timeslot_entries(idmap, event_id)]
    return work, unknown


def plan_reroute(
    idmap: IdMap, router: CalendarRouter, exclude: set[int]
) -> tuple[list[tuple[str, str]], int]:
    """PDI events whose event type now routes to another calendar (a calendars.yml edit), and
    moves a crash interrupted: [(timeslot key, calendar id)], and how many are routed nowhere
    now (left as they are). Events of ``exclude`` (in this batch) are left to it."""
    work: list[tuple[str, str]] = []
    unrouted = 0
    for key, entry in idmap.items(EVENT):
        if not is_timeslot_key(key) or canceled_reason(entry) is not None:
            continue
        if entry.mobilize_id in exclude or is_deleted(idmap, entry.mobilize_id):
            continue
        if entry.extra.get("moving_from"):
            work.append((key, str(entry.extra.get("calendar_id"))))
            continue
        event_type = entry.extra.get("event_type")
        if not event_type or not entry.extra.get("payload"):
            continue  # written by an older version: its event type is unknown
        calendar_id = router.route(event_type)
        if calendar_id is None:
            unrouted += 1
        elif calendar_id != str(entry.extra.get("calendar_id")):
            work.append((key, calendar_id))
    return work, unrouted


# --- signups' records --------------------------------------------------------------------


def is_masked(attendance: Record) -> bool:
    timeslot = as_map(attendance.get("timeslot"))
    event = as_map(attendance.get("event"))
    return (
        V.mobilize_id(attendance.get("id")) is None
        or V.mobilize_id(attendance.get("timeslot_id") or timeslot.get("id")) is None
        or V.mobilize_id(attendance.get("event_id") or event.get("id")) is None
    )


def attendance_person(
    att: Record, people_seen: Mapping[int, Record]
) -> tuple[int | None, Record | None]:
    person = att.get("person") if isinstance(att.get("person"), Mapping) else None
    person_id = V.mobilize_id(att.get("person_id"))
    if person_id is None and person is not None:
        person_id = V.mobilize_id(person.get("id"))
    # Prefer the people stream's record (fresher) over the attendance's embedded copy.
    if person_id is not None and person_id in people_seen:
        return person_id, people_seen[person_id]
    if person is not None:
        # fields.yml's attendances section computed the contact fields on the signup.
        mapped = {k: v for k, v in att.items() if k.startswith("pdi_contact_")}
        if mapped:
            person = {**person, **mapped}
    return person_id, person
