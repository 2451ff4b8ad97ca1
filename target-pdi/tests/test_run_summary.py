"""The JSON summary of a run (run_summary.py), the summary's lines in words, and the missing
credentials a sync names before it reads anything."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.plugin_base import _ConfigInput
from target_pdi.configuration.credentials import missing_credentials, missing_message
from target_pdi.configuration.settings import Settings
from target_pdi.errors import APIUnavailableError, ConfigurationError, Stopped
from target_pdi.operator_tools import run_summary
from target_pdi.redact import register_secret
from target_pdi.rules.vocabulary import Outcome, PdiObject
from target_pdi.stores import summary_files
from target_pdi.stores.deadletters import FileDeadLetterStore
from target_pdi.sync.summary import Summary
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)

# The keys the Dagster helper and alerting read: a contract, exactly these names.
CONTRACT = {
    "run_id",
    "organization",
    "started_at",
    "finished_at",
    "duration_seconds",
    "status",
    "error",
    "tap",
    "dry_run",
    "records_read",
    "objects",
    "attention",
    "skipped",
    "dead_letters",
    "pdi_requests",
}


def a_run() -> Summary:
    summary = Summary()
    summary.read.update({"events": 2, "timeslots": 3, "people": 4, "attendances": 5, "org": 1})
    summary.count(PdiObject.LOCATION, Outcome.CREATED)
    summary.count(PdiObject.EVENT, Outcome.CREATED, 3)
    summary.count(PdiObject.CONTACT, Outcome.UPDATED, 2)
    summary.count(PdiObject.CONTACT, Outcome.UNCHANGED, 1)
    summary.count(PdiObject.INVITATION, Outcome.FAILED, 1)
    summary.skip("people without email", 3)
    summary.skip_unrouted("MEETING", 2)
    summary.note("events restored: approved again")
    summary.dead_letters = 2
    summary.dead_letters_retried = 1
    return summary


def build(summary: Summary, error: BaseException | None = None, **settings: Any) -> dict[str, Any]:
    return run_summary.build(
        summary,
        Settings(dead_letter_path="/data/dead_letters.jsonl", **settings),
        finished_at=summary.started_at + timedelta(seconds=12.34),
        error=error,
        requests_by_method={"POST": 5, "GET": 10, "PUT": 1},
        dead_letters_before={("people", "1")},
        dead_letters_after={("people", "1"), ("attendances", "7")},
    )


def test_summary_has_the_contract_keys_and_the_run_counts() -> None:
    record = build(a_run(), organization="north")
    assert set(record) >= CONTRACT
    assert record["organization"] == "north"
    assert record["status"] == "succeeded"
    assert record["error"] is None
    assert record["dry_run"] is False
    assert record["duration_seconds"] == 12.3
    took = datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(
        record["started_at"]
    )
    assert timedelta(seconds=12) <= took <= timedelta(seconds=13)  # times to the second
    assert record["records_read"] == {
        "events": 2,
        "timeslots": 3,
        "people": 4,
        "attendances": 5,
        "org": 1,
    }
    assert record["objects"] == {
        "locations": {"created": 1, "updated": 0, "unchanged": 0, "failed": 0},
        "events": {"created": 3, "updated": 0, "unchanged": 0, "failed": 0},
        "contacts": {"created": 0, "updated": 2, "unchanged": 1, "failed": 0},
        "invitations": {"created": 0, "updated": 0, "unchanged": 0, "failed": 1},
    }
    assert record["skipped"] == {
        "people without email": 3,
        "timeslots with no calendar for event type MEETING": 2,
    }
    assert record["dead_letters"] == {
        "new": 1,
        "waiting": 2,
        "dead_lettered": 2,
        "retried": 1,
        "path": "/data/dead_letters.jsonl",
        "over_max_age": 0,
        "max_age_hours": 24,
    }
    assert record["pdi_requests"] == {"GET": 10, "POST": 5, "PUT": 1}
    json.dumps(record)  # all of it serialisable


def test_a_run_with_failed_records_succeeds_and_asks_for_attention() -> None:
    record = build(a_run())
    assert record["status"] == "succeeded"
    assert record["attention"] == ["1 invitations failed"]
    clean = Summary()
    clean.count(PdiObject.EVENT, Outcome.CREATED, 3)
    assert build(clean)["attention"] == []


def test_run_id_is_the_orchestrators_when_it_names_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(run_summary.RUN_ID_VARIABLE, "dagster-run-1")
    assert build(a_run())["run_id"] == "dagster-run-1"
    monkeypatch.delenv(run_summary.RUN_ID_VARIABLE)
    first, second = build(a_run())["run_id"], build(a_run())["run_id"]
    assert first
    assert first != second


def test_last_run_prints_the_summary_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary_path = tmp_path / "summary.json"
    config = _ConfigInput.from_cli_args()
    config.config = {"summary_path": str(summary_path)}
    with pytest.raises(SystemExit) as none_yet:
        TargetPDI.invoke(config=config, last_run=True)
    assert none_yet.value.code == 1
    assert capsys.readouterr().out == ""
    record = build(a_run(), organization="north")
    run_summary.write(summary_path, record)
    with pytest.raises(SystemExit) as printed:
        TargetPDI.invoke(config=config, last_run=True)
    assert printed.value.code == 0
    assert json.loads(capsys.readouterr().out) == record


def test_summary_of_a_run_that_read_nothing_counts_zeros() -> None:
    record = build(Summary())
    assert record["organization"] == "default"
    assert record["records_read"] == dict.fromkeys(
        ("events", "timeslots", "people", "attendances"), 0
    )
    assert all(n == 0 for row in record["objects"].values() for n in row.values())
    assert record["skipped"] == {}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (None, "succeeded"),
        (SystemExit(0), "succeeded"),
        (Stopped("target-pdi stopped: SIGTERM received"), "stopped"),
        (KeyboardInterrupt(), "stopped"),
        (APIUnavailableError("PDI answered nothing for 600 s"), "failed"),
        (ValueError("a bug\nwith a second line"), "failed"),
    ],
)
def test_status_and_error_line(error: BaseException | None, status: str) -> None:
    record = build(a_run(), error)
    assert record["status"] == status
    if status == "succeeded":
        assert record["error"] is None
    else:
        assert record["error"]
        assert "\n" not in record["error"]


def test_error_line_is_redacted() -> None:
    register_secret("pw-Qx81z-secret")
    record = build(a_run(), ConfigurationError("login with password pw-Qx81z-secret refused"))
    assert "pw-Qx81z-secret" not in json.dumps(record)
    assert record["error"].startswith("login with")


def test_write_creates_directories_and_replaces_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "summary.json"
    first, second = build(a_run()), build(Summary())
    run_summary.write(path, first)
    run_summary.write(path, second)
    assert json.loads(path.read_text()) == second
    assert run_summary.read_last(path) == second
    assert run_summary.read_history(path) == [first, second]
    assert run_summary.history_path(path) == tmp_path / "deep" / "er" / "summary.history.jsonl"
    # No temporary file left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "summary.history.jsonl",
        "summary.json",
    ]


def test_history_keeps_the_last_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_files, "HISTORY_LIMIT", 5)
    path = tmp_path / "summary.json"
    for n in range(8):
        run_summary.write(path, {"run": n})
    assert [r["run"] for r in run_summary.read_history(path)] == [3, 4, 5, 6, 7]


def test_no_run_yet_reads_as_none(tmp_path: Path) -> None:
    assert run_summary.read_last(tmp_path / "summary.json") is None
    assert run_summary.read_history(tmp_path / "summary.json") == []


def test_dead_letter_keys_skip_unreadable_lines(tmp_path: Path) -> None:
    path = tmp_path / "dead_letters.jsonl"
    entry = {"stream": "people", "key": "3", "record": {"id": 3}}
    path.write_text(json.dumps(entry) + "\nnot json\n\n" + json.dumps({**entry, "key": "4"}) + "\n")
    assert FileDeadLetterStore(path).keys() == {("people", "3"), ("people", "4")}
    assert FileDeadLetterStore(tmp_path / "none.jsonl").keys() == set()


def test_the_summary_counts_the_dead_letters_status_calls_old(tmp_path: Path) -> None:
    """status's rule 5 at the run's end, with the organization's limit: a dead letter that first
    failed more than dead_letter_max_age_hours ago counts, whenever it last failed."""
    path = tmp_path / "dead_letters.jsonl"
    finished = datetime.now(UTC) - timedelta(days=1)
    first_failed = {"1": 30, "2": 7, "3": 5.9, "4": 0}  # hours before the run ended
    path.write_text(
        "".join(
            json.dumps(
                {
                    "stream": "people",
                    "key": key,
                    "record": {"id": key},
                    "ts": finished.isoformat(),
                    "first_ts": (finished - timedelta(hours=hours)).isoformat(),
                }
            )
            + "\n"
            for key, hours in first_failed.items()
        )
    )
    settings = Settings(
        summary_path=str(tmp_path / "summary.json"),
        dead_letter_path=str(path),
        dead_letter_max_age_hours=6,
    )
    assert run_summary.dead_letters_over_max_age(settings, finished) == 2
    record = run_summary.RunRecorder(settings, Summary()).finish(None, {})
    assert record is not None
    assert (record["dead_letters"]["waiting"], record["dead_letters"]["max_age_hours"]) == (4, 6)
    # Written now, a day after `finished`: every one has waited over 6 hours.
    assert record["dead_letters"]["over_max_age"] == 4


def test_a_summary_that_cannot_be_written_does_not_end_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings(
        summary_path=str(blocker / "summary.json"), dead_letter_path=str(tmp_path / "d.jsonl")
    )
    with caplog.at_level(logging.WARNING):
        assert run_summary.RunRecorder(settings, Summary()).finish(None, {}) is None
    assert "Could not write the run summary" in caplog.text


# --- the log lines a person reads ---------------------------------------------------------------


def test_summary_lines_are_words_not_dict_reprs() -> None:
    lines = a_run().lines({"GET": 10})
    skipped = next(line for line in lines if "skipped:" in line)
    assert skipped == "Summary: skipped: 3 people without email"
    notes = next(line for line in lines if "notes:" in line)
    assert notes == "Summary: notes: 1 events restored: approved again"
    unrouted = next(line for line in lines if "no calendar for event type" in line)
    assert unrouted.endswith("no calendar for event type: MEETING 2")
    assert not [line for line in lines if "{" in line or "'" in line]
    assert "Summary: skipped: none" in Summary().lines({})


# --- missing credentials ------------------------------------------------------------------------


def test_missing_credentials_are_named_with_their_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MELTANO_LOADER_NAME", raising=False)
    settings = Settings(username="u", password="", api_token="")
    assert missing_credentials(settings) == ["password", "api_token"]
    message = missing_message(missing_credentials(settings))
    assert "password (TARGET_PDI_PASSWORD)" in message
    assert "api_token (TARGET_PDI_API_TOKEN)" in message
    assert "username" not in message
    # An organization's plugin (orgs/north.meltano.yml) reads its own variables.
    monkeypatch.setenv("MELTANO_LOADER_NAME", "target-pdi--north")
    message = missing_message(["password"])
    assert "password (TARGET_PDI__NORTH_PASSWORD)" in message


def test_sync_without_credentials_stops_before_reading_and_says_failed(
    pdi: Pdi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MELTANO_LOADER_NAME", raising=False)
    summary_path = tmp_path / "summary.json"
    target = TargetPDI(
        config={
            "api_url": pdi.url,
            "username": "sandbox",
            "id_map_url": f"sqlite:///{tmp_path / 'idmap.sqlite'}",
            "dead_letter_path": str(tmp_path / "dead_letters.jsonl"),
            "summary_path": str(summary_path),
            "organization": "north",
        },
        validate_config=True,
    )
    lines = io.StringIO(
        '{"type": "SCHEMA", "stream": "people", "schema": {}, "key_properties": []}\n'
    )
    with pytest.raises(ConfigurationError) as stopped:
        target.sync(lines)
    assert "password (TARGET_PDI_PASSWORD), api_token (TARGET_PDI_API_TOKEN)" in str(stopped.value)
    assert lines.tell() == 0  # not a line read
    assert pdi.admin("stats")["requests"] == 0
    record = json.loads(summary_path.read_text())
    assert record["status"] == "failed"
    assert record["organization"] == "north"
    assert record["error"] == str(stopped.value)
    assert record["pdi_requests"] == {}


def test_sync_writes_the_summary_of_what_it_did(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    summary_path = tmp_path / "out" / "summary.json"
    target = TargetPDI(config={**config, "summary_path": str(summary_path)}, validate_config=True)
    fixture = Path(__file__).parent / "fixtures" / "run1.singer"
    with fixture.open() as lines:
        target.sync(lines)
    record = json.loads(summary_path.read_text())
    state = pdi.state()
    assert record["status"] == "succeeded"
    assert {kind: row["created"] for kind, row in record["objects"].items()} == {
        kind: len(state[kind]) for kind in ("locations", "events", "contacts", "invitations")
    }
    stats = pdi.admin("stats")
    assert sum(record["pdi_requests"].values()) == stats["requests"]
    assert datetime.fromisoformat(record["finished_at"]) <= datetime.now(UTC)


def test_a_stopped_sync_says_stopped(pdi: Pdi, config: dict[str, Any], tmp_path: Path) -> None:
    """SIGTERM while reading (the handler sets STOP; the next record raises Stopped)."""
    from target_pdi.pdi.client import STOP

    summary_path = tmp_path / "summary.json"
    target = TargetPDI(config={**config, "summary_path": str(summary_path)}, validate_config=True)
    fixture = Path(__file__).parent / "fixtures" / "run1.singer"
    STOP.set()
    try:
        with fixture.open() as lines, pytest.raises(Stopped):
            target.sync(lines)
    finally:
        STOP.clear()
    record = json.loads(summary_path.read_text())
    assert record["status"] == "stopped"
    assert "SIGTERM" in record["error"]
    assert pdi.writes() == 0


def test_unread_input_is_dropped_until_it_ends() -> None:
    """A sync that stops before reading its input drops it, so that Meltano can close the pipe
    (unread_input.py): up to the end of the tap's output, or a few seconds at most."""
    import os

    from target_pdi.sync.unread_input import discard_unread_input

    read_end, write_end = os.pipe()
    os.write(write_end, b'{"type": "RECORD"}\n' * 1000)
    os.close(write_end)
    with os.fdopen(read_end) as ended:
        discard_unread_input(ended, seconds=30)
        assert os.read(ended.fileno(), 10) == b""  # everything was read
    read_end, write_end = os.pipe()
    os.write(write_end, b"still going\n")
    with os.fdopen(read_end) as going:
        discard_unread_input(going, seconds=0.2)  # returns although the writer goes on
    os.close(write_end)
    discard_unread_input(io.StringIO("not a pipe"))  # nothing to drop


# --- dry runs -----------------------------------------------------------------------------------


def test_a_dry_runs_summary_is_apart_from_the_real_runs() -> None:
    real = Settings(summary_path="/p/.meltano/orgs/north/summary.json")
    assert run_summary.written_path(real) == Path("/p/.meltano/orgs/north/summary.json")
    dry = Settings(summary_path="/p/.meltano/orgs/north/summary.json", dry_run=True)
    assert run_summary.written_path(dry) == Path("/p/.meltano/orgs/north/summary.dry-run.json")


def test_a_dry_run_passes_no_state_on_and_saves_nothing(
    pdi: Pdi,
    config: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before and after a real run: no STATE, id map, dead letters or real summary changed;
    what it would have done in summary.dry-run.json, and a last line that says so."""
    summary_path = tmp_path / "summary.json"
    saved = [
        summary_path,
        run_summary.history_path(summary_path),
        tmp_path / "idmap.sqlite",
        Path(config["dead_letter_path"]),
    ]
    dry_path = run_summary.dry_run_path(summary_path)

    def sync(fixture: str, **changes: Any) -> str:
        target = TargetPDI(
            config={**config, "summary_path": str(summary_path), **changes},
            validate_config=True,
        )
        with (Path(__file__).parent / "fixtures" / fixture).open() as lines:
            target.sync(lines)
        return capsys.readouterr().out

    def contents() -> list[bytes | None]:
        return [path.read_bytes() if path.exists() else None for path in saved]

    with caplog.at_level(logging.INFO):
        assert sync("run1.singer", dry_run=True) == ""
    assert contents() == [None] * len(saved)
    assert pdi.writes() == 0
    dry = json.loads(dry_path.read_text())
    assert dry["dry_run"] is True
    assert dry["objects"]["events"]["created"] == 7
    last_line = caplog.records[-1].getMessage()
    assert last_line.startswith("DRY RUN: nothing was written and no bookmark was saved")
    assert str(dry_path) in last_line

    assert '"bookmarks"' in sync("run1.singer")  # a real run passes STATE on
    before, writes = contents(), pdi.writes()
    assert sync("run2.singer", dry_run=True) == ""
    assert contents() == before
    assert pdi.writes() == writes
    assert json.loads(dry_path.read_text())["objects"]["events"]["updated"] > 0
    assert [run["dry_run"] for run in run_summary.read_history(summary_path)] == [False]


def test_a_first_sync_counts_each_contact_once_whatever_the_batches(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    """A person who signed up in several batches is looked at in each; the summary counts the
    contact once (created), not again as "unchanged" (a first sync's "unchanged" puzzled
    operators)."""
    summary_path = tmp_path / "summary.json"
    target = TargetPDI(
        config={**config, "summary_path": str(summary_path), "batch_size_rows": 3},
        validate_config=True,
    )
    fixture = Path(__file__).parent / "fixtures" / "run1.singer"
    with fixture.open() as lines:
        target.sync(lines)
    contacts = json.loads(summary_path.read_text())["objects"]["contacts"]
    assert contacts == {
        "created": len(pdi.state()["contacts"]),
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
    }
