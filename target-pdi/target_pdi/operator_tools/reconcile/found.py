"""What a reconcile finds: the kinds of discrepancy, each discrepancy with how --fix mends it
(or why it cannot), and what was compared.

Nothing here holds personal data beyond what names a contact or a signup's invitation (its
email, which the table hides): names and phone numbers are never put into a discrepancy, so
neither the table nor the CSV can show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from target_pdi.rules import values as V
from target_pdi.sync.recovery import lower_keys

# The kinds, in the order a report lists them.
MISSING_EVENT = "timeslot without PDI event"
WRONG_CALENDAR = "event in wrong calendar"
WRONG_TIME = "event at wrong time"
EVENT_FIELDS = "event fields differ"
EXTRA_EVENT = "extra live PDI event"
LOCATION_FIELDS = "location fields differ"
MISSING_INVITATION = "signup without invitation"
WRONG_ATTENDED = "attended disagrees"
WRONG_RSVP = "rsvpStatus disagrees"
WRONG_CONFIRMED = "isConfirmed disagrees"
EXTRA_INVITATION = "signup invited twice"
CONTACT_NAMES = "contact names differ"
CONTACT_EMAIL = "contact lacks its email"
CONTACT_PHONE = "contact lacks its phone"
SHARED_EMAIL = "contacts share an email"
DELETED_LIVE = "deleted event live in PDI"
UNAPPROVED_LIVE = "unapproved event live in PDI"
REMOVED_LIVE = "removed timeslot live in PDI"
MOVED_LIVE = "old copy of moved event live"
INVITATION_LIVE = "invitation live on canceled event"
SUPERSEDED_LIVE = "old email's invitation live"
STALE_ID = "id map points to missing {}"
KINDS = (
    MISSING_EVENT,
    WRONG_CALENDAR,
    WRONG_TIME,
    EVENT_FIELDS,
    EXTRA_EVENT,
    LOCATION_FIELDS,
    MISSING_INVITATION,
    WRONG_ATTENDED,
    WRONG_RSVP,
    WRONG_CONFIRMED,
    EXTRA_INVITATION,
    CONTACT_NAMES,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    SHARED_EMAIL,
    DELETED_LIVE,
    UNAPPROVED_LIVE,
    REMOVED_LIVE,
    MOVED_LIVE,
    INVITATION_LIVE,
    SUPERSEDED_LIVE,
    *(STALE_ID.format(kind) for kind in ("location", "event", "contact", "invitation")),
)

CANNOT = "cannot: "

Key = tuple[str, str]  # (object type, id-map key)


@dataclass(frozen=True)
class Mend:
    """How --fix mends one discrepancy: id-map entries to correct, writes through the sync's
    writers, then records to run through the sync's engine (whose writers then write what PDI
    lacks)."""

    forget: tuple[Key, ...] = ()  # content hash forgotten: the writer writes again
    drop: tuple[Key, ...] = ()  # the entry removed: its PDI object is gone for good
    calendar: tuple[tuple[str, str], ...] = ()  # event key, the calendar PDI really has it in
    tombstones: tuple[str, ...] = ()  # timeslot keys never to be made again
    # Event keys to cancel again ("[Canceled] ", every invitation "Cancelled"), with the reason.
    cancel: tuple[tuple[str, str], ...] = ()
    # Live PDI events no id-map key names: (PDI id, Mobilize event, reason), canceled by the
    # sync and kept in the id map as a canceled event no timeslot maps to.
    retire: tuple[tuple[str, int, str], ...] = ()
    superseded: tuple[str, ...] = ()  # invitation keys to set "Cancelled" again
    emails: tuple[tuple[str, str], ...] = ()  # (contact id, email) to add to the contact
    phones: tuple[tuple[str, str], ...] = ()  # (contact id, number) to add to the contact
    events: tuple[int, ...] = ()
    deleted_events: tuple[int, ...] = ()
    people: tuple[int, ...] = ()
    attendances: tuple[int, ...] = ()

    def __or__(self, other: Mend) -> Mend:
        """Both mends, each entry once."""
        joined = {
            f.name: tuple(dict.fromkeys((*getattr(self, f.name), *getattr(other, f.name))))
            for f in fields(self)
        }
        return replace(self, **joined)


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
    locations: int = 0
    dead_lettered: int = 0  # records the sync already keeps as dead letters: not compared


@dataclass
class Result:
    found: list[Discrepancy] = field(default_factory=list)
    checked: Checked = field(default_factory=Checked)


# --- how values are shown ------------------------------------------------------------------------


def when(value: Any) -> str:
    parsed = value if isinstance(value, datetime) else V.parse_pdi_datetime(value)
    return parsed.strftime("%Y-%m-%d %H:%M UTC") if parsed else "none"


def span(start: Any, end: Any) -> str:
    first, last = when(start), when(end)
    same_day = first[:10] == last[:10] and first != "none"
    return f"{first[:16]}-{last[11:16]} UTC" if same_day else f"{first} - {last}"


# Fields shown with their value; the others (a description, an event host's phone and email)
# are named only: long, or personal data.
SHOWN_VALUES = frozenset(
    {
        "name",
        "website",
        "locationId",
        "isAllDay",
        "eventCategoryId",
        "locationName",
        "locationAddress",
    }
)


def differing(found: Mapping[str, Any], want: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The fields of ``want`` that PDI's row holds otherwise, compared as the sync compares
    (payloads.same_content: any case, "true" as true; a field PDI does not return is not
    compared)."""
    return [name for name in names if not V.same_content(found, {name: want[name]})]


def fields_text(names: Iterable[str], values: Mapping[str, Any]) -> str:
    low = lower_keys(values)
    return "; ".join(
        f"{name}: {low.get(name.lower())}" if name in SHOWN_VALUES else name for name in names
    )
