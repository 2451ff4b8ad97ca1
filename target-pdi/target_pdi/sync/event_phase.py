"""The events phases of a batch: cancels for deleted events, removed timeslots and events no
longer approved; locations, then the events that use them; moves of rerouted events.

Each writes concurrently and turns a record's failure into a count and a dead letter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from target_pdi.rules import payloads as P
from target_pdi.rules.vocabulary import Outcome, PdiObject
from target_pdi.sync.planning.events import (
    DELETED,
    PERMANENT,
    REMOVED,
    UNAPPROVED,
    EventJob,
    canceled_reason,
    live_timeslot_entries,
    modified,
)
from target_pdi.sync.work import RECORD_FAILURES, Shared
from target_pdi.sync.writers.cancels import EventCanceller
from target_pdi.sync.writers.events import EventWriter
from target_pdi.sync.writers.locations import LocationItem, LocationWriter
from target_pdi.sync.writers.moves import EventMover

LOGGER = logging.getLogger("target-pdi")
EVENT = PdiObject.EVENT
Record = Mapping[str, Any]


class EventPhase:
    def __init__(
        self,
        shared: Shared,
        locations: LocationWriter,
        events: EventWriter,
        canceller: EventCanceller,
        mover: EventMover,
    ) -> None:
        self.shared = shared
        self.idmap = shared.idmap
        self.summary = shared.summary
        self.locations = locations
        self.events = events
        self.canceller = canceller
        self.mover = mover
        self._lock = threading.Lock()
        self.failed_events: set[int] = set()  # this batch's events that were dead-lettered

    def _failed(self, what: str, stream: str, key: Any, record: Any, exc: Exception) -> None:
        self.summary.count(EVENT, Outcome.FAILED)
        self.shared.dead_letter(stream, key, record, f"{what} failed: {exc}", exc)

    # --- cancels ------------------------------------------------------------------------------

    def cancel_deleted(self, work: list[tuple[int, str, Record]]) -> None:
        def do(item: tuple[int, str, Record]) -> None:
            event_id, key, record = item
            try:
                self.canceller.cancel_event(key, DELETED)
            except RECORD_FAILURES as exc:
                self._failed(f"cancel of {key}", "deleted_events", event_id, record, exc)

        self.shared.parallel(work, do)

    def retry_cancellations(self, records: list[dict[str, Any]]) -> None:
        def do(record: dict[str, Any]) -> None:
            key, reason = str(record.get("key")), str(record.get("reason") or REMOVED)
            try:
                self.canceller.cancel_event(key, reason)
            except RECORD_FAILURES as exc:
                self._failed("cancel", "cancellations", key, record, exc)
            else:
                self.shared.deadletters.discard("cancellations", key)

        self.shared.parallel(records, do)

    def cancel_unapproved(self, unapproved: list[tuple[int, Record]]) -> None:
        def do(item: tuple[int, Record]) -> None:
            event_id, event = item
            for key, entry in live_timeslot_entries(self.idmap, event_id):
                if canceled_reason(entry) is not None:
                    continue
                try:
                    self.canceller.cancel_event(key, UNAPPROVED)
                except RECORD_FAILURES as exc:
                    self._failed(f"cancel of {key}", "events", event_id, event, exc)
                    return

        self.shared.parallel(unapproved, do)

    def cancel_removed(self, removed: list[tuple[int, str]]) -> None:
        def do(item: tuple[int, str]) -> None:
            event_id, key = item
            try:
                self.canceller.cancel_event(key, REMOVED)
            except RECORD_FAILURES as exc:
                with self._lock:
                    self.failed_events.add(event_id)
                # Kept as what it is, a cancel to retry; never as an events record (without
                # timeslots it would read as "every timeslot removed").
                record = {"key": key, "reason": REMOVED, "event_id": event_id}
                self._failed(f"cancel of removed {key}", "cancellations", key, record, exc)

        self.shared.parallel(removed, do)

    # --- writes ----------------------------------------------------------------------------

    def write(self, jobs: list[EventJob]) -> None:
        """Locations first, then the events that use them (both concurrent)."""
        jobs = [j for j in jobs if not self._done_for_good(j)]
        if not jobs:
            return
        # One payload per location key; the most recently modified event decides its content.
        wanted: dict[str, tuple[Record, list[EventJob]]] = {}
        for job in jobs:
            key = P.location_key(job.event)
            best, users = wanted.get(key, (job.event, []))
            if modified(job.event) > modified(best):
                best = job.event
            wanted[key] = (best, [*users, job])
        location_ids: dict[str, str] = {}

        def do_location(item: tuple[str, tuple[Record, list[EventJob]]]) -> None:
            key, (event, users) = item
            try:
                location_ids[key] = self.locations.upsert(
                    LocationItem(key, P.location_payload(event))
                )
            except RECORD_FAILURES as exc:
                self.summary.count(PdiObject.LOCATION, Outcome.FAILED)
                for job in users:
                    self._fail_job(job, f"location {key} failed: {exc}", exc)

        self.shared.parallel(list(wanted.items()), do_location)
        ready = [
            (j, location_ids[k]) for j in jobs if (k := P.location_key(j.event)) in location_ids
        ]

        def do_event(item: tuple[EventJob, str]) -> None:
            job, location_id = item
            try:
                self.events.write(job, location_id)
            except RECORD_FAILURES as exc:
                self.summary.count(EVENT, Outcome.FAILED)
                self._fail_job(job, f"timeslot {job.timeslot.get('id')} failed: {exc}", exc)

        self.shared.parallel(ready, do_event)

    def _done_for_good(self, job: EventJob) -> bool:
        # Mobilize cannot revive a deleted event or a removed timeslot: such a PDI event stays
        # canceled whatever a record says.
        if canceled_reason(self.idmap.get(EVENT, job.key)) in PERMANENT:
            self.summary.count_object(EVENT, job.key, Outcome.UNCHANGED)
            return True
        return False

    def _fail_job(self, job: EventJob, reason: str, exc: Exception | None) -> None:
        if job.event_id is not None:
            with self._lock:
                self.failed_events.add(job.event_id)
        self.shared.dead_letter(job.stream, job.record_key, job.record, reason, exc)

    # --- routes that changed ------------------------------------------------------------------

    def reroute(self, work: list[tuple[str, str]]) -> None:
        """Move PDI events to the calendar their event type now routes to, and finish moves a
        crash interrupted: (timeslot key, calendar id)."""

        def do(item: tuple[str, str]) -> None:
            key, calendar_id = item
            entry = self.events.entry(key)
            try:
                if entry.extra.get("moving_from"):
                    self.mover.finish(key)
                else:
                    payload = dict(entry.extra["payload"])
                    event_type = entry.extra["event_type"]
                    self.mover.move(key, entry, payload, calendar_id, event_type)
            except RECORD_FAILURES as exc:
                self.summary.count(EVENT, Outcome.FAILED)
                LOGGER.warning("Moving PDI event of %s to its new calendar failed: %s", key, exc)

        if work:
            payloads = [self.events.entry(key).extra.get("payload") for key, _ in work]
            self.mover.look_around([p for p in payloads if isinstance(p, Mapping)])
        self.shared.parallel(work, do)
