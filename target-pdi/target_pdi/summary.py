"""Run counters and the end-of-run summary lines (never any secret: counts and names only)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

OBJECT_TYPES = ("Location", "Event", "Contact", "Invitation")
OUTCOMES = ("created", "updated", "unchanged", "failed")


class Summary:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.objects: dict[str, Counter[str]] = {t: Counter() for t in OBJECT_TYPES}
        self.skipped: Counter[str] = Counter()
        self.unrouted: Counter[str] = Counter()
        self.dead_letters = 0
        self.dead_letters_retried = 0

    def count(self, object_type: str, outcome: str, n: int = 1) -> None:
        with self._lock:
            self.objects[object_type][outcome] += n

    def skip(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self.skipped[reason] += n

    def skip_unrouted(self, event_type: str, n: int = 1) -> None:
        with self._lock:
            self.unrouted[event_type or "(none)"] += n

    def writes(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.objects.values())

    def lines(self, requests_by_method: Mapping[str, int], *, dry_run: bool = False) -> list[str]:
        prefix = "DRY RUN summary" if dry_run else "Summary"
        out = [
            f"{prefix}: {t}: " + ", ".join(f"{o}={self.objects[t][o]}" for o in OUTCOMES)
            for t in OBJECT_TYPES
        ]
        skipped = dict(sorted(self.skipped.items()))
        out.append(f"{prefix}: skipped: {skipped or 'none'}")
        if self.unrouted:
            out.append(
                f"{prefix}: timeslots skipped, no calendar for event type: "
                f"{dict(sorted(self.unrouted.items()))}"
            )
        out.append(
            f"{prefix}: dead letters: {self.dead_letters} "
            f"(retried from previous runs: {self.dead_letters_retried})"
        )
        requests = dict(sorted(requests_by_method.items()))
        out.append(f"{prefix}: PDI requests: total={sum(requests.values())} {requests}")
        return out
