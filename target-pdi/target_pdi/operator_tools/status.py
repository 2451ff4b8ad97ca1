"""Status: the last run, dead letters waiting, and whether both credentials still work.

`meltano invoke target-pdi:status` (one per organization: `target-pdi--<org>:status`) reads
the JSON summaries runs wrote (run_summary.py; dry runs left out), the dead letters waiting
(waiting_letters.py), wherever they are kept (stores.py: files, or a shared database whichever
worker ran last), logs in to PDI as `--test` does, and runs the tap's own `--test` through
Meltano (mobilize_tap.py), which alone holds the Mobilize key, and reports the tap's own answer;
it says so when the id map is another PDI's (pdi_account.py).
The last line is the verdict of verdict.py: OK and exit 0, or ATTENTION with its reasons and
exit 1. Short, readable, never a secret, never a record, never a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from target_pdi.configuration.credentials import require_credentials
from target_pdi.configuration.mobilize_tap import tap_command, tap_cwd
from target_pdi.configuration.settings import Settings
from target_pdi.errors import FatalError, TargetPDIError
from target_pdi.operator_tools.configured_target import ConfiguredTarget
from target_pdi.operator_tools.run_summary import SUCCEEDED, organization_of
from target_pdi.operator_tools.waiting_letters import Waiting, describe, waiting
from target_pdi.redact import redact
from target_pdi.rules.verdict import DEFAULT_LIMITS, Limits, finished_at, verdict
from target_pdi.stores.configured import SummaryStore, dead_letters_where, summary_store
from target_pdi.stores.pdi_account import problem_of
from target_pdi.sync.runtime import make_client

# A status check must answer in seconds even when an API is down, not after a run's patience.
CHECK_TIMEOUT_SECONDS = 10
CHECK_OUTAGE_SECONDS = 15
TAP_TEST_TIMEOUT_SECONDS = 180
# By the tap's namespace, so they reach an organization's tap (tap-mobilize--<org>) too.
TAP_TEST_LIMITS = {"TAP_MOBILIZE_OUTAGE_SECONDS": "30", "TAP_MOBILIZE_TIME_BUDGET_SECONDS": "60"}
NOT_CHECKED = "not checked"
# The tap's `--test` answers on stdout with one line: "OK: ...", "OK, without ...", "FAILED: ...".
_ANSWER = re.compile(r"^(OK\b|FAILED:)")
# Meltano's rendering of a plugin line: "<timestamp> [level    ] tap-mobilize <message>".
_MELTANO_LINE = re.compile(r"^\S+\s+\[\s*(\w+)\s*\]\s+(?:\S+\s+)?(.*)$")
# The last line of a Python traceback: "requests.exceptions.ConnectionError: ...".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b(:.*)?$")


@dataclass(frozen=True)
class Check:
    """Whether one API accepts the configured credentials, in one line."""

    ok: bool
    message: str


def run_status(target: ConfiguredTarget) -> int:
    """Exit status: 0 when nothing needs a person (verdict.py), 1 otherwise."""
    settings = target.settings
    with closing(summary_store(settings)) as summaries:
        last, last_success = recorded_runs(summaries)
        last_dry_run = summaries.last_dry_run()
        summary_where = summaries.where
    report = render(
        organization_of(settings),
        last,
        summary_path=summary_where,
        dead_letters=waiting(settings),
        dead_letter_path=dead_letters_where(settings),
        pdi=check_pdi(settings),
        mobilize=check_mobilize(settings),
        now=datetime.now(UTC),
        last_success=last_success,
        limits=Limits(
            max_sync_age=timedelta(hours=settings.max_sync_age_hours),
            dead_letter_max_age=timedelta(hours=settings.dead_letter_max_age_hours),
        ),
        last_dry_run=last_dry_run,
        id_map=check_id_map(settings),
    )
    click.echo("\n".join(report.lines))
    return 0 if report.healthy else 1


def recorded_runs(
    summaries: SummaryStore,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the last run, the last successful run) as their summaries, dry runs left out: a dry
    run writes nothing, so it is never the last run. The one read of the run summaries."""
    last = summaries.last()
    runs = summaries.history() or ([last] if last else [])
    real = [run for run in runs if not run.get("dry_run")]
    succeeded = [run for run in real if run.get("status") == SUCCEEDED]
    return (real[-1] if real else None), (succeeded[-1] if succeeded else None)


# --- the checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdMapProblem:
    """Why a sync would refuse the id map: the short reason and the line that explains it."""

    reason: str
    message: str


def check_id_map(settings: Settings) -> IdMapProblem | None:
    """Whether the id map is this PDI's (pdi_account.py), read without a request."""
    try:
        refusal = problem_of(settings)
    except TargetPDIError as exc:
        return IdMapProblem("id map unreadable", f"FAILED: {redact(exc, limit=300)}")
    return IdMapProblem("id map of another PDI", refusal) if refusal else None


def check_pdi(settings: Settings) -> Check:
    """Log in to PDI as a sync does (read-only, and quick to give up)."""
    quick = replace(
        settings,
        dry_run=True,
        request_timeout=min(settings.request_timeout, CHECK_TIMEOUT_SECONDS),
        outage_seconds=CHECK_OUTAGE_SECONDS,
        time_budget_seconds=CHECK_OUTAGE_SECONDS * 2,
        max_retries=min(settings.max_retries, 1),
    )
    try:
        require_credentials(settings)
        client = make_client(quick)
        try:
            client.login()
        finally:
            client.close()
    except TargetPDIError as exc:
        return Check(False, f"FAILED: {redact(exc, limit=300)}")
    return Check(True, f"OK: logged in to PDI at {client.base_url} as the configured user")


def check_mobilize(settings: Settings) -> Check:
    """The tap's own `--test`, run through Meltano with the tap's config and key."""
    try:
        command = tap_command(settings, "--test")
    except FatalError as exc:
        return Check(False, f"{NOT_CHECKED}: {redact(exc, limit=300)}")
    try:
        done = subprocess.run(
            command,
            cwd=tap_cwd(),
            env=quick_tap_env(),
            capture_output=True,
            text=True,
            timeout=TAP_TEST_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Check(
            False, f"FAILED: {settings.mobilize_tap} --test took over {TAP_TEST_TIMEOUT_SECONDS} s"
        )
    except OSError as exc:
        return Check(False, f"{NOT_CHECKED}: {redact(exc, limit=300)}")
    return tap_test_result(settings.mobilize_tap, done.returncode, done.stdout, done.stderr)


def quick_tap_env() -> dict[str, str]:
    """The environment for the tap's test: a Mobilize that answers nothing is reported within
    a minute, not after the tap's outage window (10 minutes); set values are kept."""
    env = dict(os.environ)
    for name, seconds in TAP_TEST_LIMITS.items():
        env.setdefault(name, seconds)
    return env


def tap_test_result(tap: str, returncode: int, stdout: str, log: str) -> Check:
    """The tap's own answer to `--test`: its one line on stdout (OK and what the key reads, or
    FAILED and the tap's error). Without one (the tap crashed), the exception a traceback in
    its log ends with. Never a line of the log for being the last one: a warning Python prints
    at exit, or Meltano's own lines, would pass for the reason."""
    answers = [line.strip() for line in stdout.splitlines() if _ANSWER.match(line.strip())]
    answer = answers[-1] if answers else ""
    if returncode == 0:
        return Check(True, redact(answer or f"OK: {tap} --test passed", limit=300))
    if answer.startswith("FAILED:"):
        return Check(False, redact(answer, limit=300))
    crash = _exception_line(log)
    if crash:
        return Check(False, f"FAILED: {redact(crash, limit=300)}")
    return Check(
        False,
        f"FAILED: {tap} --test exited {returncode} without saying why "
        f"(meltano invoke {tap} --test shows its log)",
    )


def _exception_line(log: str) -> str | None:
    """The exception line that ends the last traceback in the log, if there is one."""
    messages = [_message(line)[1] for line in log.splitlines() if line.strip()]
    starts = [n for n, text in enumerate(messages) if text.startswith("Traceback (most recent")]
    if not starts:
        return None
    found = [text for text in messages[starts[-1] :] if _EXCEPTION_LINE.match(text)]
    return found[-1] if found else None


def _message(line: str) -> tuple[str, str]:
    found = _MELTANO_LINE.match(line.strip())
    if found:
        return found.group(1).lower(), found.group(2).strip()
    return "", line.strip()


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    lines: list[str]
    healthy: bool


def render(
    organization: str,
    last: dict[str, Any] | None,
    *,
    summary_path: str,
    dead_letters: Sequence[Waiting],
    dead_letter_path: str,
    pdi: Check,
    mobilize: Check,
    now: datetime,
    last_success: dict[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    last_dry_run: dict[str, Any] | None = None,
    id_map: IdMapProblem | None = None,
) -> Report:
    """What a person reads: the last run, what changed and failed, the last success when that
    was another run, the dead letters by kind, the credentials, and the verdict.

    A dry run is one line of its own: it is never the last run, and never makes one healthy.
    """
    lines = [f"Organization: {organization}"]
    if last is None:
        lines.append(f"Last run: no run yet (no summary at {summary_path})")
    else:
        lines += _last_run(last, now)
        if last_success is not None and last_success != last:
            lines.append(f"Last successful run: finished {_finished(last_success, now)}")
    if last_dry_run is not None:
        lines.append(_last_dry_run(last_dry_run, now))
    lines.append(
        f"Dead letters waiting: {len(dead_letters)}"
        + (f" ({dead_letter_path})" if dead_letters else "")
    )
    lines += [f"  {line}" for line in describe(dead_letters)]
    lines.append(f"PDI credentials: {pdi.message}")
    lines.append(f"Mobilize credentials: {mobilize.message}")
    if id_map is not None:  # a line only when a sync would refuse it
        lines.append(f"Id map: {id_map.message}")
    reasons = verdict(
        last,
        last_success,
        [letter.since for letter in dead_letters],
        now=now,
        limits=limits,
        failed_checks=_failed_checks(pdi, mobilize, id_map),
    )
    lines.append(f"Status: ATTENTION ({'; '.join(reasons)})" if reasons else "Status: OK")
    return Report(lines, not reasons)


def _failed_checks(pdi: Check, mobilize: Check, id_map: IdMapProblem | None) -> list[str]:
    """The checks of this status that failed, as the verdict gives them for reasons."""
    return [
        f"{name} {'not checked' if check.message.startswith(NOT_CHECKED) else 'failed'}"
        for name, check in (("PDI credentials", pdi), ("Mobilize credentials", mobilize))
        if not check.ok
    ] + ([id_map.reason] if id_map else [])


def _finished(run: dict[str, Any], now: datetime) -> str:
    finished = finished_at(run)
    if finished is None:
        return "at an unknown time"
    return f"{finished.strftime('%Y-%m-%d %H:%M:%S UTC')} ({_ago(now - finished)})"


def _last_dry_run(dry: dict[str, Any], now: datetime) -> str:
    objects: dict[str, dict[str, int]] = dry.get("objects") or {}
    planned = [
        f"{kind} {_counts(row, ('created', 'updated'))}"
        for kind, row in objects.items()
        if row.get("created") or row.get("updated")
    ]
    return (
        f"Last dry run: {dry.get('status', 'unknown')}, finished {_finished(dry, now)}; "
        f"would change: {'; '.join(planned) or 'nothing'} (nothing written)"
    )


def _last_run(last: dict[str, Any], now: datetime) -> list[str]:
    status = str(last.get("status", "unknown"))
    when = _finished(last, now)
    duration = last.get("duration_seconds")
    took = f", took {duration} s" if isinstance(duration, int | float) else ""
    dry = " (dry run: nothing written)" if last.get("dry_run") else ""
    lines = [f"Last run: {status}{dry}, finished {when}{took}"]
    if last.get("error"):
        lines.append(f"  error: {last['error']}")
    objects: dict[str, dict[str, int]] = last.get("objects") or {}
    changed = [
        f"{kind} {_counts(row, ('created', 'updated'))}"
        for kind, row in objects.items()
        if row.get("created") or row.get("updated")
    ]
    lines.append(f"  changed in PDI: {'; '.join(changed) or 'nothing'}")
    failed = [f"{kind} {row['failed']}" for kind, row in objects.items() if row.get("failed")]
    lines.append(f"  failed: {', '.join(failed) or 'none'}")
    skipped: dict[str, int] = last.get("skipped") or {}
    if skipped:
        lines.append(
            "  skipped: " + "; ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
        )
    new = (last.get("dead_letters") or {}).get("new")
    if new:
        lines.append(f"  new dead letters: {new}")
    return lines


def _counts(row: dict[str, int], outcomes: tuple[str, ...]) -> str:
    return ", ".join(f"{row.get(o, 0)} {o}" for o in outcomes if row.get(o))


def _ago(delta: Any) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86400} days ago"
