"""Stream behaviour a user notices: masked rows, key-less mode, attendance ids."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tap_mobilize.bookmarks import to_epoch

EVENTS = "/organizations/7/events"
ATTENDANCES = "/organizations/7/attendances"
PEOPLE = "/organizations/7/people"


def _attendance(attendance_id, *, person=101, event=201, timeslot=301, sponsor=7):
    return {
        "id": attendance_id,
        "created_date": 1_700_000_000,
        "modified_date": 1_700_000_100,
        "status": "REGISTERED",
        "attended": None,
        "person": {"id": person, "user_id": person + 5000, "given_name": "Ada"},
        "event": {"id": event, "title": "Canvass", "timeslots": None},
        "timeslot": {"id": timeslot, "start_date": 1, "end_date": 2},
        "sponsor": {"id": sponsor, "name": "Org"},
        "referrer": {"utm_source": "email", "url": "https://example.org"},
        "custom_signup_field_values": [
            {"custom_field_id": 5, "custom_field_name": "Shirt", "text_value": "M"}
        ],
        "rating": "Positive",
        "feedback": "Great shift",
    }


def _masked_attendance():
    row = _attendance(None, event=None, timeslot=None, sponsor=None)
    row.update(status=None, attended=None)
    row["event"] = {"id": None, "title": None, "event_type": "CANVASS", "is_virtual": False}
    return row


def test_attendances_carry_flat_ids_beside_the_nested_objects(mobilize, run_tap, config):
    mobilize.pages[ATTENDANCES] = [[_attendance(1), _attendance(2, person=102, event=None)]]

    result = run_tap(config, streams=["attendances"])

    first, second = result.records("attendances")
    assert (first["person_id"], first["event_id"], first["timeslot_id"], first["sponsor_id"]) == (
        101,
        201,
        301,
        7,
    )
    assert first["person"]["user_id"] == 5101
    assert first["custom_signup_field_values"][0]["text_value"] == "M"
    assert first["referrer"]["utm_source"] == "email"
    assert (first["rating"], first["feedback"]) == ("Positive", "Great shift")
    assert second["person_id"] == 102
    assert second["event_id"] is None  # a partly masked event id stays null, row kept


def test_masked_attendances_are_skipped_and_counted_once(mobilize, run_tap, config):
    mobilize.pages[ATTENDANCES] = [
        [_attendance(1), _masked_attendance()],
        [_masked_attendance(), _attendance(2), _masked_attendance()],
    ]

    result = run_tap(config, streams=["attendances"])

    assert [r["id"] for r in result.records("attendances")] == [1, 2]
    warnings = [line for line in result.log.splitlines() if "null id" in line]
    assert len(warnings) == 1
    assert "Stream 'attendances': skipped 3 record(s) with a null id" in warnings[0]


def test_ghost_events_and_masked_timeslots_are_skipped_with_one_warning_each(
    mobilize, run_tap, config, make_event
):
    ghost = make_event(None, 100, [{"id": None, "start_date": 1, "end_date": 2}])
    ghost["title"] = None
    mobilize.pages[EVENTS] = [
        [make_event(1, 100, [{"id": 11}, {"id": None}]), ghost],
        [make_event(2, 100, [{"id": None}, {"id": 21}])],
    ]

    result = run_tap(config, streams=["events", "timeslots"])

    assert [r["id"] for r in result.records("events")] == [1, 2]
    assert [r["id"] for r in result.records("timeslots")] == [11, 21]
    # The event record keeps Mobilize's nested array as sent, masked slot included.
    assert len(result.records("events")[0]["timeslots"]) == 2
    log = result.log
    assert log.count("Stream 'events': skipped 1 record(s) with a null id") == 1
    assert log.count("Stream 'timeslots': skipped 2 record(s) with a null id") == 1


def test_without_a_key_people_and_attendances_are_skipped_with_a_warning(
    mobilize, run_tap, config, make_event
):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    del config["api_key"]

    result = run_tap(config)

    called = set(mobilize.paths_called())
    assert f"/v1{PEOPLE}" not in called
    assert f"/v1{ATTENDANCES}" not in called
    for stream in ("people", "attendances"):
        assert result.log.count(f"Skipping stream '{stream}'") == 1
        assert result.records(stream) == []
    assert "set the api_key setting" in result.log
    # Events still sync, public only: no visibility/approval parameters, one warning.
    assert [r["id"] for r in result.records("events")] == [1]
    query = parse_qs(urlparse(mobilize.calls_to(EVENTS)[0]).query)
    assert "visibility" not in query
    assert "approval_status" not in query
    assert result.log.count("only public, approved events are read") == 1
    deleted = parse_qs(urlparse(mobilize.calls_to("/organizations/7/events/deleted")[0]).query)
    assert "visibility" not in deleted


def test_without_a_key_no_authorization_header_is_sent(mobilize, run_tap, config, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    del config["api_key"]
    run_tap(config, streams=["events"])
    request = mobilize.rsps.calls[0].request
    assert "Authorization" not in request.headers


def test_with_a_key_it_is_sent_as_a_bearer_token(mobilize, run_tap, config, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    run_tap(config, streams=["events"])
    request = mobilize.rsps.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {config['api_key']}"
    assert request.headers["User-Agent"].startswith("tap-mobilize/")


def test_streams_sync_parents_first(mobilize, run_tap, config):
    result = run_tap(config)
    order = []
    for message in result.messages:
        if message["type"] == "SCHEMA" and message["stream"] not in order:
            order.append(message["stream"])
    assert order == [
        "organization",
        "events",
        "deleted_events",
        "people",
        "attendances",
    ]  # timeslots' SCHEMA only appears once an event brings timeslots


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000, 1_700_000_000),
        ("1700000000", 1_700_000_000),
        ("2024-01-01T00:00:00Z", 1_704_067_200),
        ("2024-01-01T00:00:00+00:00", 1_704_067_200),
        ("2024-01-01T01:00:00+01:00", 1_704_067_200),
        ("2024-01-01", 1_704_067_200),
    ],
)
def test_to_epoch_accepts_bookmarks_and_start_dates(value, expected):
    assert to_epoch(value) == expected
