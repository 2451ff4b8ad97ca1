"""What PDI should hold after each sync, computed from the Mobilize data alone.

Written independently of target-pdi's code, from the rules in the issues, as a small model of
PDI that is moved forward sync by sync (some rules depend on history: an event canceled stays
canceled, an event moved to another calendar leaves a canceled copy behind):

- one Event per timeslot of an approved event, in the calendar its type routes to; an event
  deleted in Mobilize, a timeslot removed, an event no longer approved: "[Canceled] " and every
  invitation "Cancelled"; an event approved again comes back with its invitations;
- an event whose calendar changes: a new event in the new calendar with its invitations, the
  old one canceled;
- Contacts by email, one per email that ever had an invitation;
- one Invitation per contact and event, from the latest signup; a signup whose person's email
  changed: the old contact's invitation "Cancelled", the new contact's live.

And where Mobilize's data is bad (docs/reliability.md, "Bad input"):

- an email address that is not one (no "@", a space, no dotted domain) counts as none; PDI
  refuses a contact without a first and a last name: neither gets a contact or an invitation;
- a timeslot with a null id (masked) is no PDI event; one ending before it starts ends at its
  start;
- a signup of an event Mobilize never listed (nor deleted) brings its event from the signup's
  own copy; a timeslot its listed event does not list was removed: no event.

`compare(model, pdi_state)` compares the whole PDI state with the model, never a sample.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CANCELED = "[Canceled] "
PERMANENT = {"deleted", "removed", "moved"}

Route = Callable[[str], str | None]
Triple = tuple[str, bool, bool]  # (rsvpStatus, isConfirmed, attended)
EventKey = tuple[str, str, str, str, str]  # (calendar, name, start, end, website)


def pdi_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# One "@", no white space, a dotted domain with no empty label.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def email_of(person: dict[str, Any] | None) -> str | None:
    for row in (person or {}).get("email_addresses") or []:
        address = str(row.get("address") or "").strip().lower()
        if EMAIL.fullmatch(address):
            return address
    return None


def named(person: dict[str, Any]) -> bool:
    return all(str(person.get(k) or "").strip() for k in ("given_name", "family_name"))


def rsvp(status: str, attended: bool | None) -> Triple:
    """(rsvpStatus, isConfirmed, attended) for a Mobilize signup."""
    if status == "CANCELLED":
        return "Cancelled", False, attended is True
    if attended is True:
        return "Completed", status == "CONFIRMED", True
    if attended is False:
        return "No-Show", status == "CONFIRMED", False
    return "Yes", status == "CONFIRMED", False


def router(table: dict[str, str], default: str | None) -> Route:
    return lambda event_type: table.get(event_type, default)


@dataclass
class Invitation:
    live: Triple
    attendance: int
    modified: tuple[int, int]
    superseded: bool = False  # the signup's person now has another email


@dataclass
class ModelEvent:
    calendar: str
    title: str
    start: int
    end: int
    website: str
    canceled: str | None = None
    invitations: dict[str, Invitation] = field(default_factory=dict)  # by email

    @property
    def key(self) -> EventKey:
        name = CANCELED + self.title if self.canceled else self.title
        return (self.calendar, name, pdi_time(self.start), pdi_time(self.end), self.website)

    def shown(self, invitation: Invitation) -> Triple:
        if self.canceled or invitation.superseded:
            return "Cancelled", False, invitation.live[2]
        return invitation.live


@dataclass
class PdiModel:
    route: Route
    approved: tuple[str, ...] = ("APPROVED",)
    events: dict[int, ModelEvent] = field(default_factory=dict)  # by Mobilize timeslot id
    retired: list[ModelEvent] = field(default_factory=list)  # canceled copies left behind
    emails: set[str] = field(default_factory=set)
    # What earlier syncs saw: a timeslot's event (deleted events are no longer listed), and
    # the email each signup was under.
    timeslot_events: dict[int, int] = field(default_factory=dict)
    attendance_emails: dict[int, str] = field(default_factory=dict)

    def sync(self, dataset: dict[str, Any], *, recreated: Iterable[int] = ()) -> None:
        """Apply one sync of Mobilize's current data. `recreated`: timeslots whose PDI event is
        expected to be canceled and made anew (moved while the id map was lost)."""
        deleted = {d["id"] for d in dataset.get("deleted_events", [])}
        listed: dict[int, int] = {}  # timeslot -> event, for events Mobilize lists
        for ts_id in recreated:
            old = self.events.pop(ts_id)
            if not old.canceled:
                old.canceled = "removed"
            self.retired.append(old)
        for event in dataset["events"]:
            for slot in event.get("timeslots") or []:
                if slot.get("id") is None:
                    continue
                listed[slot["id"]] = event["id"]
                self.timeslot_events[slot["id"]] = event["id"]
        events = {e["id"] for e in dataset["events"]}
        for ts_id, model in self.events.items():
            if model.canceled in PERMANENT:
                continue
            if self.timeslot_events.get(ts_id) in deleted:
                model.canceled = "deleted"
            elif ts_id not in listed and self.timeslot_events.get(ts_id) in events:
                # (An event known only from a signup is never listed: nothing says it changed.)
                model.canceled = "removed"
        for event in dataset["events"]:
            self._sync_event(event, deleted)
        self._sync_signups(dataset, events | deleted)

    def _sync_event(self, event: dict[str, Any], deleted: set[int]) -> None:
        if event["id"] in deleted:
            return
        slots = event.get("timeslots") or []
        if event.get("approval_status") not in self.approved:
            for slot in slots:
                model = self.events.get(slot["id"])
                if model is not None and not model.canceled:
                    model.canceled = "unapproved"
            return
        calendar = self.route(event["event_type"])
        if calendar is None:
            return
        for slot in slots:
            if slot.get("id") is None:
                continue
            model = self.events.get(slot["id"])
            if model is None:
                model = self.events[slot["id"]] = ModelEvent(
                    calendar, event["title"], slot["start_date"], slot["end_date"], ""
                )
            if model.canceled in PERMANENT:
                continue
            model.canceled = None
            if model.calendar != calendar:
                old = copy.deepcopy(model)
                old.canceled = "moved"
                self.retired.append(old)
                model.calendar = calendar
            model.title = event["title"]
            model.start, model.end = slot["start_date"], max(slot["start_date"], slot["end_date"])
            model.website = event.get("browser_url") or ""  # none: PDI holds ""

    def _first_seen_in_signup(self, att: dict[str, Any], known: set[int]) -> ModelEvent | None:
        """The PDI event of a signup whose event Mobilize never listed nor deleted (`known`):
        made from the signup's own copy, if approved and routed."""
        event, slot = att.get("event") or {}, att["timeslot"]
        if event.get("id") in known or slot["id"] in self.timeslot_events:
            return None
        if event.get("approval_status") not in self.approved:
            return None
        calendar = self.route(event.get("event_type") or "")
        if calendar is None:
            return None
        self.timeslot_events[slot["id"]] = event["id"]
        self.events[slot["id"]] = ModelEvent(
            calendar,
            event["title"],
            slot["start_date"],
            max(slot["start_date"], slot["end_date"]),
            event.get("browser_url") or "",
        )
        return self.events[slot["id"]]

    def _sync_signups(self, dataset: dict[str, Any], known: set[int]) -> None:
        people = {p["id"]: p for p in dataset["people"]}
        for att in dataset["attendances"]:
            if att.get("id") is None or (att.get("timeslot") or {}).get("id") is None:
                continue
            model = self.events.get(att["timeslot"]["id"]) or self._first_seen_in_signup(att, known)
            if model is None:
                continue
            person = people.get(att["person"]["id"], att["person"])
            email = email_of(person)
            if email is None or not named(person):
                continue
            before = self.attendance_emails.get(att["id"])
            if before is not None and before != email:
                for other in (model, *self.retired):
                    if before in other.invitations:
                        other.invitations[before].superseded = True
            self.attendance_emails[att["id"]] = email
            modified = (att["modified_date"], att["id"])
            current = model.invitations.get(email)
            if current is None or modified >= current.modified:
                model.invitations[email] = Invitation(
                    rsvp(att["status"], att["attended"]), att["id"], modified
                )
            self.emails.add(email)
        for old in self.retired:
            for email, invitation in old.invitations.items():
                # A moved event's signups live on in the new one, never in the old.
                if old.canceled == "moved":
                    invitation.superseded = True
                self.emails.add(email)

    def expected(self) -> dict[str, Any]:
        events: Counter[EventKey] = Counter()
        invitations: dict[tuple[EventKey, str], Triple] = {}
        for model in [*self.events.values(), *self.retired]:
            events[model.key] += 1
            for email, invitation in model.invitations.items():
                invitations[(model.key, email)] = model.shown(invitation)
        return {"events": events, "emails": set(self.emails), "invitations": invitations}


def actual_state(state: dict[str, Any], ignore_emails: Iterable[str] = ()) -> dict[str, Any]:
    """PDI's whole state by natural keys (contacts seeded by a test may be left out)."""
    calendars = {c["id"]: c["name"] for c in state["calendars"]}
    events: dict[str, EventKey] = {
        e["id"]: (
            calendars[e["calendarId"]],
            e["name"],
            e["startDateTimeUtc"],
            e["endDateTimeUtc"],
            e["website"],
        )
        for e in state["events"]
    }
    ignored = set(ignore_emails)
    emails_by_contact = {
        c["id"]: str(c["emails"][0]["emailAddress"]).lower() for c in state["contacts"]
    }
    invitations: dict[tuple[EventKey, str], Triple] = {}
    duplicates = 0
    for i in state["invitations"]:
        key = (events[i["eventId"]], emails_by_contact[i["contactId"]])
        duplicates += key in invitations
        invitations[key] = (i["rsvpStatus"], bool(i.get("isConfirmed")), bool(i.get("attended")))
    emails = [e for e in emails_by_contact.values() if e not in ignored]
    return {
        "events": Counter(events.values()),
        "emails": set(emails),
        "contacts": len(emails),
        "invitations": invitations,
        "duplicate_invitations": duplicates,
    }


def differences(
    model: PdiModel, state: dict[str, Any], ignore_emails: Iterable[str] = ()
) -> list[str]:
    """Every discrepancy between PDI and the model, as readable lines (empty: none)."""
    want = model.expected()
    got = actual_state(state, ignore_emails)
    out: list[str] = []
    for key in sorted(set(want["events"]) | set(got["events"])):
        if want["events"][key] != got["events"][key]:
            out.append(f"event {key}: expected {want['events'][key]}, PDI has {got['events'][key]}")
    for email in sorted(want["emails"] ^ got["emails"]):
        where = "missing from PDI" if email in want["emails"] else "unexpected in PDI"
        out.append(f"contact {email}: {where}")
    if got["contacts"] != len(got["emails"]):
        out.append(f"{got['contacts'] - len(got['emails'])} duplicate contacts")
    for key in sorted(set(want["invitations"]) | set(got["invitations"])):
        if want["invitations"].get(key) != got["invitations"].get(key):
            out.append(
                f"invitation {key}: expected {want['invitations'].get(key)}, "
                f"PDI has {got['invitations'].get(key)}"
            )
    if got["duplicate_invitations"]:
        out.append(f"{got['duplicate_invitations']} duplicate invitations")
    return out
