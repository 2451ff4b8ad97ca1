"""Dead-letter store: JSONL of records PDI rejected, retried first on the next run.

A record lands here when PDI refuses it (record-level 4xx) or when it cannot be written at all (no
email). The SDK still advances the bookmark past it, so this file is the only way back: the next run
loads it, retries those records before new ones, and rewrites it with only the ones still failing.

Records are kept exactly as they came, because they are retried from here: a redacted copy would
write altered data to PDI (a redaction pattern can match ordinary text or part of an email). The
file therefore holds personal data: it is created readable by its owner only (0600). The reason
and PDI's answer are redacted, as everything that is logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from target_pdi.payloads import json_default
from target_pdi.redact import redact

LOGGER = logging.getLogger("target-pdi")
BODY_LIMIT = 2000


class DeadLetterStore:
    def __init__(self, path: str | os.PathLike[str], *, dry_run: bool = False) -> None:
        self.path = Path(path)
        self.dry_run = dry_run
        self._lock = threading.Lock()
        # (stream, key) -> the entry's JSON line; the last failure of a record wins. A line, not
        # the record: parsed, an attendance (its event, person and sponsor embedded) takes ~5x
        # the memory, and a large organization's first run can dead-letter thousands.
        self._entries: dict[tuple[str, str], str] = {}
        # (stream, key) -> when the record first failed (`first_ts`), from the entries read and
        # the failures of this run: a retry that fails again keeps it, so `status` can tell a
        # record failing for days from one that failed an hour ago (`ts` is the last failure).
        self._first_failed: dict[tuple[str, str], str] = {}

    def load(self) -> list[dict[str, Any]]:
        """Entries of previous runs (unreadable lines are reported and skipped)."""
        return list(self.entries())

    def entries(self) -> Iterator[dict[str, Any]]:
        """load() one entry at a time, as the file is read: a retry parses a batch's worth."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    LOGGER.warning(
                        "Dead-letter file %s line %d is not JSON; ignored", self.path, number
                    )
                    continue
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get("record"), dict)
                    and entry.get("stream")
                ):
                    first = entry.get("first_ts") or entry.get("ts")
                    if isinstance(first, str):
                        with self._lock:
                            key = (str(entry["stream"]), str(entry.get("key")))
                            self._first_failed.setdefault(key, first)
                    yield entry

    def add(
        self,
        stream: str,
        key: Any,
        reason: str,
        record: Any,
        *,
        http_status: int | None = None,
        body: str = "",
    ) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            first = self._first_failed.setdefault((stream, str(key)), now)
        entry = {
            "stream": stream,
            "key": str(key),
            "reason": redact(reason, limit=500),
            "http_status": http_status,
            "body": redact(body, limit=BODY_LIMIT),
            "record": record,
            "ts": now,
            "first_ts": first,
        }
        line = json.dumps(entry, sort_keys=True, default=json_default)
        with self._lock:
            self._entries[(stream, str(key))] = line
        LOGGER.warning(
            "Dead letter: stream=%s key=%s reason=%s%s",
            stream,
            key,
            entry["reason"],
            f" (HTTP {http_status})" if http_status else "",
        )

    def carry_over(self, entries: list[dict[str, Any]]) -> None:
        """Keep earlier runs' entries as they are, under this run's: a run that does not retry
        them (reconcile --fix) must not lose them when it saves."""
        with self._lock:
            for entry in entries:
                key = (str(entry["stream"]), str(entry.get("key")))
                if key not in self._entries:
                    self._entries[key] = json.dumps(entry, sort_keys=True, default=json_default)

    def discard(self, stream: str, key: Any) -> None:
        with self._lock:
            self._entries.pop((stream, str(key)), None)
            self._first_failed.pop((stream, str(key)), None)  # written: its failures ended

    def has(self, stream: str, key: Any) -> bool:
        with self._lock:
            return (stream, str(key)) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def save(self) -> None:
        """Rewrite the file atomically with this run's failures (the retried ones that failed again
        included). Dry runs write nothing."""
        if self.dry_run:
            return
        with self._lock:
            lines = list(self._entries.values())
        if not lines and not self.path.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        os.replace(tmp, self.path)
