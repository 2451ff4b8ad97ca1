"""--fix: what a reconcile found, mended through the sync's own writers.

Each mend first corrects what the id map believes (a content hash forgotten, so the writer
writes again; an entry whose PDI object is gone removed; a cancel the map remembers but PDI
lost, undone; the calendar an event is really in), then runs the Mobilize records involved
through the sync's engine in one batch. So creating, recovering, moving and canceling are the
sync's, with its idempotency: nothing already in PDI is made twice, and running --fix again
writes nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from target_pdi.idmap import IdMap
from target_pdi.plan import Batch
from target_pdi.reconcile.compare import Discrepancy, Mend
from target_pdi.reconcile.mobilize import MobilizeData, Record
from target_pdi.runtime import Runtime
from target_pdi.supersede import run_batch
from target_pdi.vocabulary import PdiObject

# A content hash no payload has: the writer finds the object changed and writes it again.
FORGOTTEN = "reconcile: written again"


def merged(found: Iterable[Discrepancy]) -> Mend:
    mends = [d.mend for d in found if d.mend is not None]

    def union(name: str) -> tuple[Any, ...]:
        values = {v for m in mends for v in getattr(m, name)}
        return tuple(sorted(values, key=str))

    return Mend(**{name: union(name) for name in Mend.__dataclass_fields__})


def correct_id_map(idmap: IdMap, mend: Mend) -> None:
    for object_type, key in mend.drop:
        idmap.drop(object_type, key)
    for object_type, key in mend.forget:
        entry = idmap.get(object_type, key)
        if entry is not None:
            idmap.put(
                object_type,
                key,
                entry.pdi_id,
                FORGOTTEN,
                mobilize_id=entry.mobilize_id,
                extra=entry.extra,
            )
    for key in mend.revive:
        entry = idmap.get(PdiObject.EVENT, key)
        if entry is not None:
            extra = {k: v for k, v in entry.extra.items() if k != "canceled"}
            idmap.put(
                PdiObject.EVENT,
                key,
                entry.pdi_id,
                FORGOTTEN,
                mobilize_id=entry.mobilize_id,
                extra=extra,
            )
    for key, calendar_id in mend.calendar:
        entry = idmap.get(PdiObject.EVENT, key)
        if entry is not None:
            extra = {**entry.extra, "calendar_id": calendar_id}
            idmap.put(
                PdiObject.EVENT,
                key,
                entry.pdi_id,
                entry.content_hash,
                mobilize_id=entry.mobilize_id,
                extra=extra,
            )
    for key in mend.tombstones:
        idmap.put(PdiObject.TOMBSTONE, key, "", None)


def mend_batch(mend: Mend, mobilize: MobilizeData) -> Batch:
    def records(source: Mapping[int, Record], ids: Iterable[int]) -> list[dict[str, Any]]:
        return [dict(source[i]) for i in ids if i in source]

    return Batch(
        events=records(mobilize.events, mend.events),
        deleted_events=records(mobilize.deleted_events, mend.deleted_events),
        people=records(mobilize.people, mend.people),
        attendances=records(mobilize.attendances, mend.attendances),
    )


def apply_fixes(runtime: Runtime, found: Iterable[Discrepancy], mobilize: MobilizeData) -> int:
    """Mend what can be mended; returns how many discrepancies were handed to the sync."""
    mendable = [d for d in found if d.mend is not None]
    if not mendable:
        return 0
    mend = merged(mendable)
    # The fix retries no dead letter: those of earlier runs stay in the store for the next sync.
    runtime.deadletters.keep_earlier()
    correct_id_map(runtime.idmap, mend)
    batch = mend_batch(mend, mobilize)
    try:
        if len(batch):
            # Its records settle their letters too: no later sync retries an older version.
            run_batch(runtime.engine, runtime.deadletters, batch)
    finally:
        runtime.idmap.flush()
    runtime.deadletters.save()
    return len(mendable)
