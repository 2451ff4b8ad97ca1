"""The filters of the event lists: who may ask for what (PRIVATE and unapproved events
need the key), comparisons on timeslots, and the "search backend" parameters (zipcode,
max_dist, exclude_full, tag_id), whose results are ordered by distance and capped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sandbox.datagen.dataset import Record
from sandbox.datagen.vocabulary import CITIES
from sandbox.mobilize.errors import ApiError, forbidden
from sandbox.mobilize.params import OPERATORS, Params

APPROVAL_STATUSES = ("APPROVED", "NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION")
VISIBILITIES = ("PUBLIC", "PRIVATE")
SEARCH_PARAMS = ("zipcode", "max_dist", "exclude_full", "tag_id")
_ZIP_PREFIXES = {city[2]: (city[3], city[4]) for city in CITIES}
_EARTH_RADIUS_MILES = 3958.8


@dataclass(frozen=True)
class EventFilter:
    since: int | None
    conditions: tuple[tuple[str, str, int], ...]  # (timeslot field, operator, value)
    visibility: tuple[str, ...]
    approval: tuple[str, ...]
    event_types: frozenset[str]
    is_virtual: bool | None
    owners: frozenset[int]
    high_priority: bool | None
    campaign: int | None
    state: str
    tag_ids: frozenset[int]
    exclude_full: bool | None
    zipcode: str | None
    max_dist: float | None
    origin: tuple[float, float] | None
    limited: bool  # a search-backend result

    @classmethod
    def parse(cls, params: Params, now: int, privileged: bool, deprecated: bool) -> EventFilter:
        """The filter a request asks for; 403 for what the caller may not see, 400 for a
        malformed value. The deprecated ``/events`` lists PUBLIC APPROVED events only."""
        since = params.integer("updated_since")
        conditions = [
            ("start_date", op, value) for op, value in params.comparisons("timeslot_start", now)
        ] + [("end_date", op, value) for op, value in params.comparisons("timeslot_end", now)]
        if deprecated:
            visibility, approval = ["PUBLIC"], ["APPROVED"]
        else:
            visibility = params.choices("visibility", VISIBILITIES) or ["PUBLIC"]
            approval = params.choices("approval_status", APPROVAL_STATUSES) or ["APPROVED"]
            if not privileged and "PRIVATE" in visibility:
                raise forbidden("Permission denied for PRIVATE events.")
            if not privileged and any(s != "APPROVED" for s in approval):
                raise forbidden("Permission denied for unapproved events.")
        # Keyword arguments are read in order: the first bad parameter is the one reported.
        return cls(
            since=since,
            conditions=tuple(conditions),
            visibility=tuple(sorted(visibility)),
            approval=tuple(sorted(approval)),
            event_types=frozenset(params.values("event_types")),
            is_virtual=params.boolean("is_virtual"),
            owners=frozenset(params.integers("organization_id")),
            high_priority=params.boolean("high_priority_only"),
            campaign=params.integer("event_campaign_id"),
            state=(params.one("state") or "").upper(),
            tag_ids=frozenset(params.integers("tag_id")),
            exclude_full=params.boolean("exclude_full"),
            zipcode=params.one("zipcode"),
            max_dist=params.number("max_dist"),
            origin=_origin(params.one("zipcode")),
            limited=any(params.one(name) not in (None, "") for name in SEARCH_PARAMS),
        )

    def cache_key(self) -> tuple[Any, ...]:
        return (
            self.since,
            self.conditions,
            self.visibility,
            self.approval,
            tuple(sorted(self.event_types)),
            self.is_virtual,
            tuple(sorted(self.owners)),
            self.high_priority,
            self.campaign,
            self.state,
            tuple(sorted(self.tag_ids)),
            self.exclude_full,
            self.zipcode,
            self.max_dist,
        )

    def slot_ok(self, slot: Record) -> bool:
        return all(OPERATORS[op](slot[field], value) for field, op, value in self.conditions)

    def matches(self, event: Record) -> bool:
        """Every filter but ``updated_since`` (which follows the answers: the caller's)."""
        slots = event["timeslots"] or []
        return (
            event["visibility"] in self.visibility
            and event["approval_status"] in self.approval
            and (not self.event_types or event["event_type"] in self.event_types)
            and (self.is_virtual is None or event["is_virtual"] == self.is_virtual)
            and (not self.owners or (event["sponsor"] or {}).get("id") in self.owners)
            and not (self.high_priority and not event["high_priority"])
            and (
                self.campaign is None or (event["event_campaign"] or {}).get("id") == self.campaign
            )
            and (not self.state or (event["location"] or {}).get("region") == self.state)
            and (not self.tag_ids or bool(self.tag_ids & {t["id"] for t in event["tags"] or ()}))
            and (not self.conditions or any(self.slot_ok(s) for s in slots))
            and not (self.exclude_full and slots and all(s["is_full"] for s in slots))
        )

    def by_distance(self, rows: list[Record]) -> tuple[list[int], list[Record]]:
        """Rows in id order, or, with a zipcode, nearest first keyed by position."""
        if self.origin is None:
            return [e["id"] for e in rows], rows
        distances = [(_distance(self.origin, e), e["id"], e) for e in rows]
        if self.max_dist is not None:
            distances = [d for d in distances if d[0] <= self.max_dist]
        distances.sort(key=lambda d: (d[0], d[1]))
        return list(range(len(distances))), [d[2] for d in distances]


def _origin(zipcode: str | None) -> tuple[float, float] | None:
    """Where a zipcode search measures from (the zip prefix's city); 400 for a bad zipcode."""
    if not zipcode:
        return None
    origin = _ZIP_PREFIXES.get(zipcode[:3])
    if origin is None or not zipcode.isdigit() or len(zipcode) != 5:
        raise ApiError(400, {"zipcode": ["Enter a valid US zipcode."]})
    return origin


def _distance(origin: tuple[float, float], event: Record) -> float:
    coords = (event["location"] or {}).get("location")
    if not coords or coords.get("latitude") is None:
        return math.inf
    lat1, lon1 = map(math.radians, origin)
    lat2, lon2 = math.radians(coords["latitude"]), math.radians(coords["longitude"])
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return _EARTH_RADIUS_MILES * 2 * math.asin(math.sqrt(a))
