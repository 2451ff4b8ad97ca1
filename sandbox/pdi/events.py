"""Events: created in a calendar, listed by start date, read and updated by id."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sandbox.pdi.binding import (
    Body,
    Invalid,
    error,
    format_datetime,
    parse_date,
    parse_datetime,
)
from sandbox.pdi.resource import Resource
from sandbox.pdi.routing import Route, route
from sandbox.server.messages import Request, Response

RECURRENCE_TYPES = ("daily", "weekly", "monthly")


class Events(Resource):
    def routes(self) -> list[Route]:
        return [
            route("POST", "/calendars/{id}/events", self.create_event),
            route("GET", "/events", self.list_events),
            route("GET", "/events/{id}", self.get_event),
            route("PUT", "/events/{id}", self.update_event),
        ]

    def event_fields(self, body: Body) -> dict[str, Any]:
        name = body.string("name", required=True)
        location_id = body.string("locationId", required=True)
        start = body.timestamp("startDateTimeUtc", required=True)
        end = body.timestamp("endDateTimeUtc", required=True)
        category = body.integer("eventCategoryId", required=True)
        is_all_day = body.boolean("isAllDay")
        recurrence_type = body.raw("recurrenceType")
        if recurrence_type in (None, ""):
            recurrence = None
        else:
            recurrence = body.choice("recurrenceType", RECURRENCE_TYPES)
        recurrence_end = body.timestamp("recurrenceEndDateTimeUtc")
        return {
            "name": name,
            "description": body.string("description"),
            "locationId": location_id,
            "startDateTimeUtc": format_datetime(start) if start else None,
            "endDateTimeUtc": format_datetime(end) if end else None,
            "isAllDay": is_all_day,
            "phone": body.string("phone"),
            "contactEmail": body.string("contactEmail"),
            "website": body.string("website"),
            "eventCategoryId": category,
            "recurrenceType": recurrence,
            "recurrenceEndDateTimeUtc": format_datetime(recurrence_end) if recurrence_end else None,
        }

    def check_event(self, event: Mapping[str, Any], body: Body) -> None:
        """Cross-field checks of a whole (created, replaced or merged) event."""
        start = parse_datetime(str(event.get("startDateTimeUtc") or ""))
        end = parse_datetime(str(event.get("endDateTimeUtc") or ""))
        if start is not None and end is not None and end < start:
            raise Invalid({"endDateTimeUtc": ["The end date must not be before the start date."]})
        # A location id is checked when sent (an event seeded with a stale one keeps it).
        location_id = event.get("locationId")
        if body.has("locationId") and location_id not in self.state.locations:
            raise Invalid({"locationId": [f"The location '{location_id}' does not exist."]})

    def create_event(self, request: Request, ids: list[str]) -> Response:
        calendar_id = ids[0]
        if calendar_id not in self.state.calendars:
            return error(404, "The calendar was not found.")
        body = Body(request.json())
        fields = self.event_fields(body)
        body.check()
        self.check_event(fields, body)
        event = {"id": self.state.new_id(), "calendarId": calendar_id, **fields}
        self.state.events[event["id"]] = event
        self.state.wrote(request)
        return Response(200, dict(event))

    def list_events(self, request: Request, _ids: list[str]) -> Response:
        bounds: list[date | None] = []
        for name in ("startDate", "endDate"):
            text = request.arg(name)
            if text in (None, ""):
                bounds.append(None)
                continue
            parsed = parse_date(text)
            if parsed is None:
                return error(400, f"The {name} parameter must be formatted yyyy-MM-dd.")
            bounds.append(parsed)
        low, high = bounds
        events = []
        for event in self.state.events.values():
            if low is None and high is None:
                events.append(event)
                continue
            # A seeded event may have no (or an odd) start: no date filter matches it.
            start = parse_datetime(str(event.get("startDateTimeUtc") or ""))
            day = start.date() if start is not None else None
            if day is not None and (low is None or day >= low) and (high is None or day <= high):
                events.append(event)
        return self.pager.page(request, events)

    def find_event(self, event_id: str) -> dict[str, Any] | None:
        return self.state.events.get(event_id)

    def get_event(self, request: Request, ids: list[str]) -> Response:
        event = self.find_event(ids[0])
        if event is None:
            return error(404, "The event was not found.")
        return Response(200, dict(event))

    def update_event(self, request: Request, ids: list[str]) -> Response:
        event = self.find_event(ids[0])
        if event is None:
            return error(404, "The event was not found.")
        body = Body(request.json())
        fields = self.put_fields(body, self.event_fields(body))
        self.check_event({**event, **fields}, body)
        event.update(fields)
        self.state.wrote(request)
        return Response(200, dict(event))
