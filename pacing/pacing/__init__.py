"""pacing: the request pacing tap-mobilize and target-pdi share (rate, health, retries)."""

from pacing.clock import Clock
from pacing.concurrency import AdaptiveConcurrency
from pacing.health import RunHealth
from pacing.rate import (
    CLIMB_PER_SECOND,
    DEFAULT_PAUSE_SECONDS,
    FLOOR_PER_SECOND,
    AdaptiveRate,
    OutOfTimeError,
)
from pacing.retries import Answer, OutageError, Retries, Throttled, Unanswered
from pacing.retry_after import RETRY_AFTER_CAP_SECONDS, retry_after

__all__ = [
    "CLIMB_PER_SECOND",
    "DEFAULT_PAUSE_SECONDS",
    "FLOOR_PER_SECOND",
    "RETRY_AFTER_CAP_SECONDS",
    "AdaptiveConcurrency",
    "AdaptiveRate",
    "Answer",
    "Clock",
    "OutOfTimeError",
    "OutageError",
    "Retries",
    "RunHealth",
    "Throttled",
    "Unanswered",
    "retry_after",
]
