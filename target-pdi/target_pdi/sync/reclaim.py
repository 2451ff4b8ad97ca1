"""Reclaiming the PDI events of Mobilize events the id map does not know (new ones, or a map
that was lost), before anything is created: live ones are claimed by website and start time,
the others that name the event are canceled (their timeslots were removed or moved meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from target_pdi.pdi.client import object_id
from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import PdiObject, timeslot_key
from target_pdi.sync.planning.events import REMOVED, UNAPPROVED, EventJob, timeslot_ids
from target_pdi.sync.recovery import PdiEvents, lower_keys, row_is_canceled, row_payload, row_start
from target_pdi.sync.writers.base import Row
from target_pdi.sync.writers.cancels import EventCanceller, canceled_payload
from target_pdi.sync.writers.events import EventWriter

EVENT = PdiObject.EVENT
Record = Mapping[str, Any]


class EventReclaim:
    def __init__(
        self,
        pdi_events: PdiEvents,
        events: EventWriter,
        canceller: EventCanceller,
        window_days: float,
    ) -> None:
        self.pdi_events = pdi_events
        self.events = events
        self.canceller = canceller
        self.idmap = events.idmap
        self.window_days = window_days

    def unknown_events(
        self,
        jobs: list[EventJob],
        unapproved: list[tuple[int, Record]],
        approved: Callable[[Record], bool],
    ) -> None:
        """Claim the PDI events of Mobilize events the id map has never seen, and cancel the
        others that name them. ``approved(event)`` says whether an event is written."""
        unknown: dict[int, tuple[Record, list[EventJob]]] = {}
        for job in jobs:
            if job.event_id is not None and not self.idmap.keys_for_mobilize_id(
                EVENT, job.event_id
            ):
                unknown.setdefault(job.event_id, (job.event, []))[1].append(job)
        for event_id, event in unapproved:
            if not self.idmap.keys_for_mobilize_id(EVENT, event_id):
                unknown.setdefault(event_id, (event, []))
        if not unknown:
            return
        starts = [
            V.to_epoch(slot.get("start_date"))
            for event, _ in unknown.values()
            for slot in P.timeslots(event)
        ]
        self.pdi_events.around([s for s in starts if s is not None], self.window_days)
        for event_id, (event, event_jobs) in unknown.items():
            site = P.site_key(P.event_payload_website(event))
            self._claim(site, event_jobs)
            if timeslot_ids(event) is None:
                continue
            is_approved = approved(event)
            for row in self.pdi_events.of_site(site):
                if is_approved:
                    self.canceller.retire_row(event_id, row, REMOVED, ("events", event))
                else:
                    self._adopt_unapproved(event_id, event, row)

    def missing(self, jobs: list[EventJob]) -> None:
        """Timeslots about to be created: claim their live PDI events, if PDI has them."""
        missing = [j for j in jobs if self.idmap.get(EVENT, j.key) is None]
        self.pdi_events.around([j.start for j in missing if j.start is not None], 1)
        for job in missing:
            if job.key not in self.events.recovered and job.start is not None:
                self._claim(P.site_key(P.event_payload_website(job.event)), [job])

    def _claim(self, site: str | None, jobs: list[EventJob]) -> None:
        for job in jobs:
            assert job.start is not None
            row = self.pdi_events.claim_live(site, job.start)
            if row is not None:
                self.events.recovered[job.key] = row

    def _adopt_unapproved(self, event_id: int, event: Record, row: Row) -> None:
        """A PDI event of a Mobilize event that is not approved (now) and unknown to the id map:
        cancel it, remembered under its timeslot so that an approval restores it."""
        start = row_start(row)
        slot = next(
            (
                s
                for s in P.timeslots(event)
                if start is not None and V.to_epoch(s.get("start_date")) == int(start.timestamp())
            ),
            None,
        )
        if slot is None or not self.pdi_events.claim(row):
            self.canceller.retire_row(event_id, row, REMOVED, ("events", event))
            return
        key = timeslot_key(V.mobilize_id(slot.get("id")))
        payload = row_payload(row)
        if row_is_canceled(row):
            payload["name"] = P.strip_canceled(str(payload.get("name") or ""))
        extra = {
            "payload": payload,
            "calendar_id": str(lower_keys(row).get("calendarid") or ""),
            "event_type": event.get("event_type"),
        }
        pdi_id = str(object_id(row))
        self.idmap.put(EVENT, key, pdi_id, None, mobilize_id=event_id, extra=extra)
        if row_is_canceled(row):
            canceled = canceled_payload(payload)
            extra = {**extra, "payload": canceled, "canceled": UNAPPROVED}
            digest = V.content_hash(canceled)
            self.idmap.put(EVENT, key, pdi_id, digest, mobilize_id=event_id, extra=extra)
