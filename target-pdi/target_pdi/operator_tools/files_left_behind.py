"""Files from before each Meltano environment had its own folder, and what a run says of them.

The id map, dead letters and run summary used to live in one folder for every environment
(``.meltano/target-pdi/``, an organization's ``.meltano/orgs/<org>/``); now each environment
has a folder of its own inside it (``.../dev/``, ``.../prod/``). A map left in the shared
folder may describe either environment's PDI, or both mixed, and its dead letters may be
either's records (a sandbox's people retried into the real PDI would be a leak). So no run
takes them: each environment starts its own map, which the sync fills by finding PDI's
objects again (as after a lost map: no duplicates), and each run says so in one line while
the old files are there, with what to do about their dead letters.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from target_pdi.configuration.settings import Settings
from target_pdi.stores.database import sqlite_path

LOGGER = logging.getLogger("target-pdi")


def files_left_behind(settings: Settings) -> list[Path]:
    """Files one folder up from this environment's own, where they were shared before."""
    environment = os.environ.get("MELTANO_ENVIRONMENT", "")
    if not environment:
        return []
    own = [sqlite_path(settings.id_map_url), settings.dead_letter_path, settings.summary_path]
    found = []
    for path in (Path(p) for p in own if p):
        if path.parent.name != environment:
            continue  # not a per-environment folder: nothing was moved from above it
        old = path.parent.parent / path.name
        if old.exists():
            found.append(old)
    return found


def warn_of_files_left_behind(settings: Settings) -> None:
    """One warning line when files of the shared folder are there."""
    found = files_left_behind(settings)
    if not found:
        return
    environment = os.environ.get("MELTANO_ENVIRONMENT", "")
    own = found[0].parent / environment
    line = (
        f"Not used: {', '.join(str(p) for p in found)}, from before each Meltano environment "
        f"had its own files (they may be any environment's). This run (environment "
        f"{environment}) uses its own, in {own} (a new id map finds PDI's objects again, "
        "without duplicates)."
    )
    if any(p.name == Path(settings.dead_letter_path).name for p in found):
        line += (
            f" The old dead letters are not retried: move dead_letters.jsonl into {own} if "
            "they are this environment's, or run once with --full-refresh to read those "
            "records again."
        )
    LOGGER.warning("%s Then delete the old files.", line)
