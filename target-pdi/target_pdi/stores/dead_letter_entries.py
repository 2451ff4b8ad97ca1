"""A dead letter's shape: the record as it came, why it failed (redacted), when it failed first
and last; one line of JSON, as every store keeps it (deadletters.py, dead_letter_table.py).

A signup's record embeds its person and its event: a letter says which (`embedded_in`), so
that a newer version of either replaces the copy (supersede.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from target_pdi.redact import redact
from target_pdi.rules.values import json_default

LOGGER = logging.getLogger("target-pdi")
BODY_LIMIT = 2000

Key = tuple[str, str]  # (stream, record key)


def new_entry(
    stream: str,
    key: Any,
    reason: str,
    record: Any,
    http_status: int | None,
    body: str,
    *,
    now: str,
    first: str,
) -> dict[str, Any]:
    """One dead letter: the record as it came, why it failed (redacted), when it failed last
    (`ts`) and first (`first_ts`)."""
    return {
        "stream": stream,
        "key": str(key),
        "reason": redact(reason, limit=500),
        "http_status": http_status,
        "body": redact(body, limit=BODY_LIMIT),
        "record": record,
        "ts": now,
        "first_ts": first,
    }


def entry_line(entry: dict[str, Any]) -> str:
    """An entry as one line of JSON, as every store keeps it."""
    return json.dumps(entry, sort_keys=True, default=json_default)


def is_entry(entry: Any) -> bool:
    """Whether a parsed line is an entry a run can retry."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("record"), dict)
        and bool(entry.get("stream"))
    )


def entry_key(entry: dict[str, Any]) -> Key:
    return str(entry["stream"]), str(entry.get("key"))


Embedded = tuple[str, int]  # ("people", person id) or ("events", event id)


def embedded_in(stream: str, record: Any) -> list[Embedded]:
    """The person and the event a signup's record embeds (none for other streams)."""
    if stream != "attendances" or not isinstance(record, dict):
        return []
    found: list[Embedded] = []
    for kind, field in (("people", "person"), ("events", "event")):
        copy = record.get(field)
        if isinstance(copy, dict):
            own = record.get(f"{field}_id")
            ident = own if own is not None else copy.get("id")
            if isinstance(ident, int) and not isinstance(ident, bool):
                found.append((kind, ident))
    return found


def log_dead_letter(entry: dict[str, Any]) -> None:
    status = entry["http_status"]
    LOGGER.warning(
        "Dead letter: stream=%s key=%s reason=%s%s",
        entry["stream"],
        entry["key"],
        entry["reason"],
        f" (HTTP {status})" if status else "",
    )
