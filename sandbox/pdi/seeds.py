"""Objects stored as a PDI user makes them in the UI (``POST /__admin/seed``, ``/copy`` and
``/update``): the create defaults (what a create with an empty body would store), overlaid
with any given fields, under a new id, unvalidated; a contact's ``emails``/``phones`` may be
lists of strings or of objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.pdi.binding import Body, parse_bool
from sandbox.pdi.contacts import Contacts
from sandbox.pdi.events import Events
from sandbox.pdi.invitations import Invitations
from sandbox.pdi.locations import Locations
from sandbox.pdi.state import Obj, PdiState, contact_out

SEED_KINDS = ("contacts", "events", "locations", "invitations")


class Seeds:
    """A new object of each kind, with the defaults of its resource's create."""

    def __init__(
        self,
        state: PdiState,
        contacts: Contacts,
        events: Events,
        locations: Locations,
        invitations: Invitations,
    ) -> None:
        self.state = state
        self.contacts = contacts
        self.events = events
        self.locations = locations
        self.invitations = invitations

    def seed(self, kind: str, obj: Obj) -> Obj:
        """Store ``obj`` as a new object of ``kind``; ValueError naming what is wrong."""
        seeders = {
            "contacts": self.contact,
            "events": self.event,
            "locations": self.location,
            "invitations": self.invitation,
        }
        return seeders[kind](obj)

    def contact(self, obj: dict[str, Any]) -> dict[str, Any]:
        emails = [_seed_email(item) for item in _seed_list(obj, "emails")]
        if isinstance(obj.get("emailAddress"), str) and obj["emailAddress"].strip():
            emails.insert(0, (obj["emailAddress"].strip(), True))
        phones = [_seed_phone(item) for item in _seed_list(obj, "phones")]
        given = {
            k: v for k, v in obj.items() if k not in ("id", "emails", "phones", "emailAddress")
        }
        defaults = {**self.contacts.contact_fields(Body({})), "pdiId": None}
        contact: dict[str, Any] = {
            "id": self.state.new_id(),
            **defaults,
            **given,
            "emails": [],
            "phones": [],
        }
        self.state.store_contact(contact)
        for address, is_primary in emails:
            self.state.add_email_to(contact, address, is_primary)
        for phone in phones:
            self.state.add_phone_to(contact, **phone)
        return contact_out(contact)

    def event(self, obj: dict[str, Any]) -> dict[str, Any]:
        calendar_id = next(iter(self.state.calendars), None)
        given = {k: v for k, v in obj.items() if k != "id"}
        defaults = {"calendarId": calendar_id, **self.events.event_fields(Body({}))}
        event = {"id": self.state.new_id(), **defaults, **given}
        self.state.events[event["id"]] = event
        return dict(event)

    def location(self, obj: dict[str, Any]) -> dict[str, Any]:
        given = {k: v for k, v in obj.items() if k != "id"}
        location = {"id": self.state.new_id(), **self.locations.location_fields(Body({})), **given}
        self.state.locations[location["id"]] = location
        return dict(location)

    def invitation(self, obj: dict[str, Any]) -> dict[str, Any]:
        # The indexes need both ends: an invitation lives in its event's list.
        if obj.get("eventId") not in self.state.events:
            raise ValueError(f"no event {obj.get('eventId')!r}")
        if obj.get("contactId") not in self.state.contacts:
            raise ValueError(f"no contact {obj.get('contactId')!r}")
        given = {k: v for k, v in obj.items() if k != "id"}
        defaults = self.invitations.invitation_fields(Body({}))
        invitation = {"id": self.state.new_id(), **defaults, **given}
        self.state.store_invitation(invitation)
        return dict(invitation)

    def replace_contact_lists(self, contact: dict[str, Any], fields: dict[str, Any]) -> None:
        """A PDI user editing a contact's emails or phones: each list replaced whole."""
        emails = [_seed_email(item) for item in _seed_list(fields, "emails")]
        phones = [_seed_phone(item) for item in _seed_list(fields, "phones")]
        if "emails" in fields:
            self.state.unindex_emails(contact)
            contact["emails"] = []
            for address, is_primary in emails:
                self.state.add_email_to(contact, address, is_primary)
        if "phones" in fields:
            contact["phones"] = []
            for phone in phones:
                self.state.add_phone_to(contact, **phone)


def _seed_list(obj: Mapping[str, Any], name: str) -> list[Any]:
    value = obj.get(name) or []
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value


def _seed_email(item: Any) -> tuple[str, bool]:
    """An email given as an address or as an object -> (address, isPrimary)."""
    if isinstance(item, str):
        item = {"emailAddress": item}
    address = item.get("emailAddress") if isinstance(item, dict) else None
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"bad email {item!r}: expected an address or {{emailAddress, ...}}")
    return address.strip(), parse_bool(item.get("isPrimary")) is True


def _seed_phone(item: Any) -> dict[str, Any]:
    """A phone given as a number or as an object -> ``PdiState.add_phone_to`` keyword arguments."""
    if isinstance(item, str):
        item = {"phoneNumber": item}
    number = item.get("phoneNumber") if isinstance(item, dict) else None
    if not isinstance(number, str) or not number.strip():
        raise ValueError(f"bad phone {item!r}: expected a number or {{phoneNumber, ...}}")
    return {
        "number": number,
        "phone_type": item.get("phoneType") or "Mobile",
        "is_primary": parse_bool(item.get("isPrimary")) is True,
        "extension": item.get("extension") or "",
    }
