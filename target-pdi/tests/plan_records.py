"""Records and id-map entries for the planning tests (test_plan.py, test_batch_plan.py): small
Mobilize events and signups, and a timeslot's PDI event as a sync leaves it in the id map."""

from __future__ import annotations

from typing import Any

from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import PdiObject, timeslot_key
from target_pdi.stores.idmap import IdMap

CALENDARS = [{"id": "c1", "name": "Canvassing"}, {"id": "c2", "name": "Phone Banks"}]


def canvass_router() -> CalendarRouter:
    """CANVASS to Canvassing (c1), PHONE_BANK to Phone Banks (c2), both resolved."""
    router = CalendarRouter({"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"})
    router.resolve(CALENDARS)
    return router


def event(event_id: int, *slots: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "title": f"Event {event_id}",
        "event_type": "CANVASS",
        "approval_status": "APPROVED",
        "timeslots": [{"id": s, "start_date": 1_900_000_000 + s} for s in slots],
        **fields,
    }


def signup(att_id: int, event_id: int, slot: int, person_id: int = 7) -> dict[str, Any]:
    return {
        "id": att_id,
        "modified_date": 1_800_000_000,
        "event": {"id": event_id, "event_type": "CANVASS", "approval_status": "APPROVED"},
        "timeslot": {"id": slot, "start_date": 1_900_000_000 + slot},
        "person": {"id": person_id, "email_addresses": [{"address": f"p{person_id}@example.org"}]},
    }


def synced(idmap: IdMap, event_id: int, slot: int, **extra: Any) -> None:
    """The timeslot's PDI event, written by an earlier run (`extra` overrides its details)."""
    idmap.put(
        PdiObject.EVENT,
        timeslot_key(slot),
        f"pdi-{slot}",
        "hash",
        mobilize_id=event_id,
        extra={"payload": {"name": "x"}, "calendar_id": "c1", "event_type": "CANVASS", **extra},
    )
