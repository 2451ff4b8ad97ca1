"""The simulator's own ``/__admin/*`` routes: how tests read PDI whole and tamper with it
behind the sync's back (see the package docstring for each route)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.pdi.binding import error
from sandbox.pdi.calendars import Calendars
from sandbox.pdi.seeds import SEED_KINDS, Seeds
from sandbox.pdi.sessions import Sessions
from sandbox.pdi.state import PdiState, contact_out
from sandbox.server.messages import Request, Response

# What POST /__admin/update never changes: ids, and an invitation's links (a PDI user invites
# someone else rather than moving an invitation). A contact's emails and phones are replaced
# whole, as lists like a seed's, and its email index with them.
FIXED_FIELDS = {
    "contacts": {"id"},
    "events": {"id"},
    "locations": {"id"},
    "invitations": {"id", "eventId", "contactId"},
}


class PdiAdmin:
    def __init__(
        self, state: PdiState, sessions: Sessions, calendars: Calendars, seeds: Seeds
    ) -> None:
        self.state = state
        self.sessions = sessions
        self.calendars = calendars
        self.seeds = seeds

    def snapshot(self) -> dict[str, Any]:
        with self.state.lock:
            return self.state.snapshot()

    def reset(self) -> None:
        """Forget everything but calendars, credentials and live tokens (ids are never
        reused: see ``PdiState.reset``)."""
        with self.state.lock:
            self.state.reset()

    def set_calendars(self, names: list[str]) -> list[dict[str, Any]]:
        with self.state.lock:
            return self.calendars.replace(names)

    def handle(self, request: Request) -> Response | None:
        key = (request.method, request.path.rstrip("/"))
        if key == ("GET", "/__admin/state"):
            return Response(200, self.snapshot())
        if key == ("POST", "/__admin/reset"):
            self.reset()
            return Response(200, {"ok": True})
        if key == ("POST", "/__admin/calendars"):
            body = request.json() or {}
            names = body.get("names") if isinstance(body, dict) else None
            if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                return error(400, 'Expected {"names": [non-empty strings]}.')
            return Response(200, {"calendars": self.set_calendars(names)})
        if key == ("GET", "/__admin/tokens"):
            with self.state.lock:
                return Response(200, {"issued": list(self.sessions.issued)})
        if key == ("POST", "/__admin/tokens/expire"):
            with self.state.lock:
                count = self.sessions.expire_all()
            return Response(200, {"expired": count})
        if key == ("POST", "/__admin/seed"):
            return self._seed(request.json())
        if key == ("POST", "/__admin/delete"):
            return self._delete(request.json())
        if key == ("POST", "/__admin/update"):
            return self._update(request.json())
        if key == ("POST", "/__admin/copy"):
            return self._copy(request.json())
        return None

    def _seed(self, body: Any) -> Response:
        kind = body.get("kind") if isinstance(body, dict) else None
        obj = body.get("object") if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(obj, dict):
            return error(400, f'Expected {{"kind": one of {list(SEED_KINDS)}, "object": {{...}}}}.')
        with self.state.lock:
            try:
                return Response(200, self.seeds.seed(kind, obj))
            except ValueError as exc:
                return error(400, f"seed {kind}: {exc}")

    def _delete(self, body: Any) -> Response:
        kind = body.get("kind") if isinstance(body, dict) else None
        object_id = body.get("id") if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(object_id, str):
            return error(400, f'Expected {{"kind": one of {list(SEED_KINDS)}, "id": "..."}}.')
        removers: dict[str, Callable[[str], dict[str, Any] | None]] = {
            "contacts": self.state.remove_contact,
            "events": self.state.remove_event,
            "locations": self.state.remove_location,
            "invitations": self.state.remove_invitation,
        }
        with self.state.lock:
            removed = removers[kind](object_id)
        if removed is None:
            return error(404, f"No {kind} with id {object_id!r}.")
        return Response(200, removed)

    def _update(self, body: Any) -> Response:
        """Change fields of a stored object as a PDI user would in the UI: no validation, and
        an event may change calendar (the API cannot). Ids and links stay as they are."""
        kind = body.get("kind") if isinstance(body, dict) else None
        object_id = body.get("id") if isinstance(body, dict) else None
        fields = body.get("fields") if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(object_id, str) or not isinstance(fields, dict):
            return error(
                400,
                f'Expected {{"kind": one of {list(SEED_KINDS)}, "id": "...", "fields": {{...}}}}.',
            )
        fixed = FIXED_FIELDS[kind] & set(fields)
        if fixed:
            return error(400, f"update {kind}: {sorted(fixed)} cannot change")
        with self.state.lock:
            stored = self.state.find(kind, object_id)
            if stored is None:
                return error(404, f"No {kind} with id {object_id!r}.")
            calendar_id = fields.get("calendarId")
            moves_calendar = kind == "events" and "calendarId" in fields
            if moves_calendar and calendar_id not in self.state.calendars:
                return error(400, f"update events: no calendar {calendar_id!r}")
            if kind == "contacts":
                try:
                    self.seeds.replace_contact_lists(stored, fields)
                except ValueError as exc:
                    return error(400, f"update contacts: {exc}")
                fields = {k: v for k, v in fields.items() if k not in ("emails", "phones")}
            stored.update(fields)
            return Response(200, contact_out(stored) if kind == "contacts" else dict(stored))

    def _copy(self, body: Any) -> Response:
        """A copy of a stored object under a new id, as a PDI user copies an event or adds the
        same contact or invitation twice: every field kept but those given in ``fields``."""
        kind = body.get("kind") if isinstance(body, dict) else None
        object_id = body.get("id") if isinstance(body, dict) else None
        fields = body.get("fields", {}) if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(object_id, str) or not isinstance(fields, dict):
            return error(
                400,
                f'Expected {{"kind": one of {list(SEED_KINDS)}, "id": "...", "fields": {{...}}}}.',
            )
        with self.state.lock:
            stored = self.state.find(kind, object_id)
            if stored is None:
                return error(404, f"No {kind} with id {object_id!r}.")
            original = contact_out(stored) if kind == "contacts" else dict(stored)
            obj = {k: v for k, v in original.items() if k != "id"}
            if kind == "contacts":
                obj["emails"] = [
                    {"emailAddress": e["emailAddress"], "isPrimary": e["isPrimary"]}
                    for e in original["emails"]
                ]
                obj["phones"] = [
                    {k: v for k, v in phone.items() if k != "id"} for phone in original["phones"]
                ]
            obj.update(fields)
            try:
                return Response(200, self.seeds.seed(kind, obj))
            except ValueError as exc:
                return error(400, f"copy {kind}: {exc}")
