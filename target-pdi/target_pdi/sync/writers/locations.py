"""Locations: one per venue (coordinates, or name and address), found in PDI by name and address."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import object_id
from target_pdi.rules import payloads as P
from target_pdi.rules.vocabulary import Outcome, PdiObject
from target_pdi.stores.idmap import Entry
from target_pdi.sync.recovery import lower_keys
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.base import Item, Row, Writer


@dataclass
class LocationItem(Item):
    @property
    def match_key(self) -> str:
        """How PDI's own list is searched: name and address (PDI knows no coordinates)."""
        return P.name_address_key(
            str(self.payload["locationName"]), str(self.payload["locationAddress"])
        )


class LocationWriter(Writer[LocationItem]):
    kind = PdiObject.LOCATION
    shared_by_records = True

    def __init__(self, shared: Shared, repoint: Callable[[str, str], None]) -> None:
        super().__init__(shared)
        self._repoint = repoint  # moves the events at a location PDI lost to its replacement
        self._lock = threading.Lock()
        self._listing = threading.Lock()
        self._index: dict[str, Row] | None = None

    def listed(self, *, refresh: bool = False) -> dict[str, Row]:
        """PDI's locations by name and address, listed once per run (the first workers to ask
        wait for one listing, rather than each reading the whole list)."""
        with self._listing:
            with self._lock:
                if self._index is not None and not refresh:
                    return self._index
            index: dict[str, Row] = {}
            for row in self.client.list_all("/locations"):
                low = lower_keys(row)
                key = P.name_address_key(
                    str(low.get("locationname") or ""), str(low.get("locationaddress") or "")
                )
                index.setdefault(key, row)
            with self._lock:
                self._index = index
            return index

    def find(self, item: LocationItem) -> Row | None:
        return self.listed().get(item.match_key)

    def adopt(self, pdi_id: str, row: Row, item: LocationItem) -> Outcome | None:
        # A venue PDI has under this name and address is the one: never renamed from here.
        return Outcome.UNCHANGED

    def update(self, pdi_id: str, item: LocationItem) -> Outcome | None:
        return self.put(f"/locations/{pdi_id}", item.payload)

    def create(self, item: LocationItem) -> str:
        def refound() -> Row | None:
            return self.listed(refresh=True).get(item.match_key)

        result = self.client.create("/locations", item.payload, refound)
        pdi_id = object_id(result) or object_id(refound())
        if not pdi_id:
            raise RecordRejected("PDI created a location but returned no id")
        with self._lock:
            if self._index is not None:
                self._index[item.match_key] = {**item.payload, "id": pdi_id}
        return pdi_id

    def remember(self, pdi_id: str, item: LocationItem, entry: Entry | None) -> None:
        self.idmap.put(self.kind, item.key, pdi_id, item.digest)

    def replaced(self, old_id: str, new_id: str, item: LocationItem) -> None:
        self._repoint(old_id, new_id)
