"""A PDI client for dry runs: it reads PDI and writes nothing.

Every write is logged as the plan ("would create", "would update") and answered as PDI would,
with a placeholder id for a create, so the engine runs the very same code with and without
`dry_run`; reads of placeholder objects answer empty without asking PDI.

The rest of a dry run saves nothing either: the id map is read-only (idmap.py), dead letters are
not saved (deadletters.py), no STATE reaches Meltano (target.py), and its summary goes to a file
of its own (run_summary.py). Its log ends with `saved_nothing_line`.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from typing import Any

from target_pdi.pdi.client import FindExisting, PDIClient

LOGGER = logging.getLogger("target-pdi")
PLACEHOLDER = "dry-run-"
_VERBS = {"POST": "create", "PUT": "update", "DELETE": "delete"}
# What a plan line may show of a payload: names of events and places, never personal data.
_SHOWN = ("name", "locationName", "rsvpStatus", "startDateTimeUtc")


def saved_nothing_line(summary_path: str | os.PathLike[str]) -> str:
    """The dry run's last line: what it left alone, and where its plan is."""
    return (
        "DRY RUN: nothing was written and no bookmark was saved; the next run starts where the "
        f"last real run ended. What this run would have done: {summary_path}"
    )


class DryRunClient(PDIClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "read_only": True})
        self._ids = itertools.count(1)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        find_existing: FindExisting | None = None,
    ) -> Any:
        method = method.upper()
        if method == "GET":
            last = path.rstrip("/").rsplit("/", 1)[-1]
            if last.startswith(PLACEHOLDER):
                return None  # an object this dry run only planned
            if PLACEHOLDER in path:
                return {"data": [], "totalCount": 0}  # e.g. invitations of a planned event
            return super().request(method, path, params=params, body=body)
        shown = {k: body[k] for k in _SHOWN if isinstance(body, Mapping) and k in body}
        LOGGER.info("DRY RUN: would %s %s %s", _VERBS.get(method, method), path, shown or "")
        if method == "POST":
            return {"id": f"{PLACEHOLDER}{next(self._ids)}"}
        return None
