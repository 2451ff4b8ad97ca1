"""One request's tries: 429s use up none, own failures are counted, outages waited out."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pacing.concurrency import AdaptiveConcurrency
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate, OutOfTimeError
from pacing.retries import OutageError, Retries, Throttled, Unanswered
from tenacity import wait_exponential, wait_fixed


@dataclass
class Probe:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


class Scripted(Retries):
    """Retries whose probe answers from a list (None: no answer) and which logs to lists."""

    def __init__(self, probes=(), **kw):
        super().__init__(**kw)
        self.probes = list(probes)
        self.probed = 0
        self.waits: list[tuple[bool, float]] = []
        self.slowdowns: list[float | None] = []

    def send_probe(self):
        self.probed += 1
        return self.probes.pop(0) if self.probes else None

    def retrying(self, failure, wait):
        self.waits.append((failure.own, wait))

    def slowed(self, retry_after):
        self.slowdowns.append(retry_after)


def make(clock, *, budget=1000.0, outage=60.0, max_failures=3, ceiling=0.0, **kw):
    return Scripted(
        rate=AdaptiveRate(ceiling, clock=clock),
        health=RunHealth(budget_seconds=budget, outage_seconds=outage, clock=clock),
        clock=clock,
        max_failures=max_failures,
        own_wait=wait_exponential(multiplier=1, max=60),
        outage_wait=wait_exponential(multiplier=1, max=10),
        **kw,
    )


def replies(*outcomes):
    """A send() that raises or returns each outcome in turn, counting its calls."""
    queue = list(outcomes)
    calls = []

    def send():
        calls.append(1)
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    send.calls = calls
    return send


def test_429s_use_up_no_try_and_every_caller_waits_the_retry_after(ticks, clock):
    retries = make(clock, max_failures=1)
    send = replies(*[Throttled(2.0)] * 5, "ok")
    assert retries.call(send) == "ok"
    assert len(send.calls) == 6
    assert ticks.t - 1000 == pytest.approx(10)  # five shared pauses of 2 s
    assert retries.rate.throttled == 5
    assert retries.failures == 0
    assert retries.waits == []  # a 429 is no failure to log as a retry


def test_own_failures_are_counted_and_given_up_after_max_failures(ticks, clock):
    retries = make(clock, probes=[Probe(200)] * 10, max_failures=3)
    send = replies(*[Unanswered("HTTP 500")] * 10)
    with pytest.raises(Unanswered, match="HTTP 500"):
        retries.call(send)
    assert len(send.calls) == 3
    assert retries.failures == 3
    assert retries.waits == [(True, 1.0), (True, 2.0)]  # tenacity's exponential, no wait after


def test_an_answer_to_anyone_since_the_previous_try_makes_the_failure_own(ticks, clock):
    retries = make(clock, probes=[Probe(200)], max_failures=2)
    send = replies(*[Unanswered("no answer")] * 3)
    with pytest.raises(Unanswered):
        retries.call(send)
    # The first failure needed the probe; its answer came after the first try was sent, so
    # the second failure is own too without asking again.
    assert retries.probed == 1


def test_an_outage_is_waited_out_without_using_up_tries(ticks, clock):
    retries = make(clock, max_failures=1, outage=600)
    send = replies(*[Unanswered("HTTP 503")] * 6, "ok")
    assert retries.call(send) == "ok"
    assert retries.failures == 0
    assert retries.outage_waits == 6
    assert ticks.slept == [1, 2, 4, 8, 10, 10]  # counted per kind, capped
    assert retries.probed == 6


def test_an_outage_longer_than_the_window_is_fatal(ticks, clock):
    retries = make(clock, max_failures=1, outage=30)
    send = replies(*[Unanswered("HTTP 503")] * 100)
    with pytest.raises(OutageError) as excinfo:
        retries.call(send)
    assert excinfo.value.silent >= 30
    assert 30 <= ticks.t - 1000 < 40


def test_a_probe_answered_429_shows_the_api_is_up_and_pauses_everyone(ticks, clock):
    retries = make(clock, probes=[Probe(429, {"Retry-After": "5"})], max_failures=2)
    send = replies(Unanswered("no answer"), "ok")
    assert retries.call(send) == "ok"
    assert retries.failures == 1
    assert retries.rate.throttled == 1
    assert ticks.t - 1000 >= 5


def test_no_wait_is_begun_past_the_deadline(ticks, clock):
    retries = make(clock, budget=100)
    send = replies(*[Throttled(60.0)] * 10)
    with pytest.raises(OutOfTimeError):
        retries.call(send)
    assert ticks.t - 1000 <= 100
    assert len(send.calls) == 2  # at 0 and 60 s; the turn at 120 s is past the budget


def test_before_resend_may_answer_instead_of_sending_again(ticks, clock):
    retries = make(clock, probes=[Probe(200)])
    send = replies(Unanswered("no answer"), "sent twice")
    seen = []

    def look_up(failure):
        seen.append(failure.reason)
        return "found"

    assert retries.call(send, before_resend=look_up) == "found"
    assert len(send.calls) == 1
    assert seen == ["no answer"]


def test_before_resend_finding_nothing_sends_again(ticks, clock):
    retries = make(clock, probes=[Probe(200)])
    send = replies(Unanswered("no answer"), "sent twice")
    assert retries.call(send, before_resend=lambda _failure: None) == "sent twice"


def test_before_attempt_can_stop_every_try(ticks, clock):
    class Stopping(Scripted):
        def before_attempt(self):
            raise KeyError("stop")

    retries = Stopping(
        rate=AdaptiveRate(0, clock=clock),
        health=RunHealth(budget_seconds=10, outage_seconds=10, clock=clock),
        clock=clock,
        max_failures=1,
        own_wait=wait_fixed(1),
        outage_wait=wait_fixed(1),
    )
    send = replies("ok")
    with pytest.raises(KeyError):
        retries.call(send)
    assert send.calls == []


def test_without_outage_probing_every_failure_counts(ticks, clock):
    retries = make(clock, max_failures=2, probe_outages=False)
    send = replies(*[Unanswered("no answer")] * 5)
    with pytest.raises(Unanswered):
        retries.call(send)
    assert len(send.calls) == 2
    assert retries.probed == 0


def test_any_other_error_ends_the_tries_at_once(ticks, clock):
    retries = make(clock)
    send = replies(ValueError("HTTP 400"), "ok")
    with pytest.raises(ValueError, match="HTTP 400"):
        retries.call(send)
    assert len(send.calls) == 1


def test_the_rate_slows_on_a_429_and_climbs_on_answers(ticks, clock):
    retries = make(clock, ceiling=10)
    assert retries.call(replies(Throttled(None), "ok")) == "ok"
    assert retries.slowdowns == [None]
    assert retries.rate.rate == pytest.approx(5)


def test_a_429_adds_no_wait_of_its_own_to_its_retry_after(ticks, clock):
    retries = make(clock, ceiling=1000)
    assert retries.call(replies(*[Throttled(0.0)] * 3, "ok")) == "ok"
    assert ticks.t - 1000 < 0.1


def test_retries_hold_a_slot_for_each_try_and_free_it_whatever_the_outcome(ticks, clock):
    limit = AdaptiveConcurrency(4, 8)
    retries = make(clock, concurrency=limit, kind="POST", max_failures=5)
    retries.own_wait = wait_fixed(0)
    send = replies(Throttled(None), Unanswered("HTTP 503"), "ok")
    assert retries.call(send) == "ok"
    assert limit.in_flight == 0
    # The 429 changed nothing, the 503 halved 4 to 2, the answer added 1/2.
    assert limit.limit == 2.5
    with pytest.raises(KeyError):
        retries.call(replies(KeyError("bug")))
    assert limit.in_flight == 0
