"""Clock: monotonic time and sleeping, in one object so tests can swap both together."""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Monotonic time and sleeping for the rate, the retries and the time budget.

    Both default to the real ones; tests pass their own (``Clock(ticks, ticks.sleep)``) or
    patch the methods on the class.
    """

    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._now = now
        self._sleep = sleep

    def now(self) -> float:
        return self._now()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
