"""The drain: buffered records written to PDI as one ordered batch, and the sinks' lifecycle.

Sinks only buffer (sinks.py). `TargetPDI._drain_all`, which the SDK's `drain_all` calls before
it writes STATE (and never writes STATE when it raises), hands the sinks to `Drain.write`: it
takes every sink's records (`start_drain`), builds one `Batch`, retries the dead letters of
earlier runs first, runs the engine (locations, events, cancellations, contacts, invitations)
and only then releases the sinks (`mark_drained`). So a bookmark never passes a record that is
not in PDI or in the dead-letter store. tests/test_sdk_contract.py pins the SDK behaviour this
relies on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from contextlib import closing
from typing import Any

from singer_sdk.sinks import Sink

from target_pdi.configuration.mapping_files import Mappings
from target_pdi.configuration.settings import Settings
from target_pdi.rules.vocabulary import WRITTEN_STREAMS
from target_pdi.stores.configured import dead_letter_store
from target_pdi.sync.guarded_maps import GuardedMapper
from target_pdi.sync.planning.events import Batch
from target_pdi.sync.runtime import Runtime
from target_pdi.sync.sinks import RECORDS, BufferSink, IgnoredSink
from target_pdi.sync.summary import Summary
from target_pdi.sync.supersede import run_batch

# Dead letters are retried as what they are: records of the written streams, and cancels of
# removed timeslots (never as an events record without timeslots).
RETRIED_STREAMS = (*WRITTEN_STREAMS, "cancellations")


class Drain:
    """Holds what the sinks buffered until the batch is due, then writes it in dependency order.

    Bounded batches (`batch_size_rows`, `batch_wait_seconds`): a crash loses at most one, memory
    stays flat, and STATE follows the work as it is done.
    """

    def __init__(
        self, settings: Settings, summary: Summary, mappings: Mappings, logger: logging.Logger
    ) -> None:
        self.settings = settings
        self.summary = summary
        self.mappings = mappings
        self.logger = logger
        self.runtime: Runtime | None = None
        # fields_file's maps, guarded (guarded_maps.py): the records they refused, and the
        # retry of such a record through them again.
        self.mapper: GuardedMapper | None = None
        self.draining = False  # True while the engine writes (SIGTERM lets it finish)
        self._retry_pending = True  # earlier runs' dead letters go first, once
        self._held: dict[str, list[dict[str, Any]]] = {}
        self._held_sinks: list[Sink] = []
        self._buffered = 0  # records of written streams not yet drained
        self._batch_started = time.monotonic()

    # --- while reading -------------------------------------------------------------------------

    def start(self) -> Runtime:
        """At the first record: log in and check the calendars (a failure stops the run before
        it reads on; it writes nothing either way), and start the batch clock."""
        runtime = self.get_runtime()
        self._batch_started = time.monotonic()
        return runtime

    def get_runtime(self) -> Runtime:
        if self.runtime is None:
            self.runtime = Runtime(self.settings, self.summary, self.mappings)
        return self.runtime

    def count(self, stream: str) -> None:
        """One record of `stream` was buffered."""
        if stream in WRITTEN_STREAMS:
            self._buffered += 1

    @property
    def due(self) -> bool:
        """The batch is full, or its oldest record has waited `batch_wait_seconds`."""
        waited = time.monotonic() - self._batch_started
        return self._buffered >= self.settings.batch_size_rows or (
            self._buffered > 0 and waited >= self.settings.batch_wait_seconds
        )

    # --- draining ------------------------------------------------------------------------------

    def hold(self, sinks: Iterable[Sink]) -> None:
        """Take the sinks' records for the next write (sinks archived by a schema change)."""
        for sink in list(sinks):
            if not isinstance(sink, BufferSink):
                self._held_sinks.append(sink)
                continue
            records: list[dict[str, Any]] = sink.start_drain().get(RECORDS, [])
            if isinstance(sink, IgnoredSink):
                continue
            self._held.setdefault(sink.stream_name, []).extend(records)
            self._held_sinks.append(sink)

    def write(self, sinks: Iterable[Sink]) -> None:
        """Write everything held and buffered as one ordered batch, then release the sinks."""
        self.hold(sinks)
        self._buffered = 0
        self._batch_started = time.monotonic()
        held, self._held = self._held, {}
        taken, self._held_sinks = self._held_sinks, []
        batch = Batch(
            events=held.get("events", []),
            deleted_events=held.get("deleted_events", []),
            people=held.get("people", []),
            attendances=held.get("attendances", []),
            refused=self.mapper.refusals.take() if self.mapper is not None else [],
        )
        if len(batch) or self._retry_due():
            self._run(batch)
        for sink in taken:
            sink.mark_drained()

    def _retry_due(self) -> bool:
        if not self._retry_pending:
            return False
        if self.runtime is not None:
            return True
        with closing(dead_letter_store(self.settings, read_only=True)) as store:
            return store.waiting()

    def _run(self, batch: Batch) -> None:
        runtime = self.get_runtime()
        self.draining = True
        try:
            if self._retry_pending:
                self._retry_pending = False
                self._retry_dead_letters(runtime, batch)
            if len(batch):
                run_batch(runtime.engine, runtime.deadletters, batch)
        finally:
            # Also when the run stops mid-batch (SIGTERM, an outage): what was written is
            # known next time, so nothing is created twice.
            self.draining = False
            runtime.idmap.flush()
        # Not on a stop: the store would lose the old dead letters not yet retried. This
        # batch's are not lost: no STATE passes its records, so they are read again.
        runtime.deadletters.save()

    def _retry_dead_letters(self, runtime: Runtime, batch: Batch) -> None:
        """Records rejected by earlier runs go first; a record also in this batch is left to it
        (its letter is carried into the batch, which decides it: supersede.py).

        In batches of batch_size_rows, read and parsed a batch at a time, in the order they
        failed, like the tap's records: a large organization keeps thousands (an attendance
        embeds its event and person), and all of them at once were the largest batch of a
        re-run (L's re-runs peaked at 127 MiB against its first sync's 109).
        """
        fresh = {
            (stream, str(r.get("id"))) for stream in WRITTEN_STREAMS for r in getattr(batch, stream)
        }
        size = max(1, self.settings.batch_size_rows)
        retry, retried = Batch(retry=True), 0
        for entry in runtime.deadletters.entries():
            stream = entry["stream"]
            if stream not in RETRIED_STREAMS or (stream, str(entry.get("key"))) in fresh:
                continue
            self._add_retried(retry, stream, entry["record"])
            retried += 1
            if len(retry) >= size:
                run_batch(runtime.engine, runtime.deadletters, retry)
                retry = Batch(retry=True)
        if len(retry):
            run_batch(runtime.engine, runtime.deadletters, retry)
        self.summary.dead_letters_retried += retried
        if retried:
            self.logger.info("Retried %d dead-lettered records from previous runs first", retried)

    def _add_retried(self, batch: Batch, stream: str, record: dict[str, Any]) -> None:
        """A dead letter kept before fields_file's maps ran (one of them raised on it) goes
        through them again; refused again, the screen dead-letters it again (planning/poison.py)."""
        fields = self.mappings.fields
        mapped = fields.stream_maps().get(stream, {}) if fields is not None else {}
        if self.mapper is not None and any(name not in record for name in mapped):
            again, reason = self.mapper.remap(stream, record)
            if again is None:
                batch.refused.append((stream, record, reason or "refused by fields_file"))
                return
            record = again
        getattr(batch, stream).append(record)
