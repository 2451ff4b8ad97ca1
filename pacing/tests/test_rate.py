"""The shared AdaptiveRate, on the target's expectations (the tap's are in its test_rate.py)."""

from __future__ import annotations

import pytest

from pacing import AdaptiveRate, OutOfTimeError


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


def test_the_rate_climbs_about_one_request_per_second_per_second(ticks, clock):
    rate = AdaptiveRate(20, clock=clock)
    rate.on_throttled(rate.acquire(), 0)
    assert rate.rate == 10
    start = ticks.t
    while rate.rate < 20:
        rate.acquire()
        rate.on_success()
    assert ticks.t - start == pytest.approx(10, abs=0.5)


def test_an_unbounded_rate_starts_unpaced_and_halves_what_was_sent(ticks, clock):
    rate = AdaptiveRate(0, clock=clock)
    assert rate.describe_ceiling() == "no ceiling"
    episodes = [rate.acquire() for _ in range(6)]
    assert ticks.slept == []
    rate.on_throttled(episodes[-1], 0)
    assert rate.rate == 3


def test_the_deadline_is_checked_before_waiting(ticks, clock):
    rate = AdaptiveRate(10, clock=clock)
    rate.on_throttled(rate.acquire(), 30)
    with pytest.raises(OutOfTimeError) as excinfo:
        rate.acquire(deadline=ticks.t + 10)
    assert excinfo.value.wait == pytest.approx(30)
    assert ticks.slept == []
