"""What the sync cancels, and live PDI objects beyond the one it keeps for each record.

A PDI event must be canceled ("[Canceled] " and every invitation "Cancelled") when its Mobilize
event is deleted or no longer approved, when its timeslot was removed, when it is the old copy
of an event moved to another calendar, and when it is one more live event of a Mobilize event
than its timeslots (a copy a PDI user made, a second one a crash left). An invitation whose
person's email changed must stay "Cancelled" on the old email's contact. PDI users can undo
each of these; the sync alone would not see it again, since the id map says it is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from target_pdi.operator_tools.reconcile.comparison import Comparison
from target_pdi.operator_tools.reconcile.found import (
    DELETED_LIVE,
    EXTRA_EVENT,
    INVITATION_LIVE,
    MOVED_LIVE,
    REMOVED_LIVE,
    SUPERSEDED_LIVE,
    UNAPPROVED_LIVE,
    Mend,
    span,
)
from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import (
    PdiObject,
    invitation_key,
    invitation_parts,
    is_timeslot_key,
    mobilize_event_key,
    timeslot_of,
)
from target_pdi.sync.planning import events as plans
from target_pdi.sync.planning.events import DELETED, MOVED, PERMANENT, REMOVED, UNAPPROVED
from target_pdi.sync.recovery import lower_keys, row_is_canceled
from target_pdi.sync.writers.invitations import invitation_id

EVENT, INVITATION = PdiObject.EVENT, PdiObject.INVITATION
CANCELLED = "Cancelled"
# Why the id map keeps an event canceled for good, as a report says it.
KIND_OF = {DELETED: DELETED_LIVE, REMOVED: REMOVED_LIVE, MOVED: MOVED_LIVE}
WHY = {
    DELETED: "deleted in Mobilize",
    REMOVED: "its timeslot removed in Mobilize",
    MOVED: "moved to another calendar",
}


@dataclass(frozen=True)
class ToCancel:
    """A PDI event the sync has canceled, or would cancel."""

    kind: str  # the discrepancy when PDI shows it live
    mobilize_key: str
    why: str
    reason: str  # plan.DELETED, ...: what the id map keeps
    event_id: int | None
    key: str | None  # its id-map key; None when the map does not know it
    rerun: Mend = field(default_factory=Mend)


def check(c: Comparison) -> None:
    wanted: dict[str, ToCancel] = {}
    for pdi_id, item in should_be_canceled(c):
        wanted.setdefault(pdi_id, item)  # the first reason found is the one listed
    for pdi_id, item in sorted(wanted.items()):
        check_one(c, pdi_id, item)
    extra_events(c, set(wanted))
    superseded(c)


def should_be_canceled(c: Comparison) -> Iterator[tuple[str, ToCancel]]:
    """The PDI events the sync's plan cancels (its deleted events, its events not approved, its
    removed timeslots: `planning.batch.BatchPlan`), every PDI event that names those events,
    and those the id map keeps canceled for good."""
    for event_id in sorted(c.plan.deleted):
        rerun = Mend(deleted_events=(event_id,))
        site = mobilize_event_key(event_id)
        yield from of_event(c, event_id, site, DELETED_LIVE, WHY[DELETED], DELETED, rerun)
    for event_id, event in sorted(c.plan.events.unapproved, key=lambda item: item[0]):
        status = str(event.get("approval_status") or "").upper()
        site = P.site_key(P.event_payload_website(event)) or mobilize_event_key(event_id)
        rerun = Mend(events=(event_id,))
        why = f"{status} in Mobilize"
        yield from of_event(c, event_id, site, UNAPPROVED_LIVE, why, UNAPPROVED, rerun)
    for event_id, key in sorted(c.plan.events.removed):
        # Canceled as not approved before its timeslot was removed: the sync only records
        # the new reason, so PDI must show it canceled too.
        entry = c.idmap.get(EVENT, key)
        assert entry is not None
        mobilize_key = f"timeslot:{timeslot_of(key)}"
        item = ToCancel(REMOVED_LIVE, mobilize_key, WHY[REMOVED], REMOVED, event_id, key)
        yield entry.pdi_id, item
    for key, entry in c.idmap.items(EVENT):
        reason = plans.canceled_reason(entry)
        if reason not in PERMANENT:
            continue
        assert reason is not None
        if is_timeslot_key(key):
            mobilize_key = f"timeslot:{timeslot_of(key)}"
        else:
            mobilize_key = f"event:{entry.mobilize_id}"
        item = ToCancel(KIND_OF[reason], mobilize_key, WHY[reason], reason, entry.mobilize_id, key)
        yield entry.pdi_id, item


def of_event(
    c: Comparison, event_id: int, site: str, kind: str, why: str, reason: str, rerun: Mend
) -> Iterator[tuple[str, ToCancel]]:
    """Every PDI event of one Mobilize event: those the id map knows, those naming it. One
    the map keeps canceled for good (a moved event's old copy) keeps its reason."""
    known = {
        entry.pdi_id: (key, plans.canceled_reason(entry))
        for key, entry in c.idmap.keys_for_mobilize_id(EVENT, event_id)
    }
    named = {pdi_id for pdi_id, _ in c.by_identity.get(site, [])}
    mobilize_key = f"event:{event_id}"
    for pdi_id in sorted(set(known) | named):
        key, had = known.get(pdi_id, (None, None))
        if had in PERMANENT and had != reason:
            assert had is not None
            item = ToCancel(KIND_OF[had], mobilize_key, WHY[had], had, event_id, key, rerun)
        else:
            item = ToCancel(kind, mobilize_key, why, reason, event_id, key, rerun)
        yield pdi_id, item


def check_one(c: Comparison, pdi_id: str, item: ToCancel) -> None:
    row = c.pdi.events.get(pdi_id)
    if row is None:
        return  # gone from PDI: listed with the id map's stale ids, if the map names it
    live = not row_is_canceled(row)
    if item.key is not None:
        mend = Mend(cancel=((item.key, item.reason),)) | item.rerun
        if live:
            mend = Mend(forget=((EVENT, item.key),)) | mend
        fix = "canceled again by the sync"
    elif (
        live
        and item.event_id is not None
        and not c.idmap.keys_for_mobilize_id(EVENT, item.event_id)
    ):
        # The id map knows nothing of this Mobilize event: the sync's own recovery finds its
        # PDI events by their website, as after a lost id map.
        mend, fix = item.rerun, "canceled by the sync (found by its website)"
    elif item.event_id is not None:
        mend = Mend(retire=((pdi_id, item.event_id, item.reason),)) | item.rerun
        fix = "canceled by the sync (found by its website)"
    else:
        return  # a canceled event of an id map from before Mobilize ids were kept
    if live:
        found = f"live: {lower_keys(row).get('name')}"
        c.add(item.kind, item.mobilize_key, pdi_id, f"canceled ({item.why})", found, fix, mend)
        return
    for contact_id, rows in sorted(c.pdi.invitations.get(pdi_id, {}).items()):
        inv_key = invitation_key(pdi_id, contact_id)
        known = c.idmap.get(INVITATION, inv_key) is not None
        forget = Mend(forget=((INVITATION, inv_key),)) if known else Mend()
        for inv in rows:
            status = str(lower_keys(inv).get("rsvpstatus") or "")
            if status == CANCELLED:
                continue
            c.add(
                INVITATION_LIVE,
                item.mobilize_key,
                invitation_id(inv),
                f"{CANCELLED} (its event: {item.why})",
                status or "(empty)",
                "canceled again by the sync",
                forget | mend,
            )


def extra_events(c: Comparison, to_cancel: set[str]) -> None:
    """Live PDI events the sync's recovery would take for a Mobilize event the sync writes (its
    website names it; without a website, its name and end), beyond the one it keeps for each
    timeslot: canceled, as the sync's recovery cancels those it finds."""
    found_by: dict[str, int] = {}
    for key, job in c.jobs.items():
        if job.event_id is not None:
            for identity in c.identities[key]:
                found_by.setdefault(identity, job.event_id)
    seen: set[str] = set()
    for identity, event_id in sorted(found_by.items()):
        for pdi_id, row in c.by_identity.get(identity, []):
            if pdi_id in seen or pdi_id in c.claimed or pdi_id in to_cancel:
                continue
            seen.add(pdi_id)
            if row_is_canceled(row) or c.idmap.owns(EVENT, pdi_id):
                continue  # what the id map keeps is checked as its own
            low = lower_keys(row)
            start = V.parse_pdi_datetime(low.get("startdatetimeutc"))
            slot = next(
                (
                    s
                    for s in c.live.values()
                    if s.job.event_id == event_id
                    and start is not None
                    and s.job.start == int(start.timestamp())
                ),
                None,
            )
            if slot is not None:
                mobilize_key = f"timeslot:{slot.job.timeslot.get('id')}"
                expected = f"one live PDI event: {slot.pdi_id}"
            else:
                mobilize_key, expected = f"event:{event_id}", "no PDI event at this time"
            found = f"live: {low.get('name')}, {span(start, low.get('enddatetimeutc'))}"
            mend = Mend(retire=((pdi_id, event_id, REMOVED),))
            fix = "canceled by the sync, with its invitations"
            c.add(EXTRA_EVENT, mobilize_key, pdi_id, expected, found, fix, mend)


def superseded(c: Comparison) -> None:
    """Invitations of a signup whose person's email changed: the old email's contact keeps
    its invitation, "Cancelled"; the new one's is compared as the signup's."""
    live_events = {slot.pdi_id for slot in c.live.values()}
    for key, entry in c.idmap.items(INVITATION):
        if key in c.checked_invitations or "live" not in entry.extra:
            continue
        if entry.extra["live"] is not None:
            continue  # the signup's own invitation
        event_id, contact_id = invitation_parts(key)
        if event_id not in live_events:
            continue  # on a canceled event: checked with it
        mend = Mend(forget=((INVITATION, key),), superseded=(key,))
        for row in c.pdi.invitations.get(event_id, {}).get(contact_id, []):
            status = str(lower_keys(row).get("rsvpstatus") or "")
            if status == CANCELLED:
                continue
            c.add(
                SUPERSEDED_LIVE,
                f"attendance:{entry.mobilize_id}",
                invitation_id(row),
                f"{CANCELLED} (its person's email changed)",
                status or "(empty)",
                "canceled again by the sync",
                mend,
            )
