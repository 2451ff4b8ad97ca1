"""The attendances re-check window, against a stubbed Mobilize with a fixed clock."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tap_mobilize.errors import MobilizeFatalError

EVENTS = "/organizations/7/events"
ATTENDANCES = "/organizations/7/attendances"
DAY = 86_400
OLD = 1_600_000_000  # a modified_date long before any bookmark below


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def _signups(event_id: int) -> str:
    return f"{EVENTS}/{event_id}/attendances"


def _attendance(attendance_id, event_id, modified=OLD, **fields):
    return {
        "id": attendance_id,
        "modified_date": modified,
        "status": "REGISTERED",
        "attended": None,
        "person": {"id": 100 + attendance_id},
        "event": {"id": event_id},
        "timeslot": {"id": event_id * 10 + 1},
        "sponsor": {"id": 7},
        **fields,
    }


def _window_event(make_event, event_id):
    # What Mobilize answers with timeslot filters: the nested timeslots trimmed.
    return make_event(event_id, OLD, [{"id": event_id * 10 + 1, "start_date": 5, "end_date": 6}])


@pytest.fixture
def bookmarked(fixed_now):
    """State of an incremental run: attendances bookmarked an hour before now."""
    return {
        "bookmarks": {
            "attendances": {
                "replication_key": "modified_date",
                "replication_key_value": fixed_now - 3_600,
            }
        }
    }


@pytest.fixture
def run_incremental(run_tap, config, bookmarked):
    """Run attendances from the bookmark, with settings on top of the test config."""

    def run(**settings):
        return run_tap({**config, **settings}, state=bookmarked, streams=["attendances"])

    return run


@pytest.fixture
def window(mobilize, make_event):
    """Events 900 and 901 have a timeslot in the window; each has signups."""

    def serve(*pages: list[int]) -> None:
        """Window events, one list of ids per page."""
        mobilize.pages_when[(EVENTS, "timeslot_start")] = [
            [_window_event(make_event, event_id) for event_id in page] for page in pages
        ] or [[]]

    serve([900, 901])
    mobilize.pages[_signups(900)] = [[_attendance(1, 900), _attendance(2, 900)]]
    mobilize.pages[_signups(901)] = [[_attendance(3, 901, attended=True)]]
    return serve


@pytest.mark.usefixtures("window")
def test_the_window_is_one_events_list_request_around_now(
    mobilize, run_tap, config, bookmarked, fixed_now
):
    run_tap(config, state=bookmarked, streams=["attendances"])

    (listing,) = mobilize.calls_to(EVENTS)
    query = _query(listing)
    assert query["timeslot_start"] == [f"lte_{fixed_now + 2 * DAY}"]
    assert query["timeslot_end"] == [f"gte_{fixed_now - 3 * DAY}"]
    assert query["per_page"] == ["2"]
    # The same visibility/approval filters the events stream sends with a key.
    assert query["visibility"] == ["PUBLIC", "PRIVATE"]
    assert len(query["approval_status"]) == 4
    assert "updated_since" not in query
    assert [urlparse(u).path for u in mobilize.calls_to(_signups(900))] == [f"/v1{_signups(900)}"]
    assert _query(mobilize.calls_to(_signups(900))[0]) == {"per_page": ["2"]}


@pytest.mark.usefixtures("window")
def test_the_window_follows_the_day_settings(mobilize, run_tap, config, bookmarked, fixed_now):
    settings = {"recheck_days_before": 0, "recheck_days_after": 10}
    run_tap({**config, **settings}, state=bookmarked, streams=["attendances"])

    query = _query(mobilize.calls_to(EVENTS)[0])
    assert query["timeslot_start"] == [f"lte_{fixed_now}"]
    assert query["timeslot_end"] == [f"gte_{fixed_now - 10 * DAY}"]


@pytest.mark.usefixtures("window")
def test_signups_older_than_the_bookmark_are_emitted_flattened(
    mobilize, run_tap, config, bookmarked, fixed_now
):
    result = run_tap(config, state=bookmarked, streams=["attendances"])

    records = result.records("attendances")
    assert [(r["id"], r["modified_date"]) for r in records] == [(1, OLD), (2, OLD), (3, OLD)]
    assert (records[2]["event_id"], records[2]["person_id"], records[2]["attended"]) == (
        901,
        103,
        True,
    )
    # Re-read rows are older than the bookmark: it must not move backwards.
    assert result.bookmark("attendances") == fixed_now - 3_600
    assert (
        "re-check window 2023-11-11T22:13:20Z to 2023-11-16T22:13:20Z: 2 event(s) with a "
        "timeslot in it, 3 signup(s) re-read, 3 of them not already emitted" in result.log
    )


@pytest.mark.usefixtures("window")
def test_window_events_are_never_emitted(mobilize, run_tap, config, make_event, bookmarked):
    # The events stream reads its own, unfiltered list; the window's trimmed copies of
    # events 900/901 must not reach the events or timeslots streams.
    full = make_event(900, 5_000, [{"id": 9001}, {"id": 9002}])
    mobilize.pages[EVENTS] = [[full]]
    state = {
        "bookmarks": {
            **bookmarked["bookmarks"],
            "events": {"replication_key": "modified_date", "replication_key_value": 4_000},
        }
    }

    result = run_tap(config, state=state, streams=["events", "timeslots", "attendances"])

    assert [(e["id"], len(e["timeslots"])) for e in result.records("events")] == [(900, 2)]
    assert [t["id"] for t in result.records("timeslots")] == [9001, 9002]
    assert len(mobilize.calls_to(EVENTS)) == 2  # the events stream's and the window's
    assert result.bookmark("events") == 5_000


@pytest.mark.usefixtures("window")
def test_a_signup_already_emitted_in_this_version_is_not_emitted_again(
    mobilize, run_tap, config, bookmarked, fixed_now
):
    changed = fixed_now - 60
    mobilize.pages[ATTENDANCES] = [[_attendance(1, 900, changed), _attendance(2, 900, changed)]]
    # Signup 2 changed again between the two reads: that newer version is emitted.
    mobilize.pages[_signups(900)] = [
        [_attendance(1, 900, changed), _attendance(2, 900, changed + 5)]
    ]

    result = run_tap(config, state=bookmarked, streams=["attendances"])

    emitted = [(r["id"], r["modified_date"]) for r in result.records("attendances")]
    assert emitted == [(1, changed), (2, changed), (2, changed + 5), (3, OLD)]
    assert result.bookmark("attendances") == changed + 5


@pytest.mark.usefixtures("window")
def test_re_read_rows_are_capped_like_the_rest(mobilize, run_tap, config, bookmarked, fixed_now):
    # A signup changed after the read began (it reached only the re-check).
    mobilize.pages[_signups(901)] = [[_attendance(3, 901, fixed_now + 30)]]
    result = run_tap(config, state=bookmarked, streams=["attendances"])
    assert result.bookmark("attendances") == fixed_now


@pytest.mark.usefixtures("window")
def test_masked_signups_are_skipped_in_the_re_check_too(mobilize, run_tap, config, bookmarked):
    masked = {**_attendance(0, 900), "id": None, "event": {"id": None}}
    mobilize.pages[_signups(900)] = [[masked, _attendance(2, 900)]]

    result = run_tap(config, state=bookmarked, streams=["attendances"])

    assert [r["id"] for r in result.records("attendances")] == [2, 3]
    assert "Stream 'attendances': skipped 1 record(s) with a null id" in result.log


@pytest.mark.usefixtures("window")
def test_disabled_by_the_setting(mobilize, run_tap, config, bookmarked):
    result = run_tap(
        {**config, "recheck_recent_signups": False}, state=bookmarked, streams=["attendances"]
    )
    assert result.records("attendances") == []
    assert mobilize.paths_called() == [f"/v1{ATTENDANCES}"]
    assert "re-check window" not in result.log


@pytest.mark.usefixtures("window")
def test_not_done_on_a_first_run(mobilize, run_tap, config, fixed_now):
    mobilize.pages[ATTENDANCES] = [[_attendance(1, 900, fixed_now - 60)]]
    result = run_tap({**config, "start_date": "2023-01-01T00:00:00Z"}, streams=["attendances"])
    assert [r["id"] for r in result.records("attendances")] == [1]
    assert mobilize.paths_called() == [f"/v1{ATTENDANCES}"]


@pytest.mark.usefixtures("window")
def test_an_event_deleted_meanwhile_is_skipped(mobilize, run_tap, config, bookmarked):
    gone = {"data": None, "error": {"detail": "Not found."}}
    mobilize.failures[_signups(900)] = [(404, {}, gone)]

    result = run_tap(config, state=bookmarked, streams=["attendances"])

    assert [r["id"] for r in result.records("attendances")] == [3]
    assert "event 900 answered HTTP 404" in result.log
    assert "1 signup(s) re-read" in result.log


def test_an_empty_window_costs_one_request(mobilize, run_tap, config, bookmarked, window):
    window()  # no event has a timeslot near now
    result = run_tap(config, state=bookmarked, streams=["attendances"])
    assert mobilize.paths_called() == [f"/v1{ATTENDANCES}", f"/v1{EVENTS}"]
    assert "0 event(s) with a timeslot in it, 0 signup(s) re-read" in result.log


def test_re_check_requests_page_and_retry_like_the_stream(
    mobilize, run_incremental, window, sleeps
):
    # Two pages of window events at per_page 2, and two pages of signups after a 429.
    window([900, 901], [902])
    mobilize.pages[_signups(902)] = [[_attendance(5, 902)], [_attendance(6, 902)]]
    mobilize.failures[_signups(902)] = [(429, {"Retry-After": "3"}, None)]

    result = run_incremental()

    assert [r["id"] for r in result.records("attendances")] == [1, 2, 3, 5, 6]
    listing = mobilize.calls_to(EVENTS)
    assert len(listing) == 2
    assert _query(listing[1])["cursor"] == ["1"]
    assert _query(listing[1])["timeslot_start"] == _query(listing[0])["timeslot_start"]
    signups = mobilize.calls_to(_signups(902))
    assert len(signups) == 3  # the 429, then two pages
    assert _query(signups[2]) == {"per_page": ["2"], "cursor": ["1"]}
    # The shared pause for the 429's Retry-After; what follows is pacing at the lowered rate.
    assert sleeps[0] == 3
    assert all(s < 1 for s in sleeps[1:])
    assert "answered HTTP 429" in result.log


@pytest.mark.usefixtures("window")
def test_re_check_next_links_are_host_checked(mobilize, run_tap, config, bookmarked):
    mobilize.pages[_signups(900)] = [[_attendance(1, 900)], [_attendance(2, 900)]]
    mobilize.next_base = "https://evil.example/v1"
    with pytest.raises(MobilizeFatalError, match="refusing to send the API key"):
        run_tap(config, state=bookmarked, streams=["attendances"])
    assert all(urlparse(u).hostname == "api.mobilize.test" for u in mobilize.calls)


@pytest.mark.usefixtures("window")
def test_a_forbidden_re_check_still_fails_the_run(mobilize, run_tap, config, bookmarked):
    mobilize.failures[_signups(901)] = [(403, {}, {"data": None, "error": {}})]
    with pytest.raises(MobilizeFatalError, match="check the api_key setting"):
        run_tap(config, state=bookmarked, streams=["attendances"])
