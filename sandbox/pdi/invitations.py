"""An event's invitations: listed (optionally with contact and event), created, updated."""

from __future__ import annotations

from typing import Any

from sandbox.pdi.binding import Body, error, format_datetime, parse_bool
from sandbox.pdi.resource import Resource
from sandbox.pdi.routing import Route, route
from sandbox.pdi.state import contact_out
from sandbox.server.messages import Request, Response

RSVP_STATUSES = (
    "Yes",
    "No",
    "Maybe",
    "Scheduled",
    "Invited",
    "Cancelled",
    "No-Show",
    "Completed",
    "",
)
MSG_DUPLICATE_INVITATION = "The contact has already been invited to this event."


class Invitations(Resource):
    def routes(self) -> list[Route]:
        return [
            route("GET", "/events/{id}/invitations", self.list_invitations),
            route("POST", "/events/{id}/invitations", self.create_invitation),
            route("PUT", "/events/{id}/invitations/{invitationId}", self.update_invitation),
        ]

    def invitation_out(self, invitation: dict[str, Any], expand: bool) -> dict[str, Any]:
        out = dict(invitation)
        if expand:
            contact = self.state.contacts.get(invitation["contactId"])
            event = self.state.events.get(invitation["eventId"])
            out["contact"] = contact_out(contact) if contact else None
            out["event"] = dict(event) if event else None
        return out

    def contact_id_field(self, body: Body) -> str | None:
        contact_id = body.string("contactId", required=True)
        if contact_id and contact_id.strip() and contact_id not in self.state.contacts:
            body.fail("contactId", f"The contact '{contact_id}' does not exist.")
        return contact_id

    def invitation_fields(self, body: Body) -> dict[str, Any]:
        contact_id = self.contact_id_field(body)
        rsvp = body.choice("rsvpStatus", RSVP_STATUSES, required=True)
        attended = body.boolean("attended", required=True)
        is_confirmed = body.boolean("isConfirmed")
        occurrence = body.timestamp("specificOcurrenceStartUtc")
        return {
            "contactId": contact_id,
            "rsvpStatus": rsvp,
            "isConfirmed": is_confirmed,
            "attended": attended,
            "specificOcurrenceStartUtc": format_datetime(occurrence) if occurrence else None,
        }

    def refuses_duplicate(self, event_id: str, contact_id: str | None) -> bool:
        """Whether inviting the contact again is refused (per duplicate_invitations)."""
        return (
            self.answers.duplicate_invitations == "refused"
            and (event_id, contact_id) in self.state.invitation_index
        )

    def list_invitations(self, request: Request, ids: list[str]) -> Response:
        event_id = ids[0]
        if event_id not in self.state.events:
            return error(404, "The event was not found.")
        expand_text = request.arg("expand")
        expand = False
        if expand_text not in (None, ""):
            parsed = parse_bool(expand_text)
            if parsed is None:
                return error(400, f"The value '{expand_text}' is not valid for expand.")
            expand = parsed
        rows = [self.state.invitations[i] for i in self.state.event_invitations.get(event_id, {})]
        return self.pager.page(request, rows, lambda row: self.invitation_out(row, expand))

    def create_invitation(self, request: Request, ids: list[str]) -> Response:
        event_id = ids[0]
        if event_id not in self.state.events:
            return error(404, "The event was not found.")
        body = Body(request.json())
        fields = self.invitation_fields(body)
        body.check()
        if self.refuses_duplicate(event_id, fields["contactId"]):
            return error(400, MSG_DUPLICATE_INVITATION)
        invitation: dict[str, Any] = {"id": self.state.new_id(), "eventId": event_id, **fields}
        self.state.store_invitation(invitation)
        self.state.wrote(request)
        return Response(200, dict(invitation))

    def update_invitation(self, request: Request, ids: list[str]) -> Response:
        event_id, invitation_id = ids
        if event_id not in self.state.events:
            return error(404, "The event was not found.")
        invitation = self.state.invitations.get(invitation_id)
        if invitation is None or invitation["eventId"] != event_id:
            return error(404, "The invitation was not found.")
        body = Body(request.json())
        fields = self.put_fields(body, self.invitation_fields(body))
        contact_id = fields.get("contactId", invitation["contactId"])
        if contact_id != invitation["contactId"] and self.refuses_duplicate(event_id, contact_id):
            return error(400, MSG_DUPLICATE_INVITATION)
        self.state.unindex_invitation(invitation)
        invitation.update(fields)
        self.state.index_invitation(invitation)
        self.state.wrote(request)
        return Response(200, dict(invitation))
