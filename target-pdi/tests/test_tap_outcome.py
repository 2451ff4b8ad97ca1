"""How the tap ended, from tap-mobilize's markers (tap_outcome.py): a sync whose tap failed, or
ended without finishing, writes what it was sent and then fails with the tap's reason, and no
failure marker ever moves a bookmark. Input without markers is taken as before, with a warning.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from target_pdi.errors import TapFailed
from target_pdi.operator_tools import run_summary
from target_pdi.sync.summary import Summary
from target_pdi.sync.tap_outcome import TapOutcome
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)

FIXTURE = Path(__file__).parent / "fixtures" / "run1.singer"
REFUSED = "Mobilize refused the request (HTTP 403) for organization 1 on /v1/organizations/1/people"
STATE_READ = {"bookmarks": {"events": {"replication_key_value": 1793000000}}}


def fixture_lines() -> list[str]:
    """run1.singer: schemas and records of every stream, then its STATE (STATE_READ)."""
    lines = FIXTURE.read_text().splitlines()
    assert json.loads(lines[-1]) == {"type": "STATE", "value": STATE_READ}
    return lines


def state(value: dict[str, Any], **marker: Any) -> str:
    message: dict[str, Any] = {"type": "STATE", "value": value}
    if marker:
        message["tap_mobilize"] = marker
    return json.dumps(message)


def started(value: dict[str, Any] | None = None) -> str:
    return state(value or {}, outcome="started")


def run(
    config: dict[str, Any], tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], list[dict[str, Any]], BaseException | None]:
    """One sync of ``text``: its JSON summary, the STATE it emitted, and its error."""
    summary_path = tmp_path / "summary.json"
    target = TargetPDI(config={**config, "summary_path": str(summary_path)}, validate_config=True)
    error: BaseException | None = None
    try:
        target.sync(io.StringIO(text))
    except TapFailed as exc:
        error = exc
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return json.loads(summary_path.read_text()), emitted, error


def test_a_completed_tap_makes_a_run_as_before(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = fixture_lines()
    text = "\n".join([started(), *body, state(STATE_READ, outcome="completed")]) + "\n"

    record, emitted, error = run(config, tmp_path, text, capsys)

    assert error is None
    assert record["status"] == "succeeded"
    assert record["error"] is None
    assert record["tap"] == {"outcome": "completed", "error": None}
    assert record["attention"] == []
    assert emitted[-1] == STATE_READ
    assert pdi.state()["events"]


def test_a_failed_tap_fails_the_run_with_its_reason_after_writing_what_it_sent(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = fixture_lines()
    # The failure marker's value should repeat the last state; one that does not (a tap's bug,
    # a hand-edited stream) still moves no bookmark.
    text = (
        "\n".join(
            [
                started(),
                *body,
                state(
                    {"bookmarks": {"events": {"replication_key_value": 1999999999}}},
                    outcome="failed",
                    error=REFUSED,
                ),
            ]
        )
        + "\n"
    )

    record, emitted, error = run(config, tmp_path, text, capsys)

    assert str(error) == f"tap-mobilize failed: {REFUSED}"
    assert record["status"] == "failed"
    assert record["error"] == f"tap-mobilize failed: {REFUSED}"
    assert record["tap"] == {"outcome": "failed", "error": REFUSED}
    assert record["attention"][0] == "tap-mobilize failed"
    # What the tap sent before it failed is in PDI, and the bookmark is its last real state.
    written = {kind: len(rows) for kind, rows in pdi.state().items() if kind != "calendars"}
    assert min(written["events"], written["contacts"], written["invitations"]) > 0
    assert record["objects"]["events"]["created"] == written["events"]
    assert emitted[-1] == STATE_READ
    assert {"bookmarks": {"events": {"replication_key_value": 1999999999}}} not in emitted


def test_a_tap_that_failed_before_it_sent_anything_fails_the_run_without_a_request(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = started() + "\n" + state({}, outcome="failed", error=REFUSED) + "\n"

    record, emitted, _ = run(config, tmp_path, text, capsys)

    assert record["status"] == "failed"
    assert record["error"] == f"tap-mobilize failed: {REFUSED}"
    assert emitted == []
    assert pdi.admin("stats")["requests"] == 0


def test_a_refused_configuration_sends_a_failure_marker_alone(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "Config validation failed: 'organization_id' is a required property"
    record, _, _ = run(config, tmp_path, state({}, outcome="failed", error=reason) + "\n", capsys)

    assert record["status"] == "failed"
    assert record["tap"] == {"outcome": "failed", "error": reason}


def test_a_tap_that_started_and_never_ended_ended_without_finishing(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join([started(), *fixture_lines()]) + "\n"

    record, emitted, error = run(config, tmp_path, text, capsys)

    expected = "tap-mobilize ended without finishing (killed or crashed: see its log)"
    assert str(error) == expected
    assert record["status"] == "failed"
    assert record["error"] == expected
    assert record["tap"] == {"outcome": "ended without finishing", "error": expected}
    assert record["attention"][0] == "tap-mobilize ended without finishing"
    # Its records up to its last STATE were written, so that STATE is safe to pass on.
    assert emitted[-1] == STATE_READ
    assert pdi.state()["events"]


def test_a_last_line_cut_off_mid_message_is_dropped_and_the_tap_ended_without_finishing(
    pdi: Pdi,
    config: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = fixture_lines()
    cut = '{"type": "RECORD", "stream": "people", "record": {"id": 77, "given_name": "Zebulon Q'
    text = "\n".join([started(), *body, cut])  # no newline: the writer died mid-line

    record, _, error = run(config, tmp_path, text, capsys)

    assert record["status"] == "failed"
    assert record["tap"]["outcome"] == "ended without finishing"
    assert "in the middle of a message" in str(error)
    assert "Zebulon" not in caplog.text + json.dumps(record)


def test_input_without_markers_is_taken_as_before_with_a_warning(
    pdi: Pdi,
    config: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Written by hand or by another tap; its last line has no newline, and is whole.
    text = "\n".join(fixture_lines())

    with caplog.at_level(logging.WARNING):
        record, emitted, error = run(config, tmp_path, text, capsys)

    assert error is None
    assert record["status"] == "succeeded"
    assert record["tap"] == {"outcome": "unknown", "error": None}
    assert emitted[-1] == STATE_READ  # its last line was read, not taken for a cut-off one
    assert "holds no tap-mobilize markers" in caplog.text


def test_a_target_that_stops_first_did_not_read_its_tap_to_the_end() -> None:
    outcome = TapOutcome()
    for _line in outcome.lines(io.StringIO(started() + "\n")):
        break
    assert outcome.as_summary() == {"outcome": "not read to its end", "error": None}
    assert outcome.failure() is None


def test_the_summary_asks_for_attention_to_a_failed_tap_first() -> None:
    from target_pdi.configuration.settings import Settings

    record = run_summary.build(
        Summary(),
        Settings(dead_letter_path="/data/dead_letters.jsonl"),
        finished_at=Summary().started_at,
        error=TapFailed(f"tap-mobilize failed: {REFUSED}"),
        requests_by_method={},
        dead_letters_before=set(),
        dead_letters_after=set(),
        tap={"outcome": "failed", "error": REFUSED},
    )
    assert record["status"] == "failed"
    assert record["attention"] == ["tap-mobilize failed"]
