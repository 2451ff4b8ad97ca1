"""A clock that only moves when the code under test sleeps."""

from __future__ import annotations

import pytest

from pacing import Clock


class Ticks:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def clock(ticks: Ticks) -> Clock:
    return Clock(ticks, ticks.sleep)
