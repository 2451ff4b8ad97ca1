"""Paging, dedupe and bookmarks, against a stubbed Mobilize."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

EVENTS = "/organizations/7/events"


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def test_next_link_is_followed_verbatim_without_repeating_params(
    mobilize, run_tap, config, make_event
):
    mobilize.pages[EVENTS] = [
        [make_event(1, 100), make_event(2, 100)],
        [make_event(3, 100), make_event(4, 100)],
        [make_event(5, 100)],
    ]

    result = run_tap(config, streams=["events"])

    assert [r["id"] for r in result.records("events")] == [1, 2, 3, 4, 5]
    first, second, third = mobilize.calls_to(EVENTS)
    assert "cursor" not in _query(first)
    # The second request is exactly the `next` URL the stub built from the first.
    assert _query(second)["cursor"] == ["1"]
    for url in (second, third):
        query = _query(url)
        assert query["per_page"] == ["2"]
        assert query["visibility"] == ["PUBLIC", "PRIVATE"]
        assert query["approval_status"] == [
            "APPROVED",
            "NEEDS_APPROVAL",
            "REJECTED",
            "NEEDS_HOST_VERIFICATION",
        ]


def test_with_a_key_events_ask_for_private_and_unapproved(mobilize, run_tap, config, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    run_tap(config, streams=["events"])
    query = _query(mobilize.calls_to(EVENTS)[0])
    assert query["visibility"] == ["PUBLIC", "PRIVATE"]
    assert len(query["approval_status"]) == 4


def test_a_row_repeated_across_pages_is_emitted_once(mobilize, run_tap, config, make_event):
    mobilize.pages[EVENTS] = [
        [make_event(1, 100), make_event(2, 150)],
        [make_event(1, 100), make_event(3, 120)],  # 1 again, unchanged
        [make_event(2, 90), make_event(2, 200)],  # an older copy, then a newer version
    ]

    result = run_tap(config, streams=["events"])

    emitted = [(r["id"], r["modified_date"]) for r in result.records("events")]
    assert emitted == [(1, 100), (2, 150), (3, 120), (2, 200)]
    assert result.bookmark("events") == 200


def test_bookmark_is_the_highest_modified_date_even_when_unsorted(
    mobilize, run_tap, config, make_event
):
    mobilize.pages[EVENTS] = [[make_event(1, 500), make_event(2, 300)], [make_event(3, 400)]]
    result = run_tap(config, streams=["events"])
    assert result.bookmark("events") == 500


def test_updated_since_is_bookmark_minus_lookback(mobilize, run_tap, config, make_event):
    # A row older than the bookmark comes back because of the lookback; that is normal.
    mobilize.pages[EVENTS] = [[make_event(1, 999_800)]]
    state = {
        "bookmarks": {
            "events": {"replication_key": "modified_date", "replication_key_value": 1_000_000}
        }
    }

    result = run_tap({**config, "lookback_seconds": 300}, state=state, streams=["events"])

    assert _query(mobilize.calls_to(EVENTS)[0])["updated_since"] == ["999700"]
    assert [r["id"] for r in result.records("events")] == [1]
    assert result.bookmark("events") == 1_000_000


def test_start_date_is_sent_as_epoch_seconds_on_the_first_run(
    mobilize, run_tap, config, make_event
):
    mobilize.pages[EVENTS] = [[make_event(1, 1_704_067_300)]]

    result = run_tap({**config, "start_date": "2024-01-01T00:00:00Z"}, streams=["events"])

    # No lookback on an explicit start_date: the user asked for exactly that bound.
    assert _query(mobilize.calls_to(EVENTS)[0])["updated_since"] == ["1704067200"]
    assert result.bookmark("events") == 1_704_067_300


def test_a_bookmark_wins_over_start_date(mobilize, run_tap, config, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    state = {
        "bookmarks": {"events": {"replication_key": "modified_date", "replication_key_value": 5000}}
    }
    run_tap(
        {**config, "start_date": "2024-01-01T00:00:00Z", "lookback_seconds": 0},
        state=state,
        streams=["events"],
    )
    assert _query(mobilize.calls_to(EVENTS)[0])["updated_since"] == ["5000"]


def test_first_run_without_start_date_reads_everything(mobilize, run_tap, config, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    run_tap(config, streams=["events"])
    query = _query(mobilize.calls_to(EVENTS)[0])
    assert "updated_since" not in query
    assert query["per_page"] == ["2"]


def test_deleted_events_bookmark_on_deleted_date(mobilize, run_tap, config):
    path = "/organizations/7/events/deleted"
    mobilize.pages[path] = [[{"id": 9, "deleted_date": 700}, {"id": 8, "deleted_date": 650}]]
    state = {
        "bookmarks": {
            "deleted_events": {"replication_key": "deleted_date", "replication_key_value": 600}
        }
    }

    result = run_tap({**config, "lookback_seconds": 60}, state=state, streams=["deleted_events"])

    query = _query(mobilize.calls_to(path)[0])
    assert query["updated_since"] == ["540"]
    assert query["visibility"] == ["PUBLIC", "PRIVATE"]
    assert result.bookmark("deleted_events") == 700


def test_timeslots_come_from_the_event_without_extra_requests(
    mobilize, run_tap, config, make_event
):
    slots = [
        {"id": 11, "start_date": 1, "end_date": 2, "is_full": False, "instructions": None},
        {"id": 12, "start_date": 3, "end_date": 4, "is_full": True, "instructions": "Bring water"},
    ]
    mobilize.pages[EVENTS] = [[make_event(1, 100, slots), make_event(2, 100, [])]]

    result = run_tap(config, streams=["events", "timeslots"])

    assert mobilize.paths_called() == [f"/v1{EVENTS}"]
    assert result.records("timeslots") == [
        {**slots[0], "event_id": 1},
        {**slots[1], "event_id": 1},
    ]
    # The event keeps its nested timeslots, as Mobilize sent them.
    assert result.records("events")[0]["timeslots"][1]["instructions"] == "Bring water"
    # No per-event state partitions, and events stay incremental.
    assert "partitions" not in result.final_state["bookmarks"].get("timeslots", {})
    assert result.bookmark("events") == 100


def test_organization_stream_keeps_only_the_configured_org_and_stops_paging(
    mobilize, run_tap, config
):
    mobilize.pages["/organizations"] = [
        [{"id": 1, "name": "Other", "modified_date": 10}, {"id": 2, "modified_date": 11}],
        [{"id": 7, "name": "Ours", "modified_date": 12}, {"id": 8, "modified_date": 13}],
        [{"id": 9, "modified_date": 14}],
    ]

    result = run_tap(config, streams=["organization"])

    assert [r["name"] for r in result.records("organization")] == ["Ours"]
    assert len(mobilize.calls_to("/organizations")) == 2  # the third page is never needed
    assert result.bookmark("organization") == 12


def _bookmark_state(stream: str, value: int, key: str = "modified_date") -> dict:
    return {"bookmarks": {stream: {"replication_key": key, "replication_key_value": value}}}


def test_bookmark_is_capped_at_the_time_the_read_began(
    mobilize, run_tap, config, make_event, fixed_now
):
    # Event 2 changed while the read was running (after it began): the bookmark may not
    # pass the start, or a row changed on an already-read page could be missed for ever.
    mobilize.pages[EVENTS] = [[make_event(1, fixed_now - 50), make_event(2, fixed_now + 900)]]

    first = run_tap({**config, "lookback_seconds": 300}, streams=["events"])

    assert first.bookmark("events") == fixed_now
    run_tap({**config, "lookback_seconds": 300}, state=first.final_state, streams=["events"])
    # The next run reaches back before the read's start, over what changed during it.
    assert _query(mobilize.calls_to(EVENTS)[-1])["updated_since"] == [str(fixed_now - 300)]


def test_a_bookmark_below_the_read_start_is_not_capped(
    mobilize, run_tap, config, make_event, fixed_now
):
    mobilize.pages[EVENTS] = [[make_event(1, fixed_now - 50), make_event(2, fixed_now - 10)]]
    result = run_tap(config, state=_bookmark_state("events", fixed_now - 400), streams=["events"])
    assert result.bookmark("events") == fixed_now - 10


def test_a_prior_bookmark_after_the_read_start_is_kept(
    mobilize, run_tap, config, make_event, fixed_now
):
    # Mobilize's clock ahead of ours: the prior bookmark is later than our start. The
    # cap must not step it back to the start time.
    mobilize.pages[EVENTS] = [[make_event(1, fixed_now + 1_200)]]
    state = _bookmark_state("events", fixed_now + 1_000)

    result = run_tap(config, state=state, streams=["events"])

    assert result.bookmark("events") == fixed_now + 1_000


def test_every_incremental_stream_is_capped(mobilize, run_tap, config, fixed_now):
    later = fixed_now + 60
    mobilize.pages["/organizations"] = [[{"id": 7, "modified_date": later}]]
    mobilize.pages["/organizations/7/events/deleted"] = [[{"id": 9, "deleted_date": later}]]
    mobilize.pages["/organizations/7/people"] = [[{"id": 3, "modified_date": later}]]
    mobilize.pages["/organizations/7/attendances"] = [[{"id": 4, "modified_date": later}]]

    result = run_tap(config, streams=["organization", "deleted_events", "people", "attendances"])

    for stream in ("organization", "deleted_events", "people", "attendances"):
        assert result.bookmark(stream) == fixed_now, stream


def test_an_empty_page_inside_a_list_does_not_end_the_read(mobilize, run_tap, config, make_event):
    # Only `next` ends a list: stopping at the empty page would settle the bookmark at 300,
    # past event 3 (modified 200) on the page after it, which no later run would ask for.
    mobilize.pages[EVENTS] = [[make_event(1, 100), make_event(2, 300)], [], [make_event(3, 200)]]

    result = run_tap(config, streams=["events"])

    assert [r["id"] for r in result.records("events")] == [1, 2, 3]
    assert result.bookmark("events") == 300
