"""The one upsert every writer runs: hash check, update, find existing, create, id map, count.

A writer supplies only what differs between PDI objects: how to find one that exists, how to
create and update it, and what else a replacement must mend. Every outcome is counted once,
under the writer's kind, in the run's summary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import values as V
from target_pdi.rules.vocabulary import Outcome, PdiObject
from target_pdi.stores.idmap import Entry
from target_pdi.sync.work import Shared, is_gone

Row = dict[str, Any]


@dataclass
class Item:
    """One object to upsert: its id-map key, the payload PDI should hold, what the id map keeps
    beside the id, and (when a caller just read it) PDI's object as found."""

    key: str
    payload: dict[str, Any]
    mobilize_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    found: Row | None = None

    @cached_property
    def digest(self) -> str:
        return V.content_hash(self.payload)


I = TypeVar("I", bound=Item)  # noqa: E741 - the item type a writer takes


class Writer(ABC, Generic[I]):
    kind: ClassVar[PdiObject]
    # After PDI answered 404 for a known id: look for the object again before creating it.
    find_when_gone: ClassVar[bool] = True
    # Objects many records share (a contact, a venue), looked at in every batch that holds one
    # of them: counted once a run (Summary.count_object), not again as "unchanged".
    shared_by_records: ClassVar[bool] = False

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.client = shared.client
        self.idmap = shared.idmap
        self.summary = shared.summary

    def upsert(self, item: I) -> str:
        """Make PDI's object for ``item.key`` hold ``item.payload``; return its PDI id."""
        entry = self.idmap.get(self.kind, item.key)
        if entry is not None:
            if self.is_current(entry, item):
                self.keep(entry, item)
                self.count(Outcome.UNCHANGED, item.key)
                return entry.pdi_id
            outcome = self.update(entry.pdi_id, item)
            if outcome is not None:
                self.remember(entry.pdi_id, item, entry)
                self.count(outcome, item.key)
                return entry.pdi_id
            # Deleted in PDI: forget the stale id, then find or create the object again.
            self.idmap.drop(self.kind, item.key)
            self.summary.stale_id(self.kind)
        pdi_id = self._find_or_create(item, look=entry is None or self.find_when_gone)
        if entry is not None:
            self.replaced(entry.pdi_id, pdi_id, item)
        return pdi_id

    def _find_or_create(self, item: I, *, look: bool) -> str:
        row = (item.found or self.find(item)) if look else None
        pdi_id = self.row_id(row) if row is not None else None
        outcome = self.adopt(pdi_id, row, item) if pdi_id and row is not None else None
        if outcome is None or pdi_id is None:
            pdi_id = self.create(item)
            outcome = Outcome.CREATED
        self.remember(pdi_id, item, None)
        self.count(outcome, item.key)
        return pdi_id

    def count(self, outcome: Outcome, key: str | None = None) -> None:
        """Count an outcome under this writer's kind; an object many records share is counted
        once a run however many batches look at it."""
        if key is None or not self.shared_by_records:
            self.summary.count(self.kind, outcome)
        else:
            self.summary.count_object(self.kind, key, outcome)

    # --- what each writer fills in ---------------------------------------------------------

    def is_current(self, entry: Entry, item: I) -> bool:
        """Whether PDI already holds this payload, as far as the id map knows."""
        return entry.content_hash == item.digest

    def keep(self, entry: Entry, item: I) -> None:
        """The object is current: what the id map should still learn (nothing, by default)."""

    @abstractmethod
    def update(self, pdi_id: str, item: I) -> Outcome | None:
        """Write the payload over PDI's object; None when PDI no longer has it."""

    def put(self, path: str, body: dict[str, Any]) -> Outcome | None:
        """PUT one object: UPDATED, or None when PDI answers 404 (the id is stale)."""
        try:
            self.client.put(path, body)
        except RecordRejected as exc:
            if not is_gone(exc):
                raise
            return None
        return Outcome.UPDATED

    def find(self, item: I) -> Row | None:
        """PDI's object for this item when the id map does not know it."""
        return None

    def row_id(self, row: Row) -> str | None:
        return object_id(row)

    def adopt(self, pdi_id: str, row: Row, item: I) -> Outcome | None:
        """A found object becomes this item's: updated when it differs (None: it is gone)."""
        if V.same_content(row, item.payload):
            return Outcome.UNCHANGED
        return self.update(pdi_id, item)

    @abstractmethod
    def create(self, item: I) -> str:
        """Create the object; return its PDI id."""

    def remember(self, pdi_id: str, item: I, entry: Entry | None) -> None:
        self.idmap.put(
            self.kind,
            item.key,
            pdi_id,
            item.digest,
            mobilize_id=item.mobilize_id,
            extra=item.extra,
        )

    def replaced(self, old_id: str, new_id: str, item: I) -> None:
        """A stale id was replaced by a new object: mend what pointed at the old one."""
