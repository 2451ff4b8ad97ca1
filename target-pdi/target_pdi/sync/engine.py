"""The engine: one drained batch planned once (`planning/batch.py`, before the first write and
without a request), then its plan applied in dependency order, each step concurrent:

    tombstones      every deleted Mobilize event is remembered first, for good
    (once a run)    events whose calendar route changed move to their new calendar
    deleted_events  their PDI events "[Canceled] ", invitations "Cancelled"
    events          locations, then one PDI event per timeslot of an approved, routed event;
                    timeslots Mobilize no longer lists and events no longer approved canceled
    signups settled the signups whose event was to come from this batch's writes and is not
                    in the id map (its write failed): decided as the plan decides a missing
                    event; the events of timeslots first seen in a signup created
    people          contacts (only people whose signups are written, unless sync_all_people)
    invitations     one per contact and event, concurrent per PDI event

so an invitation is never written before its event and contact exist, and the PDI ids a step
needs from an earlier one are read from the id map as the answers came. Each PDI object is
written by its writer (`writers/`), which upserts: id map first (unchanged hash: no request),
else recover from PDI, else create. Record-level failures are dead-lettered; a FatalError
propagates and stops the run (no STATE).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from target_pdi.pdi.client import PDIClient
from target_pdi.rules import values as V
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import (
    DEFAULT_APPROVAL_STATUSES,
    Outcome,
    PdiObject,
    mobilize_event_key,
    timeslot_key,
)
from target_pdi.stores.deadletters import DeadLetterStore
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.event_phase import EventPhase
from target_pdi.sync.people_phase import PeoplePhase
from target_pdi.sync.people_seen import PeopleSeen
from target_pdi.sync.planning import events as plans
from target_pdi.sync.planning import poison
from target_pdi.sync.planning.batch import (
    BatchPlan,
    Knowledge,
    latest_events,
    plan_batch,
    plan_line,
)
from target_pdi.sync.planning.events import Batch, Skips
from target_pdi.sync.planning.signups import SignupContext, SignupsPlan, settle_signups
from target_pdi.sync.reclaim import EventReclaim
from target_pdi.sync.recovery import PdiEvents
from target_pdi.sync.summary import Summary
from target_pdi.sync.work import Shared
from target_pdi.sync.writers.cancels import EventCanceller
from target_pdi.sync.writers.contacts import ContactWriter
from target_pdi.sync.writers.events import EventWriter
from target_pdi.sync.writers.invitations import InvitationWriter
from target_pdi.sync.writers.locations import LocationWriter
from target_pdi.sync.writers.moves import EventMover
from target_pdi.sync.writers.signups import SignupWriter

LOGGER = logging.getLogger("target-pdi")
Record = Mapping[str, Any]


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
        show_plan: bool = False,
    ) -> None:
        self.shared = shared = Shared(client, idmap, summary, deadletters, max(1, max_concurrency))
        self.idmap, self.summary, self.router = idmap, summary, router
        self.sync_all_people = sync_all_people
        self.show_plan = show_plan  # a dry run: each batch's plan on a line of its own
        self.approval_statuses = {str(s).strip().upper() for s in approval_statuses}
        self.pdi_events = PdiEvents(client, idmap)
        invitations = InvitationWriter(shared)
        canceller = EventCanceller(shared, invitations, self.pdi_events)
        mover = EventMover(shared, self.pdi_events, invitations, canceller)
        self.events = EventWriter(shared, self.pdi_events, invitations, mover)
        locations = LocationWriter(shared, self.events.repoint_location)
        self.event_phase = EventPhase(shared, locations, self.events, canceller, mover)
        self.reclaim = EventReclaim(self.pdi_events, self.events, canceller, recovery_window_days)
        self.people = PeoplePhase(shared, ContactWriter(shared), SignupWriter(shared, invitations))
        self.canceller = canceller
        # Across drains of one run: the freshest `people` record of a person (on disk), and
        # the timeslots each event read lists (its signups may come in a later batch).
        self.people_seen = PeopleSeen()
        self.listed_slots: dict[int, set[int | None]] = {}
        self._logged_unrouted: set[str] = set()
        self._rerouted = False

    def _approved(self, event: Record) -> bool:
        return plans.is_approved(event, self.approval_statuses)

    def run(self, batch: Batch) -> None:
        refused = self._refuse_poison(batch)
        self._remember_reads(batch)
        plan = plan_batch(batch, self._knowledge(batch, refused))
        self._rerouted = True
        if self.show_plan:
            LOGGER.info("%s", plan_line(plan, self.idmap))
        self.apply(plan, refused)

    def _remember_reads(self, batch: Batch) -> None:
        """What this run has read so far, for the batches after this one too: the timeslots
        each event lists, and the freshest record of each person."""
        for event_id, event in latest_events(batch).items():
            listed = plans.timeslot_ids(event)
            # A dead letter retried is an old read: what it lists may be out of date.
            if listed is not None and not batch.retry:
                self.listed_slots[event_id] = listed
        for person_id, record in plans.latest_by(batch.people, plans.record_id).items():
            seen = self.people_seen.get(person_id)
            if seen is None or plans.modified(record) >= plans.modified(seen):
                self.people_seen[person_id] = record

    def _knowledge(self, batch: Batch, refused: set[int]) -> Knowledge:
        return Knowledge(
            self.idmap,
            self.router,
            self.approval_statuses,
            self.listed_slots,
            self.people_seen,
            refused_events=refused,
            everyone=batch.retry or self.sync_all_people,
            waiting=lambda person_id: self.shared.deadletters.holds("people", person_id),
            reroute=not self._rerouted,
        )

    def apply(self, plan: BatchPlan, refused: set[int]) -> None:
        """Write a batch's plan in dependency order: cancels and moves, locations and events,
        contacts, then invitations (each step concurrent)."""
        self.event_phase.failed_events = set(refused)
        self.events.recovered = {}
        if plan.masked_events:
            self.summary.skip("masked events (null id)", plan.masked_events)
        self._remember_deleted(plan.deleted)
        if plan.reroutes is not None:
            if plan.reroutes.unrouted:
                self.summary.note(
                    "events no longer routed to a calendar (left as they are)",
                    plan.reroutes.unrouted,
                )
            self.event_phase.reroute(plan.reroutes.moves)
        self._cancel_deleted(plan)
        self.event_phase.retry_cancellations(plan.cancellations)
        self._write_events(plan.events)
        signups = self._settle_signups(plan)
        kept = {s.attendance_id for s in signups.signups}
        dropped = {s.attendance_id for s in plan.signups.signups} - kept
        people = plan.people.without_signups(dropped)
        self.people.write_contacts(people)
        self.people.write_invitations(signups.signups, people.moved, self.people_seen)
        self.idmap.flush()

    def _refuse_poison(self, batch: Batch) -> set[int]:
        """Dead-letter the records the sync cannot turn into requests (planning/poison.py);
        the events among them, whose signups wait for them."""
        refused = poison.screen(batch)
        for stream, key, record, reason in refused.records:
            self.summary.count(poison.WRITTEN_AS[stream], Outcome.FAILED)
            self.shared.dead_letter(stream, key, record, reason)
        for stream in refused.masked:
            self.summary.skip(f"masked {stream} (null id)")
        return refused.event_ids

    def close(self) -> None:
        self.shared.close()
        self.people_seen.close()

    def _remember_deleted(self, deleted: Mapping[Any, Record]) -> None:
        for event_id, record in deleted.items():
            extra = {"deleted_date": V.to_epoch(record.get("deleted_date"))}
            key = mobilize_event_key(event_id)
            self.idmap.put(PdiObject.TOMBSTONE, key, "", None, mobilize_id=event_id, extra=extra)

    def _cancel_deleted(self, plan: BatchPlan) -> None:
        if plan.deleted_unknown:
            # A DeletedEvent has no dates: look through every PDI event for ones naming it.
            self.pdi_events.everything()
        for event_id, record in plan.deleted_unknown:
            rows = self.pdi_events.of_site(mobilize_event_key(event_id))
            if not rows:
                self.summary.skip("deleted events never synced")
            for row in rows:
                failed = ("deleted_events", record)
                self.canceller.retire_row(event_id, row, plans.DELETED, failed)
        self.event_phase.cancel_deleted(plan.deleted_cancels)

    def _write_events(self, plan: plans.EventsPlan) -> None:
        self._count_skips(plan.skips)
        for event_id, problem in plan.problems:
            LOGGER.warning("Event %s: %s", event_id, problem)
        self.reclaim.unknown_events(plan.jobs, plan.unapproved, self._approved)
        self._write_event_jobs(plan.jobs)
        self.event_phase.cancel_unapproved(plan.unapproved)
        self.event_phase.cancel_removed(plan.removed)

    def _write_event_jobs(self, jobs: list[plans.EventJob]) -> None:
        if jobs:
            self.reclaim.missing(jobs)
            self.event_phase.write(jobs)

    def _settle_signups(self, batch_plan: BatchPlan) -> SignupsPlan:
        """The signups once the events are written (`settle_signups`): their skips and dead
        letters counted, and the PDI events first seen in a signup written."""
        context = SignupContext(
            self.idmap,
            self.router,
            self.approval_statuses,
            batch_plan.events_read,
            self.listed_slots,
            self.people_seen,
            self.event_phase.failed_events,
            deleted_events=set(batch_plan.deleted),
        )
        plan = settle_signups(batch_plan.signups, context)
        for ts_id, event_id, att_id in plan.removed:
            # Never synced, so no cancel will say so: this is the one line naming it.
            key = timeslot_key(ts_id)
            self.idmap.put(PdiObject.TOMBSTONE, key, "", None, mobilize_id=event_id)
            LOGGER.warning(
                "Timeslot %s is not listed by event %s (signup %s): taken as removed, its "
                "signups are skipped",
                ts_id,
                event_id,
                att_id,
            )
        self._count_skips(plan.skips)
        for att_id, att, event_id in plan.failed:
            self.summary.count(PdiObject.INVITATION, Outcome.FAILED)
            self.shared.dead_letter(
                "attendances", att_id, att, f"event {event_id} was dead-lettered"
            )
        self._write_event_jobs(list(plan.missing.values()))
        return plan

    def _count_skips(self, skips: Skips) -> None:
        for reason, n in skips.reasons.items():
            self.summary.skip(reason, n)
        for event_type, n in skips.unrouted.items():
            self.summary.skip_unrouted(event_type, n)
            if event_type not in self._logged_unrouted:
                self._logged_unrouted.add(event_type)
                LOGGER.warning(
                    "Event type %s has no PDI calendar (set event_type_calendars or "
                    "default_calendar): its timeslots are skipped",
                    event_type,
                )
