"""The JSON summary of every run, for alerting, `status` and the orchestrator's run metadata.

Written at `summary_path` when a run ends, whatever the end (succeeded, failed, stopped), and
appended as one line to `<summary_path without .json>.history.jsonl`, which keeps the last
HISTORY_LIMIT runs. Its keys are a contract (the Dagster helper reads them): add, never rename.
Counts, names and one redacted error line only: never a record, never a secret.

A dry run's summary (what it would have done) goes to `<summary_path without .json>.dry-run.json`
alone: never into the history, never what `status` or the orchestrator take for the last run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from target_pdi.errors import Stopped
from target_pdi.redact import redact
from target_pdi.settings import Settings
from target_pdi.summary import Summary
from target_pdi.tap_outcome import FAILING, TAP_NAME

LOGGER = logging.getLogger("target-pdi")

SCHEMA_VERSION = 1
HISTORY_LIMIT = 500
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


def history_path(summary_path: str | os.PathLike[str]) -> Path:
    path = Path(summary_path)
    stem = path.name.removesuffix(".json")
    return path.with_name(f"{stem}.history.jsonl")


def dry_run_path(summary_path: str | os.PathLike[str]) -> Path:
    path = Path(summary_path)
    stem = path.name.removesuffix(".json")
    return path.with_name(f"{stem}.dry-run.json")


def written_path(settings: Settings) -> Path:
    """Where this run's summary goes: a dry run's apart from the real runs'."""
    if settings.dry_run:
        return dry_run_path(settings.summary_path)
    return Path(settings.summary_path)


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


def dead_letter_keys(path: str | os.PathLike[str]) -> set[tuple[str, str]]:
    """(stream, key) of every entry in the dead-letter file (empty when there is none).

    Only the keys are kept: the records themselves may be large, and hold personal data.
    """
    found: set[tuple[str, str]] = set()
    try:
        with Path(path).open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("stream"):
                    found.add((str(entry["stream"]), str(entry.get("key"))))
    except FileNotFoundError:
        pass
    return found


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
) -> dict[str, Any]:
    """The JSON summary of one run, from its counters (the same ones Summary.lines logs);
    `tap`: what the target knows of its tap's end (tap_outcome.py)."""
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
        "dead_letters": {
            "new": len(dead_letters_after - dead_letters_before),
            "waiting": len(dead_letters_after),
            "dead_lettered": summary.dead_letters,
            "retried": summary.dead_letters_retried,
            "path": settings.dead_letter_path,
        },
        "pdi_requests": dict(sorted(requests_by_method.items())),
    }


def write(
    summary_path: str | os.PathLike[str], record: Mapping[str, Any], *, in_history: bool = True
) -> None:
    """Replace the summary atomically and append it to the bounded history (unless told not
    to: a dry run's)."""
    path = Path(summary_path)
    text = json.dumps(record, indent=2, sort_keys=False) + "\n"
    _replace(path, text)
    if not in_history:
        return
    history = history_path(path)
    kept = _history_lines(history)[-(HISTORY_LIMIT - 1) :] if HISTORY_LIMIT > 1 else []
    kept.append(json.dumps(record, sort_keys=False))
    _replace(history, "".join(line + "\n" for line in kept))


def _history_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _replace(path: Path, text: str) -> None:
    """Write a file whole or not at all: a reader (status, alerting) never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_last(summary_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The last run's summary, or None when no run wrote one yet."""
    try:
        found = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return found if isinstance(found, dict) else None


def print_last(settings: Settings) -> int:
    """`--last-run`: the last run's summary as one JSON line on stdout, for scripts and the
    orchestrator, wherever the summary is kept; exit 1 with a line on stderr before any run."""
    last = read_last(settings.summary_path)
    if last is None:
        print(f"no run yet (no summary at {settings.summary_path})", file=sys.stderr)
        return 1
    print(json.dumps(last, sort_keys=False))
    return 0


def read_history(summary_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every run the history keeps, oldest first (unreadable lines left out)."""
    runs = []
    for line in _history_lines(history_path(summary_path)):
        try:
            run = json.loads(line)
        except ValueError:
            continue
        if isinstance(run, dict):
            runs.append(run)
    return runs


class RunRecorder:
    """Notes what a sync starts from, and writes its JSON summary when it ends."""

    def __init__(self, settings: Settings, summary: Summary) -> None:
        self.settings = settings
        self.summary = summary
        self.run_id = new_run_id()
        self.dead_letters_before = dead_letter_keys(settings.dead_letter_path)

    def finish(
        self,
        error: BaseException | None,
        requests_by_method: Mapping[str, int],
        tap: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Write the summary; a summary that cannot be written is logged, never fatal (it must
        not hide how the run itself ended)."""
        record = build(
            self.summary,
            self.settings,
            finished_at=datetime.now(UTC),
            error=error,
            requests_by_method=requests_by_method,
            dead_letters_before=self.dead_letters_before,
            dead_letters_after=dead_letter_keys(self.settings.dead_letter_path),
            run_id=self.run_id,
            tap=tap,
        )
        path = written_path(self.settings)
        try:
            write(path, record, in_history=not self.settings.dry_run)
        except OSError as exc:
            LOGGER.warning("Could not write the run summary %s: %s", path, exc)
            return None
        return record
