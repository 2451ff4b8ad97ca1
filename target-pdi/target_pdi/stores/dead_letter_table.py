"""Dead letters in a shared database: a table per organization, beside its id map.

With the id map on a database server (PostgreSQL), any worker may sync an organization, so its
dead letters cannot stay on the disk of the worker that made them: they live in
``target_pdi_dead_letters__<organization>`` (``target_pdi_dead_letters`` without one), in the
id map's database. The same promises as the file (deadletters.py):

- each entry is kept whole, as the file's line, record exactly as it came (a retry must not
  write altered data), so the table holds personal data: on PostgreSQL it is created with no
  privilege for PUBLIC; grant none on it (docs/organizations.md, "A shared database");
- earlier runs' entries are read a page at a time, in the order they failed;
- a save is one transaction: the first of a run replaces the earlier runs' entries with this
  run's failures (the run retried them all first), later ones add this batch's;
- a read-only store (dry run, status, reconcile) writes nothing, not even the table.

A dead-letter file from before (``dead_letter_path``) is adopted by the first run that writes:
its entries are inserted in one transaction, except those the table already has (so adopting
again adds nothing), and then the file is deleted. Until then, read-only stores see the table
and the file's other entries together, as the run will.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, inspect, select, tuple_
from sqlalchemy.engine import Connection, make_url

from target_pdi.redact import register_secret
from target_pdi.stores.database import database_errors, engine_for, shown
from target_pdi.stores.dead_letter_entries import Key, entry_key, entry_line, is_entry
from target_pdi.stores.dead_letter_schema import (
    ADOPT_CHUNK,
    TABLE,
    adopt_file,
    chunks,
    create_table,
    dead_letter_table,
    table_row,
)
from target_pdi.stores.deadletters import DeadLetterStore, FileDeadLetterStore
from target_pdi.stores.id_map_table import table_name

LOGGER = logging.getLogger("target-pdi")

# Entries read at a time: a retry parses a batch's worth, never the whole table.
PAGE = 200


def where_of(url: str, organization: str = "") -> str:
    """Where an organization's dead letters are, as messages say it (never a password)."""
    return f"table {table_name(organization, TABLE)} in {shown(url)}"


class TableDeadLetterStore(DeadLetterStore):
    def __init__(
        self,
        url: str,
        organization: str = "",
        *,
        file_path: str | os.PathLike[str],
        read_only: bool = False,
    ) -> None:
        super().__init__()
        register_secret(make_url(url).password)
        self.table = dead_letter_table(table_name(organization, TABLE))
        self.read_only = read_only
        self._where = where_of(url, organization)
        # The file of the days before the shared database: adopted by the first run that writes.
        self._file = FileDeadLetterStore(file_path, dry_run=True)
        self._engine = engine_for(url)
        # This run's failures not yet saved: key -> (reason, failed at, the entry's line).
        self._unsaved: dict[Key, tuple[str, str, str]] = {}
        self._saved: set[Key] = set()  # this run's failures in the table
        self._gone: set[Key] = set()  # letters settled (written, or superseded): to delete
        with database_errors(f"cannot open the dead letters ({self._where})"):
            if read_only:
                self._exists = inspect(self._engine).has_table(self.table.name)
            else:
                self._prepare()
                self._exists = True

    @property
    def where(self) -> str:
        return self._where

    # --- the table, and the file it adopts --------------------------------------------------

    def _prepare(self) -> None:
        with self._engine.begin() as conn:
            create_table(conn, self.table)
            adopted = adopt_file(conn, self.table, self._file) if self._file.waiting() else None
        if adopted is not None:
            self._file.path.unlink(missing_ok=True)
            LOGGER.info(
                "Dead letters: %d entries of %s adopted into %s; the file is deleted",
                adopted,
                self._file.path,
                self._where,
            )

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection to read the table on; a failure is one line naming the store."""
        with (
            database_errors(f"cannot read the dead letters ({self._where})"),
            self._engine.connect() as conn,
        ):
            yield conn

    def _unadopted(self) -> bool:
        """A read-only store before the first run on the table: the file counts too."""
        return self.read_only and self._file.waiting()

    def _stored(self, conn: Connection, key: Key) -> bool:
        t = self.table
        found = conn.execute(
            select(t.c.seq).where(t.c.stream == key[0], t.c.record_key == key[1])
        ).first()
        return found is not None

    # --- reads ------------------------------------------------------------------------------

    def entries(self) -> Iterator[dict[str, Any]]:
        t = self.table
        after = 0
        while self._exists:
            with self._reading() as conn:
                page = conn.execute(
                    select(t.c.seq, t.c.entry).where(t.c.seq > after).order_by(t.c.seq).limit(PAGE)
                ).all()
            for seq, line in page:
                try:
                    entry = json.loads(line)
                except ValueError:
                    LOGGER.warning("Dead letter %s row %d is not JSON; ignored", t.name, seq)
                    continue
                if is_entry(entry):
                    yield self._read(entry)
            if len(page) < PAGE:
                break
            after = page[-1][0]
        if self._unadopted():
            for entry in self._file.entries():
                if not self._exists or not self._in_table(entry_key(entry)):
                    yield self._read(entry)

    def _in_table(self, key: Key) -> bool:
        with self._reading() as conn:
            return self._stored(conn, key)

    def keys(self) -> set[Key]:
        found: set[Key] = set()
        if self._exists:
            with self._reading() as conn:
                rows = conn.execute(select(self.table.c.stream, self.table.c.record_key))
                found = {(str(stream), str(key)) for stream, key in rows}
        if self._unadopted():
            found |= self._file.keys()
        return found

    def count(self) -> int:
        if self._unadopted() or not self._exists:
            return len(self.keys())
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)).scalar_one())

    def waiting(self) -> bool:
        if self._unadopted():
            return True
        if not self._exists:
            return False
        with self._reading() as conn:
            return conn.execute(select(self.table.c.seq).limit(1)).first() is not None

    # --- this run's failures ----------------------------------------------------------------

    def add(
        self,
        stream: str,
        key: Any,
        reason: str,
        record: Any,
        *,
        http_status: int | None = None,
        body: str = "",
    ) -> None:
        entry = self._failure(stream, key, reason, record, http_status, body)
        with self._lock:
            self._unsaved[(stream, str(key))] = (entry["reason"], entry["ts"], entry_line(entry))
            self._gone.discard((stream, str(key)))

    def discard(self, stream: str, key: Any) -> None:
        found = (stream, str(key))
        with self._lock:
            self._unsaved.pop(found, None)
            # Saved by this run, or an earlier run's the next save keeps: its row goes.
            if found in self._saved or self._keep_earlier:
                self._saved.discard(found)
                self._gone.add(found)
        self._written(found)

    def holds(self, stream: str, key: Any) -> bool:
        found = (stream, str(key))
        with self._lock:
            return found in self._unsaved or found in self._saved

    def letter(self, stream: str, key: Any) -> dict[str, Any] | None:
        found = (stream, str(key))
        with self._lock:
            unsaved = self._unsaved.get(found)
            saved = found in self._saved
        if unsaved is not None:
            return dict(json.loads(unsaved[2]))
        if not saved:
            return None
        t = self.table
        with self._reading() as conn:
            line = conn.execute(
                select(t.c.entry).where(t.c.stream == found[0], t.c.record_key == found[1])
            ).scalar()
        return dict(json.loads(line)) if line is not None else None

    def _keep(self, key: Key, entry: dict[str, Any]) -> None:
        line = entry_line(entry)
        with self._lock:
            self._unsaved[key] = (str(entry.get("reason") or ""), str(entry.get("ts") or ""), line)
            self._gone.discard(key)

    def carry(self, keys: set[Key]) -> None:
        with self._lock:
            wanted = keys - self._unsaved.keys() - self._saved - self._gone
        if not wanted or not self._earlier_may_wait():
            return
        t = self.table
        found: list[tuple[str, dict[str, Any]]] = []
        if self._exists:
            with self._reading() as conn:
                for chunk in chunks(sorted(wanted), ADOPT_CHUNK):
                    rows = conn.execute(
                        select(t.c.entry).where(tuple_(t.c.stream, t.c.record_key).in_(chunk))
                    )
                    found += [(line, json.loads(line)) for (line,) in rows]
        if self._unadopted():
            found += [(line, e) for line, e in self._file.lines() if entry_key(e) in wanted]
        for line, entry in found:
            if not is_entry(entry):
                continue
            key = entry_key(entry)
            with self._lock:
                reason, failed_at = str(entry.get("reason") or ""), str(entry.get("ts") or "")
                self._unsaved[key] = (reason, failed_at, line)
            self._carried(entry)

    def __len__(self) -> int:
        with self._lock:
            return len(self._saved | set(self._unsaved))

    def keep_earlier(self) -> None:
        self._keep_earlier = True

    def save(self) -> None:
        if self.read_only:
            # Nothing written, yet this run holds what it would have saved: its later batches
            # need not look at the earlier letters again.
            self._replaced = self._replaced or not self._keep_earlier
            return
        with self._lock:
            unsaved, gone = dict(self._unsaved), set(self._gone)
        replace_earlier = not self._replaced and not self._keep_earlier
        if not unsaved and not gone and not replace_earlier:
            return
        t = self.table
        with (
            database_errors(f"cannot save the dead letters ({self._where})"),
            self._engine.begin() as conn,
        ):
            if replace_earlier:
                conn.execute(delete(t))
            elif unsaved or gone:
                conn.execute(
                    delete(t).where(
                        t.c.stream == bindparam("b_stream"),
                        t.c.record_key == bindparam("b_key"),
                    ),
                    [{"b_stream": s, "b_key": k} for s, k in {*unsaved, *gone}],
                )
            if unsaved:
                conn.execute(
                    insert(t), [table_row(key, *values) for key, values in unsaved.items()]
                )
        with self._lock:
            self._replaced = True
            for key, values in unsaved.items():
                if self._unsaved.get(key) == values:
                    del self._unsaved[key]
                self._saved.add(key)
            self._gone -= gone

    def close(self) -> None:
        self._engine.dispose()
