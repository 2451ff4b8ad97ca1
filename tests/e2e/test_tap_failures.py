"""The tap failing, end to end: a run whose tap fails is a failed run, with the tap's reason.

One project and one small organization; one real `meltano run tap-mobilize target-pdi` for each
way the tap fails (a refused key, an outage past `outage_seconds`, the tap alone killed with
SIGKILL while the target runs; a crash on an answer it could not parse was a fourth until issue
19 made the tap take a value of another type as null, which the end now checks), then the checks an
operator relies on: Meltano exits non-zero, the JSON summary says `failed` with the tap's
reason, `meltano invoke target-pdi:status` exits 1 showing it, `target-pdi:last-run` prints
it, no bookmark passes a record that is not in PDI, and PDI, compared whole, holds exactly what
the records read before the failure give. Then, the causes removed, a normal run leaves PDI
equal to the model of the whole organization, and Meltano's state holds no marker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, router
from tests.e2e.harness import REPO, Project, RunResult
from tests.e2e.test_sync import CALENDARS_YML, ROUTES, check, use_calendars

pytestmark = [
    pytest.mark.e2e,
    # Meltano reads the project's .env: a real one would feed these runs a key of its own.
    pytest.mark.skipif((REPO / ".env").exists(), reason="a .env in the project sets secrets"),
]

# Small: each run is about how it ends, not about what it syncs.
DATA = ["--seed", "5", "--events", "10", "--timeslots-per-event", "2", "--people", "30"]
DATA_ATTENDANCES = ["--attendances", "60"]
WRONG_KEY = "mk-wrong-Hx52q"
STATE_ID = "dev:tap-mobilize-to-target-pdi"
PEOPLE_ROUTE = "GET /v1/organizations/{org}/people"


def summary_of(project: Project) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((project.workdir / "summary.json").read_text())
    return found


def finished_streams(project: Project) -> set[str]:
    """The streams whose bookmark Meltano saved (a stream under way keeps none)."""
    return {
        stream
        for stream, bookmark in project.bookmarks().items()
        if bookmark.get("replication_key_value") is not None
    }


def saved_bookmarks(project: Project) -> dict[str, Any]:
    """Meltano's bookmarks, less empty entries (the SDK drops those from the state it is given
    and emits again)."""
    return {stream: bookmark for stream, bookmark in project.bookmarks().items() if bookmark}


def events_only_model(project: Project) -> PdiModel:
    """What PDI holds once the events were written and neither people nor signups were."""
    model = PdiModel(router(ROUTES, "Other Events"))
    model.sync({**project.dataset(), "people": [], "attendances": []})
    return model


def assert_run_failed_because_of_the_tap(
    project: Project, result: RunResult, error: str, outcome: str
) -> dict[str, Any]:
    """Meltano, the summary, `last-run` and `status` all say the run failed, and why."""
    assert result.returncode != 0, result.failure()
    summary = summary_of(project)
    assert summary["status"] == "failed", summary
    assert summary["error"].startswith(error), summary["error"]
    assert summary["tap"]["outcome"] == outcome, summary["tap"]
    assert summary["attention"][0] == f"tap-mobilize {outcome}"
    last = project.meltano("invoke", "target-pdi:last-run")
    assert last.returncode == 0, last.output[-3000:]
    assert json.loads(last.stdout) == summary
    shown = project.meltano("invoke", "target-pdi:status")
    assert shown.returncode == 1, shown.output[-3000:]
    assert "Last run: failed, finished " in shown.stdout, shown.stdout
    assert f"  error: {summary['error']}" in shown.stdout, shown.stdout
    assert "Status: ATTENTION (last run failed" in shown.stdout, shown.stdout
    assert "Traceback" not in shown.output
    return summary


def kill_the_tap_alone(project: Project) -> RunResult:
    """A sync whose tap is killed with SIGKILL while it reads people, the target running on."""
    project.mobilize.admin("stats/reset", {})
    running = project.start_sync()
    meltano = psutil.Process(running.pid)
    deadline = time.monotonic() + 300
    while project.mobilize.admin("stats")["by_route"].get(PEOPLE_ROUTE, 0) < 2:
        assert running.poll() is None, "the run ended before the tap could be killed"
        assert time.monotonic() < deadline, "the tap never got to people"
        time.sleep(0.02)
    taps = [
        p
        for p in meltano.children(recursive=True)
        if any(os.path.basename(part) == "tap-mobilize" for part in p.cmdline())
    ]
    targets = [
        p
        for p in meltano.children(recursive=True)
        if any(os.path.basename(part) == "target-pdi" for part in p.cmdline())
    ]
    assert len(taps) == len(targets) == 1, (taps, targets)
    os.kill(taps[0].pid, signal.SIGKILL)
    returncode = running.wait(timeout=300)
    log = (project.workdir / "background-sync.log").read_text()
    return RunResult(returncode, log)


def test_a_run_whose_tap_fails_is_failed_with_the_taps_reason(make_project: MakeProject) -> None:
    project = make_project(mobilize_args=[*DATA, *DATA_ATTENDANCES])
    use_calendars(project, CALENDARS_YML)

    # A key Mobilize refuses: nothing read, nothing written, no bookmark.
    project.extra_env["TAP_MOBILIZE_API_KEY"] = WRONG_KEY
    refused = project.sync()
    summary = assert_run_failed_because_of_the_tap(
        project,
        refused,
        "tap-mobilize failed: Mobilize refused the request (HTTP 403) for organization 1",
        "failed",
    )
    assert summary["tap"]["error"] in summary["error"]
    assert "check the api_key setting" in summary["error"]
    assert WRONG_KEY not in refused.output + json.dumps(summary)
    assert project.bookmarks() == {}
    check(project, PdiModel(router(ROUTES, "Other Events")))  # PDI is empty
    del project.extra_env["TAP_MOBILIZE_API_KEY"]

    # An outage past the tap's outage_seconds: it stops, nothing moves.
    bookmarks = saved_bookmarks(project)
    project.extra_env["TAP_MOBILIZE_OUTAGE_SECONDS"] = "2"
    project.mobilize.admin("switches", {"down": True})
    outage = project.sync()
    project.mobilize.admin("switches", {"down": False})
    del project.extra_env["TAP_MOBILIZE_OUTAGE_SECONDS"]
    assert_run_failed_because_of_the_tap(
        project, outage, "tap-mobilize failed: Mobilize at http://127.0.0.1:", "failed"
    )
    assert "answered nothing for" in summary_of(project)["error"]
    assert saved_bookmarks(project) == bookmarks == {}
    check(project, PdiModel(router(ROUTES, "Other Events")))  # PDI is still empty

    # The tap alone killed while it reads people; the target sees its input end without the
    # tap's end marker.
    project.mobilize.admin("switches", {"latency_ms": 150})
    project.extra_env["TAP_MOBILIZE_PER_PAGE"] = "3"
    killed = kill_the_tap_alone(project)
    project.mobilize.admin("switches", {"latency_ms": 0})
    del project.extra_env["TAP_MOBILIZE_PER_PAGE"]
    summary = assert_run_failed_because_of_the_tap(
        project, killed, "tap-mobilize ended without finishing", "ended without finishing"
    )
    assert summary["tap"]["error"] == summary["error"]
    # What the tap read before it was killed (the organization, events, deleted events) is
    # written and bookmarked; people and signups are not.
    bookmarked = finished_streams(project)
    assert "events" in bookmarked
    assert not bookmarked & {"people", "attendances"}, bookmarked
    check(project, events_only_model(project))

    # Every cause removed: a normal run, and PDI is the whole organization's.
    done = project.sync()
    assert done.returncode == 0, done.failure()
    summary = summary_of(project)
    assert summary["status"] == "succeeded"
    assert summary["tap"] == {"outcome": "completed", "error": None}
    assert summary["attention"] == []
    model = PdiModel(router(ROUTES, "Other Events"))
    model.sync(project.dataset())
    check(project, model)
    assert finished_streams(project) >= {"events", "people", "attendances"}
    stored = project.meltano("state", "get", STATE_ID)
    assert stored.returncode == 0, stored.output[-3000:]
    assert "tap_mobilize" not in stored.stdout

    # A person whose modified_date is no timestamp crashed the tap until issue 19: now the value
    # is emitted as null with one warning, and the run goes on (what issue 19's tap fuzz
    # asserts of every field); PDI still holds the whole organization.
    person = next(p for p in project.dataset()["people"] if p["id"] is not None)
    project.mutate("garble_person", id=person["id"], fields={"modified_date": "soon"})
    # A full refresh, since the Mobilize simulator cannot filter on a date that is a word.
    garbled = project.sync("--full-refresh")
    assert garbled.returncode == 0, json.dumps(summary_of(project))[:3000] + garbled.failure()
    assert summary_of(project)["status"] == "succeeded"
    assert garbled.lines(
        f"Stream 'people': row {person['id']} has modified_date of type string where Mobilize "
        "documents integer"
    )
    assert not garbled.lines("Traceback")
    check(project, model)
    shown = project.meltano("invoke", "target-pdi:status")
    assert shown.returncode == 0, shown.output[-3000:]
    assert shown.stdout.rstrip().endswith("Status: OK")


def test_a_tap_piped_by_hand_fails_the_target_too(make_project: MakeProject) -> None:
    """`tap-mobilize | target-pdi` in a shell, no Meltano: the pipe's exit status (the
    target's, without `pipefail`) and the summary say the tap failed."""
    project = make_project(mobilize_args=[*DATA, *DATA_ATTENDANCES])
    tap_config = project.workdir / "tap.json"
    tap_config.write_text(
        json.dumps(
            {"api_url": f"{project.mobilize.url}/v1", "api_key": WRONG_KEY, "organization_id": 1}
        )
    )
    target_config = project.workdir / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "api_url": project.pdi.url,
                "username": "sandbox",
                "password": "sandbox-password",
                "api_token": "sandbox-token",
                "id_map_url": f"sqlite:///{project.id_map}",
                "dead_letter_path": str(project.dead_letters),
                "summary_path": str(project.workdir / "summary.json"),
                "calendars_file": str(use_calendars(project, CALENDARS_YML)),
            }
        )
    )
    bin_dir = REPO / ".venv" / "bin"
    # A shell pipe is the point; every path in it is the test's own.
    piped = subprocess.run(  # noqa: S602
        f"{bin_dir / 'tap-mobilize'} --config {tap_config}"
        f" | {bin_dir / 'target-pdi'} --config {target_config}",
        shell=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_"))},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = piped.stdout + piped.stderr
    assert piped.returncode == 1, output[-3000:]
    summary = summary_of(project)
    assert summary["status"] == "failed", summary
    assert summary["error"].startswith(
        "tap-mobilize failed: Mobilize refused the request (HTTP 403)"
    )
    assert summary["tap"]["outcome"] == "failed"
    assert WRONG_KEY not in output + json.dumps(summary)
    assert project.pdi_writes() == 0
