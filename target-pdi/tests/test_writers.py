"""Writers without HTTP: a stub PDI client counts what they ask."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from target_pdi.deadletters import DeadLetterStore
from target_pdi.idmap import IdMap
from target_pdi.summary import Summary
from target_pdi.vocabulary import Outcome, PdiObject
from target_pdi.work import Shared
from target_pdi.writers.locations import LocationItem, LocationWriter


class StubPdi:
    """Lists no location (slowly, as over a network) and creates each one asked for."""

    def __init__(self) -> None:
        self.lists = 0
        self.creates = 0
        self._lock = threading.Lock()

    def list_all(self, path: str, params: Any = None) -> list[dict[str, Any]]:
        with self._lock:
            self.lists += 1
        time.sleep(0.05)
        return []

    def create(self, path: str, body: Any, find_existing: Any) -> dict[str, Any]:
        with self._lock:
            self.creates += 1
            return {"id": f"loc-{self.creates}"}


def test_concurrent_first_locations_list_pdi_once(tmp_path: Path) -> None:
    pdi = StubPdi()
    summary = Summary()
    shared = Shared(
        pdi,  # type: ignore[arg-type]
        IdMap("sqlite://"),
        summary,
        DeadLetterStore(tmp_path / "dead.jsonl"),
        max_concurrency=8,
    )
    writer = LocationWriter(shared, repoint=lambda old, new: None)
    items = [
        LocationItem(f"addr:{n}", {"locationName": f"Hall {n}", "locationAddress": f"{n} Main St"})
        for n in range(8)
    ]
    shared.parallel(items, writer.upsert)
    assert pdi.lists == 1
    assert pdi.creates == 8
    assert summary.objects[PdiObject.LOCATION][Outcome.CREATED] == 8
