"""One PDI request's tries: `pacing.Retries` with the client's shared pace, PDI's probe, and
the errors that name what PDI did and what to fix.

Failures are sorted by what can escape them. A 429 is PDI's normal way of saying "slower": it
never uses up a request's retries, the run's time budget bounds it instead. A 5xx or a dropped
connection while PDI answers other requests is this request's own failure, retried
`max_retries` times and then the record's (RequestFailed, dead-lettered). The same while PDI
answers nobody is an outage: waited out without counting, fatal after `outage_seconds`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pacing.clock import Clock
from pacing.concurrency import AdaptiveConcurrency
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate
from pacing.retries import Retries, Unanswered
from tenacity import wait_exponential, wait_random_exponential
from tenacity.wait import wait_base

from target_pdi.errors import APIUnavailableError, RequestFailed, Stopped, TimeBudgetSpent
from target_pdi.pdi.transport import Answer

# Set on SIGTERM: no request starts after it, the ones in flight finish (see TargetPDI.invoke).
STOP = threading.Event()
STOPPED_MESSAGE = (
    "SIGTERM received: the requests in flight were finished and the id map saved; no bookmark "
    "was saved past an unwritten record, so the next run goes on from the last one"
)
# Longest wait between two tries while PDI answers nobody, so the run resumes soon after.
OUTAGE_PAUSE_MAX = 10.0


def jittered(base: float, cap: float) -> wait_base:
    """`base * 2**(n-1)` seconds before the n-th retry, at most `cap`, the lower half random
    (equal jitter): spreads concurrent retries apart without retrying at once."""
    return wait_exponential(multiplier=base / 2, max=cap / 2) + wait_random_exponential(
        multiplier=base / 2, max=cap / 2
    )


@dataclass(frozen=True)
class Pace:
    """What every request of a run shares: the adaptive rate and concurrency, PDI's health
    and the time budget, and how often and how long a failing request is tried."""

    rate: AdaptiveRate
    concurrency: AdaptiveConcurrency
    health: RunHealth
    clock: Clock
    max_retries: int
    own_wait: wait_base  # between two tries of a request that fails on its own
    outage_wait: wait_base  # between two tries while PDI answers nobody

    def describe(self) -> str:
        """How fast PDI let the run go, for the run's summary."""
        conc, rate = self.concurrency, self.rate
        pace = f"PDI pace: up to {conc.peak:.0f} requests in flight (of {conc.maximum}); "
        if rate.refused is None:
            return pace + f"no 429 ({rate.describe_ceiling()})"
        return pace + (
            f"{rate.throttled} 429s, PDI refused {rate.refused:.1f}/s, rate at the end "
            f"{rate.rate:.1f}/s ({rate.describe_ceiling()})"
        )

    @classmethod
    def waiting(cls, *, backoff_base: float, backoff_max: float, **shared: Any) -> Pace:
        """The waits from `backoff_base` and `backoff_max`, built once for every request."""
        return cls(
            own_wait=jittered(backoff_base, backoff_max),
            outage_wait=jittered(backoff_base, min(backoff_max, OUTAGE_PAUSE_MAX)),
            **shared,
        )


class PDITries(Retries):
    """The tries of one request (`method`), or of the login (`method` None).

    `sign` logs in if due before each try (a login's answer must not pass for an answer to
    someone else while this try was out); `probe` sends one cheap GET.
    """

    def __init__(
        self,
        pace: Pace,
        what: str,
        method: str | None,
        *,
        base_url: str,
        sign: Callable[[], object],
        probe: Callable[[], Answer | None],
    ) -> None:
        super().__init__(
            rate=pace.rate,
            health=pace.health,
            clock=pace.clock,
            max_failures=pace.max_retries + 1,
            own_wait=pace.own_wait,
            outage_wait=pace.outage_wait,
            # Not the login: it runs under the token's lock, which requests holding every slot
            # may be waiting on to sign their headers; waiting for a slot too, it never ended.
            concurrency=pace.concurrency if method is not None else None,
            kind=method or "login",
        )
        self.what = what
        self.method = method
        self.base_url = base_url
        self._sign = sign
        self._probe = probe

    def before_attempt(self) -> None:
        if STOP.is_set():
            raise Stopped(STOPPED_MESSAGE)
        if self.method is not None:
            self._sign()

    def send_probe(self) -> Answer | None:
        """Any answer below 500 (a 401 included) shows PDI is up."""
        return self._probe()

    def out_of_time(self, wait: float) -> Exception:
        return TimeBudgetSpent(
            f"{self.what}: the run's time budget of {self.health.budget_seconds:.0f} s is spent "
            "(setting time_budget_seconds); the next run goes on from the last bookmark"
        )

    def unavailable(self, failure: Unanswered, silent: float) -> Exception:
        return APIUnavailableError(
            f"PDI at {self.base_url} answered nothing for {silent:.0f} s (longer than "
            f"setting outage_seconds={self.health.outage_seconds:.0f}); the next run goes on "
            "from the last bookmark"
        )

    def gave_up(self, failure: Unanswered, failures: int) -> Exception:
        if self.method is None:
            return APIUnavailableError(
                f"PDI login: {failure.reason} {failures} times from {self.base_url}; "
                "check setting api_url"
            )
        answer = failure.response
        return RequestFailed(
            f"{self.what}: {failure.reason} {failures} times while PDI answered other requests",
            http_status=answer.status_code if answer is not None else None,
            body=answer.redacted_text() if answer is not None else "",
        )
