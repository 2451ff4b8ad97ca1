"""The Mobilize simulator's own admin routes (besides the common ones of ``sandbox.server``):
``GET /__admin/dataset`` (``?compact=1`` for stub-embedded attendances),
``GET /__admin/counts``, ``POST /__admin/mutate`` (``{"op": ..., ...}``, see ``OPS``) and
``POST /__admin/load`` (``{"spec": {...}}`` regenerates, ``{"dataset": {...}}`` loads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.datagen.build import generate
from sandbox.datagen.dataset import Dataset, DatasetSpec, Record
from sandbox.mobilize import attendances, event_edits, people
from sandbox.mobilize.state import MobilizeState
from sandbox.server.messages import Request, Response

OPS: dict[str, Callable[[MobilizeState, Record], Record]] = {
    "add_attendance": attendances.add_attendance,
    "update_attendance": attendances.update_attendance,
    "update_event": event_edits.update_event,
    "add_timeslot": event_edits.add_timeslot,
    "update_timeslot": event_edits.update_timeslot,
    "remove_timeslot": event_edits.remove_timeslot,
    "delete_event": event_edits.delete_event,
    "add_person": people.add_person,
    "update_person": people.update_person,
    "garble_person": people.garble_person,
}


def admin(state: MobilizeState, request: Request) -> Response | None:
    """The answer to an admin route of this simulator's, or None for another one."""
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/__admin/dataset"):
        compact = request.arg("compact", "") not in ("", "0", "false")
        return Response(200, _dataset(state, compact))
    if route == ("GET", "/__admin/counts"):
        with state.lock:
            return Response(200, state.counts())
    if route == ("POST", "/__admin/mutate"):
        return _mutate(state, request.json())
    if route == ("POST", "/__admin/load"):
        return _load(state, request.json() or {})
    return None


def _dataset(state: MobilizeState, compact: bool) -> dict[str, Any]:
    with state.lock:
        # Copies of the top-level records: encoding happens after the lock is
        # released, and mutations replace nested objects rather than edit them.
        data = state.dataset.to_dict(compact)
        for name in ("organizations", "events", "people", "attendances"):
            data[name] = [dict(r) for r in data[name]]
        for name in ("deleted_events", "private_deleted_event_ids"):
            data[name] = list(data[name])
        data["organization"] = dict(data["organization"])
    return data


def _mutate(state: MobilizeState, body: Any) -> Response:
    """Mutations set the touched object's ``modified_date`` to ``max(now, previous + 1)``
    (unless an answer says they don't); ``garble_person`` alone sets fields as given."""
    if not isinstance(body, dict) or body.get("op") not in OPS:
        return Response(400, {"message": f"op must be one of {sorted(OPS)}"})
    try:
        with state.lock:
            result = OPS[body["op"]](state, body)
            state.changed()
    except (KeyError, ValueError, TypeError) as exc:
        return Response(400, {"message": f"{body['op']}: {exc!r}"})
    return Response(200, result)


def _load(state: MobilizeState, body: Any) -> Response:
    try:
        if "dataset" in body:
            dataset = Dataset.from_dict(body["dataset"])
        else:
            dataset = generate(DatasetSpec(**body.get("spec", {})))
    except (KeyError, TypeError, ValueError) as exc:
        return Response(400, {"message": f"cannot load: {exc!r}"})
    state.load(dataset)
    return Response(200, dataset.expected_counts())
