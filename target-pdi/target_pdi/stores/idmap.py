"""Id map: (object_type, source_key) -> PDI id + hash of the last payload written (SQLAlchemy Core).

It is what makes re-runs write nothing: an unchanged payload hash means no request at all. It is a
cache of facts about PDI, not the source of truth: if it is lost, the writer recovers ids from PDI
(lookups) before creating anything. Rows stay in the database and are read when needed, so a run's
memory does not grow with the organization; writes wait in memory (at most ``FLUSH_EVERY``) and
go in small transactions. A crash between a PDI write and the flush only costs a lookup next run.

It also keeps tombstones (object type ``tombstone``, no PDI id): Mobilize events known to be
deleted and timeslots known to be removed, so that a signup Mobilize still lists for them can
never bring them back as live PDI events, in this run or any later one.

The table itself, its name for each organization and its upgrades are in id_map_table.py.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, insert, select
from sqlalchemy.engine import Connection, Dialect, Engine

from target_pdi.rules.values import json_default
from target_pdi.stores.id_map_table import id_map_table, key_group, open_table, table_name

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


Key = tuple[str, str]  # (object type, stored key)
# Rows read at a time when every entry of a type is walked.
PAGE = 1000
# Point reads remembered per run. A first sync of M asks for the same key about six times per
# PDI request (plan, write, settle: issue 21); an entry is a few hundred bytes, so this bounds
# the cache to a few MB whatever the organization's size.
READ_CACHE_SIZE = 20_000


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


def compiled_queries(table: Table, dialect: Dialect) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each of the id map's reads as SQL for ``dialect``, with the names of its parameters
    in order (for a positional DB-API)."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, query in _queries(table).items():
        compiled = query.compile(dialect=dialect)
        # LIMIT as SQL text: SQLAlchemy would make it a parameter of its own naming.
        sql = compiled.string + (f" LIMIT {PAGE}" if name == "page" else "")
        found[name] = (sql, tuple(compiled.positiontup or ()))
    return found


class IdMap:
    """The id map of one run: reads go to the database, behind the writes not yet flushed.

    One connection, used under a lock by every worker thread: each read is one indexed query
    (by key, Mobilize id, key group or PDI id). On a dry run nothing is flushed, and the
    pending writes are the run's view of what it would have written.

    Reads by key are remembered (``READ_CACHE_SIZE``, least recently used out) as the database
    holds them, found or not. Only this object writes the table during a run (the run lock), so
    a flush writes its entries into the cache and ``forget_all_but`` empties it. Entries are
    shared: nothing changes an ``Entry`` once made (a change is a new ``put``).
    """

    def __init__(self, url: str, *, read_only: bool = False, organization: str = "") -> None:
        self.url = url
        self.read_only = read_only
        self.table = id_map_table(table_name(organization))
        self._lock = threading.RLock()
        # Written at the next flush; None = delete the row. Read before the database.
        self._pending: dict[Key, Entry | None] = {}
        # The database's answer for a key (None: no row), most recently used last.
        self._read: OrderedDict[Key, Entry | None] = OrderedDict()
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        engine, self.table = open_table(url, self.table, read_only=read_only)
        if engine is None:
            return
        self._engine = engine
        self._conn = engine.connect()
        self._sqlite = engine.dialect.name == "sqlite"
        self._positional = engine.dialect.positional
        self._compiled = compiled_queries(self.table, engine.dialect)

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
            wanted = (object_type, key)
            if wanted in self._pending:
                return self._pending[wanted]
            if wanted in self._read:
                self._read.move_to_end(wanted)
                return self._read[wanted]
            rows = self._select("key", object_type=object_type, key=key)
            found = rows[0][2] if rows else None
            self._remember(wanted, found)
            return found

    def _remember(self, key: Key, entry: Entry | None) -> None:
        """What the database now holds for ``key``, into the bounded read cache."""
        self._read[key] = entry
        self._read.move_to_end(key)
        if len(self._read) > READ_CACHE_SIZE:
            self._read.popitem(last=False)

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
            for written, entry in self._pending.items():
                self._remember(written, entry)
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
            self._read.clear()
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
