"""Making PDI events, and moving one to another calendar (PDI cannot change an event's
calendar): made in the new one, its invitations brought over, the old one canceled.

A move looks first for the event it may already have made in the new calendar (a run that
died right after that POST never saved its id), as every create does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject, retired_event_key
from target_pdi.stores.idmap import Entry
from target_pdi.sync.planning.events import MOVED
from target_pdi.sync.recovery import PdiEvents
from target_pdi.sync.work import Shared, is_gone
from target_pdi.sync.writers.cancels import CANCEL_NOTES, EventCanceller, canceled_payload
from target_pdi.sync.writers.invitations import InvitationWriter

EVENT = PdiObject.EVENT
MOVE_KEYS = ("moving_from", "moving_from_payload")


class EventMover:
    def __init__(
        self,
        shared: Shared,
        pdi_events: PdiEvents,
        invitations: InvitationWriter,
        canceller: EventCanceller,
    ) -> None:
        self.shared = shared
        self.idmap = shared.idmap
        self.summary = shared.summary
        self.pdi_events = pdi_events
        self.invitations = invitations
        self.canceller = canceller

    def create_in(self, calendar_id: str, payload: dict[str, Any]) -> str:
        """POST the event; a lost answer is looked up (`PdiEvents.find_created`), never re-sent
        blind. Callers look first for the event a crashed run may have made
        (`PdiEvents.claim_made`)."""
        result = self.shared.client.create(
            f"/calendars/{calendar_id}/events",
            payload,
            lambda: self.pdi_events.find_created(payload, calendar_id),
        )
        pdi_id = object_id(result) or ""
        if not pdi_id:
            raise RecordRejected("PDI created an event but returned no id")
        self.pdi_events.mark_created(pdi_id)
        self.invitations.new_event(pdi_id)
        return pdi_id

    def move(
        self, key: str, entry: Entry, payload: dict[str, Any], calendar_id: str, event_type: Any
    ) -> None:
        """Resumable: the id map points at the new event from its creation, and remembers the
        old one until the move is finished."""
        new_id, outcome = self.place(calendar_id, payload, entry.mobilize_id)
        self.summary.count(EVENT, outcome)
        extra = {
            "payload": dict(payload),
            "calendar_id": calendar_id,
            "event_type": event_type,
            "moving_from": entry.pdi_id,
            "moving_from_payload": entry.extra.get("payload") or payload,
        }
        digest = V.content_hash(payload)
        self.idmap.put(EVENT, key, new_id, digest, mobilize_id=entry.mobilize_id, extra=extra)
        self.finish(key)

    def look_around(self, payloads: list[Mapping[str, Any]]) -> None:
        """Read PDI's events around these starts at once, where the moves will look first: one
        range read for a calendars.yml edit that moves many, not one per move."""
        starts = [V.to_epoch(V.parse_pdi_datetime(p.get("startDateTimeUtc"))) for p in payloads]
        self.pdi_events.around([s for s in starts if s is not None], 1)

    def place(
        self, calendar_id: str, payload: dict[str, Any], event_id: int | None
    ) -> tuple[str, Outcome]:
        """The event of this payload in this calendar: the one PDI already holds (made by a run
        that died before saving its id; written over when it differs), else a new one."""
        found = self.pdi_events.claim_made(payload, calendar_id, event_id)
        pdi_id = object_id(found)
        if found is None or pdi_id is None:
            return self.create_in(calendar_id, payload), Outcome.CREATED
        if V.same_content(found, payload):
            return pdi_id, Outcome.UNCHANGED
        try:
            self.shared.client.put(f"/events/{pdi_id}", payload)
        except RecordRejected as exc:
            if not is_gone(exc):
                raise
            return self.create_in(calendar_id, payload), Outcome.CREATED
        return pdi_id, Outcome.UPDATED

    def finish(self, key: str) -> None:
        entry = self.idmap.get(EVENT, key)
        assert entry is not None
        old_id = str(entry.extra["moving_from"])
        old_payload = dict(entry.extra.get("moving_from_payload") or {})
        try:
            old_rows = self.invitations.rows(old_id)
        except RecordRejected as exc:
            if not is_gone(exc):
                raise
            old_rows = {}
        self.invitations.copy(old_id, entry.pdi_id, old_rows)
        if old_rows or old_payload:
            try:
                digest = self.canceller.cancel_pdi(old_id, old_payload, None, keep_live=False)
            except RecordRejected as exc:
                if not is_gone(exc):
                    raise
                digest = None
            self.idmap.put(
                EVENT,
                retired_event_key(old_id),
                old_id,
                digest,
                mobilize_id=entry.mobilize_id,
                extra={"payload": canceled_payload(old_payload), "canceled": MOVED},
            )
        extra = {k: v for k, v in entry.extra.items() if k not in MOVE_KEYS}
        self.idmap.put(
            EVENT, key, entry.pdi_id, entry.content_hash, mobilize_id=entry.mobilize_id, extra=extra
        )
        self.summary.note(CANCEL_NOTES[MOVED])
