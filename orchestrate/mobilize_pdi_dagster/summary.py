"""target-pdi's run summary (the JSON it writes at the end of every run) as Dagster metadata.

Counts become flat integer entries (``events_created``, ``dead_letters_waiting``, ...), which
the Dagster UI plots over an asset's materializations: each organization's history. The whole
summary is kept too, as one JSON entry, for whoever wants what the flat entries leave out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

PDI_OBJECTS = ("locations", "events", "contacts", "invitations")
OUTCOMES = ("created", "updated", "unchanged", "failed")


def read_summary(path: Path) -> dict[str, Any] | None:
    """The summary at ``path``, or None when there is none or it is not a JSON object."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def summary_metadata(summary: dict[str, Any], path: Path) -> dict[str, dg.MetadataValue]:
    objects = summary.get("objects") or {}
    dead_letters = summary.get("dead_letters") or {}
    requests = summary.get("pdi_requests") or {}
    metadata: dict[str, dg.MetadataValue] = {
        "organization": dg.MetadataValue.text(str(summary.get("organization") or "")),
        "status": dg.MetadataValue.text(str(summary.get("status") or "unknown")),
        "started_at": dg.MetadataValue.text(str(summary.get("started_at") or "")),
        "duration_seconds": dg.MetadataValue.float(float(summary.get("duration_seconds") or 0)),
        "dry_run": dg.MetadataValue.bool(bool(summary.get("dry_run"))),
    }
    for kind in PDI_OBJECTS:
        counts = objects.get(kind) or {}
        for outcome in OUTCOMES:
            metadata[f"{kind}_{outcome}"] = dg.MetadataValue.int(_int(counts.get(outcome)))
    metadata["dead_letters_new"] = dg.MetadataValue.int(_int(dead_letters.get("new")))
    metadata["dead_letters_waiting"] = dg.MetadataValue.int(_int(dead_letters.get("waiting")))
    metadata["pdi_requests"] = dg.MetadataValue.int(sum(_int(n) for n in requests.values()))
    metadata["pdi_requests_by_method"] = dg.MetadataValue.json(dict(requests))
    metadata["records_read"] = dg.MetadataValue.json(dict(summary.get("records_read") or {}))
    metadata["skipped"] = dg.MetadataValue.json(dict(summary.get("skipped") or {}))
    if summary.get("error"):
        metadata["error"] = dg.MetadataValue.text(str(summary["error"]))
    metadata["summary"] = dg.MetadataValue.json(summary)
    metadata["summary_path"] = dg.MetadataValue.path(str(path))
    return metadata
