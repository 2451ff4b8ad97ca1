"""Run summaries in files: the last one at `summary_path`, the last HISTORY_LIMIT in
`<summary_path without .json>.history.jsonl` beside it, the last dry run's apart in
`<summary_path without .json>.dry-run.json` (never in the history), each file replaced whole.

The backend for one machine (stores.py); with a shared database they live in a table
(summary_table.py), which adopts these files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HISTORY_LIMIT = 500


def history_path(summary_path: str | os.PathLike[str]) -> Path:
    path = Path(summary_path)
    stem = path.name.removesuffix(".json")
    return path.with_name(f"{stem}.history.jsonl")


def dry_run_path(summary_path: str | os.PathLike[str]) -> Path:
    path = Path(summary_path)
    stem = path.name.removesuffix(".json")
    return path.with_name(f"{stem}.dry-run.json")


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


class FileSummaryStore:
    """The summaries of one organization in its files."""

    def __init__(self, summary_path: str | os.PathLike[str]) -> None:
        self.path = Path(summary_path)

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def dry_run_where(self) -> str:
        return str(dry_run_path(self.path))

    def write(self, record: Mapping[str, Any]) -> None:
        if record.get("dry_run"):
            write(dry_run_path(self.path), record, in_history=False)
        else:
            write(self.path, record)

    def last(self) -> dict[str, Any] | None:
        return read_last(self.path)

    def last_dry_run(self) -> dict[str, Any] | None:
        return read_last(dry_run_path(self.path))

    def history(self) -> list[dict[str, Any]]:
        return read_history(self.path)

    def close(self) -> None:
        return None
