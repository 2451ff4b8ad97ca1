"""Canceling PDI events: the name prefixed "[Canceled] " once, every invitation "Cancelled"
(through the invitation writer), and the reason kept so a permanent cancel is never undone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject, retired_event_key
from target_pdi.sync.planning.events import (
    DELETED,
    MOVED,
    PERMANENT,
    REMOVED,
    UNAPPROVED,
    canceled_reason,
)
from target_pdi.sync.recovery import PdiEvents, row_is_canceled, row_payload
from target_pdi.sync.work import RECORD_FAILURES, Shared, is_gone
from target_pdi.sync.writers.base import Row
from target_pdi.sync.writers.invitations import InvitationWriter

EVENT, TOMBSTONE = PdiObject.EVENT, PdiObject.TOMBSTONE
CANCEL_NOTES = {
    DELETED: "events canceled: deleted in Mobilize",
    REMOVED: "events canceled: timeslot removed in Mobilize",
    UNAPPROVED: "events canceled: no longer approved",
    MOVED: "events moved to another calendar (old one canceled)",
}


def canceled_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {**payload, "name": P.canceled_name(str(payload.get("name") or ""))}


class EventCanceller:
    def __init__(
        self, shared: Shared, invitations: InvitationWriter, pdi_events: PdiEvents
    ) -> None:
        self.shared = shared
        self.pdi_events = pdi_events  # rows recovery read, each claimed once
        self.idmap = shared.idmap
        self.summary = shared.summary
        self.invitations = invitations

    def cancel_event(self, key: str, reason: str) -> None:
        """Cancel the PDI event of one timeslot key, for ``reason``."""
        entry = self.idmap.get(EVENT, key)
        current = canceled_reason(entry)
        if entry is None or current in PERMANENT:
            return
        if current is not None:
            # Canceled already (not approved); now for good: no PDI change, a new reason.
            if reason in PERMANENT:
                extra = {**entry.extra, "canceled": reason}
                digest = entry.content_hash
                self.idmap.put(
                    EVENT, key, entry.pdi_id, digest, mobilize_id=entry.mobilize_id, extra=extra
                )
            return
        payload = dict(entry.extra.get("payload") or {})
        if not payload:
            raise ValueError(f"no stored payload for {key}")
        try:
            digest = self.cancel_pdi(entry.pdi_id, payload, entry.content_hash)
        except RecordRejected as exc:
            if not is_gone(exc):
                raise
            # Deleted in PDI meanwhile: nothing left to cancel. For good: never recreate it.
            self.idmap.drop(EVENT, key)
            if reason in PERMANENT:
                self.idmap.put(TOMBSTONE, key, "", None, mobilize_id=entry.mobilize_id)
            self.summary.stale_id(EVENT)
            return
        extra = {**entry.extra, "payload": canceled_payload(payload), "canceled": reason}
        self.idmap.put(EVENT, key, entry.pdi_id, digest, mobilize_id=entry.mobilize_id, extra=extra)
        self.summary.note(CANCEL_NOTES[reason])

    def cancel_pdi(
        self,
        pdi_id: str,
        payload: Mapping[str, Any],
        current_hash: str | None,
        *,
        keep_live: bool = True,
    ) -> str:
        """Cancel one PDI event: name prefixed, every invitation "Cancelled". Returns the hash
        of what PDI now holds. Raises RecordRejected(404) when PDI no longer has it."""
        canceled = canceled_payload(payload)
        digest = V.content_hash(canceled)
        if current_hash != digest:
            self.shared.client.put(f"/events/{pdi_id}", canceled)
            self.summary.count(EVENT, Outcome.UPDATED)
        else:
            self.summary.count(EVENT, Outcome.UNCHANGED)
        self.invitations.cancel_all(pdi_id, keep_live=keep_live)
        return digest

    def retire_row(
        self, event_id: int, row: Row, reason: str, failed: tuple[str, Mapping[str, Any]]
    ) -> None:
        """Cancel a PDI event no timeslot maps to, and keep it in the id map (never claimed).
        ``failed``: the stream and record to dead-letter if PDI refuses."""
        if not row_is_canceled(row) and not self.pdi_events.claim(row):
            return
        pdi_id = str(object_id(row))
        payload = row_payload(row)
        canceled = canceled_payload(payload)
        current = V.content_hash(canceled) if row_is_canceled(row) else None
        try:
            digest = self.cancel_pdi(pdi_id, payload, current)
        except RECORD_FAILURES as exc:
            if is_gone(exc):
                return
            self.summary.count(EVENT, Outcome.FAILED)
            stream, record = failed
            reason_text = f"cancel of PDI event failed: {exc}"
            self.shared.dead_letter(stream, event_id, record, reason_text, exc)
            return
        extra = {"payload": canceled, "canceled": reason}
        self.idmap.put(
            EVENT, retired_event_key(pdi_id), pdi_id, digest, mobilize_id=event_id, extra=extra
        )
