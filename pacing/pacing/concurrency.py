"""AdaptiveConcurrency: how many requests a run keeps in flight, from how fast the API answers."""

from __future__ import annotations

import math
import threading

# An answer slower than this many times the fastest recent one means the API is queueing.
SLOW_FACTOR = 2.0
# "Recent": the fastest answer is taken over the last two windows of this many answers, so
# that an API which became slower for good stops looking queued after a while.
WINDOW = 200


class AdaptiveConcurrency:
    """A limit on requests in flight that grows while the API answers as fast as when idle.

    An API that documents no limit (PDI) still shows how much it takes: when more requests in
    flight only make each answer slower, they are waiting in its queue (or in ours: a busy
    client is slow to read answers too). So, additively up and multiplicatively down:

    - a clean answer no slower than ``SLOW_FACTOR`` times the fastest recent one adds one
      request in flight per ``limit`` such answers, up to ``maximum`` (the worker threads);
    - a slower answer takes one away per ``limit`` such answers, down to 1;
    - a failure (a 5xx, no answer) halves the limit, once per episode: answers to requests
      sent before the last decrease say nothing new.

    429s are the rate's business (:class:`~pacing.rate.AdaptiveRate`); they change nothing here.
    """

    def __init__(self, initial: int, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(min(max(1, initial), self.maximum))
        self.in_flight = 0
        self.episode = 0
        self.peak = self.limit  # the highest limit reached, for the run's summary
        self._ready = threading.Condition()
        self._answers = 0
        # The fastest answer by kind (a GET and a POST need not take as long): this window's
        # and the previous one's.
        self._fastest: dict[str, float] = {}
        self._fastest_before: dict[str, float] = {}

    def acquire(self) -> int:
        """Block until a request may be sent; its episode, for :meth:`release`."""
        with self._ready:
            while self.in_flight >= int(self.limit):
                self._ready.wait()
            self.in_flight += 1
            return self.episode

    def release(
        self, episode: int, *, kind: str = "", seconds: float | None = None, failed: bool = False
    ) -> None:
        """A request of ``episode`` ended: answered in ``seconds``, ``failed`` (a 5xx, no
        answer), or neither (a 429, or stopped before an answer)."""
        with self._ready:
            self.in_flight -= 1
            if failed:
                if episode == self.episode:
                    self.limit = max(1.0, self.limit / 2)
                    self.episode += 1
            elif seconds is not None:
                self._adapt(kind, seconds)
            # Wake only as many waiters as may send now: with every worker thread waking on
            # each answer (32 of them at zero latency), the target spent more CPU on wake-ups
            # and the GIL than on the answers (issue 21).
            free = int(self.limit) - self.in_flight
            if free > 0:
                self._ready.notify(free)

    def _adapt(self, kind: str, seconds: float) -> None:
        self._answers += 1
        if self._answers % WINDOW == 0:
            self._fastest_before, self._fastest = self._fastest, {}
        self._fastest[kind] = min(self._fastest.get(kind, math.inf), seconds)
        fastest = min(self._fastest[kind], self._fastest_before.get(kind, math.inf))
        if seconds <= fastest * SLOW_FACTOR:
            self.limit = min(float(self.maximum), self.limit + 1 / self.limit)
            self.peak = max(self.peak, self.limit)
        else:
            self.limit = max(1.0, self.limit - 1 / self.limit)
