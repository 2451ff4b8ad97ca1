"""The event and timeslot mutations of ``POST /__admin/mutate``, and the copies of an
event and its timeslots that its attendances carry, kept in step.

``update_event`` always bumps the event; the timeslot edits bump it only when the
``timeslot_edits_bump_event`` answer says so. The attendances of a removed timeslot or a
deleted event keep their copies (the API has no deleted-attendance signal); the answers
decide whether they stay listed.
"""

from __future__ import annotations

import bisect

from sandbox.datagen.dataset import Record
from sandbox.mobilize.state import MobilizeState, bump, embedded_event


def _refresh_event_copies(state: MobilizeState, event: Record) -> None:
    embedded = embedded_event(event)
    for attendance in state.by_event.get(event["id"], ()):
        attendance["event"] = embedded


def _refresh_timeslot_copies(state: MobilizeState, event: Record) -> None:
    slots = {s["id"]: s for s in event["timeslots"] or ()}
    for attendance in state.by_event.get(event["id"], ()):
        slot = slots.get(attendance["timeslot"]["id"])
        if slot is not None:
            attendance["timeslot"] = slot


def _timeslot_edited(state: MobilizeState, event: Record) -> None:
    if state.answers.timeslot_edits_bump_event:
        bump(event, state.now())
    _refresh_event_copies(state, event)


def update_event(state: MobilizeState, body: Record) -> Record:
    event = state.event(body["id"])
    fields = dict(body.get("fields") or {})
    forbidden = {"id", "timeslots", "modified_date"} & set(fields)
    if forbidden:
        raise ValueError(f"cannot set {sorted(forbidden)} (use the timeslot ops)")
    event.update(fields)
    bump(event, state.now())
    _refresh_event_copies(state, event)
    return event


def add_timeslot(state: MobilizeState, body: Record) -> Record:
    event = state.event(body["event_id"])
    start, end = int(body["start_date"]), int(body["end_date"])
    if end < start:
        raise ValueError("end_date before start_date")
    state.next_ids["timeslot"] += 1
    slot = {
        "id": state.next_ids["timeslot"],
        "start_date": start,
        "end_date": end,
        "is_full": bool(body.get("is_full", False)),
        "instructions": body.get("instructions", "")
        if event["sponsor"]["id"] == state.org_id
        else None,
    }
    event["timeslots"] = [*(event["timeslots"] or ()), slot]  # copy-on-write
    _timeslot_edited(state, event)
    return event


def update_timeslot(state: MobilizeState, body: Record) -> Record:
    event = state.event(body["event_id"])
    fields = dict(body.get("fields") or {})
    if "id" in fields:
        raise ValueError("cannot change a timeslot id")
    slots = list(event["timeslots"] or ())
    for index, slot in enumerate(slots):
        if slot["id"] == body["timeslot_id"]:
            slots[index] = {**slot, **fields}
            break
    else:
        raise KeyError(f"no timeslot {body['timeslot_id']} in event {event['id']}")
    event["timeslots"] = slots
    _timeslot_edited(state, event)
    _refresh_timeslot_copies(state, event)
    return event


def remove_timeslot(state: MobilizeState, body: Record) -> Record:
    event = state.event(body["event_id"])
    slots = [s for s in event["timeslots"] or () if s["id"] != body["timeslot_id"]]
    if len(slots) == len(event["timeslots"] or ()):
        raise KeyError(f"no timeslot {body['timeslot_id']} in event {event['id']}")
    event["timeslots"] = slots
    _timeslot_edited(state, event)
    return event


def delete_event(state: MobilizeState, body: Record) -> Record:
    event = state.event(body["id"])
    del state.events[event["id"]]
    state.dataset.events.remove(event)
    deleted = {"id": event["id"], "deleted_date": state.now()}
    bisect.insort(state.dataset.deleted_events, deleted, key=lambda d: d["id"])
    if event["visibility"] == "PRIVATE":
        state.private_deleted.add(event["id"])
        state.dataset.private_deleted_event_ids.append(event["id"])
    return deleted
