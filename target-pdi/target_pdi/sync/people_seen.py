"""PeopleSeen: the freshest `people` record of each person in this run, kept on disk.

A signup can come batches after its person's record (the tap sends every person before any
attendance), so the run must keep each person it read; held in memory, an organization's people
would be the run's largest object. A private temporary SQLite database keeps them on disk
instead, with SQLite's own small page cache, and is deleted when the run closes it.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

Record = Mapping[str, Any]


class PeopleSeen(MutableMapping[int, Record]):
    def __init__(self) -> None:
        # "": a temporary database on disk, private to this connection (sqlite3 docs).
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, record BLOB NOT NULL)")
        self._lock = threading.Lock()

    def __getitem__(self, person_id: int) -> Record:
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM people WHERE id = ?", (person_id,)
            ).fetchone()
        if row is None:
            raise KeyError(person_id)
        record: Record = pickle.loads(row[0])  # noqa: S301 (written by this run, private)
        return record

    def __setitem__(self, person_id: int, record: Record) -> None:
        # pickle, not JSON: the record comes back exactly as it went in (it never leaves the
        # process, and is read only by this run).
        blob = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO people VALUES (?, ?)", (person_id, blob))

    def __delitem__(self, person_id: int) -> None:
        with self._lock:
            deleted = self._db.execute("DELETE FROM people WHERE id = ?", (person_id,)).rowcount
        if not deleted:
            raise KeyError(person_id)

    def __contains__(self, person_id: object) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM people WHERE id = ?", (person_id,)).fetchone()
        return row is not None

    def __iter__(self) -> Iterator[int]:
        with self._lock:
            ids = [row[0] for row in self._db.execute("SELECT id FROM people ORDER BY id")]
        return iter(ids)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM people").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
