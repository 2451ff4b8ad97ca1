"""Id map: (object_type, source_key) -> PDI id + hash of the last payload written (SQLAlchemy Core).

It is what makes re-runs write nothing: an unchanged payload hash means no request at all. It is a
cache of facts about PDI, not the source of truth: if it is lost, the writer recovers ids from PDI
(lookups) before creating anything. Rows are kept in memory (one load at start) and written through
in small transactions; a crash between a PDI write and the flush only costs a lookup next run.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
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


@dataclass
class Entry:
    pdi_id: str
    content_hash: str | None = None
    mobilize_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
        # How many keys point at each PDI object: a recovery must not claim an owned one.
        self._owners: Counter[tuple[str, str]] = Counter()
        self._pending: dict[tuple[str, str], Entry] = {}
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
        previous = self._rows.get((object_type, key))
        if previous is not None:
            self._owners[(object_type, previous.pdi_id)] -= 1
        self._owners[(object_type, entry.pdi_id)] += 1
        self._rows[(object_type, key)] = entry
        if entry.mobilize_id is not None:
            self._by_mobilize.setdefault((object_type, entry.mobilize_id), set()).add(key)

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, object_type: str, key: str) -> Entry | None:
        with self._lock:
            return self._rows.get((object_type, key))

    def keys_for_mobilize_id(self, object_type: str, mobilize_id: int) -> list[tuple[str, Entry]]:
        with self._lock:
            keys = sorted(self._by_mobilize.get((object_type, mobilize_id), set()))
            return [(k, self._rows[(object_type, k)]) for k in keys]

    def owns(self, object_type: str, pdi_id: str) -> bool:
        """Whether some key already maps to this PDI object."""
        with self._lock:
            return self._owners[(object_type, str(pdi_id))] > 0

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
            ]
            # Portable upsert (SQLite, Postgres...): delete then insert in one transaction.
            stmt = delete(ID_MAP).where(
                and_(
                    ID_MAP.c.object_type == bindparam("b_type"),
                    ID_MAP.c.source_key == bindparam("b_key"),
                )
            )
            with self._engine.begin() as conn:
                conn.execute(
                    stmt, [{"b_type": r["object_type"], "b_key": r["source_key"]} for r in rows]
                )
                conn.execute(insert(ID_MAP), rows)
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._engine is not None:
            self._engine.dispose()
