"""Mobilize against PDI: every discrepancy, each with how --fix mends it (or why it cannot).

What PDI should hold comes from the sync's own code: its plan (`plan.plan_events`: approved,
routed, not deleted; one PDI event per timeslot in the calendar its type routes to), its
payloads (every field the sync writes of a location, an event, a contact and an invitation)
and its id map (which PDI object is whose). What the sync would cancel, and live PDI objects
beyond the one the sync keeps for each record, are in `canceled.py`. Nothing here does I/O:
the caller reads Mobilize (through the tap) and PDI (through the client) first.

A discrepancy another one explains is not listed twice: the invitations of a PDI event that is
gone, or of a contact that is gone, come back with it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.operator_tools.reconcile import canceled
from target_pdi.operator_tools.reconcile.found import (
    CANNOT,
    CONTACT_EMAIL,
    CONTACT_NAMES,
    CONTACT_PHONE,
    DELETED_LIVE,
    EVENT_FIELDS,
    EXTRA_EVENT,
    EXTRA_INVITATION,
    INVITATION_LIVE,
    KINDS,
    LOCATION_FIELDS,
    MISSING_EVENT,
    MISSING_INVITATION,
    MOVED_LIVE,
    REMOVED_LIVE,
    SHARED_EMAIL,
    STALE_ID,
    SUPERSEDED_LIVE,
    UNAPPROVED_LIVE,
    WRONG_ATTENDED,
    WRONG_CALENDAR,
    WRONG_CONFIRMED,
    WRONG_RSVP,
    WRONG_TIME,
    Checked,
    Discrepancy,
    Mend,
    Result,
    differing,
    fields_text,
    span,
    when,
)
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData
from target_pdi.operator_tools.reconcile.pdi_state import PdiState, Row
from target_pdi.rules import payloads as P
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import (
    PdiObject,
    contact_key,
    invitation_key,
    invitation_parts,
    mobilize_event_key,
)
from target_pdi.stores.idmap import IdMap
from target_pdi.sync import plan as plans
from target_pdi.sync.plan import PERMANENT, EventJob
from target_pdi.sync.recovery import lower_keys, row_is_canceled
from target_pdi.sync.writers.invitations import invitation_id

EVENT, CONTACT, INVITATION, LOCATION = (
    PdiObject.EVENT,
    PdiObject.CONTACT,
    PdiObject.INVITATION,
    PdiObject.LOCATION,
)
TIMES = ("startDateTimeUtc", "endDateTimeUtc")
# A payload that cannot be computed (a timeslot without a start, an impossible date) is one
# the sync dead-letters: there is nothing to compare it with.
UNWRITABLE = (ValueError, OverflowError, OSError)

__all__ = [
    "CANNOT",
    "CONTACT_EMAIL",
    "CONTACT_NAMES",
    "CONTACT_PHONE",
    "DELETED_LIVE",
    "EVENT_FIELDS",
    "EXTRA_EVENT",
    "EXTRA_INVITATION",
    "INVITATION_LIVE",
    "KINDS",
    "LOCATION_FIELDS",
    "MISSING_EVENT",
    "MISSING_INVITATION",
    "MOVED_LIVE",
    "REMOVED_LIVE",
    "SHARED_EMAIL",
    "STALE_ID",
    "SUPERSEDED_LIVE",
    "UNAPPROVED_LIVE",
    "WRONG_ATTENDED",
    "WRONG_CALENDAR",
    "WRONG_CONFIRMED",
    "WRONG_RSVP",
    "WRONG_TIME",
    "Checked",
    "Comparison",
    "Discrepancy",
    "Mend",
    "Result",
    "compare",
    "span",
    "when",
]


def recovery_identities(payload: Mapping[str, Any], event_id: int | None) -> tuple[str, ...]:
    """What the sync's recovery finds the PDI event of this payload by, in its order
    (`recovery.PdiEvents.claim_made`): the payload's identity, the Mobilize event a website
    names, its name and end. So an event Mobilize left without a page is found too."""
    found = (
        P.event_identity(payload),
        mobilize_event_key(event_id) if event_id is not None else None,
        P.unsited_identity(payload),
    )
    return tuple(dict.fromkeys(i for i in found if i is not None))


@dataclass
class LiveSlot:
    """A timeslot whose PDI event exists and is live: its signups can be checked."""

    job: EventJob
    pdi_id: str


@dataclass
class MissingSlot:
    """A timeslot whose PDI event the sync must make (again): listed once its signups are
    known, since --fix brings them with it."""

    job: EventJob
    pdi_id: str
    expected: str
    found: str
    fix: str
    mend: Mend
    signups: list[tuple[int, int | None]] = field(default_factory=list)


class Comparison:
    def __init__(
        self,
        mobilize: MobilizeData,
        pdi: PdiState,
        idmap: IdMap,
        router: CalendarRouter,
        approval_statuses: Iterable[str],
        dead_letters: Collection[tuple[str, str]] = (),
    ) -> None:
        self.mobilize = mobilize
        self.pdi = pdi
        self.idmap = idmap
        self.router = router
        self.approval_statuses = {str(s).strip().upper() for s in approval_statuses}
        self.dead_letters = set(dead_letters)
        self.result = Result()
        self.live: dict[int, LiveSlot] = {}  # timeslot id -> its live PDI event
        self.missing: dict[int, MissingSlot] = {}  # timeslot id -> the event to make
        self.jobs: dict[str, EventJob] = {}  # timeslot key -> job, of every expected event
        # PDI events the sync keeps for a timeslot (or would adopt for one).
        self.claimed: set[str] = set()
        # PDI contact id -> the signups to write again once it is made again.
        self.contact_signups: dict[str, list[tuple[int, int | None]]] = {}
        self.checked_invitations: set[str] = set()
        # Timeslot key -> what the sync's recovery finds its PDI event by.
        self.identities: dict[str, tuple[str, ...]] = {}
        # PDI events by identity: the Mobilize event their website names, or without a website
        # their name and end (`payloads.event_identity`).
        self.by_identity: dict[str, list[tuple[str, Row]]] = {}
        for pdi_id, row in pdi.events.items():
            identity = P.event_identity(row)
            if identity is not None:
                self.by_identity.setdefault(identity, []).append((pdi_id, row))

    def run(self) -> Result:
        self.events()
        self.signups()
        self.missing_events()
        self.locations()
        self.contacts()
        self.shared_emails()
        canceled.check(self)
        self.stale_ids()
        order = {kind: n for n, kind in enumerate(KINDS)}
        self.result.found.sort(key=lambda d: (order.get(d.kind, len(order)), d.mobilize_key))
        return self.result

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.result.found.append(Discrepancy(*args, **kwargs))

    def calendar_name(self, calendar_id: Any) -> str:
        text = str(calendar_id or "")
        return self.pdi.calendars.get(text, text or "none")

    # --- events --------------------------------------------------------------------------------

    def events(self) -> None:
        live = {
            k: v for k, v in self.mobilize.events.items() if k not in self.mobilize.deleted_events
        }
        plan = plans.plan_events(live, self.idmap, self.router, self.approval_statuses)
        for job in plan.jobs:
            if plans.canceled_reason(self.idmap.get(EVENT, job.key)) in PERMANENT:
                continue  # canceled for good, whatever Mobilize lists: checked as canceled
            try:
                want = P.event_payload(job.event, job.timeslot, self.location_id(job.event))
            except UNWRITABLE:
                continue  # the sync dead-letters it
            self.jobs[job.key] = job
            self.identities[job.key] = recovery_identities(want, job.event_id)
            self.result.checked.timeslots += 1
            self.event(job, want)

    def location_id(self, event: Mapping[str, Any]) -> str:
        """The PDI location the sync points this event at ("" when it has none in PDI yet)."""
        entry = self.idmap.get(LOCATION, P.location_key(event))
        return entry.pdi_id if entry is not None and entry.pdi_id in self.pdi.locations else ""

    def event(self, job: EventJob, want: dict[str, Any]) -> None:
        ts_id = V.mobilize_id(job.timeslot.get("id"))
        assert ts_id is not None
        assert job.event_id is not None
        calendar = self.calendar_name(job.calendar_id)
        expected = f"{calendar}, {span(want['startDateTimeUtc'], want['endDateTimeUtc'])}"
        entry = self.idmap.get(EVENT, job.key)
        rerun = Mend(events=(job.event_id,))
        if entry is None:
            pdi_id, row = self.recoverable(job)
            if row is None:
                self.missing[ts_id] = MissingSlot(
                    job, "", expected, "none", "created by the sync", rerun
                )
                return
        else:
            pdi_id, row = entry.pdi_id, self.pdi.events.get(entry.pdi_id)
            rerun = Mend(forget=((EVENT, job.key),)) | rerun
            if row is None:
                found, fix = "gone from PDI (the id map names it)", "made again by the sync"
                self.missing[ts_id] = MissingSlot(job, pdi_id, expected, found, fix, rerun)
                return
            if row_is_canceled(row) or plans.canceled_reason(entry) is not None:
                found = f"canceled: {lower_keys(row).get('name')}"
                fix = "made live again by the sync"
                self.claimed.add(pdi_id)
                self.missing[ts_id] = MissingSlot(job, pdi_id, expected, found, fix, rerun)
                return
        self.claimed.add(pdi_id)
        self.live[ts_id] = LiveSlot(job, pdi_id)
        key = f"timeslot:{ts_id}"
        low = lower_keys(row)
        has_calendar = str(low.get("calendarid") or "")
        if has_calendar and has_calendar != job.calendar_id:
            # The move makes it anew with every field: nothing else of it to list.
            fix = "moved by the sync: made in its calendar with its invitations, this one canceled"
            mend = Mend(calendar=((job.key, has_calendar),), events=(job.event_id,))
            found = self.calendar_name(has_calendar)
            self.add(WRONG_CALENDAR, key, pdi_id, calendar, found, fix, mend)
            return
        if differing(row, want, TIMES):
            found = span(low.get("startdatetimeutc"), low.get("enddatetimeutc"))
            want_span = span(want["startDateTimeUtc"], want["endDateTimeUtc"])
            self.add(WRONG_TIME, key, pdi_id, want_span, found, "rewritten by the sync", rerun)
        names = [n for n in want if n not in TIMES and (n != "locationId" or want[n])]
        wrong = differing(row, want, names)
        if wrong:
            self.add(
                EVENT_FIELDS,
                key,
                pdi_id,
                fields_text(wrong, want),
                fields_text(wrong, row),
                "rewritten by the sync",
                rerun,
            )

    def recoverable(self, job: EventJob) -> tuple[str, Row | None]:
        """The live PDI event the sync's recovery would adopt for a timeslot the id map does
        not know (found as `recovery_identities` says, same start): the first PDI lists."""
        start = job.start
        for identity in self.identities[job.key]:
            for pdi_id, row in self.by_identity.get(identity, []):
                row_start = V.parse_pdi_datetime(lower_keys(row).get("startdatetimeutc"))
                owned = self.idmap.owns(EVENT, pdi_id) or pdi_id in self.claimed
                if owned or row_is_canceled(row) or row_start is None or start is None:
                    continue
                if int(row_start.timestamp()) == start:
                    return pdi_id, row
        return "", None

    def missing_events(self) -> None:
        """Each timeslot whose event the sync makes (again), with its signups: --fix runs them
        through the sync with the event, so its invitations are made with it, on whichever
        contacts the sync then has."""
        for ts_id, slot in sorted(self.missing.items()):
            attendances = tuple(sorted({a for a, _ in slot.signups}))
            people = tuple(sorted({p for _, p in slot.signups if p in self.mobilize.people}))
            mend = slot.mend | Mend(attendances=attendances, people=people)
            fix = slot.fix + (f", with {len(attendances)} invitation(s)" if attendances else "")
            key = f"timeslot:{ts_id}"
            self.add(MISSING_EVENT, key, slot.pdi_id, slot.expected, slot.found, fix, mend)

    # --- locations -----------------------------------------------------------------------------

    def locations(self) -> None:
        """Every location the expected events use, as the most recently modified of them has
        it (as the sync writes it)."""
        users: dict[str, list[EventJob]] = {}
        for job in self.jobs.values():
            users.setdefault(P.location_key(job.event), []).append(job)
        for key, jobs in sorted(users.items()):
            entry = self.idmap.get(LOCATION, key)
            row = self.pdi.locations.get(entry.pdi_id) if entry is not None else None
            if entry is None or row is None:
                continue  # made with its events, or listed as missing
            self.result.checked.locations += 1
            latest = max(jobs, key=lambda j: plans.modified(j.event))
            want = P.location_payload(latest.event)
            wrong = differing(row, want, want)
            if wrong:
                events = tuple(sorted({j.event_id for j in jobs if j.event_id is not None}))
                mend = Mend(forget=((LOCATION, key),), events=events)
                self.add(
                    LOCATION_FIELDS,
                    key,
                    entry.pdi_id,
                    fields_text(wrong, want),
                    fields_text(wrong, row),
                    "rewritten by the sync",
                    mend,
                )

    # --- signups -------------------------------------------------------------------------------

    def signups(self) -> None:
        latest: dict[
            tuple[int, str], tuple[tuple[int, int], int, int | None, Mapping[str, Any]]
        ] = {}
        for att_id, att in self.mobilize.attendances.items():
            timeslot = plans.as_map(att.get("timeslot"))
            ts_id = V.mobilize_id(att.get("timeslot_id") or timeslot.get("id"))
            if ts_id not in self.live and ts_id not in self.missing:
                continue
            assert ts_id is not None
            person_id, person = plans.attendance_person(att, self.mobilize.people)
            email = PP.person_email(person) if person else None
            if email is None:
                continue  # the sync dead-letters it: PDI matches contacts by email only
            if ("attendances", str(att_id)) in self.dead_letters or (
                "people",
                str(person_id),
            ) in self.dead_letters:
                self.result.checked.dead_lettered += 1
                continue
            order = (plans.modified(att)[0], att_id)
            if (ts_id, email) not in latest or order >= latest[(ts_id, email)][0]:
                latest[(ts_id, email)] = (order, att_id, person_id, att)
        for (ts_id, email), (_, att_id, person_id, att) in sorted(latest.items()):
            self.result.checked.signups += 1
            contact_id, gone = self.contact_for(email)
            if gone:
                assert contact_id is not None
                self.contact_signups.setdefault(contact_id, []).append((att_id, person_id))
            if ts_id in self.missing:
                self.missing[ts_id].signups.append((att_id, person_id))
            elif not gone:
                self.signup(self.live[ts_id], email, att_id, person_id, att, contact_id)

    def contact_for(self, email: str) -> tuple[str | None, bool]:
        """(the PDI contact the sync writes this email's invitations to, whether it is gone)."""
        entry = self.idmap.get(CONTACT, contact_key(email))
        if entry is not None:
            return entry.pdi_id, entry.pdi_id not in self.pdi.contacts
        holders = self.pdi.contacts_of(email)
        return (holders[0] if holders else None), False

    def signup(
        self,
        slot: LiveSlot,
        email: str,
        att_id: int,
        person_id: int | None,
        att: Mapping[str, Any],
        contact_id: str | None,
    ) -> None:
        key = f"attendance:{att_id}"
        people = (person_id,) if person_id in self.mobilize.people else ()
        assert person_id is None or isinstance(person_id, int)
        rerun = Mend(attendances=(att_id,), people=tuple(p for p in people if p is not None))
        if contact_id is None:
            want = PP.invitation_payload(att, "")
            expected = f"{email}: {want['rsvpStatus']}"
            found, fix = "no PDI contact", "invited by the sync"
            self.add(MISSING_INVITATION, key, slot.pdi_id, expected, found, fix, rerun)
            return
        inv_key = invitation_key(slot.pdi_id, contact_id)
        self.checked_invitations.add(inv_key)
        want = PP.invitation_payload(att, contact_id)
        rows = self.pdi.invitations.get(slot.pdi_id, {}).get(contact_id, [])
        entry = self.idmap.get(INVITATION, inv_key)
        known = entry.pdi_id if entry is not None else None
        row = next((r for r in rows if invitation_id(r) == known), rows[0] if rows else None)
        if entry is not None and row is not None and invitation_id(row) != known:
            # The id map names an invitation PDI lost, but PDI lists another one of this
            # contact: forgotten, so that the sync finds that one instead of inviting again.
            mend = Mend(drop=((INVITATION, inv_key),)) | rerun
        elif entry is not None:
            mend = Mend(forget=((INVITATION, inv_key),)) | rerun
        else:
            mend = rerun
        if row is None:
            expected = f"{email}: {want['rsvpStatus']}"
            fix = "invited by the sync"
            self.add(MISSING_INVITATION, key, slot.pdi_id, expected, "none", fix, mend)
            return
        inv_id = invitation_id(row)
        for other in rows:
            if other is not row:
                fix = (
                    f"{CANNOT}PDI's API deletes no invitation: delete this one in PDI; the "
                    f"sync writes to {inv_id}"
                )
                found = f"{len(rows)} invitations of its contact"
                self.add(EXTRA_INVITATION, key, invitation_id(other), f"{email}: one", found, fix)
        self.compare_invitation(key, inv_id, email, lower_keys(row), want, mend)

    def compare_invitation(
        self,
        key: str,
        inv_id: str,
        email: str,
        low: Mapping[str, Any],
        want: Mapping[str, Any],
        mend: Mend,
    ) -> None:
        fix = "rewritten by the sync"
        for kind, name in (
            (WRONG_ATTENDED, "attended"),
            (WRONG_RSVP, "rsvpStatus"),
            (WRONG_CONFIRMED, "isConfirmed"),
        ):
            if V.same_content(low, {name: want[name]}):
                continue
            value = low.get(name.lower())
            shown = str(value).lower() if isinstance(value, bool) else str(value or "(empty)")
            wanted = want[name]
            wanted_text = str(wanted).lower() if isinstance(wanted, bool) else str(wanted)
            self.add(kind, key, inv_id, f"{email}: {wanted_text}", shown, fix, mend)

    # --- contacts ------------------------------------------------------------------------------

    def contacts(self) -> None:
        """Each contact the sync keeps for an email: it holds that email, the names of the most
        recently modified person with it (the sync's payload), and that person's phone."""
        self.result.checked.contacts = len(self.pdi.contacts)
        people: dict[str, tuple[int, Mapping[str, Any]]] = {}
        for person_id, person in self.mobilize.people.items():
            email = PP.person_email(person)
            if email is None or ("people", str(person_id)) in self.dead_letters:
                continue
            if email not in people or plans.modified(person) >= plans.modified(people[email][1]):
                people[email] = (person_id, person)
        for email, (person_id, person) in sorted(people.items()):
            key = contact_key(email)
            entry = self.idmap.get(CONTACT, key)
            if entry is None or entry.pdi_id not in self.pdi.contacts:
                continue  # not synced (no signup written), or listed as missing
            self.contact(key, entry.pdi_id, email, person_id, person)

    def contact(
        self, key: str, contact_id: str, email: str, person_id: int, person: Mapping[str, Any]
    ) -> None:
        row = self.pdi.contact_rows.get(contact_id, {})
        held = self.pdi.contacts[contact_id]
        if email not in held:
            found = f"{len(held)} other email(s)" if held else "no email"
            fix = "added by the sync (its other emails kept)"
            mend = Mend(emails=((contact_id, email),))
            self.add(CONTACT_EMAIL, key, contact_id, "its email", found, fix, mend)
        names = PP.contact_payload(person)
        wrong = differing(row, names, ("firstName", "lastName"))
        if wrong:
            # Names are personal data: the report says which differ, never what they are.
            found = ", ".join(wrong) + " changed in PDI"
            mend = Mend(forget=((CONTACT, key),), people=(person_id,))
            fix = "renamed by the sync"
            self.add(CONTACT_NAMES, key, contact_id, "as in Mobilize", found, fix, mend)
        phone = PP.person_phone(person)
        phones = lower_keys(row).get("phones")
        if phone and isinstance(phones, list):
            held_phones = {digits(lower_keys(p).get("phonenumber")) for p in phones if p}
            if digits(phone) not in held_phones:
                found = f"{len(held_phones)} other phone(s)" if held_phones else "no phone"
                mend = Mend(phones=((contact_id, phone),))
                fix = "added by the sync (its other phones kept)"
                self.add(CONTACT_PHONE, key, contact_id, "the person's phone", found, fix, mend)

    def shared_emails(self) -> None:
        holders: dict[str, list[str]] = {}
        for contact_id, emails in self.pdi.contacts.items():
            for email in emails:
                holders.setdefault(email, []).append(contact_id)
        for email, ids in sorted(holders.items()):
            if len(ids) < 2:
                continue
            entry = self.idmap.get(CONTACT, contact_key(email))
            synced = f"; the sync writes to {entry.pdi_id}" if entry is not None else ""
            fix = (
                f"{CANNOT}PDI's API merges no contacts and deleting one would lose what PDI "
                f"users added to it: merge them in PDI{synced}"
            )
            found = f"{len(ids)} contacts"
            self.add(
                SHARED_EMAIL, contact_key(email), " ".join(sorted(ids)), "one contact", found, fix
            )

    # --- id map entries whose PDI object is gone -----------------------------------------------

    def stale_ids(self) -> None:
        for key, entry in self.idmap.items(LOCATION):
            if entry.pdi_id in self.pdi.locations:
                continue
            users = sorted(
                {
                    j.event_id
                    for j in self.jobs.values()
                    if j.event_id is not None and P.location_key(j.event) == key
                }
            )
            if users:
                mend = Mend(forget=((LOCATION, key),), events=tuple(users))
                fix = "made again by the sync; its events point to it"
            else:
                mend, fix = Mend(drop=((LOCATION, key),)), "forgotten (no event uses it)"
            self.add(
                STALE_ID.format("location"), key, entry.pdi_id, "a PDI location", "none", fix, mend
            )
        self.stale_contacts()
        self.stale_events()
        self.stale_invitations()

    def stale_contacts(self) -> None:
        for key, entry in self.idmap.items(CONTACT):
            if entry.pdi_id in self.pdi.contacts:
                continue
            invitations = tuple(
                (INVITATION, k)
                for k, _ in self.idmap.items(INVITATION)
                if invitation_parts(k)[1] == entry.pdi_id
            )
            signups = self.contact_signups.get(entry.pdi_id, [])
            people = {p for _, p in signups if p in self.mobilize.people}
            person = entry.mobilize_id
            if person in self.mobilize.people:
                people.add(person)
            if people or signups:
                mend = Mend(
                    forget=((CONTACT, key),),
                    drop=invitations,
                    people=tuple(sorted(p for p in people if p is not None)),
                    attendances=tuple(sorted(a for a, _ in signups)),
                )
                fix = f"made again by the sync, with {len(signups)} invitation(s)"
            else:
                mend = Mend(drop=((CONTACT, key), *invitations))
                fix = "forgotten (no Mobilize person has this email now)"
            self.add(
                STALE_ID.format("contact"), key, entry.pdi_id, "a PDI contact", "none", fix, mend
            )

    def stale_events(self) -> None:
        for key, entry in self.idmap.items(EVENT):
            if key in self.jobs or entry.pdi_id in self.pdi.events:
                continue
            reason = plans.canceled_reason(entry)
            tombstones = (key,) if key.startswith("ts:") and reason in PERMANENT else ()
            mend = Mend(drop=((EVENT, key),), tombstones=tombstones)
            what = f"a PDI event ({'canceled: ' + reason if reason else 'live'})"
            self.add(STALE_ID.format("event"), key, entry.pdi_id, what, "none", "forgotten", mend)

    def stale_invitations(self) -> None:
        for key, entry in self.idmap.items(INVITATION):
            event_id, contact_id = invitation_parts(key)
            if key in self.checked_invitations or event_id not in self.pdi.events:
                continue  # checked as a signup, or its event is listed (or gone: listed there)
            if contact_id not in self.pdi.contacts:
                continue  # its contact is listed
            if entry.pdi_id in self.pdi.invitation_ids(event_id):
                continue
            mend = Mend(drop=((INVITATION, key),))
            self.add(
                STALE_ID.format("invitation"),
                key,
                entry.pdi_id,
                "a PDI invitation",
                "none",
                "forgotten",
                mend,
            )


def digits(number: Any) -> str:
    """A phone number as the sync matches it: its digits only."""
    return "".join(ch for ch in str(number or "") if ch.isdigit())


def compare(
    mobilize: MobilizeData,
    pdi: PdiState,
    idmap: IdMap,
    router: CalendarRouter,
    approval_statuses: Iterable[str],
    dead_letters: Collection[tuple[str, str]] = (),
) -> Result:
    return Comparison(mobilize, pdi, idmap, router, approval_statuses, dead_letters).run()
