"""Retrying Mobilize requests through the shared `pacing` package: waits, probe and messages.

:class:`RetryingStream` gives a stream the run's one clock, rate and health and sends every
request through :class:`pacing.retries.Retries`; :class:`_Tries` sorts the failures, probes for an
outage and words the one-line error when trying stops.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from urllib.parse import urlparse

import requests
from pacing.clock import Clock
from pacing.health import RunHealth
from pacing.rate import DEFAULT_PAUSE_SECONDS, AdaptiveRate
from pacing.retries import Retries, Throttled, Unanswered
from pacing.retry_after import retry_after
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream
from tenacity import wait_exponential, wait_random

from tap_mobilize.errors import (
    MobilizeFatalError,
    MobilizeTimeBudgetError,
    MobilizeUnavailableError,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

DEFAULT_MAX_TRIES = 8
DEFAULT_TIME_BUDGET_SECONDS = 14400
DEFAULT_OUTAGE_SECONDS = 600
# A --test run should tell the user quickly that a setting is wrong, not after minutes
# of patient retrying, so dry runs cap the attempts.
DRY_RUN_MAX_TRIES = 3
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# While Mobilize answers nobody, try again at least this often, so a run picks up
# within half a minute of its return.
OUTAGE_BACKOFF_CAP_SECONDS = 30.0
# The cheap GET that tells "Mobilize is down" from "this request fails": public (no key
# to send), tiny, and unrelated to the organization's data.
PROBE_PATH = "/enums"
# Between a request's own failures: 1, 2, 4 ... 60 s, plus up to a second of jitter, which
# keeps threads that failed together from retrying in lockstep.
OWN_FAILURE_WAIT = wait_exponential(
    multiplier=BACKOFF_BASE_SECONDS, max=BACKOFF_CAP_SECONDS
) + wait_random(0, 1)
# While Mobilize answers nobody: 1, 2, 4 ... 30 s (no jitter: the shared rate spaces them).
OUTAGE_WAIT = wait_exponential(multiplier=BACKOFF_BASE_SECONDS, max=OUTAGE_BACKOFF_CAP_SECONDS)

# Failures with no HTTP answer at all: retried, or waited out as an outage.
_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

RequestCall = Callable[[requests.PreparedRequest, "Context | None"], requests.Response]

_TToken = t.TypeVar("_TToken")


def make_rate(config: t.Mapping[str, t.Any], clock: Clock) -> AdaptiveRate:
    """The run's request rate: ``max_requests_per_second`` is its ceiling.

    Mobilize answers 429 above 15 GET/s per IP and may lower that "at short notice", so
    the configured rate is only a ceiling that adapts to 429s.
    """
    return AdaptiveRate(float(config.get("max_requests_per_second", 10)), clock=clock)


def make_health(config: t.Mapping[str, t.Any], clock: Clock) -> RunHealth:
    """The run's time budget and outage window: an outage told from one request's failure."""
    return RunHealth(
        budget_seconds=float(config.get("time_budget_seconds", DEFAULT_TIME_BUDGET_SECONDS)),
        outage_seconds=float(config.get("outage_seconds", DEFAULT_OUTAGE_SECONDS)),
        clock=clock,
    )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: no user info, path or query to leak."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    return f"{parsed.scheme}://{host}" + (f":{parsed.port}" if parsed.port else "")


class RetryingStream(RESTStream[_TToken]):
    """A REST stream whose requests wait on the run's shared rate and retry through pacing."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._own_clock: Clock | None = None
        self._own_rate: AdaptiveRate | None = None
        self._own_health: RunHealth | None = None
        super().__init__(*args, **kwargs)

    # One clock, rate and health per tap (TapMobilize builds them), so the sum of all
    # streams stays under the per-IP limit, a 429 pauses every stream, and the budget
    # and outage window are the run's, not each stream's. A stream built without a
    # TapMobilize (never in a run) makes its own.

    @property
    def clock(self) -> Clock:
        shared = getattr(self._tap, "clock", None)
        if isinstance(shared, Clock):
            return shared
        if self._own_clock is None:
            self._own_clock = Clock()
        return self._own_clock

    @property
    def rate(self) -> AdaptiveRate:
        shared = getattr(self._tap, "rate", None)
        if isinstance(shared, AdaptiveRate):
            return shared
        if self._own_rate is None:
            self._own_rate = make_rate(self.config, self.clock)
        return self._own_rate

    @property
    def health(self) -> RunHealth:
        shared = getattr(self._tap, "health", None)
        if isinstance(shared, RunHealth):
            return shared
        if self._own_health is None:
            self._own_health = make_health(self.config, self.clock)
        return self._own_health

    def backoff_max_tries(self) -> int:
        configured = int(self.config.get("backoff_max_tries", DEFAULT_MAX_TRIES))
        if self.ABORT_AT_RECORD_COUNT is not None:
            return max(1, min(configured, DRY_RUN_MAX_TRIES))
        return max(1, configured)

    def request_decorator(self, func: RequestCall) -> RequestCall:
        def call(request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            return self.send_with_retries(func, request, context)

        return call

    def send_with_retries(
        self, func: RequestCall, request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Send ``request`` until Mobilize answers it, sorting failures by what can fix them.

        - 429 is Mobilize's normal "slower": every stream pauses and the shared rate drops
          (:class:`~pacing.rate.AdaptiveRate`). It never uses up this request's attempts; the
          run's ``time_budget_seconds`` bounds it instead.
        - 5xx, 408, timeouts and dropped connections while Mobilize answers others (or a
          probe) are this request's own failures: ``backoff_max_tries`` attempts.
        - The same while Mobilize answers nobody is an outage: waited out without
          counting, and fatal after ``outage_seconds`` without any answer.

        The loop is :class:`pacing.retries.Retries` (tenacity); :class:`_Tries` names its errors.
        """

        def send() -> requests.Response:
            try:
                return func(request, context)
            except RetriableAPIError as exc:
                response = exc.response
                if response is not None and response.status_code == 429:
                    raise Throttled(retry_after(response.headers), str(exc)) from exc
                answered = response is not None and response.status_code < 500
                raise Unanswered(str(exc), answered=answered, response=response) from exc
            except _NETWORK_ERRORS as exc:
                raise Unanswered(type(exc).__name__) from exc

        return _Tries(self, request).call(send)


class _Tries(Retries):
    """One Mobilize request's tries: the tap's shared rate and health, the probe, the messages."""

    def __init__(self, stream: RetryingStream[t.Any], request: requests.PreparedRequest) -> None:
        super().__init__(
            rate=stream.rate,
            health=stream.health,
            clock=stream.clock,
            max_failures=stream.backoff_max_tries(),
            own_wait=OWN_FAILURE_WAIT,
            outage_wait=OUTAGE_WAIT,
            # A --test run counts every failure against its attempts instead: it is there
            # to say quickly that a setting is wrong.
            probe_outages=stream.ABORT_AT_RECORD_COUNT is None,
        )
        self.stream = stream
        self.request = request
        self.path = urlparse(request.url or "").path

    def send_probe(self) -> requests.Response | None:
        """One cheap GET to a public endpoint; its answer, or None for no answer."""
        stream = self.stream
        try:
            # No key: the endpoint is public, and a probe has no business carrying it.
            return stream.requests_session.get(
                stream.url_base + PROBE_PATH,
                headers={"User-Agent": stream.user_agent},
                timeout=stream.timeout,
                allow_redirects=False,
            )
        except _NETWORK_ERRORS:
            return None

    def out_of_time(self, wait: float) -> Exception:
        health = self.health
        return MobilizeTimeBudgetError(
            f"The run's time budget of {health.budget_seconds:.0f} s (setting "
            f"time_budget_seconds) is used up: {health.elapsed():.0f} s so far and "
            f"{wait:.0f} s more to wait before the next request to Mobilize for {self.path}; "
            "try again later, or raise time_budget_seconds"
        )

    def gave_up(self, failure: Unanswered, failures: int) -> Exception:
        error = failure.__cause__
        if isinstance(error, RetriableAPIError):
            return MobilizeFatalError(
                f"Mobilize kept failing after {self.max_failures} attempts: {error}; "
                "try again later, or raise the backoff_max_tries setting"
            )
        return MobilizeFatalError(
            f"Could not reach the Mobilize API at {origin_of(self.stream.url_base)} "
            f"after {self.max_failures} attempts ({type(error).__name__}): "
            "check the api_url setting and the network"
        )

    def unavailable(self, failure: Unanswered, silent: float) -> Exception:
        return MobilizeUnavailableError(
            f"Mobilize at {origin_of(self.stream.url_base)} answered nothing for {silent:.0f} s "
            f"(setting outage_seconds is {self.health.outage_seconds:.0f}); last failure: "
            f"{self._cause(failure)}; try again later, or check the api_url setting and the "
            "network"
        )

    def slowed(self, retry_after: float | None) -> None:
        rate = self.rate
        self.stream.logger.info(
            "Mobilize answered HTTP 429 for %s: every stream waits %.1fs, then sends at "
            "most %.1f requests/s, climbing back to %s",
            self.path,
            DEFAULT_PAUSE_SECONDS if retry_after is None else retry_after,
            rate.rate or 0.0,
            rate.describe_ceiling(),
        )

    def retrying(self, failure: Unanswered, wait: float) -> None:
        cause = self._cause(failure)
        if failure.own:
            self.stream.logger.warning(
                "Retrying in %.1fs (attempt %d of %d failed): %s",
                wait,
                self.failures,
                self.max_failures,
                cause,
            )
        else:
            self.stream.logger.warning(
                "Mobilize is not answering (%s; a probe failed too): waiting %.1fs; "
                "the run stops after %d s without any answer (%.0f s so far)",
                cause,
                wait,
                self.health.outage_seconds,
                self.health.silent_for(),
            )

    def _cause(self, failure: Unanswered) -> str:
        # Status, reason and path only; for a lost connection the exception's type, the
        # origin and the path: its text can repeat the whole URL, query string included.
        error = failure.__cause__
        if isinstance(error, RetriableAPIError):
            return str(error)
        url = self.request.url
        target = origin_of(url or self.stream.url_base) + urlparse(url or "").path
        return f"{type(error).__name__} calling {target}"
