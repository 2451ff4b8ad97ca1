"""An organization's ``/people`` (key only, ``updated_since``), and the people mutations
of ``POST /__admin/mutate``."""

from __future__ import annotations

from sandbox.datagen.dataset import Record
from sandbox.mobilize.auth import require_key
from sandbox.mobilize.paging import Rows, page
from sandbox.mobilize.params import Params
from sandbox.mobilize.state import MobilizeState, bump
from sandbox.server.messages import Request, Response


def people(state: MobilizeState, request: Request, authed: bool, org: int) -> Response:
    state.org(org)
    require_key(authed, org, state.org_id)
    since = Params(request).integer("updated_since")

    def build() -> Rows:
        rows = [p for p in state.dataset.people if state.since(p["modified_date"], since)]
        return [p["id"] for p in rows], rows

    rows = state.cached(("people", since), build)
    return page(request, rows, "organization_people", state.max_per_page)


def add_person(state: MobilizeState, body: Record) -> Record:
    state.next_ids["person"] += 1
    person_id = state.next_ids["person"]
    now = state.now()
    email = body.get("email")
    person = {
        "id": person_id,
        "person_id": None,  # "to be deprecated and null for new persons"
        "user_id": person_id + 7606,
        "created_date": now,
        "modified_date": now,
        "given_name": str(body["given_name"]),
        "family_name": str(body["family_name"]),
        "email_addresses": [{"primary": True, "address": email}] if email else [],
        "phone_numbers": [{"primary": True, "number": body["phone"]}] if body.get("phone") else [],
        "postal_addresses": [{"primary": True, "postal_code": body["postal_code"]}]
        if body.get("postal_code")
        else [],
        "sms_opt_in_status": body.get("sms_opt_in_status", "UNSPECIFIED"),
        "blocked_date": None,
    }
    state.dataset.people.append(person)
    state.people[person_id] = person
    return person


def update_person(state: MobilizeState, body: Record) -> Record:
    person = state.person(body["id"])
    fields = dict(body.get("fields") or {})
    if {"id", "modified_date"} & set(fields):
        raise ValueError("cannot set id or modified_date")
    person.update(fields)
    bump(person, state.now())
    for attendance in state.by_person.get(person["id"], ()):
        attendance["person"] = dict(person)
    return person


def garble_person(state: MobilizeState, body: Record) -> Record:
    """Set a person's fields exactly as given, ``modified_date`` included, unchecked and
    unbumped (their signups' copies untouched): how a test makes Mobilize answer what its
    documentation rules out, e.g. a ``modified_date`` that is no timestamp."""
    person = state.person(body["id"])
    fields = dict(body.get("fields") or {})
    if "id" in fields:
        raise ValueError("cannot set id")
    person.update(fields)
    return person
