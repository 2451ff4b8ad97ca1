"""Dead letters never outlive a newer version of their record.

A dead letter is an old read of one record (a person, a signup, an event, a deleted event, or a
cancel to retry), retried first by each run. Every batch the engine writes goes through
`run_batch`, so that:

- before the batch, the letters earlier runs left for the records it holds are carried into
  this run's store (the retry leaves those records to the batch, and its decision is final);
- after it, the letter of each record it held goes, unless the batch dead-lettered that record
  again (its newer version then replaced the letter): written, or skipped by the rules, the
  newer version settled it, and no later retry writes the old one over it;
- the signups' letters that embed a person or an event the batch held take the newer copy
  (`refreshed`): a person fixed in Mobilize is then not retried for ever with the copy PDI
  refused, nor an event Mobilize rejected made again from a copy that was approved.

A person whose letter waits is written by a batch that reads them again (plan_people's
`waiting`), even without a signup, so no record a batch holds is left undecided. A retry can
still write an old version first in its run, before the batch that holds a newer one writes
that: the last write is the newest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.stores.dead_letter_entries import Embedded, Key
from target_pdi.stores.deadletters import DeadLetterStore
from target_pdi.sync.planning.events import Batch, as_map, latest_by, modified, record_id

Record = Mapping[str, Any]
# The streams whose records a letter keeps under their Mobilize id.
RECORD_STREAMS = ("events", "deleted_events", "people", "attendances")


class Engine(Protocol):
    def run(self, batch: Batch) -> None: ...


def held(batch: Batch) -> set[Key]:
    """(stream, key) of every record of the batch, as its letter would be keyed."""
    keys = {
        (stream, str(ident))
        for stream in RECORD_STREAMS
        for record in getattr(batch, stream)
        if (ident := record_id(record)) is not None
    }
    keys |= {("cancellations", str(record.get("key"))) for record in batch.cancellations}
    return keys


def run_batch(engine: Engine, letters: DeadLetterStore, batch: Batch) -> None:
    """Write one batch so that the letters of its records end with it (module docstring)."""
    keys = held(batch)
    if not batch.retry:
        # A retry's records are the earlier letters themselves, already this run's to decide.
        letters.carry(keys)
    letters.begin_batch()
    engine.run(batch)
    for stream, key in keys:
        if not letters.failed_in_batch(stream, key):
            letters.discard(stream, key)
    refresh_embedded(letters, batch)


def refresh_embedded(letters: DeadLetterStore, batch: Batch) -> None:
    """The signups' letters embedding a person or an event of the batch take its newer copy."""
    people = latest_by(batch.people, record_id)
    events = latest_by(batch.events, record_id)
    wanted: set[Embedded] = {("people", i) for i in people} | {("events", i) for i in events}
    if not wanted:
        return
    for key in sorted(letters.embedding(wanted)):
        entry = letters.letter("attendances", key)
        if entry is None:
            continue  # written since, or superseded by its own newer version
        record = refreshed(entry["record"], people, events)
        if record is not None:
            letters.replace_record(entry, record)


def refreshed(
    attendance: Record, people: Mapping[Any, Record], events: Mapping[Any, Record]
) -> dict[str, Any] | None:
    """The signup with the newer copies of its person and event, or None when it embeds
    nothing older than these.

    A person replaces the embedded one whole, and the signup's own `pdi_contact_*` fields go:
    fields.yml computed them from the old copy, and the people record carries its own. An event
    replaces the embedded one with its timeslots (the plan then knows which it lists), and the
    signup's timeslot takes that event's copy of it.
    """
    record = dict(attendance)
    changed = False
    person = as_map(record.get("person"))
    newer = people.get(V.mobilize_id(record.get("person_id")) or V.mobilize_id(person.get("id")))
    if newer is not None and dict(newer) != dict(person) and modified(newer) >= modified(person):
        record["person"] = dict(newer)
        for field in [k for k in record if k.startswith("pdi_contact_")]:
            del record[field]
        changed = True
    event = as_map(record.get("event"))
    newer = events.get(V.mobilize_id(record.get("event_id")) or V.mobilize_id(event.get("id")))
    if newer is not None and dict(newer) != dict(event) and modified(newer) >= modified(event):
        record["event"] = dict(newer)
        slot_id = V.mobilize_id(
            record.get("timeslot_id") or as_map(record.get("timeslot")).get("id")
        )
        for slot in P.timeslots(newer):
            if isinstance(slot, Mapping) and V.mobilize_id(slot.get("id")) == slot_id:
                record["timeslot"] = dict(slot)
        changed = True
    return record if changed else None
