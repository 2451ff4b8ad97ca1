"""Earlier runs' dead letters are retried first, in batches no larger than the tap's."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from target_pdi.configuration.mapping_files import Mappings
from target_pdi.configuration.settings import Settings
from target_pdi.stores.deadletters import FileDeadLetterStore
from target_pdi.sync.drain import Drain
from target_pdi.sync.planning.events import Batch
from target_pdi.sync.summary import Summary


class RecordingEngine:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def run(self, batch: Batch) -> None:
        self.batches.append(batch)


def write_dead_letters(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_dead_letters_are_retried_in_batches_of_batch_size_rows(tmp_path: Path) -> None:
    path = tmp_path / "dead_letters.jsonl"
    people = [{"stream": "people", "key": str(n), "record": {"id": n}} for n in range(7)]
    attendances = [{"stream": "attendances", "key": str(n), "record": {"id": n}} for n in range(5)]
    write_dead_letters(path, [*people, *attendances, {"stream": "timeslots", "record": {}}])
    settings = Settings(batch_size_rows=5, dead_letter_path=str(path))
    summary = Summary()
    drain = Drain(settings, summary, Mappings(), logging.getLogger("test"))
    engine = RecordingEngine()
    runtime = SimpleNamespace(deadletters=FileDeadLetterStore(path), engine=engine)
    # A record that is also in this run's batch is left to the batch.
    fresh = Batch(attendances=[{"id": 4}])

    drain._retry_dead_letters(runtime, fresh)  # type: ignore[arg-type]

    assert [len(b) for b in engine.batches] == [5, 5, 1]
    assert all(b.retry for b in engine.batches)
    retried = [
        (s, r["id"])
        for b in engine.batches
        for s in ("people", "attendances")
        for r in getattr(b, s)
    ]
    # In the order they failed; the stream no run writes (timeslots) is not retried.
    assert retried == [("people", n) for n in range(7)] + [("attendances", n) for n in range(4)]
    assert summary.dead_letters_retried == 11


def saved(path: Path) -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in map(json.loads, path.read_text().splitlines())}


def test_a_retry_that_fails_again_keeps_when_the_record_first_failed(tmp_path: Path) -> None:
    """`ts` is the last failure, `first_ts` the first: status tells a record failing for days
    from one that failed an hour ago, however many runs retried it."""
    path = tmp_path / "dead_letters.jsonl"
    first = "2026-11-20T04:00:01+00:00"
    write_dead_letters(
        path,
        [
            {"stream": "people", "key": "1", "record": {"id": 1}, "ts": "x", "first_ts": first},
            # Written before first_ts existed: its ts is the best knowledge of its first failure.
            {"stream": "people", "key": "2", "record": {"id": 2}, "ts": first},
        ],
    )
    store = FileDeadLetterStore(path)
    assert len(list(store.entries())) == 2  # the retry reads them
    for key in ("1", "2", "3"):  # both fail again, and a new record fails
        store.add("people", key, "person has no email address", {"id": int(key)})
    store.save()

    entries = saved(path)
    assert entries["1"]["first_ts"] == entries["2"]["first_ts"] == first
    assert entries["1"]["ts"] > first
    assert entries["3"]["first_ts"] == entries["3"]["ts"] > first


def test_a_record_written_at_last_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "dead_letters.jsonl"
    old = "2026-11-20T04:00:01+00:00"
    write_dead_letters(path, [{"stream": "people", "key": "1", "record": {}, "first_ts": old}])
    store = FileDeadLetterStore(path)
    list(store.entries())
    store.discard("people", "1")  # written
    store.add("people", "1", "PDI answered HTTP 400", {})  # a later version fails
    store.save()
    assert saved(path)["1"]["first_ts"] > old
