"""What every writer and phase of one run shares: PDI, the id map, the summary, the dead letters,
and the one way to run work concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from target_pdi.client import PDIClient
from target_pdi.deadletters import DeadLetterStore
from target_pdi.errors import RecordRejected
from target_pdi.idmap import IdMap
from target_pdi.summary import Summary

T = TypeVar("T")

# What a record-level failure raises: PDI refused the object, or the record cannot be written.
# Anything else (a FatalError, a bug) stops the run.
RECORD_FAILURES: tuple[type[Exception], ...] = (RecordRejected, ValueError)


def is_gone(exc: Exception) -> bool:
    """PDI no longer has the object an id names (deleted in PDI): the id is stale."""
    return isinstance(exc, RecordRejected) and exc.http_status == 404


@dataclass
class Shared:
    """The services of one run, handed to every writer and phase."""

    client: PDIClient
    idmap: IdMap
    summary: Summary
    deadletters: DeadLetterStore
    max_concurrency: int = 8

    def dead_letter(
        self, stream: str, key: Any, record: Any, reason: str, exc: Exception | None = None
    ) -> None:
        """Keep a record that could not be written, as it came, for the next run to retry."""
        status = exc.http_status if isinstance(exc, RecordRejected) else None
        body = exc.body if isinstance(exc, RecordRejected) else ""
        if not self.deadletters.has(stream, key):
            self.summary.dead_letters += 1
        self.deadletters.add(stream, key, reason, record, http_status=status, body=body)

    def parallel(self, items: Iterable[T], fn: Callable[[T], None]) -> None:
        """Run fn over items on max_concurrency threads. The first unexpected error (a
        FatalError, or a bug) cancels the rest and propagates; record failures are fn's."""
        items = list(items)
        if not items:
            return
        if self.max_concurrency <= 1 or len(items) == 1:
            for item in items:
                fn(item)
            return
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="pdi") as pool:
            futures: list[Future[None]] = [pool.submit(fn, item) for item in items]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    for other in futures:
                        other.cancel()
                    raise error
            for future in futures:
                future.result()
