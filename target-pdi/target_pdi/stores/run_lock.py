"""One sync at a time per organization: a lock on its id map, taken before any input is read.

Two syncs of one organization at once would each create what the other has not yet recorded
in the id map (duplicates in PDI), and their bookmarks would overtake each other. Meltano
refuses a second run of the same job through its own database, but not a run under another
job name, a `--force`d one, another machine's, nor `meltano invoke target-pdi`: the id map is
what every sync of an organization shares, so the lock lives with it.

- On PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) keyed by the
  organization's id map table, on a connection held open for the whole run. PostgreSQL
  releases it when that connection ends, also when the process is killed.
- On SQLite: an exclusive ``fcntl.flock`` on a file next to the id map
  (``idmap.sqlite.<organization>.lock``, ``idmap.sqlite.lock`` without one), released by the
  system when the process ends, however it ends.

Different organizations have different keys and files: they never wait for each other. A run
that finds the lock held stops at once with one line and changes nothing. Dry runs take no
lock: they write nothing (not PDI, not the id map, not the dead letters), so one may preview a
change while the scheduled sync runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from target_pdi.configuration.settings import Settings
from target_pdi.errors import FatalError
from target_pdi.redact import register_secret
from target_pdi.stores.database import sqlite_path
from target_pdi.stores.id_map_table import organization_slug, table_name

LOGGER = logging.getLogger("target-pdi")


class AlreadyRunning(FatalError):
    """Another run of the same organization holds its lock."""


class Lock(Protocol):
    def release(self) -> None: ...


class NoLock:
    """Where no other process can share the id map (in memory), or no lock is possible."""

    def release(self) -> None:
        return None


def refusal(organization: str, since: str) -> str:
    """The one line a refused run ends with."""
    who = f"organization {organization}" if organization else "this project's organization"
    return (
        f"{who} is already being synced (another run holds its lock since {since}); "
        "this run changed nothing"
    )


def advisory_key(table: str) -> int:
    """A signed 64-bit key for ``pg_try_advisory_lock``, the same for every run of one
    organization's id map (its table), different for every other."""
    digest = hashlib.sha256(f"target-pdi run lock {table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class FileLock:
    """An exclusive ``flock`` on ``path``; the holder writes when it took it, for a refused
    run to say."""

    def __init__(self, path: Path, organization: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not truncated on open: the holder's line must stay readable to the refused run.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(self._fd)
            os.close(self._fd)
            raise AlreadyRunning(refusal(organization, holder)) from None
        os.ftruncate(self._fd, 0)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.write(self._fd, json.dumps({"since": since, "pid": os.getpid()}).encode())

    def release(self) -> None:
        if self._fd < 0:
            return
        with suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = -1


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        holder = json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        holder = {}
    since = holder.get("since", "an unknown time")
    return f"{since}, process {holder['pid']}" if "pid" in holder else str(since)


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own, held until released."""

    def __init__(self, url: str, table: str, organization: str) -> None:
        parsed = make_url(url)
        register_secret(parsed.password)
        self._engine = create_engine(url, poolclass=NullPool)
        try:
            self._conn: Connection | None = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"  # no transaction left open for the whole run
            )
        except SQLAlchemyError as exc:
            self._engine.dispose()
            where = parsed.render_as_string(hide_password=True)
            raise FatalError(
                f"cannot reach the id map's database {where} to take the run lock: "
                f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}"
            ) from None
        key = advisory_key(table)
        taken = self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        if not taken.scalar():
            since = self._holder_since(key)
            self.release()
            raise AlreadyRunning(refusal(organization, since))

    def _holder_since(self, key: int) -> str:
        """When the holder's connection began (its run's start), from pg_locks."""
        assert self._conn is not None
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        row = self._conn.execute(
            text(
                "SELECT a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid = :high AND l.objid = :low"
            ),
            {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF},
        ).first()
        if row is None or row[0] is None:
            return "an unknown time"
        started: datetime = row[0]
        return started.astimezone(UTC).isoformat(timespec="seconds")

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session: PostgreSQL releases its advisory locks
            self._conn = None
        self._engine.dispose()


def acquire(id_map_url: str, organization: str = "") -> Lock:
    """The run lock of the organization whose id map is at ``id_map_url``; raises
    `AlreadyRunning` (one line, a `FatalError`) when another run holds it."""
    table = table_name(organization)
    backend = make_url(id_map_url).get_backend_name()
    if backend == "postgresql":
        return AdvisoryLock(id_map_url, table, organization)
    path = sqlite_path(id_map_url)
    if backend == "sqlite":
        if path is None:
            return NoLock()  # an in-memory map belongs to this process alone
        suffix = f".{organization_slug(organization)}.lock" if organization else ".lock"
        return FileLock(path.with_name(path.name + suffix), organization)
    LOGGER.warning(
        "The id map's database (%s) offers no run lock here: two runs of one organization "
        "at once are not refused",
        backend,
    )
    return NoLock()


@contextmanager
def holding(settings: Settings) -> Iterator[None]:
    """Hold the organization's run lock for the block (none on a dry run)."""
    if settings.dry_run:
        yield
        return
    lock = acquire(settings.id_map_url, settings.organization)
    try:
        yield
    finally:
        lock.release()
