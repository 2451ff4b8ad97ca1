"""A contact's emails and phones: ``POST /contacts/{id}/emails`` and ``.../phones``."""

from __future__ import annotations

from sandbox.pdi.binding import Body, error
from sandbox.pdi.contacts import check_email
from sandbox.pdi.routing import Route, route
from sandbox.pdi.state import PdiState
from sandbox.server.messages import Request, Response

PHONE_TYPES = ("Home", "Work", "Direct", "Mobile", "Fax", "Other")


class EmailsAndPhones:
    def __init__(self, state: PdiState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            route("POST", "/contacts/{id}/emails", self.add_email),
            route("POST", "/contacts/{id}/phones", self.add_phone),
        ]

    def add_email(self, request: Request, ids: list[str]) -> Response:
        contact = self.state.contacts.get(ids[0])
        if contact is None:
            return error(404, "The contact was not found.")
        body = Body(request.json())
        address = body.string("emailAddress", required=True)
        check_email(body, "emailAddress", address)
        is_primary = body.boolean("isPrimary")
        body.check()
        assert address is not None
        email = self.state.add_email_to(contact, address.strip(), is_primary)
        self.state.wrote(request)
        return Response(200, dict(email))

    def add_phone(self, request: Request, ids: list[str]) -> Response:
        contact = self.state.contacts.get(ids[0])
        if contact is None:
            return error(404, "The contact was not found.")
        body = Body(request.json())
        number = body.string("phoneNumber", required=True)
        # Guess: Parsons defaults phoneType to Mobile; the server does the same when absent.
        phone_type = body.choice("phoneType", PHONE_TYPES, default="Mobile")
        is_primary = body.boolean("isPrimary")
        extension = body.string("extension")
        if not body.has("extension") or extension is None:
            # The key must be sent (PR #1417); "" is fine.
            body.fail("extension", "The Extension field is required.")
        body.check()
        assert number is not None
        phone = self.state.add_phone_to(contact, number, phone_type, is_primary, extension)
        self.state.wrote(request)
        return Response(200, dict(phone))
