"""Events with their nested timeslots: an organization's feed (``/organizations/{org}/
events``, owned, co-owned and promoted events), the deprecated ``/events``, and single
events.

Anonymous callers see PUBLIC APPROVED events only, with ``contact``, ``event_campaign``,
``instructions``, timeslot ``instructions``, ``virtual_action_url`` and the districts of
private addresses nulled; ``timeslot_start``/``timeslot_end`` comparisons also trim the
nested timeslots.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.datagen.dataset import Record
from sandbox.mobilize.errors import not_found
from sandbox.mobilize.event_filters import EventFilter
from sandbox.mobilize.paging import Rows, page, single
from sandbox.mobilize.params import Params
from sandbox.mobilize.state import MobilizeState
from sandbox.server.messages import Request, Response


def _feed(state: MobilizeState, org: int) -> list[Record]:
    """Events in an org's feed: owned, co-owned or promoted (own org: all of them)."""
    if org == state.org_id:
        return state.dataset.events
    return [e for e in state.dataset.events if (e["sponsor"] or {}).get("id") == org]


def render_event(
    event: Record, privileged: bool, slot_ok: Callable[[Record], bool] | None = None
) -> Record:
    out = dict(event)
    slots = event["timeslots"]
    if slots is not None and slot_ok is not None:
        slots = [s for s in slots if slot_ok(s)]
    if not privileged:
        out["contact"] = None
        out["event_campaign"] = None
        out["instructions"] = None
        out["virtual_action_url"] = None
        if slots is not None:
            slots = [{**s, "instructions": None} for s in slots]
        location = event["location"]
        if location is not None and event["address_visibility"] == "PRIVATE":
            out["location"] = {
                **location,
                "address_lines": [location["address_lines"][0], ""],
                "congressional_district": None,
                "state_leg_district": None,
                "state_senate_district": None,
            }
    out["timeslots"] = slots
    return out


def _event_list(
    state: MobilizeState,
    request: Request,
    org: int,
    privileged: bool,
    url_name: str,
    deprecated: bool = False,
) -> Response:
    wanted = EventFilter.parse(Params(request), state.now(), privileged, deprecated)

    def build() -> Rows:
        rows = [
            event
            for event in _feed(state, org)
            if state.since(event["modified_date"], wanted.since) and wanted.matches(event)
        ]
        return wanted.by_distance(rows)

    rows = state.cached(("events", org, *wanted.cache_key()), build)
    slot_ok = wanted.slot_ok if wanted.conditions else None

    def render(event: Record) -> Record:
        owned_view = privileged and (not deprecated or event["sponsor"]["id"] == state.org_id)
        return render_event(event, owned_view, slot_ok)

    return page(request, rows, url_name, state.max_per_page, render, wanted.limited)


def org_events(state: MobilizeState, request: Request, authed: bool, org: int) -> Response:
    state.org(org)
    privileged = authed and org == state.org_id
    return _event_list(state, request, org, privileged, "public_organization_events")


def public_events(state: MobilizeState, request: Request, authed: bool) -> Response:
    return _event_list(state, request, state.org_id, authed, "public_events", deprecated=True)


def visible_event(state: MobilizeState, event_id: int, org: int | None, privileged: bool) -> Record:
    event = state.events.get(event_id)
    if event is None:
        raise not_found()
    if org is not None and org != state.org_id and event["sponsor"]["id"] != org:
        raise not_found()
    if not privileged and (
        event["visibility"] != "PUBLIC" or event["approval_status"] != "APPROVED"
    ):
        raise not_found()
    return event


def org_event(state: MobilizeState, request: Request, authed: bool, org: int, id: int) -> Response:
    state.org(org)
    privileged = authed and org == state.org_id
    event = visible_event(state, id, org, privileged)
    return single(render_event(event, privileged), "public_organization_event")


def public_event(state: MobilizeState, request: Request, authed: bool, id: int) -> Response:
    event = visible_event(state, id, None, False)
    owned_view = authed and event["sponsor"]["id"] == state.org_id
    return single(render_event(event, owned_view), "public_event")
