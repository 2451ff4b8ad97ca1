"""An email over 249 characters keys its contact like any other (issue 19, a suspicion).

The id map stores a key over 255 characters as a prefix and its sha256 (idmap.stored_key), and
`email:` + 250 characters is one. `plan_people` compared the keys the map returned (stored)
with the plain key of the person's current email, so a person's current contact looked like
the contact of an old email: every batch holding that person took them for someone whose email
had changed, and walked every invitation of the id map to move theirs. The comparison is now
made on stored keys; a person whose email did change is still found.
"""

from __future__ import annotations

import make_fixtures as F
from target_pdi.rules.vocabulary import PdiObject, contact_key
from target_pdi.stores.idmap import IdMap, stored_key
from target_pdi.sync.planning.people import plan_people

LONG = "a" * 240 + "@example.org"  # 252 characters: its contact key is stored hashed


def test_the_key_of_a_long_email_is_stored_hashed() -> None:
    assert len(LONG) == 252
    assert stored_key(contact_key(LONG)) != contact_key(LONG)


def contact_of(idmap: IdMap, email: str, pdi_id: str, person_id: int) -> None:
    idmap.put(PdiObject.CONTACT, contact_key(email), pdi_id, "hash", mobilize_id=person_id)


def test_a_person_whose_long_email_is_unchanged_has_no_old_contact() -> None:
    idmap = IdMap("sqlite://")
    contact_of(idmap, LONG, "c1", 1)
    idmap.flush()
    person = F.person(1, "Ann", "Lee", LONG)
    plan = plan_people([person], [], {1: person}, idmap, everyone=False)
    assert list(plan.by_email) == [LONG]
    assert plan.moved == {}


def test_a_person_whose_email_changed_to_or_from_a_long_one_leaves_the_old_contact() -> None:
    idmap = IdMap("sqlite://")
    contact_of(idmap, "ann@example.org", "c1", 1)
    contact_of(idmap, LONG, "c2", 1)
    contact_of(idmap, "b" * 240 + "@example.org", "c3", 2)
    contact_of(idmap, "bob@example.org", "c4", 2)
    idmap.flush()
    ann = F.person(1, "Ann", "Lee", LONG, modified=60)  # from a short email to a long one
    bob = F.person(2, "Bob", "Ray", "bob@example.org", modified=60)  # and back
    plan = plan_people([ann, bob], [], {1: ann, 2: bob}, idmap, everyone=False)
    assert plan.moved == {1: {"c1"}, 2: {"c3"}}
