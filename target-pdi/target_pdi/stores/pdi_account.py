"""Which PDI an id map describes, and the refusal to use it against another.

An id map's ids and content hashes are facts about one PDI account. Used against another (a
test account's map against the real account, dev's sandbox map against prod's PDI), every
object looks written already: a run writes nothing and says all is well. So the map records
the PDI it describes, in one row of its own table (type ``pdi``, hence per organization, on
SQLite and PostgreSQL alike): the API URL, normalised, and the account. PDI's API has no "who
am I" call, so the account is the API username that logged in, kept only as a salted sha256
fingerprint: the username is a sensitive setting, never stored nor shown.

- A real run records its PDI in a map that has none, once PDI has accepted the login (a
  refused username identifies no account): a new map, or one from before these records,
  which is adopted with one info line.
- A run, a dry run, reconcile and status refuse a map that records another PDI, before any
  request: one line naming both URLs (the account only as "another account") and what to do.
- `meltano invoke target-pdi:retarget-id-map` (retarget.py) makes a map this PDI's on purpose.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from target_pdi.configuration.credentials import env_var
from target_pdi.configuration.settings import Settings
from target_pdi.errors import ConfigurationError, FatalError
from target_pdi.rules.vocabulary import PdiObject
from target_pdi.stores.database import sqlite_path
from target_pdi.stores.id_map_table import id_map_table, table_name
from target_pdi.stores.idmap import IdMap

LOGGER = logging.getLogger("target-pdi")

# The id map row that says which PDI the map describes.
RECORD_TYPE = "pdi"
RECORD_KEY = "account"
# Mobilize facts, true whatever the PDI: what a re-target keeps.
KEPT_BY_RETARGET = (PdiObject.TOMBSTONE.value, RECORD_TYPE)
_NAMESPACE = "target-pdi: the PDI account of an id map, v1"
# 64 bits tell accounts apart. A username can still be confirmed by guessing it, so the salt,
# drawn for each map, at least keeps one username from having one fingerprint everywhere.
FINGERPRINT_CHARS = 16
_DEFAULT_PORTS = {"http": 80, "https": 443}


class IdMapOfAnotherPdi(ConfigurationError):
    """The id map records another PDI than this run's."""


def normalised_api_url(url: str) -> str:
    """The URL as the map records it: scheme and host in lower case, no default port, no
    credentials, query or trailing slash; so that one PDI is always spelled the same."""
    text = url.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.hostname:
        return text.rstrip("/")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def account_fingerprint(username: str, salt: str) -> str:
    digest = hashlib.sha256(f"{_NAMESPACE}\0{salt}\0{username}".encode()).hexdigest()
    return digest[:FINGERPRINT_CHARS]


@dataclass(frozen=True)
class RecordedPdi:
    """The PDI an id map records: its normalised URL and its account's fingerprint."""

    api_url: str
    salt: str
    account: str

    @classmethod
    def of(cls, settings: Settings) -> RecordedPdi:
        salt = secrets.token_hex(8)
        return cls(
            normalised_api_url(settings.api_url),
            salt,
            account_fingerprint(settings.username, salt),
        )

    def same_account(self, settings: Settings) -> bool:
        return self.account == account_fingerprint(settings.username, self.salt)

    def describes(self, settings: Settings) -> bool:
        return self.api_url == normalised_api_url(settings.api_url) and self.same_account(settings)

    def named(self, settings: Settings) -> str:
        """How a message names it next to this run's PDI: the account only as another one."""
        return self.api_url if self.same_account(settings) else f"another account at {self.api_url}"


def read_record(idmap: IdMap) -> RecordedPdi | None:
    entry = idmap.get(RECORD_TYPE, RECORD_KEY)
    return _parsed(entry.extra) if entry is not None else None


def _parsed(extra: dict[str, Any]) -> RecordedPdi | None:
    if not all(isinstance(extra.get(k), str) for k in ("api_url", "salt", "account")):
        return None
    return RecordedPdi(extra["api_url"], extra["salt"], extra["account"])


def write_record(idmap: IdMap, settings: Settings) -> RecordedPdi:
    recorded = RecordedPdi.of(settings)
    extra = {"api_url": recorded.api_url, "salt": recorded.salt, "account": recorded.account}
    idmap.put(RECORD_TYPE, RECORD_KEY, "", None, extra=extra)
    idmap.flush()
    return recorded


def where(settings: Settings) -> str:
    """The id map's URL as messages show it (a database password hidden)."""
    return make_url(settings.id_map_url).render_as_string(hide_password=True)


def retarget_command() -> str:
    """The command a person types to re-target the map of the plugin that runs."""
    environment = os.environ.get("MELTANO_ENVIRONMENT")
    plugin = os.environ.get("MELTANO_LOADER_NAME") or "target-pdi"
    chosen = f" --environment={environment}" if environment else ""
    return f"meltano{chosen} invoke {plugin}:retarget-id-map"


def refusal(recorded: RecordedPdi, settings: Settings) -> str:
    """The one line a run refused for another PDI's map ends with."""
    return (
        f"the id map {where(settings)} was filled against another PDI "
        f"({recorded.named(settings)}), not this run's "
        f"({normalised_api_url(settings.api_url)}): give this PDI an id map of its own "
        f"(setting id_map_url, {env_var('id_map_url')}), or, if this map is meant for this "
        f"PDI, run `{retarget_command()}`, which makes it this PDI's and forgets the other "
        "PDI's ids; nothing was written"
    )


def refuse_another_pdi(settings: Settings, confirm_login: Callable[[], None] | None = None) -> None:
    """Stop, before any write, when the map records another PDI (nothing is created).

    Another URL is refused before any request. At the map's own URL another account may be a
    mistyped username: ``confirm_login`` (a login, nothing more) is tried first, so that a
    refused login is reported as such, not as a map to re-target.
    """
    recorded = recorded_in(settings)
    if recorded is None or recorded.describes(settings):
        return
    if confirm_login is not None and recorded.api_url == normalised_api_url(settings.api_url):
        confirm_login()
    raise IdMapOfAnotherPdi(refusal(recorded, settings))


def problem_of(settings: Settings) -> str | None:
    """Why the configured map may not be used with this PDI (None: it may), read without
    changing or creating anything: one query for the record, whatever the map's version."""
    recorded = recorded_in(settings)
    if recorded is None or recorded.describes(settings):
        return None
    return refusal(recorded, settings)


def recorded_in(settings: Settings) -> RecordedPdi | None:
    """The PDI the configured map records (None: no map, or no record yet)."""
    path = sqlite_path(settings.id_map_url)
    if path is not None and not path.exists():
        return None
    table = id_map_table(table_name(settings.organization))
    engine = create_engine(settings.id_map_url, poolclass=NullPool)
    try:
        if not inspect(engine).has_table(table.name):
            return None
        with engine.connect() as conn:
            extra = conn.execute(
                select(table.c.extra).where(
                    table.c.object_type == RECORD_TYPE, table.c.source_key == RECORD_KEY
                )
            ).scalar()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        raise FatalError(
            f"cannot read the id map {where(settings)}: {reason[0] if reason else exc}"
        ) from None
    finally:
        engine.dispose()
    return _parsed(json.loads(extra)) if extra else None


def claim(idmap: IdMap, settings: Settings) -> None:
    """On a real run, once PDI accepted the login and before any write: refuse another PDI's
    map, record this PDI in a map that records none."""
    recorded = read_record(idmap)
    if recorded is not None:
        if not recorded.describes(settings):
            raise IdMapOfAnotherPdi(refusal(recorded, settings))
        return
    adopted = idmap.has_entries(besides=RECORD_TYPE)
    recorded = write_record(idmap, settings)
    if adopted:
        LOGGER.info(
            "The id map %s did not record which PDI it describes (it is from an earlier "
            "version): it now records this one (%s, this account) and its ids are taken as "
            "this PDI's. If it was filled against another PDI, remove it: the next run then "
            "finds this PDI's objects again, without duplicates",
            where(settings),
            recorded.api_url,
        )
