"""--fix: what a reconcile found, mended through the sync's own writers.

Each mend first corrects what the id map believes (a content hash forgotten, so the writer
writes again; an entry whose PDI object is gone removed; the calendar an event is really in),
then cancels again, through the sync's canceller, what the sync canceled and a PDI user made
live again (the id map says it is done, so the engine alone would never look at it) and what no
id-map key names (a second live event of a timeslot), then runs the Mobilize records involved
through the sync's engine in one batch (a cancel of an event at a location PDI lost waits for
it: PDI refuses an event pointing to a location it does not have), and last gives a contact back
an email or a phone it lost. So creating, recovering, moving and canceling are the sync's, with
its idempotency: nothing already in PDI is made twice, and running --fix again writes nothing
new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from functools import reduce
from typing import Any

from target_pdi.operator_tools.reconcile.found import STALE_ID, Discrepancy, Mend
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData, Record
from target_pdi.rules import people_payloads as PP
from target_pdi.rules.vocabulary import PdiObject, invitation_parts
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.planning.events import MOVED, Batch
from target_pdi.sync.recovery import lower_keys, row_payload
from target_pdi.sync.runtime import Runtime
from target_pdi.sync.supersede import run_batch
from target_pdi.sync.work import RECORD_FAILURES, is_gone
from target_pdi.sync.writers.cancels import CANCEL_NOTES, canceled_payload
from target_pdi.sync.writers.invitations import invitation

LOGGER = logging.getLogger("target-pdi")
EVENT, INVITATION, LOCATION = PdiObject.EVENT, PdiObject.INVITATION, PdiObject.LOCATION

# A content hash no payload has: the writer finds the object changed and writes it again.
FORGOTTEN = "reconcile: written again"
CANCELED_AGAIN = "events canceled again (made live in PDI)"


def merged(found: Iterable[Discrepancy]) -> Mend:
    return reduce(Mend.__or__, (d.mend for d in found if d.mend is not None), Mend())


def correct_id_map(idmap: IdMap, mend: Mend) -> None:
    for object_type, key in mend.drop:
        idmap.drop(object_type, key)
    for object_type, key in mend.forget:
        entry = idmap.get(object_type, key)
        if entry is not None:
            idmap.put(
                object_type,
                key,
                entry.pdi_id,
                FORGOTTEN,
                mobilize_id=entry.mobilize_id,
                extra=entry.extra,
            )
    for key, calendar_id in mend.calendar:
        entry = idmap.get(PdiObject.EVENT, key)
        if entry is not None:
            extra = {**entry.extra, "calendar_id": calendar_id}
            idmap.put(
                PdiObject.EVENT,
                key,
                entry.pdi_id,
                entry.content_hash,
                mobilize_id=entry.mobilize_id,
                extra=extra,
            )
    for key in mend.tombstones:
        idmap.put(PdiObject.TOMBSTONE, key, "", None)


def mend_batch(mend: Mend, mobilize: MobilizeData) -> Batch:
    def records(source: Mapping[int, Record], ids: Iterable[int]) -> list[dict[str, Any]]:
        return [dict(source[i]) for i in ids if i in source]

    return Batch(
        events=records(mobilize.events, mend.events),
        deleted_events=records(mobilize.deleted_events, mend.deleted_events),
        people=records(mobilize.people, mend.people),
        attendances=records(mobilize.attendances, mend.attendances),
    )


class Fixer:
    """The writes a batch through the engine does not make, each through the sync's writer."""

    def __init__(
        self,
        runtime: Runtime,
        mobilize: MobilizeData,
        lost_locations: Mapping[str, str] | None = None,
    ) -> None:
        self.runtime = runtime
        self.mobilize = mobilize
        self.idmap = runtime.idmap
        engine = runtime.engine
        self.canceller = engine.canceller
        self.invitations = engine.canceller.invitations
        self.contacts = engine.people.contacts
        self.summary = engine.summary
        # PDI refuses an event that points to a location it does not have: the cancel of an
        # event at a location PDI lost (PDI id -> id-map key) waits until the engine has made
        # that location again, then points to the new one.
        self.lost_locations = dict(lost_locations or {})
        self.relocated: dict[str, str] = {}  # a lost location's PDI id -> its new one
        self.engine_ran = False
        self.waiting: list[tuple[Callable[[Any], None], Any]] = []

    def waits(self, payload: Mapping[str, Any], write: Callable[[Any], None], item: Any) -> bool:
        """Whether this event's cancel waits for its location to be made again."""
        location = str(lower_keys(payload).get("locationid") or "")
        if self.engine_ran or location not in self.lost_locations:
            return False
        self.waiting.append((write, item))
        return True

    def relocate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload pointing to its location's replacement, when the engine made one."""
        return {
            k: self.relocated.get(str(v), v) if str(k).lower() == "locationid" else v
            for k, v in payload.items()
        }

    def after_engine(self) -> None:
        """The cancels that waited for a lost location, pointing to its replacement."""
        self.engine_ran = True
        for old_id, key in self.lost_locations.items():
            entry = self.idmap.get(LOCATION, key)
            if entry is not None and entry.pdi_id != old_id:
                self.relocated[old_id] = entry.pdi_id
        waiting, self.waiting = self.waiting, []
        for write, item in waiting:
            self.each("cancel PDI event", [item], write)

    def each(self, what: str, items: Iterable[Any], write: Callable[[Any], None]) -> None:
        """One write per item; a refusal is one line and the others go on (reconciling again
        lists what is left). The line names the PDI object or id-map key, never an email or a
        phone number."""
        for item in items:
            try:
                write(item)
            except RECORD_FAILURES as exc:
                named = item[0] if isinstance(item, tuple) else item
                LOGGER.warning("--fix could not %s %s: %s", what, named, exc)

    def cancel(self, item: tuple[str, str]) -> None:
        """Cancel again an event the id map keeps canceled (or one to cancel now): its name,
        then every invitation PDI lists on it."""
        key, reason = item
        entry = self.idmap.get(EVENT, key)
        if entry is None:
            return
        payload = dict(entry.extra.get("payload") or {})
        if not payload:  # an entry of an older version: PDI's own event is what it holds
            payload = row_payload(self.runtime.client.get(f"/events/{entry.pdi_id}") or {})
        if self.waits(payload, self.cancel, item):
            return
        payload = self.relocate(payload)
        digest = self.canceller.cancel_pdi(
            entry.pdi_id, payload, entry.content_hash, keep_live=reason != MOVED
        )
        if entry.content_hash != digest:  # the event itself was written, not only invitations
            again = entry.extra.get("canceled") is not None
            self.summary.note(CANCELED_AGAIN if again else CANCEL_NOTES[reason])
        extra = {**entry.extra, "payload": canceled_payload(payload), "canceled": reason}
        self.idmap.put(EVENT, key, entry.pdi_id, digest, mobilize_id=entry.mobilize_id, extra=extra)

    def retire(self, item: tuple[str, int, str]) -> None:
        """A live PDI event no id-map key names: canceled, kept as a canceled event no
        timeslot maps to (as the sync's recovery does with those it finds)."""
        pdi_id, event_id, reason = item
        try:
            row = self.runtime.client.get(f"/events/{pdi_id}")
        except RECORD_FAILURES as exc:
            if is_gone(exc):
                return
            raise
        if not isinstance(row, Mapping) or self.waits(row, self.retire, item):
            return
        row = self.relocate(row)
        stream, source = "events", self.mobilize.events
        if event_id in self.mobilize.deleted_events:
            stream, source = "deleted_events", self.mobilize.deleted_events
        record = source.get(event_id) or {"id": event_id}
        self.canceller.retire_row(event_id, dict(row), reason, (stream, record))

    def superseded(self, key: str) -> None:
        """The invitation of an old email's contact, "Cancelled" again."""
        entry = self.idmap.get(INVITATION, key)
        if entry is None:
            return
        event_id, contact_id = invitation_parts(key)
        row = self.invitations.rows(event_id, refresh=True).get(contact_id)
        attended = lower_keys(row).get("attended") if row is not None else None
        body = PP.canceled_invitation(contact_id, attended)
        item = invitation(
            event_id, contact_id, body, mobilize_id=entry.mobilize_id, extra=entry.extra, row=row
        )
        self.invitations.upsert(item)

    def email(self, item: tuple[str, str]) -> None:
        self.contacts.ensure_email(*item)

    def phone(self, item: tuple[str, str]) -> None:
        self.contacts.ensure_phone(*item)


def lost_locations(idmap: IdMap, found: Iterable[Discrepancy]) -> dict[str, str]:
    """The locations PDI lost that the id map names: PDI id -> id-map key."""
    lost = {d.pdi_id for d in found if d.kind == STALE_ID.format("location")}
    return {entry.pdi_id: key for key, entry in idmap.items(LOCATION) if entry.pdi_id in lost}


def apply_fixes(runtime: Runtime, found: Iterable[Discrepancy], mobilize: MobilizeData) -> int:
    """Mend what can be mended; returns how many discrepancies were handed to the sync."""
    mendable = [d for d in found if d.mend is not None]
    if not mendable:
        return 0
    mend = merged(mendable)
    # The fix retries no dead letter: those of earlier runs stay in the store for the next sync.
    runtime.deadletters.keep_earlier()
    fixer = Fixer(runtime, mobilize, lost_locations(runtime.idmap, mendable))
    correct_id_map(runtime.idmap, mend)
    batch = mend_batch(mend, mobilize)
    try:
        # Canceled before the engine runs: an extra event canceled first is never adopted by
        # its recovery, and the engine finds done what it would cancel itself.
        fixer.each("cancel the PDI event of", mend.cancel, fixer.cancel)
        fixer.each("cancel PDI event", mend.retire, fixer.retire)
        fixer.each("cancel invitation", mend.superseded, fixer.superseded)
        if len(batch):
            # Its records settle their letters too: no later sync retries an older version.
            run_batch(runtime.engine, runtime.deadletters, batch)
        fixer.after_engine()
        fixer.each("add an email to contact", mend.emails, fixer.email)
        fixer.each("add a phone to contact", mend.phones, fixer.phone)
    finally:
        runtime.idmap.flush()
    runtime.deadletters.save()
    return len(mendable)
