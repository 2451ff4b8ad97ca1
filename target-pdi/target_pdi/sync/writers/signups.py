"""Signups become invitations: one per contact and PDI event, the latest signup deciding, and a
person's invitations following them to the contact of their new email.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import (
    Outcome,
    PdiObject,
    contact_key,
    invitation_key,
    invitation_parts,
    is_timeslot_key,
    timeslot_key,
)
from target_pdi.stores.idmap import Entry
from target_pdi.sync.planning.events import canceled_reason, is_deleted, modified
from target_pdi.sync.planning.signups import PlannedSignup
from target_pdi.sync.work import RECORD_FAILURES, Shared
from target_pdi.sync.writers.invitations import InvitationWriter, invitation

EVENT, CONTACT, INVITATION, TOMBSTONE = (
    PdiObject.EVENT,
    PdiObject.CONTACT,
    PdiObject.INVITATION,
    PdiObject.TOMBSTONE,
)


@dataclass
class Signup:
    """One invitation to write: a signup (or a signup whose person's email changed)."""

    event_pdi_id: str
    contact_id: str
    live: dict[str, Any]  # the invitation while the event is live
    canceled: bool
    attendance_id: int | None
    person_id: int | None
    modified: int
    # What to dead-letter when it fails: the signup, or the person whose email changed.
    stream: str
    record_key: Any
    record: Mapping[str, Any]

    @property
    def key(self) -> str:
        return invitation_key(self.event_pdi_id, self.contact_id)


class SignupWriter:
    def __init__(self, shared: Shared, invitations: InvitationWriter) -> None:
        self.shared = shared
        self.idmap = shared.idmap
        self.summary = shared.summary
        self.invitations = invitations

    def write_all(self, signups: list[Signup]) -> None:
        """Concurrent per PDI event; one event's invitations in contact order."""
        groups: dict[str, list[Signup]] = defaultdict(list)
        for signup in signups:
            groups[signup.event_pdi_id].append(signup)
        self.shared.parallel(sorted(groups.items()), self._write_group)

    def _write_group(self, item: tuple[str, list[Signup]]) -> None:
        for signup in sorted(item[1], key=lambda s: s.contact_id):
            try:
                self.write(signup)
            except RECORD_FAILURES as exc:
                self.summary.count(INVITATION, Outcome.FAILED)
                reason = f"invitation failed: {exc}"
                self.shared.dead_letter(
                    signup.stream, signup.record_key, signup.record, reason, exc
                )

    def write(self, signup: Signup) -> None:
        if signup.attendance_id is not None:
            self._cancel_under_old_contacts(signup)
        entry = self.idmap.get(INVITATION, signup.key)
        if entry is not None and int(entry.extra.get("modified") or 0) > signup.modified:
            # Written from a newer signup: another of the same person on the same timeslot, or
            # a newer version of this one (an old dead letter retried): the newer one decides.
            self.summary.count(INVITATION, Outcome.UNCHANGED)
            return
        body = (
            PP.canceled_invitation(signup.contact_id, signup.live.get("attended"))
            if signup.canceled
            else signup.live
        )
        extra = {
            "attendance": signup.attendance_id,
            "person": signup.person_id,
            "modified": signup.modified,
            "live": signup.live,
        }
        self.invitations.upsert(
            invitation(
                signup.event_pdi_id,
                signup.contact_id,
                body,
                mobilize_id=signup.attendance_id,
                extra=extra,
            )
        )

    def _cancel_under_old_contacts(self, signup: Signup) -> None:
        """The same signup invited under another contact of this event (the person's email
        changed): one signup, one live invitation."""
        assert signup.attendance_id is not None
        for key, old in self.idmap.keys_for_mobilize_id(INVITATION, signup.attendance_id):
            event_pdi_id, contact_id = invitation_parts(key)
            if event_pdi_id != signup.event_pdi_id or key == signup.key:
                continue
            if old.extra.get("live") is None:
                continue
            attended = (old.extra.get("live") or {}).get("attended")
            self.invitations.upsert(
                invitation(
                    signup.event_pdi_id,
                    contact_id,
                    PP.canceled_invitation(contact_id, attended),
                    mobilize_id=old.mobilize_id,
                    extra={**old.extra, "live": None},
                )
            )
            self.summary.note("invitations moved to a person's new email")

    # --- which invitations --------------------------------------------------------------------

    def event_canceled(self, entry: Entry, event_id: int | None, ts_key: str) -> bool:
        return (
            canceled_reason(entry) is not None
            or is_deleted(self.idmap, event_id)
            or self.idmap.get(TOMBSTONE, ts_key) is not None
        )

    def from_planned(
        self, planned: list[PlannedSignup], failed_emails: Mapping[str, str]
    ) -> dict[str, Signup]:
        """The invitation of each planned signup whose contact and event are in PDI; the
        others are dead-lettered. Several signups of one person on one timeslot: latest wins."""
        work: dict[str, Signup] = {}
        for planned_signup in planned:
            item = self._signup(planned_signup, failed_emails)
            if item is None:
                continue
            prev = work.get(item.key)
            if prev is None or (item.modified, item.attendance_id or 0) >= (
                prev.modified,
                prev.attendance_id or 0,
            ):
                work[item.key] = item
        return work

    def _signup(self, signup: PlannedSignup, failed_emails: Mapping[str, str]) -> Signup | None:
        att, person = signup.attendance, signup.person
        email = PP.person_email(person) if person else None
        if email is None:
            self.summary.skip_record("attendances of people without email", signup.attendance_id)
            reason = PP.no_email_reason(person or {})
            self.shared.dead_letter("attendances", signup.attendance_id, att, reason)
            return None
        contact = self.idmap.get(CONTACT, contact_key(email))
        if contact is None:
            reason = failed_emails.get(email, "contact is not in PDI")
            self.summary.count(INVITATION, Outcome.FAILED)
            reason = f"contact for person {signup.person_id} failed: {reason}"
            self.shared.dead_letter("attendances", signup.attendance_id, att, reason)
            return None
        ts_key = timeslot_key(signup.timeslot_id)
        entry = self.idmap.get(EVENT, ts_key)
        if entry is None:
            # Not when this batch already did (its event failed, with its own reason).
            if not self.shared.deadletters.failed_in_batch("attendances", signup.attendance_id):
                self.summary.count(INVITATION, Outcome.FAILED)
                reason = f"event for timeslot {signup.timeslot_id} is not in PDI"
                self.shared.dead_letter("attendances", signup.attendance_id, att, reason)
            return None
        return Signup(
            event_pdi_id=entry.pdi_id,
            contact_id=contact.pdi_id,
            live=PP.invitation_payload(att, contact.pdi_id),
            canceled=self.event_canceled(entry, signup.event_id, ts_key),
            attendance_id=signup.attendance_id,
            person_id=signup.person_id,
            modified=modified(att)[0],
            stream="attendances",
            record_key=signup.attendance_id,
            record=att,
        )

    def of_moved_people(
        self, moved_people: Mapping[int, set[str]], people_seen: Mapping[int, Mapping[str, Any]]
    ) -> list[Signup]:
        """Invitations of people whose email changed, for their new contact (the old contact's
        invitation is canceled when the new one is written)."""
        if not moved_people:
            return []
        out: list[Signup] = []
        for key, inv in self.idmap.items(INVITATION):
            person_id = V.mobilize_id(inv.extra.get("person"))
            live = inv.extra.get("live")
            if person_id not in moved_people or not isinstance(live, Mapping):
                continue
            assert person_id is not None
            event_pdi_id, contact_id = invitation_parts(key)
            if contact_id not in moved_people[person_id]:
                continue
            person = people_seen.get(person_id)
            email = PP.person_email(person) if person else None
            contact = self.idmap.get(CONTACT, contact_key(email)) if email else None
            event = self._event_by_pdi_id(event_pdi_id)
            if contact is None or contact.pdi_id == contact_id or event is None:
                continue
            ts_key, entry = event
            out.append(
                Signup(
                    event_pdi_id=event_pdi_id,
                    contact_id=contact.pdi_id,
                    live={**live, "contactId": contact.pdi_id},
                    canceled=self.event_canceled(entry, entry.mobilize_id, ts_key),
                    attendance_id=inv.mobilize_id,
                    person_id=person_id,
                    modified=int(inv.extra.get("modified") or 0),
                    stream="people",
                    record_key=person_id,
                    record=person or {},
                )
            )
        return out

    def _event_by_pdi_id(self, pdi_id: str) -> tuple[str, Entry] | None:
        for key in self.idmap.keys_for_pdi_id(EVENT, pdi_id):
            if is_timeslot_key(key):
                entry = self.idmap.get(EVENT, key)
                assert entry is not None
                return key, entry
        return None
