"""The served organization's data, indexed, with the answers that shape what is listed.

Everything a route or a mutation reads or changes lives here, under one lock: the dataset
(its lists kept in id order), lookups by id, the attendances' sort keys, the answers, and
a cache of filtered row lists that any change clears.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.datagen.dataset import Dataset, Record, gc_paused
from sandbox.mobilize.answers import MobilizeAnswers
from sandbox.mobilize.errors import not_found
from sandbox.mobilize.paging import Rows

ATTENDANCE_KEY_STEP = 1024  # room for masked attendances between two ids


def attendance_keys(attendances: list[Record]) -> list[tuple[int, Record]]:
    """Masked rows (no id) keep their place after the row before them: the sort key is
    id * ATTENDANCE_KEY_STEP, masked rows take the following keys."""
    keyed: list[tuple[int, Record]] = []
    last = 0
    for attendance in attendances:
        if attendance["id"] is not None:
            last = attendance["id"] * ATTENDANCE_KEY_STEP
        else:
            last += 1
        keyed.append((last, attendance))
    keyed.sort(key=lambda pair: pair[0])
    return keyed


def bump(obj: Record, now: int) -> None:
    obj["modified_date"] = max(now, int(obj.get("modified_date") or 0) + 1)


def embedded_event(event: Record) -> Record:
    """The copy of its event an attendance carries: no timeslots."""
    return {**event, "timeslots": None}


class MobilizeState:
    def __init__(
        self,
        dataset: Dataset,
        max_per_page: int,
        clock: Callable[[], float] = time.time,
        answers: Mapping[str, Any] | None = None,
    ) -> None:
        # How many rows a page may hold: larger per_page values are clamped to it.
        self.max_per_page = max_per_page
        self.clock = clock
        self.answers = MobilizeAnswers.build(answers)
        self.lock = threading.RLock()
        self.load(dataset)

    def load(self, dataset: Dataset) -> None:
        with self.lock, gc_paused():
            self._index(dataset)
        # The dataset lives as long as the server: keep it out of every later collection.
        gc.freeze()

    def _index(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.org_id: int = dataset.organization["id"]
        self.orgs = {o["id"]: o for o in dataset.organizations}
        dataset.events.sort(key=lambda e: e["id"])
        dataset.people.sort(key=lambda p: p["id"])
        dataset.deleted_events.sort(key=lambda d: d["id"])
        dataset.organizations.sort(key=lambda o: o["id"])
        self.events = {e["id"]: e for e in dataset.events}
        self.people = {p["id"]: p for p in dataset.people}
        self.private_deleted = set(dataset.private_deleted_event_ids)
        keyed = attendance_keys(dataset.attendances)
        dataset.attendances[:] = [a for _, a in keyed]
        self.attendance_keys = [k for k, _ in keyed]
        self.attendances = {a["id"]: a for a in dataset.attendances if a["id"] is not None}
        self.by_event: dict[int, list[Record]] = defaultdict(list)
        self.by_person: dict[int, list[Record]] = defaultdict(list)
        for attendance in dataset.attendances:
            if attendance["id"] is None:
                continue
            self.by_event[attendance["event"]["id"]].append(attendance)
            self.by_person[attendance["person"]["id"]].append(attendance)
        self.next_ids = {
            "attendance": max(self.attendances, default=5000000),
            "person": max(self.people, default=300000),
            "timeslot": max(
                # Masked timeslots (ids nulled across the firewall) have none to go on from.
                (
                    t["id"]
                    for e in dataset.events
                    for t in e["timeslots"] or ()
                    if t.get("id") is not None
                ),
                default=2000000,
            ),
        }
        self._cache: dict[tuple[Any, ...], Rows] = {}

    def changed(self) -> None:
        self._cache.clear()

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.answers.update(changes)
            # Cached row lists were filtered under the old answers.
            self.changed()
            return self.answers.as_dict()

    def cached(self, key: tuple[Any, ...], build: Callable[[], Rows]) -> Rows:
        rows = self._cache.get(key)
        if rows is None:
            if len(self._cache) > 128:
                self._cache.clear()
            rows = self._cache[key] = build()
        return rows

    def now(self) -> int:
        """Wall-clock now, never before the dataset's generation epoch."""
        return max(int(self.clock()), int(self.dataset.generated_at))

    def since(self, value: int, since: int | None) -> bool:
        """Whether a row dated ``value`` passes ``updated_since=since`` (per the answer)."""
        if since is None:
            return True
        if self.answers.updated_since == "exclusive":
            return value > since
        return value >= since

    def org(self, org: int) -> Record:
        if org not in self.orgs:
            raise not_found()
        return self.orgs[org]

    def live_timeslot_ids(self) -> set[int]:
        return {s["id"] for e in self.dataset.events for s in e["timeslots"] or ()}

    def attendance_listed(self, attendance: Record, live_slots: set[int]) -> bool:
        """False when the answers hide it: its event was deleted or its timeslot removed."""
        event_id = (attendance.get("event") or {}).get("id")
        if event_id is None:
            return True  # masked rows carry no ids: nothing to compare
        if event_id not in self.events:
            return self.answers.deleted_event_attendances == "listed"
        if self.answers.removed_timeslot_attendances == "listed":
            return True
        slot_id = (attendance.get("timeslot") or {}).get("id")
        return slot_id is None or slot_id in live_slots

    def hides_attendances(self) -> bool:
        return "hidden" in (
            self.answers.deleted_event_attendances,
            self.answers.removed_timeslot_attendances,
        )

    def counts(self) -> dict[str, int]:
        """The dataset's ``expected_counts()`` without the attendances the answers hide."""
        counts = self.dataset.expected_counts()
        if self.hides_attendances():
            live = self.live_timeslot_ids()
            listed = [a for a in self.dataset.attendances if self.attendance_listed(a, live)]
            masked = sum(1 for a in listed if a["id"] is None)
            counts["attendances"] = len(listed) - masked
            counts["masked_attendances"] = masked
        return counts

    def event(self, event_id: Any) -> Record:
        """The event a mutation names (KeyError, answered 400, when there is none)."""
        event = self.events.get(event_id)
        if event is None:
            raise KeyError(f"no event {event_id}")
        return event

    def person(self, person_id: Any) -> Record:
        """The person a mutation names (KeyError, answered 400, when there is none)."""
        person = self.people.get(person_id)
        if person is None:
            raise KeyError(f"no person {person_id}")
        return person
