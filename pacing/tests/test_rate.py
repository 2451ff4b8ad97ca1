"""The shared AdaptiveRate, on the target's expectations (the tap's are in its test_rate.py)."""

from __future__ import annotations

import pytest
from pacing.rate import AdaptiveRate, OutOfTimeError


def test_a_429_pauses_every_caller_and_halves_the_rate_once_per_episode(ticks, clock):
    rate = AdaptiveRate(16, clock=clock)
    sent_before = [rate.acquire() for _ in range(3)]
    assert rate.on_throttled(sent_before[0], 3) is True
    assert rate.rate == 8
    assert rate.on_throttled(sent_before[1], 3) is False
    assert rate.rate == 8
    start = ticks.t
    episode = rate.acquire()
    assert ticks.t - start >= 3 - 3 / 16
    rate.on_throttled(episode, 0)
    assert rate.rate == 4
    assert rate.throttled == 3


def test_the_rate_climbs_one_per_second_then_probes_the_refused_rate_slowly(ticks, clock):
    rate = AdaptiveRate(40, clock=clock)
    rate.on_throttled(rate.acquire(), 0)
    assert (rate.rate, rate.refused) == (20, 40)
    start = ticks.t
    while rate.rate < 38:
        rate.acquire()
        rate.on_success()
    assert ticks.t - start == pytest.approx(18, abs=0.5)
    start = ticks.t
    while rate.rate < 40:
        rate.acquire()
        rate.on_success()
    # 0.25% of the refused 40/s per second: 0.1/s per second, 20 s for the last 2/s.
    assert ticks.t - start == pytest.approx(20, abs=0.5)


def test_a_429_near_the_refused_rate_lowers_it_gently_and_far_below_halves_it(ticks, clock):
    rate = AdaptiveRate(20, clock=clock)
    rate.on_throttled(rate.acquire(), 0)
    assert rate.rate == 10
    rate.rate = 19.0  # climbed back near the 20/s PDI refused
    rate.on_throttled(rate.acquire(), 0)
    assert (rate.rate, rate.refused) == (pytest.approx(18.05), 19)
    rate.rate = 8.0  # the limit moved far down: learn it again from the start
    rate.on_throttled(rate.acquire(), 0)
    assert (rate.rate, rate.refused) == (4, 8)


def test_an_unbounded_rate_starts_unpaced_and_keeps_95_percent_of_what_got_through(ticks, clock):
    rate = AdaptiveRate(0, clock=clock)
    assert rate.describe_ceiling() == "no ceiling"
    for _ in range(6):
        rate.acquire()
        rate.on_success()
    episode = rate.acquire()  # the seventh is refused
    assert ticks.slept == []
    rate.on_throttled(episode, 0)
    assert rate.rate == pytest.approx(5.7)
    assert rate.refused == 6


def test_the_deadline_is_checked_before_waiting(ticks, clock):
    rate = AdaptiveRate(10, clock=clock)
    rate.on_throttled(rate.acquire(), 30)
    with pytest.raises(OutOfTimeError) as excinfo:
        rate.acquire(deadline=ticks.t + 10)
    assert excinfo.value.wait == pytest.approx(30)
    assert ticks.slept == []
