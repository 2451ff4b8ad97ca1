"""Id map entries whose PDI object is gone: each forgotten, or its object made again when
Mobilize still has what it was made from (with the invitations that hang on it)."""

from __future__ import annotations

from target_pdi.operator_tools.reconcile.comparison import Comparison
from target_pdi.operator_tools.reconcile.found import STALE_ID, Mend
from target_pdi.rules import payloads as P
from target_pdi.rules.vocabulary import PdiObject, invitation_parts
from target_pdi.sync.planning import events as plans
from target_pdi.sync.planning.events import PERMANENT

EVENT, CONTACT, INVITATION, LOCATION = (
    PdiObject.EVENT,
    PdiObject.CONTACT,
    PdiObject.INVITATION,
    PdiObject.LOCATION,
)


def check(c: Comparison) -> None:
    locations(c)
    contacts(c)
    events(c)
    invitations(c)


def locations(c: Comparison) -> None:
    for key, entry in c.idmap.items(LOCATION):
        if entry.pdi_id in c.pdi.locations:
            continue
        users = sorted(
            {
                j.event_id
                for j in c.jobs.values()
                if j.event_id is not None and P.location_key(j.event) == key
            }
        )
        if users:
            mend = Mend(forget=((LOCATION, key),), events=tuple(users))
            fix = "made again by the sync; its events point to it"
        else:
            mend, fix = Mend(drop=((LOCATION, key),)), "forgotten (no event uses it)"
        c.add(STALE_ID.format("location"), key, entry.pdi_id, "a PDI location", "none", fix, mend)


def contacts(c: Comparison) -> None:
    for key, entry in c.idmap.items(CONTACT):
        if entry.pdi_id in c.pdi.contacts:
            continue
        invitations = tuple(
            (INVITATION, k)
            for k, _ in c.idmap.items(INVITATION)
            if invitation_parts(k)[1] == entry.pdi_id
        )
        signups = c.contact_signups.get(entry.pdi_id, [])
        people = {p for _, p in signups if p in c.mobilize.people}
        person = entry.mobilize_id
        if person in c.mobilize.people:
            people.add(person)
        if people or signups:
            mend = Mend(
                forget=((CONTACT, key),),
                drop=invitations,
                people=tuple(sorted(p for p in people if p is not None)),
                attendances=tuple(sorted(a for a, _ in signups)),
            )
            fix = f"made again by the sync, with {len(signups)} invitation(s)"
        else:
            mend = Mend(drop=((CONTACT, key), *invitations))
            fix = "forgotten (no Mobilize person has this email now)"
        c.add(STALE_ID.format("contact"), key, entry.pdi_id, "a PDI contact", "none", fix, mend)


def events(c: Comparison) -> None:
    for key, entry in c.idmap.items(EVENT):
        if key in c.jobs or entry.pdi_id in c.pdi.events:
            continue
        reason = plans.canceled_reason(entry)
        tombstones = (key,) if key.startswith("ts:") and reason in PERMANENT else ()
        mend = Mend(drop=((EVENT, key),), tombstones=tombstones)
        what = f"a PDI event ({'canceled: ' + reason if reason else 'live'})"
        c.add(STALE_ID.format("event"), key, entry.pdi_id, what, "none", "forgotten", mend)


def invitations(c: Comparison) -> None:
    for key, entry in c.idmap.items(INVITATION):
        event_id, contact_id = invitation_parts(key)
        if key in c.checked_invitations or event_id not in c.pdi.events:
            continue  # checked as a signup, or its event is listed (or gone: listed there)
        if contact_id not in c.pdi.contacts:
            continue  # its contact is listed
        if entry.pdi_id in c.pdi.invitation_ids(event_id):
            continue
        mend = Mend(drop=((INVITATION, key),))
        c.add(
            STALE_ID.format("invitation"),
            key,
            entry.pdi_id,
            "a PDI invitation",
            "none",
            "forgotten",
            mend,
        )
