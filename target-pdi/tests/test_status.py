"""`target-pdi --status` (status.py): the report a person reads, and the PDI credential check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from target_pdi import run_summary, status
from target_pdi.settings import Settings
from target_pdi.status import Check, render, tap_test_result
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)

NOW = datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
OK = Check(True, "OK (logged in to http://pdi)")
TAP_OK = Check(True, "OK (tap-mobilize --test passed)")
REFUSED = Check(False, "FAILED: PDI login failed (HTTP 401): check settings username, password")


def last_run(**changes: Any) -> dict[str, Any]:
    return {
        "organization": "north",
        "started_at": "2026-11-29T12:00:00+00:00",
        "finished_at": "2026-11-29T12:00:12+00:00",
        "duration_seconds": 12.3,
        "status": "succeeded",
        "error": None,
        "dry_run": False,
        "records_read": {"events": 10, "timeslots": 30, "people": 100, "attendances": 300},
        "objects": {
            "locations": {"created": 1, "updated": 0, "unchanged": 9, "failed": 0},
            "events": {"created": 0, "updated": 2, "unchanged": 28, "failed": 0},
            "contacts": {"created": 0, "updated": 0, "unchanged": 100, "failed": 0},
            "invitations": {"created": 5, "updated": 1, "unchanged": 290, "failed": 3},
        },
        "skipped": {"people without email": 3},
        "dead_letters": {"new": 1, "waiting": 2, "path": "/d.jsonl"},
        "pdi_requests": {"GET": 10, "POST": 5, "PUT": 1},
        **changes,
    }


def report(last: dict[str, Any] | None, pdi: Check = OK, mobilize: Check = TAP_OK) -> status.Report:
    return render(
        "north",
        last,
        summary_path="/s/summary.json",
        dead_letters_waiting=2,
        dead_letter_path="/d.jsonl",
        pdi=pdi,
        mobilize=mobilize,
        now=NOW,
    )


def test_a_healthy_organization() -> None:
    shown = report(last_run())
    assert shown.healthy
    assert shown.lines == [
        "Organization: north",
        "Last run: succeeded, finished 2026-11-29 12:00:12 UTC (9 min ago), took 12.3 s",
        "  changed in PDI: locations 1 created; events 2 updated; invitations 5 created, 1 updated",
        "  failed: invitations 3",
        "  skipped: 3 people without email",
        "  new dead letters: 1",
        "Dead letters waiting: 2 (/d.jsonl)",
        "PDI credentials: OK (logged in to http://pdi)",
        "Mobilize credentials: OK (tap-mobilize --test passed)",
        "Status: OK",
    ]


def test_no_run_yet() -> None:
    shown = report(None)
    assert not shown.healthy
    assert "Last run: no run yet (no summary at /s/summary.json)" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (no run yet)"


def test_a_failed_run_shows_its_error() -> None:
    shown = report(last_run(status="failed", error="PDI answered nothing for 600 s"))
    assert not shown.healthy
    assert "  error: PDI answered nothing for 600 s" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (last run failed)"


def test_credentials_that_fail_are_named() -> None:
    shown = report(last_run(), pdi=REFUSED, mobilize=Check(False, "FAILED: key refused"))
    assert not shown.healthy
    assert f"PDI credentials: {REFUSED.message}" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (PDI credentials, Mobilize credentials)"


def test_a_dry_run_and_a_quiet_run() -> None:
    nothing = {k: {"created": 0, "updated": 0, "unchanged": 1, "failed": 0} for k in ("events",)}
    shown = report(last_run(dry_run=True, objects=nothing, skipped={}, dead_letters={}))
    assert shown.lines[1].startswith("Last run: succeeded (dry run: nothing written)")
    assert "  changed in PDI: nothing" in shown.lines
    assert "  failed: none" in shown.lines


def test_the_last_dry_run_is_a_line_of_its_own() -> None:
    dry = last_run(dry_run=True, finished_at="2026-11-29T12:09:00+00:00")
    shown = render(
        "north",
        last_run(),
        summary_path="/s/summary.json",
        dead_letters_waiting=2,
        dead_letter_path="/d.jsonl",
        pdi=OK,
        mobilize=TAP_OK,
        now=NOW,
        last_dry_run=dry,
    )
    assert shown.lines[1].startswith("Last run: succeeded, finished 2026-11-29 12:00:12 UTC")
    assert (
        "Last dry run: succeeded, finished 2026-11-29 12:09:00 UTC (1 min ago); would change: "
        "locations 1 created; events 2 updated; invitations 5 created, 1 updated "
        "(nothing written)"
    ) in shown.lines
    assert shown.healthy
    # A dry run is never taken for a run: without a real one, there is no run yet.
    first = render(
        "north",
        None,
        summary_path="/s/summary.json",
        dead_letters_waiting=0,
        dead_letter_path="/d.jsonl",
        pdi=OK,
        mobilize=TAP_OK,
        now=NOW,
        last_dry_run=dry,
    )
    assert first.lines[1] == "Last run: no run yet (no summary at /s/summary.json)"
    assert first.lines[2].startswith("Last dry run: succeeded")
    assert not first.healthy


def test_how_long_ago() -> None:
    for finished, ago in [
        (NOW - timedelta(seconds=5), "5 s ago"),
        (NOW - timedelta(hours=3, minutes=4), "3 h 4 min ago"),
        (NOW - timedelta(days=2, hours=1), "2 days ago"),
    ]:
        assert ago in report(last_run(finished_at=finished.isoformat())).lines[1]


# --- the Mobilize check's answer ----------------------------------------------------------------

LOG_OK = (
    "2026-11-29T12:00:00.1Z [info     ] tap-mobilize tap-mobilize v0.1.0\n"
    "2026-11-29T12:00:00.2Z [info     ] tap-mobilize Beginning sync of 'events'\n"
)


def test_tap_test_passing() -> None:
    assert tap_test_result("tap-mobilize", 0, LOG_OK) == Check(
        True, "OK (tap-mobilize --test passed)"
    )


def test_tap_test_without_a_key_passes_with_a_warning() -> None:
    log = LOG_OK + (
        "2026-11-29T12:00:01Z [warning  ] tap-mobilize Skipping stream 'people': Mobilize serves "
        "it only with an API key; set the api_key setting (a key with dashboard access)\n"
    )
    found = tap_test_result("tap-mobilize", 0, log)
    assert found.ok
    assert "without an api_key" in found.message


def test_tap_test_failing_gives_its_error_line() -> None:
    log = LOG_OK + (
        "2026-11-29T12:00:01Z [error    ] tap-mobilize Mobilize refused the API key (HTTP 403): "
        "check the api_key setting\n"
        "2026-11-29T12:00:01Z [error    ] meltano      Command failed\n"
    )
    found = tap_test_result("tap-mobilize", 1, log)
    assert found == Check(False, "FAILED: Command failed")
    found = tap_test_result("tap-mobilize", 1, log.rsplit("\n", 2)[0] + "\n")
    assert found.message == (
        "FAILED: Mobilize refused the API key (HTTP 403): check the api_key setting"
    )


# --- the PDI check, against the simulator -------------------------------------------------------


def test_pdi_check_logs_in(pdi: Pdi, config: dict[str, Any]) -> None:
    settings = Settings.from_config(config)
    assert status.check_pdi(settings) == Check(True, f"OK (logged in to {pdi.url})")
    assert pdi.admin("stats")["by_route"] == {"POST /sessions": 1}


def test_pdi_check_refused_names_the_settings(pdi: Pdi, config: dict[str, Any]) -> None:
    wrong = "pw-Lk29d-wrong"
    found = status.check_pdi(Settings.from_config({**config, "password": wrong}))
    assert not found.ok
    assert "PDI login failed (HTTP 401)" in found.message
    assert wrong not in found.message


def test_pdi_check_names_missing_credentials(pdi: Pdi, config: dict[str, Any]) -> None:
    found = status.check_pdi(Settings.from_config({**config, "api_token": ""}))
    assert not found.ok
    assert "api_token (TARGET_PDI_API_TOKEN)" in found.message
    assert pdi.admin("stats")["requests"] == 0


def test_status_outside_meltano_prints_and_exits_1(
    pdi: Pdi,
    config: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mobilize cannot be checked without Meltano (the tap holds its key): said, never a
    traceback, and the exit is 1 whatever the last run did."""
    monkeypatch.delenv("MELTANO_PROJECT_ROOT", raising=False)
    summary_path = tmp_path / "summary.json"
    run_summary.write(summary_path, last_run())
    target = TargetPDI(config={**config, "summary_path": str(summary_path)}, validate_config=True)
    assert status.run_status(target) == 1
    out = capsys.readouterr().out
    assert "Last run: succeeded" in out
    assert "PDI credentials: OK" in out
    assert "Mobilize credentials: not checked: this command reads Mobilize through" in out
    assert "Dead letters waiting: 0" in out
    assert json.loads(summary_path.read_text())["status"] == "succeeded"  # status writes nothing
