"""Where an organization's dead letters and run summaries are kept, chosen here and only here.

- One machine (the id map in a SQLite file, the default): files, at `dead_letter_path` and
  `summary_path` (deadletters.py, summary_files.py).
- A shared database (the id map's URL names a database server, e.g. PostgreSQL): tables in
  that database, named after the organization as its id map is (dead_letter_table.py,
  summary_table.py), so that any worker can sync the organization and a lost worker loses
  nothing. `dead_letter_path` and `summary_path` then name the files of the days before, which
  the tables adopt once.

The sync, status, `--last-run` and reconcile use the stores through these two functions and
their interfaces, whichever backend answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from target_pdi.configuration.settings import Settings
from target_pdi.stores.database import is_server_database
from target_pdi.stores.dead_letter_table import TableDeadLetterStore, where_of
from target_pdi.stores.deadletters import DeadLetterStore, FileDeadLetterStore
from target_pdi.stores.summary_files import FileSummaryStore
from target_pdi.stores.summary_table import TableSummaryStore


class SummaryStore(Protocol):
    """The run summaries of one organization: the last one, the last HISTORY_LIMIT, and the
    last dry run's apart (never the last run, never in the history)."""

    @property
    def where(self) -> str:
        """Where they are, for messages (never a password)."""
        ...

    @property
    def dry_run_where(self) -> str:
        """Where the last dry run's is."""
        ...

    def write(self, record: Mapping[str, Any]) -> None:
        """Add a run's summary (a dry run's, `record["dry_run"]`, apart), atomically: a reader
        sees it whole or not at all."""
        ...

    def last(self) -> dict[str, Any] | None:
        """The last real run's summary (None before any run)."""
        ...

    def last_dry_run(self) -> dict[str, Any] | None:
        """The last dry run's summary (None before any dry run)."""
        ...

    def history(self) -> list[dict[str, Any]]:
        """The runs kept, oldest first."""
        ...

    def close(self) -> None: ...


def uses_shared_database(settings: Settings) -> bool:
    """Whether the organization's id map is on a database server: then its dead letters and
    run summaries are kept there too."""
    return is_server_database(settings.id_map_url)


def dead_letter_store(settings: Settings, *, read_only: bool | None = None) -> DeadLetterStore:
    """The organization's dead letters; read-only on a dry run unless ``read_only`` says."""
    read_only = settings.dry_run if read_only is None else read_only
    if uses_shared_database(settings):
        return TableDeadLetterStore(
            settings.id_map_url,
            settings.organization,
            file_path=settings.dead_letter_path,
            read_only=read_only,
        )
    return FileDeadLetterStore(settings.dead_letter_path, dry_run=read_only)


def dead_letters_where(settings: Settings) -> str:
    """Where the organization's dead letters are, for messages, without opening them."""
    if uses_shared_database(settings):
        return where_of(settings.id_map_url, settings.organization)
    return settings.dead_letter_path


def summary_store(settings: Settings) -> SummaryStore:
    """The organization's run summaries."""
    if uses_shared_database(settings):
        return TableSummaryStore(
            settings.id_map_url, settings.organization, file_path=settings.summary_path
        )
    return FileSummaryStore(settings.summary_path)
