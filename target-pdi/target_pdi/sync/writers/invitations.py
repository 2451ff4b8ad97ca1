"""Invitations: one per PDI event and contact, with PDI's invitation list read once per event."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject, invitation_key, invitation_parts
from target_pdi.stores.idmap import Entry
from target_pdi.sync.lru import Lru
from target_pdi.sync.recovery import lower_keys
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.base import Item, Row, Writer


@dataclass
class InvitationItem(Item):
    event_pdi_id: str = ""
    contact_id: str = ""


def invitation(
    event_pdi_id: str,
    contact_id: str,
    body: dict[str, Any],
    *,
    mobilize_id: int | None,
    extra: Mapping[str, Any],
    row: Row | None = None,
) -> InvitationItem:
    """The invitation of this contact on this event, to hold ``body``. ``row`` is PDI's
    invitation when the caller just listed it."""
    return InvitationItem(
        invitation_key(event_pdi_id, contact_id),
        body,
        mobilize_id,
        dict(extra),
        row,
        event_pdi_id=event_pdi_id,
        contact_id=contact_id,
    )


# Invitation lists kept at a time: the most recently used events' (memory must not grow with
# the organization). An event's list is needed again only if it changes after the run read it.
LISTS_KEPT = 256


class InvitationWriter(Writer[InvitationItem]):
    kind = PdiObject.INVITATION

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self._lock = threading.Lock()
        # PDI event id -> contact id -> row, the LISTS_KEPT most recently used.
        self._lists: Lru[str, dict[str, Row]] = Lru(LISTS_KEPT)
        # Events created in this run: PDI has only the invitations the id map knows of.
        self._new_events: set[str] = set()

    def rows(self, event_pdi_id: str, *, refresh: bool = False) -> dict[str, Row]:
        """contactId -> invitation row, as PDI lists them (read once while kept)."""
        cached = self._lists.get(event_pdi_id)
        if cached is not None and not refresh:
            return cached
        listed = self.client.list_all(f"/events/{event_pdi_id}/invitations", {"expand": "false"})
        rows: dict[str, Row] = {}
        for row in listed:
            contact_id = row_contact_id(row)
            if contact_id:
                rows.setdefault(contact_id, row)
        self._lists.put(event_pdi_id, rows)
        return rows

    def new_event(self, event_pdi_id: str) -> None:
        """A new event has no invitations yet: its signups need no invitation list read."""
        with self._lock:
            self._new_events.add(event_pdi_id)

    def _cache(self, item: InvitationItem, inv_id: str) -> None:
        cached = self._lists.get(item.event_pdi_id)
        if cached is not None:
            with self._lock:
                cached[item.contact_id] = {**item.payload, "id": inv_id}

    def is_current(self, entry: Entry, item: InvitationItem) -> bool:
        found = item.found
        return entry.content_hash == item.digest or (
            found is not None and V.same_content(found, item.payload)
        )

    def keep(self, entry: Entry, item: InvitationItem) -> None:
        self.remember(entry.pdi_id, item, entry)

    def find(self, item: InvitationItem) -> Row | None:
        with self._lock:
            new = item.event_pdi_id in self._new_events
        if new and item.event_pdi_id not in self._lists:
            return None  # what this run invited there is in the id map, so not this one
        return self.rows(item.event_pdi_id).get(item.contact_id)

    def row_id(self, row: Row) -> str | None:
        return invitation_id(row) or None

    def adopt(self, pdi_id: str, row: Row, item: InvitationItem) -> Outcome | None:
        outcome = super().adopt(pdi_id, row, item)
        if outcome is None:
            self.summary.stale_id(self.kind)
        return outcome

    def update(self, pdi_id: str, item: InvitationItem) -> Outcome | None:
        outcome = self.put(f"/events/{item.event_pdi_id}/invitations/{pdi_id}", item.payload)
        if outcome is None:
            # PDI lost this invitation: the list read earlier still shows it. The look before
            # inviting again reads the list afresh (a run that died after inviting again, before
            # saving the id, left the new one there).
            self._lists.pop(item.event_pdi_id)
        else:
            self._cache(item, pdi_id)
        return outcome

    def create(self, item: InvitationItem) -> str:
        def listed() -> Row | None:
            return self.rows(item.event_pdi_id, refresh=True).get(item.contact_id)

        result = self.client.create(
            f"/events/{item.event_pdi_id}/invitations", item.payload, listed
        )
        inv_id = object_id(result) or invitation_id(listed() or {})
        if not inv_id:
            raise RecordRejected("PDI created an invitation but returned no id")
        self._cache(item, inv_id)
        return inv_id

    def remember(self, pdi_id: str, item: InvitationItem, entry: Entry | None) -> None:
        if (
            entry is None
            or entry.pdi_id != pdi_id
            or entry.content_hash != item.digest
            or entry.mobilize_id != item.mobilize_id
            or entry.extra != item.extra
        ):
            super().remember(pdi_id, item, entry)

    # --- what follows an event -------------------------------------------------------------

    def of_event(self, event_pdi_id: str) -> list[tuple[str, Entry]]:
        """(contact id, entry) of every invitation the id map knows on one PDI event."""
        return [
            (invitation_parts(key)[1], entry)
            for key, entry in self.idmap.keys_in_group(self.kind, event_pdi_id)
        ]

    def copy(self, old_id: str, new_id: str, old_rows: Mapping[str, Row] | None) -> None:
        """Bring an event's invitations to the event that replaces it: the signup's own
        invitation from the id map where we wrote it, else the row as PDI has it."""
        known = dict(self.of_event(old_id))
        sources: dict[str, dict[str, Any]] = {}
        for contact_id, entry in known.items():
            live = entry.extra.get("live")
            if isinstance(live, Mapping):
                sources[contact_id] = dict(live)
        for contact_id, row in (old_rows or {}).items():
            if contact_id not in sources:
                low = lower_keys(row)
                sources[contact_id] = {
                    "contactId": contact_id,
                    "rsvpStatus": low.get("rsvpstatus") or "",
                    "isConfirmed": low.get("isconfirmed") in (True, "true", "True"),
                    "attended": low.get("attended") in (True, "true", "True"),
                }
        for contact_id, body in sorted(sources.items()):
            previous = known.get(contact_id)
            self.upsert(
                invitation(
                    new_id,
                    contact_id,
                    body,
                    mobilize_id=previous.mobilize_id if previous else None,
                    extra=dict(previous.extra) if previous else {},
                )
            )

    def forget_event(self, event_pdi_id: str) -> None:
        """PDI lost this event, and its invitations with it."""
        for key, _ in self.idmap.keys_in_group(self.kind, event_pdi_id):
            self.idmap.drop(self.kind, key)

    def cancel_all(self, event_pdi_id: str, *, keep_live: bool) -> None:
        """Set every invitation PDI lists on an event to "Cancelled" (attended kept).
        ``keep_live`` False: the signup lives on elsewhere, never on this event again."""
        for contact_id, row in list(self.rows(event_pdi_id).items()):
            low = lower_keys(row)
            prev = self.idmap.get(self.kind, invitation_key(event_pdi_id, contact_id))
            extra = dict(prev.extra) if prev else {}
            if not keep_live:
                extra["live"] = None
            if str(low.get("rsvpstatus") or "") == "Cancelled" and not prev:
                continue
            self.upsert(
                invitation(
                    event_pdi_id,
                    contact_id,
                    PP.canceled_invitation(contact_id, low.get("attended")),
                    mobilize_id=prev.mobilize_id if prev else None,
                    extra=extra,
                    row=row,
                )
            )


def row_contact_id(row: Mapping[str, Any]) -> str | None:
    low = lower_keys(row)
    value = low.get("contactid")
    if value in (None, "") and isinstance(low.get("contact"), Mapping):
        value = object_id(low["contact"])
    return None if value in (None, "") else str(value)


def invitation_id(row: Mapping[str, Any]) -> str:
    return str(object_id(row) or lower_keys(row).get("invitationid") or "")
