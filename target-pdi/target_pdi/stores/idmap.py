"""Id map: (object_type, source_key) -> PDI id + hash of the last payload written (SQLAlchemy Core).

It is what makes re-runs write nothing: an unchanged payload hash means no request at all. It is a
cache of facts about PDI, not the source of truth: if it is lost, the writer recovers ids from PDI
(lookups) before creating anything. Rows stay in the database and are read when needed, so a run's
memory does not grow with the organization; writes wait in memory (at most ``FLUSH_EVERY``) and
go in small transactions. A crash between a PDI write and the flush only costs a lookup next run.

It also keeps tombstones (object type ``tombstone``, no PDI id): Mobilize events known to be
deleted and timeslots known to be removed, so that a signup Mobilize still lists for them can
never bring them back as live PDI events, in this run or any later one.

Each organization has a table of its own (``target_pdi_id_map__<organization>``), so that the
id maps of several organizations can share one database (PostgreSQL) without meeting; with no
`organization` set the table is ``target_pdi_id_map``, as before organizations.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url

from target_pdi.errors import ConfigurationError
from target_pdi.rules.values import json_default
from target_pdi.stores.database import engine_for

LOGGER = logging.getLogger("target-pdi")

# The table of a map with no organization (every map before organizations).
TABLE = "target_pdi_id_map"
# PostgreSQL cuts identifiers at 63 characters: "ix_<table>_mobilize_id", the longest name
# derived from an organization's table, must fit.
ORGANIZATION_SLUG_LIMIT = 29


# An organization's name as it names its tables and lock: lower-case letters and digits, words
# joined by single "_". Only a name already in this form is accepted, so that two names never
# name the same tables (folding "South-East", "south-east" and "south_east" into one made two
# organizations share an id map and a lock); what a refused name would have folded to is the
# name to use, and it keeps the tables and lock that name had.
SLUG = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def organization_slug(organization: str) -> str:
    """An organization's name as it names its tables and lock: the name itself, which must be
    in slug form; any other name is a `ConfigurationError` saying which one to use."""
    if SLUG.fullmatch(organization) and len(organization) <= ORGANIZATION_SLUG_LIMIT:
        return organization
    folded = re.sub(r"[^a-z0-9]+", "_", organization.lower()).strip("_")
    if not organization.isascii() or not folded or len(folded) > ORGANIZATION_SLUG_LIMIT:
        raise ConfigurationError(
            f"organization {organization!r} cannot name its id map, run lock, dead letters "
            f"and run summaries: use 1 to {ORGANIZATION_SLUG_LIMIT} lower-case letters and "
            "digits, words joined by single '_' (e.g. south_east)"
        )
    raise ConfigurationError(
        f"organization {organization!r} names its id map, run lock, dead letters and run "
        f"summaries as {folded!r}, which other spellings of it would share: set organization "
        f"to {folded!r} (lower-case letters and digits, words joined by single '_'; the same "
        "tables and lock)"
    )


def table_name(organization: str = "", base: str = TABLE) -> str:
    """The table ``base`` of an organization, ``<base>__<slug>`` (the id map's:
    ``target_pdi_id_map__<slug>``); with none, ``base`` itself."""
    return f"{base}__{organization_slug(organization)}" if organization else base


@cache
def id_map_table(name: str) -> Table:
    """The id map table called ``name`` (its indexes named after it: index names are shared by
    every table of a PostgreSQL schema or SQLite file)."""
    return Table(
        name,
        MetaData(),
        Column("object_type", String(32), primary_key=True),
        Column("source_key", String(512), primary_key=True),
        Column("pdi_id", String(128), nullable=False),
        Column("content_hash", String(64), nullable=True),
        # Mobilize event id for events (to find an event's timeslots), person id for contacts.
        Column("mobilize_id", BigInteger, nullable=True, index=True),
        Column("extra", Text, nullable=True),  # JSON: last payload, calendar, canceled flag...
        Column("updated_at", String(40), nullable=False),
        # The key's part before its first ':' (an invitation's PDI event): what follows a move.
        Column("key_group", String(512), nullable=True),
        Index(f"{name}_by_group", "object_type", "key_group"),
        # Keys pointing at each PDI object: a recovery must not claim an owned one.
        Index(f"{name}_by_pdi_id", "object_type", "pdi_id"),
    )


ID_MAP = id_map_table(TABLE)

FLUSH_EVERY = 200
# Keys longer than this are stored shortened (a prefix plus a hash of the whole key): a venue
# address can exceed the column, and PostgreSQL, unlike SQLite, enforces VARCHAR lengths.
KEY_LIMIT = 255


@dataclass
class Entry:
    pdi_id: str
    content_hash: str | None = None
    mobilize_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def stored_key(key: str) -> str:
    """The key as stored: unchanged when short, else a readable prefix and the key's sha256."""
    if len(key) <= KEY_LIMIT:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: KEY_LIMIT - len(digest) - 1]}#{digest}"


def key_group(key: str) -> str:
    """The part of a key before its first ':' (an invitation key's PDI event id)."""
    return key.split(":", 1)[0]


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


Key = tuple[str, str]  # (object type, stored key)
# Rows read at a time when every entry of a type is walked.
PAGE = 1000


def _entry(
    pdi_id: str, content_hash: str | None, mobilize_id: int | None, extra: str | None
) -> Entry:
    return Entry(
        pdi_id=pdi_id,
        content_hash=content_hash,
        mobilize_id=mobilize_id,
        extra=json.loads(extra) if extra else {},
    )


def _queries(table: Table) -> dict[str, Any]:
    """Every read the id map makes, each by an index."""
    columns = (
        table.c.object_type,
        table.c.source_key,
        table.c.pdi_id,
        table.c.content_hash,
        table.c.mobilize_id,
        table.c.extra,
    )
    of_type = table.c.object_type == bindparam("object_type")
    return {
        "all": select(*columns),
        "key": select(*columns).where(of_type, table.c.source_key == bindparam("key")),
        "mobilize_id": select(*columns).where(
            of_type, table.c.mobilize_id == bindparam("mobilize_id")
        ),
        "group": select(*columns).where(of_type, table.c.key_group == bindparam("group")),
        "pdi_id": select(*columns).where(of_type, table.c.pdi_id == bindparam("pdi_id")),
        "page": select(*columns)
        .where(of_type, table.c.source_key > bindparam("after"))
        .order_by(table.c.source_key),
    }


class IdMap:
    """The id map of one run: reads go to the database, behind the writes not yet flushed.

    One connection, used under a lock by every worker thread: each read is one indexed query
    (by key, Mobilize id, key group or PDI id). On a dry run nothing is flushed, and the
    pending writes are the run's view of what it would have written.
    """

    def __init__(self, url: str, *, read_only: bool = False, organization: str = "") -> None:
        self.url = url
        self.read_only = read_only
        self.table = id_map_table(table_name(organization))
        self._lock = threading.RLock()
        # Written at the next flush; None = delete the row. Read before the database.
        self._pending: dict[Key, Entry | None] = {}
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        path = sqlite_path(url)
        if read_only and path is not None and not path.exists():
            return  # dry run without a map: start empty, create nothing on disk
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        parsed = make_url(url)
        engine = engine_for(url)
        self.table = _adopt_map_from_before_organizations(engine, self.table, read_only)
        if not read_only:
            self.table.create(engine, checkfirst=True)
            _add_key_group(engine, self.table)
        elif not inspect(engine).has_table(self.table.name):
            engine.dispose()  # a dry run before any run: plan from PDI
            return
        elif not _has_key_group(engine, self.table):
            # A dry run may not upgrade the map, and cannot read it without key groups.
            LOGGER.warning(
                "The id map predates this version; the dry run plans without it (a real run "
                "upgrades it): %s",
                parsed.render_as_string(hide_password=True),
            )
            engine.dispose()
            return
        self._engine = engine
        self._conn = engine.connect()
        self._sqlite = parsed.get_backend_name() == "sqlite"
        self._positional = engine.dialect.positional
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, query in _queries(self.table).items():
            compiled = query.compile(dialect=engine.dialect)
            # LIMIT as SQL text: SQLAlchemy would make it a parameter of its own naming.
            sql = compiled.string + (f" LIMIT {PAGE}" if name == "page" else "")
            self._compiled[name] = (sql, tuple(compiled.positiontup or ()))

    # --- reads -----------------------------------------------------------------------------

    def _select(self, query: str, **values: Any) -> list[tuple[str, str, Entry]]:
        """Rows of one of ``QUERIES``: [(object type, key, entry)].

        On the DB-API connection itself, compiled once for its dialect: through SQLAlchemy a
        point read costs ~80 µs, directly ~17 µs, and a first sync makes ~100,000 of them.
        """
        if self._conn is None:
            return []
        sql, names = self._compiled[query]
        raw = self._conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            if self._positional:
                cursor.execute(sql, tuple(values[name] for name in names))
            else:
                cursor.execute(sql, values)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not self._sqlite:
            raw.commit()  # a read must not leave a transaction open (PostgreSQL)
        return [(r[0], r[1], _entry(*r[2:])) for r in rows]

    def _merged(
        self,
        object_type: str,
        stored: list[tuple[str, str, Entry]],
        wanted: Callable[[str, Entry], bool],
    ) -> list[tuple[str, Entry]]:
        """Database rows overlaid with the pending writes, sorted by key."""
        out = {k: e for t, k, e in stored if (t, k) not in self._pending}
        for (t, k), e in self._pending.items():
            if t == object_type and e is not None and wanted(k, e):
                out[k] = e
        return sorted(out.items())

    def __len__(self) -> int:
        with self._lock:
            stored = {(t, k) for t, k, _ in self._select("all")}
            for key, entry in self._pending.items():
                if entry is None:
                    stored.discard(key)
                else:
                    stored.add(key)
            return len(stored)

    def get(self, object_type: str, key: str) -> Entry | None:
        key = stored_key(key)
        with self._lock:
            if (object_type, key) in self._pending:
                return self._pending[(object_type, key)]
            rows = self._select("key", object_type=object_type, key=key)
            return rows[0][2] if rows else None

    def keys_for_mobilize_id(self, object_type: str, mobilize_id: int) -> list[tuple[str, Entry]]:
        with self._lock:
            stored = self._select("mobilize_id", object_type=object_type, mobilize_id=mobilize_id)
            return self._merged(object_type, stored, lambda _k, e: e.mobilize_id == mobilize_id)

    def keys_in_group(self, object_type: str, group: str) -> list[tuple[str, Entry]]:
        """Entries whose key starts with ``group:`` (the invitations of one PDI event)."""
        with self._lock:
            stored = self._select("group", object_type=object_type, group=group)
            return self._merged(object_type, stored, lambda k, _e: key_group(k) == group)

    def keys_for_pdi_id(self, object_type: str, pdi_id: str) -> list[str]:
        pdi_id = str(pdi_id)
        with self._lock:
            stored = self._select("pdi_id", object_type=object_type, pdi_id=pdi_id)
            return [
                k for k, _ in self._merged(object_type, stored, lambda _k, e: e.pdi_id == pdi_id)
            ]

    def owns(self, object_type: str, pdi_id: str) -> bool:
        """Whether some key already maps to this PDI object."""
        return bool(self.keys_for_pdi_id(object_type, pdi_id))

    def items(self, object_type: str) -> Iterator[tuple[str, Entry]]:
        """Every entry of one type, read a page at a time (the lock is not held in between)."""
        after = ""
        while True:
            with self._lock:
                page = self._select("page", object_type=object_type, after=after)
                pending = {k for t, k in self._pending if t == object_type}
            for _, key, entry in page:
                if key not in pending:
                    yield key, entry
            if len(page) < PAGE:
                break
            after = page[-1][1]
        with self._lock:
            tail = [(k, e) for (t, k), e in self._pending.items() if t == object_type and e]
        yield from tail

    # --- writes ----------------------------------------------------------------------------

    def drop(self, object_type: str, key: str) -> None:
        """Forget a mapping whose PDI object is gone (a stale id)."""
        key = stored_key(key)
        with self._lock:
            if self.get(object_type, key) is None:
                return
            self._pending[(object_type, key)] = None

    def put(
        self,
        object_type: str,
        key: str,
        pdi_id: str,
        content_hash: str | None,
        *,
        mobilize_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        entry = Entry(
            pdi_id=str(pdi_id),
            content_hash=content_hash,
            mobilize_id=mobilize_id,
            extra=extra or {},
        )
        key = stored_key(key)
        with self._lock:
            self._pending[(object_type, key)] = entry
            if not self.read_only and len(self._pending) >= FLUSH_EVERY:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pending or self._conn is None or self.read_only:
                return
            now = datetime.now(UTC).isoformat()
            keys = [{"b_type": t, "b_key": k} for (t, k) in self._pending]
            rows = [
                {
                    "object_type": t,
                    "source_key": k,
                    "pdi_id": e.pdi_id,
                    "content_hash": e.content_hash,
                    "mobilize_id": e.mobilize_id,
                    "extra": json.dumps(e.extra, sort_keys=True, default=json_default)
                    if e.extra
                    else None,
                    "updated_at": now,
                    "key_group": key_group(k),
                }
                for (t, k), e in self._pending.items()
                if e is not None
            ]
            table = self.table
            # Portable upsert (SQLite, Postgres...): delete then insert in one transaction.
            stmt = delete(table).where(
                and_(
                    table.c.object_type == bindparam("b_type"),
                    table.c.source_key == bindparam("b_key"),
                )
            )
            conn = self._conn
            conn.commit()
            with conn.begin():
                conn.execute(stmt, keys)
                if rows:
                    conn.execute(insert(table), rows)
            self._pending.clear()

    def has_entries(self, besides: str) -> bool:
        """Whether the map holds any entry of another type than ``besides``."""
        with self._lock:
            if any(t != besides and e is not None for (t, _), e in self._pending.items()):
                return True
            if self._conn is None:
                return False
            found = self._conn.execute(
                select(self.table.c.object_type).where(self.table.c.object_type != besides).limit(1)
            ).first()
            self._conn.commit()  # a read must not leave a transaction open (PostgreSQL)
            return found is not None

    def forget_all_but(self, *kept: str) -> int:
        """Delete every entry whose type is not in ``kept``, now; how many went."""
        with self._lock:
            self._pending = {(t, k): e for (t, k), e in self._pending.items() if t in kept}
            if self._conn is None or self.read_only:
                return 0
            self._conn.commit()
            with self._conn.begin():
                gone = self._conn.execute(
                    delete(self.table).where(self.table.c.object_type.not_in(kept))
                )
            return int(gone.rowcount or 0)

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._engine is not None:
                self._engine.dispose()


def _has_key_group(engine: Engine, table: Table) -> bool:
    return "key_group" in {c["name"] for c in inspect(engine).get_columns(table.name)}


def _add_key_group(engine: Engine, table: Table) -> None:
    """Give an id map written before key groups were stored its column, filled in, and the
    indexes ``create_all`` leaves out on a table that exists."""
    if not _has_key_group(engine, table):
        _fill_key_group(engine, table)
    for index in table.indexes:
        index.create(engine, checkfirst=True)


def _fill_key_group(engine: Engine, table: Table) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN key_group VARCHAR(512)"))
        rows = conn.execute(select(table.c.object_type, table.c.source_key)).all()
        if rows:
            conn.execute(
                update(table)
                .where(
                    table.c.object_type == bindparam("b_type"),
                    table.c.source_key == bindparam("b_key"),
                )
                .values(key_group=bindparam("b_group")),
                [{"b_type": t, "b_key": k, "b_group": key_group(k)} for t, k in rows],
            )


def _adopt_map_from_before_organizations(engine: Engine, table: Table, read_only: bool) -> Table:
    """The table to use when an organization's own does not exist yet but a map from before
    organizations (``target_pdi_id_map``) does.

    In a SQLite file (one project's) that map is this organization's: a run renames it (its
    indexes too), a dry run reads it as it is. In a shared database it may be another's: it is
    left alone, and the organization starts its own (the run recovers ids from PDI).
    """
    if table.name == TABLE:
        return table
    found = inspect(engine)
    if found.has_table(table.name) or not found.has_table(TABLE):
        return table
    where = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name != "sqlite":
        LOGGER.warning(
            "The id map %s has a table from before organizations (%s); this organization "
            "keeps its own (%s). If that table is this organization's, rename it to %s "
            "before the next run, or let the run recover the ids from PDI.",
            where,
            TABLE,
            table.name,
            table.name,
        )
        return table
    if read_only:
        return ID_MAP
    legacy_indexes = [i["name"] for i in found.get_indexes(TABLE)]
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {TABLE} RENAME TO {table.name}"))
        for index in legacy_indexes:
            conn.execute(text(f'DROP INDEX IF EXISTS "{index}"'))
    LOGGER.info("The id map %s: table %s is now %s", where, TABLE, table.name)
    return table
