"""Run summaries in a shared database: a table per organization, beside its id map.

With the id map on a database server (PostgreSQL), `status`, `last-run` and the orchestrator
must find the last run whichever worker ran it: each run's summary is one row of
``target_pdi_run_summaries__<organization>`` (``target_pdi_run_summaries`` without one), the
whole JSON in one column, inserted in one transaction that also drops the rows beyond the
last HISTORY_LIMIT. A reader gets a whole row or none: never half a summary. The last run is
the last row inserted (the database's order, not the workers' clocks). A dry run's row is
marked `dry_run` and replaces the previous dry run's: never the last run, never in the history.

The history file of the days before the shared database is adopted when the table is made, in
the same transaction, and then deleted; until then, readers read the files. After each run the
machine that ran it also keeps a copy of its summary at `summary_path` (a dry run's beside it,
as with files), for a script that reads it right after the run there; `status`, `last-run` and
the history read the table, whichever worker ran last.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    delete,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from target_pdi.redact import register_secret
from target_pdi.stores import summary_files
from target_pdi.stores.database import database_errors, engine_for, shown
from target_pdi.stores.id_map_table import table_name

LOGGER = logging.getLogger("target-pdi")

TABLE = "target_pdi_run_summaries"


@cache
def summary_table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        # For a person querying the table; the summary holds them too.
        Column("run_id", Text, nullable=True),
        Column("finished_at", Text, nullable=True),
        Column("status", Text, nullable=True),
        Column("dry_run", Boolean, nullable=False),
        Column("summary", Text, nullable=False),
    )


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str | None:
        value = record.get(key)
        return None if value is None else str(value)

    return {
        "run_id": text("run_id"),
        "finished_at": text("finished_at"),
        "status": text("status"),
        "dry_run": bool(record.get("dry_run")),
        "summary": json.dumps(record, sort_keys=False),
    }


class TableSummaryStore:
    def __init__(
        self, url: str, organization: str = "", *, file_path: str | os.PathLike[str]
    ) -> None:
        register_secret(make_url(url).password)
        self.table = summary_table(table_name(organization, TABLE))
        self._where = f"table {self.table.name} in {shown(url)}"
        self._file = summary_files.FileSummaryStore(file_path)
        self._engine = engine_for(url)
        self._exists: bool | None = None

    @property
    def where(self) -> str:
        return self._where

    @property
    def dry_run_where(self) -> str:
        return f"{self._where}, row dry_run = true"

    def write(self, record: Mapping[str, Any]) -> None:
        t = self.table
        dry_run = bool(record.get("dry_run"))
        with database_errors(f"cannot write the run summary ({self._where})"):
            # A dry run before any real run on the database makes no table and adopts nothing:
            # its summary stays this machine's copy, which readers find until the table exists.
            if not dry_run or self._table_exists():
                self._make_table()
                with self._engine.begin() as conn:
                    if dry_run:
                        conn.execute(delete(t).where(t.c.dry_run))
                        conn.execute(insert(t), [_row(record)])
                    else:
                        conn.execute(insert(t), [_row(record)])
                        self._trim(conn)
        # This machine's copy of the run it made, after the table has it: a convenience, so a
        # disk that refuses it costs a warning, not the summary.
        copy = summary_files.dry_run_path(self._file.path) if dry_run else None
        try:
            summary_files.write(copy or self._file.path, record, in_history=False)
        except OSError as exc:
            LOGGER.warning("Could not keep this machine's copy of the run summary: %s", exc)

    def _trim(self, conn: Connection) -> None:
        """Drop the real runs beyond the last HISTORY_LIMIT."""
        t = self.table
        real = t.c.dry_run.is_(False)
        oldest_kept = conn.execute(
            select(t.c.seq)
            .where(real)
            .order_by(t.c.seq.desc())
            .offset(max(1, summary_files.HISTORY_LIMIT) - 1)
            .limit(1)
        ).scalar()
        if oldest_kept is not None:
            conn.execute(delete(t).where(real, t.c.seq < oldest_kept))

    def last(self) -> dict[str, Any] | None:
        if not self._table_exists():
            return self._file.last()
        return self._newest(dry_run=False)

    def last_dry_run(self) -> dict[str, Any] | None:
        if not self._table_exists():
            return self._file.last_dry_run()
        return self._newest(dry_run=True)

    def _newest(self, *, dry_run: bool) -> dict[str, Any] | None:
        t = self.table
        with (
            database_errors(f"cannot read the run summary ({self._where})"),
            self._engine.connect() as conn,
        ):
            found = conn.execute(
                select(t.c.summary)
                .where(t.c.dry_run.is_(dry_run))
                .order_by(t.c.seq.desc())
                .limit(1)
            ).scalar()
        return _parsed(found) if found is not None else None

    def history(self) -> list[dict[str, Any]]:
        if not self._table_exists():
            return self._file.history()
        t = self.table
        with (
            database_errors(f"cannot read the run summaries ({self._where})"),
            self._engine.connect() as conn,
        ):
            rows = (
                conn.execute(select(t.c.summary).where(t.c.dry_run.is_(False)).order_by(t.c.seq))
                .scalars()
                .all()
            )
        return [run for run in map(_parsed, rows) if run is not None]

    def close(self) -> None:
        self._engine.dispose()

    def _table_exists(self) -> bool:
        if not self._exists:
            with database_errors(f"cannot read the run summary ({self._where})"):
                self._exists = inspect(self._engine).has_table(self.table.name)
        return self._exists

    def _make_table(self) -> None:
        """Make the table, adopting the summary files, unless it exists. A dry run does not
        take the run lock, so two runs may make it at once: one wins, the other goes on."""
        if self._table_exists():
            return
        try:
            with self._engine.begin() as conn:
                adopted = self._create(conn)
        except SQLAlchemyError:
            self._exists = None
            if not self._table_exists():
                raise
            return
        self._exists = True
        if adopted:
            history = summary_files.history_path(self._file.path)
            history.unlink(missing_ok=True)
            LOGGER.info(
                "Run summaries: %d runs of %s adopted into %s; the file is deleted",
                adopted,
                history,
                self._where,
            )

    def _create(self, conn: Connection) -> int:
        if inspect(conn).has_table(self.table.name):
            return 0
        self.table.create(conn)
        runs = self._file.history()
        last = self._file.last()
        if not runs and last is not None:
            runs = [last]  # a summary whose history is gone
        if runs:
            conn.execute(insert(self.table), [_row(run) for run in runs])
        return len(runs)


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
