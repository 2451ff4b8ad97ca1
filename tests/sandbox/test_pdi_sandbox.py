"""The PDI simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sandbox._server import SandboxServer, Switches, make_server
from sandbox.pdi import DEFAULT_CALENDARS, PdiApp, is_valid_id

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
    contact = client.contact(emailAddress="ada@example.org", volunteerStatus="active")
    assert contact["volunteerStatus"] == "Active"
    assert contact["emails"] == [
        {"id": contact["emails"][0]["id"], "emailAddress": "ada@example.org", "isPrimary": True}
    ]
    put = client.ok("PUT", f"/contacts/{contact['id']}", json={"firstName": "A", "lastName": "L"})
    assert put["code"] == 201
    assert put["data"]["firstName"] == "A"
    assert put["data"]["emails"] == contact["emails"]  # emails are kept
    no_last = client.call("PUT", f"/contacts/{contact['id']}", json={"firstName": "A"})
    assert no_last.status_code == 400
    assert no_last.json()["modelState"] == {"lastName": ["The LastName field is required."]}
    assert client.call("POST", "/contacts", json={"lastName": "x"}).status_code == 400
    location = client.location()
    answer = client.ok("PUT", f"/locations/{location['id']}", json={"locationName": "New"})
    # Full replace: the omitted address is cleared.
    assert answer == {
        "code": 201,
        "data": {**location, "locationName": "New", "locationAddress": ""},
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
    # Partial update.
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
    assert client.call("PUT", f"{path}/{invitation['id']}", json={}).status_code == 400
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
