"""A clock that only moves when the code under test sleeps."""

from __future__ import annotations

import pytest
from pacing.clock import Clock
from pacing.testing import Ticks


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def clock(ticks: Ticks) -> Clock:
    return Clock(ticks, ticks.sleep)
