"""Dead letters: records PDI rejected, or that cannot be written, retried first on the next run.

A record lands here when PDI refuses it (record-level 4xx) or when it cannot be written at all (no
email). The SDK still advances the bookmark past it, so the store is the only way back: the next
run reads it, retries those records before new ones, and saves it with only the ones still
failing.

`DeadLetterStore` is what the sync, status, reconcile and the run summary use; `configured.py` picks
its backend from the settings: `FileDeadLetterStore` here (a JSONL file, one machine), or
`TableDeadLetterStore` (dead_letter_table.py: a table beside the id map in a shared database).

A letter never outlives a newer version of its record (supersede.py): the batch that holds
the record again decides it, and a signup's letter takes the newer copies of its person and
event. So besides `add` and `discard`, a store carries earlier runs' letters into the batch that
holds their records (`carry`), says what the batch under way dead-lettered
(`failed_in_batch`), and finds and rewrites the signups' letters that embed a person or an
event (`embedding`, `letter`, `replace_record`).

Records are kept exactly as they came, because they are retried from here: a redacted copy would
write altered data to PDI (a redaction pattern can match ordinary text or part of an email). The
store therefore holds personal data: the file is created readable by its owner only (0600). The
reason and PDI's answer are redacted, as everything that is logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from target_pdi.stores.dead_letter_entries import (
    Embedded,
    Key,
    embedded_in,
    entry_key,
    entry_line,
    is_entry,
    log_dead_letter,
    new_entry,
)

LOGGER = logging.getLogger("target-pdi")


class DeadLetterStore(ABC):
    """The dead letters of one organization: those of earlier runs, and this run's.

    Earlier runs' are read a page at a time (`entries`); this run's are added as they fail and
    saved, atomically, after each batch (`save`), which replaces the earlier runs' entries with
    this run's failures (the retried ones that failed again included). A read-only store (a dry
    run, status, reconcile) writes nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (stream, key) -> when the record first failed (`first_ts`), from the entries read and
        # the failures of this run: a retry that fails again keeps it, so `status` can tell a
        # record failing for days from one that failed an hour ago (`ts` is the last failure).
        self._first_failed: dict[Key, str] = {}
        self._failed: set[Key] = set()  # what this run dead-lettered (and did not write since)
        self._batch: set[Key] = set()  # what the batch under way dead-lettered
        # The signups' letters (their keys) that embed each person and event: a newer version
        # of one replaces the copy (supersede.py).
        self._embedding: dict[Embedded, set[str]] = {}
        # Whether a save has replaced the earlier runs' letters (then only this run's remain).
        self._replaced = False
        self._keep_earlier = False  # reconcile --fix: earlier letters stay beside this run's

    def _failure(
        self,
        stream: str,
        key: Any,
        reason: str,
        record: Any,
        http_status: int | None,
        body: str,
    ) -> dict[str, Any]:
        """This run's entry for a record that failed, logged."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            first = self._first_failed.setdefault((stream, str(key)), now)
            self._failed.add((stream, str(key)))
            self._batch.add((stream, str(key)))
        entry = new_entry(stream, key, reason, record, http_status, body, now=now, first=first)
        self._index(entry)
        log_dead_letter(entry)
        return entry

    def _index(self, entry: dict[str, Any]) -> None:
        """Remember which person and event a signup's letter embeds."""
        with self._lock:
            for embedded in embedded_in(entry["stream"], entry.get("record")):
                self._embedding.setdefault(embedded, set()).add(str(entry.get("key")))

    def _read(self, entry: dict[str, Any]) -> dict[str, Any]:
        """An entry of an earlier run, as it is read: its first failure is remembered."""
        first = entry.get("first_ts") or entry.get("ts")
        if isinstance(first, str):
            with self._lock:
                self._first_failed.setdefault(entry_key(entry), first)
        return entry

    def _written(self, key: Key) -> None:
        """A record written after all: its failures ended."""
        with self._lock:
            self._first_failed.pop(key, None)
            self._failed.discard(key)

    # --- a batch and the letters of its records (supersede.py) ----------------------------------

    def has(self, stream: str, key: Any) -> bool:
        """Whether this run dead-lettered the record (and has not written it since)."""
        with self._lock:
            return (stream, str(key)) in self._failed

    def begin_batch(self) -> None:
        """A batch starts: `failed_in_batch` answers for it alone."""
        with self._lock:
            self._batch = set()

    def failed_in_batch(self, stream: str, key: Any) -> bool:
        """Whether the batch under way dead-lettered the record."""
        with self._lock:
            return (stream, str(key)) in self._batch

    def embedding(self, embedded: set[Embedded]) -> set[str]:
        """The keys of the signups' letters that embed any of these people or events."""
        with self._lock:
            return {key for one in embedded for key in self._embedding.get(one, ())}

    def replace_record(self, entry: dict[str, Any], record: dict[str, Any]) -> None:
        """Keep a letter with a newer copy of what its record embeds: same failure, same
        times, same place to be retried from."""
        updated = {**entry, "record": record}
        self._keep(entry_key(updated), updated)
        self._index(updated)

    def _carried(self, entry: dict[str, Any]) -> None:
        """An earlier run's letter, now this run's to keep or discard."""
        self._read(entry)
        self._index(entry)

    def _earlier_may_wait(self) -> bool:
        """Whether the stored letters may include earlier runs' that this run has not loaded."""
        return not self._replaced or self._keep_earlier

    @abstractmethod
    def carry(self, keys: set[Key]) -> None:
        """The letters earlier runs left for these records, taken into this run's: the batch
        that holds the records decides them (kept only if it fails them again)."""

    @abstractmethod
    def holds(self, stream: str, key: Any) -> bool:
        """Whether a letter of this record waits in this run's store (failed, or carried)."""

    @abstractmethod
    def letter(self, stream: str, key: Any) -> dict[str, Any] | None:
        """This run's letter of a record, parsed (None: there is none)."""

    @abstractmethod
    def _keep(self, key: Key, entry: dict[str, Any]) -> None:
        """Hold ``entry`` as this run's letter of ``key``, to be saved."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the entries are, for messages and the run summary (never a password)."""

    @abstractmethod
    def entries(self) -> Iterator[dict[str, Any]]:
        """Earlier runs' entries in the order they failed, read a page at a time (unreadable
        ones reported and skipped)."""

    @abstractmethod
    def keys(self) -> set[Key]:
        """(stream, key) of every entry saved (only the keys: records are large and personal)."""

    def count(self) -> int:
        """How many entries are waiting for the next run."""
        return len(self.keys())

    @abstractmethod
    def waiting(self) -> bool:
        """Whether there may be entries for a run to retry (cheap: nothing is parsed)."""

    @abstractmethod
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
        """This run could not write a record: keep it, as it came (the last failure wins)."""

    @abstractmethod
    def discard(self, stream: str, key: Any) -> None:
        """The record was written after all, or a newer version of it settled it: its letter
        (this run's, or an earlier run's) goes."""

    @abstractmethod
    def __len__(self) -> int:
        """How many records this run dead-lettered."""

    @abstractmethod
    def keep_earlier(self) -> None:
        """This run retries no earlier entry (reconcile --fix): its saves keep them, under this
        run's failures, instead of replacing them."""

    @abstractmethod
    def save(self) -> None:
        """Save this run's failures atomically (nothing on a read-only store)."""

    @abstractmethod
    def close(self) -> None:
        """Release what the store holds (connections); nothing is saved."""


class FileDeadLetterStore(DeadLetterStore):
    """A JSONL file, rewritten whole (a temporary file renamed) at each save."""

    def __init__(self, path: str | os.PathLike[str], *, dry_run: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.dry_run = dry_run
        # (stream, key) -> the entry's JSON line; the last failure of a record wins. A line, not
        # the record: parsed, an attendance (its event, person and sponsor embedded) takes ~5x
        # the memory, and a large organization's first run can dead-letter thousands.
        self._entries: dict[Key, str] = {}
        # Earlier runs' letters settled by this run, left out of a save that keeps the others.
        self._gone: set[Key] = set()

    @property
    def where(self) -> str:
        return str(self.path)

    def load(self) -> list[dict[str, Any]]:
        """Entries of previous runs (unreadable lines are reported and skipped)."""
        return list(self.entries())

    def entries(self) -> Iterator[dict[str, Any]]:
        """load() one entry at a time, as the file is read: a retry parses a batch's worth."""
        for _, entry in self.lines():
            yield self._read(entry)

    def lines(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(line, entry) of each readable entry of the file, as it is read."""
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
                if is_entry(entry):
                    yield line.rstrip("\n"), entry

    def keys(self) -> set[Key]:
        found: set[Key] = set()
        try:
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict) and entry.get("stream"):
                        found.add(entry_key(entry))
        except FileNotFoundError:
            pass
        return found

    def waiting(self) -> bool:
        return self.path.exists()

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
        line = entry_line(self._failure(stream, key, reason, record, http_status, body))
        with self._lock:
            self._entries[(stream, str(key))] = line

    def discard(self, stream: str, key: Any) -> None:
        earlier = self._earlier_may_wait()
        with self._lock:
            self._entries.pop((stream, str(key)), None)
            if earlier:  # the file may hold an earlier run's letter of it
                self._gone.add((stream, str(key)))
        self._written((stream, str(key)))

    def holds(self, stream: str, key: Any) -> bool:
        with self._lock:
            return (stream, str(key)) in self._entries

    def letter(self, stream: str, key: Any) -> dict[str, Any] | None:
        with self._lock:
            line = self._entries.get((stream, str(key)))
        return json.loads(line) if line is not None else None

    def _keep(self, key: Key, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = entry_line(entry)
            self._gone.discard(key)

    def carry(self, keys: set[Key]) -> None:
        with self._lock:
            wanted = keys - self._entries.keys() - self._gone
        if not wanted or not self._earlier_may_wait():
            return
        for line, entry in self.lines():  # one pass, for the batch's records only
            key = entry_key(entry)
            if key in wanted:
                wanted.discard(key)
                with self._lock:
                    self._entries[key] = line
                self._carried(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def keep_earlier(self) -> None:
        self._keep_earlier = True

    def close(self) -> None:
        """Nothing held between reads: each opens the file."""

    def save(self) -> None:
        """Rewrite the file atomically with this run's failures (the retried ones that failed again
        included; with keep_earlier, the file's other entries too). Dry runs write nothing."""
        replacing = not self._keep_earlier
        if self.dry_run:
            # Nothing written, yet this run holds what it would have saved: its later batches
            # need not look at the earlier letters again.
            self._replaced = self._replaced or replacing
            return
        with self._lock:
            lines, gone = dict(self._entries), set(self._gone)
        if not lines and not self.path.exists():
            self._replaced = self._replaced or replacing
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if self._keep_earlier:
                # Streamed from the file being replaced: an earlier entry keeps its place, or
                # gives it to this run's letter of the same record, or goes (settled).
                for line, entry in self.lines():
                    key = entry_key(entry)
                    if key in lines or key not in gone:
                        fh.write(lines.pop(key, line) + "\n")
            for line in lines.values():
                fh.write(line + "\n")
        os.replace(tmp, self.path)
        self._replaced = self._replaced or replacing
        if replacing:
            with self._lock:
                self._gone -= gone  # the file holds this run's letters alone now
