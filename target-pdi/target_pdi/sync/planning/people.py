"""Which people of a batch become PDI contacts (one per email): planned before the batch's first
write, from the people read, the planned signups and what the id map knows.

A person chosen only for a signup is a contact only while that signup is written:
`PeoplePlan.without_signups` leaves out the people of signups the batch had to drop (their event
failed), as if they had never been planned.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.rules import people_payloads as PP
from target_pdi.rules.vocabulary import contact_key
from target_pdi.stores.idmap import IdMap, stored_key
from target_pdi.sync.planning.events import CONTACT, Record, record_id
from target_pdi.sync.planning.signups import PlannedSignup


@dataclass
class ChosenPerson:
    person_id: int
    source: str  # "people" (authoritative) or "attendances" (an embedded copy)
    person: Record
    record: Record  # what to dead-letter on failure


@dataclass
class PeoplePlan:
    by_email: dict[str, list[ChosenPerson]] = field(default_factory=dict)
    no_email: list[ChosenPerson] = field(default_factory=list)
    # People whose email changed: the PDI contacts of their old emails.
    moved: dict[int, set[str]] = field(default_factory=dict)
    # What the contacts above were chosen from: the people records chosen for themselves, and
    # each planned signup's person, in signup order (attendance id, person).
    from_people: dict[int, ChosenPerson] = field(default_factory=dict)
    signed_up: list[tuple[int, ChosenPerson]] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        from_people: dict[int, ChosenPerson],
        signed_up: list[tuple[int, ChosenPerson]],
        moved: dict[int, set[str]],
    ) -> PeoplePlan:
        """Group the chosen people by email; a person's own record wins over a signup's copy,
        and the first signup's copy over later ones."""
        chosen = dict(from_people)
        for _, one in signed_up:
            chosen.setdefault(one.person_id, one)
        plan = cls(moved=moved, from_people=from_people, signed_up=signed_up)
        for one in chosen.values():
            email = PP.person_email(one.person)
            if email is None:
                plan.no_email.append(one)
            else:
                plan.by_email.setdefault(email, []).append(one)
        return plan

    def without_signups(self, dropped: Collection[int]) -> PeoplePlan:
        """The plan without the people of the signups (attendance ids) the batch dropped."""
        if not dropped:
            return self
        kept = [(att_id, one) for att_id, one in self.signed_up if att_id not in dropped]
        return PeoplePlan.of(self.from_people, kept, self.moved)


def plan_people(
    people: list[dict[str, Any]],
    signups: list[PlannedSignup],
    people_seen: Mapping[int, Record],
    idmap: IdMap,
    *,
    everyone: bool,
    waiting: Callable[[int], bool] = lambda _: False,
) -> PeoplePlan:
    """The contacts to write: people with a signup written, people already in PDI, people
    whose dead letter waits (`waiting`: their signups wait on them, and this newer version
    settles the letter), and everyone when `everyone` (sync_all_people, or a dead-letter
    retry)."""
    chosen: dict[int, ChosenPerson] = {}
    for record in people:
        person_id = record_id(record)
        if person_id is None:
            continue
        seen = people_seen[person_id]
        email = PP.person_email(seen)
        known = bool(idmap.keys_for_mobilize_id(CONTACT, person_id)) or (
            email is not None and idmap.get(CONTACT, contact_key(email)) is not None
        )
        if everyone or known or waiting(person_id):
            chosen[person_id] = ChosenPerson(person_id, "people", seen, record)
    signed_up = [
        (s.attendance_id, ChosenPerson(s.person_id, "attendances", s.person, s.person))
        for s in signups
        if s.person_id is not None and s.person is not None
    ]
    return PeoplePlan.of(chosen, signed_up, _moved(chosen, idmap))


def _moved(chosen: Mapping[int, ChosenPerson], idmap: IdMap) -> dict[int, set[str]]:
    """People whose email changed: the PDI contacts the id map knows under their old emails."""
    moved: dict[int, set[str]] = {}
    for one in chosen.values():
        email = PP.person_email(one.person)
        if email is None:
            continue
        # The map answers keys as stored (a long email's hashed): compare like with like, or
        # a person's current contact passes for the contact of an old email.
        current = stored_key(contact_key(email))
        old = {
            entry.pdi_id
            for key, entry in idmap.keys_for_mobilize_id(CONTACT, one.person_id)
            if key != current
        }
        if old:
            moved[one.person_id] = old
    return moved
