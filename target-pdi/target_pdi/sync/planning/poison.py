"""Poison records: a record the sync cannot turn into requests is that record's failure.

Before a batch is planned, each record goes through the pure steps the sync takes with it (its
ids, its times, its payloads and their hashes, all from payloads.py). A record that any step
refuses, whatever the exception, is dead-lettered with one line naming its stream, key and
reason, and left out of the batch: so the steps that look at a whole batch at once (recovery's
reads around the batch's start times, the plans, the id map's flush) only meet values they can
use, and one impossible value never stops the batch's other records, its STATE, or every run
after it. The retry of such a dead letter is screened again, without a request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.rules import payloads as P
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import PdiObject
from target_pdi.sync.planning.events import Batch, as_map

Record = Mapping[str, Any]
# Ids are kept as BIGINT (the id map's mobilize_id): beyond it the id map's flush would fail,
# for the whole batch.
ID_RANGE = range(-(2**63), 2**63)
REASON_LIMIT = 300
WRITTEN_AS = {
    "events": PdiObject.EVENT,
    "deleted_events": PdiObject.EVENT,
    "people": PdiObject.CONTACT,
    "attendances": PdiObject.INVITATION,
}


def check_id(what: str, value: Any) -> int | None:
    """An id as the sync keys it (None: masked or no id); a ValueError when out of range."""
    ident = V.mobilize_id(value)
    if ident is not None and ident not in ID_RANGE:
        raise ValueError(f"{what} {ident} is out of range")
    return ident


def check_event(event: Record) -> None:
    """What the sync computes from an event: its location, and each timeslot's PDI event."""
    check_id("id", event.get("id"))
    V.content_hash(P.location_payload(event))
    P.location_key(event)
    P.event_problems(event)
    P.site_key(P.event_payload_website(event))
    for slot in P.timeslots(event):
        ts_id = check_id("timeslot id", slot.get("id"))
        if ts_id is None:
            continue  # masked: skipped and counted by the plan
        try:
            V.content_hash(P.event_payload(event, slot, "0"))
        except ValueError as exc:
            raise ValueError(f"timeslot {ts_id}: {exc}") from exc


def check_person(person: Record) -> None:
    """A person's contact: only one with an email becomes one (the others are refused
    later, with their own reason)."""
    if PP.person_email(person) is not None:
        V.content_hash(PP.contact_payload(person))
    PP.person_phone(person)
    V.to_epoch(person.get("modified_date"))


def check_people_record(person: Record) -> None:
    check_id("id", person.get("id"))
    check_person(person)


class Passed:
    """The embedded parts of a batch's signups already checked, as they were: a batch's
    signups repeat their event, timeslot and person (M: 30,000 signups of 3,000 timeslots), and
    building their payloads again for each was the screen's main cost. A part is taken as
    checked only when it equals the one that passed (a copy that differs is checked again)."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, Any], Any] = {}

    def seen(self, kind: str, key: Any, part: Any) -> bool:
        return self._parts.get((kind, key), _UNSEEN) == part

    def add(self, kind: str, key: Any, part: Any) -> None:
        self._parts[(kind, key)] = part


_UNSEEN = object()


def check_attendance(att: Record, passed: Passed | None = None) -> None:
    """A signup: its ids, its person's contact, its invitation, and the PDI event its own copy
    of the event and timeslot makes when the events stream never listed them."""
    passed = passed if passed is not None else Passed()
    check_id("id", att.get("id"))
    event, slot, person = as_map(att.get("event")), as_map(att.get("timeslot")), att.get("person")
    for name in ("person", "event", "timeslot"):
        check_id(f"{name}_id", att.get(f"{name}_id"))
    key = (check_id("event id", event.get("id")), check_id("timeslot id", slot.get("id")))
    if isinstance(person, Mapping):
        person_id = check_id("person id", person.get("id"))
        if not passed.seen("person", person_id, person):
            check_person(person)
            passed.add("person", person_id, person)
    V.content_hash(PP.invitation_payload(att, "0"))
    V.to_epoch(att.get("modified_date"))
    if not passed.seen("event", key, (event, slot)):
        check_embedded_event(event, slot)
        passed.add("event", key, (event, slot))


def check_embedded_event(event: Record, slot: Record) -> None:
    V.content_hash(P.location_payload(event))
    P.location_key(event)
    if V.to_epoch(slot.get("start_date")) is not None:
        try:
            V.content_hash(P.event_payload(event, slot, "0"))
        except ValueError as exc:
            raise ValueError(f"its timeslot {slot.get('id')}: {exc}") from exc


def check_deleted_event(record: Record) -> None:
    check_id("id", record.get("id"))
    V.to_epoch(record.get("deleted_date"))


CHECKS: dict[str, Callable[[Record], None]] = {
    "events": check_event,
    "deleted_events": check_deleted_event,
    "people": check_people_record,
    "attendances": check_attendance,
}


def problem(stream: str, record: Any, passed: Passed | None = None) -> str | None:
    """Why the sync cannot turn this record into requests (None: it can). `passed`: the
    batch's signups' parts already checked."""
    if not isinstance(record, Mapping):
        return "the record is not an object"
    check = CHECKS.get(stream)
    if check is None:
        return None
    try:
        if stream == "attendances":
            check_attendance(record, passed)
        else:
            check(record)
    except Exception as exc:  # whatever one record raises is its own failure
        text = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 3] + "..."
    return None


@dataclass
class Refused:
    """The records a screen kept out of a batch: (stream, key, record, reason)."""

    records: list[tuple[str, str, Record, str]] = field(default_factory=list)
    # Refused by a stream map, but without an id (masked): nothing to key a dead letter by.
    masked: list[str] = field(default_factory=list)

    @property
    def event_ids(self) -> set[int]:
        """Events refused: their signups wait for them (dead-lettered, never half-written)."""
        return {
            ident
            for stream, _, record, _ in self.records
            if stream == "events" and (ident := V.mobilize_id(record.get("id"))) is not None
        }


def screen(batch: Batch) -> Refused:
    """Take out of the batch (in place) every record the sync cannot turn into requests. A
    record without an id is left to the plan, which skips and counts it (masked)."""
    refused = Refused()
    passed = Passed()
    for stream, record, why in batch.refused:
        if stream not in WRITTEN_AS:
            continue  # a stream the sync does not write
        if V.mobilize_id(record.get("id")) is None:
            refused.masked.append(stream)
        else:
            refused.records.append((stream, str(record.get("id")), record, why))
    batch.refused = []
    for stream in WRITTEN_AS:
        kept: list[dict[str, Any]] = []
        for record in getattr(batch, stream):
            masked = isinstance(record, Mapping) and V.mobilize_id(record.get("id")) is None
            reason = None if masked else problem(stream, record, passed)
            if reason is None:
                kept.append(record)
            else:
                key = str(record.get("id")) if isinstance(record, Mapping) else "?"
                refused.records.append((stream, key, record, reason))
        setattr(batch, stream, kept)
    return refused
