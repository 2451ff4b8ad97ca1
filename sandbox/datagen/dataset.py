"""The dataset's shape: its size knobs (``DatasetSpec``), its contents (``Dataset``), its
epochs, and its JSON form (full, or compact with stub-embedded attendances)."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

Record = dict[str, Any]

GENERATED_AT = 1793491200  # 2026-11-01T00:00:00Z: every generated date is before this
TIMESLOTS_FROM = 1785542400  # 2026-08-01T00:00:00Z
TIMESLOTS_TO = 1801440000  # 2027-02-01T00:00:00Z
DAY = 86400


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of acyclic objects.

    Each full collection walks the whole heap; while a big dataset is being built they
    fire again and again and double the build time. The objects are freed by reference
    counting anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class DatasetSpec:
    seed: int = 1
    org_id: int = 1
    events: int = 40
    timeslots_per_event: int = 3
    people: int = 200
    attendances: int = 600


@dataclass
class Dataset:
    spec: DatasetSpec
    generated_at: int
    organization: Record
    organizations: list[Record]
    promoted_organization_ids: list[int]
    events: list[Record]
    deleted_events: list[Record]
    # DeletedEvent rows are only {id, deleted_date}; this remembers which were PRIVATE
    # (the deleted-events route hides them from unauthenticated callers).
    private_deleted_event_ids: list[int]
    people: list[Record]
    attendances: list[Record]
    tags: list[Record] = field(default_factory=list)

    def expected_counts(self) -> dict[str, int]:
        """What a keyed tap that asks for every visibility and approval status emits."""
        masked = sum(1 for a in self.attendances if a["id"] is None)
        return {
            "events": len(self.events),
            "timeslots": sum(len(e["timeslots"] or ()) for e in self.events),
            "deleted_events": len(self.deleted_events),
            "people": len(self.people),
            "attendances": len(self.attendances) - masked,
            "masked_attendances": masked,
            "organization": 1,
        }

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """The dataset as JSON-able data.

        ``compact`` replaces the objects embedded in each attendance (person, event,
        timeslot, sponsor) with ``{"id": ...}`` stubs whenever the full object is elsewhere
        in the dataset; ``from_dict`` puts the full copies back. Full form: ~3.5 kB per
        attendance; compact: ~0.4 kB.
        """
        out = {name: getattr(self, name) for name in _DATASET_FIELDS}
        out["spec"] = asdict(self.spec)
        if compact:
            index = _Index(self)
            out["attendances"] = [_compact(a, index) for a in self.attendances]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataset:
        values = {name: data[name] for name in _DATASET_FIELDS if name in data}
        values["spec"] = DatasetSpec(**data["spec"])
        dataset = cls(**values)
        index = _Index(dataset)
        embedded = (
            ("person", index.people, dict),
            ("event", index.events, lambda e: {**e, "timeslots": None}),
            ("timeslot", index.timeslots, lambda t: t),
            ("sponsor", index.organizations, lambda o: o),
        )
        for attendance in dataset.attendances:
            for key, known, copy in embedded:
                obj = attendance.get(key)
                if isinstance(obj, dict) and len(obj) == 1 and obj.get("id") in known:
                    attendance[key] = copy(known[obj["id"]])
        return dataset

    def to_json(self, indent: int | None = None, compact: bool = False) -> str:
        return json.dumps(self.to_dict(compact), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Dataset:
        """Read ``to_json`` output, full or compact."""
        with gc_paused():
            return cls.from_dict(json.loads(text))


def _compact(attendance: Record, index: _Index) -> Record:
    embedded = (
        ("person", index.people),
        ("event", index.events),
        ("timeslot", index.timeslots),
        ("sponsor", index.organizations),
    )
    out = dict(attendance)
    for key, known in embedded:
        obj = attendance.get(key)
        if isinstance(obj, dict) and obj.get("id") is not None and obj["id"] in known:
            out[key] = {"id": obj["id"]}
    return out


class _Index:
    """Objects of a dataset by id, to expand compact attendances."""

    def __init__(self, dataset: Dataset) -> None:
        self.people: dict[Any, Record] = {p["id"]: p for p in dataset.people}
        self.events: dict[Any, Record] = {e["id"]: e for e in dataset.events}
        self.timeslots: dict[Any, Record] = {
            t["id"]: t for e in dataset.events for t in e["timeslots"] or ()
        }
        self.organizations: dict[Any, Record] = {o["id"]: o for o in dataset.organizations}


_DATASET_FIELDS = (
    "spec",
    "generated_at",
    "organization",
    "organizations",
    "promoted_organization_ids",
    "events",
    "deleted_events",
    "private_deleted_event_ids",
    "people",
    "attendances",
    "tags",
)
