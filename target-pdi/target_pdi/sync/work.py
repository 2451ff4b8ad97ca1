"""What every writer and phase of one run shares: PDI, the id map, the summary, the dead letters,
and the one way to run work concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import PDIClient
from target_pdi.stores.deadletters import DeadLetterStore
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.summary import Summary

T = TypeVar("T")
WORKER_PREFIX = "pdi"

# What a record-level failure raises: PDI refused the object, or the record cannot be turned
# into requests (a value out of range, a wrong type, a key missing: whatever one record's content
# raises is that record's failure, never the run's). The run's own failures stop it: a
# FatalError, the id map's database, the disk (OSError), memory.
RECORD_FAILURES: tuple[type[Exception], ...] = (
    RecordRejected,
    ValueError,  # UnicodeError too
    TypeError,
    LookupError,  # KeyError, IndexError
    ArithmeticError,  # OverflowError, decimal's errors
    AttributeError,
    AssertionError,
)


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
    # One pool for the run, not one per call: each worker thread keeps its own HTTP session
    # (client.py), so a pool per call left a new session, connection pool and socket behind
    # for every thread ever started; the target's memory grew with the organization (L 1.43x M).
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

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
        """Run fn over items on the run's max_concurrency worker threads. The first unexpected
        error (a FatalError, or a bug) stops the items not yet started, waits for those running,
        and propagates; record failures are fn's."""
        items = list(items)
        if not items:
            return
        nested = threading.current_thread().name.startswith(WORKER_PREFIX)
        if self.max_concurrency <= 1 or len(items) == 1 or nested:
            # Nested: a worker waiting on the pool it runs in could wait for ever.
            for item in items:
                fn(item)
            return
        # Each worker takes the next item until none is left, rather than a future per item
        # (at zero latency a future per request, its lock and its wake-ups, cost more than the
        # request's own bookkeeping), and as many workers run as PDI takes requests at once
        # (`pacing.concurrency`): more would only wait for a slot, and wake up for each answer.
        taking = _Taking(items, fn, self._workers(), self._loops_wanted)
        taking.start()
        taking.done.wait()  # nothing of this call runs on after it has returned
        if taking.errors:
            raise taking.errors[0]

    def _loops_wanted(self) -> int:
        """Workers for a call: as many as the requests PDI takes at once now. (One more, so
        that a freed slot never waits for a worker, cost more than it gained: that worker
        woke up for every answer.)"""
        return min(self.max_concurrency, max(1, int(self.client.concurrency.limit)))

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.max_concurrency, thread_name_prefix=WORKER_PREFIX
                )
            return self._pool


class _Taking:
    """The items of one `Shared.parallel` call, handed out one at a time to its workers, whose
    number follows `wanted()`: a worker that takes an item starts another while there are
    fewer than wanted, and one leaves when there are more."""

    def __init__(
        self,
        items: list[Any],
        fn: Callable[[Any], None],
        pool: ThreadPoolExecutor,
        wanted: Callable[[], int],
    ) -> None:
        self._items = iter(items)
        self._left = len(items)
        self._fn = fn
        self._pool = pool
        self._wanted = wanted
        self._lock = threading.Lock()
        self._running = 0
        self.errors: list[BaseException] = []
        self.done = threading.Event()

    def start(self) -> None:
        self._running = 1
        try:
            self._pool.submit(self._run)
        except BaseException:
            self._running = 0
            raise

    def _run(self) -> None:
        while True:
            with self._lock:
                # After an unexpected error the items not yet started stay so.
                wanted = max(1, self._wanted())
                if self.errors or self._left == 0 or self._running > wanted:
                    self._leave()
                    return
                item = next(self._items)
                self._left -= 1
                another = self._left > 0 and self._running < wanted
                if another:
                    self._running += 1
            if another:
                self._another()
            try:
                self._fn(item)
            except BaseException as exc:
                with self._lock:
                    self.errors.append(exc)
                    self._leave()
                return

    def _another(self) -> None:
        try:
            self._pool.submit(self._run)
        except RuntimeError:  # the pool is shutting down: the workers running go on alone
            with self._lock:
                self._leave()

    def _leave(self) -> None:
        """One worker fewer (under the lock): the call is done when none is left."""
        self._running -= 1
        if self._running == 0:
            self.done.set()
