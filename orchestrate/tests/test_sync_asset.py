"""The sync asset around a stand-in `meltano` (a script): what Dagster records of a run.

The real `meltano run` against the sandboxes is tests/e2e/test_orchestrator.py; here the
stand-in makes each outcome cheap: a sync that succeeds (with or without failed records), one
that fails after writing its summary, one refused before target-pdi starts (the summary
`last-run` prints is an earlier run's).
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from mobilize_pdi_dagster.history import organization_history
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG, failure_reason, sync_asset

ORG = Organization("north", "sync-north", "target-pdi--north")
KEY = dg.AssetKey(["pdi", "north"])

# Answers `meltano --environment=dev run sync-north` (writes FAKE_SUMMARY, named after the
# run's MOBILIZE_PDI_RUN_ID, unless FAKE_STALE) and `meltano --environment=dev invoke
# target-pdi--north:last-run` (prints the last summary, or exits 1 when there is none).
FAKE_MELTANO = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
assert args[0] == "--environment=dev", args
path = os.environ["FAKE_SUMMARY_PATH"]
if args[1:] == ["invoke", "target-pdi--north:last-run"]:
    print("meltano | invoking", file=sys.stderr)
    if not os.path.exists(path):
        sys.exit(1)
    print(open(path).read())
    sys.exit(0)
assert args[1:] == ["run", "sync-north"], args
print("meltano | Running job with name 'dev:tap-mobilize--north-to-target-pdi--north'")
print("2026-11-29T12:00:01Z [info     ] tap-mobilize--north reading events", flush=True)
if os.environ.get("FAKE_SUMMARY"):
    summary = json.loads(os.environ["FAKE_SUMMARY"])
    stale = os.environ.get("FAKE_STALE")
    summary["run_id"] = "an-earlier-run" if stale else os.environ["MOBILIZE_PDI_RUN_ID"]
    with open(path, "w") as out:
        out.write(json.dumps(summary))
print(os.environ.get("FAKE_LAST_LINE", "done"), flush=True)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


def summary(
    status: str = "succeeded", error: str | None = None, failed: bool = False, old: int = 0
) -> dict[str, Any]:
    return {
        "organization": "north",
        "started_at": "2026-11-29T12:00:00Z",
        "finished_at": "2026-11-29T12:00:05Z",
        "duration_seconds": 5.2,
        "status": status,
        "error": error,
        "dry_run": False,
        "records_read": {"events": 24, "attendances": 150},
        "objects": {
            "locations": {"created": 10, "updated": 0, "unchanged": 1, "failed": 0},
            "events": {"created": 40, "updated": 2, "unchanged": 3, "failed": int(failed)},
            "contacts": {"created": 50, "updated": 0, "unchanged": 0, "failed": 0},
            "invitations": {"created": 120, "updated": 4, "unchanged": 0, "failed": 2 * failed},
        },
        "attention": ["1 events failed", "2 invitations failed"] if failed else [],
        "skipped": {"people without email": 3},
        "dead_letters": {
            "new": 5,
            "waiting": 7,
            "path": "/x/dead_letters.jsonl",
            "over_max_age": old,
            "max_age_hours": 24,
        },
        "pdi_requests": {"GET": 30, "POST": 230},
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MeltanoProject:
    (tmp_path / "meltano.yml").write_text("default_environment: dev\n")
    fake = tmp_path / "meltano"
    fake.write_text(FAKE_MELTANO.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("MELTANO_ENVIRONMENT", raising=False)
    monkeypatch.setenv("FAKE_SUMMARY_PATH", str(tmp_path / "summary.json"))
    return MeltanoProject(project_dir=str(tmp_path), meltano_executable=str(fake))


def materialize(
    project: MeltanoProject, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    """As the Materialize button does: no tag of the organization's at the start."""
    return dg.materialize(
        [sync_asset(ORG)], resources={"meltano": project}, instance=instance, raise_on_error=False
    )


def plain(metadata: dg.MetadataMapping) -> dict[str, Any]:
    return {key: value.value for key, value in metadata.items()}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str, str | None]]:
    return {
        e.check_name: (e.passed, e.severity.value, e.description)
        for e in result.get_asset_check_evaluations()
    }


def checks_logged(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[bool, str, Any]]:
    """The checks a run evaluated, as stored (a failed run's result object leaves out what its
    step logged before it failed)."""
    found = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        assert entry.dagster_event is not None
        e = entry.dagster_event.asset_check_evaluation_data
        found[e.check_name] = (e.passed, e.severity.value, e.description)
    return found


def observation(instance: dg.DagsterInstance) -> dict[str, Any]:
    (record,) = instance.fetch_observations(KEY, limit=5).records
    assert record.asset_observation is not None
    return plain(record.asset_observation.metadata)


def step_failure(result: dg.ExecuteInProcessResult) -> dg.Failure | Any:
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    user = failure.step_failure_data.user_failure_data
    assert user is not None
    return user


def test_a_sync_shows_its_table_its_numbers_and_its_checks(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary()))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(project, instance)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("pdi__north")
    got = plain(materialization.metadata)
    assert sorted(got) == [
        "changes",
        "dead_letters_waiting",
        "duration_seconds",
        "pdi_writes",
        "records_failed",
        "run_summary",
    ]
    assert got["changes"].splitlines()[:6] == [
        "| PDI object | created | updated | unchanged | failed |",
        "|---|--:|--:|--:|--:|",
        "| locations | 10 | 0 | 1 | 0 |",
        "| events | 40 | 2 | 3 | 0 |",
        "| contacts | 50 | 0 | 0 | 0 |",
        "| invitations | 120 | 4 | 0 | 0 |",
    ]
    assert "Dead letters: 7 waiting (5 new)" in got["changes"]
    assert "PDI requests: 260 (GET 30, POST 230); took 5.2 s." in got["changes"]
    assert (got["pdi_writes"], got["records_failed"], got["dead_letters_waiting"]) == (226, 0, 7)
    assert got["duration_seconds"] == 5.2
    assert got["run_summary"]["run_id"] == result.run_id
    # Dead letters wait, none for long: status says OK, and so do the checks.
    assert checks(result) == {
        "attention": (True, "ERROR", "Nothing needs attention."),
        "dead_letters": (True, "WARN", "7 dead letters waiting, none over 24 h (5 new this run)."),
    }
    # Started without the organization's tag, the run carries it once its sync begins.
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    assert run.tags[ORGANIZATION_TAG] == "north"


def test_failed_records_turn_the_attention_check_red_in_a_run_that_succeeds(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary(failed=True)))
    result = materialize(project)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("pdi__north")
    got = plain(materialization.metadata)
    assert got["records_failed"] == 3
    assert got["attention"] == "1 events failed; 2 invitations failed"
    assert "**Needs attention:** 1 events failed; 2 invitations failed" in got["changes"]
    # status's words: "Status: ATTENTION (last run: 1 events failed, 2 invitations failed)".
    assert checks(result)["attention"] == (
        False,
        "ERROR",
        "last run: 1 events failed, 2 invitations failed",
    )


def test_dead_letters_waiting_too_long_turn_their_check_amber(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary(old=3)))
    result = materialize(project)
    assert result.success
    assert checks(result) == {
        "attention": (True, "ERROR", "Nothing needs attention."),
        "dead_letters": (False, "WARN", "3 dead letters waiting over 24 h"),
    }


@pytest.mark.parametrize(
    ("status", "error", "tap", "verdict"),
    [
        (
            "failed",
            "tap-mobilize failed: Mobilize refused the request (HTTP 403)",
            "failed",
            "last run failed: tap-mobilize failed",
        ),
        ("failed", "PDI login failed (HTTP 401)", None, "last run failed"),
        ("stopped", "target-pdi stopped: SIGTERM received", None, "last run stopped"),
    ],
)
def test_a_failed_sync_is_judged_by_its_checks_as_status_judges_it(
    project: MeltanoProject,
    monkeypatch: pytest.MonkeyPatch,
    status: str,
    error: str,
    tap: str | None,
    verdict: str,
) -> None:
    """The step fails, and its checks are red with status's reason, not left at an earlier
    run's green."""
    failed = summary(status, error)
    if tap:
        failed["attention"] = [f"tap-mobilize {tap}"]
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(failed))
    monkeypatch.setenv("FAKE_EXIT", "1")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(project, instance)
    assert not result.success
    assert checks_logged(instance, result.run_id) == {
        "attention": (False, "ERROR", verdict),
        "dead_letters": (True, "WARN", "7 dead letters waiting, none over 24 h (5 new this run)."),
    }


def test_a_failed_sync_records_its_reason_and_no_numbers(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = "PDI login failed (HTTP 401): check settings username, password and api_token"
    nothing = summary("failed", error)
    nothing["objects"] = {
        k: dict.fromkeys(("created", "updated", "unchanged", "failed"), 0)
        for k in nothing["objects"]
    }
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(nothing))
    monkeypatch.setenv("FAKE_EXIT", "1")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(project, instance)
    assert not result.success
    assert result.asset_materializations_for_node("pdi__north") == []
    user = step_failure(result)
    assert user.description == f"meltano run sync-north failed (exit 1): {error}"
    assert plain(user.metadata)["reason"] == error
    # The plugins' last lines, not Meltano's traceback.
    assert plain(user.metadata)["log_tail"] == (
        "2026-11-29T12:00:01Z [info     ] tap-mobilize--north reading events"
    )
    # Nothing was written: no table, no zero to plot as "a sync that found nothing to do".
    assert observation(instance) == {"status": "failed", "reason": error}


def test_a_sync_stopped_halfway_shows_what_it_did_but_plots_nothing(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary("stopped", "SIGTERM received")))
    monkeypatch.setenv("FAKE_EXIT", "1")
    instance = dg.DagsterInstance.ephemeral()
    assert not materialize(project, instance).success
    got = observation(instance)
    assert sorted(got) == ["changes", "reason", "status"]
    assert (got["status"], got["reason"]) == ("stopped", "SIGTERM received")
    assert "| events | 40 | 2 | 3 | 0 |" in got["changes"]


def test_a_summary_left_by_an_earlier_run_is_not_this_runs(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary()))
    monkeypatch.setenv("FAKE_STALE", "1")
    monkeypatch.setenv("FAKE_EXIT", "1")
    monkeypatch.setenv("FAKE_LAST_LINE", "Another 'dev:sync-north' pipeline is already running")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(project, instance)
    assert not result.success
    reason = "Another 'dev:sync-north' pipeline is already running"
    assert plain(step_failure(result).metadata)["reason"] == reason
    assert observation(instance) == {"status": "failed", "reason": reason}
    # No summary of its own: nothing to judge, as status sees nothing new either.
    assert checks_logged(instance, result.run_id) == {}


def test_a_sync_that_left_no_summary_fails_its_checks(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = materialize(project)
    assert result.success
    missing = "meltano run sync-north succeeded but left no run summary"
    assert checks(result) == {
        "attention": (False, "ERROR", missing),
        "dead_letters": (False, "ERROR", missing),
    }


def test_history_finds_each_run_by_its_asset(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary()))
    assert materialize(project, instance).success
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary("failed", "PDI outage")))
    monkeypatch.setenv("FAKE_EXIT", "1")
    assert not materialize(project, instance).success
    history = organization_history(instance, ["north", "south"])
    assert history["south"] == {"runs": [], "checks": {}}
    failed, succeeded = history["north"]["runs"]
    assert (failed["status"], succeeded["status"]) == ("FAILURE", "SUCCESS")
    assert failed["failure"]["description"] == "meltano run sync-north failed (exit 1): PDI outage"
    assert (failed["metadata"]["status"], failed["metadata"]["reason"]) == ("failed", "PDI outage")
    assert [v for v in failed["metadata"].values() if isinstance(v, int | float)] == []
    assert {name: check["passed"] for name, check in failed["checks"].items()} == {
        "attention": False,
        "dead_letters": True,
    }
    assert failed["checks"]["attention"]["description"] == "last run failed"
    assert succeeded["metadata"]["run_summary"]["run_id"] == succeeded["run_id"]
    assert succeeded["checks"]["attention"]["passed"] is True
    assert succeeded["failure"] is None
    # The asset page shows the failed run's verdict, not the earlier success's.
    latest = history["north"]["checks"]
    assert {name: check["run_id"] for name, check in latest.items()} == {
        "attention": failed["run_id"],
        "dead_letters": failed["run_id"],
    }


def test_the_reason_of_a_run_meltano_refused_is_meltanos_line_not_its_closing() -> None:
    refused = (
        "2026-12-04T23:18:55Z [error    ] meltano      Another 'dev:tap-mobilize--north-to-"
        "target-pdi--north' pipeline is already running which started at 23:18:50."
    )
    tail = [
        "2026-12-04T23:18:54Z [info     ] meltano      Running extract & load...",
        refused,
        "2026-12-04T23:18:55Z [error    ] meltano      Block run completed",
        '│   118 │   │   f"The requested action could not be completed: {err}", │',
    ]
    assert failure_reason(None, tail) == refused
    assert failure_reason("PDI outage", tail) == "PDI outage"
    assert failure_reason(None, []) == "no output"
