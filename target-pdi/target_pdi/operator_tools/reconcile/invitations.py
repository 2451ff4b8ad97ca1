"""The PDI invitation of each Mobilize signup whose event is expected: one per contact and
event, with the signup's RSVP, attendance and confirmation.

A signup is checked as the sync writes it: the latest one of each email on each timeslot,
on the contact the sync writes that email's invitations to. The signups of an event or a
contact the sync must make again are not listed here: they come back with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_pdi.operator_tools.reconcile.comparison import Comparison, LiveSlot
from target_pdi.operator_tools.reconcile.found import (
    CANNOT,
    EXTRA_INVITATION,
    MISSING_INVITATION,
    WRONG_ATTENDED,
    WRONG_CONFIRMED,
    WRONG_RSVP,
    Mend,
)
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import PdiObject, contact_key, invitation_key
from target_pdi.sync.planning import events as plans
from target_pdi.sync.recovery import lower_keys
from target_pdi.sync.writers.invitations import invitation_id

CONTACT, INVITATION = PdiObject.CONTACT, PdiObject.INVITATION
# The latest signup of one email on one timeslot: (its order, its id, its person, itself).
Latest = tuple[tuple[int, int], int, int | None, Mapping[str, Any]]


def check(c: Comparison) -> None:
    for (ts_id, email), (_, att_id, person_id, att) in sorted(latest_signups(c).items()):
        c.result.checked.signups += 1
        contact_id, gone = contact_for(c, email)
        if gone:
            assert contact_id is not None
            c.contact_signups.setdefault(contact_id, []).append((att_id, person_id))
        if ts_id in c.missing:
            c.missing[ts_id].signups.append((att_id, person_id))
        elif not gone:
            check_one(c, c.live[ts_id], email, att_id, person_id, att, contact_id)


def latest_signups(c: Comparison) -> dict[tuple[int, str], Latest]:
    """(timeslot id, email) -> the signup the sync writes, of every expected timeslot: the
    plan's signups (`SignupsPlan.signups`, each with the person the sync takes for it), the
    latest of each email on each timeslot winning as in `SignupWriter.from_planned`; the
    signups the sync dead-letters are counted and left out."""
    latest: dict[tuple[int, str], Latest] = {}
    for signup in c.plan.signups.signups:
        ts_id, att_id, person_id = signup.timeslot_id, signup.attendance_id, signup.person_id
        if ts_id not in c.live and ts_id not in c.missing:
            continue
        email = PP.person_email(signup.person) if signup.person else None
        if email is None:
            continue  # the sync dead-letters it: PDI matches contacts by email only
        if ("attendances", str(att_id)) in c.dead_letters or (
            "people",
            str(person_id),
        ) in c.dead_letters:
            c.result.checked.dead_lettered += 1
            continue
        order = (plans.modified(signup.attendance)[0], att_id)
        if (ts_id, email) not in latest or order >= latest[(ts_id, email)][0]:
            latest[(ts_id, email)] = (order, att_id, person_id, signup.attendance)
    return latest


def contact_for(c: Comparison, email: str) -> tuple[str | None, bool]:
    """(the PDI contact the sync writes this email's invitations to, whether it is gone)."""
    entry = c.idmap.get(CONTACT, contact_key(email))
    if entry is not None:
        return entry.pdi_id, entry.pdi_id not in c.pdi.contacts
    holders = c.pdi.contacts_of(email)
    return (holders[0] if holders else None), False


def check_one(
    c: Comparison,
    slot: LiveSlot,
    email: str,
    att_id: int,
    person_id: int | None,
    att: Mapping[str, Any],
    contact_id: str | None,
) -> None:
    key = f"attendance:{att_id}"
    people = (person_id,) if person_id in c.mobilize.people else ()
    assert person_id is None or isinstance(person_id, int)
    rerun = Mend(attendances=(att_id,), people=tuple(p for p in people if p is not None))
    if contact_id is None:
        want = PP.invitation_payload(att, "")
        expected = f"{email}: {want['rsvpStatus']}"
        found, fix = "no PDI contact", "invited by the sync"
        c.add(MISSING_INVITATION, key, slot.pdi_id, expected, found, fix, rerun)
        return
    inv_key = invitation_key(slot.pdi_id, contact_id)
    c.checked_invitations.add(inv_key)
    want = PP.invitation_payload(att, contact_id)
    rows = c.pdi.invitations.get(slot.pdi_id, {}).get(contact_id, [])
    entry = c.idmap.get(INVITATION, inv_key)
    known = entry.pdi_id if entry is not None else None
    row = next((r for r in rows if invitation_id(r) == known), rows[0] if rows else None)
    if entry is not None and row is not None and invitation_id(row) != known:
        # The id map names an invitation PDI lost, but PDI lists another one of this
        # contact: forgotten, so that the sync finds that one instead of inviting again.
        mend = Mend(drop=((INVITATION, inv_key),)) | rerun
    elif entry is not None:
        mend = Mend(forget=((INVITATION, inv_key),)) | rerun
    else:
        mend = rerun
    if row is None:
        expected = f"{email}: {want['rsvpStatus']}"
        fix = "invited by the sync"
        c.add(MISSING_INVITATION, key, slot.pdi_id, expected, "none", fix, mend)
        return
    inv_id = invitation_id(row)
    for other in rows:
        if other is not row:
            fix = (
                f"{CANNOT}PDI's API deletes no invitation: delete this one in PDI; the "
                f"sync writes to {inv_id}"
            )
            found = f"{len(rows)} invitations of its contact"
            c.add(EXTRA_INVITATION, key, invitation_id(other), f"{email}: one", found, fix)
    compare_invitation(c, key, inv_id, email, lower_keys(row), want, mend)


def compare_invitation(
    c: Comparison,
    key: str,
    inv_id: str,
    email: str,
    low: Mapping[str, Any],
    want: Mapping[str, Any],
    mend: Mend,
) -> None:
    fix = "rewritten by the sync"
    for kind, name in (
        (WRONG_ATTENDED, "attended"),
        (WRONG_RSVP, "rsvpStatus"),
        (WRONG_CONFIRMED, "isConfirmed"),
    ):
        if V.same_content(low, {name: want[name]}):
            continue
        value = low.get(name.lower())
        shown = str(value).lower() if isinstance(value, bool) else str(value or "(empty)")
        wanted = want[name]
        wanted_text = str(wanted).lower() if isinstance(wanted, bool) else str(wanted)
        c.add(kind, key, inv_id, f"{email}: {wanted_text}", shown, fix, mend)
