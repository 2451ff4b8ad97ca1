"""Requests in flight: more while the API answers as fast as when idle, fewer when it slows."""

from __future__ import annotations

import threading

import pytest
from pacing.concurrency import AdaptiveConcurrency


def answer(limit: AdaptiveConcurrency, seconds: float, kind: str = "GET") -> None:
    limit.release(limit.acquire(), kind=kind, seconds=seconds)


def test_fast_answers_add_one_request_in_flight_per_round_up_to_the_maximum():
    limit = AdaptiveConcurrency(4, 10)
    for _ in range(4):  # one round of four answers as fast as the fastest
        answer(limit, 0.05)
    assert limit.limit == pytest.approx(5, abs=0.1)
    for _ in range(200):
        answer(limit, 0.06)
    assert limit.limit == 10
    assert limit.peak == 10


def test_answers_twice_as_slow_as_the_fastest_take_requests_in_flight_away():
    limit = AdaptiveConcurrency(8, 32)
    answer(limit, 0.05)
    start = limit.limit
    for _ in range(8):  # PDI queues: each answer takes 150 ms instead of 50
        answer(limit, 0.15)
    assert limit.limit == pytest.approx(start - 1, abs=0.15)


def test_the_fastest_answer_is_kept_per_kind_of_request():
    limit = AdaptiveConcurrency(8, 32)
    answer(limit, 0.05, "GET")
    answer(limit, 0.20, "POST")  # a slower kind of request, not a queue
    answer(limit, 0.20, "POST")
    assert limit.limit > 8


def test_a_failure_halves_the_limit_once_per_episode():
    limit = AdaptiveConcurrency(8, 32)
    before = [limit.acquire() for _ in range(3)]
    limit.release(before[0], failed=True)
    assert limit.limit == 4
    limit.release(before[1], failed=True)  # sent before the decrease: nothing new
    assert limit.limit == 4
    limit.release(before[2])  # a 429: the rate's business
    assert (limit.limit, limit.in_flight) == (4, 0)


def test_a_request_waits_for_a_free_slot():
    limit = AdaptiveConcurrency(1, 1)
    first = limit.acquire()
    entered = threading.Event()

    def second() -> None:
        limit.release(limit.acquire(), seconds=0.01)
        entered.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.2)
    limit.release(first, seconds=0.01)
    assert entered.wait(5)
    thread.join()
