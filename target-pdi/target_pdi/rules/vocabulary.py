"""The words every module shares: the PDI object kinds, and the id-map keys built from them.

One enum names each kind the id map stores, the summary counts and the mapping files feed; one
function builds each kind of id-map key, so no other module spells "ts:" or "email:".
"""

from __future__ import annotations

from enum import StrEnum


class PdiObject(StrEnum):
    """A kind of PDI object. Its value is what the id map stores (kept for existing maps)."""

    LOCATION = "location"
    EVENT = "event"
    CONTACT = "contact"
    INVITATION = "invitation"
    # Not a PDI object: a Mobilize event known deleted, or a timeslot known removed.
    TOMBSTONE = "tombstone"

    @property
    def label(self) -> str:
        """The name PDI and its users give it: "Event", as in the summary and fields.yml."""
        return self.value.capitalize()

    @classmethod
    def from_label(cls, label: str) -> PdiObject:
        return cls(label.lower())


class Outcome(StrEnum):
    """What one upsert did to its PDI object."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


# The kinds the sync writes to PDI, in the order it writes them.
WRITTEN_OBJECTS = (PdiObject.LOCATION, PdiObject.EVENT, PdiObject.CONTACT, PdiObject.INVITATION)

# The Mobilize streams that carry data for PDI, and the PDI object each one ends up as.
STREAM_OBJECT: dict[str, PdiObject] = {
    "events": PdiObject.EVENT,
    "deleted_events": PdiObject.EVENT,
    "people": PdiObject.CONTACT,
    "attendances": PdiObject.INVITATION,
}
WRITTEN_STREAMS = tuple(STREAM_OBJECT)


# --- id-map keys ---------------------------------------------------------------------------------

_TIMESLOT = "ts:"
_RETIRED = "pdi:"
_EMAIL = "email:"
_MOBILIZE_EVENT = "event:"


def timeslot_key(timeslot_id: object) -> str:
    """An event's key: the Mobilize timeslot it is the PDI event of (and a removed timeslot's
    tombstone)."""
    return f"{_TIMESLOT}{timeslot_id}"


def is_timeslot_key(key: str) -> bool:
    return key.startswith(_TIMESLOT)


def timeslot_of(key: str) -> str:
    """The timeslot id in a timeslot key, as text."""
    return key.removeprefix(_TIMESLOT)


def retired_event_key(pdi_id: str) -> str:
    """A canceled PDI event no timeslot maps to any more (moved, or found by recovery)."""
    return f"{_RETIRED}{pdi_id}"


def mobilize_event_key(event_id: object) -> str:
    """A Mobilize event: a deleted event's tombstone, and how a PDI event's website names it."""
    return f"{_MOBILIZE_EVENT}{event_id}"


def contact_key(email: str) -> str:
    """Contacts are matched by email only."""
    return f"{_EMAIL}{email}"


def location_geo_key(latitude: float, longitude: float) -> str:
    # Rounded to about 1 m, so that float noise does not split one venue in two.
    return f"geo:{latitude:.5f},{longitude:.5f}"


def location_address_key(name: str, address: str) -> str:
    return f"addr:{' '.join(name.lower().split())}|{' '.join(address.lower().split())}"


def invitation_key(event_pdi_id: str, contact_id: str) -> str:
    """One invitation per PDI event and contact."""
    return f"{event_pdi_id}:{contact_id}"


def invitation_parts(key: str) -> tuple[str, str]:
    """(PDI event id, contact id) of an invitation key."""
    event_pdi_id, contact_id = key.split(":", 1)
    return event_pdi_id, contact_id


# Mobilize approval statuses a sync writes unless its settings name others.
DEFAULT_APPROVAL_STATUSES = ("APPROVED",)


def mapped_property(pdi_field: str) -> str:
    """Record property that carries a mapped value: ``Event.name`` -> ``pdi_event_name``."""
    obj, name = pdi_field.split(".", 1)
    return f"pdi_{obj.lower()}_{name}"
