"""The personal data of a sandbox dataset (`GET /__admin/dataset`), and which of it an output
shows: for tests that a command's normal output holds none."""

from __future__ import annotations

import re
from typing import Any

# Names are matched as whole words, in their case ("Mark" is a name, "marked" is not); emails
# and phone numbers anywhere.
_WORD = r"(?<![\w'-]){}(?![\w'-])"


def personal_data(dataset: dict[str, Any]) -> dict[str, set[str]]:
    """Every person's names, emails and phone numbers, and those of every event's contact."""
    found: dict[str, set[str]] = {"names": set(), "emails": set(), "phones": set()}
    for person in dataset["people"]:
        found["names"] |= {person.get("given_name"), person.get("family_name")}
        found["emails"] |= {row.get("address") for row in person.get("email_addresses") or []}
        found["phones"] |= {row.get("number") for row in person.get("phone_numbers") or []}
    for event in dataset["events"]:
        contact = event.get("contact") or {}
        found["names"] |= set(str(contact.get("name") or "").split())
        found["emails"].add(contact.get("email_address"))
        found["phones"].add(contact.get("phone_number"))
    return {
        kind: {v.strip() for v in values if isinstance(v, str) and len(v.strip()) > 1}
        for kind, values in found.items()
    }


def shown(output: str, dataset: dict[str, Any]) -> list[str]:
    """The dataset's personal data that ``output`` shows (empty: none)."""
    data = personal_data(dataset)
    assert all(data.values()), "the dataset has people with names, emails and phones"
    lowered = output.lower()
    hits = [email for email in data["emails"] if email.lower() in lowered]
    hits += [phone for phone in data["phones"] if re.search(_WORD.format(re.escape(phone)), output)]
    hits += [name for name in data["names"] if re.search(_WORD.format(re.escape(name)), output)]
    return sorted(hits)
