"""The markers that open and close the tap's output (run_markers.py): a started marker first, a
completed or failed one last, and none of them ever a new state."""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

from tap_mobilize.run_markers import MARKER_KEY, failure_line
from tap_mobilize.streams import PeopleStream
from tap_mobilize.tap import TapMobilize

EVENTS = "/organizations/7/events"
PEOPLE = "/organizations/7/people"
INPUT_STATE = {
    "bookmarks": {"events": {"replication_key": "modified_date", "replication_key_value": 50}}
}


@dataclass
class Synced:
    messages: list[dict[str, Any]]
    output: str
    error: BaseException | None


def sync(config: dict[str, Any], state: dict[str, Any] | None = None) -> Synced:
    """Every message of one sync of events, timeslots and people, and how it ended."""
    out = io.StringIO()
    tap = TapMobilize(config=config, state=state, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name in ("events", "timeslots", "people")
    error: BaseException | None = None
    with redirect_stdout(out):
        try:
            tap.sync_all()
        except BaseException as exc:  # what the test looks at
            error = exc
    return Synced(parse(out.getvalue()), out.getvalue(), error)


def parse(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "STATE"]


def marker(message: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = message.get(MARKER_KEY)
    return found


def plain_states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["value"] for m in states(messages) if marker(m) is None]


def test_a_finished_sync_starts_and_ends_with_its_markers(mobilize, config, sleeps, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100), make_event(2, 120)]]
    mobilize.pages[PEOPLE] = [[{"id": 5, "modified_date": 90}]]

    run = sync(config, state=INPUT_STATE)
    assert run.error is None
    messages = run.messages
    first, last = messages[0], messages[-1]
    assert first == {"type": "STATE", "value": INPUT_STATE, MARKER_KEY: {"outcome": "started"}}
    assert last["type"] == "STATE"
    assert marker(last) == {"outcome": "completed"}
    # The end marker repeats the last state: a target taking it as STATE moves nothing.
    assert last["value"] == plain_states(messages)[-1]
    assert last["value"]["bookmarks"]["events"]["replication_key_value"] == 120
    # Exactly two markers, and nothing else changed: every other message is the SDK's own.
    assert [marker(m) for m in states(messages) if marker(m)] == [
        {"outcome": "started"},
        {"outcome": "completed"},
    ]


def test_a_first_sync_starts_from_the_empty_state(mobilize, config, sleeps, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]

    messages = sync(config).messages

    assert messages[0] == {"type": "STATE", "value": {}, MARKER_KEY: {"outcome": "started"}}
    assert marker(messages[-1]) == {"outcome": "completed"}


def test_a_refused_key_ends_with_a_failure_marker_holding_the_line_the_tap_logs(
    mobilize, config, sleeps, make_event
):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]
    mobilize.failures[PEOPLE] = [(403, {}, {"data": None, "error": {"detail": "denied"}})]

    run = sync(config, state=INPUT_STATE)

    messages, last = run.messages, run.messages[-1]
    assert marker(last) == {"outcome": "failed", "error": str(run.error)}
    assert str(run.error).startswith("Mobilize refused the request (HTTP 403)")
    # Its value is the last state emitted, never a new one: the events read before the
    # failure keep their bookmark, the people read has none.
    assert last["value"] == plain_states(messages)[-1]
    assert "people" not in {
        name
        for name, bookmark in last["value"]["bookmarks"].items()
        if bookmark.get("replication_key_value") is not None
    }
    assert config["api_key"] not in run.output


def test_an_unexpected_error_ends_with_a_failure_marker_naming_it(
    mobilize, config, sleeps, make_event, monkeypatch
):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]

    def broken(self: Any, context: Any) -> Iterator[dict[str, Any]]:
        raise TypeError("'>' not supported between instances of 'str' and 'int'")

    monkeypatch.setattr(PeopleStream, "get_records", broken)

    run = sync(config)

    assert isinstance(run.error, TypeError)
    messages = run.messages
    assert marker(messages[-1]) == {
        "outcome": "failed",
        "error": "unexpected TypeError: '>' not supported between instances of 'str' and "
        "'int' (the traceback is in the tap's log)",
    }
    assert messages[-1]["value"] == plain_states(messages)[-1]


def test_a_sync_stopped_by_sigterm_ends_with_a_failure_marker(
    mobilize, config, sleeps, make_event, monkeypatch
):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]

    def signalled(self: Any, context: Any) -> Iterator[dict[str, Any]]:
        # What the SDK's handler does when SIGTERM comes while the tap reads.
        self._tap._handle_termination(signal.SIGTERM, None)
        yield from ()

    monkeypatch.setattr(PeopleStream, "get_records", signalled)

    run = sync(config)

    assert isinstance(run.error, SystemExit)
    messages = run.messages
    assert marker(messages[-1]) == {
        "outcome": "failed",
        "error": "stopped by SIGTERM before it finished",
    }
    assert messages[-1]["value"] == plain_states(messages)[-1]


def test_a_refused_configuration_ends_the_output_with_a_failure_marker_alone(tmp_path, capsys):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"api_url": "http://127.0.0.1:9/v1"}))

    exit_code = TapMobilize.cli.main(args=["--config", str(config_file)], standalone_mode=False)

    assert exit_code == 1

    assert parse(capsys.readouterr().out) == [
        {
            "type": "STATE",
            "value": {},
            MARKER_KEY: {
                "outcome": "failed",
                "error": "Config validation failed: 'organization_id' is a required property",
            },
        }
    ]


def test_no_marker_reaches_a_state_value(mobilize, config, sleeps, make_event):
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]

    first = sync(config).messages
    # The next run starts from what a target wrote back: the last STATE value.
    second = sync(config, state=first[-1]["value"]).messages

    for message in states(first) + states(second):
        assert MARKER_KEY not in json.dumps(message["value"])
    # The next run's start marker carries the state it was given (as the SDK holds it: the
    # empty entries left out), which is also the SDK's own first STATE.
    given = {k: v for k, v in first[-1]["value"]["bookmarks"].items() if v}
    assert second[0]["value"] == {"bookmarks": given}
    assert second[1] == {"type": "STATE", "value": {"bookmarks": given}}


def test_the_failure_line_is_one_bounded_line_without_the_key() -> None:
    error = RuntimeError("boom with sk-live-1234 inside\nsecond line " + "x" * 400)
    line = failure_line(error, secrets=["sk-live-1234", None])
    assert line.startswith("unexpected RuntimeError: boom with (redacted) inside")
    assert "\n" not in line
    assert "sk-live-1234" not in line
    assert line.endswith("(the traceback is in the tap's log)")
    long = failure_line(RuntimeError("y" * 1000))
    assert len(long) < 400
