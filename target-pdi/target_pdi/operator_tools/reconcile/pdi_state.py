"""PDI as it is: every event, location, contact (with the emails and phones it holds) and
invitation, read through target-pdi's client.

A reconcile reads what a sync never needs to: every contact (one more read each when PDI's
list rows carry no emails) and every event's invitations (one list per event). Everything it
compares comes from those reads, kept whole: names and phones from the contact rows (or the
contact read), names and addresses from the location list. Reads run on the client's pool, at
the pace it keeps for PDI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from target_pdi.pdi.client import PDIClient, object_id
from target_pdi.sync.recovery import EVERY_DAY, ContactFinder, row_emails
from target_pdi.sync.writers.invitations import invitation_id, row_contact_id

Row = dict[str, Any]
# What a reconcile compares of a contact besides its emails.
CONTACT_FIELDS = frozenset({"firstname", "lastname", "phones"})
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class PdiState:
    calendars: dict[str, str] = field(default_factory=dict)  # id -> name
    events: dict[str, Row] = field(default_factory=dict)  # id -> row
    locations: dict[str, Row] = field(default_factory=dict)  # id -> row
    contacts: dict[str, set[str]] = field(default_factory=dict)  # id -> emails it holds
    # id -> the contact's names, and its phones when PDI shows them
    contact_rows: dict[str, Row] = field(default_factory=dict)
    # PDI event id -> contact id -> that contact's invitations on the event (PDI may hold two)
    invitations: dict[str, dict[str, list[Row]]] = field(default_factory=dict)

    def contacts_of(self, email: str) -> list[str]:
        return sorted(c for c, emails in self.contacts.items() if email in emails)

    def invitation_ids(self, event_id: str) -> set[str]:
        rows = self.invitations.get(event_id, {})
        return {invitation_id(row) for of_contact in rows.values() for row in of_contact}


def read_pdi(client: PDIClient, calendars: Mapping[str, str], workers: int = 8) -> PdiState:
    state = PdiState(calendars=dict(calendars))
    for row in client.list_all("/events", {"startDate": EVERY_DAY[0], "endDate": EVERY_DAY[1]}):
        if object_id(row):
            state.events[str(object_id(row))] = row
    state.locations = {str(object_id(r)): r for r in client.list_all("/locations") if object_id(r)}
    finder = ContactFinder(client)

    def read(row: Row) -> tuple[str, set[str], Row]:
        contact_id = str(object_id(row))
        if not row_emails(row):
            # PDI's list rows may not carry emails: the contact itself does (and its phones).
            row = {**row, **(finder.read(contact_id, fresh=True) or {})}
        # Only what is compared is kept: an organization's contacts are many.
        kept = {k: v for k, v in row.items() if str(k).lower() in CONTACT_FIELDS}
        return contact_id, row_emails(row), kept

    rows = [r for r in client.list_all("/contacts") if object_id(r)]
    for contact_id, emails, kept in in_parallel(rows, read, workers):
        state.contacts[contact_id] = emails
        state.contact_rows[contact_id] = kept

    def invitations(event_id: str) -> tuple[str, dict[str, list[Row]]]:
        listed = client.list_all(f"/events/{event_id}/invitations", {"expand": "false"})
        by_contact: dict[str, list[Row]] = {}
        for row in listed:
            contact_id = row_contact_id(row)
            if contact_id:
                by_contact.setdefault(contact_id, []).append(row)
        return event_id, by_contact

    state.invitations = dict(in_parallel(sorted(state.events), invitations, workers))
    return state


def in_parallel(items: Iterable[T], fn: Callable[[T], R], workers: int) -> list[R]:
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="reconcile") as pool:
        return list(pool.map(fn, items))
