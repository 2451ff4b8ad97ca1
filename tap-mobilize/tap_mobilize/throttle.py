"""The tap's pacing: the shared `pacing` names and the run's rate and health from settings.

Tests patch `Clock` through here. One clock, rate and health per tap run (see TapMobilize),
shared by every stream and thread: Mobilize answers 429 above 15 GET/s per IP and may lower
that "at short notice", so the configured rate is only a ceiling (:class:`AdaptiveRate`);
:class:`RunHealth` tells an outage from one request's own failure and holds the time budget.
"""

from __future__ import annotations

import typing as t

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
    "DEFAULT_OUTAGE_SECONDS",
    "DEFAULT_PAUSE_SECONDS",
    "DEFAULT_TIME_BUDGET_SECONDS",
    "FLOOR_PER_SECOND",
    "AdaptiveRate",
    "Clock",
    "OutOfTimeError",
    "RunHealth",
    "make_health",
    "make_rate",
]

DEFAULT_TIME_BUDGET_SECONDS = 14400
DEFAULT_OUTAGE_SECONDS = 600


def make_rate(config: t.Mapping[str, t.Any], clock: Clock) -> AdaptiveRate:
    """The run's request rate: ``max_requests_per_second`` is its ceiling."""
    return AdaptiveRate(float(config.get("max_requests_per_second", 10)), clock=clock)


def make_health(config: t.Mapping[str, t.Any], clock: Clock) -> RunHealth:
    """The run's time budget and outage window."""
    return RunHealth(
        budget_seconds=float(config.get("time_budget_seconds", DEFAULT_TIME_BUDGET_SECONDS)),
        outage_seconds=float(config.get("outage_seconds", DEFAULT_OUTAGE_SECONDS)),
        clock=clock,
    )
