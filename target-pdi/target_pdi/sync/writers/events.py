"""Events: one PDI event per Mobilize timeslot, in the calendar its event type routes to.

What only events have: a PDI event recovered for a timeslot the id map did not know is adopted,
an event approved again is restored, one whose route changed moves (`moves.py`), and one PDI
lost is made again with its invitations. Before any event is made, the one a crashed run may
have made for it is looked for (`PdiEvents.claim_made`: by website, or name and end, in the
same calendar at the same start).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject
from target_pdi.stores.idmap import Entry
from target_pdi.sync.planning.events import PERMANENT, UNAPPROVED, EventJob, canceled_reason
from target_pdi.sync.recovery import PdiEvents, lower_keys, row_payload
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.base import Item, Row, Writer
from target_pdi.sync.writers.invitations import InvitationWriter, invitation
from target_pdi.sync.writers.moves import EventMover

LOGGER = logging.getLogger("target-pdi")
EVENT = PdiObject.EVENT


@dataclass
class EventItem(Item):
    job: EventJob | None = None

    @property
    def calendar_id(self) -> str:
        assert self.job is not None
        return self.job.calendar_id


def event_extra(job: EventJob, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the id map keeps of a PDI event: what it holds, its calendar, its event type."""
    return {
        "payload": dict(payload),
        "calendar_id": job.calendar_id,
        "event_type": job.event.get("event_type"),
    }


class EventWriter(Writer[EventItem]):
    kind = EVENT
    # A timeslot's event is also met through each of its signups (an attendance embeds it).
    shared_by_records = True

    def __init__(
        self,
        shared: Shared,
        pdi_events: PdiEvents,
        invitations: InvitationWriter,
        mover: EventMover,
    ) -> None:
        super().__init__(shared)
        self.pdi_events = pdi_events
        self.invitations = invitations
        self.mover = mover
        # PDI events recovery found for timeslots the id map does not know (one batch).
        self.recovered: dict[str, Row] = {}

    def entry(self, key: str) -> Entry:
        entry = self.idmap.get(EVENT, key)
        assert entry is not None
        return entry

    def write(self, job: EventJob, location_id: str) -> str:
        """Upsert the PDI event of one timeslot; return its PDI id."""
        payload = P.event_payload(job.event, job.timeslot, location_id)
        entry = self.idmap.get(EVENT, job.key)
        if entry is None:
            # Recovered for this batch, or made by a run that died before saving its id.
            row = self.recovered.pop(job.key, None) or self.pdi_events.claim_made(
                payload, job.calendar_id, job.event_id
            )
            if row is None:
                return self._find_or_create(self._item(job, payload, {}), look=False)
            entry = self._adopt_recovered(job, row, payload)
        reason = canceled_reason(entry)
        if reason in PERMANENT or job.stream == "attendances":
            # An attendance's embedded event only fills gaps; the events stream owns updates.
            self.count(Outcome.UNCHANGED, job.key)
            return entry.pdi_id
        if entry.extra.get("moving_from"):
            self.mover.finish(job.key)
            entry = self.entry(job.key)
        if reason == UNAPPROVED:
            self._revive(job, entry, payload)
            entry = self.entry(job.key)
        if str(entry.extra.get("calendar_id")) != job.calendar_id:
            self.mover.move(job.key, entry, payload, job.calendar_id, job.event.get("event_type"))
            return self.entry(job.key).pdi_id
        return self.upsert(self._item(job, payload, entry.extra))

    def _item(self, job: EventJob, payload: dict[str, Any], known: Mapping[str, Any]) -> EventItem:
        extra = {**known, **event_extra(job, payload)}
        return EventItem(job.key, payload, job.event_id, extra, job=job)

    # --- the upsert's steps --------------------------------------------------------------------

    def is_current(self, entry: Entry, item: EventItem) -> bool:
        stored = entry.extra.get("payload")
        # Adopted from PDI (no hash yet), which already holds this payload.
        adopted_same = (
            entry.content_hash is None
            and isinstance(stored, Mapping)
            and V.same_content(stored, item.payload)
        )
        return entry.content_hash == item.digest or adopted_same

    def keep(self, entry: Entry, item: EventItem) -> None:
        if entry.content_hash != item.digest or not entry.extra.get("event_type"):
            self.remember(entry.pdi_id, item, entry)

    def update(self, pdi_id: str, item: EventItem) -> Outcome | None:
        return self.put(f"/events/{pdi_id}", item.payload)

    def find(self, item: EventItem) -> Row | None:
        """After PDI lost the event the id map names: the live one a run that died before
        saving its id made again, if any."""
        assert item.job is not None
        return self.pdi_events.claim_made(item.payload, item.calendar_id, item.job.event_id)

    def create(self, item: EventItem) -> str:
        return self.mover.create_in(item.calendar_id, item.payload)

    def replaced(self, old_id: str, new_id: str, item: EventItem) -> None:
        """PDI lost the event (the new one may be one a crashed run made again): it gets the
        invitations the id map knows."""
        self.invitations.copy(old_id, new_id, None)
        self.invitations.forget_event(old_id)

    # --- adopt, restore, replace ---------------------------------------------------------------

    def _adopt_recovered(self, job: EventJob, row: Row, payload: dict[str, Any]) -> Entry:
        """A PDI event recovered for this timeslot: remember it as the id map would have. When
        it differs from this payload, PDI's own content is kept as what PDI holds, so a later
        (fresher) payload equal to it needs no PUT."""
        calendar = lower_keys(row).get("calendarid")
        same = V.same_content(row, payload)
        extra = {
            **event_extra(job, payload if same else row_payload(row)),
            "calendar_id": str(calendar) if calendar not in (None, "") else job.calendar_id,
        }
        digest = V.content_hash(payload) if same else None
        self.idmap.put(
            EVENT, job.key, str(object_id(row)), digest, mobilize_id=job.event_id, extra=extra
        )
        return self.entry(job.key)

    def _revive(self, job: EventJob, entry: Entry, payload: dict[str, Any]) -> None:
        """An event approved again: its PDI event goes live, its signups' invitations back."""
        if self.update(entry.pdi_id, self._item(job, payload, entry.extra)) is None:
            self._replace(job, entry, payload)
            return
        self.count(Outcome.UPDATED)
        for contact_id, inv in self.invitations.of_event(entry.pdi_id):
            live = inv.extra.get("live")
            if isinstance(live, Mapping) and inv.content_hash != V.content_hash(live):
                self.invitations.upsert(
                    invitation(
                        entry.pdi_id,
                        contact_id,
                        dict(live),
                        mobilize_id=inv.mobilize_id,
                        extra=inv.extra,
                    )
                )
        extra = {k: v for k, v in entry.extra.items() if k != "canceled"}
        extra = {**extra, **event_extra(job, payload), "calendar_id": extra["calendar_id"]}
        digest = V.content_hash(payload)
        self.idmap.put(EVENT, job.key, entry.pdi_id, digest, mobilize_id=job.event_id, extra=extra)
        self.summary.note("events restored: approved again")

    def _replace(self, job: EventJob, entry: Entry, payload: dict[str, Any]) -> None:
        """PDI no longer has the event the id map names: make it again, with its invitations."""
        self.idmap.drop(EVENT, job.key)
        self.summary.stale_id(self.kind)
        item = self._item(job, payload, {})
        self.replaced(entry.pdi_id, self._find_or_create(item, look=True), item)

    def repoint_location(self, old_location: str, new_location: str) -> None:
        """Events the id map knows at a location PDI lost: point them at its replacement."""
        for key, entry in self.idmap.items(EVENT):
            payload = entry.extra.get("payload")
            if not isinstance(payload, Mapping) or payload.get("locationId") != old_location:
                continue
            moved = {**payload, "locationId": new_location}
            try:
                self.client.put(f"/events/{entry.pdi_id}", moved)
            except RecordRejected as exc:
                LOGGER.warning("Re-pointing PDI event %s to a new location failed: %s", key, exc)
                continue
            self.idmap.put(
                EVENT,
                key,
                entry.pdi_id,
                V.content_hash(moved),
                mobilize_id=entry.mobilize_id,
                extra={**entry.extra, "payload": moved},
            )
            self.count(Outcome.UPDATED)
