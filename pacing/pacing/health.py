"""RunHealth: when the API last answered anyone (the outage window) and the run's time budget."""

from __future__ import annotations

import threading

from pacing.clock import Clock


class RunHealth:
    """When the API last answered anyone, and when the run's time budget ends.

    "Answered" is any HTTP answer below 500: a 429 or a 404 shows the API is up. Besides the
    time of the last answer it counts answers, so "answered since this request was sent" is
    exact even when a faked clock gives two events the same time (see :meth:`mark`).
    """

    def __init__(
        self, *, budget_seconds: float, outage_seconds: float, clock: Clock | None = None
    ) -> None:
        self._clock = clock or Clock()
        self.started = self._clock.now()
        self.budget_seconds = budget_seconds
        self.outage_seconds = outage_seconds
        self.deadline = self.started + budget_seconds
        # None until the API answers anyone. Until then the outage window counts from the
        # run's start: an API down from the first request is waited out like any other
        # outage, not for ever.
        self._last_answer: float | None = None
        self._answers = 0
        self._lock = threading.Lock()

    def answered(self) -> None:
        """The API gave someone an HTTP answer below 500."""
        with self._lock:
            now = self._clock.now()
            self._last_answer = now if self._last_answer is None else max(self._last_answer, now)
            self._answers += 1

    def answered_since(self, moment: float) -> bool:
        with self._lock:
            return self._last_answer is not None and self._last_answer >= moment

    def mark(self) -> int:
        """A point in the sequence of answers, taken just before a request is sent."""
        with self._lock:
            return self._answers

    def answered_after(self, mark: int) -> bool:
        """True if anyone was answered after :meth:`mark` returned ``mark``."""
        with self._lock:
            return self._answers > mark

    def silent_for(self) -> float:
        """Seconds since the API last answered anyone (or since the run began)."""
        with self._lock:
            last = self.started if self._last_answer is None else self._last_answer
            return self._clock.now() - last

    def elapsed(self) -> float:
        return self._clock.now() - self.started
