"""verdict.py: every rule of `status`'s last line, each on both sides of its threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from target_pdi.rules.verdict import (
    DEAD_LETTER_MAX_AGE_HOURS,
    MAX_SYNC_AGE_HOURS,
    Limits,
    attention_of,
    verdict,
)

NOW = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
LIMITS = Limits(max_sync_age=timedelta(hours=18), dead_letter_max_age=timedelta(hours=24))


def run(status: str = "succeeded", ago: timedelta = timedelta(hours=1), **more: Any) -> dict:
    return {
        "status": status,
        "finished_at": (NOW - ago).isoformat(timespec="seconds"),
        "objects": {"events": {"created": 1, "failed": 0}},
        "attention": [],
        **more,
    }


def judge(
    last: dict | None,
    last_success: dict | None = None,
    since: list[datetime | None] | None = None,
    failed_checks: tuple[str, ...] = (),
) -> list[str]:
    if last_success is None and last is not None and last["status"] == "succeeded":
        last_success = last
    return verdict(
        last, last_success, since or [], now=NOW, limits=LIMITS, failed_checks=failed_checks
    )


def test_a_recent_successful_run_with_nothing_waiting_is_ok() -> None:
    assert judge(run()) == []


def test_rule_1_no_run_yet() -> None:
    assert judge(None) == ["no run yet"]


@pytest.mark.parametrize("status", ["failed", "stopped"])
def test_rule_2_a_run_that_did_not_succeed(status: str) -> None:
    assert judge(run(status), last_success=run(ago=timedelta(hours=2))) == [f"last run {status}"]


def test_rule_2_the_first_run_failed_so_no_success_yet() -> None:
    assert judge(run("failed")) == ["last run failed", "no successful run yet"]


def test_rules_2_and_3_a_failed_run_with_its_attention_is_one_reason() -> None:
    failing = run("failed", attention=["tap-mobilize ended without finishing"])
    assert judge(failing, last_success=run()) == [
        "last run failed: tap-mobilize ended without finishing"
    ]


def test_rule_3_failed_records_of_a_run_that_succeeded() -> None:
    failing = run(attention=["2 events failed", "12 invitations failed"])
    assert judge(failing) == ["last run: 2 events failed, 12 invitations failed"]
    assert judge(run(attention=[])) == []


def test_rule_3_a_summary_from_before_attention_uses_its_failed_counts() -> None:
    old = run(objects={"events": {"failed": 2}, "invitations": {"failed": 0}})
    del old["attention"]
    assert attention_of(old) == ["2 events failed"]
    assert judge(old) == ["last run: 2 events failed"]


def test_rule_4_the_last_success_at_the_limit_and_past_it() -> None:
    at_limit = run(ago=timedelta(hours=18))
    assert judge(at_limit) == []
    past = run(ago=timedelta(hours=18, seconds=1))
    assert judge(past) == ["no successful run for over 18 h"]


def test_rule_4_counts_from_the_last_success_not_the_last_run() -> None:
    failed_now = run("failed", ago=timedelta(minutes=5))
    assert judge(failed_now, last_success=run(ago=timedelta(hours=17))) == ["last run failed"]
    assert judge(failed_now, last_success=run(ago=timedelta(hours=19))) == [
        "last run failed",
        "no successful run for over 18 h",
    ]


def test_rule_5_dead_letters_at_the_limit_and_past_it() -> None:
    day = timedelta(hours=24)
    assert judge(run(), since=[NOW - day, NOW - timedelta(hours=1), None]) == []
    old = [NOW - day - timedelta(seconds=1), NOW - timedelta(days=9), NOW, None]
    assert judge(run(), since=old) == ["2 dead letters waiting over 24 h"]
    assert judge(run(), since=old[:1]) == ["1 dead letter waiting over 24 h"]


def test_rule_6_credential_checks() -> None:
    assert judge(run(), failed_checks=("PDI credentials failed",)) == ["PDI credentials failed"]


def test_every_reason_at_once_in_rule_order() -> None:
    last = run("stopped", attention=["1 contacts failed"])
    reasons = judge(
        last,
        last_success=run(ago=timedelta(days=2)),
        since=[NOW - timedelta(days=3)],
        failed_checks=("Mobilize credentials failed",),
    )
    assert reasons == [
        "last run stopped: 1 contacts failed",
        "no successful run for over 18 h",
        "1 dead letter waiting over 24 h",
        "Mobilize credentials failed",
    ]


def test_the_defaults_suit_the_twice_daily_schedule() -> None:
    """Runs 12 hours apart: a run that started late or took its whole 4-hour budget is not
    flagged, a missed run is, before the next one; a dead letter is once two runs a day
    have retried it without success."""
    late = run(ago=timedelta(hours=16))
    assert verdict(late, late, [NOW - timedelta(hours=23)], now=NOW) == []
    missed = run(ago=timedelta(hours=MAX_SYNC_AGE_HOURS, minutes=1))
    stuck = [NOW - timedelta(hours=DEAD_LETTER_MAX_AGE_HOURS, minutes=1)]
    assert verdict(missed, missed, stuck, now=NOW) == [
        "no successful run for over 18 h",
        "1 dead letter waiting over 24 h",
    ]
