"""Pure functions: Mobilize event -> PDI location and event payloads (the seed rules of
pdi-api.md 6.1), and what identifies a PDI event of a Mobilize event.

Nothing here does I/O, so every rule is unit-testable on plain dicts. Input records are the faithful
Mobilize shapes emitted by tap-mobilize (integer epoch dates); every field may be missing or null.
Contacts, phones and invitations are made in `people_payloads.py`; the values all of them are
made of (ids, times, hashes) in `values.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from target_pdi.rules.values import (
    as_number,
    as_object,
    check_epoch,
    mapped,
    parse_pdi_datetime,
    pdi_datetime,
    stripped,
    to_epoch,
)
from target_pdi.rules.vocabulary import (
    location_address_key,
    location_geo_key,
    mobilize_event_key,
)

CANCELED_PREFIX = "[Canceled] "
PRIVATE_VENUE = "Private Venue"
VIRTUAL_VENUE = "Virtual"
# Used only when an in-person event has neither a venue nor an address: PDI requires a location.
UNKNOWN_VENUE = "Location TBD"

# Mobilize puts a placeholder into venue/address_lines[0] for private addresses; its wording varies
# ("This event's address is private. Sign up for more details", "This event address is private.").
_PRIVATE_PLACEHOLDER = re.compile(r"address is private", re.IGNORECASE)

Record = Mapping[str, Any]


# --- Location ----------------------------------------------------------------------------------


def is_private_address(event: Record) -> bool:
    if stripped(event.get("address_visibility")).upper() == "PRIVATE":
        return True
    loc = as_object(event.get("location"))
    lines = loc.get("address_lines") or []
    first_line = lines[0] if isinstance(lines, list) and lines else ""
    return bool(
        _PRIVATE_PLACEHOLDER.search(stripped(loc.get("venue")))
        or _PRIVATE_PLACEHOLDER.search(stripped(first_line))
    )


def address_string(location: Record) -> str:
    """address_lines (non-empty), locality, "region postal_code".

    E.g. "123 Main St, Apt 4, Springfield, IL 62701".
    """
    lines = location.get("address_lines") or []
    parts = (
        [stripped(x) for x in lines if isinstance(lines, list)] if isinstance(lines, list) else []
    )
    parts = [p for p in parts if p and not _PRIVATE_PLACEHOLDER.search(p)]
    parts.append(stripped(location.get("locality")))
    parts.append(
        " ".join(
            p
            for p in (stripped(location.get("region")), stripped(location.get("postal_code")))
            if p
        )
    )
    return ", ".join(p for p in parts if p)


def location_payload(event: Record) -> dict[str, str]:
    """Seed rule: name = venue, else the address; "Private Venue" (blank address) when private;
    "Virtual" for virtual events (address kept only if Mobilize has one)."""
    loc = as_object(event.get("location"))
    if is_private_address(event):
        # Never leak a private address (nor the placeholder text) into PDI.
        return {"locationName": PRIVATE_VENUE, "locationAddress": ""}
    address = address_string(loc)
    if event.get("is_virtual") is True:
        return {"locationName": VIRTUAL_VENUE, "locationAddress": address}
    venue = stripped(loc.get("venue"))
    name = mapped(event, "Location.locationName") or venue or address or UNKNOWN_VENUE
    mapped_address = mapped(event, "Location.locationAddress")
    return {
        "locationName": name,
        "locationAddress": address if mapped_address is None else mapped_address,
    }


def _raw_coordinates(event: Record) -> tuple[float | None, float | None]:
    geo = as_object(as_object(event.get("location")).get("location"))
    return as_number(geo.get("latitude")), as_number(geo.get("longitude"))


def coordinates(event: Record) -> tuple[float, float] | None:
    """An event's latitude and longitude; None when missing or impossible (NaN, out of range):
    a geocoder's garbage, the same for unrelated venues, must not merge them into one location."""
    lat, lon = _raw_coordinates(event)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def location_key(event: Record) -> str:
    """Id-map key of the PDI location for an event.

    Mobilize reuses a location by latitude/longitude (rounded to ~1 m so float noise does not split
    it). Private and virtual events key by name+address instead: a private event must never share
    (and rename) a public location that happens to sit at the same coordinates. So do events
    without usable coordinates.
    """
    payload = location_payload(event)
    geo = coordinates(event)
    if payload["locationName"] not in (PRIVATE_VENUE, VIRTUAL_VENUE) and geo is not None:
        return location_geo_key(*geo)
    return name_address_key(payload["locationName"], payload["locationAddress"])


def name_address_key(name: str, address: str) -> str:
    return location_address_key(name, address)


# --- Event -------------------------------------------------------------------------------------


def event_name(event: Record) -> str:
    title = stripped(event.get("title"))
    return title or f"Mobilize event {event.get('id')}"


def event_payload_website(event: Record) -> str:
    """The website a PDI event of this Mobilize event gets (fields.yml may map it)."""
    value = mapped(event, "Event.website")
    return stripped(event.get("browser_url")) if value is None else value


def event_payload(event: Record, timeslot: Record, location_id: str) -> dict[str, Any]:
    """One PDI event per Mobilize timeslot (pdi-api.md 6.1)."""
    contact = as_object(event.get("contact"))
    start = to_epoch(timeslot.get("start_date"))
    end = to_epoch(timeslot.get("end_date"))
    if start is None:
        raise ValueError("timeslot has no start_date")
    check_epoch(start, "start_date")
    if end is None or end < start:
        end = start
    check_epoch(end, "end_date")

    def field(pdi_field: str, default: str) -> str:
        value = mapped(event, pdi_field)
        return default if value is None else value

    return {
        # PDI requires a name: an empty mapped value falls back to the built-in one.
        "name": mapped(event, "Event.name") or event_name(event),
        "description": field("Event.description", stripped(event.get("description"))),
        "website": event_payload_website(event),
        "startDateTimeUtc": pdi_datetime(start),
        "endDateTimeUtc": pdi_datetime(end),
        "phone": field("Event.phone", stripped(contact.get("phone_number"))),
        "contactEmail": field("Event.contactEmail", stripped(contact.get("email_address"))),
        "locationId": str(location_id),
        "isAllDay": "false",
        "eventCategoryId": 0,
    }


# browser_url is https://www.mobilize.us/<org>/event/<id>/: the Mobilize event a PDI event is of.
_EVENT_URL = re.compile(r"/event/(\d+)(?:/|$|\?|#)")


def site_key(website: Any) -> str | None:
    """What identifies the Mobilize event behind a PDI event's website.

    The Mobilize event id when the URL carries one (an event's page), else the URL itself
    (a fields.yml mapping may have replaced it), else None.
    """
    text = stripped(website)
    if not text:
        return None
    match = _EVENT_URL.search(text)
    if match:
        return mobilize_event_key(int(match.group(1)))
    return f"url:{text.lower().rstrip('/')}"


def timeslots(event: Record) -> list[Mapping[str, Any]]:
    """An event's timeslots as the sync reads them: the objects of its list (anything else,
    a list of something else included, is none)."""
    slots = event.get("timeslots")
    return [s for s in slots if isinstance(s, Mapping)] if isinstance(slots, list) else []


# How `unsited_identity` begins.
UNSITED = "unsited:"


def event_identity(event: Record) -> str | None:
    """What tells a PDI event (a row, or a payload) from the other events of its calendar that
    start at the same time: the Mobilize event its website names (`site_key`), preferred since
    it survives a rename; without a website, `unsited_identity`. None: a row with neither."""
    site = site_key(_lowered(event).get("website"))
    return site if site is not None else unsited_identity(event)


def unsited_identity(event: Record) -> str | None:
    """An event's name and end: every payload has both, so every event the sync makes can be
    found again, whatever Mobilize left empty. None: a row with neither (none the sync made)."""
    fields = _lowered(event)
    name = stripped(fields.get("name"))
    end = parse_pdi_datetime(fields.get("enddatetimeutc"))
    if not name or end is None:
        return None
    return f"{UNSITED}{int(end.timestamp())}:{name}"


def _lowered(row: Record) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in row.items()}


def event_problems(event: Record) -> list[str]:
    """What in an event record the sync works around, for the log (the event is still written)."""
    problems = []
    lat, lon = _raw_coordinates(event)
    if lat is not None and lon is not None and coordinates(event) is None:
        problems.append(
            f"coordinates ({lat}, {lon}) are out of range: its location is matched by name and "
            "address instead"
        )
    for slot in timeslots(event):
        start = to_epoch(slot.get("start_date"))
        end = to_epoch(slot.get("end_date"))
        if start is not None and end is not None and end < start:
            problems.append(
                f"timeslot {slot.get('id')} ends before it starts: its PDI event ends at its start"
            )
    return problems


def canceled_name(name: str) -> str:
    """Prefix once: a name that already carries the prefix is left alone."""
    return name if name.startswith(CANCELED_PREFIX) else CANCELED_PREFIX + name


def strip_canceled(name: str) -> str:
    return name[len(CANCELED_PREFIX) :] if name.startswith(CANCELED_PREFIX) else name
