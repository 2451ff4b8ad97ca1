"""Seed rules (pdi-api.md 6.1) as pure functions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from target_pdi.rules import payloads as P
from target_pdi.rules import people_payloads as PP
from target_pdi.rules import values as V

PLACEHOLDER = "This event's address is private. Sign up for more details"


def event(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7,
        "title": "Canvass",
        "description": "<p>Knock</p>",
        "browser_url": "https://mobilize.us/e/7/",
        "is_virtual": False,
        "address_visibility": "PUBLIC",
        "contact": {"email_address": "host@x.org", "phone_number": "555"},
        "location": {
            "venue": "Union Hall",
            "address_lines": ["123 Main St", "Apt 4"],
            "locality": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "location": {"latitude": 39.781721, "longitude": -89.650148},
        },
    }
    base.update(kw)
    return base


def test_location_venue_and_full_address() -> None:
    assert P.location_payload(event()) == {
        "locationName": "Union Hall",
        "locationAddress": "123 Main St, Apt 4, Springfield, IL 62701",
    }


def test_location_without_venue_uses_address_and_skips_blank_lines() -> None:
    loc = {**event()["location"], "venue": "", "address_lines": ["123 Main St", ""]}
    assert P.location_payload(event(location=loc)) == {
        "locationName": "123 Main St, Springfield, IL 62701",
        "locationAddress": "123 Main St, Springfield, IL 62701",
    }


@pytest.mark.parametrize(
    "kw",
    [
        {"address_visibility": "PRIVATE"},
        {"location": {"venue": PLACEHOLDER, "address_lines": [PLACEHOLDER, ""], "locality": "X"}},
    ],
)
def test_private_address_is_never_written(kw: dict[str, Any]) -> None:
    assert P.location_payload(event(**kw)) == {
        "locationName": "Private Venue",
        "locationAddress": "",
    }
    # keyed by name+address, never by coordinates shared with a public venue
    assert P.location_key(event(**kw)) == "addr:private venue|"


def test_virtual_event() -> None:
    assert P.location_payload(event(is_virtual=True, location=None)) == {
        "locationName": "Virtual",
        "locationAddress": "",
    }


def test_location_key_rounds_coordinates_and_accepts_decimal() -> None:
    a = P.location_key(event())
    geo = {"latitude": Decimal("39.7817209"), "longitude": Decimal("-89.6501481")}
    b = P.location_key(event(location={**event()["location"], "location": geo}))
    assert a == b == "geo:39.78172,-89.65015"
    no_geo = {**event()["location"], "location": None}
    assert P.location_key(event(location=no_geo)).startswith("addr:union hall|123 main st")


def test_event_payload() -> None:
    slot = {"id": 1, "start_date": 1793313200, "end_date": 1793320400}
    assert P.event_payload(event(), slot, "LOC") == {
        "name": "Canvass",
        "description": "<p>Knock</p>",
        "website": "https://mobilize.us/e/7/",
        "startDateTimeUtc": "2026-10-29T22:33:20.000Z",
        "endDateTimeUtc": "2026-10-30T00:33:20.000Z",
        "phone": "555",
        "contactEmail": "host@x.org",
        "locationId": "LOC",
        "isAllDay": "false",
        "eventCategoryId": 0,
    }


def test_event_payload_tolerates_missing_fields() -> None:
    payload = P.event_payload({"id": 9}, {"start_date": "1793313200"}, "L")
    assert payload["name"] == "Mobilize event 9"
    assert payload["endDateTimeUtc"] == payload["startDateTimeUtc"]
    assert payload["phone"] == payload["contactEmail"] == payload["description"] == ""
    with pytest.raises(ValueError, match="start_date"):
        P.event_payload({"id": 9}, {}, "L")


def test_canceled_prefix_once() -> None:
    once = P.canceled_name("Canvass")
    assert once == "[Canceled] Canvass"
    assert P.canceled_name(once) == once
    assert P.strip_canceled(once) == "Canvass"


def test_contact_payload_email_trimmed_lowercased_primary_first() -> None:
    person = {
        "given_name": " Ann ",
        "family_name": "Lee",
        "email_addresses": [
            {"primary": False, "address": "old@x.org"},
            {"primary": True, "address": " Ann@X.org "},
        ],
        "phone_numbers": [{"primary": True, "number": "555-1"}],
    }
    assert PP.contact_payload(person) == {
        "firstName": "Ann",
        "lastName": "Lee",
        "emailAddress": "ann@x.org",
    }
    assert PP.person_phone(person) == "555-1"
    assert PP.phone_payload("555-1") == {
        "phoneNumber": "555-1",
        "phoneType": "Mobile",
        "isPrimary": True,
        "extension": "",
    }


def test_person_without_email_is_not_guessed() -> None:
    assert PP.person_email({"email_addresses": []}) is None
    assert PP.person_email({"email_addresses": [{"address": "not-an-email"}]}) is None
    with pytest.raises(ValueError, match="no email"):
        PP.contact_payload({"given_name": "X"})


@pytest.mark.parametrize(
    ("status", "attended", "rsvp", "confirmed", "flag"),
    [
        ("REGISTERED", None, "Yes", False, False),
        ("CONFIRMED", None, "Yes", True, False),
        ("CANCELLED", None, "Cancelled", False, False),
        ("CANCELLED", True, "Cancelled", False, True),
        ("REGISTERED", True, "Completed", False, True),
        ("CONFIRMED", True, "Completed", True, True),
        ("REGISTERED", False, "No-Show", False, False),
    ],
)
def test_invitation_status_mapping(
    status: str, attended: bool | None, rsvp: str, confirmed: bool, flag: bool
) -> None:
    assert PP.invitation_payload({"status": status, "attended": attended}, "C1") == {
        "contactId": "C1",
        "rsvpStatus": rsvp,
        "isConfirmed": confirmed,
        "attended": flag,
    }


def test_invitation_on_canceled_event_is_cancelled() -> None:
    payload = PP.invitation_payload({"status": "CONFIRMED", "attended": None}, "C1", canceled=True)
    assert payload["rsvpStatus"] == "Cancelled"
    assert payload["isConfirmed"] is False


def test_same_content_normalises_pdi_answers() -> None:
    desired = {
        "name": "A",
        "isAllDay": "false",
        "startDateTimeUtc": "2026-10-29T22:33:20.000Z",
        "locationId": "L",
    }
    found = {
        "Name": "A",
        "isAllDay": False,
        "startDateTimeUtc": "2026-10-29T22:33:20Z",
        "locationId": "L",
        "x": 1,
    }
    assert V.same_content(found, desired)
    assert not V.same_content({**found, "Name": "B"}, desired)
    assert V.same_content({}, desired)  # nothing reported: nothing to correct


def test_content_hash_is_stable() -> None:
    assert V.content_hash({"a": 1, "b": Decimal("2")}) == V.content_hash({"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("website", "key"),
    [
        ("https://www.mobilize.us/org/event/101/", "event:101"),
        ("https://www.mobilize.us/org/event/101", "event:101"),
        ("https://www.mobilize.us/org/event/101/?timeslot=7", "event:101"),
        ("https://www.mobilize.us/org/event/1010/", "event:1010"),
        ("https://example.org/Our-Events/", "url:https://example.org/our-events"),
        ("", None),
        (None, None),
    ],
)
def test_site_key_names_the_mobilize_event(website: str | None, key: str | None) -> None:
    assert P.site_key(website) == key


@pytest.mark.parametrize("website", [None, "", "  "])
def test_every_event_payload_has_an_identity_pdis_row_of_it_shares(website: Any) -> None:
    slot = {"start_date": 1_800_000_000, "end_date": 1_800_007_200}
    payload = P.event_payload(event(browser_url=website), slot, "L1")
    # PDI's row of it: its own id and calendar, keys in any case, the times in its format.
    row = {k.upper(): v for k, v in payload.items()}
    row.update(ID="E1", CALENDARID="C1", ENDDATETIMEUTC="2027-01-15T10:00:00Z")
    assert P.event_identity(payload) == P.event_identity(row) == "unsited:1800007200:Canvass"
    assert P.event_identity({**payload, "name": "Canvass at noon"}) != P.event_identity(payload)
    assert P.event_identity({**payload, "endDateTimeUtc": "2027-01-15T11:00:00Z"}) != (
        P.event_identity(payload)
    )
    sited = P.event_payload(event(), slot, "L1")
    site = "url:https://mobilize.us/e/7"  # this fixture's website names no Mobilize event id
    assert P.event_identity(sited) == P.event_identity({**sited, "name": "Renamed"}) == site
    assert P.event_identity({"id": "E2", "website": ""}) is None  # a row with neither


def test_contact_update_keeps_every_field_the_sync_does_not_own() -> None:
    current = {
        "id": "C1",
        "FirstName": "Old",
        "lastName": "Name",
        "middleName": "Quinn",
        "occupation": "Nurse",
        "gender": "F",
        "dateOfBirth": "1980-02-03",
        "emails": [{"emailAddress": "a@b.org"}],
    }
    body = PP.contact_update_body(current, {"firstName": "New", "lastName": "Name"})
    assert body == {
        "firstName": "New",
        "lastName": "Name",
        "middleName": "Quinn",
        "occupation": "Nurse",
        "gender": "F",
        "dateOfBirth": "1980-02-03",
    }


def test_redaction_leaves_ordinary_text_alone() -> None:
    from target_pdi.redact import redact

    assert redact("Bearer of good news") == "Bearer of good news"
    assert "abcdefghijklmnopqrstuvwx" not in redact(
        "Authorization: Bearer abcdefghijklmnopqrstuvwx"
    )
    assert redact("header Bearer abcdefghijklmnopqrstuvwx.y") == "header Bearer ***"
