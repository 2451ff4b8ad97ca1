"""The reconcile check around a stand-in `meltano`; the summary checks and the freshness check
judging as `status` does.

The real reconcile against the sandboxes runs in tests/e2e/test_orchestrator.py; here the
stand-in gives each outcome: nothing found, discrepancies found, reconcile unable to run. The
real runs that fail each way, judged by Dagster and by status: tests/e2e/test_outcomes_agree.py.
"""

from __future__ import annotations

import json
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from mobilize_pdi_dagster.checks import freshness_checks, judge_summary, max_sync_age
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization
from mobilize_pdi_dagster.reconcile_check import reconcile_check
from mobilize_pdi_dagster.sync_asset import sync_asset
from target_pdi.rules.verdict import Limits, verdict

ORG = Organization("north", "sync-north", "target-pdi--north")
KEY = dg.AssetKey(["pdi", "north"])
CSV_HEADER = "kind,mobilize_key,pdi_id,expected,found,fix\n"

# `config print target-pdi--north` gives the report's path; `invoke
# target-pdi--north:reconcile` writes FAKE_CSV there (when set) and exits FAKE_EXIT.
FAKE_MELTANO = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
report = os.environ["FAKE_REPORT"]
if args[1] == "config":
    print(json.dumps({{"reconcile_report_path": report, "password": "(redacted)"}}))
    sys.exit(0)
assert args[1:] == ["invoke", "target-pdi--north:reconcile"], args
print("target-pdi--north | Reading Mobilize", flush=True)
if "FAKE_CSV" in os.environ:
    with open(report, "w") as out:
        out.write(os.environ["FAKE_CSV"])
print(os.environ.get("FAKE_LAST_LINE", "done"), flush=True)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MeltanoProject:
    (tmp_path / "meltano.yml").write_text("default_environment: dev\n")
    fake = tmp_path / "meltano"
    fake.write_text(FAKE_MELTANO.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("MELTANO_ENVIRONMENT", raising=False)
    monkeypatch.setenv("FAKE_REPORT", str(tmp_path / "reconcile.csv"))
    return MeltanoProject(project_dir=str(tmp_path), meltano_executable=str(fake))


def reconcile(project: MeltanoProject) -> dg.ExecuteInProcessResult:
    """The check alone, as the reconcile job runs it."""
    check = reconcile_check(ORG)
    job = dg.define_asset_job("reconcile_north", selection=dg.AssetSelection.checks(check))
    defs = dg.Definitions(
        assets=[sync_asset(ORG)], asset_checks=[check], jobs=[job], resources={"meltano": project}
    )
    return defs.resolve_job_def("reconcile_north").execute_in_process(raise_on_error=False)


def evaluation(result: dg.ExecuteInProcessResult) -> tuple[bool, str | None, dict[str, Any]]:
    (found,) = result.get_asset_check_evaluations()
    assert found.severity == dg.AssetCheckSeverity.ERROR
    return found.passed, found.description, {k: v.value for k, v in found.metadata.items()}


def test_reconcile_is_green_when_mobilize_and_pdi_agree(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CSV", CSV_HEADER)
    result = reconcile(project)
    assert result.success
    passed, description, metadata = evaluation(result)
    assert (passed, description, metadata["discrepancies"]) == (True, "Mobilize and PDI agree.", 0)


def test_reconcile_is_red_with_how_many_of_which_kind(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        "signup without invitation,attendance:1,,a@example.org: Yes,none,invited by the sync",
        "signup without invitation,attendance:2,,b@example.org: Yes,none,invited by the sync",
        "event at wrong time,timeslot:7,X1,09:00-10:00,10:00-11:00,rewritten by the sync",
    ]
    monkeypatch.setenv("FAKE_CSV", CSV_HEADER + "\n".join(rows) + "\n")
    monkeypatch.setenv("FAKE_EXIT", "1")
    result = reconcile(project)
    assert result.success  # the check ran; what it found is its result
    passed, description, metadata = evaluation(result)
    assert not passed
    assert description == ("3 discrepancies: 2 signup without invitation, 1 event at wrong time")
    assert metadata["discrepancies"] == 3
    assert "| signup without invitation | 2 |" in metadata["by_kind"]


def test_reconcile_that_cannot_read_an_api_fails_saying_why(
    project: MeltanoProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An earlier report is there; this run writes none.
    (tmp_path / "reconcile.csv").write_text(CSV_HEADER)
    monkeypatch.setenv("FAKE_EXIT", "1")
    monkeypatch.setenv("FAKE_LAST_LINE", "target-pdi stopped: PDI login failed (HTTP 401)")
    result = reconcile(project)
    assert not result.success
    assert result.get_asset_check_evaluations() == []
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    user = failure.step_failure_data.user_failure_data
    assert user is not None
    assert user.description == (
        "reconcile of north could not run (exit 1): target-pdi stopped: PDI login failed (HTTP 401)"
    )


def test_freshness_is_statuss_max_sync_age_from_the_organizations_settings() -> None:
    assert max_sync_age({}) == timedelta(hours=18)  # target-pdi's default
    assert max_sync_age({"max_sync_age_hours": 1}) == timedelta(hours=1)
    assert max_sync_age({"max_sync_age_hours": "6"}) == timedelta(hours=6)  # from the environment
    (checks,) = freshness_checks(KEY, timedelta(hours=18))
    (spec,) = checks.check_specs
    assert (spec.asset_key, spec.name) == (KEY, "freshness_check")
    params = json.loads(json.dumps(spec.metadata["dagster/freshness_params"].value))
    # Overdue once the last success is older than 18 h, whatever the schedule's ticks.
    assert params == {"lower_bound_delta_seconds": 18 * 3600.0, "timezone": "UTC"}


FINISHED = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def a_summary(status: str = "succeeded", old: int = 0, **more: Any) -> dict[str, Any]:
    return {
        "status": status,
        "finished_at": FINISHED.isoformat(),
        "objects": {"contacts": {"created": 3, "failed": 0}},
        "attention": [],
        "dead_letters": {"new": 1, "waiting": 5, "over_max_age": old, "max_age_hours": 24},
        **more,
    }


@pytest.mark.parametrize(
    "summary",
    [
        a_summary(),
        a_summary(attention=["2 contacts failed", "4 invitations failed"]),
        a_summary("failed", attention=["tap-mobilize failed"]),
        a_summary("failed", attention=["tap-mobilize ended without finishing"]),
        a_summary("failed"),
        a_summary("stopped"),
        a_summary(old=1),
        a_summary("failed", old=3, attention=["tap-mobilize failed", "1 contacts failed"]),
    ],
)
def test_the_summary_checks_say_what_status_says_of_the_same_run(summary: dict[str, Any]) -> None:
    """Right after the run (its last success recent): the failed checks' descriptions are
    status's reasons, word for word, in its order; none failed exactly when status says OK."""
    waiting = summary["dead_letters"]
    since = [FINISHED - timedelta(hours=30)] * waiting["over_max_age"] + [FINISHED] * (
        waiting["waiting"] - waiting["over_max_age"]
    )
    status_reasons = verdict(
        summary,
        {"status": "succeeded", "finished_at": (FINISHED - timedelta(hours=1)).isoformat()},
        since,
        now=FINISHED,
        limits=Limits(),
    )
    failed = [j.description for j in judge_summary(summary) if not j.passed]
    assert failed == status_reasons
