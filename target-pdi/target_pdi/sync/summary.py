"""Run counters and the end-of-run summary lines (never any secret: counts and names only)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from target_pdi.rules.vocabulary import STREAM_OBJECT, WRITTEN_OBJECTS, Outcome, PdiObject

OUTCOMES = tuple(Outcome)


class Summary:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.objects: dict[PdiObject, Counter[Outcome]] = {t: Counter() for t in WRITTEN_OBJECTS}
        self.skipped: Counter[str] = Counter()
        self.unrouted: Counter[str] = Counter()
        # What a PDI user would want to know happened beyond creates and updates.
        self.notes: Counter[str] = Counter()
        self.dead_letters = 0
        self.dead_letters_retried = 0
        self.read: Counter[str] = Counter()
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        # Hashes of the keys counted so far, per kind: an object many records share (a contact,
        # a venue) is looked at in every batch that holds one of them, yet is counted once; the
        # failed ones apart, so that one that failed and was then written counts both ways.
        self._counted: dict[PdiObject, set[int]] = {t: set() for t in WRITTEN_OBJECTS}
        self._failed: dict[PdiObject, set[int]] = {t: set() for t in WRITTEN_OBJECTS}
        self._skipped_records: set[int] = set()

    def done(self, kind: PdiObject) -> tuple[int, int]:
        """(written or found unchanged, failed) so far for one kind of PDI object."""
        with self._lock:
            counts = self.objects[kind]
            written = counts[Outcome.CREATED] + counts[Outcome.UPDATED] + counts[Outcome.UNCHANGED]
            return written, counts[Outcome.FAILED]

    def count(self, kind: PdiObject, outcome: Outcome, n: int = 1) -> None:
        with self._lock:
            self.objects[kind][outcome] += n

    def count_object(self, kind: PdiObject, key: str, outcome: Outcome) -> None:
        """Count one object by its key: found unchanged after this run already counted it (it
        was created, updated or found earlier in the run), or failed again, it is not counted
        again. Hashes, not keys, are kept: a few dozen bytes per object, whatever its key."""
        with self._lock:
            seen = hash(key)
            if outcome is Outcome.FAILED:
                counted = self._failed[kind]
                if seen in counted:
                    return
            else:
                counted = self._counted[kind]
                if outcome is Outcome.UNCHANGED and seen in counted:
                    return
            counted.add(seen)
            self.objects[kind][outcome] += 1

    def skip(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self.skipped[reason] += n

    def skip_record(self, reason: str, key: object) -> None:
        """Skip one record by its key: seen again in a later batch (a person's next signup), or
        retried from the dead letters beside its fresh copy, it is not counted again, as its
        dead letter is one entry."""
        with self._lock:
            seen = hash((reason, key))
            if seen in self._skipped_records:
                return
            self._skipped_records.add(seen)
            self.skipped[reason] += 1

    def note(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.notes[what] += n

    def stale_id(self, kind: PdiObject) -> None:
        """PDI no longer had an object the id map named (deleted in PDI): it was replaced."""
        self.note(f"stale PDI ids replaced ({kind.label})")

    def skip_unrouted(self, event_type: str, n: int = 1) -> None:
        with self._lock:
            self.unrouted[event_type or "(none)"] += n

    def writes(self) -> int:
        return sum(c[Outcome.CREATED] + c[Outcome.UPDATED] for c in self.objects.values())

    def lines(self, requests_by_method: Mapping[str, int], *, dry_run: bool = False) -> list[str]:
        """The end-of-run table: one row per PDI object, then skips, dead letters, requests."""
        prefix = "DRY RUN summary" if dry_run else "Summary"
        requests = dict(sorted(requests_by_method.items()))
        duration = time.monotonic() - self.started
        out = [
            f"{prefix}: {duration:.1f} s, {sum(requests.values())} PDI requests "
            f"({', '.join(f'{m} {n}' for m, n in requests.items()) or 'none'})",
            f"{prefix}: {'object':<11}" + "".join(f"{o.value:>10}" for o in OUTCOMES),
        ]
        out += [
            f"{prefix}: {t.label:<11}" + "".join(f"{self.objects[t][o]:>10}" for o in OUTCOMES)
            for t in WRITTEN_OBJECTS
        ]
        out.append(f"{prefix}: skipped: {in_words(self.skipped)}")
        if self.notes:
            out.append(f"{prefix}: notes: {in_words(self.notes)}")
        if self.unrouted:
            out.append(
                f"{prefix}: timeslots skipped, no calendar for event type: "
                + ", ".join(f"{name} {n}" for name, n in sorted(self.unrouted.items()))
            )
        out.append(
            f"{prefix}: dead letters: {self.dead_letters} "
            f"(retried from previous runs: {self.dead_letters_retried})"
        )
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """Outcomes per PDI object, keyed as the JSON summary has them ("events": {...})."""
        with self._lock:
            return {
                f"{kind.value}s": {o.value: self.objects[kind][o] for o in OUTCOMES}
                for kind in WRITTEN_OBJECTS
            }

    def skipped_reasons(self) -> dict[str, int]:
        """Every skip by its reason in words, timeslots without a calendar included."""
        with self._lock:
            reasons = dict(self.skipped)
            for event_type, n in self.unrouted.items():
                reasons[f"timeslots with no calendar for event type {event_type}"] = n
        return dict(sorted(reasons.items()))


def in_words(counts: Mapping[str, int]) -> str:
    """`{'people without email': 3}` as a person reads it: "3 people without email"."""
    return "; ".join(f"{n} {reason}" for reason, n in sorted(counts.items())) or "none"


class ProgressReporter:
    """Logs one line per stream every ``interval`` seconds while a run is under way."""

    def __init__(
        self,
        summary: Summary,
        log: Callable[[str], None],
        interval: float = 10.0,
    ) -> None:
        self.summary = summary
        self.log = log
        self.interval = interval
        self._stop = threading.Event()
        self._last: dict[str, tuple[float, int]] = {}
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> ProgressReporter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for line in self.lines():
                self.log(line)

    def lines(self) -> list[str]:
        now = time.monotonic()
        out = []
        for stream, kind in STREAM_OBJECT.items():
            read = self.summary.read[stream]
            if not read:
                continue
            done, failed = self.summary.done(kind)
            then, before = self._last.get(stream, (self.summary.started, 0))
            rate = (done + failed - before) / max(now - then, 1e-9)
            self._last[stream] = (now, done + failed)
            out.append(
                f"progress: stream={stream} read={read} {kind.label}s written={done} "
                f"failed={failed} rate={rate:.1f}/s"
            )
        return out


def log_info(logger: logging.Logger) -> Callable[[str], None]:
    return lambda line: logger.info("%s", line)
