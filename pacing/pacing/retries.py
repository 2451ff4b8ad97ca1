"""Retries: one request's tries on tenacity, sorting 429s, its own failures and outages apart."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import tenacity
from tenacity import RetryCallState

from pacing.clock import Clock
from pacing.concurrency import AdaptiveConcurrency
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate, OutOfTimeError
from pacing.retry_after import retry_after

T = TypeVar("T")
# A tenacity wait (``wait_exponential(...) + wait_random(...)``) or stop strategy.
Strategy = Callable[[RetryCallState], Any]


class Answer(Protocol):
    """What a probe gets back: a ``requests.Response`` will do."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


class Throttled(Exception):
    """The API answered 429 ("slower"): the request was not processed, so no try is used up."""

    def __init__(self, retry_after: float | None, message: str = "HTTP 429") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unanswered(Exception):
    """A 5xx, a 408 or no answer at all: the request's own failure, or the API is down.

    ``answered``: the API did answer (a 408: below 500), which shows it is up. ``response``
    is the answer, if any, for the caller's messages. ``own`` is decided by :class:`Retries`.
    """

    def __init__(self, reason: str, *, answered: bool = False, response: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answered = answered
        self.response = response
        self.own = True


class OutageError(Exception):
    """The API answered nobody for longer than the outage window."""

    def __init__(self, silent: float) -> None:
        super().__init__(f"no answer for {silent:.0f} s")
        self.silent = silent


def _numbered(state: RetryCallState, number: int) -> RetryCallState:
    """``state`` as if this were try ``number``: a tenacity strategy then counts only the
    failures of one kind (429s and outage waits do not use up a request's tries)."""
    numbered = copy.copy(state)
    numbered.attempt_number = number
    return numbered


class Retries:
    """One request's tries, each paced by the shared rate, failures sorted by what fixes them.

    - A 429 (:class:`Throttled`) is the API's normal "slower": every caller pauses for its
      Retry-After and the shared rate drops. It uses up no try; the time budget bounds it.
    - A 5xx, 408 or no answer (:class:`Unanswered`) while the API answered anyone since this
      request's previous try, or answers a probe now, is the request's own failure:
      ``own_wait`` between tries, and :meth:`gave_up` after ``max_failures`` of them.
    - The same while the API answers nobody is an outage: ``outage_wait`` between tries,
      not counted, and :meth:`unavailable` once ``health.outage_seconds`` passed in silence.
    - No try is paced and no wait is begun past ``health.deadline`` (:meth:`out_of_time`).

    ``own_wait`` and ``outage_wait`` are tenacity wait strategies; they see the count of
    failures of their own kind as the attempt number. Subclasses name the errors, send the
    probe and log; the defaults suit tests.
    """

    def __init__(
        self,
        *,
        rate: AdaptiveRate,
        health: RunHealth,
        clock: Clock,
        max_failures: int,
        own_wait: Strategy,
        outage_wait: Strategy,
        probe_outages: bool = True,
        concurrency: AdaptiveConcurrency | None = None,
        kind: str = "",
    ) -> None:
        self.rate = rate
        # Requests in flight across threads (None: the caller sends one at a time), and what
        # kind of request this is, for its answer times.
        self.concurrency = concurrency
        self.kind = kind
        self.health = health
        self.clock = clock
        self.max_failures = max(1, max_failures)
        self.own_wait = own_wait
        self.outage_wait = outage_wait
        # False (a quick check run): every failure counts, none is waited out as an outage.
        self.probe_outages = probe_outages
        self.failures = 0  # this request's own failures
        self.outage_waits = 0
        self._stop_own = tenacity.stop_after_attempt(self.max_failures)
        self._previous_mark: int | None = None
        self._failure: Unanswered | None = None  # the last try's, until the next try

    # --- what subclasses name ---------------------------------------------------------------

    def before_attempt(self) -> None:
        """Called before every try (raise to stop, e.g. on SIGTERM)."""

    def send_probe(self) -> Answer | None:
        """One cheap request to the API; its answer, or None for no answer. None by default."""
        return None

    def out_of_time(self, wait: float) -> Exception:
        return OutOfTimeError(wait)

    def gave_up(self, failure: Unanswered, failures: int) -> Exception:
        return failure

    def unavailable(self, failure: Unanswered, silent: float) -> Exception:
        return OutageError(silent)

    def slowed(self, retry_after: float | None) -> None:
        """A 429 lowered the shared rate (log it)."""

    def retrying(self, failure: Unanswered, wait: float) -> None:
        """``failure`` will be tried again after ``wait`` seconds (log it)."""

    # --- the loop ----------------------------------------------------------------------------

    def call(
        self,
        send: Callable[[], T],
        *,
        before_resend: Callable[[Unanswered], T | None] | None = None,
    ) -> T:
        """``send()`` until it returns; it raises :class:`Throttled` or :class:`Unanswered`
        to be tried again. Anything else it raises ends the tries at once.

        ``before_resend`` is the one domain rule left to callers: after the wait that follows
        an :class:`Unanswered`, before sending again, it may return the result instead (a
        create whose answer was lost, found to exist).
        """
        # The first try outside tenacity: nearly every request needs no other, and a retry
        # loop built for each one cost more CPU than the try itself (issue 21). A failed
        # first try is handed to the loop as its own first outcome, so the waits, the counts
        # and the stop see the same tries as if the loop had made it.
        self.before_attempt()
        try:
            return self._attempt(send, before_resend)
        except (Throttled, Unanswered) as failure:
            first: list[BaseException] = [failure]

        def attempt() -> T:
            if first:
                raise first.pop()
            self.before_attempt()
            return self._attempt(send, before_resend)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((Throttled, Unanswered)),
            stop=self._stop,
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            retry_error_callback=self._give_up,
        )
        result: T = retrying(attempt)
        return result

    def _attempt(
        self, send: Callable[[], T], before_resend: Callable[[Unanswered], T | None] | None
    ) -> T:
        lost, self._failure = self._failure, None
        if lost is not None and before_resend is not None:
            found = before_resend(lost)
            if found is not None:
                return found
        concurrency = self.concurrency
        in_flight = concurrency.acquire() if concurrency is not None else 0
        seconds: float | None = None
        failed = False
        try:
            episode = self.acquire()
            mark = self.health.mark()
            # "Since this request's previous try": an answer to anyone in between means the
            # API is up and this request is the problem.
            since = mark if self._previous_mark is None else self._previous_mark
            self._previous_mark = mark
            started = self.clock.now()
            try:
                result = send()
            except Throttled as throttled:
                self.health.answered()
                self.throttle(episode, throttled.retry_after)
                raise
            except Unanswered as failure:
                failed = True
                if failure.answered:
                    self.health.answered()
                failure.own = self._own(since, failure)
                if failure.own:
                    self.failures += 1
                else:
                    self.outage_waits += 1
                self._failure = failure
                raise
            seconds = self.clock.now() - started
        finally:
            if concurrency is not None:
                concurrency.release(in_flight, kind=self.kind, seconds=seconds, failed=failed)
        self.health.answered()
        self.rate.on_success()
        return result

    def _own(self, since: int, failure: Unanswered) -> bool:
        """True if the failure is this request's; raises once an outage lasted too long."""
        if not self.probe_outages:
            return True
        if self.health.answered_after(since) or self.probe():
            return True
        silent = self.health.silent_for()
        if silent >= self.health.outage_seconds:
            raise self.unavailable(failure, silent) from failure.__cause__ or failure
        return False

    def acquire(self) -> int:
        """Wait for this request's turn at the shared rate; its rate episode."""
        try:
            return self.rate.acquire(deadline=self.health.deadline)
        except OutOfTimeError as exc:
            raise self.out_of_time(exc.wait) from None

    def throttle(self, episode: int, seconds: float | None) -> None:
        """A 429 to a request of ``episode``: pause everyone, maybe lower the rate."""
        if self.rate.on_throttled(episode, seconds):
            self.slowed(seconds)

    def probe(self) -> bool:
        """Does the API answer anyone (any status below 500) right now?"""
        episode = self.acquire()
        answer = self.send_probe()
        if answer is None or answer.status_code >= 500:
            return False
        self.health.answered()
        if answer.status_code == 429:
            self.throttle(episode, retry_after(answer.headers))
        return True

    # --- tenacity strategies -----------------------------------------------------------------

    @staticmethod
    def _failure_of(state: RetryCallState) -> Unanswered | None:
        error = state.outcome.exception() if state.outcome is not None else None
        return error if isinstance(error, Unanswered) else None

    def _stop(self, state: RetryCallState) -> bool:
        failure = self._failure_of(state)
        if failure is None or not failure.own:
            return False  # 429s and outages are bounded by the budget and the outage window
        return bool(self._stop_own(_numbered(state, self.failures)))

    def _wait(self, state: RetryCallState) -> float:
        failure = self._failure_of(state)
        if failure is None:
            return 0.0  # a 429: the shared rate holds the next try until the pause is over
        if failure.own:
            return float(self.own_wait(_numbered(state, self.failures)))
        return float(self.outage_wait(_numbered(state, self.outage_waits)))

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        # Waiting past the deadline only to stop then would waste the rest of the time.
        if self.clock.now() + seconds > self.health.deadline:
            raise self.out_of_time(seconds)
        self.clock.sleep(seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        failure = self._failure_of(state)
        if failure is not None:
            self.retrying(failure, state.upcoming_sleep)

    def _give_up(self, state: RetryCallState) -> Any:
        failure = self._failure_of(state)
        assert failure is not None  # only an own failure stops the tries
        error = self.gave_up(failure, self.failures)
        if error is failure:
            raise failure
        raise error from failure.__cause__ or failure
