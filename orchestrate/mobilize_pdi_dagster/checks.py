"""The product's own checks of an organization as Dagster asset checks: red and green on the
asset page of ``pdi/<org>``, and what the alert sensor reports.

They judge a sync as `meltano invoke target-pdi--<org>:status` does, with its rules
(target_pdi.rules.verdict, imported: one function for both) and the organization's
own thresholds, each rule in the check that fits it and in status's words:

- ``attention`` (red): rules 1-3, what the run's summary says of the run: it failed or stopped
  (`last run failed: tap-mobilize failed`), or records failed (`last run: 2 contacts failed`).
- ``dead_letters`` (amber): rule 5, dead letters waiting longer than the organization's
  `dead_letter_max_age_hours` (`3 dead letters waiting over 24 h`); the summary counts them
  when the run ends. Those that wait less are only counted: every run retries them.
- ``freshness_check`` (red, Dagster's own last-update check): rule 4, no successful sync within
  the organization's `max_sync_age_hours`, read from its settings when the code location loads.
- ``reconcile`` is reconcile_check.py: it reads all of Mobilize and PDI, so it has a job and
  a daily schedule of its own.

The first two are the asset's own checks, judged from every sync's summary, a failed one's
too (sync_asset.py). status's rule 6, the credentials, is status's alone: it logs in to both
APIs while it runs; a sync that meets a refused credential fails, with that reason. So status
says OK exactly when the last run succeeded and these three checks passed, and each of its
reasons is the description of one of them (freshness in Dagster's words).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dagster as dg
from target_pdi.rules.verdict import (
    DEAD_LETTER_MAX_AGE_HOURS,
    MAX_SYNC_AGE_HOURS,
    dead_letter_reasons,
    last_run_reasons,
)

from mobilize_pdi_dagster.summary import attention, dead_letters_waiting

ATTENTION_CHECK = "attention"
DEAD_LETTERS_CHECK = "dead_letters"
RECONCILE_CHECK = "reconcile"
# The name dg.build_last_update_freshness_checks gives its check.
FRESHNESS_CHECK = "freshness_check"
CHECK_NAMES = (ATTENTION_CHECK, DEAD_LETTERS_CHECK, FRESHNESS_CHECK, RECONCILE_CHECK)
SUMMARY_CHECKS = (ATTENTION_CHECK, DEAD_LETTERS_CHECK)
NOTHING_NEEDS_ATTENTION = "Nothing needs attention."
# target-pdi's settings (target_pdi/configuration/settings.py) that set the thresholds.
MAX_SYNC_AGE_SETTING = "max_sync_age_hours"


def summary_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            ATTENTION_CHECK,
            asset=key,
            description="The sync succeeded and no record failed in it: status's verdict on "
            "the last run, in its words.",
        ),
        dg.AssetCheckSpec(
            DEAD_LETTERS_CHECK,
            asset=key,
            description="No dead letter has waited longer than the organization's "
            "dead_letter_max_age_hours (every sync retries them; one that old waits for a "
            "person).",
        ),
    ]


@dataclass(frozen=True)
class Judgement:
    """One summary check's result, as a step returns it (a sync that succeeded) or logs it
    (one that failed, before it raises)."""

    check_name: str
    passed: bool
    severity: dg.AssetCheckSeverity
    description: str
    metadata: dict[str, dg.MetadataValue] = field(default_factory=dict)

    def result(self) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            check_name=self.check_name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=self.metadata,
        )

    def evaluation(self, key: dg.AssetKey) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=self.check_name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=self.metadata,
        )


def judge_summary(summary: Mapping[str, Any]) -> list[Judgement]:
    """The summary checks of a run, from its own summary: red when it failed or records failed
    in it, amber while dead letters wait too long, each in status's words."""
    reasons = last_run_reasons(summary)
    dead = summary.get("dead_letters") or {}
    waiting = dead_letters_waiting(dict(summary))
    hours = _number(dead.get("max_age_hours"), DEAD_LETTER_MAX_AGE_HOURS)
    # A summary from before the count: none known to be old.
    old = int(_number(dead.get("over_max_age"), 0))
    too_old = dead_letter_reasons(old, timedelta(hours=hours))
    return [
        Judgement(
            ATTENTION_CHECK,
            passed=not reasons,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(reasons) or NOTHING_NEEDS_ATTENTION,
            metadata={"attention": dg.MetadataValue.json(attention(dict(summary)))},
        ),
        Judgement(
            DEAD_LETTERS_CHECK,
            passed=not too_old,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(too_old)
            or f"{waiting} dead letters waiting, none over {hours:g} h "
            f"({_number(dead.get('new'), 0):g} new this run).",
            metadata={
                "dead_letters_waiting": dg.MetadataValue.int(waiting),
                "dead_letters_over_max_age": dg.MetadataValue.int(old),
            },
        ),
    ]


def summary_check_results(summary: Mapping[str, Any]) -> list[dg.AssetCheckResult]:
    return [judgement.result() for judgement in judge_summary(summary)]


def missing_summary_results(reason: str) -> list[dg.AssetCheckResult]:
    """The summary checks of a run whose summary could not be read: failed, saying why."""
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=reason,
        )
        for name in SUMMARY_CHECKS
    ]


def max_sync_age(settings: Mapping[str, Any]) -> timedelta:
    """status's `max_sync_age_hours` from an organization's target-pdi settings (as `meltano
    config print` gives them: only those set), else target-pdi's own default."""
    return timedelta(hours=_number(settings.get(MAX_SYNC_AGE_SETTING), MAX_SYNC_AGE_HOURS))


def freshness_checks(key: dg.AssetKey, max_age: timedelta) -> Sequence[dg.AssetChecksDefinition]:
    """Overdue when no sync has succeeded for longer than ``max_age`` (the organization's
    `max_sync_age_hours`: status's `no successful run for over 18 h`). A failed run's
    observation does not count: it carries no ``dagster/last_updated_timestamp``."""
    with quiet_supersession():
        return dg.build_last_update_freshness_checks(
            assets=[key], lower_bound_delta=max_age, severity=dg.AssetCheckSeverity.ERROR
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


def _number(value: Any, default: float) -> float:
    """A count or a number of hours from a summary or the settings (JSON, or Meltano's
    strings); ``default`` when there is none."""
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
