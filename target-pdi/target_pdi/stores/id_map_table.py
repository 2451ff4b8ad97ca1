"""The id map's table: its name for each organization, its columns and indexes, and the
upgrades of the tables older versions wrote.

Each organization has a table of its own (``target_pdi_id_map__<organization>``), so that the
id maps of several organizations can share one database (PostgreSQL) without meeting; with no
`organization` set the table is ``target_pdi_id_map``, as before organizations. The dead
letters, the run summaries and the run lock are named after the organization the same way
(`table_name`, `organization_slug`).

Two upgrades, each made by the first run that writes (a dry run reads what it finds): a map
written before key groups gets its column, filled in, and its indexes; a map from before
organizations, in a SQLite file, becomes the organization's table.
"""

from __future__ import annotations

import logging
import re
from functools import cache

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url

from target_pdi.errors import ConfigurationError
from target_pdi.stores.database import engine_for, sqlite_path

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


def key_group(key: str) -> str:
    """The part of a key before its first ':' (an invitation key's PDI event id)."""
    return key.split(":", 1)[0]


def open_table(url: str, table: Table, *, read_only: bool) -> tuple[Engine | None, Table]:
    """The engine and table of the id map at ``url``, made or upgraded unless ``read_only``;
    no engine when a read-only run finds no map it can read (it plans from PDI)."""
    path = sqlite_path(url)
    if read_only and path is not None and not path.exists():
        return None, table  # dry run without a map: start empty, create nothing on disk
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(url)
    table = _adopt_map_from_before_organizations(engine, table, read_only)
    if not read_only:
        table.create(engine, checkfirst=True)
        _add_key_group(engine, table)
    elif not inspect(engine).has_table(table.name):
        engine.dispose()  # a dry run before any run: plan from PDI
        return None, table
    elif not _has_key_group(engine, table):
        # A dry run may not upgrade the map, and cannot read it without key groups.
        LOGGER.warning(
            "The id map predates this version; the dry run plans without it (a real run "
            "upgrades it): %s",
            make_url(url).render_as_string(hide_password=True),
        )
        engine.dispose()
        return None, table
    return engine, table


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
