"""The ordered, concurrent upsert engine.

`SyncEngine.run(batch)` writes one drained batch in dependency order:

    events          locations (concurrent) -> events per timeslot (concurrent)
                    -> cancel removed timeslots
    deleted_events  "[Canceled] " prefix + invitations "Cancelled"
    people          contacts (concurrent; only people who signed up unless sync_all_people)
    attendances     missing events from the embedded event -> invitations, concurrent per PDI event

so an invitation is never written before its event and contact exist. Every write is an upsert:
id map first (unchanged hash -> no request), else recover from PDI (lookups), else create.
Record-level failures are dead-lettered; FatalError propagates and stops the run (no STATE).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from target_pdi import payloads as P
from target_pdi.client import PDIClient, object_id
from target_pdi.deadletters import DeadLetterStore
from target_pdi.errors import RecordRejected
from target_pdi.idmap import IdMap
from target_pdi.routing import CalendarRouter
from target_pdi.summary import Summary

LOGGER = logging.getLogger("target-pdi")
T = TypeVar("T")
# PDI event rows (keys lower-cased) by their start time.
EventsByStart = dict[datetime | None, list[dict[str, Any]]]

LOCATION, EVENT, CONTACT, INVITATION = "location", "event", "contact", "invitation"


@dataclass
class Batch:
    events: list[dict[str, Any]] = field(default_factory=list)
    deleted_events: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    attendances: list[dict[str, Any]] = field(default_factory=list)
    # Dead-letter retries: people are retried even without a signup in this batch.
    retry: bool = False

    def __len__(self) -> int:
        return (
            len(self.events) + len(self.deleted_events) + len(self.people) + len(self.attendances)
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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _lower_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in row.items()}


class SyncEngine:
    def __init__(
        self,
        client: PDIClient,
        idmap: IdMap,
        router: CalendarRouter,
        deadletters: DeadLetterStore,
        summary: Summary,
        *,
        dry_run: bool = False,
        max_concurrency: int = 8,
        sync_all_people: bool = False,
    ) -> None:
        self.client = client
        self.idmap = idmap
        self.router = router
        self.deadletters = deadletters
        self.summary = summary
        self.dry_run = dry_run
        self.max_concurrency = max(1, max_concurrency)
        self.sync_all_people = sync_all_people
        self._lock = threading.Lock()
        self._fake_ids = itertools.count(1)
        # Caches for one run (PDI reads are done at most once each).
        self._locations_index: dict[str, dict[str, Any]] | None = None
        # PDI events read for recovery: (first day, last day, rows by start time, keys
        # lower-cased), one entry per range read.
        self._events_windows: list[tuple[str, str, EventsByStart]] = []
        self._invitations: dict[str, dict[str, dict[str, Any]]] = {}
        self._claimed_events: set[str] = set()
        # Across drains of one run: the freshest `people` record for a person id.
        self.people_seen: dict[int, Mapping[str, Any]] = {}
        self._logged_unrouted: set[str] = set()
        # Per batch.
        self._failed_events: set[int] = set()
        self._failed_emails: dict[str, str] = {}

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

    def _fake_id(self, kind: str) -> str:
        return f"dry-run-{kind}-{next(self._fake_ids)}"

    def _plan(self, action: str, what: str) -> None:
        LOGGER.info("DRY RUN: would %s %s", action, what)

    def _dead_letter(
        self, stream: str, key: Any, record: Any, reason: str, exc: Exception | None = None
    ) -> None:
        status = exc.http_status if isinstance(exc, RecordRejected) else None
        body = exc.body if isinstance(exc, RecordRejected) else ""
        if not self.deadletters.has(stream, key):
            self.summary.dead_letters += 1
        self.deadletters.add(stream, key, reason, record, http_status=status, body=body)

    # --- entry point ---------------------------------------------------------------------------

    def run(self, batch: Batch) -> None:
        self._failed_events = set()
        self._failed_emails = {}
        deleted_ids = {P.mobilize_id(r.get("id")) for r in batch.deleted_events} - {None}
        self._sync_events(batch.events, deleted_ids)
        self._sync_deleted(batch.deleted_events)
        self._sync_people(batch.people, batch.attendances, force=batch.retry)
        self._sync_attendances(batch.attendances)
        self.idmap.flush()

    # --- phase 1: events -----------------------------------------------------------------------

    def _sync_events(self, records: list[dict[str, Any]], deleted_ids: set[int | None]) -> None:
        events = latest_by(records, lambda r: P.mobilize_id(r.get("id")))
        masked = sum(1 for r in records if P.mobilize_id(r.get("id")) is None)
        if masked:
            self.summary.skip("masked events (null id)", masked)
        jobs: list[EventJob] = []
        removed: list[tuple[int, str]] = []
        for event_id, event in events.items():
            if event_id in deleted_ids:
                self.summary.skip("events deleted in this run (canceled instead)")
                continue
            slots = _as_list(event.get("timeslots"))
            current = {P.mobilize_id(s.get("id")) for s in slots if isinstance(s, Mapping)}
            # A timeslot we synced earlier that the re-fetched event no longer lists was removed.
            for key, entry in self.idmap.keys_for_mobilize_id(EVENT, event_id):
                ts_id = P.mobilize_id(key.removeprefix("ts:"))
                if ts_id not in current and not entry.extra.get("canceled"):
                    removed.append((event_id, key))
            calendar_id = self.router.route(event.get("event_type"))
            if calendar_id is None:
                self._unrouted(event.get("event_type"), len(slots))
                continue
            for slot in slots:
                if not isinstance(slot, Mapping) or P.mobilize_id(slot.get("id")) is None:
                    self.summary.skip("masked timeslots (null id)")
                    continue
                jobs.append(EventJob("events", str(event_id), event, event, slot, calendar_id))
        self._write_events(jobs)
        if removed:
            by_event = {k: (eid, k) for eid, k in removed}
            self._parallel(list(by_event.values()), self._cancel_removed)

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

    def _write_events(self, jobs: list[EventJob]) -> None:
        """Locations first, then the events that use them (both concurrent)."""
        jobs = [j for j in jobs if not self._job_done_canceled(j)]
        if not jobs:
            return
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
        self._prefetch_events([j for j, _ in ready if self.idmap.get(EVENT, j.key) is None])

        def do_event(item: tuple[EventJob, str]) -> None:
            job, location_id = item
            try:
                self._upsert_event(job, location_id)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                self._fail_job(job, f"timeslot {job.timeslot.get('id')} failed: {exc}", exc)

        self._parallel(ready, do_event)

    def _job_done_canceled(self, job: EventJob) -> bool:
        # A canceled PDI event stays canceled: Mobilize cannot revive a deleted event or timeslot.
        entry = self.idmap.get(EVENT, job.key)
        if entry is not None and entry.extra.get("canceled"):
            self.summary.count("Event", "unchanged")
            return True
        return False

    def _fail_job(self, job: EventJob, reason: str, exc: Exception | None) -> None:
        event_id = P.mobilize_id(job.event.get("id"))
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
            low = _lower_keys(row)
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
        what = (
            f"Location {payload['locationName']!r} ({payload['locationAddress'] or 'no address'})"
        )
        if entry is not None:
            if entry.content_hash == digest:
                self.summary.count("Location", "unchanged")
                return entry.pdi_id
            if self.dry_run:
                self._plan("update", what)
            else:
                self.client.put(f"/locations/{entry.pdi_id}", payload)
            self.idmap.put(LOCATION, key, entry.pdi_id, digest)
            self.summary.count("Location", "updated")
            return entry.pdi_id
        match_key = P.name_address_key(payload["locationName"], payload["locationAddress"])
        found = self._locations().get(match_key)
        if found is not None and object_id(found):
            pdi_id = str(object_id(found))
            self.summary.count("Location", "unchanged")
        elif self.dry_run:
            self._plan("create", what)
            pdi_id = self._fake_id("location")
            self.summary.count("Location", "created")
        else:
            result = self.client.create(
                "/locations", payload, lambda: self._locations(refresh=True).get(match_key)
            )
            pdi_id = object_id(result) or ""
            if not pdi_id:
                pdi_id = object_id(self._locations(refresh=True).get(match_key)) or ""
            if not pdi_id:
                raise RecordRejected("PDI created a location but returned no id")
            with self._lock:
                if self._locations_index is not None:
                    self._locations_index[match_key] = {**payload, "id": pdi_id}
            self.summary.count("Location", "created")
        self.idmap.put(LOCATION, key, pdi_id, digest)
        return pdi_id

    # --- events --------------------------------------------------------------------------------

    def _prefetch_events(self, jobs: list[EventJob]) -> None:
        """Read PDI's events once over the date range of the events missing from the id map, so a
        lost id map never leads to duplicates (and one range read beats a read per event)."""
        starts = [P.to_epoch(j.timeslot.get("start_date")) for j in jobs]
        valid = [s for s in starts if s is not None]
        if valid:
            self._events_in_range(min(valid), max(valid))

    def _events_in_range(self, start: int, end: int, *, refresh: bool = False) -> EventsByStart:
        # A day of margin each side: whether PDI filters in UTC or the calendar's zone is unknown.
        first = P.pdi_date(start - 86400)
        last = P.pdi_date(end + 86400)
        with self._lock:
            if not refresh:
                for lo, hi, indexed in self._events_windows:
                    if lo <= first and last <= hi:
                        return indexed
        by_start: EventsByStart = {}
        for row in self.client.list_all("/events", {"startDate": first, "endDate": last}):
            low = _lower_keys(row)
            by_start.setdefault(P.parse_pdi_datetime(low.get("startdatetimeutc")), []).append(low)
        with self._lock:
            self._events_windows.append((first, last, by_start))
        return by_start

    def _find_event(
        self, calendar_id: str, payload: Mapping[str, Any], *, refresh: bool = False
    ) -> dict[str, Any] | None:
        start = P.parse_pdi_datetime(payload["startDateTimeUtc"])
        assert start is not None
        epoch = int(start.timestamp())
        at_start = self._events_in_range(epoch, epoch, refresh=refresh).get(start, [])
        name = P.strip_canceled(str(payload["name"]))
        candidates: list[tuple[int, dict[str, Any]]] = []
        for low in at_start:
            row_id = object_id(low)
            if not row_id or self.idmap.owns(EVENT, str(row_id)):
                continue
            # Same name, or the same Mobilize page (browser_url holds the Mobilize event id, so
            # an event renamed since it was written is still recognised).
            same_name = P.strip_canceled(str(low.get("name") or "")).strip() == name.strip()
            same_site = bool(payload.get("website")) and low.get("website") == payload["website"]
            if not (same_name or same_site):
                continue
            cal = low.get("calendarid")
            if cal not in (None, "") and str(cal) != str(calendar_id):
                continue
            # Same name+start can be two Mobilize events: prefer our website/location.
            score = int(str(low.get("website") or "") == payload.get("website")) * 2 + int(
                str(low.get("locationid") or "") == str(payload.get("locationId"))
            )
            candidates.append((score, low))
        candidates.sort(key=lambda c: -c[0])
        with self._lock:
            for _, row in candidates:
                row_id = str(object_id(row))
                if row_id not in self._claimed_events:
                    self._claimed_events.add(row_id)
                    return row
        return None

    def _upsert_event(self, job: EventJob, location_id: str) -> str:
        payload = P.event_payload(job.event, job.timeslot, location_id)
        digest = P.content_hash(payload)
        entry = self.idmap.get(EVENT, job.key)
        event_id = P.mobilize_id(job.event.get("id"))
        what = (
            f"Event {payload['name']!r} at {payload['startDateTimeUtc']} "
            f"(timeslot {job.timeslot.get('id')})"
        )
        extra = {"payload": payload, "calendar_id": job.calendar_id}
        if entry is not None:
            if entry.content_hash == digest:
                self.summary.count("Event", "unchanged")
                return entry.pdi_id
            if job.stream == "attendances":
                # An attendance's embedded event only fills gaps; the events stream owns updates.
                self.summary.count("Event", "unchanged")
                return entry.pdi_id
            if self.dry_run:
                self._plan("update", what)
            else:
                self.client.put(f"/events/{entry.pdi_id}", payload)
            self.idmap.put(EVENT, job.key, entry.pdi_id, digest, mobilize_id=event_id, extra=extra)
            self.summary.count("Event", "updated")
            return entry.pdi_id
        found = self._find_event(job.calendar_id, payload)
        if found is not None:
            pdi_id = str(object_id(found))
            found_name = str(_lower_keys(found).get("name") or "")
            if found_name.startswith(P.CANCELED_PREFIX):
                # We canceled it in an earlier run whose id map is gone: it stays canceled.
                canceled = {**payload, "name": P.canceled_name(str(payload["name"]))}
                self.idmap.put(
                    EVENT,
                    job.key,
                    pdi_id,
                    P.content_hash(canceled),
                    mobilize_id=event_id,
                    extra={"payload": canceled, "calendar_id": job.calendar_id, "canceled": True},
                )
                self.summary.count("Event", "unchanged")
                return pdi_id
            if P.same_content(found, payload):
                self.summary.count("Event", "unchanged")
            elif self.dry_run:
                self._plan("update", what)
                self.summary.count("Event", "updated")
            else:
                self.client.put(f"/events/{pdi_id}", payload)
                self.summary.count("Event", "updated")
        elif self.dry_run:
            self._plan(
                "create",
                f"{what} in calendar "
                f"{self.router.calendar_names.get(job.calendar_id, job.calendar_id)!r}",
            )
            pdi_id = self._fake_id("event")
            self.summary.count("Event", "created")
        else:
            result = self.client.create(
                f"/calendars/{job.calendar_id}/events",
                payload,
                lambda: self._find_event(job.calendar_id, payload, refresh=True),
            )
            pdi_id = object_id(result) or ""
            if not pdi_id:
                raise RecordRejected("PDI created an event but returned no id")
            with self._lock:
                self._claimed_events.add(pdi_id)
                # No match existed before this create, so the event is new and has no
                # invitations yet: its signups need no invitation list read.
                self._invitations.setdefault(pdi_id, {})
            self.summary.count("Event", "created")
        self.idmap.put(EVENT, job.key, pdi_id, digest, mobilize_id=event_id, extra=extra)
        return pdi_id

    # --- cancellation ---------------------------------------------------------------------------

    def _cancel_removed(self, item: tuple[int, str]) -> None:
        event_id, key = item
        try:
            self._cancel_event(key)
        except (RecordRejected, ValueError) as exc:
            self.summary.count("Event", "failed")
            with self._lock:
                self._failed_events.add(event_id)
            self._dead_letter(
                "events",
                event_id,
                {"id": event_id, "removed_timeslot": key},
                f"cancel of removed {key} failed: {exc}",
                exc,
            )

    def _cancel_event(self, key: str) -> None:
        """Prefix the name with "[Canceled] " (once) and set every invitation to "Cancelled"."""
        entry = self.idmap.get(EVENT, key)
        if entry is None or entry.extra.get("canceled"):
            return
        payload = dict(entry.extra.get("payload") or {})
        if not payload:
            raise ValueError(f"no stored payload for {key}")
        payload["name"] = P.canceled_name(str(payload.get("name") or ""))
        digest = P.content_hash(payload)
        extra = {**entry.extra, "payload": payload}
        if entry.content_hash != digest:
            if self.dry_run:
                self._plan("cancel", f"Event {payload['name']!r} ({key})")
            else:
                self.client.put(f"/events/{entry.pdi_id}", payload)
            self.summary.count("Event", "updated")
            # Record the PUT now: if the invitations fail, the retry must not PUT the name again.
            self.idmap.put(
                EVENT, key, entry.pdi_id, digest, mobilize_id=entry.mobilize_id, extra=extra
            )
        else:
            self.summary.count("Event", "unchanged")
        for contact_id, row in self._invitation_rows(entry.pdi_id).items():
            low = _lower_keys(row)
            body = {
                "contactId": contact_id,
                "rsvpStatus": "Cancelled",
                "isConfirmed": False,
                "attended": low.get("attended") is True
                or str(low.get("attended")).lower() == "true",
            }
            inv_id = _invitation_id(row)
            inv_key = f"{entry.pdi_id}:{contact_id}"
            if str(low.get("rsvpstatus") or "") != "Cancelled":
                if self.dry_run:
                    self._plan("cancel", f"Invitation {inv_id} of event {entry.pdi_id}")
                else:
                    self.client.put(f"/events/{entry.pdi_id}/invitations/{inv_id}", body)
                row.update({"rsvpStatus": "Cancelled", "isConfirmed": False})
                self.summary.count("Invitation", "updated")
            prev = self.idmap.get(INVITATION, inv_key)
            self.idmap.put(
                INVITATION,
                inv_key,
                inv_id,
                P.content_hash(body),
                mobilize_id=prev.mobilize_id if prev else None,
            )
        self.idmap.put(
            EVENT,
            key,
            entry.pdi_id,
            digest,
            mobilize_id=entry.mobilize_id,
            extra={**extra, "canceled": True},
        )

    # --- phase 2: deleted events ---------------------------------------------------------------

    def _sync_deleted(self, records: list[dict[str, Any]]) -> None:
        work: list[tuple[int, str, Mapping[str, Any]]] = []
        for event_id, record in latest_by(records, lambda r: P.mobilize_id(r.get("id"))).items():
            entries = self.idmap.keys_for_mobilize_id(EVENT, event_id)
            if not entries:
                self.summary.skip("deleted events never synced")
                continue
            work.extend(
                (event_id, key, record) for key, entry in entries if not entry.extra.get("canceled")
            )

        def do(item: tuple[int, str, Mapping[str, Any]]) -> None:
            event_id, key, record = item
            try:
                self._cancel_event(key)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Event", "failed")
                self._dead_letter(
                    "deleted_events", event_id, record, f"cancel of {key} failed: {exc}", exc
                )

        self._parallel(work, do)

    # --- phase 3: people -> contacts ------------------------------------------------------------

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
        self, people: list[dict[str, Any]], attendances: list[dict[str, Any]], *, force: bool
    ) -> None:
        for person_id, record in latest_by(people, lambda r: P.mobilize_id(r.get("id"))).items():
            seen = self.people_seen.get(person_id)
            if seen is None or _modified(record) >= _modified(seen):
                self.people_seen[person_id] = record
        chosen: dict[int, tuple[str, Mapping[str, Any], Mapping[str, Any] | None]] = {}
        for record in people:
            person_id = P.mobilize_id(record.get("id"))
            if person_id is None:
                continue
            email = P.person_email(self.people_seen[person_id])
            known = email is not None and self.idmap.get(CONTACT, f"email:{email}") is not None
            if force or self.sync_all_people or known:
                chosen[person_id] = ("people", self.people_seen[person_id], record)
        for att in attendances:
            if self._masked(att):
                continue
            att_person_id, att_person = self._attendance_person(att)
            if att_person_id is not None and att_person is not None and att_person_id not in chosen:
                chosen[att_person_id] = ("attendances", att_person, None)
        by_email: dict[str, list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)
        sources: dict[int, str] = {}
        for chosen_id, (source, chosen_person, people_record) in chosen.items():
            sources[chosen_id] = source
            email = P.person_email(chosen_person)
            if email is None:
                self.summary.skip("people without email")
                self._dead_letter(
                    "people",
                    chosen_id,
                    people_record or chosen_person,
                    "person has no email address",
                )
                continue
            by_email[email].append((chosen_id, chosen_person))

        def do(item: tuple[str, list[tuple[int, Mapping[str, Any]]]]) -> None:
            email, persons = item
            person_id, person = max(persons, key=lambda p: _modified(p[1]))
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

    def _search_contact(self, email: str) -> dict[str, Any] | None:
        rows = self.client.list_all(
            "/contacts", {"email": email, "searchByEmail": "true"}, limit=50
        )
        fallback: dict[str, Any] | None = None
        for row in rows:
            if not object_id(row):
                continue
            emails = _row_emails(row)
            if email in emails:
                return row
            if not emails and fallback is None:
                fallback = row  # PDI matched by email but does not echo it: trust the search
        return fallback

    def _upsert_contact(
        self, email: str, person: Mapping[str, Any], person_id: int, *, authoritative: bool = True
    ) -> str:
        payload = P.contact_payload(person)
        digest = P.content_hash(payload)
        key = f"email:{email}"
        names = {"firstName": payload["firstName"], "lastName": payload["lastName"]}
        what = f"Contact person {person_id}"  # no names/emails in logs: they are personal data
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
            if self.dry_run:
                self._plan("update", what)
            else:
                self.client.put(f"/contacts/{entry.pdi_id}", names)
            self.idmap.put(CONTACT, key, entry.pdi_id, digest, mobilize_id=person_id, extra=extra)
            self.summary.count("Contact", "updated")
            return entry.pdi_id
        found = self._search_contact(email)
        if found is not None:
            pdi_id = str(object_id(found))
            if P.same_content(found, names) or not authoritative:
                self.summary.count("Contact", "unchanged")
            else:
                if self.dry_run:
                    self._plan("update", what)
                else:
                    self.client.put(f"/contacts/{pdi_id}", names)
                self.summary.count("Contact", "updated")
        elif self.dry_run:
            self._plan("create", what)
            pdi_id = self._fake_id("contact")
            self.summary.count("Contact", "created")
        else:
            result = self.client.create("/contacts", payload, lambda: self._search_contact(email))
            pdi_id = object_id(result) or object_id(self._search_contact(email)) or ""
            if not pdi_id:
                raise RecordRejected("PDI created a contact but returned no id")
            self._add_phone(pdi_id, P.person_phone(person))
            self.summary.count("Contact", "created")
        self.idmap.put(CONTACT, key, pdi_id, digest, mobilize_id=person_id, extra=extra)
        return pdi_id

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
        try:
            contact = self.client.get(f"/contacts/{contact_id}")
        except RecordRejected:
            return None
        digits = "".join(ch for ch in number if ch.isdigit())
        phones = _lower_keys(contact).get("phones") if isinstance(contact, Mapping) else None
        for phone in phones if isinstance(phones, list) else []:
            if isinstance(phone, Mapping):
                value = str(_lower_keys(phone).get("phonenumber") or "")
                if "".join(ch for ch in value if ch.isdigit()) == digits:
                    return dict(phone)
        return None

    # --- phase 4: attendances -> invitations ----------------------------------------------------

    @staticmethod
    def _masked(att: Mapping[str, Any]) -> bool:
        timeslot = _as_map(att.get("timeslot"))
        event = _as_map(att.get("event"))
        return (
            P.mobilize_id(att.get("id")) is None
            or P.mobilize_id(att.get("timeslot_id") or timeslot.get("id")) is None
            or P.mobilize_id(att.get("event_id") or event.get("id")) is None
        )

    def _sync_attendances(self, attendances: list[dict[str, Any]]) -> None:
        masked = [a for a in attendances if self._masked(a)]
        if masked:
            self.summary.skip("masked attendances (null ids)", len(masked))
        atts = latest_by(
            [a for a in attendances if not self._masked(a)], lambda r: P.mobilize_id(r.get("id"))
        )
        resolved: list[
            tuple[Mapping[str, Any], str, int, str]
        ] = []  # (att, contact_id, ts_id, email)
        missing: dict[int, EventJob] = {}
        for att_id, att in atts.items():
            person_id, person = self._attendance_person(att)
            email = P.person_email(person) if person else None
            if email is None:
                self.summary.skip("attendances of people without email")
                self._dead_letter("attendances", att_id, att, "person has no email address")
                continue
            contact = self.idmap.get(CONTACT, f"email:{email}")
            if contact is None:
                reason = self._failed_emails.get(email, "contact is not in PDI")
                self.summary.count("Invitation", "failed")
                self._dead_letter(
                    "attendances", att_id, att, f"contact for person {person_id} failed: {reason}"
                )
                continue
            timeslot = _as_map(att.get("timeslot"))
            event = _as_map(att.get("event"))
            ts_id = P.mobilize_id(att.get("timeslot_id") or timeslot.get("id"))
            event_id = P.mobilize_id(att.get("event_id") or event.get("id"))
            assert ts_id is not None
            assert event_id is not None
            if self.idmap.get(EVENT, f"ts:{ts_id}") is None:
                if event_id in self._failed_events:
                    self.summary.count("Invitation", "failed")
                    self._dead_letter(
                        "attendances", att_id, att, f"event {event_id} was dead-lettered"
                    )
                    continue
                calendar_id = self.router.route(event.get("event_type"))
                if calendar_id is None:
                    self._unrouted(event.get("event_type"), 1)
                    continue
                if ts_id not in missing:
                    full_event = {**event, "id": event_id}
                    full_slot = {**timeslot, "id": ts_id}
                    missing[ts_id] = EventJob(
                        "attendances", str(att_id), att, full_event, full_slot, calendar_id
                    )
            resolved.append((att, contact.pdi_id, ts_id, email))
        if missing:
            # Events outside this run: build/find them from the attendance's embedded copy.
            self._write_events(list(missing.values()))
        groups: dict[str, dict[str, tuple[Mapping[str, Any], dict[str, Any]]]] = defaultdict(dict)
        for att, contact_id, ts_id, _ in resolved:
            entry = self.idmap.get(EVENT, f"ts:{ts_id}")
            att_id = P.mobilize_id(att.get("id"))
            if entry is None:
                if not self.deadletters.has("attendances", att_id):
                    self.summary.count("Invitation", "failed")
                    self._dead_letter(
                        "attendances", att_id, att, f"event for timeslot {ts_id} is not in PDI"
                    )
                continue
            payload = P.invitation_payload(
                att, contact_id, canceled=bool(entry.extra.get("canceled"))
            )
            # Several attendances of one person on one timeslot: one invitation, latest wins.
            prev = groups[entry.pdi_id].get(contact_id)
            if prev is None or _modified(att) >= _modified(prev[0]):
                groups[entry.pdi_id][contact_id] = (att, payload)
        self._parallel(sorted(groups.items()), self._write_invitations)

    def _invitation_rows(
        self, event_pdi_id: str, *, refresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        """contactId -> invitation row, listed once per event per run."""
        with self._lock:
            cached = self._invitations.get(event_pdi_id)
        if cached is not None and not refresh:
            return cached
        if event_pdi_id.startswith("dry-run-"):
            rows: dict[str, dict[str, Any]] = {}
        else:
            listed = self.client.list_all(
                f"/events/{event_pdi_id}/invitations", {"expand": "false"}
            )
            rows = {}
            for row in listed:
                contact_id = _row_contact_id(row)
                if contact_id:
                    rows.setdefault(contact_id, row)
        with self._lock:
            self._invitations[event_pdi_id] = rows
        return rows

    def _write_invitations(
        self, item: tuple[str, dict[str, tuple[Mapping[str, Any], dict[str, Any]]]]
    ) -> None:
        event_pdi_id, by_contact = item
        for contact_id, (att, payload) in sorted(by_contact.items()):
            att_id = P.mobilize_id(att.get("id"))
            try:
                self._upsert_invitation(event_pdi_id, contact_id, payload, att_id)
            except (RecordRejected, ValueError) as exc:
                self.summary.count("Invitation", "failed")
                self._dead_letter("attendances", att_id, att, f"invitation failed: {exc}", exc)

    def _upsert_invitation(
        self, event_pdi_id: str, contact_id: str, payload: dict[str, Any], att_id: int | None
    ) -> None:
        key = f"{event_pdi_id}:{contact_id}"
        digest = P.content_hash(payload)
        entry = self.idmap.get(INVITATION, key)
        what = f"Invitation contact {contact_id} on event {event_pdi_id} ({payload['rsvpStatus']})"
        if entry is not None and entry.content_hash == digest:
            self.summary.count("Invitation", "unchanged")
            return
        if entry is not None and entry.pdi_id:
            inv_id = entry.pdi_id
            if self.dry_run:
                self._plan("update", what)
            else:
                self.client.put(f"/events/{event_pdi_id}/invitations/{inv_id}", payload)
            self.summary.count("Invitation", "updated")
        else:
            row = self._invitation_rows(event_pdi_id).get(contact_id)
            if row is not None:
                inv_id = _invitation_id(row)
                if P.same_content(row, payload):
                    self.summary.count("Invitation", "unchanged")
                else:
                    if self.dry_run:
                        self._plan("update", what)
                    else:
                        self.client.put(f"/events/{event_pdi_id}/invitations/{inv_id}", payload)
                    self.summary.count("Invitation", "updated")
            elif self.dry_run:
                self._plan("create", what)
                inv_id = self._fake_id("invitation")
                self.summary.count("Invitation", "created")
            else:
                path = f"/events/{event_pdi_id}/invitations"
                result = self.client.create(
                    path,
                    payload,
                    lambda: self._invitation_rows(event_pdi_id, refresh=True).get(contact_id),
                )
                inv_id = object_id(result) or _invitation_id(
                    self._invitation_rows(event_pdi_id, refresh=True).get(contact_id) or {}
                )
                if not inv_id:
                    raise RecordRejected("PDI created an invitation but returned no id")
                with self._lock:
                    self._invitations.setdefault(event_pdi_id, {})[contact_id] = {
                        **payload,
                        "id": inv_id,
                    }
                self.summary.count("Invitation", "created")
        self.idmap.put(INVITATION, key, inv_id, digest, mobilize_id=att_id)


def _row_contact_id(row: Mapping[str, Any]) -> str | None:
    low = _lower_keys(row)
    value = low.get("contactid")
    if value in (None, "") and isinstance(low.get("contact"), Mapping):
        value = object_id(low["contact"])
    return None if value in (None, "") else str(value)


def _invitation_id(row: Mapping[str, Any]) -> str:
    return str(object_id(row) or _lower_keys(row).get("invitationid") or "")


def _row_emails(row: Mapping[str, Any]) -> set[str]:
    """Every email a PDI contact row shows, whatever the shape (flat field or a list)."""
    out: set[str] = set()
    for key, value in _lower_keys(row).items():
        if "email" not in key:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, Mapping):
                item = _lower_keys(item).get("emailaddress") or _lower_keys(item).get("email")
            email = P.normalize_email(item)
            if email:
                out.add(email)
    return out
