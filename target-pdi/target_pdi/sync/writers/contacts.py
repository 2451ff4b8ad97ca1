"""Contacts: matched by email only; the sync owns their names and adds the person's phone to
the contact it makes, or finds without that phone."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject, contact_key
from target_pdi.stores.idmap import Entry
from target_pdi.sync.recovery import ContactFinder, lower_keys, row_emails
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.base import Item, Row, Writer

LOGGER = logging.getLogger("target-pdi")


@dataclass
class ContactItem(Item):
    email: str = ""
    names: dict[str, Any] = field(default_factory=dict)  # the fields the sync owns
    phone: str | None = None
    # Only a `people` record may rename a contact found in PDI without an id-map entry: an
    # attendance's embedded copy can be older than what is already there.
    authoritative: bool = True

    @property
    def person_modified(self) -> int:
        return int(self.extra.get("person_modified") or 0)


def contact(
    email: str, person: Mapping[str, Any], person_id: int, *, authoritative: bool = True
) -> ContactItem:
    payload = PP.contact_payload(person)
    return ContactItem(
        contact_key(email),
        payload,
        person_id,
        {"person_modified": V.to_epoch(person.get("modified_date")) or 0},
        email=email,
        names={"firstName": payload["firstName"], "lastName": payload["lastName"]},
        phone=PP.person_phone(person),
        authoritative=authoritative,
    )


class ContactWriter(Writer[ContactItem]):
    kind = PdiObject.CONTACT
    shared_by_records = True

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self.finder = ContactFinder(shared.client)

    def is_current(self, entry: Entry, item: ContactItem) -> bool:
        # Unchanged, or older (e.g. an attendance's embedded copy) than what we wrote.
        written = int(entry.extra.get("person_modified") or 0)
        return entry.content_hash == item.digest or item.person_modified < written

    def find(self, item: ContactItem) -> Row | None:
        return self.finder.find(item.email, item.names["firstName"], item.names["lastName"])

    def adopt(self, pdi_id: str, row: Row, item: ContactItem) -> Outcome | None:
        if V.same_content(row, item.names) or not item.authoritative:
            outcome: Outcome | None = Outcome.UNCHANGED
        else:
            outcome = self.update(pdi_id, item)
        if outcome is not None:
            # A run that died between this contact's POST and its phone's never added it; it
            # cannot be told from a contact made elsewhere, so either gets the phone it lacks.
            self._add_missing_phone(pdi_id, row, item.phone)
        return outcome

    def update(self, pdi_id: str, item: ContactItem) -> Outcome | None:
        """Read the contact, change only what the sync owns, write it back (a PUT may replace
        the whole contact)."""
        current = self.finder.read(pdi_id, fresh=True)
        if current is None:
            return None
        if V.same_content(current, item.names):
            return Outcome.UNCHANGED
        outcome = self.put(f"/contacts/{pdi_id}", PP.contact_update_body(current, item.names))
        if outcome is not None:
            self.finder.forget(pdi_id)
        return outcome

    def create(self, item: ContactItem) -> str:
        result = self.client.create("/contacts", item.payload, lambda: self.find(item))
        pdi_id = object_id(result) or ""
        if not pdi_id:
            raise RecordRejected("PDI created a contact but returned no id")
        self._add_phone(pdi_id, item.phone)
        return pdi_id

    def _add_missing_phone(self, contact_id: str, row: Row, number: str | None) -> None:
        """Add the phone to a contact found in PDI unless it shows that number already. The
        row found shows its phones (a search row that carries them, or the contact read to
        confirm its email): no request to check."""
        if not number:
            return
        shown = row if "phones" in lower_keys(row) else self.finder.read(contact_id)
        if shown is not None and matching_phone(shown, number) is None:
            self._add_phone(contact_id, number)

    def _add_phone(self, contact_id: str, number: str | None) -> bool:
        """Whether PDI took the phone."""
        # Added to a contact the sync makes or finds without it, never on a change: PDI has no
        # known phone list or update endpoint, so adding on every change would pile them up.
        if not number:
            return False
        try:
            self.client.create(
                f"/contacts/{contact_id}/phones",
                PP.phone_payload(number),
                lambda: self._find_phone(contact_id, number),
            )
        except RecordRejected as exc:
            self.summary.skip("phones rejected by PDI")
            LOGGER.warning(
                "PDI rejected the phone of contact %s (HTTP %s); contact kept",
                contact_id,
                exc.http_status,
            )
            return False
        return True

    # --- what reconcile --fix gives back to a contact a PDI user changed ---------------------

    def ensure_email(self, contact_id: str, email: str) -> bool:
        """Add the email the sync matches this contact by, unless it holds it (its other
        emails are left as they are); True when added."""
        if self._holding_email(contact_id, email) is not None:
            return False
        self.client.create(
            f"/contacts/{contact_id}/emails",
            {"emailAddress": email, "isPrimary": False},
            lambda: self._holding_email(contact_id, email),
        )
        self.finder.forget(contact_id)
        self.count(Outcome.UPDATED)
        return True

    def ensure_phone(self, contact_id: str, number: str) -> bool:
        """Add the person's phone unless the contact holds it; True when PDI took it."""
        if self._find_phone(contact_id, number) is not None or not self._add_phone(
            contact_id, number
        ):
            return False
        self.finder.forget(contact_id)
        self.count(Outcome.UPDATED)
        return True

    def _holding_email(self, contact_id: str, email: str) -> Row | None:
        contact = self.finder.read(contact_id, fresh=True)
        if contact is None:
            raise RecordRejected(f"contact {contact_id} is not in PDI", http_status=404)
        return contact if email in row_emails(contact) else None

    def _find_phone(self, contact_id: str, number: str) -> Row | None:
        contact = self.finder.read(contact_id, fresh=True)
        return matching_phone(contact, number) if contact is not None else None


def matching_phone(contact: Row, number: str) -> Row | None:
    """The phone of a PDI contact with the same digits as ``number``, if it shows one."""
    digits = "".join(ch for ch in number if ch.isdigit())
    phones = lower_keys(contact).get("phones")
    for phone in phones if isinstance(phones, list) else []:
        if isinstance(phone, Mapping):
            value = str(lower_keys(phone).get("phonenumber") or "")
            if "".join(ch for ch in value if ch.isdigit()) == digits:
                return dict(phone)
    return None
