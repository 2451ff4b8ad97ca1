"""The dead-letter table of an organization: its columns, a row of it, making it, and filling it
from the dead-letter file of the days before the shared database (dead_letter_table.py says
what the store promises).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from itertools import islice
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Connection

from target_pdi.stores.dead_letter_entries import Key, entry_key
from target_pdi.stores.deadletters import FileDeadLetterStore

TABLE = "target_pdi_dead_letters"
ADOPT_CHUNK = 500


@cache
def dead_letter_table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        # The order entries failed in, which a retry keeps (a person before their signups).
        Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("stream", String(64), nullable=False),
        Column("record_key", String(512), nullable=False),
        # Redacted, for a person looking at the table; the entry holds them too.
        Column("reason", Text, nullable=False),
        Column("failed_at", String(40), nullable=False),
        # The whole entry as the file's line: the record exactly as it came.
        Column("entry", Text, nullable=False),
        UniqueConstraint("stream", "record_key", name=f"{name}_key"),
    )


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def table_row(key: Key, reason: str, failed_at: str, line: str) -> dict[str, Any]:
    """The row of one entry: its key and reason beside it, for a person looking at the table."""
    return {
        "stream": key[0],
        "record_key": key[1],
        # PostgreSQL's text takes no NUL, which PDI's answer might hold (the entry's JSON
        # escapes it): the whole save would fail on one odd reason.
        "reason": reason.replace("\x00", ""),
        "failed_at": failed_at,
        "entry": line,
    }


def create_table(conn: Connection, table: Table) -> None:
    """Make the table, unless it exists."""
    if not inspect(conn).has_table(table.name):
        table.create(conn)
        if conn.dialect.name == "postgresql":
            # Records are personal data: no role but the owner's reads them, whatever
            # the database's default privileges give every table.
            conn.execute(text(f'REVOKE ALL ON TABLE "{table.name}" FROM PUBLIC'))


def adopt_file(conn: Connection, table: Table, file: FileDeadLetterStore) -> int:
    """Insert the file's entries the table lacks, in the file's order; how many."""
    adopted = 0
    for chunk in chunks(file.lines(), ADOPT_CHUNK):
        rows = {entry_key(entry): (line, entry) for line, entry in chunk}
        have = set(
            conn.execute(
                select(table.c.stream, table.c.record_key).where(
                    tuple_(table.c.stream, table.c.record_key).in_(list(rows))
                )
            ).tuples()
        )
        new = [
            table_row(key, str(entry.get("reason") or ""), str(entry.get("ts") or ""), line)
            for key, (line, entry) in rows.items()
            if key not in have
        ]
        if new:
            conn.execute(insert(table), new)
        adopted += len(new)
    return adopted
