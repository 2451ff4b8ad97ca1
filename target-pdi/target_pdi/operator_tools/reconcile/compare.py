"""Mobilize against PDI: every discrepancy, each with how --fix mends it (or why it cannot).

What PDI should hold comes from the sync's own code: its plan (`planning.batch`: approved,
routed, not deleted; one PDI event per timeslot in the calendar its type routes to), its
payloads (every field the sync writes of a location, an event, a contact and an invitation)
and its id map (which PDI object is whose). Each PDI object has its check: `events.py`,
`invitations.py` (the signups), `locations.py`, `contacts.py` (and their phones), what the
sync would cancel and live PDI objects beyond the one it keeps for each record in
`canceled.py`, and id map entries whose object is gone in `stale_ids.py`. Nothing here does
I/O: the caller reads Mobilize (through the tap) and PDI (through the client) first.

The order matters: the signups are checked on the events found live, and listed with the
events to make; a discrepancy another one explains is not listed twice (the invitations of a
PDI event that is gone, or of a contact that is gone, come back with it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from target_pdi.operator_tools.reconcile import (
    canceled,
    contacts,
    events,
    invitations,
    locations,
    stale_ids,
)
from target_pdi.operator_tools.reconcile.comparison import Comparison
from target_pdi.operator_tools.reconcile.found import KINDS, Result
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData
from target_pdi.operator_tools.reconcile.pdi_state import PdiState
from target_pdi.rules.routing import CalendarRouter
from target_pdi.stores.idmap import IdMap


def compare(
    mobilize: MobilizeData,
    pdi: PdiState,
    idmap: IdMap,
    router: CalendarRouter,
    approval_statuses: Iterable[str],
    dead_letters: Collection[tuple[str, str]] = (),
) -> Result:
    c = Comparison(mobilize, pdi, idmap, router, approval_statuses, dead_letters)
    events.check(c)
    invitations.check(c)
    events.missing(c)
    locations.check(c)
    contacts.check(c)
    contacts.shared_emails(c)
    canceled.check(c)
    stale_ids.check(c)
    order = {kind: n for n, kind in enumerate(KINDS)}
    c.result.found.sort(key=lambda d: (order.get(d.kind, len(order)), d.mobilize_key))
    return c.result
