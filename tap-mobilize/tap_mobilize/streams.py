"""Mobilize streams, in sync order."""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone

from tap_mobilize import schemas
from tap_mobilize.client import MobilizeStream
from tap_mobilize.errors import MobilizeNotFoundError

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

VISIBILITIES = ["PUBLIC", "PRIVATE"]
APPROVAL_STATUSES = ["APPROVED", "NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION"]
DAY_SECONDS = 86_400
EVENTS_PATH = "/organizations/{organization_id}/events"
EVENT_ATTENDANCES_PATH = "/organizations/{organization_id}/events/{event_id}/attendances"


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_list_params(api_key: str | None) -> dict[str, t.Any]:
    """Visibility and approval filters for an organization's events list."""
    if not api_key:
        # PRIVATE or non-APPROVED without a key is a 403; the defaults are public only.
        return {}
    # Both are opt-in even with a key: Mobilize defaults to PUBLIC + APPROVED.
    return {"visibility": VISIBILITIES, "approval_status": APPROVAL_STATUSES}


class OrganizationStream(MobilizeStream):
    """The configured organization's own record.

    Mobilize has no single-organization endpoint, so this pages the public
    ``/organizations`` list (thousands of rows on a first run, only the recently
    changed ones afterwards thanks to ``updated_since``) and stops at the first match.
    """

    name = "organization"
    path = "/organizations"
    schema = schemas.ORGANIZATION_SCHEMA

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        read_started = self.now()
        wanted = self.organization_id
        for record in self.request_records(context):
            if self.dry_run_limit_reached(0):  # a zero-record dry run asks for nothing
                return
            if record.get("id") == wanted:
                yield record
                self._settle_bookmark(context, read_started)
                # Ids are unique in the list, so later pages cannot add anything.
                return
        if self.get_context_state(context).get("replication_key_value") is None:
            self.logger.warning(
                "organization_id %s is not in Mobilize's list of active organizations"
                "%s: check the organization_id setting",
                wanted,
                " changed since start_date" if self.config.get("start_date") else "",
            )


class EventsStream(MobilizeStream):
    """Events owned, co-owned or promoted by the organization, nested timeslots kept."""

    name = "events"
    path = EVENTS_PATH
    schema = schemas.EVENTS_SCHEMA

    def extra_params(self) -> dict[str, t.Any]:
        return event_list_params(self.api_key)

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not self.api_key:
            self.logger.warning(
                "Stream 'events': no api_key setting, so only public, approved events are "
                "read; private and unapproved events of organization %s are not.",
                self.organization_id,
            )
        yield from super().get_records(context)
        # Children ran after each event, so their masked counts are final only now.
        for child in self.child_streams:
            if isinstance(child, MobilizeStream):
                child.report_end_of_stream()

    def get_child_context(
        self, record: dict[str, t.Any], context: Context | None
    ) -> dict[str, t.Any]:
        # Hand the timeslots over in the context: Mobilize has no timeslot endpoint,
        # and a request per event would be wasted when the parent already holds them.
        return {"event_id": record["id"], "timeslots": record.get("timeslots") or []}


class TimeslotsStream(MobilizeStream):
    """Every timeslot of every synced event, with ``event_id``; no HTTP request."""

    name = "timeslots"
    parent_stream_type = EventsStream
    schema = schemas.TIMESLOTS_SCHEMA
    replication_key = None
    # Without this the SDK keeps one state partition per event (state grows forever).
    state_partitioning_keys: t.ClassVar[list[str]] = []
    # Timeslots live inside the event, so the event's modified_date bookmark covers
    # them (setting ignore_parent_replication_key would force events to full table).
    # Emitted whenever the parent event is; nothing to bookmark on their own.

    @property
    def emit_activate_version_messages(self) -> bool:
        # Each event's child sync is partial; an ACTIVATE_VERSION would let a target
        # delete every other event's timeslots.
        return False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # The SDK logs "Beginning sync" once per child context, i.e. once per event:
        # thousands of INFO lines a run. Quiet that unless logging was configured.
        if self.logger.level == logging.NOTSET:
            self.logger.setLevel(logging.WARNING)

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not context:
            return
        event_id = context["event_id"]
        emitted = 0
        for timeslot in context.get("timeslots") or []:
            if self.dry_run_limit_reached(emitted):
                return
            if not isinstance(timeslot, dict):
                continue
            if timeslot.get("id") is None:
                self.masked_count += 1
                continue
            emitted += 1
            yield {**timeslot, "event_id": event_id}


class DeletedEventsStream(MobilizeStream):
    """Events deleted from the organization's feed (soft deletes for targets)."""

    name = "deleted_events"
    path = "/organizations/{organization_id}/events/deleted"
    schema = schemas.DELETED_EVENTS_SCHEMA
    replication_key = "deleted_date"

    def extra_params(self) -> dict[str, t.Any]:
        # Without a key Mobilize silently drops PRIVATE here, so only ask with one.
        return {"visibility": VISIBILITIES} if self.api_key else {}


class PeopleStream(MobilizeStream):
    """People affiliated with the organization (needs an API key)."""

    name = "people"
    path = "/organizations/{organization_id}/people"
    schema = schemas.PEOPLE_SCHEMA
    requires_api_key = True


class AttendancesStream(MobilizeStream):
    """Signups for the organization's events, or that it promoted (needs an API key).

    Incremental runs also re-read the signups of events with a timeslot near now (the
    re-check window), because Mobilize does not say whether marking ``attended`` or
    changing a timeslot bumps an attendance's ``modified_date``.
    """

    name = "attendances"
    path = "/organizations/{organization_id}/attendances"
    schema = schemas.ATTENDANCES_SCHEMA
    requires_api_key = True

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        for field in ("person", "event", "timeslot", "sponsor"):
            nested = row.get(field)
            row[f"{field}_id"] = nested.get("id") if isinstance(nested, dict) else None
        return super().post_process(row, context)

    def records_after_read(
        self, context: Context | None, seen: dict[t.Any, t.Any], bookmark: t.Any
    ) -> Iterable[dict[str, t.Any]]:
        # A first (or full) read has just read every signup: nothing to re-check.
        if bookmark is None or not self.config.get("recheck_recent_signups", True):
            return ()
        return self.recheck_recent_signups(seen)

    def recheck_window(self) -> tuple[int, int]:
        """(latest timeslot start, earliest timeslot end) of the re-check, epoch seconds."""
        now = self.now()
        before = int(self.config.get("recheck_days_before", 2))
        after = int(self.config.get("recheck_days_after", 3))
        return now + before * DAY_SECONDS, now - after * DAY_SECONDS

    def recheck_recent_signups(self, seen: dict[t.Any, t.Any]) -> Iterator[dict[str, t.Any]]:
        """Every signup of the window's events, unless already emitted in this version.

        Emitted even when older than the bookmark: that is the point, a change Mobilize
        did not timestamp. The run's ``seen`` map keeps one emission per id and version.
        """
        latest_start, earliest_end = self.recheck_window()
        event_ids = self.window_event_ids(latest_start, earliest_end)
        reread = emitted = 0
        for event_id in event_ids:
            for row in self.event_signups(event_id):
                if self.dry_run_limit_reached(len(seen)):
                    return
                reread += 1
                if self.is_new_version(row, seen):
                    emitted += 1
                    yield row
        self.logger.info(
            "Stream 'attendances': re-check window %s to %s: %d event(s) with a timeslot "
            "in it, %d signup(s) re-read, %d of them not already emitted by this run.",
            _utc(earliest_end),
            _utc(latest_start),
            len(event_ids),
            reread,
            emitted,
        )

    def window_event_ids(self, latest_start: int, earliest_end: int) -> list[int]:
        """Ids of the events with a timeslot in the window, in Mobilize's order.

        Timeslot filters trim each event's nested ``timeslots``, so these event rows are
        incomplete and must never be emitted: only their ids are used.
        """
        params = {
            "per_page": int(self.config.get("per_page", 100)),
            "timeslot_start": f"lte_{latest_start}",
            "timeslot_end": f"gte_{earliest_end}",
            **event_list_params(self.api_key),
        }
        ids: dict[int, None] = {}  # ordered set: an event can repeat across pages
        for event in self.request_path(EVENTS_PATH, params):
            event_id = event.get("id")
            if isinstance(event_id, int) and not isinstance(event_id, bool):
                ids[event_id] = None
        return list(ids)

    def event_signups(self, event_id: int) -> Iterator[dict[str, t.Any]]:
        """One event's signups; none if the event vanished (404) since it was listed."""
        params = {"per_page": int(self.config.get("per_page", 100))}
        try:
            yield from self.request_path(EVENT_ATTENDANCES_PATH, params, event_id=event_id)
        except MobilizeNotFoundError:
            self.logger.info(
                "Stream 'attendances': event %s answered HTTP 404 (deleted since the re-check "
                "listed it); its signups were not re-read.",
                event_id,
            )


STREAM_TYPES: list[type[MobilizeStream]] = [
    OrganizationStream,
    EventsStream,
    TimeslotsStream,
    DeletedEventsStream,
    PeopleStream,
    AttendancesStream,
]

# Parents before children and before what refers to them.
SYNC_ORDER = ["organization", "events", "timeslots", "deleted_events", "people", "attendances"]
