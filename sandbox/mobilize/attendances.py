"""An organization's ``/attendances`` and ``/attendances/{id}``, an event's
``/attendances`` (all key only), and the attendance mutations of ``POST /__admin/mutate``.

Lists are in sort-key order (``state.attendance_keys``: masked rows keep their place);
the answers may hide the attendances of deleted events and removed timeslots.
"""

from __future__ import annotations

from sandbox.datagen.dataset import Record
from sandbox.mobilize.auth import require_key
from sandbox.mobilize.errors import not_found
from sandbox.mobilize.events import visible_event
from sandbox.mobilize.paging import Rows, page, single
from sandbox.mobilize.params import Params
from sandbox.mobilize.state import ATTENDANCE_KEY_STEP, MobilizeState, bump, embedded_event
from sandbox.server.messages import Request, Response

ATTENDANCE_STATUSES = ("REGISTERED", "CANCELLED", "CONFIRMED")
_REFERRER_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "url")


def attendances(state: MobilizeState, request: Request, authed: bool, org: int) -> Response:
    state.org(org)
    require_key(authed, org, state.org_id)
    since = Params(request).integer("updated_since")

    def build() -> Rows:
        hides = state.hides_attendances()
        if since is None and not hides:
            return state.attendance_keys, state.dataset.attendances
        live = state.live_timeslot_ids() if hides else set()
        keys, rows = [], []
        for key, attendance in zip(state.attendance_keys, state.dataset.attendances, strict=True):
            if not state.since(attendance["modified_date"], since):
                continue
            if hides and not state.attendance_listed(attendance, live):
                continue
            keys.append(key)
            rows.append(attendance)
        return keys, rows

    rows = state.cached(("attendances", since), build)
    return page(request, rows, "organization_attendances", state.max_per_page)


def attendance(state: MobilizeState, request: Request, authed: bool, org: int, id: int) -> Response:
    state.org(org)
    require_key(authed, org, state.org_id)
    found = state.attendances.get(id)
    if found is None:
        raise not_found()
    if state.hides_attendances():
        event = state.events.get(found["event"]["id"]) or {}
        live = {s["id"] for s in event.get("timeslots") or ()}
        if not state.attendance_listed(found, live):
            raise not_found()
    return single(dict(found), "organization_attendance")


def event_attendances(
    state: MobilizeState, request: Request, authed: bool, org: int, id: int
) -> Response:
    state.org(org)
    require_key(authed, org, state.org_id)
    event = visible_event(state, id, org, True)
    rows = state.by_event.get(id, [])
    if state.hides_attendances():
        live = {s["id"] for s in event["timeslots"] or ()}
        rows = [a for a in rows if state.attendance_listed(a, live)]
    return page(
        request,
        ([a["id"] for a in rows], rows),
        "organization_event_attendances",
        state.max_per_page,
    )


def add_attendance(state: MobilizeState, body: Record) -> Record:
    person = state.person(body["person_id"])
    event = state.event(body["event_id"])
    slot = next((s for s in event["timeslots"] or () if s["id"] == body["timeslot_id"]), None)
    if slot is None:
        raise KeyError(f"no timeslot {body['timeslot_id']} in event {event['id']}")
    status = body.get("status") or "REGISTERED"
    if status not in ATTENDANCE_STATUSES:
        raise ValueError(f"status must be one of {ATTENDANCE_STATUSES}")
    state.next_ids["attendance"] += 1
    attendance_id = state.next_ids["attendance"]
    now = state.now()
    owned = event["sponsor"]["id"] == state.org_id
    added: Record = {
        "id": attendance_id,
        "created_date": now,
        "modified_date": now,
        "person": dict(person),
        "event": embedded_event(event),
        "timeslot": slot,
        "sponsor": state.dataset.organization,
        "status": status,
        "attended": None,
        "referrer": dict.fromkeys(_REFERRER_FIELDS) if owned else None,
        "custom_signup_field_values": [] if owned else None,
        "rating": None,
        "feedback": None,
    }
    state.dataset.attendances.append(added)
    keys = state.attendance_keys
    keys.append(max(attendance_id * ATTENDANCE_KEY_STEP, keys[-1] + 1 if keys else 0))
    state.attendances[attendance_id] = added
    state.by_event[event["id"]].append(added)
    state.by_person[person["id"]].append(added)
    return added


def update_attendance(state: MobilizeState, body: Record) -> Record:
    found = state.attendances.get(body["id"])
    if found is None:
        raise KeyError(f"no attendance {body['id']}")
    if "status" in body and body["status"] not in ATTENDANCE_STATUSES:
        raise ValueError(f"status must be one of {ATTENDANCE_STATUSES}")
    if "attended" in body and body["attended"] not in (True, False, None):
        raise ValueError("attended must be true, false or null")
    status_changed = "status" in body and body["status"] != found["status"]
    attended_changed = "attended" in body and body["attended"] != found["attended"]
    found.update({k: body[k] for k in ("status", "attended") if k in body})
    only_attended = attended_changed and not status_changed
    if not only_attended or state.answers.attended_bumps_attendance:
        bump(found, state.now())
    return found
