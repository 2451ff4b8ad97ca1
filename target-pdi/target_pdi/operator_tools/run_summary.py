"""The JSON summary of every run, for alerting, `status` and the orchestrator's run metadata.

Written when a run ends, whatever the end (succeeded, failed, stopped), to the organization's
summary store (stores.py): `summary_path` and its history file, which keeps the last
HISTORY_LIMIT runs, or with a shared database a table beside the id map. Its keys are a
contract (the Dagster helper reads them): add, never rename. Counts, names and one redacted
error line only: never a record, never a secret.

A dry run's summary (what it would have done) is kept apart: never in the history, never
what `status` or the orchestrator take for the last run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from target_pdi.configuration.settings import Settings
from target_pdi.errors import FatalError, Stopped
from target_pdi.operator_tools.waiting_letters import waiting
from target_pdi.redact import redact
from target_pdi.rules.verdict import old_dead_letters
from target_pdi.stores.configured import dead_letter_store, summary_store

# The file primitives, where callers have always found them.
from target_pdi.stores.summary_files import HISTORY_LIMIT as HISTORY_LIMIT
from target_pdi.stores.summary_files import dry_run_path as dry_run_path
from target_pdi.stores.summary_files import history_path as history_path
from target_pdi.stores.summary_files import read_history as read_history
from target_pdi.stores.summary_files import read_last as read_last
from target_pdi.stores.summary_files import write as write
from target_pdi.sync.summary import Summary
from target_pdi.sync.tap_outcome import FAILING, TAP_NAME

LOGGER = logging.getLogger("target-pdi")

SCHEMA_VERSION = 1
DEFAULT_ORGANIZATION = "default"
# The streams a person expects to see counted, read or not.
READ_STREAMS = ("events", "timeslots", "people", "attendances")
ERROR_LIMIT = 500

# An orchestrator that starts the run names it here (Dagster sets its run id), so that it can
# tell its own run's summary from an earlier one; without it every run gets a fresh id.
RUN_ID_VARIABLE = "MOBILIZE_PDI_RUN_ID"

SUCCEEDED = "succeeded"
FAILED = "failed"
STOPPED = "stopped"


def organization_of(settings: Settings) -> str:
    return settings.organization or DEFAULT_ORGANIZATION


def written_path(settings: Settings) -> Path:
    """The file this run's summary goes to, with files: a dry run's apart from the real runs'."""
    if settings.dry_run:
        return dry_run_path(settings.summary_path)
    return Path(settings.summary_path)


def written_where(settings: Settings) -> str:
    """Where this run's summary goes, whichever store keeps it (never a password)."""
    with closing(summary_store(settings)) as summaries:
        return summaries.dry_run_where if settings.dry_run else summaries.where


def outcome_of(error: BaseException | None) -> tuple[str, str | None]:
    """(status, one redacted line) of a run that ended with ``error`` (None: it succeeded)."""
    if error is None or (isinstance(error, SystemExit) and error.code in (0, None)):
        return SUCCEEDED, None
    if isinstance(error, Stopped | KeyboardInterrupt):
        return STOPPED, one_line(error) or "stopped by a signal"
    return FAILED, one_line(error) or type(error).__name__


def one_line(error: BaseException) -> str:
    text = redact(error, limit=ERROR_LIMIT).strip()
    return text.splitlines()[0] if text else ""


def new_run_id() -> str:
    return os.environ.get(RUN_ID_VARIABLE) or uuid.uuid4().hex


def attention(
    objects: Mapping[str, Mapping[str, int]], tap: Mapping[str, Any] | None = None
) -> list[str]:
    """Short reasons a person should look at a run: its tap failing, what failed, by kind.

    A run with failed records still succeeds (its bookmarks move past them; they wait in the
    dead letters), so `status` alone would hide them.
    """
    outcome = (tap or {}).get("outcome")
    reasons = [f"{TAP_NAME} {outcome}"] if outcome in FAILING else []
    return reasons + [
        f"{row['failed']} {kind} failed" for kind, row in objects.items() if row.get("failed")
    ]


def build(
    summary: Summary,
    settings: Settings,
    *,
    finished_at: datetime,
    error: BaseException | None,
    requests_by_method: Mapping[str, int],
    dead_letters_before: set[tuple[str, str]],
    dead_letters_after: set[tuple[str, str]],
    run_id: str | None = None,
    tap: Mapping[str, Any] | None = None,
    dead_letters_where: str | None = None,
    dead_letters_over_max_age: int = 0,
) -> dict[str, Any]:
    """The JSON summary of one run, from its counters (the same ones Summary.lines logs);
    `tap`: what the target knows of its tap's end (tap_outcome.py); `dead_letters.path` says
    where its dead letters are (the file, or the table); `dead_letters.over_max_age` how many
    of them had waited longer than `dead_letter_max_age_hours` when the run ended (status's
    rule, verdict.py), so that a reader of the summary alone judges them as status does."""
    status, message = outcome_of(error)
    read = {stream: summary.read[stream] for stream in READ_STREAMS}
    read.update({s: n for s, n in sorted(summary.read.items()) if s not in read})
    objects = summary.counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id or new_run_id(),
        "organization": organization_of(settings),
        "environment": os.environ.get("MELTANO_ENVIRONMENT") or None,
        "started_at": summary.started_at.isoformat(timespec="seconds"),
        "finished_at": finished_at.isoformat(timespec="seconds"),
        "duration_seconds": round((finished_at - summary.started_at).total_seconds(), 1),
        "status": status,
        "error": message,
        "tap": dict(tap) if tap is not None else None,
        "dry_run": settings.dry_run,
        "records_read": read,
        "objects": objects,
        "attention": attention(objects, tap),
        "skipped": summary.skipped_reasons(),
        "notes": dict(sorted(summary.notes.items())),
        "dead_letters": dead_letters_of(
            summary,
            settings,
            dead_letters_before,
            dead_letters_after,
            dead_letters_where,
            dead_letters_over_max_age,
        ),
        "pdi_requests": dict(sorted(requests_by_method.items())),
    }


def dead_letters_of(
    summary: Summary,
    settings: Settings,
    before: set[tuple[str, str]],
    after: set[tuple[str, str]],
    where: str | None,
    over_max_age: int,
) -> dict[str, Any]:
    """The summary's dead letters: the run's new ones (in ``after``, the store's keys when it
    ended, not in ``before``), all those waiting, what it dead-lettered and retried."""
    return {
        "new": len(after - before),
        "waiting": len(after),
        "dead_lettered": summary.dead_letters,
        "retried": summary.dead_letters_retried,
        "path": where or settings.dead_letter_path,
        "over_max_age": over_max_age,
        "max_age_hours": settings.dead_letter_max_age_hours,
    }


def print_last(settings: Settings) -> int:
    """`--last-run`: the last run's summary as one JSON line on stdout, for scripts and the
    orchestrator, wherever the summary is kept; exit 1 with a line on stderr before any run."""
    with closing(summary_store(settings)) as summaries:
        last = summaries.last()
        if last is None:
            print(f"no run yet (no summary at {summaries.where})", file=sys.stderr)
            return 1
    print(json.dumps(last, sort_keys=False))
    return 0


def dead_letters_now(settings: Settings) -> tuple[set[tuple[str, str]], str]:
    """(stream, key) of every dead letter waiting, and where they are (only the keys: the
    records may be large, and hold personal data)."""
    with closing(dead_letter_store(settings, read_only=True)) as store:
        return store.keys(), store.where


def dead_letters_over_max_age(settings: Settings, now: datetime) -> int:
    """How many dead letters waiting had first failed longer than `dead_letter_max_age_hours`
    before ``now``, read as status reads them."""
    since = [letter.since for letter in waiting(settings)]
    return old_dead_letters(since, now, timedelta(hours=settings.dead_letter_max_age_hours))


class RunRecorder:
    """Notes what a sync starts from, and writes its JSON summary when it ends."""

    def __init__(self, settings: Settings, summary: Summary) -> None:
        self.settings = settings
        self.summary = summary
        self.run_id = new_run_id()
        self.dead_letters_before, _ = dead_letters_now(settings)

    def finish(
        self,
        error: BaseException | None,
        requests_by_method: Mapping[str, int],
        tap: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Write the summary; a summary that cannot be written is logged, never fatal (it must
        not hide how the run itself ended)."""
        try:
            finished_at = datetime.now(UTC)
            after, where = dead_letters_now(self.settings)
            record = build(
                self.summary,
                self.settings,
                finished_at=finished_at,
                error=error,
                requests_by_method=requests_by_method,
                dead_letters_before=self.dead_letters_before,
                dead_letters_after=after,
                run_id=self.run_id,
                tap=tap,
                dead_letters_where=where,
                dead_letters_over_max_age=dead_letters_over_max_age(self.settings, finished_at),
            )
            with closing(summary_store(self.settings)) as summaries:
                summaries.write(record)
        except (OSError, FatalError) as exc:
            LOGGER.warning("Could not write the run summary: %s", redact(exc))
            return None
        return record
