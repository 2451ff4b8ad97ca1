"""Pure functions: Mobilize person and attendance -> PDI contact, phone and invitation
payloads (the seed rules of pdi-api.md 6.1), and the email contacts are matched by.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from target_pdi.rules.values import mapped, stripped

# A usable address: one "@", no white space, a dotted domain without empty labels. Contacts are
# matched by email only, so a typo ("ann@gmail", "ann smith@x.org") must not become a PDI contact
# that the corrected address would never match again.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
NO_EMAIL = "person has no email address"
MALFORMED_EMAIL = "person has a malformed email address"

Record = Mapping[str, Any]


# --- Contact -----------------------------------------------------------------------------------


def normalize_email(value: Any) -> str | None:
    text = stripped(value).lower()
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
    return MALFORMED_EMAIL if any(stripped(row.get("address")) for row in rows) else NO_EMAIL


def person_phone(person: Record) -> str | None:
    phone = mapped(person, "Contact.phone")
    if phone is not None:
        return phone or None
    for row in _primary_first(person.get("phone_numbers")):
        number = stripped(row.get("number"))
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
        "firstName": stripped(person.get("given_name")) if first is None else first,
        "lastName": stripped(person.get("family_name")) if last is None else last,
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
    if stripped(status).upper() == "CANCELLED":
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
    status = stripped(attendance.get("status")).upper()
    attended = attendance.get("attended")
    return {
        "contactId": str(contact_id),
        "rsvpStatus": "Cancelled" if canceled else rsvp_status(status, attended),
        # Always sent so a CONFIRMED -> REGISTERED change is reflected too.
        "isConfirmed": status == "CONFIRMED" and not canceled,
        # Mobilize null/false both mean "not attended" (M1: null -> false).
        "attended": attended is True,
    }
