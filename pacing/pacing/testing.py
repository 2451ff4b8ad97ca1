"""A fake monotonic clock for tests of code that paces itself: time moves only when it sleeps."""

from __future__ import annotations


class Ticks:
    """Callable as the clock (``now``); ``sleep`` advances it and records each wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
