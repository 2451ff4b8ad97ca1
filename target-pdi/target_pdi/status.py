"""Status: the last run, dead letters waiting, and whether both credentials still work.

`meltano invoke target-pdi:status` (one per organization: `target-pdi--<org>:status`) reads
the JSON summary the last run wrote and counts the dead letters, wherever they are kept
(stores.py: files, or a shared database whichever worker ran last), logs in to
PDI as `--test` does, and runs the tap's own `--test` through Meltano (mobilize_tap.py), which
alone holds the Mobilize key. Exit 0 only when the last run succeeded and both credentials
work. Short, readable, never a secret, never a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from target_pdi.credentials import require_credentials
from target_pdi.errors import FatalError, TargetPDIError
from target_pdi.mobilize_tap import tap_command, tap_cwd
from target_pdi.redact import redact
from target_pdi.run_summary import SUCCEEDED, organization_of
from target_pdi.runtime import make_client
from target_pdi.settings import Settings
from target_pdi.stores import dead_letter_store, summary_store

if TYPE_CHECKING:
    from target_pdi.target import TargetPDI

# A status check must answer in seconds even when an API is down, not after a run's patience.
CHECK_TIMEOUT_SECONDS = 10
CHECK_OUTAGE_SECONDS = 15
TAP_TEST_TIMEOUT_SECONDS = 180
# By the tap's namespace, so they reach an organization's tap (tap-mobilize--<org>) too.
TAP_TEST_LIMITS = {"TAP_MOBILIZE_OUTAGE_SECONDS": "30", "TAP_MOBILIZE_TIME_BUDGET_SECONDS": "60"}
# The tap's own warning when it has no key: it reads public events only.
NO_KEY_HINT = "set the api_key setting"
# Meltano's rendering of a plugin line: "<timestamp> [level    ] tap-mobilize <message>".
_MELTANO_LINE = re.compile(r"^\S+\s+\[\s*(\w+)\s*\]\s+(?:\S+\s+)?(.*)$")


@dataclass(frozen=True)
class Check:
    """Whether one API accepts the configured credentials, in one line."""

    ok: bool
    message: str


def run_status(target: TargetPDI) -> int:
    """Exit status: 0 when the last run succeeded and both credentials work."""
    settings = target.settings
    with (
        closing(summary_store(settings)) as summaries,
        closing(dead_letter_store(settings, read_only=True)) as dead_letters,
    ):
        report = render(
            organization_of(settings),
            summaries.last(),
            summary_path=summaries.where,
            dead_letters_waiting=dead_letters.count(),
            dead_letter_path=dead_letters.where,
            pdi=check_pdi(settings),
            mobilize=check_mobilize(settings),
            now=datetime.now(UTC),
            last_dry_run=summaries.last_dry_run(),
        )
    click.echo("\n".join(report.lines))
    return 0 if report.healthy else 1


# --- the checks ----------------------------------------------------------------------------------


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
    return Check(True, f"OK (logged in to {client.base_url})")


def check_mobilize(settings: Settings) -> Check:
    """The tap's own `--test`, run through Meltano with the tap's config and key."""
    try:
        command = tap_command(settings, "--test")
    except FatalError as exc:
        return Check(False, f"not checked: {redact(exc, limit=300)}")
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
        return Check(False, f"not checked: {redact(exc, limit=300)}")
    return tap_test_result(settings.mobilize_tap, done.returncode, done.stderr)


def quick_tap_env() -> dict[str, str]:
    """The environment for the tap's test: a Mobilize that answers nothing is reported within
    a minute, not after the tap's outage window (10 minutes); set values are kept."""
    env = dict(os.environ)
    for name, seconds in TAP_TEST_LIMITS.items():
        env.setdefault(name, seconds)
    return env


def tap_test_result(tap: str, returncode: int, log: str) -> Check:
    """One line from the tap test's exit status and log (stderr; stdout holds records)."""
    messages = [_message(line) for line in log.splitlines() if line.strip()]
    if returncode == 0:
        if any(NO_KEY_HINT in text for _, text in messages):
            return Check(
                True, "OK, but without an api_key: only public events are read (set api_key)"
            )
        return Check(True, f"OK ({tap} --test passed)")
    errors = [text for level, text in messages if level in ("error", "critical")]
    reason = errors[-1] if errors else (messages[-1][1] if messages else "no output")
    return Check(False, f"FAILED: {redact(reason, limit=300)}")


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
    dead_letters_waiting: int,
    dead_letter_path: str,
    pdi: Check,
    mobilize: Check,
    now: datetime,
    last_dry_run: dict[str, Any] | None = None,
) -> Report:
    """What a person reads: the last run, what changed and failed, dead letters, credentials.

    A dry run is one line of its own: it is never the last run, and never makes one healthy.
    """
    lines = [f"Organization: {organization}"]
    if last is None:
        lines.append(f"Last run: no run yet (no summary at {summary_path})")
    else:
        lines += _last_run(last, now)
    if last_dry_run is not None:
        lines.append(_last_dry_run(last_dry_run, now))
    lines.append(
        f"Dead letters waiting: {dead_letters_waiting}"
        + (f" ({dead_letter_path})" if dead_letters_waiting else "")
    )
    lines.append(f"PDI credentials: {pdi.message}")
    lines.append(f"Mobilize credentials: {mobilize.message}")
    healthy = last is not None and last.get("status") == SUCCEEDED and pdi.ok and mobilize.ok
    lines.append("Status: OK" if healthy else f"Status: ATTENTION ({_why(last, pdi, mobilize)})")
    return Report(lines, healthy)


def _finished(run: dict[str, Any], now: datetime) -> str:
    finished = _parse_time(run.get("finished_at"))
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


def _why(last: dict[str, Any] | None, pdi: Check, mobilize: Check) -> str:
    reasons = []
    if last is None:
        reasons.append("no run yet")
    elif last.get("status") != SUCCEEDED:
        reasons.append(f"last run {last.get('status', 'unknown')}")
    if not pdi.ok:
        reasons.append("PDI credentials")
    if not mobilize.ok:
        reasons.append("Mobilize credentials")
    return ", ".join(reasons)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ago(delta: Any) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86400} days ago"
