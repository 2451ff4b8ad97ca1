"""`meltano invoke target-pdi:retarget-id-map`: make the id map this PDI's, on purpose.

For a map refused because it records another PDI (pdi_account.py) that is meant for this one:
an organization that tried the sync on a test account and now syncs its real account, or a
PDI reached at a new address. The other PDI's ids name nothing here, or something else, so
they are forgotten; the tombstones (Mobilize events known deleted, timeslots known removed)
are facts about Mobilize and are kept. The next run finds this PDI's objects by their Mobilize
links and emails, as after a lost map, and creates what is missing: no duplicates.
"""

from __future__ import annotations

from dataclasses import replace

import click

from target_pdi.configuration.credentials import require_credentials
from target_pdi.configuration.settings import Settings
from target_pdi.errors import TargetPDIError
from target_pdi.redact import redact
from target_pdi.stores.idmap import IdMap
from target_pdi.stores.pdi_account import (
    KEPT_BY_RETARGET,
    RECORD_TYPE,
    read_record,
    where,
    write_record,
)
from target_pdi.stores.run_lock import holding
from target_pdi.sync.runtime import make_client


def run_retarget(settings: Settings) -> int:
    """Re-target the map and print what was done; exit status 0 when done."""
    try:
        require_credentials(settings)
        # Only an account PDI accepts is recorded: a mistyped username would make every later
        # run, with the right one, refuse the map.
        client = make_client(replace(settings, dry_run=True))
        try:
            client.login()
        finally:
            client.close()
        # A sync of the organization under way would write on with the other PDI's ids.
        with holding(replace(settings, dry_run=False)):
            message = retarget(settings)
    except TargetPDIError as exc:
        click.echo(f"FAILED: {redact(exc)}; the id map was not changed")
        return 1
    click.echo(message)
    return 0


def retarget(settings: Settings) -> str:
    """Record this PDI in the map, forgetting another PDI's ids; what was done, in words."""
    idmap = IdMap(settings.id_map_url, organization=settings.organization)
    try:
        recorded = read_record(idmap)
        if recorded is not None and recorded.describes(settings):
            return (
                f"The id map {where(settings)} already describes this PDI "
                f"({recorded.api_url}, this account); nothing changed"
            )
        if recorded is None and not idmap.has_entries(besides=RECORD_TYPE):
            now = write_record(idmap, settings)
            return (
                f"The id map {where(settings)} held nothing yet; it now describes this PDI "
                f"({now.api_url}, this account)"
            )
        before = f"another PDI ({recorded.named(settings)})" if recorded else "an unrecorded PDI"
        forgotten = idmap.forget_all_but(*KEPT_BY_RETARGET)
        now = write_record(idmap, settings)
    finally:
        idmap.close()
    return (
        f"The id map {where(settings)} described {before}; it now describes this PDI "
        f"({now.api_url}, this account). It forgot {forgotten} PDI ids and kept its "
        "tombstones (Mobilize events known deleted). The next run finds this PDI's objects "
        "by their Mobilize links and emails and creates what is missing; if this "
        "environment's bookmarks are past records synced before, run it once with "
        "--full-refresh so that those reach this PDI too"
    )
