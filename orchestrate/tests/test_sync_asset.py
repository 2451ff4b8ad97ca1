"""The sync asset around a stand-in `meltano` (a script): what Dagster records of a run.

The real `meltano run` against the sandboxes is tests/e2e/test_orchestrator.py; here the
stand-in makes each outcome cheap: a sync that succeeds, one that fails after writing its
summary, one refused before target-pdi starts (no summary of its own).
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
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG, sync_asset

ORG = Organization("north", "sync-north", "target-pdi--north")

# Answers `meltano --environment=dev config print <loader> --format=json` and
# `meltano --environment=dev run <job>` the way the test's env asks.
FAKE_MELTANO = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
assert args[0] == "--environment=dev", args
if args[1] == "config":
    print(json.dumps({{"summary_path": os.environ["FAKE_SUMMARY_PATH"], "password": "(redacted)"}}))
    sys.exit(0)
assert args[1:] == ["run", "sync-north"], args
print("tap-mobilize--north | reading events", flush=True)
if os.environ.get("FAKE_SUMMARY"):
    with open(os.environ["FAKE_SUMMARY_PATH"], "w") as out:
        out.write(os.environ["FAKE_SUMMARY"])
print(os.environ.get("FAKE_LAST_LINE", "done"), flush=True)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


def summary(status: str = "succeeded", error: str | None = None) -> dict[str, Any]:
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
            "events": {"created": 40, "updated": 2, "unchanged": 3, "failed": 1},
            "contacts": {"created": 50, "updated": 0, "unchanged": 0, "failed": 0},
            "invitations": {"created": 120, "updated": 4, "unchanged": 0, "failed": 2},
        },
        "skipped": {"people without email": 3},
        "dead_letters": {"new": 5, "waiting": 7, "path": "/x/dead_letters.jsonl"},
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
    return dg.materialize(
        [sync_asset(ORG)],
        resources={"meltano": project},
        instance=instance,
        raise_on_error=False,
        tags={ORGANIZATION_TAG: ORG.name},
    )


def plain(metadata: dict[str, dg.MetadataValue]) -> dict[str, Any]:
    return {key: value.value for key, value in metadata.items()}


def test_a_sync_materializes_with_its_summary_counts(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary()))
    result = materialize(project)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("pdi__north")
    got = plain(materialization.metadata)
    assert materialization.asset_key == dg.AssetKey(["pdi", "north"])
    assert got["status"] == "succeeded"
    assert got["events_created"] == 40
    assert got["events_failed"] == 1
    assert got["invitations_updated"] == 4
    assert got["locations_unchanged"] == 1
    assert got["dead_letters_new"] == 5
    assert got["dead_letters_waiting"] == 7
    assert got["pdi_requests"] == 260
    assert got["summary"] == summary()
    assert "error" not in got


def test_a_failed_sync_fails_the_run_with_the_summary_error(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = "PDI refused the login: check username, password, api_token"
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary("failed", error)))
    monkeypatch.setenv("FAKE_EXIT", "1")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(project, instance)
    assert not result.success
    assert result.asset_materializations_for_node("pdi__north") == []
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    data = failure.step_failure_data
    assert data.user_failure_data is not None
    assert error in data.user_failure_data.description
    assert plain(data.user_failure_data.metadata)["reason"] == error
    # The organization's history keeps the failed run's summary.
    (record,) = instance.fetch_observations(dg.AssetKey(["pdi", "north"]), limit=5).records
    assert record.asset_observation is not None
    assert plain(record.asset_observation.metadata)["status"] == "failed"
    assert plain(record.asset_observation.metadata)["events_created"] == 40


def test_a_summary_left_by_an_earlier_run_is_not_this_runs(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "summary.json").write_text(json.dumps(summary()))
    monkeypatch.setenv("FAKE_EXIT", "1")
    monkeypatch.setenv("FAKE_LAST_LINE", "Another 'dev:sync-north' pipeline is already running")
    result = materialize(project)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    user = failure.step_failure_data.user_failure_data
    assert user is not None
    got = plain(user.metadata)
    assert got["status"] == "no summary written"
    assert "events_created" not in got
    assert got["reason"] == "Another 'dev:sync-north' pipeline is already running"


def test_history_lists_each_run_of_the_organization_with_its_metadata(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary()))
    assert materialize(project, instance).success
    monkeypatch.setenv("FAKE_SUMMARY", json.dumps(summary("failed", "PDI outage")))
    monkeypatch.setenv("FAKE_EXIT", "1")
    assert not materialize(project, instance).success
    history = organization_history(instance)
    assert list(history) == ["north"]
    failed, succeeded = history["north"]
    assert (failed["status"], succeeded["status"]) == ("FAILURE", "SUCCESS")
    assert failed["failure"]["description"] == "meltano run sync-north failed (exit 1): PDI outage"
    assert failed["metadata"]["summary"] == summary("failed", "PDI outage")
    assert succeeded["metadata"]["summary"] == summary()
    assert succeeded["failure"] is None
