"""The operator's view, end to end: the JSON summary a real `meltano run` writes, `meltano invoke
target-pdi:status`, the log without the SDK's METRIC lines (and with them, on request), and a
prod run without credentials.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, MakeProject
from tests.e2e.harness import REPO, Project, RunResult
from tests.e2e.personal_data import shown as shown_personal_data

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
    assert (
        f"PDI credentials: OK: logged in to PDI at {project.pdi.url} as the configured user"
        in shown.stdout
    )
    assert (
        "Mobilize credentials: OK: the API key reads organization 1's events, people and "
        f"attendances at {project.mobilize.url}/v1" in shown.stdout
    )
    assert shown.stdout.rstrip().endswith("Status: OK")

    # A password PDI refuses: status says which credentials fail, exits 1, shows no secret.
    refused = status(project, TARGET_PDI_PASSWORD=WRONG_PASSWORD)
    assert refused.returncode == 1, refused.output[-3000:]
    assert "PDI credentials: FAILED: PDI login failed (HTTP 401)" in refused.stdout
    assert "Mobilize credentials: OK" in refused.stdout
    assert "Status: ATTENTION (PDI credentials failed)" in refused.stdout
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
    north = project.orgs["north"]
    shown = project.meltano("invoke", "target-pdi--north:status")
    assert shown.returncode == 1, shown.output[-3000:]
    summary = project.org_dir("north") / "summary.json"
    assert shown.stdout.splitlines() == [
        "Organization: north",
        f"Last run: no run yet (no summary at {summary})",
        "Dead letters waiting: 0",
        f"PDI credentials: OK: logged in to PDI at {north.pdi.url} as the configured user",
        "Mobilize credentials: OK: the API key reads organization 101's events, people and "
        f"attendances at {north.mobilize.url}/v1",
        "Status: ATTENTION (no run yet)",
    ]

    # docs/operating.md's check of one organization: each plugin says what it checked, with its own
    # settings, and prints none of the organization's people.
    checked = project.meltano("test", "tap-mobilize--north", "target-pdi--north")
    assert checked.returncode == 0, checked.output[-3000:]
    assert (
        "OK: the API key reads organization 101's events, people and attendances at "
        f"{north.mobilize.url}/v1" in checked.stdout
    )
    assert f"OK: logged in to PDI at {north.pdi.url} as the configured user; calendars: " in (
        checked.stdout
    )
    assert shown_personal_data(checked.output, north.dataset()) == []


# --- status's verdict, and what the operator commands print ----------------------------------


def refused_by_pdi(project: Project, how_many: int) -> list[dict[str, Any]]:
    """People with an email and signups, given a blank last name, which PDI's [Required] check
    refuses: each one's contact fails, and so does each of their signups."""
    data = project.dataset()
    signed_up = {a["person"]["id"] for a in data["attendances"] if a.get("person")}
    chosen = [
        p
        for p in data["people"]
        if p["id"] in signed_up and p.get("email_addresses") and p.get("family_name")
    ][:how_many]
    for person in chosen:
        project.mutate("update_person", id=person["id"], fields={"family_name": ""})
    return chosen


def rewrite_json_lines(path: Path, change: Any) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps(change(entry)) + "\n" for entry in lines))


def test_status_says_attention_for_failed_records_old_dead_letters_and_a_missed_run(
    make_project: MakeProject,
) -> None:
    """A run that succeeds with failed records was reported `Status: OK`, exit 0."""
    project = make_project()
    refused_by_pdi(project, 2)
    synced = project.sync()
    assert synced.returncode == 0, synced.failure()
    summary = json.loads((project.workdir / "summary.json").read_text())
    assert summary["status"] == "succeeded"
    failed = {kind: row["failed"] for kind, row in summary["objects"].items() if row["failed"]}
    assert set(failed) == {"contacts", "invitations"}, failed
    failures = ", ".join(summary["attention"])

    shown = status(project)
    assert shown.returncode == 1, shown.output[-3000:]
    lines = shown.stdout.splitlines()
    assert lines[-1] == f"Status: ATTENTION (last run: {failures})", shown.stdout
    assert (
        f"  failed: contacts {failed['contacts']}, invitations {failed['invitations']}" in lines
    ), shown.stdout
    # The dead letters by kind: the two people PDI refused, their signups, and the people
    # without an email (the dataset has some), each with its first failure and its remedy.
    # (The summary counts a contact each time a batch tried it: people and signups came in
    # different batches.)
    assert any(
        line.startswith("  2 people refused by PDI (HTTP 400), the first since ") for line in lines
    ), shown.stdout
    assert any(
        f"  {failed['invitations']} signups of people whose contact failed, the first since "
        in line
        for line in lines
    ), shown.stdout
    assert any(
        "people without a usable email address" in line
        and line.endswith("they cannot succeed until someone gives them one in Mobilize")
        for line in lines
    ), shown.stdout

    # Three days on, without another run (the twice-daily schedule stopped): the dead letters
    # and the last success are old. Only the times change, as if the clock had moved on.
    dead = [json.loads(line) for line in project.dead_letters.read_text().splitlines()]
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()

    def aged(entry: dict[str, Any]) -> dict[str, Any]:
        return {**entry, "first_ts": three_days_ago}

    def earlier(run: dict[str, Any]) -> dict[str, Any]:
        return {**run, "finished_at": three_days_ago}

    rewrite_json_lines(project.dead_letters, aged)
    rewrite_json_lines(project.workdir / "summary.history.jsonl", earlier)
    last = project.workdir / "summary.json"
    last.write_text(json.dumps(earlier(json.loads(last.read_text())), indent=2))
    shown = status(project)
    assert shown.returncode == 1, shown.output[-3000:]
    assert shown.stdout.splitlines()[-1] == (
        f"Status: ATTENTION (last run: {failures}; no successful run for over 18 h; "
        f"{len(dead)} dead letters waiting over 24 h)"
    ), shown.stdout

    # The limits are settings (an environment, an organization or the shell can set them).
    lenient = status(
        project, TARGET_PDI_MAX_SYNC_AGE_HOURS="96", TARGET_PDI_DEAD_LETTER_MAX_AGE_HOURS="96"
    )
    assert lenient.stdout.splitlines()[-1] == f"Status: ATTENTION (last run: {failures})"
    assert shown_personal_data(shown.output + lenient.output, project.dataset()) == []


def test_operator_commands_answer_first_and_show_no_personal_data(
    make_project: MakeProject,
) -> None:
    """status, validate-mappings, reconcile and last-run print their answer without the SDK's
    "Parsing ... config" lines before it, and none of the people's names, emails or phones
    (reconcile's table printed the email of each signup it lists)."""
    project = make_project()
    synced = project.sync()
    assert synced.returncode == 0, synced.failure()
    # A PDI user deletes an invitation: reconcile has a signup to list.
    invitation = project.pdi_state()["invitations"][0]
    project.pdi.admin("delete", {"kind": "invitations", "id": invitation["id"]})

    answers = {
        "status": (0, "Status: OK"),
        "validate-mappings": (0, "OK: "),
        "reconcile": (1, "signup without invitation"),
        "last-run": (0, '{"schema_version": '),
    }
    dataset = project.dataset()
    chatter: dict[str, dict[str, int]] = {}
    for command, (code, answer) in answers.items():
        result = project.meltano("invoke", f"target-pdi:{command}")
        assert result.returncode == code, (command, result.output[-3000:])
        assert answer in result.stdout, (command, result.stdout)
        chatter[command] = {
            "Parsing lines": len(result.lines("Parsing")),
            "names, emails, phones shown": len(shown_personal_data(result.output, dataset)),
        }
    nothing = {"Parsing lines": 0, "names, emails, phones shown": 0}
    assert chatter == dict.fromkeys(answers, nothing)
