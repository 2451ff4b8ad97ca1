"""A dry run changes nothing anywhere (issue 18): not PDI, not the id map, not the dead letters,
not Meltano's state, not the run summary of real runs. After any number of dry runs, a real run
does exactly what it would have done without them.

Real `meltano run` over real HTTP against both simulators (harsh answers). The tap's lookback
is 0, so that changes a few seconds apart behave as changes more than five minutes apart do
with the default lookback: a bookmark passed on by a dry run is a change lost for good.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, MakeProject, organization_model
from tests.e2e.expect import CANCELED, PdiModel, differences, email_of, router
from tests.e2e.harness import OrganizationsProject, Project, RunResult
from tests.e2e.test_sync import CALENDARS_YML, ROUTES, Picker, check, sync, use_calendars

pytestmark = pytest.mark.e2e

STATE_ID = "dev:tap-mobilize-to-target-pdi"
# What the dry run's log ends with (target.py).
NOTHING_SAVED = "nothing was written and no bookmark was saved"
WRITTEN = ("locations", "events", "contacts", "invitations")


def digest(path: Path) -> str | None:
    """The file's content as a digest, None when there is no file."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def meltano_state_rows(database: Path) -> list[tuple[Any, ...]]:
    """Every row of the table Meltano's state backend (systemdb) keeps bookmarks in."""
    with sqlite3.connect(database) as db:
        return list(db.execute("SELECT * FROM state ORDER BY state_id"))


def meltano_run_payloads(database: Path) -> list[str]:
    """The payload of every job run Meltano recorded (where a run's bookmarks would be)."""
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT payload FROM runs ORDER BY id")]


def summary_file(project: Project, suffix: str) -> Path:
    return project.workdir / f"summary{suffix}"


def everything_a_run_reads(project: Project) -> dict[str, Any]:
    """Whatever a dry run must leave as it found it: Meltano's state (as `meltano state get`
    shows it and as its database holds it), the id map, the dead letters, the real runs'
    summary and history, and PDI."""
    got = project.meltano("state", "get", STATE_ID)
    assert got.returncode == 0, got.failure()
    return {
        "meltano state get": got.stdout,
        "state table": meltano_state_rows(project.workdir / "meltano.db"),
        "id map": digest(project.id_map),
        "dead letters": digest(project.dead_letters),
        "summary": digest(summary_file(project, ".json")),
        "summary history": digest(summary_file(project, ".history.jsonl")),
        "PDI": project.pdi_state(),
    }


def dry_run(project: Project, *extra: str) -> RunResult:
    """`TARGET_PDI_DRY_RUN=true meltano run tap-mobilize target-pdi`, PDI's counts reset first."""
    project.reset_pdi_stats()
    project.extra_env["TARGET_PDI_DRY_RUN"] = "true"
    try:
        result = project.sync(*extra)
    finally:
        del project.extra_env["TARGET_PDI_DRY_RUN"]
    assert result.returncode == 0, result.failure()
    return result


def check_says_nothing_saved(result: RunResult, target: str = "target-pdi") -> None:
    """The target's last line says plainly that the dry run saved nothing."""
    lines = [line for line in result.output.splitlines() if target in line]
    assert lines, result.failure()
    assert NOTHING_SAVED in lines[-1], "\n".join(lines[-5:])


def planned_names(result: RunResult) -> set[str]:
    """Names of the PDI events the dry run says it would update."""
    return {
        line.split("'name': '", 1)[1].split("'", 1)[0]
        for line in result.lines("DRY RUN: would update /events/")
        if "'name': '" in line
    }


def test_dry_runs_between_changes_leave_the_next_real_run_all_of_them(
    make_project: MakeProject,
) -> None:
    project = make_project(env={"TAP_MOBILIZE_LOOKBACK_SECONDS": "0"})
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())

    sync(project)
    model.sync(project.dataset())
    check(project, model)
    history = summary_file(project, ".history.jsonl").read_text().splitlines()

    # Rename A, dry run, rename B, dry run: each dry run shows what a real run would do now,
    # and leaves everything as it found it.
    a, b = pick.event(), pick.event()
    renames = {a["id"]: "Renamed event A", b["id"]: "Renamed event B"}
    for done, (event_id, title) in enumerate(renames.items(), 1):
        project.mutate("update_event", id=event_id, fields={"title": title})
        before = everything_a_run_reads(project)
        result = dry_run(project)
        after = everything_a_run_reads(project)
        assert [what for what in before if after[what] != before[what]] == []
        stats = project.pdi.admin("stats")
        assert stats["writes"] == 0, stats["writes_by_route"]
        # Every rename so far: the second dry run still sees A's, as the real run will.
        assert planned_names(result) == set(list(renames.values())[:done]), result.failure()
        check_says_nothing_saved(result)
        assert not result.lines("Incremental state has been updated")
        dry = json.loads(summary_file(project, ".dry-run.json").read_text())
        assert dry["dry_run"] is True
        assert dry["objects"]["events"]["updated"] > 0
        # Meltano recorded the dry run's job, with no bookmark in it.
        payloads = meltano_run_payloads(project.workdir / "meltano.db")
        assert not any(json.loads(p or "{}") for p in payloads[1:]), payloads

    real = sync(project)
    model.sync(project.dataset())
    check(project, model)
    names = {e["name"] for e in project.pdi_state()["events"]}
    assert set(renames.values()) <= names
    # The real runs' history holds the real runs, one line each, and no dry run.
    runs = summary_file(project, ".history.jsonl").read_text().splitlines()
    assert runs[: len(history)] == history
    assert [json.loads(line)["dry_run"] for line in runs] == [False, False]
    assert not real.lines("DRY RUN")


def test_a_dry_run_first_then_a_real_run_syncs_everything(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))

    result = dry_run(project)
    assert result.lines("DRY RUN: would create /events")
    assert project.pdi.admin("stats")["writes"] == 0
    pdi = project.pdi_state()
    assert {kind: len(pdi[kind]) for kind in WRITTEN} == dict.fromkeys(WRITTEN, 0)
    listed = project.meltano("state", "list")
    assert listed.returncode == 0, listed.failure()
    assert STATE_ID not in listed.stdout
    assert meltano_state_rows(project.workdir / "meltano.db") == []
    assert not project.id_map.exists()
    assert not project.dead_letters.exists()
    assert not summary_file(project, ".json").exists()
    assert not summary_file(project, ".history.jsonl").exists()
    assert json.loads(summary_file(project, ".dry-run.json").read_text())["dry_run"] is True
    check_says_nothing_saved(result)
    # status reports no run yet, and the dry run on a line of its own.
    shown = project.meltano("invoke", "target-pdi:status")
    assert shown.returncode == 1, shown.output[-3000:]
    assert "Last run: no run yet" in shown.stdout, shown.stdout
    assert "Last dry run: succeeded" in shown.stdout, shown.stdout

    sync(project)
    model.sync(project.dataset())
    check(project, model)


# What a plan line counts, summed over a dry run's batches, and what the real run then does.
PLANNED = {
    "new events": re.compile(r"events to write \((\d+) new"),
    "cancels": re.compile(r"; (\d+) events to cancel \("),
    "new contacts": re.compile(r" contacts \((\d+) new, "),
}


def planned(result: RunResult) -> dict[str, int]:
    """Each count of the plan lines, summed over the dry run's batches (every line says each)."""
    lines = result.lines("DRY RUN: the plan of this batch: ")
    assert lines, result.failure()
    sums: dict[str, int] = {}
    for what, pattern in PLANNED.items():
        counts = [int(m.group(1)) for line in lines if (m := pattern.search(line)) is not None]
        assert len(counts) == len(lines), f"a plan line without its {what}: {lines[0]}"
        sums[what] = sum(counts)
    return sums


def made(model: PdiModel) -> dict[str, int]:
    """What PDI holds, from the whole-state model (compared with PDI first): its events, the
    canceled ones among them, and its contacts."""
    events = model.expected()["events"]
    return {
        "new events": sum(events.values()),
        "cancels": sum(n for key, n in events.items() if key[1].startswith(CANCELED)),
        "new contacts": len(model.expected()["emails"]),
    }


def test_a_dry_runs_plans_name_the_events_the_real_run_then_makes(
    make_project: MakeProject,
) -> None:
    """Each batch's plan is printed before its writes; the events the plans call new are the
    ones the first real run creates, no more, no fewer, and so are the PDI events they cancel
    and the contacts they call new. After changes, the next dry run's plans count what the next
    real run cancels and creates."""
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))

    result = dry_run(project)
    lines = [line for line in result.output.splitlines() if "DRY RUN: " in line]
    plans = [i for i, line in enumerate(lines) if "DRY RUN: the plan of this batch: " in line]
    writes = [i for i, line in enumerate(lines) if "DRY RUN: would " in line]
    assert plans, result.failure()
    assert writes, result.failure()
    assert plans[0] < writes[0]
    new = re.compile(r"events to write \((\d+) new")
    counts = [int(m.group(1)) for i in plans if (m := new.search(lines[i])) is not None]
    first_plan = planned(result)

    sync(project)
    model.sync(project.dataset())
    check(project, model)
    # Every plan line says how many events are new.
    assert len(counts) == len(plans)
    assert sum(counts) == len(project.pdi_state()["events"])
    assert first_plan == made(model)

    # An event no longer approved, one deleted, a timeslot removed, a signup of a person with
    # no contact yet: what the plans cancel and create is what the real run does.
    before = made(model)
    pick = Picker(project.dataset())
    project.mutate("update_event", id=pick.event()["id"], fields={"approval_status": "REJECTED"})
    project.mutate("delete_event", id=pick.event()["id"])
    shrunk = pick.event(lambda e: len(e["timeslots"]) > 1)
    gone = pick.signed_up_slot(shrunk)
    project.mutate("remove_timeslot", event_id=shrunk["id"], timeslot_id=gone["id"])
    project.mutate("update_event", id=shrunk["id"], fields={"description": "One slot less"})
    joined = pick.event()
    newcomer = next(
        p
        for p in pick.data["people"]
        if email_of(p) is not None and email_of(p) not in model.emails
    )
    project.mutate(
        "add_attendance",
        person_id=newcomer["id"],
        event_id=joined["id"],
        timeslot_id=joined["timeslots"][0]["id"],
        status="REGISTERED",
    )
    second_plan = planned(dry_run(project))

    sync(project)
    model.sync(project.dataset())
    check(project, model)
    after = made(model)
    assert second_plan == {what: after[what] - before[what] for what in PLANNED}
    assert second_plan["cancels"] > 0
    assert second_plan["new contacts"] == 1


def org_files(project: OrganizationsProject, name: str) -> dict[str, bool]:
    folder = project.org_dir(name)
    files = ("idmap.sqlite", "dead_letters.jsonl", "summary.json", "summary.history.jsonl")
    return {file: (folder / file).exists() for file in files}


def test_a_dry_run_of_one_organization_saves_nothing(
    make_organizations: MakeOrganizations,
) -> None:
    project = make_organizations({"north": ORGANIZATIONS["north"]})
    north = project.orgs["north"]
    model = organization_model("north")

    # Meltano's name for the setting of an organization's target (TARGET_PDI_DRY_RUN, its
    # parent's, would do too).
    project.extra_env["TARGET_PDI__NORTH_DRY_RUN"] = "true"
    result = project.meltano("run", north.job)
    del project.extra_env["TARGET_PDI__NORTH_DRY_RUN"]
    assert result.returncode == 0, result.failure()
    assert result.lines("DRY RUN: would create /events")
    assert north.pdi.admin("stats")["writes"] == 0
    assert project.state_ids() == []
    assert org_files(project, "north") == dict.fromkeys(org_files(project, "north"), False)
    dry = json.loads((project.org_dir("north") / "summary.dry-run.json").read_text())
    assert (dry["organization"], dry["dry_run"]) == ("north", True)
    check_says_nothing_saved(result, "target-pdi--north")

    done = project.meltano("run", north.job)
    assert done.returncode == 0, done.failure()
    model.sync(north.dataset())
    found = differences(model, north.pdi_state())
    assert not found, f"{len(found)} discrepancies:\n" + "\n".join(found[:40])
    assert project.state_ids() == [north.state_id]
