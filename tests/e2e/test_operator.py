"""The operator's view, end to end: the JSON summary a real `meltano run` writes, `meltano invoke
target-pdi:status`, the log without the SDK's METRIC lines (and with them, on request), and a
prod run without credentials.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, MakeProject
from tests.e2e.harness import REPO, Project, RunResult

pytestmark = [
    pytest.mark.e2e,
    # Meltano reads the project's .env: a real one would feed the runs secrets they leave out.
    pytest.mark.skipif((REPO / ".env").exists(), reason="a .env in the project sets secrets"),
]

KINDS = ("locations", "events", "contacts", "invitations")
WRONG_PASSWORD = "pp-Tq73w-wrong"
METRIC = re.compile(r"\b(tap-mobilize|target-pdi)\s+METRIC: \{")


def summary_of(project: Project) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((project.workdir / "out" / "summary.json").read_text())
    return result


def history_of(project: Project) -> list[dict[str, Any]]:
    path = project.workdir / "out" / "summary.history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def status(project: Project, **env: str) -> RunResult:
    saved = dict(project.extra_env)
    project.extra_env.update(env)
    try:
        return project.meltano("invoke", "target-pdi:status")
    finally:
        project.extra_env.clear()
        project.extra_env.update(saved)


def test_summary_status_and_log(make_project: MakeProject) -> None:
    project = make_project(env={"TARGET_PDI_ORGANIZATION": "north"})
    # In a folder of its own, which the target creates.
    project.extra_env["TARGET_PDI_SUMMARY_PATH"] = str(project.workdir / "out" / "summary.json")

    first = project.sync()
    assert first.returncode == 0, first.failure()
    # The progress and summary lines are not drowned in the SDK's per-stream metrics.
    assert not first.lines("METRIC"), first.lines("METRIC")[:3]
    assert first.lines("Summary: skipped: ")
    assert not [line for line in first.lines("Summary:") if "{" in line]

    # The JSON summary holds what PDI shows: a first sync creates every object PDI has.
    summary = summary_of(project)
    pdi = project.pdi_state()
    stats = project.pdi.admin("stats")
    counts = project.mobilize.admin("counts")
    assert summary["organization"] == "north"
    assert summary["status"] == "succeeded"
    assert summary["error"] is None
    assert summary["dry_run"] is False
    assert {kind: summary["objects"][kind]["created"] for kind in KINDS} == {
        kind: len(pdi[kind]) for kind in KINDS
    }
    assert {kind: summary["objects"][kind]["failed"] for kind in KINDS} == dict.fromkeys(KINDS, 0)
    assert sum(summary["pdi_requests"].values()) == stats["requests"]
    assert {s: summary["records_read"][s] for s in ("events", "timeslots", "people")} == {
        s: counts[s] for s in ("events", "timeslots", "people")
    }
    dead = [line for line in project.dead_letters.read_text().splitlines() if line.strip()]
    assert summary["dead_letters"]["waiting"] == len(dead) > 0
    assert summary["dead_letters"]["new"] == len(dead)
    assert summary["dead_letters"]["path"] == str(project.dead_letters)
    assert summary["skipped"]["people without email"] > 0

    # status prints it back, with both credentials checked.
    shown = status(project)
    assert shown.returncode == 0, shown.output[-3000:]
    created = "; ".join(
        f"{kind} {summary['objects'][kind]['created']} created"
        for kind in KINDS
        if summary["objects"][kind]["created"]
    )
    assert f"  changed in PDI: {created}" in shown.stdout, shown.stdout
    assert "Organization: north" in shown.stdout
    assert "Last run: succeeded, finished " in shown.stdout
    assert "  failed: none" in shown.stdout
    assert f"Dead letters waiting: {len(dead)} ({project.dead_letters})" in shown.stdout
    assert f"PDI credentials: OK (logged in to {project.pdi.url})" in shown.stdout
    assert "Mobilize credentials: OK" in shown.stdout
    assert shown.stdout.rstrip().endswith("Status: OK")

    # A password PDI refuses: status says which credentials fail, exits 1, shows no secret.
    refused = status(project, TARGET_PDI_PASSWORD=WRONG_PASSWORD)
    assert refused.returncode == 1, refused.output[-3000:]
    assert "PDI credentials: FAILED: PDI login failed (HTTP 401)" in refused.stdout
    assert "Mobilize credentials: OK" in refused.stdout
    assert "Status: ATTENTION (PDI credentials)" in refused.stdout
    assert WRONG_PASSWORD not in refused.output
    assert "Traceback" not in refused.output

    # The METRIC lines for whoever asks (the documented switch); the history keeps both runs.
    project.extra_env["SINGER_LOGGING"] = "-metrics"
    second = project.sync()
    assert second.returncode == 0, second.failure()
    sides = {m.group(1) for line in second.output.splitlines() if (m := METRIC.search(line))}
    assert sides == {"tap-mobilize", "target-pdi"}
    runs = history_of(project)
    assert [run["status"] for run in runs] == ["succeeded", "succeeded"]
    assert runs[-1] == summary_of(project)
    assert runs[-1]["objects"]["events"]["created"] == 0  # nothing new: nothing created


def test_prod_run_without_credentials_names_them_and_reads_nothing(
    make_project: MakeProject,
) -> None:
    """As a fresh `.env` copied from `.env.example` leaves it: nothing set."""
    project = make_project(env={"MELTANO_ENVIRONMENT": "prod"})
    project.extra_env["TARGET_PDI_SUMMARY_PATH"] = str(project.workdir / "out" / "summary.json")
    result = project.meltano("--environment=prod", "run", "tap-mobilize", "target-pdi")
    tail = result.output[-3000:]
    assert result.returncode != 0, tail
    missing = [line for line in result.output.splitlines() if "missing PDI credentials" in line]
    assert missing, tail
    for setting in ("username", "password", "api_token"):
        assert f"{setting} (TARGET_PDI_{setting.upper()})" in missing[0], missing[0]
    # The tap names what it lacks too (the organization; the key is optional: public events).
    assert [line for line in result.output.splitlines() if "organization_id" in line], tail
    assert project.mobilize.admin("stats")["requests"] == 0
    assert project.pdi.admin("stats")["requests"] == 0
    summary = summary_of(project)
    assert summary["status"] == "failed"
    assert "missing PDI credentials" in summary["error"]
    assert "Traceback" not in result.output, tail


def test_status_of_one_organization_of_several(make_organizations: MakeOrganizations) -> None:
    """`target-pdi--<org>:status` reads that organization's summary and checks its own
    credentials, through its own tap (orgs/north.meltano.yml)."""
    project = make_organizations({"north": ORGANIZATIONS["north"]})
    shown = project.meltano("invoke", "target-pdi--north:status")
    assert shown.returncode == 1, shown.output[-3000:]
    summary = project.org_dir("north") / "summary.json"
    assert shown.stdout.splitlines() == [
        "Organization: north",
        f"Last run: no run yet (no summary at {summary})",
        "Dead letters waiting: 0",
        f"PDI credentials: OK (logged in to {project.orgs['north'].pdi.url})",
        "Mobilize credentials: OK (tap-mobilize--north --test passed)",
        "Status: ATTENTION (no run yet)",
    ]
