"""The people phases of a batch: contacts (one per email), then the invitations of the signups
whose event and contact are in PDI."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject, contact_key
from target_pdi.sync.planning.events import modified
from target_pdi.sync.planning.people import ChosenPerson, PeoplePlan
from target_pdi.sync.planning.signups import PlannedSignup
from target_pdi.sync.work import RECORD_FAILURES, Shared
from target_pdi.sync.writers.contacts import ContactWriter, contact
from target_pdi.sync.writers.signups import SignupWriter

LOGGER = logging.getLogger("target-pdi")


class PeoplePhase:
    def __init__(self, shared: Shared, contacts: ContactWriter, signups: SignupWriter) -> None:
        self.shared = shared
        self.idmap = shared.idmap
        self.summary = shared.summary
        self.contacts = contacts
        self.signups = signups
        self._lock = threading.Lock()
        self._failed_emails: dict[str, str] = {}  # this batch's: email -> why its contact failed

    def write_contacts(self, plan: PeoplePlan) -> None:
        self._failed_emails = {}
        for person in plan.no_email:
            self.summary.skip_record("people without email", person.person_id)
            reason = PP.no_email_reason(person.person)
            self.shared.dead_letter("people", person.person_id, person.record, reason)
        self.shared.parallel(sorted(plan.by_email.items()), self._write_contact)

    def _write_contact(self, item: tuple[str, list[ChosenPerson]]) -> None:
        email, persons = item
        chosen = max(persons, key=lambda p: modified(p.person))
        self._warn_shared_email(email, {p.person_id for p in persons}, chosen)
        try:
            self.contacts.upsert(
                contact(
                    email,
                    chosen.person,
                    chosen.person_id,
                    authoritative=chosen.source == "people",
                )
            )
            for person in persons:
                self.shared.deadletters.discard("people", person.person_id)
        except RECORD_FAILURES as exc:
            # Once a run, however many batches hold this person's records.
            self.summary.count_object(PdiObject.CONTACT, contact_key(email), Outcome.FAILED)
            with self._lock:
                self._failed_emails[email] = str(exc)
            for person in persons:
                reason = f"contact upsert failed: {exc}"
                self.shared.dead_letter("people", person.person_id, person.record, reason, exc)

    def _warn_shared_email(self, email: str, people: set[int], chosen: ChosenPerson) -> None:
        """Contacts are matched by email only: people sharing one get one contact, which can
        bear only one name. Say so, whether they are in this batch or one came earlier."""
        named_after = chosen.person_id
        entry = self.idmap.get(PdiObject.CONTACT, contact_key(email))
        if entry is not None and entry.mobilize_id not in (None, chosen.person_id):
            assert entry.mobilize_id is not None
            people = {*people, entry.mobilize_id}
            written = int(entry.extra.get("person_modified") or 0)
            if (V.to_epoch(chosen.person.get("modified_date")) or 0) < written:
                named_after = entry.mobilize_id
        if len(people) > 1:
            LOGGER.warning(
                "People %s and %s share one email address: one PDI contact, named after "
                "person %s (the most recently modified)",
                ", ".join(map(str, sorted(people - {named_after}))),
                named_after,
                named_after,
            )

    def write_invitations(
        self,
        planned: list[PlannedSignup],
        moved_people: Mapping[int, set[str]],
        people_seen: Mapping[int, Mapping[str, Any]],
    ) -> None:
        work = self.signups.from_planned(planned, self._failed_emails)
        for signup in self.signups.of_moved_people(moved_people, people_seen):
            work.setdefault(signup.key, signup)
        self.signups.write_all(list(work.values()))
