"""The simulated PDI's objects and the indexes that keep its searches fast.

Every change that touches an index goes through a method here, so the indexes stay
consistent whichever route (API or admin) made the change. Objects are plain dicts.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from sandbox.pdi.ids import numbered_id
from sandbox.server.messages import Request

Obj = dict[str, Any]


class PdiState:
    """The objects, the id counter and the write counts. Callers hold ``lock``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        self.counter = 0
        self.calendars: dict[str, Obj] = {}
        self.locations: dict[str, Obj] = {}
        self.events: dict[str, Obj] = {}
        self.contacts: dict[str, Obj] = {}
        self.invitations: dict[str, Obj] = {}
        self.email_index: dict[str, set[str]] = {}  # lower(trimmed email) -> contact ids
        # (event, contact) -> its invitation ids (several when duplicates are accepted)
        self.invitation_index: dict[tuple[str, str], set[str]] = {}
        # event -> its invitation ids, in creation order (dict as an ordered set)
        self.event_invitations: dict[str, dict[str, None]] = {}
        self.contact_seq: dict[str, int] = {}  # contact id -> creation number (list order)
        self.writes = 0
        self.writes_by_route: Counter[str] = Counter()

    def new_id(self) -> str:
        self.counter += 1
        return numbered_id(self.seed, self.counter)

    def find(self, kind: str, object_id: str) -> Obj | None:
        """The stored object of ``kind`` ("contacts", "events", ...) with that id, if any."""
        stores = {
            "contacts": self.contacts,
            "events": self.events,
            "locations": self.locations,
            "invitations": self.invitations,
        }
        return stores[kind].get(object_id)

    def wrote(self, request: Request) -> None:
        self.writes += 1
        self.writes_by_route[request.route or f"{request.method} {request.path}"] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "calendars": [dict(c) for c in self.calendars.values()],
            "locations": [dict(loc) for loc in self.locations.values()],
            "events": [dict(e) for e in self.events.values()],
            "contacts": [contact_out(c) for c in self.contacts.values()],
            "invitations": [dict(i) for i in self.invitations.values()],
        }

    def reset(self) -> None:
        """Forget everything but calendars.

        The id counter is NOT rewound, so an id from before the reset can never point at a
        different object afterwards (a stale client id map gets 404s, not wrong objects).
        """
        self.locations.clear()
        self.events.clear()
        self.contacts.clear()
        self.invitations.clear()
        self.email_index.clear()
        self.invitation_index.clear()
        self.event_invitations.clear()
        self.contact_seq.clear()

    # ----------------------------------------------------------------- contacts

    def store_contact(self, contact: Obj) -> None:
        self.contacts[contact["id"]] = contact
        self.contact_seq[contact["id"]] = self.counter

    def add_email_to(self, contact: Obj, address: str, is_primary: bool) -> Obj:
        emails: list[Obj] = contact["emails"]
        is_primary = is_primary or not emails
        if is_primary:
            for other in emails:
                other["isPrimary"] = False
        email = {"id": self.new_id(), "emailAddress": address, "isPrimary": is_primary}
        emails.append(email)
        self.email_index.setdefault(address.strip().lower(), set()).add(contact["id"])
        return email

    def unindex_emails(self, contact: Obj) -> None:
        for email in contact["emails"]:
            holders = self.email_index.get(email["emailAddress"].strip().lower())
            if holders is not None:
                holders.discard(contact["id"])

    def add_phone_to(
        self,
        contact: Obj,
        number: str,
        phone_type: str | None,
        is_primary: bool,
        extension: str | None,
    ) -> Obj:
        phones: list[Obj] = contact["phones"]
        is_primary = is_primary or not phones
        if is_primary:
            for other in phones:
                other["isPrimary"] = False
        phone = {
            "id": self.new_id(),
            "phoneNumber": number,
            "phoneType": phone_type,
            "isPrimary": is_primary,
            "extension": extension,
        }
        phones.append(phone)
        return phone

    # ----------------------------------------------------------------- invitations

    def store_invitation(self, invitation: Obj) -> None:
        self.invitations[invitation["id"]] = invitation
        self.index_invitation(invitation)
        self.event_invitations.setdefault(invitation["eventId"], {})[invitation["id"]] = None

    def index_invitation(self, invitation: Obj) -> None:
        key = (invitation["eventId"], invitation["contactId"])
        self.invitation_index.setdefault(key, set()).add(invitation["id"])

    def unindex_invitation(self, invitation: Obj) -> None:
        key = (invitation["eventId"], invitation["contactId"])
        holders = self.invitation_index.get(key)
        if holders is not None:
            holders.discard(invitation["id"])
            if not holders:
                del self.invitation_index[key]

    # ----------------------------------------------------------------- removals
    # They keep the indexes consistent; None when there was nothing to remove.

    def remove_contact(self, contact_id: str) -> Obj | None:
        contact = self.contacts.pop(contact_id, None)
        if contact is None:
            return None
        del self.contact_seq[contact_id]
        self.unindex_emails(contact)
        # Guess: a contact's invitations go with it.
        for invitation in [i for i in self.invitations.values() if i["contactId"] == contact_id]:
            self.remove_invitation(invitation["id"])
        return contact_out(contact)

    def remove_event(self, event_id: str) -> Obj | None:
        event = self.events.pop(event_id, None)
        if event is None:
            return None
        for invitation_id in list(self.event_invitations.get(event_id, {})):
            self.remove_invitation(invitation_id)
        self.event_invitations.pop(event_id, None)
        return dict(event)

    def remove_location(self, location_id: str) -> Obj | None:
        # Events keep their (now dangling) locationId, as after a deletion in the UI.
        location = self.locations.pop(location_id, None)
        return None if location is None else dict(location)

    def remove_invitation(self, invitation_id: str) -> Obj | None:
        invitation = self.invitations.pop(invitation_id, None)
        if invitation is None:
            return None
        self.unindex_invitation(invitation)
        self.event_invitations.get(invitation["eventId"], {}).pop(invitation_id, None)
        return dict(invitation)


def contact_out(contact: Obj) -> Obj:
    """A contact as PDI answers it: a copy, its emails and phones copied too."""
    out = dict(contact)
    out["emails"] = [dict(e) for e in contact["emails"]]
    out["phones"] = [dict(p) for p in contact["phones"]]
    return out
