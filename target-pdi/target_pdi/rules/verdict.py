"""Whether an organization's sync needs a person: the rules of `status`'s last line.

One pure function of what status reads (the last run's summary, the last successful one, when
each waiting dead letter first failed, the credential checks), so that anything else judging a
sync (an orchestrator's checks) can apply the same rules to the same summary. Standard library
only, for the same reason. A reason is a short phrase; no reason means OK.

The rules, each giving one reason:

1. No run recorded yet.
2. The last run did not succeed (`failed`, `stopped`).
3. The last run had failures: its summary's `attention` (e.g. "2 events failed", "tap-mobilize
   failed"). A run with failed records still succeeds, its bookmarks past them, so rule 2 alone
   would hide them. With rule 2, one reason: "last run failed: tap-mobilize failed".
4. No successful run for longer than `max_sync_age` (the schedule missed, or every run fails).
5. Dead letters waiting for longer than `dead_letter_max_age` since they first failed: they are
   retried by every run, so one that old will not succeed without a person.
6. A credential check failed.

A dry run writes nothing and is never the last run: callers leave dry runs' summaries out.

Each rule is a function of its own, so that an orchestrator's checks (one per rule: Dagster's
`attention` is rules 1-3, its `dead_letters` rule 5, its freshness check rule 4 with the same
`max_sync_age`) say what status says, in its words; orchestrate/ imports this module, which is
why it stays standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SUCCEEDED = "succeeded"


# The twice-daily schedule succeeds every 12 hours; a run may start late or take its whole
# time budget (4 hours) and some: a missed run shows before the one after it starts.
MAX_SYNC_AGE_HOURS = 18
# Every run retries the dead letters (twice a day: at least two retries in a day); one still
# failing a day after it first failed waits for a person (an email added in Mobilize, a record
# PDI refuses fixed).
DEAD_LETTER_MAX_AGE_HOURS = 24


@dataclass(frozen=True)
class Limits:
    max_sync_age: timedelta = timedelta(hours=MAX_SYNC_AGE_HOURS)
    dead_letter_max_age: timedelta = timedelta(hours=DEAD_LETTER_MAX_AGE_HOURS)


DEFAULT_LIMITS = Limits()


def verdict(
    last_run: Mapping[str, Any] | None,
    last_success: Mapping[str, Any] | None,
    dead_letters_since: Sequence[datetime | None],
    *,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
    failed_checks: Sequence[str] = (),
) -> list[str]:
    """Why the sync needs attention, rule by rule (module docstring); [] when it does not.

    last_run / last_success: run summaries (run_summary.py's keys); dead_letters_since: when
    each waiting dead letter first failed (None: unknown, never counted as old);
    failed_checks: the credential checks that did not pass, as reasons ("PDI credentials
    failed").
    """
    reasons = last_run_reasons(last_run)
    if last_run is not None:
        reasons += stale_reasons(last_success, now, limits.max_sync_age)
    reasons += dead_letter_reasons(
        old_dead_letters(dead_letters_since, now, limits.dead_letter_max_age),
        limits.dead_letter_max_age,
    )
    reasons += failed_checks
    return reasons


def last_run_reasons(last_run: Mapping[str, Any] | None) -> list[str]:
    """Rules 1 to 3, what the last run's summary says of itself, as one reason at most."""
    if last_run is None:
        return ["no run yet"]
    # Rules 2 and 3 in one reason: "last run failed: tap-mobilize failed",
    # "last run: 2 events failed".
    status = str(last_run.get("status") or "unknown")
    said = "last run" if status == SUCCEEDED else f"last run {status}"
    failures = attention_of(last_run)
    if failures:
        return [f"{said}: {', '.join(failures)}"]
    return [said] if status != SUCCEEDED else []


def stale_reasons(
    last_success: Mapping[str, Any] | None, now: datetime, max_sync_age: timedelta
) -> list[str]:
    """Rule 4: no successful run, or none for longer than ``max_sync_age``."""
    if last_success is None:
        return ["no successful run yet"]
    finished = finished_at(last_success)
    if finished is None or now - finished <= max_sync_age:
        return []
    return [f"no successful run for over {_hours(max_sync_age)} h"]


def old_dead_letters(
    dead_letters_since: Sequence[datetime | None], now: datetime, max_age: timedelta
) -> int:
    """How many dead letters first failed longer than ``max_age`` before ``now`` (None:
    unknown, never counted as old)."""
    return sum(1 for since in dead_letters_since if since is not None and now - since > max_age)


def dead_letter_reasons(old: int, max_age: timedelta) -> list[str]:
    """Rule 5, from how many dead letters have waited longer than ``max_age``."""
    if not old:
        return []
    return [f"{old} dead letter{'s' if old != 1 else ''} waiting over {_hours(max_age)} h"]


def attention_of(run: Mapping[str, Any]) -> list[str]:
    """The run's `attention`, or for a summary written before it existed, its failed counts."""
    listed = run.get("attention")
    if isinstance(listed, list):
        return [str(reason) for reason in listed]
    objects = run.get("objects") or {}
    return [
        f"{row['failed']} {kind} failed"
        for kind, row in objects.items()
        if isinstance(row, Mapping) and row.get("failed")
    ]


def finished_at(run: Mapping[str, Any]) -> datetime | None:
    value = run.get("finished_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g}"
