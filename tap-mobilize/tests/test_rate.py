"""The adaptive request rate (AIMD) and the run's health, on a fake clock."""

from __future__ import annotations

import threading

import pytest
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate, OutOfTimeError


def test_requests_are_spaced_at_the_ceiling(fake_clock):
    rate = AdaptiveRate(10)
    for _ in range(4):
        rate.acquire()
    assert fake_clock.slept == pytest.approx([0.1, 0.1, 0.1])


def test_a_ceiling_of_zero_does_not_pace(fake_clock):
    rate = AdaptiveRate(0)
    for _ in range(5):
        rate.acquire()
    assert fake_clock.slept == []


def test_a_429_pauses_every_caller_for_its_retry_after(fake_clock):
    rate = AdaptiveRate(10)
    episode = rate.acquire()  # one stream's request...
    rate.on_throttled(episode, 5.0)  # ...is answered 429 with Retry-After: 5
    start = fake_clock.now()

    rate.acquire()  # another stream's next request

    assert fake_clock.now() - start == pytest.approx(5.0)


def test_a_429_without_retry_after_pauses_one_second(fake_clock):
    rate = AdaptiveRate(10)
    rate.on_throttled(rate.acquire(), None)
    start = fake_clock.now()
    rate.acquire()
    assert fake_clock.now() - start == pytest.approx(1.0)


def test_a_caller_already_waiting_for_its_turn_also_honours_the_pause(fake_clock):
    rate = AdaptiveRate(1)  # turns one second apart
    first = rate.acquire()
    sleep = fake_clock.sleep

    def sleep_while_another_thread_gets_a_429(seconds):
        # While this caller sleeps towards its turn, the first request's 429 arrives.
        fake_clock.sleep = sleep
        rate.on_throttled(first, 30.0)
        sleep(seconds)

    fake_clock.sleep = sleep_while_another_thread_gets_a_429
    start = fake_clock.now()
    rate.acquire()
    assert fake_clock.now() - start == pytest.approx(30.0)


def test_the_pause_is_shared_by_real_threads(fake_clock):
    rate = AdaptiveRate(10)
    got_429 = threading.Event()
    waited: dict[str, float] = {}

    def stream_a():
        rate.on_throttled(rate.acquire(), 12.0)
        got_429.set()

    def stream_b():
        got_429.wait(5)
        before = fake_clock.now()
        rate.acquire()
        waited["b"] = fake_clock.now() - before

    threads = [threading.Thread(target=stream_a), threading.Thread(target=stream_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert waited["b"] == pytest.approx(12.0)


def test_the_rate_is_halved_once_per_429_episode(fake_clock):
    rate = AdaptiveRate(10)
    # Three requests sent at the old rate, all answered 429: one decrease, not three.
    sent_before = [rate.acquire() for _ in range(3)]
    assert rate.on_throttled(sent_before[0], None) is True
    assert rate.on_throttled(sent_before[1], None) is False
    assert rate.on_throttled(sent_before[2], None) is False
    assert rate.rate == 5
    # A request acquired after the decrease that is throttled again: a new episode.
    assert rate.on_throttled(rate.acquire(), None) is True
    assert rate.rate == 2.5
    assert rate.throttled == 4


def test_the_rate_never_falls_below_the_floor(fake_clock):
    rate = AdaptiveRate(1)
    for _ in range(10):
        rate.on_throttled(rate.acquire(), 0.0)
    assert rate.rate == 0.5


def test_the_rate_climbs_back_slowly_to_the_ceiling(fake_clock):
    rate = AdaptiveRate(10)
    rate.on_throttled(rate.acquire(), 2.0)
    assert rate.rate == 5
    fake_clock.sleep(2.0)  # the pause: no climb
    rate.on_success()
    assert rate.rate == pytest.approx(5)
    for _ in range(3):  # three seconds of clean answers: +1 request/s per second
        fake_clock.sleep(1.0)
        rate.on_success()
    assert rate.rate == pytest.approx(8)
    fake_clock.sleep(60.0)
    rate.on_success()
    assert rate.rate == 10  # never above the ceiling


def test_the_climb_restarts_after_a_new_429(fake_clock):
    rate = AdaptiveRate(10)
    rate.on_throttled(rate.acquire(), 1.0)
    fake_clock.sleep(3.0)
    rate.on_success()  # 5 + 2 s of clean answers after the 1 s pause
    assert rate.rate == pytest.approx(7)
    rate.on_throttled(rate.acquire(), 1.0)
    assert rate.rate == pytest.approx(3.5)
    fake_clock.sleep(1.5)
    rate.on_success()
    assert rate.rate == pytest.approx(4.0)


def test_without_a_ceiling_the_first_429_keeps_95_percent_of_what_got_through(fake_clock):
    rate = AdaptiveRate(0)
    episodes = []
    for _ in range(8):  # eight clean answers within a second, then a 429
        episodes.append(rate.acquire())
        rate.on_success()
    episodes.append(rate.acquire())
    rate.on_throttled(episodes[-1], 0.0)
    assert rate.rate == pytest.approx(7.6)
    fake_clock.slept.clear()
    rate.acquire()
    rate.acquire()
    assert fake_clock.slept == [pytest.approx(1 / 7.6)]


def test_a_turn_after_the_deadline_raises_without_waiting(fake_clock):
    rate = AdaptiveRate(10)
    rate.on_throttled(rate.acquire(), 120.0)
    with pytest.raises(OutOfTimeError):
        rate.acquire(deadline=fake_clock.now() + 60)
    assert fake_clock.slept == []


def test_run_health_tracks_the_last_answer(fake_clock):
    health = RunHealth(budget_seconds=100, outage_seconds=10)
    assert health.deadline == fake_clock.now() + 100
    fake_clock.sleep(4)
    sent = fake_clock.now()
    assert not health.answered_since(sent)
    assert health.silent_for() == 4
    health.answered()
    assert health.answered_since(sent)
    assert health.silent_for() == 0
