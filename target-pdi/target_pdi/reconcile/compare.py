"""Mobilize against PDI: every discrepancy, each with how --fix mends it (or why it cannot).

What PDI should hold comes from the sync's own code: its plan (`plan.plan_events`: approved,
routed, not deleted; one PDI event per timeslot in the calendar its type routes to), its
payloads (times, invitation status) and its id map (which PDI object is whose). Nothing here
does I/O: the caller reads Mobilize (through the tap) and PDI (through the client) first.

A discrepancy another one explains is not listed twice: the invitations of a PDI event that is
gone, or of a contact that is gone, come back with it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from target_pdi import payloads as P
from target_pdi import plan as plans
from target_pdi.idmap import IdMap
from target_pdi.plan import EventJob
from target_pdi.reconcile.mobilize import MobilizeData
from target_pdi.reconcile.pdi_state import PdiState, Row
from target_pdi.recovery import lower_keys, row_is_canceled
from target_pdi.routing import CalendarRouter
from target_pdi.vocabulary import (
    PdiObject,
    contact_key,
    invitation_key,
    invitation_parts,
    is_timeslot_key,
    mobilize_event_key,
)
from target_pdi.writers.invitations import invitation_id

EVENT, CONTACT, INVITATION, LOCATION = (
    PdiObject.EVENT,
    PdiObject.CONTACT,
    PdiObject.INVITATION,
    PdiObject.LOCATION,
)

# The kinds, in the order a report lists them.
MISSING_EVENT = "timeslot without PDI event"
WRONG_CALENDAR = "event in wrong calendar"
WRONG_TIME = "event at wrong time"
MISSING_INVITATION = "signup without invitation"
WRONG_ATTENDED = "attended disagrees"
WRONG_RSVP = "rsvpStatus disagrees"
SHARED_EMAIL = "contacts share an email"
DELETED_LIVE = "deleted event live in PDI"
UNAPPROVED_LIVE = "unapproved event live in PDI"
STALE_ID = "id map points to missing {}"
KINDS = (
    MISSING_EVENT,
    WRONG_CALENDAR,
    WRONG_TIME,
    MISSING_INVITATION,
    WRONG_ATTENDED,
    WRONG_RSVP,
    SHARED_EMAIL,
    DELETED_LIVE,
    UNAPPROVED_LIVE,
    *(STALE_ID.format(kind) for kind in ("location", "event", "contact", "invitation")),
)

CANNOT = "cannot: "


@dataclass(frozen=True)
class Mend:
    """How --fix mends one discrepancy: id-map entries to correct, then records to run through
    the sync's engine (whose writers then write what PDI lacks). Keys are (object type, key)."""

    forget: tuple[tuple[str, str], ...] = ()  # content hash forgotten: the writer writes again
    drop: tuple[tuple[str, str], ...] = ()  # the entry removed: its PDI object is gone for good
    revive: tuple[str, ...] = ()  # event keys canceled in the map but live in PDI: cancel again
    calendar: tuple[tuple[str, str], ...] = ()  # event key, the calendar PDI really has it in
    tombstones: tuple[str, ...] = ()  # timeslot keys never to be made again
    events: tuple[int, ...] = ()
    deleted_events: tuple[int, ...] = ()
    people: tuple[int, ...] = ()
    attendances: tuple[int, ...] = ()


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    mobilize_key: str
    pdi_id: str
    expected: str
    found: str
    fix: str  # what --fix does, or "cannot: why"
    mend: Mend | None = None  # None: --fix cannot mend it

    def row(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "mobilize_key": self.mobilize_key,
            "pdi_id": self.pdi_id,
            "expected": self.expected,
            "found": self.found,
            "fix": self.fix,
        }


@dataclass
class Checked:
    """What was compared, for the report's last line."""

    timeslots: int = 0
    signups: int = 0
    contacts: int = 0
    dead_lettered: int = 0  # records the sync already keeps as dead letters: not compared


@dataclass
class Result:
    found: list[Discrepancy] = field(default_factory=list)
    checked: Checked = field(default_factory=Checked)


def when(value: Any) -> str:
    parsed = value if isinstance(value, datetime) else P.parse_pdi_datetime(value)
    return parsed.strftime("%Y-%m-%d %H:%M UTC") if parsed else "none"


def span(start: Any, end: Any) -> str:
    first, last = when(start), when(end)
    same_day = first[:10] == last[:10] and first != "none"
    return f"{first[:16]}-{last[11:16]} UTC" if same_day else f"{first} - {last}"


@dataclass
class LiveSlot:
    """A timeslot whose PDI event exists and is live: its signups can be checked."""

    job: EventJob
    pdi_id: str


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
        self.jobs: dict[str, EventJob] = {}  # timeslot key -> job, of every expected event
        # PDI contact id -> the signups to write again once it is made again.
        self.contact_signups: dict[str, list[tuple[int, int | None]]] = {}
        self.checked_invitations: set[str] = set()
        self._by_site: dict[str, list[tuple[str, Row]]] = {}
        for pdi_id, row in pdi.events.items():
            site = P.site_key(lower_keys(row).get("website"))
            if site is not None:
                self._by_site.setdefault(site, []).append((pdi_id, row))

    def run(self) -> Result:
        self.events()
        self.signups()
        self.shared_emails()
        self.deleted_and_unapproved()
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
            self.jobs[job.key] = job
            self.result.checked.timeslots += 1
            self.event(job)

    def event(self, job: EventJob) -> None:
        ts_id = P.mobilize_id(job.timeslot.get("id"))
        assert ts_id is not None
        assert job.event_id is not None
        key = f"timeslot:{ts_id}"
        want = P.event_payload(job.event, job.timeslot, "")
        calendar = self.calendar_name(job.calendar_id)
        expected = f"{calendar}, {span(want['startDateTimeUtc'], want['endDateTimeUtc'])}"
        rerun = Mend(events=(job.event_id,))
        entry = self.idmap.get(EVENT, job.key)
        if entry is None:
            pdi_id, row = self.recoverable(job)
            if row is None:
                self.add(MISSING_EVENT, key, "", expected, "none", "created by the sync", rerun)
                return
        else:
            pdi_id, row = entry.pdi_id, self.pdi.events.get(entry.pdi_id)
            if row is None:
                found = "gone from PDI (the id map names it)"
                mend = Mend(forget=((EVENT, job.key),), events=(job.event_id,))
                fix = "made again by the sync, with its invitations"
                self.add(MISSING_EVENT, key, pdi_id, expected, found, fix, mend)
                return
            if row_is_canceled(row) or plans.canceled_reason(entry) is not None:
                found = f"canceled: {lower_keys(row).get('name')}"
                mend = Mend(forget=((EVENT, job.key),), events=(job.event_id,))
                fix = "made live again by the sync"
                self.add(MISSING_EVENT, key, pdi_id, expected, found, fix, mend)
                return
        low = lower_keys(row)
        has_calendar = str(low.get("calendarid") or "")
        if has_calendar and has_calendar != job.calendar_id:
            fix = "moved by the sync: made in its calendar with its invitations, this one canceled"
            mend = Mend(calendar=((job.key, has_calendar),), events=(job.event_id,))
            found = self.calendar_name(has_calendar)
            self.add(WRONG_CALENDAR, key, pdi_id, calendar, found, fix, mend)
        starts = (
            P.parse_pdi_datetime(low.get("startdatetimeutc")),
            P.parse_pdi_datetime(want["startDateTimeUtc"]),
        )
        ends = (
            P.parse_pdi_datetime(low.get("enddatetimeutc")),
            P.parse_pdi_datetime(want["endDateTimeUtc"]),
        )
        if starts[0] != starts[1] or ends[0] != ends[1]:
            mend = Mend(forget=((EVENT, job.key),), events=(job.event_id,))
            found = span(low.get("startdatetimeutc"), low.get("enddatetimeutc"))
            want_span = span(want["startDateTimeUtc"], want["endDateTimeUtc"])
            self.add(WRONG_TIME, key, pdi_id, want_span, found, "rewritten by the sync", mend)
        self.live[ts_id] = LiveSlot(job, pdi_id)

    def recoverable(self, job: EventJob) -> tuple[str, Row | None]:
        """The live PDI event the sync's recovery would adopt for a timeslot the id map does
        not know (its website names the Mobilize event, same start)."""
        site = P.site_key(P.event_payload_website(job.event))
        start = job.start
        for pdi_id, row in self._by_site.get(site or "", []):
            row_start = P.parse_pdi_datetime(lower_keys(row).get("startdatetimeutc"))
            owned = self.idmap.owns(EVENT, pdi_id)
            if owned or row_is_canceled(row) or row_start is None or start is None:
                continue
            if int(row_start.timestamp()) == start:
                return pdi_id, row
        return "", None

    # --- signups -------------------------------------------------------------------------------

    def signups(self) -> None:
        latest: dict[
            tuple[int, str], tuple[tuple[int, int], int, int | None, Mapping[str, Any]]
        ] = {}
        for att_id, att in self.mobilize.attendances.items():
            timeslot = plans.as_map(att.get("timeslot"))
            ts_id = P.mobilize_id(att.get("timeslot_id") or timeslot.get("id"))
            if ts_id not in self.live:
                continue
            assert ts_id is not None
            person_id, person = plans.attendance_person(att, self.mobilize.people)
            email = P.person_email(person) if person else None
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
            self.signup(self.live[ts_id], email, att_id, person_id, att)

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
    ) -> None:
        key = f"attendance:{att_id}"
        people = (person_id,) if person_id in self.mobilize.people else ()
        assert person_id is None or isinstance(person_id, int)
        contact_id, gone = self.contact_for(email)
        if gone:
            assert contact_id is not None
            self.contact_signups.setdefault(contact_id, []).append((att_id, person_id))
            return  # listed once, as the contact the id map points to
        rerun = Mend(attendances=(att_id,), people=tuple(p for p in people if p is not None))
        if contact_id is None:
            want = P.invitation_payload(att, "")
            expected = f"{email}: {want['rsvpStatus']}"
            self.add(
                MISSING_INVITATION,
                key,
                slot.pdi_id,
                expected,
                "no PDI contact",
                "invited by the sync",
                rerun,
            )
            return
        inv_key = invitation_key(slot.pdi_id, contact_id)
        self.checked_invitations.add(inv_key)
        want = P.invitation_payload(att, contact_id)
        rows = self.pdi.invitations.get(slot.pdi_id, {}).get(contact_id, [])
        entry = self.idmap.get(INVITATION, inv_key)
        forget = ((INVITATION, inv_key),) if entry is not None else ()
        mend = Mend(forget=forget, attendances=rerun.attendances, people=rerun.people)
        if not rows:
            expected = f"{email}: {want['rsvpStatus']}"
            self.add(
                MISSING_INVITATION, key, slot.pdi_id, expected, "none", "invited by the sync", mend
            )
            return
        # PDI may hold two (a retry it accepted twice): the one the id map names decides.
        known = entry.pdi_id if entry is not None else None
        row = next((r for r in rows if invitation_id(r) == known), rows[0])
        low = lower_keys(row)
        inv_id = invitation_id(row)
        attended = low.get("attended") is True or str(low.get("attended")).lower() == "true"
        if attended != want["attended"]:
            self.add(
                WRONG_ATTENDED,
                key,
                inv_id,
                f"{email}: {str(want['attended']).lower()}",
                f"{str(attended).lower()}",
                "rewritten by the sync",
                mend,
            )
        status = str(low.get("rsvpstatus") or "")
        if status != want["rsvpStatus"]:
            self.add(
                WRONG_RSVP,
                key,
                inv_id,
                f"{email}: {want['rsvpStatus']}",
                status or "(empty)",
                "rewritten by the sync",
                mend,
            )

    # --- contacts ------------------------------------------------------------------------------

    def shared_emails(self) -> None:
        holders: dict[str, list[str]] = {}
        for contact_id, emails in self.pdi.contacts.items():
            for email in emails:
                holders.setdefault(email, []).append(contact_id)
        self.result.checked.contacts = len(self.pdi.contacts)
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

    # --- events Mobilize no longer wants live --------------------------------------------------

    def deleted_and_unapproved(self) -> None:
        for event_id in sorted(self.mobilize.deleted_events):
            self.not_live(
                event_id, DELETED_LIVE, "deleted in Mobilize", Mend(deleted_events=(event_id,))
            )
        for event_id, event in sorted(self.mobilize.events.items()):
            if event_id in self.mobilize.deleted_events:
                continue
            if plans.is_approved(event, self.approval_statuses):
                continue
            status = str(event.get("approval_status") or "").upper()
            self.not_live(
                event_id, UNAPPROVED_LIVE, f"{status} in Mobilize", Mend(events=(event_id,))
            )

    def not_live(self, event_id: int, kind: str, why: str, rerun: Mend) -> None:
        known = {
            entry.pdi_id: key for key, entry in self.idmap.keys_for_mobilize_id(EVENT, event_id)
        }
        named = {pdi_id for pdi_id, _ in self._by_site.get(mobilize_event_key(event_id), [])}
        for pdi_id in sorted(set(known) | named):
            row = self.pdi.events.get(pdi_id)
            if row is None or row_is_canceled(row):
                continue
            found = f"live: {lower_keys(row).get('name')}"
            expected = f"canceled ({why})"
            key = known.get(pdi_id)
            if key is not None:
                mend = Mend(revive=(key,), events=rerun.events, deleted_events=rerun.deleted_events)
                fix = "canceled again by the sync"
            elif not known:
                mend, fix = rerun, "canceled by the sync (found by its website)"
            else:
                mend = None
                fix = (
                    f"{CANNOT}the id map knows other PDI events of this event but not this "
                    "one: cancel it in PDI"
                )
            self.add(kind, f"event:{event_id}", pdi_id, expected, found, fix, mend)

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
            tombstones = (key,) if is_timeslot_key(key) and reason in plans.PERMANENT else ()
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


def compare(
    mobilize: MobilizeData,
    pdi: PdiState,
    idmap: IdMap,
    router: CalendarRouter,
    approval_statuses: Iterable[str],
    dead_letters: Collection[tuple[str, str]] = (),
) -> Result:
    return Comparison(mobilize, pdi, idmap, router, approval_statuses, dead_letters).run()
