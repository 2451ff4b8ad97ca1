"""The ordered, concurrent upsert engine.

`SyncEngine.run(batch)` writes one drained batch in dependency order:

    tombstones      every deleted Mobilize event is remembered first, for good
    (once a run)    events whose calendar route changed move to their new calendar
    deleted_events  their PDI events "[Canceled] ", invitations "Cancelled"
    events          locations, then one PDI event per timeslot of an approved, routed event;
                    timeslots Mobilize no longer lists and events no longer approved canceled
    attendances     planned: what each signup needs, events of timeslots not seen yet created
    people          contacts (only people whose signups are written, unless sync_all_people)
    invitations     one per contact and event, concurrent per PDI event

so an invitation is never written before its event and contact exist. Every write is an upsert:
id map first (unchanged hash -> no request), else recover from PDI (`recovery`), else create.
Record-level failures are dead-lettered; FatalError propagates and stops the run (no STATE).

The rules that keep PDI right whatever Mobilize lists:
- a Mobilize event known to be deleted, or a timeslot known to be removed, never becomes or stays
  a live PDI event (tombstones are kept in the id map); its signups become "Cancelled";
- only events whose approval status is allowed (APPROVED by default) are written; one that
  leaves it is canceled, and restored if it comes back;
- a PDI event is only ever claimed by the Mobilize event its website names.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from target_pdi import payloads as P
from target_pdi.client import PDIClient, object_id
from target_pdi.deadletters import DeadLetterStore
from target_pdi.errors import RecordRejected
from target_pdi.idmap import Entry, IdMap, key_group
from target_pdi.recovery import (
    ContactFinder,
    PdiEvents,
    lower_keys,
    row_is_canceled,
    row_payload,
    row_start,
)
from target_pdi.routing import CalendarRouter
from target_pdi.summary import Summary

LOGGER = logging.getLogger("target-pdi")
T = TypeVar("T")

LOCATION, EVENT, CONTACT, INVITATION, TOMBSTONE = (
    "location",
    "event",
    "contact",
    "invitation",
    "tombstone",
)
# Why a PDI event was canceled. Mobilize cannot bring back a deleted event or a removed timeslot,
# and an event that moved calendar lives on in the new one; an event that left the allowed
# approval statuses can come back.
DELETED, REMOVED, MOVED, UNAPPROVED = "deleted", "removed", "moved", "unapproved"
PERMANENT = frozenset({DELETED, REMOVED, MOVED})
CANCEL_NOTES = {
    DELETED: "events canceled: deleted in Mobilize",
    REMOVED: "events canceled: timeslot removed in Mobilize",
    UNAPPROVED: "events canceled: no longer approved",
    MOVED: "events moved to another calendar (old one canceled)",
}
DEFAULT_APPROVAL_STATUSES = ("APPROVED",)


@dataclass
class Batch:
    events: list[dict[str, Any]] = field(default_factory=list)
    deleted_events: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    attendances: list[dict[str, Any]] = field(default_factory=list)
    # Dead-letter retries of a cancel that failed: {"key": "ts:1", "reason": ..., "event_id": ...}
    cancellations: list[dict[str, Any]] = field(default_factory=list)
    # Dead-letter retries: people are retried even without a signup in this batch.
    retry: bool = False

    def __len__(self) -> int:
        return (
            len(self.events)
            + len(self.deleted_events)
            + len(self.people)
            + len(self.attendances)
            + len(self.cancellations)
        )


@dataclass
class EventJob:
    """One PDI event to upsert: a Mobilize timeslot plus the record it came from."""

    stream: str  # record to dead-letter on failure: "events" or "attendances"
    record_key: str
    record: Mapping[str, Any]
    event: Mapping[str, Any]
    timeslot: Mapping[str, Any]
    calendar_id: str

    @property
    def key(self) -> str:
        return f"ts:{self.timeslot.get('id')}"

    @property
    def event_id(self) -> int | None:
        return P.mobilize_id(self.event.get("id"))

    @property
    def start(self) -> int | None:
        return P.to_epoch(self.timeslot.get("start_date"))


@dataclass
class Signup:
    """One invitation to write: a signup (or a signup whose person's email changed)."""

    event_pdi_id: str
    contact_id: str
    live: dict[str, Any]  # the invitation while the event is live
    canceled: bool
    attendance_id: int | None
    person_id: int | None
    modified: int
    # What to dead-letter when it fails: the signup, or the person whose email changed.
    stream: str
    record_key: Any
    record: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{self.event_pdi_id}:{self.contact_id}"


@dataclass
class PlannedSignup:
    attendance: Mapping[str, Any]
    attendance_id: int
    person_id: int | None
    person: Mapping[str, Any] | None
    timeslot_id: int
    event_id: int


def _modified(record: Mapping[str, Any]) -> tuple[int, int]:
    return (P.to_epoch(record.get("modified_date")) or 0, P.mobilize_id(record.get("id")) or 0)


def latest_by(
    records: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], Any]
) -> dict[Any, Mapping[str, Any]]:
    """Dedupe by key, the latest modified_date (then highest id) wins."""
    out: dict[Any, Mapping[str, Any]] = {}
    for record in records:
        k = key(record)
        if k is None:
            continue
        if k not in out or _modified(record) >= _modified(out[k]):
            out[k] = record
    return out


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _record_id(record: Mapping[str, Any]) -> int | None:
    return P.mobilize_id(record.get("id"))


def canceled_reason(entry: Entry | None) -> str | None:
    """Why an event entry is canceled (None: live). Old id maps stored `canceled: true`."""
    if entry is None:
        return None
    reason = entry.extra.get("canceled")
    if reason is True:
        return DELETED
    return str(reason) if reason else None


def _timeslot_ids(event: Mapping[str, Any]) -> set[int | None] | None:
    """Ids of an event's timeslots, or None when the record does not list them (an attendance's
    embedded copy, a stub): "unknown" must never read as "every timeslot removed"."""
    slots = event.get("timeslots")
    if not isinstance(slots, list):
        return None
    return {P.mobilize_id(s.get("id")) for s in slots if isinstance(s, Mapping)}


class SyncEngine:
    def __init__(
        self,
        client: PDIClient,
        idmap: IdMap,
        router: CalendarRouter,
        deadletters: DeadLetterStore,
        summary: Summary,
        *,
        max_concurrency: int = 8,
        sync_all_people: bool = False,
        approval_statuses: Iterable[str] = DEFAULT_APPROVAL_STATUSES,
        recovery_window_days: float = 30,
    ) -> None:
        self.client = client
        self.idmap = idmap
        self.router = router
        self.deadletters = deadletters
        self.summary = summary
        self.max_concurrency = max(1, max_concurrency)
        self.sync_all_people = sync_all_people
        self.approval_statuses = {str(s).strip().upper() for s in approval_statuses}
        self.recovery_window_days = recovery_window_days
        self._lock = threading.Lock()
        self.pdi_events = PdiEvents(client, idmap, EVENT)
        self.contacts = ContactFinder(client)
        # Caches for one run (PDI reads are done at most once each).
        self._locations_index: dict[str, dict[str, Any]] | None = None
        self._invitations: dict[str, dict[str, dict[str, Any]]] = {}
        # Across drains of one run: the freshest `people` record for a person id, and the
        # timeslots each event read lists (its signups may come in a later batch).
        self.people_seen: dict[int, Mapping[str, Any]] = {}
        self._listed_slots: dict[int, set[int | None]] = {}
        self._logged_unrouted: set[str] = set()
        self._rerouted = False
        # Per batch.
        self._batch_events: dict[int, Mapping[str, Any]] = {}
        self._failed_events: set[int] = set()
        self._failed_emails: dict[str, str] = {}
        self._recovered: dict[str, dict[str, Any]] = {}

    # --- helpers -------------------------------------------------------------------------------

    def _parallel(self, items: Iterable[T], fn: Callable[[T], None]) -> None:
        """Run fn over items with max_concurrency threads; the first unexpected error (a FatalError,
        or a bug) cancels the rest and propagates."""
        items = list(items)
        if not items:
            return
        if self.max_concurrency == 1 or len(items) == 1:
            for item in items:
                fn(item)
            return
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="pdi") as pool:
            futures: list[Future[None]] = [pool.submit(fn, item) for item in items]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    for other in futures:
                        other.cancel()
                    raise error
            for future in futures:
                future.result()

    def _dead_letter(
        self, stream: str, key: Any, record: Any, reason: str, exc: Exception | None = None
    ) -> None:
        status = exc.http_status if isinstance(exc, RecordRejected) else None
        body = exc.body if isinstance(exc, RecordRejected) else ""
        if not self.deadletters.has(stream, key):
            self.summary.dead_letters += 1
        self.deadletters.add(stream, key, reason, record, http_status=status, body=body)

    def _approved(self, event: Mapping[str, Any]) -> bool:
        status = str(event.get("approval_status") or "APPROVED").strip().upper()
        return status in self.approval_statuses

    def _deleted(self, event_id: int | None) -> bool:
        return event_id is not None and self.idmap.get(TOMBSTONE, f"event:{event_id}") is not None

    def _event_entries(self, event_id: int) -> list[tuple[str, Entry]]:
        """The id map's PDI events of one Mobilize event: `ts:` keys, then retired `pdi:` ones."""
        return self.idmap.keys_for_mobilize_id(EVENT, event_id)

    @staticmethod
    def _is_gone(exc: Exception) -> bool:
        return isinstance(exc, RecordRejected) and exc.http_status == 404

    # --- entry point ---------------------------------------------------------------------------

    def run(self, batch: Batch) -> None:
        self._failed_events = set()
        self._failed_emails = {}
        self._recovered = {}
        self._batch_events = {
            int(k): v for k, v in latest_by(batch.events, _record_id).items() if k is not None
        }
        for event_id, event in self._batch_events.items():
            listed = _timeslot_ids(event)
            # A dead letter retried is an old read: what it lists may be out of date.
            if listed is not None and not batch.retry:
                self._listed_slots[event_id] = listed
        masked = sum(1 for r in batch.events if _record_id(r) is None)
        if masked:
            self.summary.skip("masked events (null id)", masked)
        deleted = latest_by(batch.deleted_events, _record_id)
        for event_id, record in deleted.items():
            self.idmap.put(
                TOMBSTONE,
                f"event:{event_id}",
                "",
                None,
                mobilize_id=event_id,
                extra={"deleted_date": P.to_epoch(record.get("deleted_date"))},
            )
        if not self._rerouted:
            self._rerouted = True
            self._reroute(exclude=set(self._batch_events))
        self._sync_deleted(deleted)
        self._retry_cancellations(batch.cancellations)
        self._sync_events()
        for person_id, record in latest_by(batch.people, _record_id).items():
            seen = self.people_seen.get(person_id)
            if seen is None or _modified(record) >= _modified(seen):
                self.people_seen[person_id] = record
        planned = self._plan_signups(batch.attendances)
        moved_people = self._sync_people(batch.people, planned, force=batch.retry)
        self._sync_invitations(planned, moved_people)
        self.idmap.flush()

    # --- calendar routes that changed -------------------------------------------------------------

    def _reroute(self, exclude: set[int]) -> None:
        """Move the PDI events whose event type now routes to another calendar (a calendars.yml
        edit), and finish moves a crash interrupted. Events in this batch are left to it."""
        work: list[tuple[str, str]] = []
        for key, entry in self.idmap.items(EVENT):
            if not key.startswith("ts:") or canceled_reason(entry) is not None:
                continue
            if entry.mobilize_id in exclude or self._deleted(entry.mobilize_id):
                continue
            if entry.extra.get("moving_from"):
                work.append((key, str(entry.extra.get("calendar_id"))))
                continue
            event_type = entry.extra.get("event_type")
            if not event_type or not entry.extra.get("payload"):
                continue  # written by an older version: its event type is unknown
            calendar_id = self.router.route(event_type)
            if calendar_id is None:
                self.summary.note("events no longer routed to a calendar (left as they are)")
            elif calendar_id != str(entry.extra.get("calendar_id")):
                work.append((key, calendar_id))

        def do(item: tuple[str, str]) -> None:
            key, calendar_id = item
            entry = self.idmap.get(EVENT, key)
            assert entry is not None
            try:
                if not entry.extra.get("moving_from"):
                    payload = dict(entry.extra["payload"])
                    self._move_event(key, entry, payload, calendar_id, entry.extra["event_type"])
                else:
                    self._finish_move(key)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                LOGGER.warning("Moving PDI event of %s to its new calendar failed: %s", key, exc)

        self._parallel(work, do)

    # --- deleted events ------------------------------------------------------------------------

    def _sync_deleted(self, deleted: Mapping[Any, Mapping[str, Any]]) -> None:
        work: list[tuple[int, str, Mapping[str, Any]]] = []
        unknown: list[tuple[int, Mapping[str, Any]]] = []
        for event_id, record in deleted.items():
            entries = self._event_entries(event_id)
            if not entries:
                unknown.append((event_id, record))
                continue
            work.extend(
                (event_id, key, record)
                for key, entry in entries
                if key.startswith("ts:") and canceled_reason(entry) not in PERMANENT
            )
        if unknown:
            # Deleted before we knew it, or the id map was lost: a DeletedEvent has no dates,
            # so look through every PDI event for ones whose website names it.
            self.pdi_events.everything()
        for event_id, record in unknown:
            rows = self.pdi_events.of_site(f"event:{event_id}")
            if not rows:
                self.summary.skip("deleted events never synced")
                continue
            for row in rows:
                self._retire_row(event_id, row, DELETED, "deleted_events", record)

        def do(item: tuple[int, str, Mapping[str, Any]]) -> None:
            event_id, key, record = item
            try:
                self._cancel_event(key, DELETED)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                self._dead_letter(
                    "deleted_events", event_id, record, f"cancel of {key} failed: {exc}", exc
                )

        self._parallel(work, do)

    def _retry_cancellations(self, records: list[dict[str, Any]]) -> None:
        def do(record: dict[str, Any]) -> None:
            key, reason = str(record.get("key")), str(record.get("reason") or REMOVED)
            try:
                self._cancel_event(key, reason)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                self._dead_letter("cancellations", key, record, f"cancel failed: {exc}", exc)
            else:
                self.deadletters.discard("cancellations", key)

        self._parallel(records, do)

    # --- events --------------------------------------------------------------------------------

    def _sync_events(self) -> None:
        jobs: list[EventJob] = []
        removed: list[tuple[int, str]] = []
        unapproved: list[tuple[int, Mapping[str, Any]]] = []
        for event_id, event in self._batch_events.items():
            if self._deleted(event_id):
                self.summary.skip("events deleted in Mobilize (canceled instead)")
                continue
            if not self._approved(event):
                status = str(event.get("approval_status") or "").upper()
                self.summary.skip(f"events not approved ({status})")
                unapproved.append((event_id, event))
                continue
            current = _timeslot_ids(event)
            if current is not None:
                # A timeslot we synced that the re-fetched event no longer lists was removed.
                for key, entry in self._event_entries(event_id):
                    if not key.startswith("ts:") or canceled_reason(entry) in PERMANENT:
                        continue
                    if P.mobilize_id(key.removeprefix("ts:")) not in current:
                        removed.append((event_id, key))
            calendar_id = self.router.route(event.get("event_type"))
            slots = [s for s in event.get("timeslots") or [] if isinstance(s, Mapping)]
            if calendar_id is None:
                self._unrouted(event.get("event_type"), len(slots))
                continue
            for problem in P.event_problems(event):
                LOGGER.warning("Event %s: %s", event_id, problem)
            for slot in slots:
                if P.mobilize_id(slot.get("id")) is None:
                    self.summary.skip("masked timeslots (null id)")
                    continue
                jobs.append(EventJob("events", str(event_id), event, event, slot, calendar_id))
        self._recover_unknown_events(jobs, unapproved)
        self._write_events(jobs)
        self._parallel(unapproved, self._cancel_unapproved)
        self._parallel(removed, self._cancel_removed)

    def _unrouted(self, event_type: Any, n: int) -> None:
        name = str(event_type or "(none)")
        self.summary.skip_unrouted(name, n)
        with self._lock:
            if name in self._logged_unrouted:
                return
            self._logged_unrouted.add(name)
        LOGGER.warning(
            "Event type %s has no PDI calendar (set event_type_calendars or default_calendar): its "
            "timeslots are skipped",
            name,
        )

    def _recover_unknown_events(
        self, jobs: list[EventJob], unapproved: list[tuple[int, Mapping[str, Any]]]
    ) -> None:
        """For Mobilize events the id map has never seen (new ones, or an id map that was lost):
        claim the PDI events their website and start times name, and cancel the others that
        name them (timeslots removed or moved while the map was gone)."""
        unknown: dict[int, tuple[Mapping[str, Any], list[EventJob]]] = {}
        for job in jobs:
            if job.event_id is not None and not self._event_entries(job.event_id):
                unknown.setdefault(job.event_id, (job.event, []))[1].append(job)
        for event_id, event in unapproved:
            if not self._event_entries(event_id):
                unknown.setdefault(event_id, (event, []))
        if not unknown:
            return
        starts = [
            P.to_epoch(slot.get("start_date"))
            for event, _ in unknown.values()
            for slot in event.get("timeslots") or []
            if isinstance(slot, Mapping)
        ]
        self.pdi_events.around([s for s in starts if s is not None], self.recovery_window_days)
        for event_id, (event, event_jobs) in unknown.items():
            site = P.site_key(P.event_payload_website(event))
            for job in event_jobs:
                assert job.start is not None
                row = self.pdi_events.claim_live(site, job.start)
                if row is not None:
                    self._recovered[job.key] = row
            if _timeslot_ids(event) is None:
                continue
            approved = self._approved(event)
            for row in self.pdi_events.of_site(site):
                if approved:
                    self._retire_row(event_id, row, REMOVED, "events", event)
                else:
                    self._adopt_unapproved(event_id, event, row)

    def _adopt_unapproved(
        self, event_id: int, event: Mapping[str, Any], row: dict[str, Any]
    ) -> None:
        """A PDI event of a Mobilize event that is not approved (now) and unknown to the id map:
        cancel it, remembered under its timeslot so that an approval restores it."""
        start = row_start(row)
        slot = next(
            (
                s
                for s in event.get("timeslots") or []
                if isinstance(s, Mapping)
                and start is not None
                and P.to_epoch(s.get("start_date")) == int(start.timestamp())
            ),
            None,
        )
        if slot is None or not self.pdi_events.claim(row):
            self._retire_row(event_id, row, REMOVED, "events", event)
            return
        key = f"ts:{P.mobilize_id(slot.get('id'))}"
        payload = row_payload(row)
        reason = UNAPPROVED
        if row_is_canceled(row):
            payload["name"] = P.strip_canceled(str(payload.get("name") or ""))
        self.idmap.put(
            EVENT,
            key,
            str(object_id(row)),
            None,
            mobilize_id=event_id,
            extra={
                "payload": payload,
                "calendar_id": str(lower_keys(row).get("calendarid") or ""),
                "event_type": event.get("event_type"),
            },
        )
        if row_is_canceled(row):
            entry = self.idmap.get(EVENT, key)
            assert entry is not None
            canceled = {**payload, "name": P.canceled_name(str(payload["name"]))}
            self.idmap.put(
                EVENT,
                key,
                entry.pdi_id,
                P.content_hash(canceled),
                mobilize_id=event_id,
                extra={**entry.extra, "payload": canceled, "canceled": reason},
            )

    def _retire_row(
        self,
        event_id: int,
        row: dict[str, Any],
        reason: str,
        stream: str,
        record: Mapping[str, Any],
    ) -> None:
        """Cancel a PDI event no timeslot maps to, and keep it in the id map (never claimed)."""
        if not row_is_canceled(row) and not self.pdi_events.claim(row):
            return
        pdi_id = str(object_id(row))
        payload = row_payload(row)
        canceled = {**payload, "name": P.canceled_name(str(payload.get("name") or ""))}
        current = P.content_hash(canceled) if row_is_canceled(row) else None
        try:
            digest = self._cancel_pdi(pdi_id, payload, current)
        except (RecordRejected, ValueError) as exc:
            if self._is_gone(exc):
                return
            self.summary.count("Event", "failed")
            self._dead_letter(stream, event_id, record, f"cancel of PDI event failed: {exc}", exc)
            return
        self.idmap.put(
            EVENT,
            f"pdi:{pdi_id}",
            pdi_id,
            digest,
            mobilize_id=event_id,
            extra={"payload": canceled, "canceled": reason},
        )

    def _write_events(self, jobs: list[EventJob]) -> None:
        """Locations first, then the events that use them (both concurrent)."""
        jobs = [j for j in jobs if not self._done_for_good(j)]
        if not jobs:
            return
        missing = [j for j in jobs if self.idmap.get(EVENT, j.key) is None]
        self.pdi_events.around([j.start for j in missing if j.start is not None], 1)
        for job in missing:
            if job.key not in self._recovered and job.start is not None:
                site = P.site_key(P.event_payload_website(job.event))
                row = self.pdi_events.claim_live(site, job.start)
                if row is not None:
                    self._recovered[job.key] = row
        # One payload per location key; the most recently modified event decides its content.
        wanted: dict[str, tuple[Mapping[str, Any], list[EventJob]]] = {}
        for job in jobs:
            key = P.location_key(job.event)
            best, users = wanted.get(key, (job.event, []))
            if _modified(job.event) > _modified(best):
                best = job.event
            wanted[key] = (best, [*users, job])
        location_ids: dict[str, str] = {}

        def do_location(item: tuple[str, tuple[Mapping[str, Any], list[EventJob]]]) -> None:
            key, (event, users) = item
            try:
                location_ids[key] = self._upsert_location(key, P.location_payload(event))
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Location", "failed")
                for job in users:
                    self._fail_job(job, f"location {key} failed: {exc}", exc)

        self._parallel(list(wanted.items()), do_location)
        ready = [
            (j, location_ids[P.location_key(j.event)])
            for j in jobs
            if P.location_key(j.event) in location_ids
        ]

        def do_event(item: tuple[EventJob, str]) -> None:
            job, location_id = item
            try:
                self._upsert_event(job, location_id)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                self._fail_job(job, f"timeslot {job.timeslot.get('id')} failed: {exc}", exc)

        self._parallel(ready, do_event)

    def _done_for_good(self, job: EventJob) -> bool:
        # Mobilize cannot revive a deleted event or a removed timeslot: such a PDI event stays
        # canceled whatever a record says.
        if canceled_reason(self.idmap.get(EVENT, job.key)) in PERMANENT:
            self.summary.count("Event", "unchanged")
            return True
        return False

    def _fail_job(self, job: EventJob, reason: str, exc: Exception | None) -> None:
        event_id = job.event_id
        if event_id is not None:
            with self._lock:
                self._failed_events.add(event_id)
        self._dead_letter(job.stream, job.record_key, job.record, reason, exc)

    # --- locations -----------------------------------------------------------------------------

    def _locations(self, refresh: bool = False) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._locations_index is not None and not refresh:
                return self._locations_index
        rows = self.client.list_all("/locations")
        index: dict[str, dict[str, Any]] = {}
        for row in rows:
            low = lower_keys(row)
            key = P.name_address_key(
                str(low.get("locationname") or ""), str(low.get("locationaddress") or "")
            )
            index.setdefault(key, row)
        with self._lock:
            self._locations_index = index
        return index

    def _upsert_location(self, key: str, payload: dict[str, str]) -> str:
        digest = P.content_hash(payload)
        entry = self.idmap.get(LOCATION, key)
        if entry is not None:
            if entry.content_hash == digest:
                self.summary.count("Location", "unchanged")
                return entry.pdi_id
            try:
                self.client.put(f"/locations/{entry.pdi_id}", payload)
            except RecordRejected as exc:
                if not self._is_gone(exc):
                    raise
                # Deleted in PDI: forget the stale id, find or create it again.
                self.idmap.drop(LOCATION, key)
                self.summary.note("stale PDI ids replaced (Location)")
                new_id = self._find_or_create_location(key, payload, digest)
                self._repoint_events(entry.pdi_id, new_id)
                return new_id
            self.idmap.put(LOCATION, key, entry.pdi_id, digest)
            self.summary.count("Location", "updated")
            return entry.pdi_id
        return self._find_or_create_location(key, payload, digest)

    def _find_or_create_location(self, key: str, payload: dict[str, str], digest: str) -> str:
        match_key = P.name_address_key(payload["locationName"], payload["locationAddress"])
        found = self._locations().get(match_key)
        if found is not None and object_id(found):
            pdi_id = str(object_id(found))
            self.summary.count("Location", "unchanged")
        else:
            result = self.client.create(
                "/locations", payload, lambda: self._locations(refresh=True).get(match_key)
            )
            created = object_id(result) or object_id(self._locations(refresh=True).get(match_key))
            if not created:
                raise RecordRejected("PDI created a location but returned no id")
            pdi_id = created
            with self._lock:
                if self._locations_index is not None:
                    self._locations_index[match_key] = {**payload, "id": pdi_id}
            self.summary.count("Location", "created")
        self.idmap.put(LOCATION, key, pdi_id, digest)
        return pdi_id

    def _repoint_events(self, old_location: str, new_location: str) -> None:
        """Events the id map knows at a location PDI lost: point them at its replacement."""
        for key, entry in self.idmap.items(EVENT):
            payload = entry.extra.get("payload")
            if not isinstance(payload, Mapping) or payload.get("locationId") != old_location:
                continue
            moved = {**payload, "locationId": new_location}
            try:
                self.client.put(f"/events/{entry.pdi_id}", moved)
            except RecordRejected as exc:
                LOGGER.warning("Re-pointing PDI event %s to a new location failed: %s", key, exc)
                continue
            self.idmap.put(
                EVENT,
                key,
                entry.pdi_id,
                P.content_hash(moved),
                mobilize_id=entry.mobilize_id,
                extra={**entry.extra, "payload": moved},
            )
            self.summary.count("Event", "updated")

    # --- events: upsert, move, revive, cancel ----------------------------------------------------

    def _event_extra(self, job: EventJob, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "payload": dict(payload),
            "calendar_id": job.calendar_id,
            "event_type": job.event.get("event_type"),
        }

    def _upsert_event(self, job: EventJob, location_id: str) -> str:
        payload = P.event_payload(job.event, job.timeslot, location_id)
        digest = P.content_hash(payload)
        entry = self.idmap.get(EVENT, job.key)
        if entry is None:
            row = self._recovered.pop(job.key, None)
            if row is None:
                return self._create_event(job, payload)
            entry = self._adopt(job, row, payload)
        reason = canceled_reason(entry)
        if reason in PERMANENT or job.stream == "attendances":
            # An attendance's embedded event only fills gaps; the events stream owns updates.
            self.summary.count("Event", "unchanged")
            return entry.pdi_id
        if entry.extra.get("moving_from"):
            self._finish_move(job.key)
            entry = self._entry(job.key)
        if reason == UNAPPROVED:
            self._revive(job, entry, payload)
            entry = self._entry(job.key)
        if str(entry.extra.get("calendar_id")) != job.calendar_id:
            self._move_event(job.key, entry, payload, job.calendar_id, job.event.get("event_type"))
            return self._entry(job.key).pdi_id
        if entry.content_hash == digest and entry.extra.get("event_type"):
            self.summary.count("Event", "unchanged")
            return entry.pdi_id
        stored = entry.extra.get("payload")
        if (
            entry.content_hash is None
            and isinstance(stored, Mapping)
            and P.same_content(stored, payload)
        ):
            # Adopted from PDI, which already holds this payload.
            entry = Entry(entry.pdi_id, digest, entry.mobilize_id, entry.extra)
        if entry.content_hash != digest:
            try:
                self.client.put(f"/events/{entry.pdi_id}", payload)
            except RecordRejected as exc:
                if not self._is_gone(exc):
                    raise
                return self._replace_gone_event(job, entry, payload)
            self.summary.count("Event", "updated")
        else:
            self.summary.count("Event", "unchanged")
        self.idmap.put(
            EVENT,
            job.key,
            entry.pdi_id,
            digest,
            mobilize_id=job.event_id,
            extra={**entry.extra, **self._event_extra(job, payload)},
        )
        return entry.pdi_id

    def _entry(self, key: str) -> Entry:
        entry = self.idmap.get(EVENT, key)
        assert entry is not None
        return entry

    def _adopt(self, job: EventJob, row: dict[str, Any], payload: dict[str, Any]) -> Entry:
        """A PDI event recovered for this timeslot: remember it as the id map would have. When
        it differs from this payload, PDI's own content is kept as what PDI holds, so a later
        (fresher) payload equal to it needs no PUT."""
        calendar = lower_keys(row).get("calendarid")
        same = P.same_content(row, payload)
        self.idmap.put(
            EVENT,
            job.key,
            str(object_id(row)),
            P.content_hash(payload) if same else None,
            mobilize_id=job.event_id,
            extra={
                **self._event_extra(job, payload if same else row_payload(row)),
                "calendar_id": str(calendar) if calendar not in (None, "") else job.calendar_id,
            },
        )
        return self._entry(job.key)

    def _create_event(self, job: EventJob, payload: dict[str, Any]) -> str:
        site = P.site_key(payload.get("website"))
        start = job.start
        assert start is not None
        result = self.client.create(
            f"/calendars/{job.calendar_id}/events",
            payload,
            lambda: self.pdi_events.find_created(site, start, job.calendar_id),
        )
        pdi_id = object_id(result) or ""
        if not pdi_id:
            raise RecordRejected("PDI created an event but returned no id")
        self.pdi_events.mark_created(pdi_id)
        with self._lock:
            # A new event has no invitations yet: its signups need no invitation list read.
            self._invitations.setdefault(pdi_id, {})
        self.summary.count("Event", "created")
        self.idmap.put(
            EVENT,
            job.key,
            pdi_id,
            P.content_hash(payload),
            mobilize_id=job.event_id,
            extra=self._event_extra(job, payload),
        )
        return pdi_id

    def _move_event(
        self,
        key: str,
        entry: Entry,
        payload: dict[str, Any],
        calendar_id: str,
        event_type: Any,
    ) -> None:
        """A PDI event cannot change calendar: create it in the new one, bring its invitations,
        cancel the old one. Resumable: the id map points at the new event from its creation."""
        start = P.to_epoch(P.parse_pdi_datetime(payload.get("startDateTimeUtc")))
        site = P.site_key(payload.get("website"))
        assert start is not None
        result = self.client.create(
            f"/calendars/{calendar_id}/events",
            payload,
            lambda: self.pdi_events.find_created(site, start, calendar_id),
        )
        new_id = object_id(result) or ""
        if not new_id:
            raise RecordRejected("PDI created an event but returned no id")
        self.pdi_events.mark_created(new_id)
        self.summary.count("Event", "created")
        old_payload = entry.extra.get("payload") or payload
        self.idmap.put(
            EVENT,
            key,
            new_id,
            P.content_hash(payload),
            mobilize_id=entry.mobilize_id,
            extra={
                "payload": dict(payload),
                "calendar_id": calendar_id,
                "event_type": event_type,
                "moving_from": entry.pdi_id,
                "moving_from_payload": old_payload,
            },
        )
        self._finish_move(key)

    def _finish_move(self, key: str) -> None:
        entry = self._entry(key)
        old_id = str(entry.extra["moving_from"])
        old_payload = dict(entry.extra.get("moving_from_payload") or {})
        try:
            old_rows = self._invitation_rows(old_id)
        except RecordRejected as exc:
            if not self._is_gone(exc):
                raise
            old_rows = {}
        self._copy_invitations(old_id, entry.pdi_id, old_rows)
        if old_rows or old_payload:
            try:
                digest = self._cancel_pdi(old_id, old_payload, None, keep_live=False)
            except RecordRejected as exc:
                if not self._is_gone(exc):
                    raise
                digest = None
            canceled = {**old_payload, "name": P.canceled_name(str(old_payload.get("name") or ""))}
            self.idmap.put(
                EVENT,
                f"pdi:{old_id}",
                old_id,
                digest,
                mobilize_id=entry.mobilize_id,
                extra={"payload": canceled, "canceled": MOVED},
            )
        extra = {
            k: v for k, v in entry.extra.items() if k not in ("moving_from", "moving_from_payload")
        }
        self.idmap.put(
            EVENT, key, entry.pdi_id, entry.content_hash, mobilize_id=entry.mobilize_id, extra=extra
        )
        self.summary.note(CANCEL_NOTES[MOVED])

    def _copy_invitations(
        self, old_id: str, new_id: str, old_rows: Mapping[str, Mapping[str, Any]] | None
    ) -> None:
        """Bring an event's invitations to the event that replaces it: the signup's own
        invitation from the id map where we wrote it, else the row as PDI has it."""
        known = {k.split(":", 1)[1]: e for k, e in self.idmap.keys_in_group(INVITATION, old_id)}
        sources: dict[str, dict[str, Any]] = {}
        for contact_id, entry in known.items():
            live = entry.extra.get("live")
            if isinstance(live, Mapping):
                sources[contact_id] = dict(live)
        for contact_id, row in (old_rows or {}).items():
            if contact_id not in sources:
                low = lower_keys(row)
                sources[contact_id] = {
                    "contactId": contact_id,
                    "rsvpStatus": low.get("rsvpstatus") or "",
                    "isConfirmed": low.get("isconfirmed") in (True, "true", "True"),
                    "attended": low.get("attended") in (True, "true", "True"),
                }
        for contact_id, body in sorted(sources.items()):
            previous = known.get(contact_id)
            extra = dict(previous.extra) if previous else {}
            self._put_invitation(
                new_id,
                contact_id,
                body,
                mobilize_id=previous.mobilize_id if previous else None,
                extra=extra,
            )

    def _replace_gone_event(self, job: EventJob, entry: Entry, payload: dict[str, Any]) -> str:
        """PDI no longer has the event the id map names (deleted in PDI): create it again and
        bring back the invitations the id map knows."""
        old_id = entry.pdi_id
        self.idmap.drop(EVENT, job.key)
        self.summary.note("stale PDI ids replaced (Event)")
        new_id = self._create_event(job, payload)
        self._copy_invitations(old_id, new_id, None)
        for key, _ in self.idmap.keys_in_group(INVITATION, old_id):
            self.idmap.drop(INVITATION, key)
        return new_id

    def _revive(self, job: EventJob, entry: Entry, payload: dict[str, Any]) -> None:
        """An event approved again: its PDI event goes live, its signups' invitations back."""
        try:
            self.client.put(f"/events/{entry.pdi_id}", payload)
        except RecordRejected as exc:
            if not self._is_gone(exc):
                raise
            self._replace_gone_event(job, entry, payload)
            return
        self.summary.count("Event", "updated")
        for key, inv in self.idmap.keys_in_group(INVITATION, entry.pdi_id):
            live = inv.extra.get("live")
            if isinstance(live, Mapping) and inv.content_hash != P.content_hash(live):
                self._put_invitation(
                    entry.pdi_id,
                    key.split(":", 1)[1],
                    dict(live),
                    mobilize_id=inv.mobilize_id,
                    extra=inv.extra,
                )
        extra = {k: v for k, v in entry.extra.items() if k != "canceled"}
        self.idmap.put(
            EVENT,
            job.key,
            entry.pdi_id,
            P.content_hash(payload),
            mobilize_id=job.event_id,
            extra={**extra, **self._event_extra(job, payload), "calendar_id": extra["calendar_id"]},
        )
        self.summary.note("events restored: approved again")

    def _cancel_unapproved(self, item: tuple[int, Mapping[str, Any]]) -> None:
        event_id, event = item
        for key, entry in self._event_entries(event_id):
            if not key.startswith("ts:") or canceled_reason(entry) is not None:
                continue
            try:
                self._cancel_event(key, UNAPPROVED)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                self._dead_letter("events", event_id, event, f"cancel of {key} failed: {exc}", exc)
                return

    def _cancel_removed(self, item: tuple[int, str]) -> None:
        event_id, key = item
        try:
            self._cancel_event(key, REMOVED)
        except (RecordRejected, ValueError) as exc:
            self.summary.count("Event", "failed")
            with self._lock:
                self._failed_events.add(event_id)
            # Kept as what it is, a cancel to retry; never as an events record (without
            # timeslots it would read as "every timeslot removed").
            self._dead_letter(
                "cancellations",
                key,
                {"key": key, "reason": REMOVED, "event_id": event_id},
                f"cancel of removed {key} failed: {exc}",
                exc,
            )

    def _cancel_event(self, key: str, reason: str) -> None:
        """Prefix the name with "[Canceled] " (once) and set every invitation to "Cancelled"."""
        entry = self.idmap.get(EVENT, key)
        if entry is None:
            return
        current = canceled_reason(entry)
        if current in PERMANENT:
            return
        if current is not None:
            # Canceled already (not approved); now for good: no PDI change, a new reason.
            if reason in PERMANENT:
                self.idmap.put(
                    EVENT,
                    key,
                    entry.pdi_id,
                    entry.content_hash,
                    mobilize_id=entry.mobilize_id,
                    extra={**entry.extra, "canceled": reason},
                )
            return
        payload = dict(entry.extra.get("payload") or {})
        if not payload:
            raise ValueError(f"no stored payload for {key}")
        try:
            digest = self._cancel_pdi(entry.pdi_id, payload, entry.content_hash)
        except RecordRejected as exc:
            if not self._is_gone(exc):
                raise
            # Deleted in PDI meanwhile: nothing left to cancel. For good: never recreate it.
            self.idmap.drop(EVENT, key)
            if reason in PERMANENT:
                self.idmap.put(TOMBSTONE, key, "", None, mobilize_id=entry.mobilize_id)
            self.summary.note("stale PDI ids replaced (Event)")
            return
        canceled = {**payload, "name": P.canceled_name(str(payload.get("name") or ""))}
        self.idmap.put(
            EVENT,
            key,
            entry.pdi_id,
            digest,
            mobilize_id=entry.mobilize_id,
            extra={**entry.extra, "payload": canceled, "canceled": reason},
        )
        self.summary.note(CANCEL_NOTES[reason])

    def _cancel_pdi(
        self,
        pdi_id: str,
        payload: Mapping[str, Any],
        current_hash: str | None,
        *,
        keep_live: bool = True,
    ) -> str:
        """Cancel one PDI event: name prefixed, every invitation "Cancelled". Returns the hash
        of what PDI now holds. Raises RecordRejected(404) when PDI no longer has it."""
        canceled = {**payload, "name": P.canceled_name(str(payload.get("name") or ""))}
        digest = P.content_hash(canceled)
        if current_hash != digest:
            self.client.put(f"/events/{pdi_id}", canceled)
            self.summary.count("Event", "updated")
        else:
            self.summary.count("Event", "unchanged")
        for contact_id, row in list(self._invitation_rows(pdi_id).items()):
            low = lower_keys(row)
            body = P.canceled_invitation(contact_id, low.get("attended"))
            prev = self.idmap.get(INVITATION, f"{pdi_id}:{contact_id}")
            extra = dict(prev.extra) if prev else {}
            if not keep_live:
                extra["live"] = None  # the signup lives on elsewhere, never here again
            if str(low.get("rsvpstatus") or "") == "Cancelled" and not prev:
                continue
            self._put_invitation(
                pdi_id,
                contact_id,
                body,
                mobilize_id=prev.mobilize_id if prev else None,
                extra=extra,
                row=row,
            )
        return digest

    # --- signups: the plan ----------------------------------------------------------------------

    @staticmethod
    def _masked(att: Mapping[str, Any]) -> bool:
        timeslot = _as_map(att.get("timeslot"))
        event = _as_map(att.get("event"))
        return (
            P.mobilize_id(att.get("id")) is None
            or P.mobilize_id(att.get("timeslot_id") or timeslot.get("id")) is None
            or P.mobilize_id(att.get("event_id") or event.get("id")) is None
        )

    def _plan_signups(self, attendances: list[dict[str, Any]]) -> list[PlannedSignup]:
        """Which signups become invitations; PDI events for timeslots first seen in a signup
        are written here (before any contact, so contacts are made only for written signups)."""
        masked = [a for a in attendances if self._masked(a)]
        if masked:
            self.summary.skip("masked attendances (null ids)", len(masked))
        atts = latest_by([a for a in attendances if not self._masked(a)], _record_id)
        planned: list[PlannedSignup] = []
        missing: dict[str, EventJob] = {}
        for att_id, att in atts.items():
            timeslot = _as_map(att.get("timeslot"))
            embedded = _as_map(att.get("event"))
            ts_id = P.mobilize_id(att.get("timeslot_id") or timeslot.get("id"))
            event_id = P.mobilize_id(att.get("event_id") or embedded.get("id"))
            assert ts_id is not None
            assert event_id is not None
            person_id, person = self._attendance_person(att)
            if self.idmap.get(EVENT, f"ts:{ts_id}") is None:
                job = self._missing_event(att, att_id, ts_id, event_id)
                if job is None:
                    continue
                missing.setdefault(job.key, job)
            planned.append(PlannedSignup(att, att_id, person_id, person, ts_id, event_id))
        if missing:
            self._write_events(list(missing.values()))
        return planned

    def _missing_event(
        self, att: Mapping[str, Any], att_id: int, ts_id: int, event_id: int
    ) -> EventJob | None:
        """The PDI event to create for a signup's timeslot that has none, or None (skipped)."""
        event = self._batch_events.get(event_id)
        embedded = _as_map(att.get("event"))
        source = event if event is not None else embedded
        listed = _timeslot_ids(event) if event is not None else self._listed_slots.get(event_id)
        reason = None
        if self._deleted(event_id):
            reason = "signups of deleted events"
        elif self.idmap.get(TOMBSTONE, f"ts:{ts_id}") is not None:
            reason = "signups of removed timeslots"
        elif listed is not None and ts_id not in listed:
            # The event as read in this run no longer lists it: removed. Remember that.
            self.idmap.put(TOMBSTONE, f"ts:{ts_id}", "", None, mobilize_id=event_id)
            reason = "signups of removed timeslots"
            # Never synced, so no cancel will say so: this is the one line naming it.
            LOGGER.warning(
                "Timeslot %s is not listed by event %s (signup %s): taken as removed, its "
                "signups are skipped",
                ts_id,
                event_id,
                att_id,
            )
        elif not self._approved(source):
            reason = "signups of events not approved"
        if reason is not None:
            self.summary.skip(reason)
            return None
        calendar_id = self.router.route(source.get("event_type"))
        if calendar_id is None:
            self._unrouted(source.get("event_type"), 1)
            return None
        if event_id in self._failed_events:
            self.summary.count("Invitation", "failed")
            self._dead_letter("attendances", att_id, att, f"event {event_id} was dead-lettered")
            return None
        slot: Mapping[str, Any] = _as_map(att.get("timeslot"))
        if event is not None:
            slot = next(
                (
                    s
                    for s in event.get("timeslots") or []
                    if isinstance(s, Mapping) and P.mobilize_id(s.get("id")) == ts_id
                ),
                slot,
            )
        return EventJob(
            "attendances",
            str(att_id),
            att,
            {**source, "id": event_id},
            {**slot, "id": ts_id},
            calendar_id,
        )

    # --- people -> contacts --------------------------------------------------------------------

    def _attendance_person(
        self, att: Mapping[str, Any]
    ) -> tuple[int | None, Mapping[str, Any] | None]:
        person = att.get("person") if isinstance(att.get("person"), Mapping) else None
        person_id = P.mobilize_id(att.get("person_id"))
        if person_id is None and person is not None:
            person_id = P.mobilize_id(person.get("id"))
        # Prefer the people stream's record (fresher) over the attendance's embedded copy.
        if person_id is not None and person_id in self.people_seen:
            return person_id, self.people_seen[person_id]
        if person is not None:
            # fields.yml's attendances section computed the contact fields on the signup.
            mapped = {k: v for k, v in att.items() if k.startswith("pdi_contact_")}
            if mapped:
                person = {**person, **mapped}
        return person_id, person

    def _sync_people(
        self,
        people: list[dict[str, Any]],
        planned: list[PlannedSignup],
        *,
        force: bool,
    ) -> dict[int, set[str]]:
        """Upsert contacts; returns, for each person whose email changed, the PDI contacts of
        their old emails (their invitations move to the new contact)."""
        chosen: dict[int, tuple[str, Mapping[str, Any], Mapping[str, Any] | None]] = {}
        for record in people:
            person_id = _record_id(record)
            if person_id is None:
                continue
            email = P.person_email(self.people_seen[person_id])
            known = bool(self.idmap.keys_for_mobilize_id(CONTACT, person_id)) or (
                email is not None and self.idmap.get(CONTACT, f"email:{email}") is not None
            )
            if force or self.sync_all_people or known:
                chosen[person_id] = ("people", self.people_seen[person_id], record)
        for signup in planned:
            person_id = signup.person_id
            if person_id is not None and signup.person is not None and person_id not in chosen:
                chosen[person_id] = ("attendances", signup.person, None)
        by_email: dict[str, list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)
        sources: dict[int, str] = {}
        moved: dict[int, set[str]] = {}
        for chosen_id, (source, chosen_person, people_record) in chosen.items():
            sources[chosen_id] = source
            email = P.person_email(chosen_person)
            if email is None:
                self.summary.skip("people without email")
                self._dead_letter(
                    "people",
                    chosen_id,
                    people_record or chosen_person,
                    P.no_email_reason(chosen_person),
                )
                continue
            by_email[email].append((chosen_id, chosen_person))
            old = {
                entry.pdi_id
                for key, entry in self.idmap.keys_for_mobilize_id(CONTACT, chosen_id)
                if key != f"email:{email}"
            }
            if old and source == "people":
                moved[chosen_id] = old

        def do(item: tuple[str, list[tuple[int, Mapping[str, Any]]]]) -> None:
            email, persons = item
            person_id, person = max(persons, key=lambda p: _modified(p[1]))
            self._warn_shared_email(email, {pid for pid, _ in persons}, person_id, person)
            # Only a `people` record may rename a contact found in PDI without an id-map entry:
            # an attendance's embedded copy can be older than what is already there.
            authoritative = sources[person_id] == "people"
            try:
                self._upsert_contact(email, person, person_id, authoritative=authoritative)
                for pid, _ in persons:
                    self.deadletters.discard("people", pid)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Contact", "failed")
                with self._lock:
                    self._failed_emails[email] = str(exc)
                for pid, _ in persons:
                    record = chosen[pid][2] or chosen[pid][1]
                    self._dead_letter("people", pid, record, f"contact upsert failed: {exc}", exc)

        self._parallel(sorted(by_email.items()), do)
        return moved

    def _warn_shared_email(
        self, email: str, people: set[int], person_id: int, person: Mapping[str, Any]
    ) -> None:
        """Contacts are matched by email only: people sharing one get one contact, which can
        bear only one name. Say so, whether they are in this batch or one came earlier."""
        named_after = person_id
        entry = self.idmap.get(CONTACT, f"email:{email}")
        if entry is not None and entry.mobilize_id is not None and entry.mobilize_id != person_id:
            people = {*people, entry.mobilize_id}
            if (P.to_epoch(person.get("modified_date")) or 0) < int(
                entry.extra.get("person_modified") or 0
            ):
                named_after = entry.mobilize_id
        if len(people) > 1:
            LOGGER.warning(
                "People %s and %s share one email address: one PDI contact, named after "
                "person %s (the most recently modified)",
                ", ".join(map(str, sorted(people - {named_after}))),
                named_after,
                named_after,
            )

    def _upsert_contact(
        self, email: str, person: Mapping[str, Any], person_id: int, *, authoritative: bool = True
    ) -> str:
        payload = P.contact_payload(person)
        digest = P.content_hash(payload)
        key = f"email:{email}"
        names = {"firstName": payload["firstName"], "lastName": payload["lastName"]}
        entry = self.idmap.get(CONTACT, key)
        modified = P.to_epoch(person.get("modified_date")) or 0
        extra = {"person_modified": modified}
        if entry is not None:
            if entry.content_hash == digest or modified < int(
                entry.extra.get("person_modified") or 0
            ):
                # Unchanged, or older (e.g. an attendance's embedded copy) than what we wrote.
                self.summary.count("Contact", "unchanged")
                return entry.pdi_id
            if self._update_contact(entry.pdi_id, names):
                self.idmap.put(
                    CONTACT, key, entry.pdi_id, digest, mobilize_id=person_id, extra=extra
                )
                return entry.pdi_id
            # Deleted in PDI: forget the stale id, find or create the contact again.
            self.idmap.drop(CONTACT, key)
            self.summary.note("stale PDI ids replaced (Contact)")
        found = self.contacts.find(email, names["firstName"], names["lastName"])
        if found is not None:
            pdi_id = str(object_id(found))
            if P.same_content(found, names) or not authoritative:
                self.summary.count("Contact", "unchanged")
            else:
                self._update_contact(pdi_id, names)
        else:
            result = self.client.create(
                "/contacts",
                payload,
                lambda: self.contacts.find(email, names["firstName"], names["lastName"]),
            )
            pdi_id = object_id(result) or ""
            if not pdi_id:
                raise RecordRejected("PDI created a contact but returned no id")
            self._add_phone(pdi_id, P.person_phone(person))
            self.summary.count("Contact", "created")
        self.idmap.put(CONTACT, key, pdi_id, digest, mobilize_id=person_id, extra=extra)
        return pdi_id

    def _update_contact(self, pdi_id: str, names: Mapping[str, Any]) -> bool:
        """Read the contact, change only what the sync owns, write it back (a PUT may replace
        the whole contact). False when PDI no longer has it."""
        current = self.contacts.read(pdi_id, fresh=True)
        if current is None:
            return False
        if P.same_content(current, names):
            self.summary.count("Contact", "unchanged")
            return True
        try:
            self.client.put(f"/contacts/{pdi_id}", P.contact_update_body(current, names))
        except RecordRejected as exc:
            if not self._is_gone(exc):
                raise
            return False
        self.contacts.forget(pdi_id)
        self.summary.count("Contact", "updated")
        return True

    def _add_phone(self, contact_id: str, number: str | None) -> None:
        # Phones are only added at creation: PDI has no known phone list/update endpoint, so adding
        # on every change would pile up duplicates.
        if not number:
            return
        try:
            self.client.create(
                f"/contacts/{contact_id}/phones",
                P.phone_payload(number),
                lambda: self._find_phone(contact_id, number),
            )
        except RecordRejected as exc:
            self.summary.skip("phones rejected by PDI")
            LOGGER.warning(
                "PDI rejected the phone of contact %s (HTTP %s); contact kept",
                contact_id,
                exc.http_status,
            )

    def _find_phone(self, contact_id: str, number: str) -> dict[str, Any] | None:
        contact = self.contacts.read(contact_id, fresh=True)
        digits = "".join(ch for ch in number if ch.isdigit())
        phones = lower_keys(contact).get("phones") if contact is not None else None
        for phone in phones if isinstance(phones, list) else []:
            if isinstance(phone, Mapping):
                value = str(lower_keys(phone).get("phonenumber") or "")
                if "".join(ch for ch in value if ch.isdigit()) == digits:
                    return dict(phone)
        return None

    # --- invitations ---------------------------------------------------------------------------

    def _event_canceled(self, entry: Entry, event_id: int | None, ts_key: str) -> bool:
        return (
            canceled_reason(entry) is not None
            or self._deleted(event_id)
            or self.idmap.get(TOMBSTONE, ts_key) is not None
        )

    def _sync_invitations(
        self, planned: list[PlannedSignup], moved_people: Mapping[int, set[str]]
    ) -> None:
        work: dict[str, Signup] = {}
        for signup in planned:
            att = signup.attendance
            person = signup.person
            email = P.person_email(person) if person else None
            if email is None:
                self.summary.skip("attendances of people without email")
                self._dead_letter(
                    "attendances", signup.attendance_id, att, P.no_email_reason(person or {})
                )
                continue
            contact = self.idmap.get(CONTACT, f"email:{email}")
            if contact is None:
                reason = self._failed_emails.get(email, "contact is not in PDI")
                self.summary.count("Invitation", "failed")
                self._dead_letter(
                    "attendances",
                    signup.attendance_id,
                    att,
                    f"contact for person {signup.person_id} failed: {reason}",
                )
                continue
            ts_key = f"ts:{signup.timeslot_id}"
            entry = self.idmap.get(EVENT, ts_key)
            if entry is None:
                if not self.deadletters.has("attendances", signup.attendance_id):
                    self.summary.count("Invitation", "failed")
                    self._dead_letter(
                        "attendances",
                        signup.attendance_id,
                        att,
                        f"event for timeslot {signup.timeslot_id} is not in PDI",
                    )
                continue
            item = Signup(
                event_pdi_id=entry.pdi_id,
                contact_id=contact.pdi_id,
                live=P.invitation_payload(att, contact.pdi_id),
                canceled=self._event_canceled(entry, signup.event_id, ts_key),
                attendance_id=signup.attendance_id,
                person_id=signup.person_id,
                modified=_modified(att)[0],
                stream="attendances",
                record_key=signup.attendance_id,
                record=att,
            )
            # Several attendances of one person on one timeslot: one invitation, latest wins.
            prev = work.get(item.key)
            if prev is None or (item.modified, item.attendance_id or 0) >= (
                prev.modified,
                prev.attendance_id or 0,
            ):
                work[item.key] = item
        for item in self._moved_signups(moved_people):
            work.setdefault(item.key, item)
        groups: dict[str, list[Signup]] = defaultdict(list)
        for item in work.values():
            groups[item.event_pdi_id].append(item)
        self._parallel(sorted(groups.items()), self._write_signups)

    def _moved_signups(self, moved_people: Mapping[int, set[str]]) -> list[Signup]:
        """Invitations of people whose email changed, for their new contact (the old contact's
        invitation is canceled when the new one is written)."""
        if not moved_people:
            return []
        out: list[Signup] = []
        for key, inv in self.idmap.items(INVITATION):
            person_id = P.mobilize_id(inv.extra.get("person"))
            live = inv.extra.get("live")
            if person_id not in moved_people or not isinstance(live, Mapping):
                continue
            assert person_id is not None
            event_pdi_id, contact_id = key.split(":", 1)
            if contact_id not in moved_people[person_id]:
                continue
            person = self.people_seen.get(person_id)
            email = P.person_email(person) if person else None
            contact = self.idmap.get(CONTACT, f"email:{email}") if email else None
            if contact is None or contact.pdi_id == contact_id:
                continue
            event = self._event_by_pdi_id(event_pdi_id)
            if event is None:
                continue
            ts_key, entry = event
            out.append(
                Signup(
                    event_pdi_id=event_pdi_id,
                    contact_id=contact.pdi_id,
                    live={**live, "contactId": contact.pdi_id},
                    canceled=self._event_canceled(entry, entry.mobilize_id, ts_key),
                    attendance_id=inv.mobilize_id,
                    person_id=person_id,
                    modified=int(inv.extra.get("modified") or 0),
                    stream="people",
                    record_key=person_id,
                    record=person or {},
                )
            )
        return out

    def _event_by_pdi_id(self, pdi_id: str) -> tuple[str, Entry] | None:
        for key in self.idmap.keys_for_pdi_id(EVENT, pdi_id):
            if key.startswith("ts:"):
                return key, self._entry(key)
        return None

    def _write_signups(self, item: tuple[str, list[Signup]]) -> None:
        _, signups = item
        for signup in sorted(signups, key=lambda s: s.contact_id):
            try:
                self._write_signup(signup)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Invitation", "failed")
                reason = f"invitation failed: {exc}"
                self._dead_letter(signup.stream, signup.record_key, signup.record, reason, exc)

    def _write_signup(self, signup: Signup) -> None:
        if signup.attendance_id is not None:
            # The same signup invited under another contact of this event (the person's email
            # changed): one signup, one live invitation.
            for key, old in self.idmap.keys_for_mobilize_id(INVITATION, signup.attendance_id):
                if key_group(key) != signup.event_pdi_id or key == signup.key:
                    continue
                if old.extra.get("live") is None:
                    continue
                contact_id = key.split(":", 1)[1]
                attended = (old.extra.get("live") or {}).get("attended")
                self._put_invitation(
                    signup.event_pdi_id,
                    contact_id,
                    P.canceled_invitation(contact_id, attended),
                    mobilize_id=old.mobilize_id,
                    extra={**old.extra, "live": None},
                )
                self.summary.note("invitations moved to a person's new email")
        entry = self.idmap.get(INVITATION, signup.key)
        if (
            entry is not None
            and entry.extra.get("attendance") not in (None, signup.attendance_id)
            and int(entry.extra.get("modified") or 0) > signup.modified
        ):
            # An older signup of the same person on the same timeslot: the newer one decides.
            self.summary.count("Invitation", "unchanged")
            return
        body = (
            P.canceled_invitation(signup.contact_id, signup.live.get("attended"))
            if signup.canceled
            else signup.live
        )
        self._put_invitation(
            signup.event_pdi_id,
            signup.contact_id,
            body,
            mobilize_id=signup.attendance_id,
            extra={
                "attendance": signup.attendance_id,
                "person": signup.person_id,
                "modified": signup.modified,
                "live": signup.live,
            },
        )

    def _invitation_rows(
        self, event_pdi_id: str, *, refresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        """contactId -> invitation row, listed once per event per run."""
        with self._lock:
            cached = self._invitations.get(event_pdi_id)
        if cached is not None and not refresh:
            return cached
        listed = self.client.list_all(f"/events/{event_pdi_id}/invitations", {"expand": "false"})
        rows: dict[str, dict[str, Any]] = {}
        for row in listed:
            contact_id = _row_contact_id(row)
            if contact_id:
                rows.setdefault(contact_id, row)
        with self._lock:
            self._invitations[event_pdi_id] = rows
        return rows

    def _put_invitation(
        self,
        event_pdi_id: str,
        contact_id: str,
        body: dict[str, Any],
        *,
        mobilize_id: int | None,
        extra: Mapping[str, Any],
        row: Mapping[str, Any] | None = None,
    ) -> None:
        """Make PDI's invitation of this contact on this event equal `body` (one upsert).
        `row` is PDI's invitation when the caller just listed it."""
        key = f"{event_pdi_id}:{contact_id}"
        digest = P.content_hash(body)
        entry = self.idmap.get(INVITATION, key)
        found = row
        if found is None and entry is None:
            found = self._invitation_rows(event_pdi_id).get(contact_id)
        inv_id = entry.pdi_id if entry is not None else None
        if inv_id is None and found is not None:
            inv_id = _invitation_id(found)
        same = (entry is not None and entry.content_hash == digest) or (
            found is not None and P.same_content(found, body)
        )
        if same and inv_id:
            self.summary.count("Invitation", "unchanged")
        else:
            if inv_id:
                try:
                    self.client.put(f"/events/{event_pdi_id}/invitations/{inv_id}", body)
                    self.summary.count("Invitation", "updated")
                except RecordRejected as exc:
                    if not self._is_gone(exc):
                        raise
                    # Deleted in PDI: forget the stale id and invite again.
                    self.summary.note("stale PDI ids replaced (Invitation)")
                    inv_id = None
            if not inv_id:
                inv_id = self._create_invitation(event_pdi_id, contact_id, body)
            with self._lock:
                cached = self._invitations.get(event_pdi_id)
                if cached is not None:
                    cached[contact_id] = {**body, "id": inv_id}
        if (
            entry is None
            or entry.pdi_id != inv_id
            or entry.content_hash != digest
            or entry.mobilize_id != mobilize_id
            or entry.extra != extra
        ):
            self.idmap.put(
                INVITATION, key, inv_id, digest, mobilize_id=mobilize_id, extra=dict(extra)
            )

    def _create_invitation(self, event_pdi_id: str, contact_id: str, body: dict[str, Any]) -> str:
        path = f"/events/{event_pdi_id}/invitations"
        result = self.client.create(
            path,
            body,
            lambda: self._invitation_rows(event_pdi_id, refresh=True).get(contact_id),
        )
        inv_id = object_id(result) or _invitation_id(
            self._invitation_rows(event_pdi_id, refresh=True).get(contact_id) or {}
        )
        if not inv_id:
            raise RecordRejected("PDI created an invitation but returned no id")
        with self._lock:
            self._invitations.setdefault(event_pdi_id, {})[contact_id] = {**body, "id": inv_id}
        self.summary.count("Invitation", "created")
        return inv_id


def _row_contact_id(row: Mapping[str, Any]) -> str | None:
    low = lower_keys(row)
    value = low.get("contactid")
    if value in (None, "") and isinstance(low.get("contact"), Mapping):
        value = object_id(low["contact"])
    return None if value in (None, "") else str(value)


def _invitation_id(row: Mapping[str, Any]) -> str:
    return str(object_id(row) or lower_keys(row).get("invitationid") or "")
