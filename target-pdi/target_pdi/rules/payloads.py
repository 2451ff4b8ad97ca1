"""Pure functions: Mobilize record -> PDI payload (the seed rules of pdi-api.md 6.1).

Nothing here does I/O, so every rule is unit-testable on plain dicts. Input records are the faithful
Mobilize shapes emitted by tap-mobilize (integer epoch dates); every field may be missing or null.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from target_pdi.rules.vocabulary import (
    location_address_key,
    location_geo_key,
    mapped_property,
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

# A usable address: one "@", no white space, a dotted domain without empty labels. Contacts are
# matched by email only, so a typo ("ann@gmail", "ann smith@x.org") must not become a PDI contact
# that the corrected address would never match again.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
NO_EMAIL = "person has no email address"
MALFORMED_EMAIL = "person has a malformed email address"

Record = Mapping[str, Any]


def mapped(record: Record, pdi_field: str) -> str | None:
    """The value mappings/fields.yml computed for ``pdi_field`` (e.g. "Event.name").

    The target's stream maps add one ``pdi_*`` property per mapped field; None means the
    field is not mapped and the built-in rule applies.
    """
    key = mapped_property(pdi_field)
    if key not in record:
        return None
    value = record[key]
    return "" if value is None else str(value).strip()


# --- small helpers -----------------------------------------------------------------------------


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    """A coordinate as float. singer-sdk parses JSON numbers as Decimal, so accept those too."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_epoch(value: Any) -> int | None:
    """Mobilize dates are integer epoch seconds; tolerate floats, digit strings, ISO strings.
    None for what is no date at all (NaN and infinities too: no record may stop a run)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp())
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text, re.ASCII):
            return int(Decimal(text))
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    return None


# The times a PDI event may hold, in epoch seconds: from 1970 to the end of year 9999, where
# PDI's dates (and Python's) end. Mobilize's are epoch seconds after 1970; anything outside is
# no time at all, such as a start in epoch milliseconds (1793000000000 is year 58787).
EARLIEST_EPOCH = 0
LATEST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


def check_epoch(epoch: int, what: str) -> int:
    """``epoch`` if PDI can hold it; a ValueError naming ``what`` otherwise."""
    if not EARLIEST_EPOCH <= epoch <= LATEST_EPOCH:
        raise ValueError(
            f"{what} {epoch} is no time PDI can hold (epoch seconds from 1970 to 9999 expected)"
        )
    return epoch


def pdi_datetime(epoch: int) -> str:
    """PDI event datetimes: UTC, `yyyy-MM-ddTHH:mm:ss.fffZ`."""
    dt = datetime.fromtimestamp(check_epoch(epoch, "time"), tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def pdi_date(epoch: int) -> str:
    """PDI list filters (`startDate`/`endDate`): `yyyy-MM-dd`, within the times PDI holds."""
    epoch = min(max(epoch, EARLIEST_EPOCH), LATEST_EPOCH)
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


def parse_pdi_datetime(value: Any) -> datetime | None:
    """Parse a PDI datetime (Z, offset or naive=UTC) for comparisons with what we would send."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def json_default(value: Any) -> Any:
    """JSON for what singer-sdk hands us: Decimal numbers, parsed datetimes."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def content_hash(payload: Mapping[str, Any]) -> str:
    """Stable hash of a payload: the id map stores it to skip writes whose content is unchanged."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def mobilize_id(value: Any) -> int | None:
    """Ids are ints; masked (firewalled) objects carry null ids."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    # ASCII digits only: "²" is a digit to str.isdigit() and no number to int().
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip(), re.ASCII):
        return int(value.strip())
    return None


# --- Location ----------------------------------------------------------------------------------


def is_private_address(event: Record) -> bool:
    if _str(event.get("address_visibility")).upper() == "PRIVATE":
        return True
    loc = _obj(event.get("location"))
    lines = loc.get("address_lines") or []
    first_line = lines[0] if isinstance(lines, list) and lines else ""
    return bool(
        _PRIVATE_PLACEHOLDER.search(_str(loc.get("venue")))
        or _PRIVATE_PLACEHOLDER.search(_str(first_line))
    )


def address_string(location: Record) -> str:
    """address_lines (non-empty), locality, "region postal_code".

    E.g. "123 Main St, Apt 4, Springfield, IL 62701".
    """
    lines = location.get("address_lines") or []
    parts = [_str(x) for x in lines if isinstance(lines, list)] if isinstance(lines, list) else []
    parts = [p for p in parts if p and not _PRIVATE_PLACEHOLDER.search(p)]
    parts.append(_str(location.get("locality")))
    parts.append(
        " ".join(p for p in (_str(location.get("region")), _str(location.get("postal_code"))) if p)
    )
    return ", ".join(p for p in parts if p)


def location_payload(event: Record) -> dict[str, str]:
    """Seed rule: name = venue, else the address; "Private Venue" (blank address) when private;
    "Virtual" for virtual events (address kept only if Mobilize has one)."""
    loc = _obj(event.get("location"))
    if is_private_address(event):
        # Never leak a private address (nor the placeholder text) into PDI.
        return {"locationName": PRIVATE_VENUE, "locationAddress": ""}
    address = address_string(loc)
    if event.get("is_virtual") is True:
        return {"locationName": VIRTUAL_VENUE, "locationAddress": address}
    venue = _str(loc.get("venue"))
    name = mapped(event, "Location.locationName") or venue or address or UNKNOWN_VENUE
    mapped_address = mapped(event, "Location.locationAddress")
    return {
        "locationName": name,
        "locationAddress": address if mapped_address is None else mapped_address,
    }


def _raw_coordinates(event: Record) -> tuple[float | None, float | None]:
    geo = _obj(_obj(event.get("location")).get("location"))
    return _number(geo.get("latitude")), _number(geo.get("longitude"))


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
    title = _str(event.get("title"))
    return title or f"Mobilize event {event.get('id')}"


def event_payload_website(event: Record) -> str:
    """The website a PDI event of this Mobilize event gets (fields.yml may map it)."""
    value = mapped(event, "Event.website")
    return _str(event.get("browser_url")) if value is None else value


def event_payload(event: Record, timeslot: Record, location_id: str) -> dict[str, Any]:
    """One PDI event per Mobilize timeslot (pdi-api.md 6.1)."""
    contact = _obj(event.get("contact"))
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
        "description": field("Event.description", _str(event.get("description"))),
        "website": event_payload_website(event),
        "startDateTimeUtc": pdi_datetime(start),
        "endDateTimeUtc": pdi_datetime(end),
        "phone": field("Event.phone", _str(contact.get("phone_number"))),
        "contactEmail": field("Event.contactEmail", _str(contact.get("email_address"))),
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
    text = _str(website)
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
    name = _str(fields.get("name"))
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


# --- Contact -----------------------------------------------------------------------------------


def normalize_email(value: Any) -> str | None:
    text = _str(value).lower()
    return text if _EMAIL.fullmatch(text) else None


def _primary_first(items: Any) -> list[Mapping[str, Any]]:
    rows = [x for x in items if isinstance(x, Mapping)] if isinstance(items, list) else []
    return sorted(rows, key=lambda x: x.get("primary") is not True)


def person_email(person: Record) -> str | None:
    """The key contacts are matched by (email only, trimmed, lowercased); None = never guessed."""
    for row in _primary_first(person.get("email_addresses")):
        email = normalize_email(row.get("address"))
        if email:
            return email
    return None


def no_email_reason(person: Record) -> str:
    """Why person_email found none: no address at all, or none well formed."""
    rows = _primary_first(person.get("email_addresses"))
    return MALFORMED_EMAIL if any(_str(row.get("address")) for row in rows) else NO_EMAIL


def person_phone(person: Record) -> str | None:
    phone = mapped(person, "Contact.phone")
    if phone is not None:
        return phone or None
    for row in _primary_first(person.get("phone_numbers")):
        number = _str(row.get("number"))
        if number:
            return number
    return None


def contact_payload(person: Record) -> dict[str, str]:
    email = person_email(person)
    if email is None:
        raise ValueError(no_email_reason(person))
    first = mapped(person, "Contact.firstName")
    last = mapped(person, "Contact.lastName")
    return {
        "firstName": _str(person.get("given_name")) if first is None else first,
        "lastName": _str(person.get("family_name")) if last is None else last,
        "emailAddress": email,
    }


# What PUT /contacts/{id} takes besides names (pdi-api.md 4.6); a PUT may replace the whole
# contact, so every one of them is read first and sent back as it was.
CONTACT_FIELDS = (
    "namePrefix",
    "firstName",
    "middleName",
    "lastName",
    "nameSuffix",
    "nickname",
    "occupation",
    "employer",
    "volunteerStatus",
    "donorStatus",
    "memberStatus",
    "dateOfBirth",
    "gender",
)


def contact_update_body(current: Mapping[str, Any], owned: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body for a contact: what PDI has (read just before), with the fields the sync
    owns changed. Never blanks a field the sync does not set."""
    lowered = {str(k).lower(): v for k, v in current.items()}
    body = {name: lowered[name.lower()] for name in CONTACT_FIELDS if name.lower() in lowered}
    body.update(owned)
    return body


def phone_payload(number: str) -> dict[str, Any]:
    # `extension` must be present or PDI rejects the phone (Parsons PR #1417).
    return {"phoneNumber": number, "phoneType": "Mobile", "isPrimary": True, "extension": ""}


# --- Invitation --------------------------------------------------------------------------------


def rsvp_status(status: Any, attended: Any) -> str:
    """Mobilize attendance -> PDI rsvpStatus.

    CANCELLED always wins (a cancelled signup must not look live, even if someone later flagged
    attendance); otherwise Mobilize's attendance flag (set after the event) overrides the signup
    status: true -> "Completed", false -> "No-Show"; null -> "Yes" for REGISTERED/CONFIRMED.
    """
    if _str(status).upper() == "CANCELLED":
        return "Cancelled"
    if attended is True:
        return "Completed"
    if attended is False:
        return "No-Show"
    return "Yes"


def canceled_invitation(contact_id: str, attended: Any) -> dict[str, Any]:
    """An invitation of a canceled event: "Cancelled", attendance as it was."""
    return {
        "contactId": str(contact_id),
        "rsvpStatus": "Cancelled",
        "isConfirmed": False,
        "attended": attended is True or str(attended).lower() == "true",
    }


def invitation_payload(
    attendance: Record, contact_id: str, *, canceled: bool = False
) -> dict[str, Any]:
    """Invitation body; `canceled` forces "Cancelled" for an event that was deleted in Mobilize."""
    status = _str(attendance.get("status")).upper()
    attended = attendance.get("attended")
    return {
        "contactId": str(contact_id),
        "rsvpStatus": "Cancelled" if canceled else rsvp_status(status, attended),
        # Always sent so a CONFIRMED -> REGISTERED change is reflected too.
        "isConfirmed": status == "CONFIRMED" and not canceled,
        # Mobilize null/false both mean "not attended" (M1: null -> false).
        "attended": attended is True,
    }


# --- Comparing what PDI has with what we would write (used after id-map loss) -------------------


def _norm(key: str, value: Any) -> Any:
    if key.endswith("DateTimeUtc"):
        return parse_pdi_datetime(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if key.endswith("Id") or key in ("id",):
        return "" if value is None else str(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return value


def same_content(found: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when every desired field PDI reports has the desired value.

    Keys are compared case-insensitively (PDI binds either case). A field PDI does not return at all
    cannot be checked and is not a reason for a PUT.
    """
    lowered = {str(k).lower(): v for k, v in found.items()}
    for key, want in desired.items():
        if key.lower() not in lowered:
            continue
        if _norm(key, lowered[key.lower()]) != _norm(key, want):
            return False
    return True
