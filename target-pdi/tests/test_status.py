"""`target-pdi --status` (status.py): the report a person reads, the tap's answer, and the PDI
credential check. The verdict's rules themselves: test_verdict.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools import run_summary, status
from target_pdi.operator_tools.status import Check, render, tap_test_result
from target_pdi.operator_tools.waiting_letters import Waiting
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)

NOW = datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
OK = Check(True, "OK: logged in to PDI at http://pdi as the configured user")
TAP_OK = Check(True, "OK: the API key reads organization 7's events, people and attendances")
REFUSED = Check(False, "FAILED: PDI login failed (HTTP 401): check settings username, password")
FIXTURES = Path(__file__).parent / "fixtures" / "tap_test"


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
            "invitations": {"created": 5, "updated": 1, "unchanged": 290, "failed": 0},
        },
        "attention": [],
        "skipped": {"people without email": 3},
        "dead_letters": {"new": 1, "waiting": 2, "path": "/d.jsonl"},
        "pdi_requests": {"GET": 10, "POST": 5, "PUT": 1},
        **changes,
    }


def no_email(stream: str, hours_ago: float) -> Waiting:
    return Waiting(stream, "person has no email address", None, NOW - timedelta(hours=hours_ago))


# Two people without an email, and one signup of theirs, for a few hours.
RECENT = [no_email("people", 3), no_email("people", 2), no_email("attendances", 3)]


def report(
    last: dict[str, Any] | None,
    pdi: Check = OK,
    mobilize: Check = TAP_OK,
    dead_letters: list[Waiting] = RECENT,
    last_success: dict[str, Any] | None = None,
) -> status.Report:
    return render(
        "north",
        last,
        summary_path="/s/summary.json",
        dead_letters=dead_letters,
        dead_letter_path="/d.jsonl",
        pdi=pdi,
        mobilize=mobilize,
        now=NOW,
        last_success=last
        if last_success is None and last and last["status"] == "succeeded"
        else last_success,
    )


def test_a_healthy_organization() -> None:
    shown = report(last_run())
    assert shown.healthy
    assert shown.lines == [
        "Organization: north",
        "Last run: succeeded, finished 2026-11-29 12:00:12 UTC (9 min ago), took 12.3 s",
        "  changed in PDI: locations 1 created; events 2 updated; invitations 5 created, 1 updated",
        "  failed: none",
        "  skipped: 3 people without email",
        "  new dead letters: 1",
        "Dead letters waiting: 3 (/d.jsonl)",
        "  2 people without a usable email address, the first since 2026-11-29 09:10 UTC: they "
        "cannot succeed until someone gives them one in Mobilize",
        "  1 signup of people without a usable email address, the first since 2026-11-29 09:10 "
        "UTC: they cannot succeed until someone gives them one in Mobilize",
        f"PDI credentials: {OK.message}",
        f"Mobilize credentials: {TAP_OK.message}",
        "Status: OK",
    ]


def test_a_run_with_failed_records_needs_attention() -> None:
    """It succeeded (its bookmarks moved past the failures, which wait as dead letters), and
    used to be reported `Status: OK`, exit 0."""
    objects = last_run()["objects"]
    objects["events"]["failed"] = 2
    objects["invitations"]["failed"] = 12
    shown = report(
        last_run(objects=objects, attention=["2 events failed", "12 invitations failed"])
    )
    assert not shown.healthy
    assert "  failed: events 2, invitations 12" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (last run: 2 events failed, 12 invitations failed)"


def test_no_run_yet() -> None:
    shown = report(None, dead_letters=[])
    assert not shown.healthy
    assert "Last run: no run yet (no summary at /s/summary.json)" in shown.lines
    assert "Dead letters waiting: 0" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (no run yet)"


def test_a_failed_run_shows_its_error_and_the_last_success() -> None:
    before = last_run(finished_at="2026-11-29T04:00:09+00:00")
    shown = report(
        last_run(status="failed", error="PDI answered nothing for 600 s"), last_success=before
    )
    assert not shown.healthy
    assert "  error: PDI answered nothing for 600 s" in shown.lines
    assert "Last successful run: finished 2026-11-29 04:00:09 UTC (8 h 9 min ago)" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (last run failed)"


def test_old_dead_letters_and_an_old_success_need_attention() -> None:
    old = last_run(finished_at="2026-11-28T12:00:00+00:00")
    letters = [no_email("people", 50), no_email("attendances", 30), no_email("people", 1)]
    shown = report(old, dead_letters=letters)
    assert not shown.healthy
    assert (
        "  2 people without a usable email address, the first since 2026-11-27 10:10 UTC: they "
        "cannot succeed until someone gives them one in Mobilize"
    ) in shown.lines
    assert shown.lines[-1] == (
        "Status: ATTENTION (no successful run for over 18 h; 2 dead letters waiting over 24 h)"
    )


def test_dead_letters_pdi_refused_are_told_apart() -> None:
    letters = [
        Waiting("events", "event 5 failed: PDI answered HTTP 400", 400, NOW),
        Waiting("attendances", "event for timeslot 4 is not in PDI", None, None),
    ]
    shown = report(last_run(), dead_letters=letters)
    assert shown.healthy
    assert (
        "  1 event refused by PDI (HTTP 400), the first since 2026-11-29 12:10 UTC: retried "
        "every run; PDI's answer is in the dead-letter file"
    ) in shown.lines
    assert (
        "  1 signup that failed: retried every run; each reason is in the dead-letter file"
        in shown.lines
    )


def test_credentials_that_fail_are_named() -> None:
    shown = report(last_run(), pdi=REFUSED, mobilize=Check(False, "FAILED: key refused"))
    assert not shown.healthy
    assert f"PDI credentials: {REFUSED.message}" in shown.lines
    assert shown.lines[-1] == (
        "Status: ATTENTION (PDI credentials failed; Mobilize credentials failed)"
    )


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
        dead_letters=RECENT,
        dead_letter_path="/d.jsonl",
        pdi=OK,
        mobilize=TAP_OK,
        now=NOW,
        last_success=last_run(),
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
        dead_letters=[],
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
# The fixtures are real: `meltano invoke tap-mobilize --test` against the sandbox with a key it
# refuses and with api_url on a closed port, stdout and stderr kept apart (paths shortened).
# With PYTHONWARNINGS=default, as an operator had it: refused_key_before_issue18.stderr is the
# tap as it was, whose last line was a ResourceWarning that status reported as the reason;
# unreachable.*; refused_key.* with PYTHONDEVMODE=1, which makes asyncio log lines after the
# tap's error. The last line of a log is not the reason.


def captured(name: str) -> tuple[str, str]:
    return (FIXTURES / f"{name}.stdout").read_text(), (FIXTURES / f"{name}.stderr").read_text()


def test_a_refused_key_gives_the_taps_403_line() -> None:
    stdout, log = captured("refused_key")
    assert "exited with return code 1" in log.splitlines()[-1]  # what was reported before
    found = tap_test_result("tap-mobilize", 1, stdout, log)
    assert found == Check(
        False,
        "FAILED: Mobilize refused the request (HTTP 403) for organization 1 on "
        "/v1/organizations: check the api_key setting (and that it has dashboard access to "
        "organization_id 1)",
    )


def test_an_unreachable_mobilize_gives_the_taps_line() -> None:
    stdout, log = captured("unreachable")
    found = tap_test_result("tap-mobilize", 1, stdout, log)
    assert not found.ok
    assert found.message.startswith("FAILED: Could not reach the Mobilize API at http://127.0.0.1:")
    assert found.message.endswith("check the api_url setting and the network")


def test_without_an_answer_no_log_line_passes_for_the_reason() -> None:
    log = (FIXTURES / "refused_key_before_issue18.stderr").read_text()
    assert log.splitlines()[-1].endswith(
        "ResourceWarning: Enable tracemalloc to get the object allocation traceback"
    )
    found = tap_test_result("tap-mobilize", 1, "", log)
    assert found == Check(
        False,
        "FAILED: tap-mobilize --test exited 1 without saying why "
        "(meltano invoke tap-mobilize --test shows its log)",
    )


def test_a_crash_gives_the_exception_that_ends_its_traceback() -> None:
    log = (
        "2026-11-29T12:00:01Z [info     ] meltano      Traceback (most recent call last):\n"
        '2026-11-29T12:00:01Z [info     ] meltano        File "/x/tap.py", line 3, in <module>\n'
        "2026-11-29T12:00:01Z [info     ] meltano      KeyError: 'data'\n"
        "2026-11-29T12:00:01Z [info     ] meltano      sys:1: ResourceWarning: unclosed socket\n"
        "2026-11-29T12:00:01Z [info     ] meltano      ResourceWarning: Enable tracemalloc to get "
        "the object allocation traceback\n"
    )
    found = tap_test_result("tap-mobilize", 1, "", log)
    assert found == Check(False, "FAILED: KeyError: 'data'")


def test_a_passing_test_gives_what_the_key_reads() -> None:
    answer = "OK: the API key reads organization 1's events, people and attendances at http://m/v1"
    assert tap_test_result("tap-mobilize", 0, answer + "\n", "") == Check(True, answer)
    without = "OK, without an api_key: organization 1's public events only, at http://m/v1; ..."
    assert tap_test_result("tap-mobilize", 0, without + "\n", "") == Check(True, without)


# --- the PDI check, against the simulator -------------------------------------------------------


def test_pdi_check_logs_in(pdi: Pdi, config: dict[str, Any]) -> None:
    settings = Settings.from_config(config)
    assert status.check_pdi(settings) == Check(
        True, f"OK: logged in to PDI at {pdi.url} as the configured user"
    )
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
    verdict = out.rstrip().splitlines()[-1]
    assert verdict.startswith("Status: ATTENTION (")
    assert "Mobilize credentials not checked" in verdict
    assert json.loads(summary_path.read_text())["status"] == "succeeded"  # status writes nothing
