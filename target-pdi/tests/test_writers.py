"""Writers without HTTP: a stub PDI client counts what they ask."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from target_pdi.rules.vocabulary import Outcome, PdiObject
from target_pdi.stores.deadletters import FileDeadLetterStore
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.summary import Summary
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.locations import LocationItem, LocationWriter


class StubPdi:
    """Lists no location (slowly, as over a network) and creates each one asked for; takes
    as many requests at once as it is sent (`concurrency.limit`)."""

    def __init__(self) -> None:
        self.concurrency = SimpleNamespace(limit=float(64))
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
        FileDeadLetterStore(tmp_path / "dead.jsonl"),
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


def _shared(tmp_path: Path, max_concurrency: int) -> Shared:
    return Shared(
        StubPdi(),  # type: ignore[arg-type]
        IdMap("sqlite://"),
        Summary(),
        FileDeadLetterStore(tmp_path / "dead.jsonl"),
        max_concurrency=max_concurrency,
    )


def test_every_phase_of_a_run_reuses_the_same_workers(tmp_path: Path) -> None:
    # Each worker thread keeps an HTTP session for the run: a run of many batches must not
    # start new threads for each phase (memory grew with the organization when it did).
    shared = _shared(tmp_path, max_concurrency=4)
    threads: set[int] = set()
    lock = threading.Lock()

    def note_thread(_: int) -> None:
        time.sleep(0.001)
        with lock:
            threads.add(threading.get_ident())

    for _ in range(50):
        shared.parallel(range(8), note_thread)
    shared.close()
    assert 1 < len(threads) <= 4


def test_an_unexpected_error_stops_the_call_once_its_running_work_ends(tmp_path: Path) -> None:
    shared = _shared(tmp_path, max_concurrency=2)
    finished: list[int] = []

    def work(n: int) -> None:
        if n == 0:
            raise RuntimeError("a bug")
        time.sleep(0.02)
        finished.append(n)

    try:
        shared.parallel(range(20), work)
    except RuntimeError:
        ran = len(finished)
        time.sleep(0.1)
        assert len(finished) == ran  # nothing of the call ran on after it returned
        assert ran < 19  # and the rest was cancelled
    else:
        raise AssertionError("the error did not propagate")
    finally:
        shared.close()


def test_a_call_runs_as_many_workers_as_pdi_takes_requests_at_once(
    tmp_path: Path,
) -> None:
    # More workers than PDI's requests in flight (pacing.concurrency) only wait for a slot and
    # wake up for each answer; when the limit grows during a call, workers join it.
    shared = _shared(tmp_path, max_concurrency=16)
    limit = shared.client.concurrency
    limit.limit = 2.0
    running, peaks = 0, []
    lock = threading.Lock()

    def work(n: int) -> None:
        nonlocal running
        if n == 40:
            limit.limit = 6.0
        with lock:
            running += 1
            peaks.append((n, running))
        time.sleep(0.005)
        with lock:
            running -= 1

    try:
        shared.parallel(range(120), work)
    finally:
        shared.close()
    assert len(peaks) == 120
    assert max(r for n, r in peaks if n < 40) == 2  # the limit
    assert max(r for n, r in peaks if n > 60) == 6  # once the limit grew
