"""The PDI location of each place the expected events use: every field as the sync writes it."""

from __future__ import annotations

from target_pdi.operator_tools.reconcile.comparison import Comparison
from target_pdi.operator_tools.reconcile.found import LOCATION_FIELDS, Mend, differing, fields_text
from target_pdi.rules import payloads as P
from target_pdi.rules.vocabulary import PdiObject
from target_pdi.sync.planning import events as plans
from target_pdi.sync.planning.events import EventJob

LOCATION = PdiObject.LOCATION


def check(c: Comparison) -> None:
    """Every location the expected events use, as the most recently modified of them has
    it (as the sync writes it)."""
    users: dict[str, list[EventJob]] = {}
    for job in c.jobs.values():
        users.setdefault(P.location_key(job.event), []).append(job)
    for key, jobs in sorted(users.items()):
        entry = c.idmap.get(LOCATION, key)
        row = c.pdi.locations.get(entry.pdi_id) if entry is not None else None
        if entry is None or row is None:
            continue  # made with its events, or listed as missing
        c.result.checked.locations += 1
        latest = max(jobs, key=lambda j: plans.modified(j.event))
        want = P.location_payload(latest.event)
        wrong = differing(row, want, want)
        if wrong:
            events = tuple(sorted({j.event_id for j in jobs if j.event_id is not None}))
            mend = Mend(forget=((LOCATION, key),), events=events)
            c.add(
                LOCATION_FIELDS,
                key,
                entry.pdi_id,
                fields_text(wrong, want),
                fields_text(wrong, row),
                "rewritten by the sync",
                mend,
            )
