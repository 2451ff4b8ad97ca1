"""Id map: (object_type, source_key) -> PDI id + hash of the last payload written (SQLAlchemy Core).

It is what makes re-runs write nothing: an unchanged payload hash means no request at all. It is a
cache of facts about PDI, not the source of truth: if it is lost, the writer recovers ids from PDI
(lookups) before creating anything. Rows are kept in memory (one load at start) and written through
in small transactions; a crash between a PDI write and the flush only costs a lookup next run.

It also keeps tombstones (object type ``tombstone``, no PDI id): Mobilize events known to be
deleted and timeslots known to be removed, so that a signup Mobilize still lists for them can
never bring them back as live PDI events, in this run or any later one.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    delete,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Engine, make_url

from target_pdi.payloads import json_default

METADATA = MetaData()
ID_MAP = Table(
    "target_pdi_id_map",
    METADATA,
    Column("object_type", String(32), primary_key=True),
    Column("source_key", String(512), primary_key=True),
    Column("pdi_id", String(128), nullable=False),
    Column("content_hash", String(64), nullable=True),
    # Mobilize event id for events (to find an event's timeslots), person id for contacts.
    Column("mobilize_id", BigInteger, nullable=True, index=True),
    Column("extra", Text, nullable=True),  # JSON: last payload, calendar, canceled flag...
    Column("updated_at", String(40), nullable=False),
)

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


class IdMap:
    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._lock = threading.RLock()
        self._rows: dict[tuple[str, str], Entry] = {}
        self._by_mobilize: dict[tuple[str, int], set[str]] = {}
        # Keys pointing at each PDI object: a recovery must not claim an owned one.
        self._by_pdi: dict[tuple[str, str], set[str]] = {}
        # Keys by group (an invitation's PDI event): what must follow an event that moves.
        self._by_group: dict[tuple[str, str], set[str]] = {}
        # Written at the next flush; None = delete the row.
        self._pending: dict[tuple[str, str], Entry | None] = {}
        self._engine: Engine | None = None
        path = sqlite_path(url)
        if read_only and path is not None and not path.exists():
            return  # dry run without a map: start empty, create nothing on disk
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        connect_args = (
            {"check_same_thread": False} if make_url(url).get_backend_name() == "sqlite" else {}
        )
        self._engine = create_engine(url, connect_args=connect_args)
        if not read_only:
            METADATA.create_all(self._engine)
        elif not inspect(self._engine).has_table(ID_MAP.name):
            return
        self._load()

    def _load(self) -> None:
        assert self._engine is not None
        with self._engine.connect() as conn:
            for row in conn.execute(select(ID_MAP)):
                entry = Entry(
                    pdi_id=row.pdi_id,
                    content_hash=row.content_hash,
                    mobilize_id=row.mobilize_id,
                    extra=json.loads(row.extra) if row.extra else {},
                )
                self._remember(row.object_type, row.source_key, entry)

    def _remember(self, object_type: str, key: str, entry: Entry) -> None:
        self._forget(object_type, key)
        self._rows[(object_type, key)] = entry
        self._by_pdi.setdefault((object_type, entry.pdi_id), set()).add(key)
        self._by_group.setdefault((object_type, key_group(key)), set()).add(key)
        if entry.mobilize_id is not None:
            self._by_mobilize.setdefault((object_type, entry.mobilize_id), set()).add(key)

    def _forget(self, object_type: str, key: str) -> Entry | None:
        previous = self._rows.pop((object_type, key), None)
        if previous is not None:
            self._by_pdi.get((object_type, previous.pdi_id), set()).discard(key)
            self._by_group.get((object_type, key_group(key)), set()).discard(key)
            if previous.mobilize_id is not None:
                self._by_mobilize.get((object_type, previous.mobilize_id), set()).discard(key)
        return previous

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, object_type: str, key: str) -> Entry | None:
        with self._lock:
            return self._rows.get((object_type, stored_key(key)))

    def keys_for_mobilize_id(self, object_type: str, mobilize_id: int) -> list[tuple[str, Entry]]:
        with self._lock:
            keys = sorted(self._by_mobilize.get((object_type, mobilize_id), set()))
            return [(k, self._rows[(object_type, k)]) for k in keys]

    def keys_in_group(self, object_type: str, group: str) -> list[tuple[str, Entry]]:
        """Entries whose key starts with ``group:`` (the invitations of one PDI event)."""
        with self._lock:
            keys = sorted(self._by_group.get((object_type, group), set()))
            return [(k, self._rows[(object_type, k)]) for k in keys]

    def items(self, object_type: str) -> Iterator[tuple[str, Entry]]:
        """A snapshot of every entry of one type."""
        with self._lock:
            rows = [(k, e) for (t, k), e in self._rows.items() if t == object_type]
        yield from rows

    def keys_for_pdi_id(self, object_type: str, pdi_id: str) -> list[str]:
        with self._lock:
            return sorted(self._by_pdi.get((object_type, str(pdi_id)), set()))

    def owns(self, object_type: str, pdi_id: str) -> bool:
        """Whether some key already maps to this PDI object."""
        with self._lock:
            return bool(self._by_pdi.get((object_type, str(pdi_id))))

    def drop(self, object_type: str, key: str) -> None:
        """Forget a mapping whose PDI object is gone (a stale id)."""
        key = stored_key(key)
        with self._lock:
            if self._forget(object_type, key) is None:
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
            self._remember(object_type, key, entry)
            if self.read_only:
                return  # dry run: the in-memory view lets later phases plan; nothing is stored
            self._pending[(object_type, key)] = entry
            if len(self._pending) >= FLUSH_EVERY:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pending or self._engine is None or self.read_only:
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
                }
                for (t, k), e in self._pending.items()
                if e is not None
            ]
            # Portable upsert (SQLite, Postgres...): delete then insert in one transaction.
            stmt = delete(ID_MAP).where(
                and_(
                    ID_MAP.c.object_type == bindparam("b_type"),
                    ID_MAP.c.source_key == bindparam("b_key"),
                )
            )
            with self._engine.begin() as conn:
                conn.execute(stmt, keys)
                if rows:
                    conn.execute(insert(ID_MAP), rows)
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._engine is not None:
            self._engine.dispose()
