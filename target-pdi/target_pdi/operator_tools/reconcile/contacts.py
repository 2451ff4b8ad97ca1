"""The PDI contact of each email the sync keeps: it holds that email, the names of the most
recently modified person with it (the sync's payload), and that person's phone; and no email
held by two contacts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_pdi.operator_tools.reconcile.comparison import Comparison
from target_pdi.operator_tools.reconcile.found import (
    CANNOT,
    CONTACT_EMAIL,
    CONTACT_NAMES,
    CONTACT_PHONE,
    SHARED_EMAIL,
    Mend,
    differing,
)
from target_pdi.rules import people_payloads as PP
from target_pdi.rules.vocabulary import PdiObject, contact_key
from target_pdi.sync.planning import events as plans
from target_pdi.sync.planning.people import ChosenPerson
from target_pdi.sync.recovery import lower_keys

CONTACT = PdiObject.CONTACT


def check(c: Comparison) -> None:
    """Each contact the sync keeps for an email, against the person the sync writes it from."""
    c.result.checked.contacts = len(c.pdi.contacts)
    for email, chosen in sorted(chosen_people(c).items()):
        key = contact_key(email)
        entry = c.idmap.get(CONTACT, key)
        if entry is None or entry.pdi_id not in c.pdi.contacts:
            continue  # not synced (no signup written), or listed as missing
        check_one(c, key, entry.pdi_id, email, chosen.person, rerun(c, chosen))


def chosen_people(c: Comparison) -> dict[str, ChosenPerson]:
    """Email -> the person the sync writes its contact from: of the people the plan makes that
    contact from (`PeoplePlan.by_email`: people records, and a signup's own copy of a person
    the people stream does not hold), the most recently modified one, as `PeoplePhase`
    chooses; people the sync dead-lettered are left to it."""
    chosen: dict[str, ChosenPerson] = {}
    for email, persons in c.plan.people.by_email.items():
        kept = [p for p in persons if ("people", str(p.person_id)) not in c.dead_letters]
        if kept:
            chosen[email] = max(kept, key=lambda p: plans.modified(p.person))
    return chosen


def rerun(c: Comparison, chosen: ChosenPerson) -> Mend:
    """The records that make the sync write this person's contact again: their people record,
    or, for a person only a signup's copy shows, their signups."""
    if chosen.person_id in c.mobilize.people:
        return Mend(people=(chosen.person_id,))
    signups = {
        att_id for att_id, one in c.plan.people.signed_up if one.person_id == chosen.person_id
    }
    return Mend(attendances=tuple(sorted(signups)))


def check_one(
    c: Comparison,
    key: str,
    contact_id: str,
    email: str,
    person: Mapping[str, Any],
    rerun: Mend,
) -> None:
    row = c.pdi.contact_rows.get(contact_id, {})
    held = c.pdi.contacts[contact_id]
    if email not in held:
        found = f"{len(held)} other email(s)" if held else "no email"
        fix = "added by the sync (its other emails kept)"
        mend = Mend(emails=((contact_id, email),))
        c.add(CONTACT_EMAIL, key, contact_id, "its email", found, fix, mend)
    names = PP.contact_payload(person)
    wrong = differing(row, names, ("firstName", "lastName"))
    if wrong:
        # Names are personal data: the report says which differ, never what they are.
        found = ", ".join(wrong) + " changed in PDI"
        mend = Mend(forget=((CONTACT, key),)) | rerun
        fix = "renamed by the sync"
        c.add(CONTACT_NAMES, key, contact_id, "as in Mobilize", found, fix, mend)
    phone = PP.person_phone(person)
    phones = lower_keys(row).get("phones")
    if phone and isinstance(phones, list):
        held_phones = {digits(lower_keys(p).get("phonenumber")) for p in phones if p}
        if digits(phone) not in held_phones:
            found = f"{len(held_phones)} other phone(s)" if held_phones else "no phone"
            mend = Mend(phones=((contact_id, phone),))
            fix = "added by the sync (its other phones kept)"
            c.add(CONTACT_PHONE, key, contact_id, "the person's phone", found, fix, mend)


def digits(number: Any) -> str:
    """A phone number as the sync matches it: its digits only."""
    return "".join(ch for ch in str(number or "") if ch.isdigit())


def shared_emails(c: Comparison) -> None:
    holders: dict[str, list[str]] = {}
    for contact_id, emails in c.pdi.contacts.items():
        for email in emails:
            holders.setdefault(email, []).append(contact_id)
    for email, ids in sorted(holders.items()):
        if len(ids) < 2:
            continue
        entry = c.idmap.get(CONTACT, contact_key(email))
        synced = f"; the sync writes to {entry.pdi_id}" if entry is not None else ""
        fix = (
            f"{CANNOT}PDI's API merges no contacts and deleting one would lose what PDI "
            f"users added to it: merge them in PDI{synced}"
        )
        found = f"{len(ids)} contacts"
        c.add(SHARED_EMAIL, contact_key(email), " ".join(sorted(ids)), "one contact", found, fix)
