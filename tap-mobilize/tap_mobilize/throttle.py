"""The tap's pacing names, from the shared `pacing` package (tests patch `Clock` through here).

One clock, rate and health per tap run (see TapMobilize), shared by every stream and thread:
Mobilize answers 429 above 15 GET/s per IP and may lower that "at short notice", so the
configured rate is only a ceiling (:class:`AdaptiveRate`); :class:`RunHealth` tells an outage
from one request's own failure and holds the time budget.
"""

from __future__ import annotations

from pacing import (
    CLIMB_PER_SECOND,
    DEFAULT_PAUSE_SECONDS,
    FLOOR_PER_SECOND,
    AdaptiveRate,
    Clock,
    OutOfTimeError,
    RunHealth,
)

__all__ = [
    "CLIMB_PER_SECOND",
    "DEFAULT_PAUSE_SECONDS",
    "FLOOR_PER_SECOND",
    "AdaptiveRate",
    "Clock",
    "OutOfTimeError",
    "RunHealth",
]
