"""Contacts: created (with a first email), searched, read, updated and deleted by id."""

from __future__ import annotations

import re
from typing import Any

from sandbox.pdi.binding import (
    Body,
    error,
    parse_bool,
    parse_date,
    parse_datetime,
    pascal,
)
from sandbox.pdi.contact_search import email_search
from sandbox.pdi.resource import Resource
from sandbox.pdi.routing import Route, route
from sandbox.pdi.state import contact_out
from sandbox.server.messages import Request, Response

PERSON_STATUSES = ("Prospect", "Active", "Inactive", "None", "")
GENDERS = ("F", "M", "U", "")


def check_email(body: Body, name: str, address: str | None) -> None:
    if address and address.strip() and "@" not in address:
        body.fail(name, f"The {pascal(name)} field is not a valid e-mail address.")


class Contacts(Resource):
    def routes(self) -> list[Route]:
        return [
            route("GET", "/contacts", self.list_contacts),
            route("POST", "/contacts", self.create_contact),
            route("GET", "/contacts/{id}", self.get_contact),
            route("PUT", "/contacts/{id}", self.update_contact),
            route("DELETE", "/contacts/{id}", self.delete_contact),
        ]

    def contact_fields(self, body: Body) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "namePrefix": body.string("namePrefix"),
            "firstName": body.string("firstName", required=True),
            "middleName": body.string("middleName"),
            "lastName": body.string("lastName", required=True),
            "nameSuffix": body.string("nameSuffix"),
            "nickname": body.string("nickname"),
            "occupation": body.string("occupation"),
            "employer": body.string("employer"),
            "volunteerStatus": body.choice("volunteerStatus", PERSON_STATUSES),
            "donorStatus": body.choice("donorStatus", PERSON_STATUSES),
            "memberStatus": body.choice("memberStatus", PERSON_STATUSES),
            "gender": body.choice("gender", GENDERS),
            "dateOfBirth": None,
        }
        birth = body.string("dateOfBirth")
        if birth and birth.strip():
            # ASP.NET would also bind a DateTime; keep the date part.
            parsed = parse_date(birth.strip()[:10])
            if parsed is None or (len(birth.strip()) > 10 and parse_datetime(birth) is None):
                body.fail(
                    "dateOfBirth",
                    f"The value '{birth}' is not valid for DateOfBirth; expected yyyy-MM-dd.",
                )
            else:
                fields["dateOfBirth"] = parsed.isoformat()
        return fields

    def list_contacts(self, request: Request, _ids: list[str]) -> Response:
        search_by_email_text = request.arg("searchByEmail")
        search_by_email = False
        if search_by_email_text not in (None, ""):
            parsed = parse_bool(search_by_email_text)
            if parsed is None:
                return error(
                    400, f"The value '{search_by_email_text}' is not valid for searchByEmail."
                )
            search_by_email = parsed
        candidates: list[dict[str, Any]]
        email = (request.arg("email") or "").strip().lower()
        if search_by_email and email:
            candidates = email_search(self.state, self.answers.contact_search, email)
        else:
            # Guess: without searchByEmail=true the email parameter is not used.
            candidates = list(self.state.contacts.values())
        for name in ("firstName", "lastName"):
            wanted = (request.arg(name) or "").strip().lower()
            if wanted:
                candidates = [c for c in candidates if (c[name] or "").strip().lower() == wanted]
        phone = re.sub(r"\D", "", request.arg("phone") or "")
        if phone:
            candidates = [
                c
                for c in candidates
                if any(re.sub(r"\D", "", p["phoneNumber"]) == phone for p in c["phones"])
            ]
        if (request.arg("zipCode") or "").strip():
            # The simulator stores no addresses, so no contact has a zip code.
            candidates = []
        return self.pager.page(request, candidates, self.contact_row)

    def contact_row(self, contact: dict[str, Any]) -> dict[str, Any]:
        """A row of ``GET /contacts``: emails and phones only if the answer says so."""
        if self.answers.contact_rows_have_emails:
            return contact_out(contact)
        return {k: v for k, v in contact.items() if k not in ("emails", "phones")}

    def create_contact(self, request: Request, _ids: list[str]) -> Response:
        body = Body(request.json())
        fields = self.contact_fields(body)
        address = body.string("emailAddress")
        check_email(body, "emailAddress", address)
        pdi_id = body.string("pdiId")
        body.check()
        contact: dict[str, Any] = {
            "id": self.state.new_id(),
            **fields,
            "pdiId": pdi_id,
            "emails": [],
            "phones": [],
        }
        self.state.store_contact(contact)
        if address and address.strip():
            self.state.add_email_to(contact, address.strip(), True)
        self.state.wrote(request)
        return Response(200, contact_out(contact))

    def get_contact(self, request: Request, ids: list[str]) -> Response:
        contact = self.state.contacts.get(ids[0])
        if contact is None:
            return error(404, "The contact was not found.")
        return Response(200, contact_out(contact))

    def update_contact(self, request: Request, ids: list[str]) -> Response:
        contact = self.state.contacts.get(ids[0])
        if contact is None:
            return error(404, "The contact was not found.")
        body = Body(request.json())
        # pdiId and emailAddress are ignored on update; emails and phones are never touched.
        contact.update(self.put_fields(body, self.contact_fields(body)))
        self.state.wrote(request)
        # No "data" key: see the package docstring (Parsons' update_contact).
        return Response(200, {"code": 201, "message": "Contact updated."})

    def delete_contact(self, request: Request, ids: list[str]) -> Response:
        if self.state.remove_contact(ids[0]) is None:
            return Response(200)  # PDI deletes succeed for unknown ids
        self.state.wrote(request)
        return Response(200)
