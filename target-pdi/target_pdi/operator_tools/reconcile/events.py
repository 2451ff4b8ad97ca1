"""The PDI event of each timeslot the sync's plan expects: there, live, in its calendar, at its
time, with every field the sync writes; or to be made (again), with its signups.

What PDI should hold comes from the sync's own plan of everything Mobilize says
(`planning.batch.plan_of_records`, its event jobs: approved, routed, not deleted; one PDI event
per timeslot in the calendar its type routes to) and payloads. A
timeslot the id map does not know is matched as the sync's recovery would adopt a PDI event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_pdi.operator_tools.reconcile.comparison import Comparison, LiveSlot, MissingSlot
from target_pdi.operator_tools.reconcile.found import (
    EVENT_FIELDS,
    MISSING_EVENT,
    WRONG_CALENDAR,
    WRONG_TIME,
    Mend,
    differing,
    fields_text,
    span,
)
from target_pdi.operator_tools.reconcile.pdi_state import Row
from target_pdi.rules import payloads as P
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import PdiObject, mobilize_event_key
from target_pdi.sync.planning import events as plans
from target_pdi.sync.planning.events import PERMANENT, EventJob
from target_pdi.sync.recovery import lower_keys, row_is_canceled

EVENT = PdiObject.EVENT
TIMES = ("startDateTimeUtc", "endDateTimeUtc")
# A payload that cannot be computed (a timeslot without a start, an impossible date) is one
# the sync dead-letters: there is nothing to compare it with.
UNWRITABLE = (ValueError, OverflowError, OSError)


def recovery_identities(payload: Mapping[str, Any], event_id: int | None) -> tuple[str, ...]:
    """What the sync's recovery finds the PDI event of this payload by, in its order
    (`recovery.PdiEvents.claim_made`): the payload's identity, the Mobilize event a website
    names, its name and end. So an event Mobilize left without a page is found too."""
    found = (
        P.event_identity(payload),
        mobilize_event_key(event_id) if event_id is not None else None,
        P.unsited_identity(payload),
    )
    return tuple(dict.fromkeys(i for i in found if i is not None))


def check(c: Comparison) -> None:
    for job in c.plan.events.jobs:
        if plans.canceled_reason(c.idmap.get(EVENT, job.key)) in PERMANENT:
            continue  # canceled for good, whatever Mobilize lists: checked as canceled
        try:
            want = P.event_payload(job.event, job.timeslot, c.location_id(job.event))
        except UNWRITABLE:
            continue  # the sync dead-letters it
        c.jobs[job.key] = job
        c.identities[job.key] = recovery_identities(want, job.event_id)
        c.result.checked.timeslots += 1
        check_one(c, job, want)


def check_one(c: Comparison, job: EventJob, want: dict[str, Any]) -> None:
    """The timeslot's PDI event: missing (listed with its signups, later), or live and
    compared."""
    ts_id = V.mobilize_id(job.timeslot.get("id"))
    assert ts_id is not None
    assert job.event_id is not None
    calendar = c.calendar_name(job.calendar_id)
    expected = f"{calendar}, {span(want['startDateTimeUtc'], want['endDateTimeUtc'])}"
    entry = c.idmap.get(EVENT, job.key)
    rerun = Mend(events=(job.event_id,))
    if entry is None:
        pdi_id, row = recoverable(c, job)
        if row is None:
            c.missing[ts_id] = MissingSlot(job, "", expected, "none", "created by the sync", rerun)
            return
    else:
        pdi_id, row = entry.pdi_id, c.pdi.events.get(entry.pdi_id)
        rerun = Mend(forget=((EVENT, job.key),)) | rerun
        if row is None:
            found, fix = "gone from PDI (the id map names it)", "made again by the sync"
            c.missing[ts_id] = MissingSlot(job, pdi_id, expected, found, fix, rerun)
            return
        if row_is_canceled(row) or plans.canceled_reason(entry) is not None:
            found = f"canceled: {lower_keys(row).get('name')}"
            fix = "made live again by the sync"
            c.claimed.add(pdi_id)
            c.missing[ts_id] = MissingSlot(job, pdi_id, expected, found, fix, rerun)
            return
    c.claimed.add(pdi_id)
    c.live[ts_id] = LiveSlot(job, pdi_id)
    compare_live(c, job, want, pdi_id, row, rerun)


def compare_live(
    c: Comparison, job: EventJob, want: dict[str, Any], pdi_id: str, row: Row, rerun: Mend
) -> None:
    """A live PDI event against the sync's payload: its calendar, its time, its fields."""
    assert job.event_id is not None
    key = f"timeslot:{V.mobilize_id(job.timeslot.get('id'))}"
    calendar = c.calendar_name(job.calendar_id)
    low = lower_keys(row)
    has_calendar = str(low.get("calendarid") or "")
    if has_calendar and has_calendar != job.calendar_id:
        # The move makes it anew with every field: nothing else of it to list.
        fix = "moved by the sync: made in its calendar with its invitations, this one canceled"
        mend = Mend(calendar=((job.key, has_calendar),), events=(job.event_id,))
        found = c.calendar_name(has_calendar)
        c.add(WRONG_CALENDAR, key, pdi_id, calendar, found, fix, mend)
        return
    if differing(row, want, TIMES):
        found = span(low.get("startdatetimeutc"), low.get("enddatetimeutc"))
        want_span = span(want["startDateTimeUtc"], want["endDateTimeUtc"])
        c.add(WRONG_TIME, key, pdi_id, want_span, found, "rewritten by the sync", rerun)
    names = [n for n in want if n not in TIMES and (n != "locationId" or want[n])]
    wrong = differing(row, want, names)
    if wrong:
        c.add(
            EVENT_FIELDS,
            key,
            pdi_id,
            fields_text(wrong, want),
            fields_text(wrong, row),
            "rewritten by the sync",
            rerun,
        )


def recoverable(c: Comparison, job: EventJob) -> tuple[str, Row | None]:
    """The live PDI event the sync's recovery would adopt for a timeslot the id map does
    not know (found as `recovery_identities` says, same start): the first PDI lists."""
    start = job.start
    for identity in c.identities[job.key]:
        for pdi_id, row in c.by_identity.get(identity, []):
            row_start = V.parse_pdi_datetime(lower_keys(row).get("startdatetimeutc"))
            owned = c.idmap.owns(EVENT, pdi_id) or pdi_id in c.claimed
            if owned or row_is_canceled(row) or row_start is None or start is None:
                continue
            if int(row_start.timestamp()) == start:
                return pdi_id, row
    return "", None


def missing(c: Comparison) -> None:
    """Each timeslot whose event the sync makes (again), with its signups: --fix runs them
    through the sync with the event, so its invitations are made with it, on whichever
    contacts the sync then has."""
    for ts_id, slot in sorted(c.missing.items()):
        attendances = tuple(sorted({a for a, _ in slot.signups}))
        people = tuple(sorted({p for _, p in slot.signups if p in c.mobilize.people}))
        mend = slot.mend | Mend(attendances=attendances, people=people)
        fix = slot.fix + (f", with {len(attendances)} invitation(s)" if attendances else "")
        key = f"timeslot:{ts_id}"
        c.add(MISSING_EVENT, key, slot.pdi_id, slot.expected, slot.found, fix, mend)
