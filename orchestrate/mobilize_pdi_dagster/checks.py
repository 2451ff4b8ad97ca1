"""The product's own checks of an organization as Dagster asset checks: red and green on the
asset page of ``pdi/<org>``, and what the alert sensor reports.

- ``attention`` and ``dead_letters`` come from the run summary, with every sync (they are the
  asset's own checks: Dagster runs them whenever the asset materializes).
- ``freshness_check`` (Dagster's own last-update check): the last successful sync is no older
  than the last tick of the organization's schedule, allowing ``SYNC_ALLOWANCE`` for the sync.
- ``reconcile`` is reconcile_check.py: it reads all of Mobilize and PDI, so it has a job and
  a daily schedule of its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import dagster as dg

from mobilize_pdi_dagster.schedules import EASTERN, EasternSchedule, later_cron
from mobilize_pdi_dagster.summary import attention, dead_letters_waiting

ATTENTION_CHECK = "attention"
DEAD_LETTERS_CHECK = "dead_letters"
RECONCILE_CHECK = "reconcile"
# The name dg.build_last_update_freshness_checks gives its check.
FRESHNESS_CHECK = "freshness_check"
CHECK_NAMES = (ATTENTION_CHECK, DEAD_LETTERS_CHECK, FRESHNESS_CHECK, RECONCILE_CHECK)
# How long a scheduled sync may take before its organization counts as overdue.
SYNC_ALLOWANCE_HOURS = 1


def summary_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            ATTENTION_CHECK,
            asset=key,
            description="The sync's run summary lists nothing a person should look at "
            "(records that failed, by kind).",
        ),
        dg.AssetCheckSpec(
            DEAD_LETTERS_CHECK,
            asset=key,
            description="No record waits in the dead letters (the next sync retries them; "
            "a person without an email stays there until Mobilize has one).",
        ),
    ]


def summary_check_results(summary: dict[str, Any]) -> list[dg.AssetCheckResult]:
    """Red when records failed (the run itself succeeds: its bookmarks move past them); amber
    while dead letters wait."""
    reasons = attention(summary)
    dead = summary.get("dead_letters") or {}
    waiting = dead_letters_waiting(summary)
    return [
        dg.AssetCheckResult(
            check_name=ATTENTION_CHECK,
            passed=not reasons,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(reasons) if reasons else "Nothing needs attention.",
            metadata={"attention": dg.MetadataValue.json(reasons)},
        ),
        dg.AssetCheckResult(
            check_name=DEAD_LETTERS_CHECK,
            passed=waiting == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{waiting} dead letters waiting ({dead.get('new', 0)} new this run).",
            metadata={"dead_letters_waiting": dg.MetadataValue.int(waiting)},
        ),
    ]


def missing_summary_results(reason: str) -> list[dg.AssetCheckResult]:
    """The summary checks of a run whose summary could not be read: failed, saying why."""
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=reason,
        )
        for name in (ATTENTION_CHECK, DEAD_LETTERS_CHECK)
    ]


def freshness_checks(
    key: dg.AssetKey, schedule: EasternSchedule
) -> Sequence[dg.AssetChecksDefinition]:
    """Overdue when, SYNC_ALLOWANCE_HOURS after a tick of ``schedule``, no sync has succeeded
    since that tick. A failed run's observation does not count: it carries no
    ``dagster/last_updated_timestamp``."""
    with quiet_supersession():
        return dg.build_last_update_freshness_checks(
            assets=[key],
            lower_bound_delta=timedelta(hours=SYNC_ALLOWANCE_HOURS),
            deadline_cron=later_cron(schedule.cron, SYNC_ALLOWANCE_HOURS),
            timezone=EASTERN,
            severity=dg.AssetCheckSeverity.ERROR,
        )


def freshness_sensor(checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Runs each freshness check again once a deadline has passed since it last passed."""
    with quiet_supersession():
        return dg.build_sensor_for_freshness_checks(freshness_checks=checks)


@contextmanager
def quiet_supersession() -> Iterator[None]:
    """Dagster 1.13 calls these factories superseded by FreshnessPolicy (supported, not
    deprecated). A FreshnessPolicy is a freshness status, not an asset check: it would not sit
    with the other checks, nor reach the check alert. Its warning would be printed by every
    `dagster` command that loads the code location."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        yield
