"""The databases target-pdi keeps its tables in (id map, and in a shared one dead letters and run
summaries): one way to connect, one way to report a failure.

A SQLite file serves one machine; a server database (PostgreSQL) is shared by every worker that
syncs the project's organizations, each organization in tables of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from target_pdi.errors import ConfigurationError, FatalError


def engine_for(url: str) -> Engine:
    """An engine on the database at ``url``: SQLite usable from the run's worker threads, and
    an in-memory SQLite one database, not one per thread."""
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False}
        if not parsed.database or parsed.database == ":memory:":
            options["poolclass"] = StaticPool
    return create_engine(url, **options)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for a server database or an in-memory one."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def is_server_database(url: str) -> bool:
    """Whether ``url`` names a database server (PostgreSQL...), which several machines share,
    rather than a SQLite file."""
    try:
        return make_url(url).get_backend_name() != "sqlite"
    except ArgumentError:
        raise ConfigurationError(
            "id_map_url is not a SQLAlchemy database URL (e.g. sqlite:///path/idmap.sqlite "
            "or postgresql+psycopg://user:password@host/database)"
        ) from None


def shown(url: str) -> str:
    """The URL as messages show it: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def database_errors(what: str) -> Iterator[None]:
    """A database failure inside the block as one line (a `FatalError`): ``what`` failed, and
    the database's own first line (which names no password)."""
    try:
        yield
    except SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise FatalError(f"{what}: {lines[0] if lines else type(exc).__name__}") from None
