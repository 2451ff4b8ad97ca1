"""The PDI simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sandbox.pdi.answers import HARSH_ANSWERS, LENIENT_ANSWERS, PdiAnswers
from sandbox.pdi.app import PdiApp
from sandbox.pdi.calendars import DEFAULT_CALENDARS
from sandbox.pdi.cli import main
from sandbox.pdi.ids import is_valid_id
from sandbox.server.http_server import SandboxServer, make_server
from sandbox.server.switches import Switches

CREDENTIALS = {"Username": "sandbox", "Password": "sandbox-password", "ApiToken": "sandbox-token"}


class Client:
    """Tiny PDI client for the tests: logs in and keeps the bearer token."""

    def __init__(self, server: SandboxServer):
        self.url = server.url
        self.http = requests.Session()
        response = self.http.post(f"{self.url}/sessions", json=CREDENTIALS, timeout=5)
        assert response.status_code == 200, response.text
        self.token = response.json()["AccessToken"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}{path}", timeout=5, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/__admin/{path}", timeout=5, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def answers(self, **changes: Any) -> dict[str, Any]:
        """Set answers at run time (the way tests state the answer they rely on)."""
        return self.admin("POST", "answers", json=changes)

    def seed(self, kind: str, **obj: Any) -> dict[str, Any]:
        return self.admin("POST", "seed", json={"kind": kind, "object": obj})

    # fixtures of the PDI data model
    def calendar_id(self) -> str:
        return self.ok("GET", "/calendars")["data"][0]["id"]

    def location(self, name: str = "Hall") -> dict[str, Any]:
        return self.ok(
            "POST", "/locations", json={"locationName": name, "locationAddress": "1 Main"}
        )

    def event(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "Canvass",
            "locationId": self.location()["id"],
            "startDateTimeUtc": "2026-03-01T15:00:00.000Z",
            "endDateTimeUtc": "2026-03-01T17:00:00.000Z",
            "eventCategoryId": 0,
            **overrides,
        }
        return self.ok("POST", f"/calendars/{self.calendar_id()}/events", json=body)

    def contact(self, first: str = "Ada", last: str = "Lovelace", **extra: Any) -> dict[str, Any]:
        body = {"firstName": first, "lastName": last, **extra}
        return self.ok("POST", "/contacts", json=body)


def _start(app: PdiApp) -> SandboxServer:
    return make_server(app).start_in_thread()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[SandboxServer]:
    srv = _start(PdiApp())
    yield srv
    srv.stop()


@pytest.fixture
def server(shared_server: SandboxServer) -> SandboxServer:
    """The module's server, back to a fresh state (stopping a server costs ~0.5 s)."""
    app = shared_server.app
    assert isinstance(app, PdiApp)
    app.reset()
    app.set_calendars(list(DEFAULT_CALENDARS))
    app.update_answers(HARSH_ANSWERS)
    app.reset_extra_stats()
    shared_server.reset_stats()
    shared_server.switches = Switches()
    return shared_server


@pytest.fixture
def client(server: SandboxServer) -> Client:
    return Client(server)


# --------------------------------------------------------------------------- sessions


def test_session_ok_case_insensitive_keys(server: SandboxServer) -> None:
    body = {"username": "sandbox", "PASSWORD": "sandbox-password", "apiToken": "sandbox-token"}
    response = requests.post(f"{server.url}/sessions", json=body, timeout=5)
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"AccessToken", "ExpirationDate"}
    assert answer["ExpirationDate"].endswith("Z")
    headers = {"Authorization": f"Bearer {answer['AccessToken']}"}
    assert requests.get(f"{server.url}/calendars", headers=headers, timeout=5).status_code == 200


def test_session_bad_credentials_and_missing_field(server: SandboxServer) -> None:
    bad = requests.post(f"{server.url}/sessions", json={**CREDENTIALS, "Password": "x"}, timeout=5)
    assert bad.status_code == 401
    assert bad.json() == {"message": "Invalid username, password or api token."}
    missing = requests.post(
        f"{server.url}/sessions", json={"Username": "sandbox", "Password": "x"}, timeout=5
    )
    assert missing.status_code == 400
    assert missing.json()["modelState"] == {"ApiToken": ["The ApiToken field is required."]}


def test_missing_or_unknown_bearer_is_401(server: SandboxServer) -> None:
    denied = {"message": "Authorization has been denied for this request."}
    no_header = requests.get(f"{server.url}/calendars", timeout=5)
    assert (no_header.status_code, no_header.json()) == (401, denied)
    unknown = requests.get(
        f"{server.url}/contacts", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert (unknown.status_code, unknown.json()) == (401, denied)


def test_token_expires() -> None:
    srv = _start(PdiApp(token_ttl_seconds=1))
    try:
        client = Client(srv)
        assert client.call("GET", "/calendars").status_code == 200
        time.sleep(1.1)
        assert client.call("GET", "/calendars").status_code == 401
    finally:
        srv.stop()


def test_naive_expiration_and_admin_token_expiry() -> None:
    srv = _start(PdiApp(naive_expiration=True))
    try:
        response = requests.post(f"{srv.url}/sessions", json=CREDENTIALS, timeout=5)
        expiration = response.json()["ExpirationDate"]
        assert not expiration.endswith("Z")
        assert "+" not in expiration
        client = Client(srv)
        assert client.admin("POST", "tokens/expire")["expired"] == 2
        assert client.call("GET", "/calendars").status_code == 401
    finally:
        srv.stop()


# --------------------------------------------------------------------------- binding


def test_case_insensitive_body_and_string_booleans(client: Client) -> None:
    location = client.ok("POST", "/locations", json={"LOCATIONNAME": "Hall"})
    assert location["locationName"] == "Hall"
    body = {
        "Name": "Rally",
        "LocationId": location["id"],
        "StartDateTimeUtc": "2026-03-01T15:00:00Z",  # without millis
        "EndDateTimeUtc": "2026-03-01T17:00:00.000Z",
        "IsAllDay": "TRUE",
        "EventCategoryId": "0",
    }
    event = client.ok("POST", f"/calendars/{client.calendar_id()}/events", json=body)
    assert event["isAllDay"] is True
    assert event["eventCategoryId"] == 0
    assert event["startDateTimeUtc"] == "2026-03-01T15:00:00.000Z"
    bad = client.call(
        "POST", f"/calendars/{client.calendar_id()}/events", json={**body, "isAllDay": "yes"}
    )
    assert bad.status_code == 400
    assert "isAllDay" in bad.json()["modelState"]


def test_paging_total_count_and_limit_bounds(client: Client) -> None:
    names = [f"Loc {n}" for n in range(5)]
    for name in names:
        client.location(name)
    first = client.ok("GET", "/locations", params={"limit": 2, "cursor": 1})
    third = client.ok("GET", "/locations", params={"limit": 2, "cursor": 3})
    beyond = client.ok("GET", "/locations", params={"limit": 2, "cursor": 4})
    assert first["totalCount"] == third["totalCount"] == beyond["totalCount"] == 5
    assert [row["locationName"] for row in first["data"]] == names[:2]
    assert [row["locationName"] for row in third["data"]] == names[4:]
    assert beyond["data"] == []
    assert len(client.ok("GET", "/locations")["data"]) == 5  # default limit (100)
    assert client.call("GET", "/locations", params={"limit": 2000}).status_code == 200
    assert client.call("GET", "/locations", params={"limit": 2001}).status_code == 400
    assert client.call("GET", "/locations", params={"cursor": 0}).status_code == 400


def test_ids_malformed_400_unknown_404(client: Client) -> None:
    contact = client.contact()
    assert is_valid_id(contact["id"])
    assert len(contact["id"]) == 24
    malformed = client.call("GET", f"/contacts/{quote(contact['id'][:-1], safe='')}")
    assert (malformed.status_code, malformed.json()) == (400, {"message": "The id is not valid."})
    unknown = "AAAAAAAAAAAAAAAAAAAAAA=="
    assert client.call("GET", f"/contacts/{unknown}").status_code == 404
    assert client.call("GET", f"/events/{unknown}").status_code == 404
    assert (
        client.call("PUT", f"/locations/{unknown}", json={"locationName": "x"}).status_code == 404
    )
    assert client.call("POST", f"/calendars/{unknown}/events", json={}).status_code == 404
    # Ids travel percent-encoded too.
    assert client.ok("GET", f"/contacts/{quote(contact['id'], safe='')}")["id"] == contact["id"]


def test_ids_are_deterministic_per_seed() -> None:
    ids = []
    for _ in range(2):
        srv = _start(PdiApp(seed=7))
        try:
            client = Client(srv)
            ids.append([client.contact()["id"], client.location()["id"], client.calendar_id()])
        finally:
            srv.stop()
    assert ids[0] == ids[1]


# --------------------------------------------------------------------------- validation


def test_event_required_fields(client: Client) -> None:
    calendar = client.calendar_id()
    response = client.call("POST", f"/calendars/{calendar}/events", json={"name": "x"})
    assert response.status_code == 400
    model_state = response.json()["modelState"]
    for field in ("locationId", "startDateTimeUtc", "endDateTimeUtc", "eventCategoryId"):
        assert model_state[field] == [f"The {field[0].upper()}{field[1:]} field is required."]
    base = {
        "name": "x",
        "locationId": client.location()["id"],
        "startDateTimeUtc": "2026-03-01T15:00:00.000Z",
        "endDateTimeUtc": "2026-03-01T17:00:00.000Z",
        "eventCategoryId": 0,
    }
    cases = [
        {"locationId": "AAAAAAAAAAAAAAAAAAAAAA=="},  # unknown location
        {"startDateTimeUtc": "03/01/2026"},  # bad format
        {"endDateTimeUtc": "2026-03-01T14:00:00.000Z"},  # end before start
        {"name": ""},
    ]
    for override in cases:
        bad = client.call("POST", f"/calendars/{calendar}/events", json={**base, **override})
        assert bad.status_code == 400, override


def test_event_get_put_and_date_filter(client: Client) -> None:
    client.answers(put_replaces=True)  # the PUT below relies on a full replace
    march = client.event()
    april = client.event(
        startDateTimeUtc="2026-04-02T23:30:00.000Z", endDateTimeUtc="2026-04-03T01:00:00.000Z"
    )
    assert client.ok("GET", f"/events/{march['id']}") == march
    found = client.ok("GET", "/events", params={"startDate": "2026-04-01", "endDate": "2026-04-02"})
    assert [e["id"] for e in found["data"]] == [april["id"]]
    assert client.ok("GET", "/events")["totalCount"] == 2
    assert client.call("GET", "/events", params={"startDate": "April"}).status_code == 400
    update = {key: march[key] for key in ("locationId", "startDateTimeUtc", "endDateTimeUtc")}
    updated = client.ok(
        "PUT", f"/events/{march['id']}", json={**update, "name": "New", "eventCategoryId": 0}
    )
    assert updated["name"] == "New"
    assert updated["calendarId"] == march["calendarId"]
    assert updated["description"] is None  # full replace
    missing = client.call("PUT", f"/events/{march['id']}", json={"name": "x"})
    assert missing.status_code == 400


def test_contact_update_delete_and_location_update(client: Client) -> None:
    client.answers(put_replaces=True)  # the PUTs below rely on a full replace
    contact = client.contact(emailAddress="ada@example.org", volunteerStatus="active")
    assert contact["volunteerStatus"] == "Active"
    assert contact["emails"] == [
        {"id": contact["emails"][0]["id"], "emailAddress": "ada@example.org", "isPrimary": True}
    ]
    put = client.ok("PUT", f"/contacts/{contact['id']}", json={"firstName": "A", "lastName": "L"})
    assert put == {"code": 201, "message": "Contact updated."}
    stored = client.ok("GET", f"/contacts/{contact['id']}")
    assert stored["firstName"] == "A"
    assert stored["volunteerStatus"] is None  # not sent: replaced
    assert stored["emails"] == contact["emails"]  # emails are kept
    no_last = client.call("PUT", f"/contacts/{contact['id']}", json={"firstName": "A"})
    assert no_last.status_code == 400
    assert no_last.json()["modelState"] == {"lastName": ["The LastName field is required."]}
    assert client.call("POST", "/contacts", json={"lastName": "x"}).status_code == 400
    location = client.location()
    answer = client.ok("PUT", f"/locations/{location['id']}", json={"locationName": "New"})
    assert answer == {"code": 201, "message": "Location updated."}
    # Full replace: the omitted address is cleared.
    assert client.ok("GET", f"/locations/{location['id']}") == {
        **location,
        "locationName": "New",
        "locationAddress": "",
    }
    assert client.call("DELETE", f"/contacts/{contact['id']}").status_code == 200
    assert client.call("GET", f"/contacts/{contact['id']}").status_code == 404
    assert client.call("DELETE", f"/contacts/{contact['id']}").status_code == 200  # unknown: 200


def test_phone_requires_extension_key(client: Client) -> None:
    contact = client.contact()
    path = f"/contacts/{contact['id']}/phones"
    missing = client.call("POST", path, json={"phoneNumber": "5551234567", "phoneType": "Mobile"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "The Extension field is required."
    phone = client.ok(
        "POST", path, json={"phoneNumber": "5551234567", "phoneType": "mobile", "extension": ""}
    )
    assert phone["phoneType"] == "Mobile"
    assert phone["isPrimary"] is True  # the first phone
    bad_type = {"phoneNumber": "1", "phoneType": "Pager", "extension": ""}
    assert client.call("POST", path, json=bad_type).status_code == 400
    stored = client.ok("GET", f"/contacts/{contact['id']}")
    assert [p["id"] for p in stored["phones"]] == [phone["id"]]
    assert client.ok("GET", "/contacts", params={"phone": "(555) 123-4567"})["totalCount"] == 1


def test_email_search_exact_case_insensitive_any_email(client: Client) -> None:
    client.answers(contact_search="exact")
    ada = client.contact(emailAddress="Ada@Example.org")
    client.contact("Grace", "Hopper", emailAddress="grace@example.org")
    client.contact("Ada", "Other", emailAddress="ada@example.org.uk")
    client.ok(
        "POST",
        f"/contacts/{ada['id']}/emails",
        json={"EmailAddress": "countess@example.org", "IsPrimary": "false"},
    )

    def search(email: str) -> list[str]:
        params = {"email": email, "searchByEmail": "True", "limit": 50}
        return [c["id"] for c in client.ok("GET", "/contacts", params=params)["data"]]

    assert search("  ADA@example.ORG ") == [ada["id"]]
    assert search("countess@example.org") == [ada["id"]]
    assert search("ada@example") == []
    assert search("nobody@example.org") == []
    stored = client.ok("GET", f"/contacts/{ada['id']}")
    assert [e["isPrimary"] for e in stored["emails"]] == [True, False]
    assert client.ok("GET", "/contacts", params={"lastName": "hopper"})["totalCount"] == 1
    bad = client.call("POST", f"/contacts/{ada['id']}/emails", json={"isPrimary": True})
    assert bad.status_code == 400


# --------------------------------------------------------------------------- invitations


def test_one_invitation_per_contact_and_event(client: Client) -> None:
    client.answers(duplicate_invitations="refused", put_replaces=False)
    event = client.event()
    contact = client.contact()
    path = f"/events/{event['id']}/invitations"
    body = {"contactId": contact["id"], "rsvpStatus": "Yes", "attended": "false"}
    invitation = client.ok("POST", path, json=body)
    assert invitation == {
        "id": invitation["id"],
        "eventId": event["id"],
        "contactId": contact["id"],
        "rsvpStatus": "Yes",
        "isConfirmed": False,
        "attended": False,
        "specificOcurrenceStartUtc": None,
    }
    duplicate = client.call("POST", path, json={**body, "rsvpStatus": "Maybe"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"message": "The contact has already been invited to this event."}
    # Required and referential checks.
    assert client.call("POST", path, json={"contactId": contact["id"]}).status_code == 400
    unknown_contact = {**body, "contactId": "AAAAAAAAAAAAAAAAAAAAAA=="}
    assert client.call("POST", path, json=unknown_contact).status_code == 400
    assert client.call("POST", path, json={**body, "rsvpStatus": "Going"}).status_code == 400
    # Partial update (merge).
    updated = client.ok(
        "PUT",
        f"{path}/{invitation['id']}",
        json={"contactId": contact["id"], "attended": True, "rsvpStatus": "Completed"},
    )
    assert (updated["attended"], updated["rsvpStatus"], updated["isConfirmed"]) == (
        True,
        "Completed",
        False,
    )
    assert client.ok("PUT", f"{path}/{invitation['id']}", json={}) == updated  # merge: no-op
    bad = client.call("PUT", f"{path}/{invitation['id']}", json={"rsvpStatus": "Going"})
    assert bad.status_code == 400  # a sent field is still validated
    # Lists, plain and expanded.
    plain = client.ok("GET", path, params={"expand": "false"})
    assert plain["totalCount"] == 1
    assert "contact" not in plain["data"][0]
    expanded = client.ok("GET", path, params={"expand": "True"})["data"][0]
    assert expanded["contact"]["id"] == contact["id"]
    assert expanded["event"]["id"] == event["id"]


# --------------------------------------------------------------------------- faults, admin


def test_drop_after_write_does_the_write(client: Client) -> None:
    client.admin("POST", "switches", json={"drop_after_write_next": 1})
    with pytest.raises(requests.ConnectionError):
        client.call("POST", "/contacts", json={"firstName": "Lost", "lastName": "Answer"})
    contacts = client.admin("GET", "state")["contacts"]
    assert [c["firstName"] for c in contacts] == ["Lost"]
    # Reads and failed writes don't consume the switch; the next write is answered.
    client.admin("POST", "switches", json={"drop_after_write_next": 1})
    client.ok("GET", "/contacts")
    assert client.call("POST", "/contacts", json={}).status_code == 400
    assert client.admin("GET", "switches")["drop_after_write_next"] == 1
    with pytest.raises(requests.ConnectionError):
        client.call("POST", "/locations", json={"locationName": "x"})
    assert client.admin("GET", "switches")["drop_after_write_next"] == 0
    client.ok("POST", "/locations", json={"locationName": "y"})


def test_stats_count_writes(client: Client) -> None:
    client.admin("POST", "stats/reset")
    contact = client.contact()
    client.ok("PUT", f"/contacts/{contact['id']}", json={"firstName": "B", "lastName": "C"})
    client.ok("DELETE", f"/contacts/{contact['id']}")
    client.ok("DELETE", f"/contacts/{contact['id']}")  # nothing deleted: not a write
    client.call("POST", "/contacts", json={})  # rejected: not a write
    client.ok("GET", "/contacts")
    stats = client.admin("GET", "stats")
    assert stats["writes"] == 3
    assert stats["writes_by_route"] == {
        "POST /contacts": 1,
        "PUT /contacts/{id}": 1,
        "DELETE /contacts/{id}": 1,
    }
    assert stats["by_route"]["DELETE /contacts/{id}"] == 2
    assert client.admin("POST", "stats/reset")["requests"] == 0
    assert client.admin("GET", "stats")["writes"] == 0


def test_admin_state_reset_and_calendars(client: Client) -> None:
    event = client.event()
    contact = client.contact(emailAddress="a@example.org")
    client.ok(
        "POST",
        f"/events/{event['id']}/invitations",
        json={"contactId": contact["id"], "rsvpStatus": "", "attended": False},
    )
    state = client.admin("GET", "state")
    assert {key: len(value) for key, value in state.items()} == {
        "calendars": 9,
        "locations": 1,
        "events": 1,
        "contacts": 1,
        "invitations": 1,
    }
    assert state["contacts"][0]["emails"][0]["emailAddress"] == "a@example.org"
    client.admin("POST", "reset")
    state = client.admin("GET", "state")
    assert len(state["calendars"]) == 9
    assert all(not state[key] for key in ("locations", "events", "contacts", "invitations"))
    assert client.call("GET", "/contacts").status_code == 200  # tokens survive a reset
    answer = client.admin("POST", "calendars", json={"names": ["Rallies", "Meetings"]})
    assert [c["name"] for c in answer["calendars"]] == ["Rallies", "Meetings"]
    listed = client.ok("GET", "/calendars")
    assert [c["name"] for c in listed["data"]] == ["Rallies", "Meetings"]
    assert set(listed["data"][0]) == {"id", "name", "description", "timeZone"}


def test_unknown_route_and_method(client: Client) -> None:
    assert client.call("GET", "/nothing").status_code == 404
    assert client.call("DELETE", "/locations").status_code == 405


# --------------------------------------------------------------------------- answers (section 8)


def test_presets_cover_every_answer() -> None:
    assert set(HARSH_ANSWERS) == set(LENIENT_ANSWERS) == set(PdiAnswers.choices())
    assert all(HARSH_ANSWERS[name] != LENIENT_ANSWERS[name] for name in HARSH_ANSWERS)
    assert HARSH_ANSWERS == {
        "contact_search": "ignore_email",
        "contact_rows_have_emails": False,
        "duplicate_invitations": "accepted",
        "put_replaces": True,
    }
    assert PdiAnswers.choices()["contact_search"] == ("exact", "fuzzy", "ignore_email")
    assert PdiApp().answers.as_dict() == HARSH_ANSWERS  # harsh by default
    assert PdiApp(answers=LENIENT_ANSWERS).answers.as_dict() == LENIENT_ANSWERS
    with pytest.raises(ValueError, match="unknown"):
        PdiApp(answers={"contact_rows_have_emails": True, "nope": 1})
    with pytest.raises(ValueError, match="invalid value"):
        PdiApp(answers={"contact_search": "loose"})


def test_admin_answers_get_post_and_400s(client: Client) -> None:
    assert client.admin("GET", "answers") == HARSH_ANSWERS
    changed = client.answers(contact_search="fuzzy")
    assert changed == {**HARSH_ANSWERS, "contact_search": "fuzzy"}
    url = f"{client.url}/__admin/answers"
    for body, fragment in (
        ({"contact_lookup": "exact"}, "unknown"),
        ({"put_replaces": "false"}, "invalid value"),
        ({"put_replaces": 0}, "invalid value"),
        ({"duplicate_invitations": "accepted", "bogus": True}, "unknown"),
        ("exact", "JSON object"),
    ):
        response = requests.post(url, json=body, timeout=5)
        assert response.status_code == 400, body
        assert fragment in response.json()["message"]
    assert requests.post(url, data=b"{", timeout=5).status_code == 400
    assert client.admin("GET", "answers") == changed  # nothing applied by a 400


def _search(client: Client, **params: Any) -> list[str]:
    query = {"searchByEmail": "true", "limit": 50, **params}
    return [c["id"] for c in client.ok("GET", "/contacts", params=query)["data"]]


@pytest.mark.parametrize("mode", ["exact", "fuzzy", "ignore_email"])
def test_contact_search_answer(client: Client, mode: str) -> None:
    client.answers(contact_search=mode)
    ann = client.contact("Ann", "Lee", emailAddress="ann@x.org")["id"]
    other_domain = client.contact("Ann", "Park", emailAddress="ANN@y.com")["id"]
    joann = client.contact("Jo", "Ann", emailAddress="joann@x.org")["id"]
    bob = client.contact("Bob", "Lee", emailAddress="bob@x.org")["id"]
    client.ok(
        "POST",
        f"/contacts/{bob}/phones",
        json={"phoneNumber": "555-0100", "phoneType": "Mobile", "extension": ""},
    )
    expected = {
        "exact": [ann],
        "fuzzy": [ann, other_domain, joann],
        "ignore_email": [ann, other_domain, joann, bob],
    }[mode]
    assert _search(client, email=" Ann@X.org ") == expected
    # The other filters keep working in every mode.
    assert _search(client, email="ann@x.org", lastName="lee") == [
        i for i in expected if i in (ann, bob)
    ]
    assert _search(client, email="ann@x.org", firstName="BOB") == (
        [bob] if mode == "ignore_email" else []
    )
    assert _search(client, email="ann@x.org", phone="5550100") == (
        [bob] if mode == "ignore_email" else []
    )
    # Without searchByEmail=true the email is not used (every mode).
    assert _search(client, email="ann@x.org", searchByEmail="false") == [
        ann,
        other_domain,
        joann,
        bob,
    ]


@pytest.mark.parametrize("with_emails", [True, False])
def test_contact_rows_have_emails_answer(client: Client, with_emails: bool) -> None:
    client.answers(contact_rows_have_emails=with_emails)
    contact = client.contact(emailAddress="ada@example.org")
    client.ok(
        "POST",
        f"/contacts/{contact['id']}/phones",
        json={"phoneNumber": "5551234567", "extension": ""},
    )
    row = client.ok("GET", "/contacts")["data"][0]
    assert row["id"] == contact["id"]
    assert row["firstName"] == "Ada"
    assert ("emails" in row and "phones" in row) == with_emails
    if with_emails:
        assert [e["emailAddress"] for e in row["emails"]] == ["ada@example.org"]
    # The single read always has them: it is how a client confirms a match.
    single = client.ok("GET", f"/contacts/{contact['id']}")
    assert [e["emailAddress"] for e in single["emails"]] == ["ada@example.org"]
    assert [p["phoneNumber"] for p in single["phones"]] == ["5551234567"]


@pytest.mark.parametrize("mode", ["refused", "accepted"])
def test_duplicate_invitations_answer(client: Client, mode: str) -> None:
    client.answers(duplicate_invitations=mode)
    event = client.event()
    ada, bob = client.contact()["id"], client.contact("Bob", "Lee")["id"]
    path = f"/events/{event['id']}/invitations"
    body = {"contactId": ada, "rsvpStatus": "Yes", "attended": False}
    first = client.ok("POST", path, json=body)
    again = client.call("POST", path, json={**body, "rsvpStatus": "Maybe"})
    of_bob = client.ok("POST", path, json={**body, "contactId": bob})
    moved = client.call("PUT", f"{path}/{of_bob['id']}", json={**body, "contactId": ada})
    listed = client.ok("GET", path)["data"]
    if mode == "refused":
        assert (again.status_code, again.json()["message"]) == (
            400,
            "The contact has already been invited to this event.",
        )
        assert moved.status_code == 400
        assert [(i["id"], i["contactId"]) for i in listed] == [
            (first["id"], ada),
            (of_bob["id"], bob),
        ]
    else:
        assert again.status_code == moved.status_code == 200
        second = again.json()
        assert second["id"] != first["id"]
        assert [(i["id"], i["contactId"]) for i in listed] == [
            (first["id"], ada),
            (second["id"], ada),
            (of_bob["id"], ada),
        ]
    # Moving an invitation to another contact re-indexes it: the first contact is free again.
    carol = client.contact("Carol", "Diaz")["id"]
    client.ok("PUT", f"{path}/{first['id']}", json={**body, "contactId": carol})
    if mode == "refused":
        client.ok("POST", path, json=body)
        assert client.call("POST", path, json={**body, "contactId": carol}).status_code == 400
    # Other events are independent.
    client.ok("POST", f"/events/{client.event()['id']}/invitations", json=body)


@pytest.mark.parametrize("replaces", [True, False])
def test_put_replaces_answer_contacts_and_locations(client: Client, replaces: bool) -> None:
    client.answers(put_replaces=replaces)
    seeded = client.seed(
        "contacts",
        firstName="Ada",
        lastName="Lovelace",
        middleName="King",
        occupation="Analyst",
        employer="Engine Co",
        gender="F",
        volunteerStatus="Active",
        dateOfBirth="1815-12-10",
        pdiId="P-1",
        emails=["ada@example.org"],
        phones=["5551234567"],
    )
    path = f"/contacts/{seeded['id']}"
    client.ok("PUT", path, json={"firstName": "Augusta", "lastName": "King"})
    stored = client.ok("GET", path)
    kept = ("middleName", "occupation", "employer", "gender", "volunteerStatus", "dateOfBirth")
    assert (stored["firstName"], stored["lastName"]) == ("Augusta", "King")
    if replaces:
        assert all(stored[name] is None for name in kept)
    else:
        assert all(stored[name] == seeded[name] for name in kept)
    # Never touched by PUT, in both modes.
    assert (stored["emails"], stored["phones"], stored["pdiId"]) == (
        seeded["emails"],
        seeded["phones"],
        "P-1",
    )
    # Required fields: required on a replace; on a merge only a sent field is checked.
    only_first = client.call("PUT", path, json={"firstName": "Ada"})
    assert only_first.status_code == (400 if replaces else 200)
    assert client.call("PUT", path, json={"firstName": "Ada", "lastName": ""}).status_code == 400
    assert (
        client.call(
            "PUT", path, json={"firstName": "A", "lastName": "B", "gender": "X"}
        ).status_code
        == 400
    )

    location = client.location()
    answer = client.ok("PUT", f"/locations/{location['id']}", json={"locationName": "New"})
    assert answer == {"code": 201, "message": "Location updated."}
    address = client.ok("GET", f"/locations/{location['id']}")["locationAddress"]
    assert address == ("" if replaces else "1 Main")
    empty = client.call("PUT", f"/locations/{location['id']}", json={})
    assert empty.status_code == (400 if replaces else 200)


@pytest.mark.parametrize("replaces", [True, False])
def test_put_replaces_answer_events_and_invitations(client: Client, replaces: bool) -> None:
    client.answers(put_replaces=replaces)
    event = client.event(description="Bring water", isAllDay=True)
    path = f"/events/{event['id']}"
    required = {key: event[key] for key in ("locationId", "startDateTimeUtc", "endDateTimeUtc")}
    renamed = client.ok("PUT", path, json={**required, "name": "New", "eventCategoryId": 0})
    assert renamed["name"] == "New"
    assert renamed["calendarId"] == event["calendarId"]
    assert (renamed["description"], renamed["isAllDay"]) == (
        (None, False) if replaces else ("Bring water", True)
    )
    only_name = client.call("PUT", path, json={"name": "Newer"})
    assert only_name.status_code == (400 if replaces else 200)
    # Cross-field checks see the whole event (on a merge: the stored start and location).
    full = {**required, "name": "x", "eventCategoryId": 0}
    sent = {} if not replaces else full
    early_end = {**sent, "endDateTimeUtc": "2026-03-01T14:00:00.000Z"}
    assert client.call("PUT", path, json=early_end).status_code == 400
    later_end = {**sent, "endDateTimeUtc": "2026-03-01T18:00:00.000Z"}
    assert client.ok("PUT", path, json=later_end)["startDateTimeUtc"] == event["startDateTimeUtc"]
    stale = {**full, "locationId": "AAAAAAAAAAAAAAAAAAAAAA=="}
    assert client.call("PUT", path, json=stale).status_code == 400

    contact = client.contact()
    invitations = f"{path}/invitations"
    body = {"contactId": contact["id"], "rsvpStatus": "Yes", "attended": False, "isConfirmed": True}
    invitation = client.ok("POST", invitations, json=body)
    changed = client.ok(
        "PUT",
        f"{invitations}/{invitation['id']}",
        json={"contactId": contact["id"], "rsvpStatus": "Completed", "attended": True},
    )
    assert (changed["rsvpStatus"], changed["attended"]) == ("Completed", True)
    assert changed["isConfirmed"] is (not replaces)  # replace stores the create default
    partial = client.call("PUT", f"{invitations}/{invitation['id']}", json={"attended": False})
    assert partial.status_code == (400 if replaces else 200)
    if not replaces:
        assert partial.json() == {**changed, "attended": False}


@pytest.mark.parametrize("answers", [HARSH_ANSWERS, LENIENT_ANSWERS], ids=["harsh", "lenient"])
def test_put_contact_and_location_satisfy_parsons(client: Client, answers: dict[str, Any]) -> None:
    """Parsons' PDI client (parsons/pdi/pdi.py ``_request``, then ``update_contact`` and
    ``update_location``) sees ``code == 201``: the post-processing is reproduced here."""
    client.answers(**answers)

    def parsons_request(method: str, path: str, payload: dict[str, Any]) -> Any:
        res = client.call(method, path, json=payload)
        res.raise_for_status()
        if not res.text:
            return None
        res_json = res.json()
        if "data" not in res_json:
            return res_json
        return res_json["data"]  # (Parsons pages through lists here)

    contact = client.contact()
    res = parsons_request(
        "PUT", f"/contacts/{contact['id']}", {"firstName": "A", "lastName": "B", "gender": "U"}
    )
    assert res["code"] == 201
    location = client.location()
    res = parsons_request(
        "PUT", f"/locations/{location['id']}", {"locationName": "N", "locationAddress": "2 Main"}
    )
    assert res["code"] == 201


# --------------------------------------------------------------------------- admin seed, delete


def test_admin_seed_stores_objects_as_a_pdi_user_would(client: Client) -> None:
    client.answers(contact_search="exact")
    client.admin("POST", "stats/reset")
    contact = client.seed(
        "contacts",
        id="ignored",
        firstName="Grace",
        lastName="Hopper",
        middleName="Brewster",
        occupation="Admiral",
        emails=["grace@navy.mil", {"emailAddress": "G.Hopper@example.org", "isPrimary": True}],
        phones=[{"phoneNumber": "555-0199", "phoneType": "Work"}, "5550123"],
    )
    assert contact["id"] != "ignored"
    assert is_valid_id(contact["id"])
    assert client.ok("GET", f"/contacts/{contact['id']}") == contact
    assert [(e["emailAddress"], e["isPrimary"]) for e in contact["emails"]] == [
        ("grace@navy.mil", False),
        ("G.Hopper@example.org", True),
    ]
    assert [(p["phoneNumber"], p["phoneType"], p["extension"]) for p in contact["phones"]] == [
        ("555-0199", "Work", ""),
        ("5550123", "Mobile", ""),
    ]
    assert contact["namePrefix"] is None  # create defaults for what is not given
    # The email index knows the seeded addresses.
    assert _search(client, email="g.hopper@EXAMPLE.org") == [contact["id"]]

    other_tool = client.seed(
        "events", name="Imported rally", startDateTimeUtc="2026-05-01T12:00:00.000Z"
    )
    assert other_tool["locationId"] is None
    assert other_tool["calendarId"] == client.calendar_id()
    assert client.ok("GET", f"/events/{other_tool['id']}") == other_tool
    in_may = client.ok(
        "GET", "/events", params={"startDate": "2026-05-01", "endDate": "2026-05-31"}
    )
    assert [e["id"] for e in in_may["data"]] == [other_tool["id"]]
    undated = client.seed("events", name="No date")
    assert client.ok("GET", "/events")["totalCount"] == 2
    assert undated["id"] not in {e["id"] for e in in_may["data"]}

    location = client.seed("locations", locationName="Depot")
    assert location == {"id": location["id"], "locationName": "Depot", "locationAddress": ""}
    invitation = client.seed(
        "invitations", eventId=other_tool["id"], contactId=contact["id"], rsvpStatus="Yes"
    )
    # Seeding bypasses the duplicate rule (an invitation made in the UI).
    client.answers(duplicate_invitations="refused")
    twin = client.seed("invitations", eventId=other_tool["id"], contactId=contact["id"])
    listed = client.ok("GET", f"/events/{other_tool['id']}/invitations")["data"]
    assert [i["id"] for i in listed] == [invitation["id"], twin["id"]]
    assert client.admin("GET", "stats")["writes"] == 0  # admin seeds are not API writes


def test_admin_seed_rejects_bad_requests(client: Client) -> None:
    url = f"{client.url}/__admin/seed"
    contact = client.contact()
    for body in (
        {"kind": "flags", "object": {}},
        {"kind": "contacts"},
        {"kind": "contacts", "object": {"firstName": "x", "emails": "a@b.c"}},
        {"kind": "contacts", "object": {"firstName": "x", "phones": [{"phoneType": "Work"}]}},
        {"kind": "invitations", "object": {"contactId": contact["id"]}},
        {"kind": "invitations", "object": {"eventId": client.event()["id"], "contactId": "nope"}},
    ):
        assert requests.post(url, json=body, timeout=5).status_code == 400, body
    assert len(client.admin("GET", "state")["contacts"]) == 1  # nothing stored by a 400


def test_admin_delete_makes_ids_stale(client: Client) -> None:
    client.answers(contact_search="exact", duplicate_invitations="refused")
    event = client.event()
    ada = client.contact(emailAddress="ada@example.org")
    bob = client.contact("Bob", "Lee")
    invitations = f"/events/{event['id']}/invitations"
    of_ada = client.ok(
        "POST", invitations, json={"contactId": ada["id"], "rsvpStatus": "Yes", "attended": False}
    )
    of_bob = client.ok(
        "POST", invitations, json={"contactId": bob["id"], "rsvpStatus": "Yes", "attended": False}
    )

    def delete(kind: str, object_id: str) -> requests.Response:
        return requests.post(
            f"{client.url}/__admin/delete", json={"kind": kind, "id": object_id}, timeout=5
        )

    # An invitation: gone from the list, and its contact may be invited again.
    assert delete("invitations", of_bob["id"]).json() == of_bob
    assert [i["id"] for i in client.ok("GET", invitations)["data"]] == [of_ada["id"]]
    client.ok(
        "POST", invitations, json={"contactId": bob["id"], "rsvpStatus": "No", "attended": False}
    )
    # A contact: 404 afterwards, its emails and invitations gone.
    assert delete("contacts", ada["id"]).json()["emails"] == ada["emails"]
    assert client.call("GET", f"/contacts/{ada['id']}").status_code == 404
    assert (
        client.call(
            "PUT", f"/contacts/{ada['id']}", json={"firstName": "A", "lastName": "L"}
        ).status_code
        == 404
    )
    assert _search(client, email="ada@example.org") == []
    assert all(i["contactId"] != ada["id"] for i in client.admin("GET", "state")["invitations"])
    # An event: its invitations go with it.
    assert delete("events", event["id"]).status_code == 200
    assert client.call("GET", f"/events/{event['id']}").status_code == 404
    assert client.call("GET", invitations).status_code == 404
    assert client.admin("GET", "state")["invitations"] == []
    location = client.location()
    assert delete("locations", location["id"]).status_code == 200
    assert (
        client.call("PUT", f"/locations/{location['id']}", json={"locationName": "x"}).status_code
        == 404
    )
    # Unknown ids and kinds.
    assert delete("locations", location["id"]).status_code == 404
    assert delete("planets", location["id"]).status_code == 400


# --------------------------------------------------------------------------- CLI


def _cli_app(monkeypatch: pytest.MonkeyPatch, *flags: str) -> PdiApp:
    seen: dict[str, Any] = {}

    def fake_make_server(app: PdiApp, host: str, port: int, switches: Switches) -> Any:
        seen["app"] = app
        raise SystemExit(0)

    monkeypatch.setattr("sandbox.server.cli.make_server", fake_make_server)
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", *flags])
    assert exited.value.code == 0
    return seen["app"]


def test_cli_answers_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _cli_app(monkeypatch).answers.as_dict() == HARSH_ANSWERS
    assert _cli_app(monkeypatch, "--answers", "lenient").answers.as_dict() == LENIENT_ANSWERS
    app = _cli_app(
        monkeypatch,
        "--answers",
        "lenient",
        "--answer",
        "contact_search=fuzzy",
        "--answer",
        "put_replaces=true",
    )
    assert app.answers.as_dict() == {
        **LENIENT_ANSWERS,
        "contact_search": "fuzzy",
        "put_replaces": True,
    }


@pytest.mark.parametrize("flag", ["put_replaces=yes", "contact_search=loose", "nope=true", "=1"])
def test_cli_rejects_bad_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    monkeypatch.setattr("sandbox.server.cli.make_server", lambda *a, **k: pytest.fail("started"))
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--answer", flag])
    assert exited.value.code == 2
    assert "answer" in capsys.readouterr().err


def test_admin_update_tampers_as_a_pdi_user_would(client: Client) -> None:
    event = client.event()
    contact = client.contact(emailAddress="ada@example.org")
    invitations = f"/events/{event['id']}/invitations"
    invited = client.ok(
        "POST",
        invitations,
        json={"contactId": contact["id"], "rsvpStatus": "Yes", "attended": False},
    )
    calendars = client.ok("GET", "/calendars")["data"]
    other = next(c["id"] for c in calendars if c["id"] != event["calendarId"])
    writes = client.admin("GET", "stats")["writes"]

    def update(kind: str, object_id: str, fields: dict[str, Any]) -> requests.Response:
        return requests.post(
            f"{client.url}/__admin/update",
            json={"kind": kind, "id": object_id, "fields": fields},
            timeout=5,
        )

    # An event moved to another calendar and time, which the API itself cannot do.
    moved = {"calendarId": other, "startDateTimeUtc": "2026-03-02T15:00:00.000Z"}
    assert update("events", event["id"], moved).json() == {**event, **moved}
    assert client.ok("GET", f"/events/{event['id']}") == {**event, **moved}
    # An invitation's attendance flipped: the event's list shows it.
    flipped = {"attended": True, "rsvpStatus": "Completed"}
    assert update("invitations", invited["id"], flipped).json() == {**invited, **flipped}
    assert client.ok("GET", invitations)["data"] == [{**invited, **flipped}]
    # Not counted as API writes.
    assert client.admin("GET", "stats")["writes"] == writes
    # A contact's emails and phones replaced: the email search follows.
    client.answers(contact_search="exact")
    edited = update(
        "contacts", contact["id"], {"emails": ["ada@new.example.org"], "phones": ["555-0100"]}
    ).json()
    assert [e["emailAddress"] for e in edited["emails"]] == ["ada@new.example.org"]
    assert [p["phoneNumber"] for p in edited["phones"]] == ["555-0100"]

    def found_by(email: str) -> list[str]:
        params = {"email": email, "searchByEmail": "true"}
        return [c["id"] for c in client.ok("GET", "/contacts", params=params)["data"]]

    assert (found_by("ada@example.org"), found_by("ada@new.example.org")) == ([], [contact["id"]])
    # Ids and links cannot change; unknown ids, kinds and calendars are refused.
    assert update("invitations", invited["id"], {"contactId": "x"}).status_code == 400
    assert update("contacts", contact["id"], {"id": "x"}).status_code == 400
    assert update("events", event["id"], {"calendarId": "nope"}).status_code == 400
    assert update("events", "AAAAAAAAAAAAAAAAAAAAAA==", {"name": "x"}).status_code == 404
    assert update("flags", event["id"], {"name": "x"}).status_code == 400
    assert client.ok("GET", f"/events/{event['id']}") == {**event, **moved}


def test_admin_copy_makes_a_second_object_as_a_pdi_user_would(client: Client) -> None:
    event = client.event()
    contact = client.contact(emailAddress="ada@example.org")
    client.ok(
        "POST", f"/contacts/{contact['id']}/phones", json={"phoneNumber": "1", "extension": ""}
    )
    invited = client.ok(
        "POST",
        f"/events/{event['id']}/invitations",
        json={"contactId": contact["id"], "rsvpStatus": "Yes", "attended": False},
    )
    writes = client.admin("GET", "stats")["writes"]

    def copy(kind: str, object_id: str, **fields: Any) -> requests.Response:
        body = {"kind": kind, "id": object_id, "fields": fields}
        return requests.post(f"{client.url}/__admin/copy", json=body, timeout=5)

    # An event copied: every field but its id, in the same calendar, listed beside it.
    twin = copy("events", event["id"]).json()
    assert twin["id"] != event["id"]
    assert {**twin, "id": event["id"]} == event
    assert [e["id"] for e in client.ok("GET", "/events")["data"]] == [event["id"], twin["id"]]
    # A contact made twice holds the same email (the search finds both) and phone.
    client.answers(contact_search="exact")
    second = copy("contacts", contact["id"], firstName="Ada2").json()
    assert (second["firstName"], second["emails"][0]["emailAddress"]) == ("Ada2", "ada@example.org")
    assert [p["phoneNumber"] for p in second["phones"]] == ["1"]
    params = {"email": "ada@example.org", "searchByEmail": "true"}
    assert len(client.ok("GET", "/contacts", params=params)["data"]) == 2
    # A contact invited twice to one event: both listed.
    again = copy("invitations", invited["id"], rsvpStatus="Maybe").json()
    listed = client.ok("GET", f"/events/{event['id']}/invitations")["data"]
    assert [(i["id"], i["rsvpStatus"]) for i in listed] == [
        (invited["id"], "Yes"),
        (again["id"], "Maybe"),
    ]
    assert client.admin("GET", "stats")["writes"] == writes  # not API writes
    assert copy("events", "AAAAAAAAAAAAAAAAAAAAAA==").status_code == 404
    assert copy("flags", event["id"]).status_code == 400
