"""What PDI must hold after each run of the sweeps' scenario, and every way it differs.

`tests/e2e/expect.py`'s model gives the events (calendar, name, start, end, website; the
canceled copies left by moves), the contacts by email and the invitations. The sweeps also
write contact names (renames), phones and venues, so this adds, from Mobilize's data alone:

- each contact named after the most recently modified person holding its email (one whose
  email changed leaves the old contact named as it was), with the phone of the person it was
  made for (phones are added when a contact is made, never later);
- one location per venue (by coordinates), named after the venue as its most recently
  modified written event has it; every PDI event at its event's venue.

A run during which PDI refused a contact expects neither that contact nor its signups' invitations
(they are dead letters until a later run).
"""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.expect import CANCELED, PdiModel, differences, email_of, router
from tests.reliability.sweep_scenario import Record, Run

Coordinates = tuple[float, float]


def digits(text: Any) -> str:
    return "".join(ch for ch in str(text or "") if ch.isdigit())


def modified(record: Record) -> tuple[int, int]:
    return int(record.get("modified_date") or 0), int(record["id"])


def phone_of(person: Record) -> str | None:
    numbers = [digits(row.get("number")) for row in person.get("phone_numbers") or []]
    return next((n for n in numbers if n), None)


@dataclass
class Expected:
    """PDI after one run of the scenario."""

    model: PdiModel
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # email -> first, last
    phones: dict[str, str | None] = field(default_factory=dict)  # email -> its phone's digits
    venues: dict[Coordinates, str] = field(default_factory=dict)  # -> location name
    venue_of: dict[str, Coordinates] = field(default_factory=dict)  # event title -> venue

    def synced(self, run: Run) -> Expected:
        """The expectation after ``run``, from this one (left as it is)."""
        after = copy.deepcopy(self)
        after.model.route = router(run.routes, None)
        dataset = dict(run.mobilize)
        dataset["attendances"] = [
            a for a in run.mobilize["attendances"] if a["id"] not in run.refused_signups
        ]
        after.model.sync(dataset)
        for person in sorted(run.mobilize["people"], key=modified):
            email = email_of(person)
            if email in after.model.emails:
                after.names[email] = (person["given_name"], person["family_name"])
                after.phones.setdefault(email, phone_of(person))
        for event in sorted(run.mobilize["events"], key=modified):
            approved = event.get("approval_status") == "APPROVED"
            if not approved or after.model.route(event["event_type"]) is None:
                continue
            place = event["location"]
            where = (place["location"]["latitude"], place["location"]["longitude"])
            after.venues[where] = place["venue"]
            after.venue_of[event["title"]] = where
        return after

    def differences(self, state: dict[str, Any]) -> list[str]:
        """Every way PDI's whole ``state`` differs from this (empty: none)."""
        return [
            *differences(self.model, state),
            *self._contact_differences(state),
            *self._location_differences(state),
        ]

    def _contact_differences(self, state: dict[str, Any]) -> list[str]:
        by_email: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for contact in state["contacts"]:
            by_email[str(contact["emails"][0]["emailAddress"]).lower()].append(contact)
        out = []
        for email, (first, last) in sorted(self.names.items()):
            for contact in by_email.get(email, []):  # missing or doubled: see differences()
                if (contact["firstName"], contact["lastName"]) != (first, last):
                    out.append(
                        f"contact {email}: named {contact['firstName']} {contact['lastName']}, "
                        f"expected {first} {last}"
                    )
                phones = sorted(digits(p["phoneNumber"]) for p in contact["phones"])
                wanted = [p for p in [self.phones.get(email)] if p]
                if phones != wanted:
                    out.append(f"contact {email}: phones {phones}, expected {wanted}")
        return out

    def _location_differences(self, state: dict[str, Any]) -> list[str]:
        out = []
        names = Counter(str(loc["locationName"]) for loc in state["locations"])
        wanted = Counter(self.venues.values())
        for name in sorted(set(names) | set(wanted)):
            if names[name] != wanted[name]:
                out.append(f"location {name!r}: expected {wanted[name]}, PDI has {names[name]}")
        located = {loc["id"]: str(loc["locationName"]) for loc in state["locations"]}
        for event in state["events"]:
            title = str(event["name"]).removeprefix(CANCELED)
            where = self.venue_of.get(title)
            want = self.venues.get(where) if where is not None else None
            got = located.get(event["locationId"])
            if got != want:
                out.append(
                    f"event {event['name']!r} at {event['startDateTimeUtc']}: at location "
                    f"{got!r}, expected {want!r}"
                )
        return out


def expectations(runs: list[Run]) -> list[Expected]:
    """PDI after each run of ``runs``, in order."""
    out: list[Expected] = []
    current = Expected(PdiModel(router({}, None)))
    for run in runs:
        current = current.synced(run)
        out.append(current)
    return out
