"""An organization synced on one worker, then on another: nothing it needs stays on the first.

Two workers share one PostgreSQL database (Meltano's state and north's id map, dead letters and
run summaries) and nothing else: each has its own `.meltano` (MELTANO_SYS_DIR_ROOT), where the
organization's files would be. Worker A syncs north while PDI refuses one person's contact (a
switch of the PDI sandbox), so that person and their signups wait as dead letters, beside the
people without an email; then PDI takes the contact again and A's disk is deleted. Worker B
syncs north: it retries A's dead letters and writes those it now can, `status` on B tells the
whole story, `last-run` prints B's run, and north's PDI equals, whole, what its data should
give.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, organization_model
from tests.e2e.expect import PdiModel, actual_state, differences, email_of, named
from tests.e2e.harness import Organization, OrganizationsProject, org_prefixes
from tests.postgres_server import create_database, postgres_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_server() as server:
        yield create_database(server, "mobilize_pdi")


def person_to_refuse(dataset: dict[str, Any]) -> dict[str, Any]:
    """A person with an email of their own whose invitations the model expects."""
    model = organization_model("north")
    model.sync(dataset)
    invited = [email for _, email in model.expected()["invitations"]]
    emails = [email_of(p) for p in dataset["people"]]
    return next(
        p
        for p in dataset["people"]
        if named(p) and email_of(p) in invited and emails.count(email_of(p)) == 1
    )


def last_run(worker: OrganizationsProject) -> dict[str, Any]:
    printed = worker.meltano("invoke", "target-pdi--north:last-run")
    assert printed.returncode == 0, printed.failure()
    result: dict[str, Any] = json.loads(printed.stdout)
    return result


def sync(worker: OrganizationsProject) -> None:
    done = worker.meltano("run", "sync-north")
    assert done.returncode == 0, done.failure()


def missing_from_pdi(model: PdiModel, north: Organization) -> set[str]:
    """The emails whose contact or invitations the model expects and PDI lacks; nothing else
    may differ (PDI compared whole with the model)."""
    state = north.pdi_state()
    found = differences(model, state)
    want, got = model.expected(), actual_state(state)
    invitations = set(want["invitations"]) - set(got["invitations"])
    contacts = want["emails"] - got["emails"]
    assert len(found) == len(invitations) + len(contacts), "\n".join(found[:40])
    return contacts | {email for _, email in invitations}


def summary_rows(database: str) -> list[tuple[str, str]]:
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        rows = conn.execute(
            "SELECT run_id, status FROM target_pdi_run_summaries__north ORDER BY seq"
        ).fetchall()
    return [(str(run_id), str(status)) for run_id, status in rows]


def dead_letters(database: str) -> list[dict[str, Any]]:
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        rows = conn.execute("SELECT entry FROM target_pdi_dead_letters__north").fetchall()
    return [json.loads(row[0]) for row in rows]


def test_a_lost_worker_loses_nothing_another_takes_the_organization_over(
    make_organizations: MakeOrganizations, database: str, tmp_path: Path
) -> None:
    worker_a = make_organizations({"north": ORGANIZATIONS["north"]}, database_uri=database)
    north = worker_a.orgs["north"]
    tap, target = org_prefixes("north")
    worker_a.extra_env[f"{target}ID_MAP_URL"] = database
    # Signups near now are read again by every run (the re-check window): a dead letter among
    # them would be written as the fresh record it is, not retried. Without the window, B's
    # run reads nothing new, so whatever it writes comes from A's dead letters.
    worker_a.extra_env[f"{tap}RECHECK_RECENT_SIGNUPS"] = "false"
    (tmp_path / "worker-b").mkdir()
    worker_b = OrganizationsProject(
        tmp_path / "worker-b", worker_a.orgs, database, dict(worker_a.extra_env)
    )
    assert worker_b.sys_dir() != worker_a.sys_dir()

    person = person_to_refuse(north.dataset())
    email = email_of(person)
    model = organization_model("north")
    model.sync(north.dataset())

    # Worker A: PDI refuses the person's contact; they and their signups are dead-lettered
    # (and the people without an email, as always).
    north.pdi.admin("switches", {"fail_body_containing": email, "fail_status": 400})
    sync(worker_a)
    assert missing_from_pdi(model, north) == {email}
    on_a = last_run(worker_a)
    assert on_a["objects"]["contacts"]["failed"] >= 1
    assert on_a["objects"]["invitations"]["failed"] >= 1
    pending = on_a["dead_letters"]["waiting"]

    # PDI takes the contact again; worker A is lost with its disk.
    north.pdi.admin("switches", {"fail_body_containing": None, "fail_status": 503})
    shutil.rmtree(worker_a.sys_dir())

    # Worker B takes north over: A's dead letters are retried first, and the person and their
    # signups written; the people without an email still wait.
    sync(worker_b)
    taken_over = last_run(worker_b)
    assert taken_over["run_id"] != on_a["run_id"]
    assert taken_over["status"] == "succeeded"
    # Retried, but for those B read again anyway (the tap's look-back), which go with them.
    assert 0 < taken_over["dead_letters"]["retried"] <= pending
    waiting = taken_over["dead_letters"]["waiting"]
    assert 0 < waiting < pending
    assert taken_over["dead_letters"]["new"] == 0
    assert taken_over["objects"]["contacts"]["created"] == 1
    assert missing_from_pdi(model, north) == set()  # PDI, whole, equals the model

    # status on B: B's run, A's dead letters that still wait, where they are.
    shown = worker_b.meltano("invoke", "target-pdi--north:status")
    assert shown.returncode == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "Organization: north"
    assert lines[1].startswith("Last run: succeeded, finished ")
    assert (
        f"Dead letters waiting: {waiting} (table target_pdi_dead_letters__north in "
        f"{database})" in lines
    ), shown.stdout
    assert lines[-1] == "Status: OK"

    # The history of both runs, whichever worker ran them, in the shared database.
    assert summary_rows(database) == [
        (on_a["run_id"], "succeeded"),
        (taken_over["run_id"], "succeeded"),
    ]
    # What still waits is the people without an email, none of the person PDI took back.
    for entry in dead_letters(database):
        assert entry["reason"].startswith("person has "), entry["reason"]
        record = entry["record"]
        assert (record if entry["stream"] == "people" else record["person"])["id"] != person["id"]
    # Any worker reads the same: one that never ran north, with nothing of it on its disk.
    (tmp_path / "worker-c").mkdir()
    worker_c = OrganizationsProject(
        tmp_path / "worker-c", worker_a.orgs, database, dict(worker_a.extra_env)
    )
    assert last_run(worker_c) == taken_over
    # No dead letter on B's disk; its summary there is only its copy of the run it made.
    assert not (worker_b.org_dir("north") / "dead_letters.jsonl").exists()
    assert json.loads((worker_b.org_dir("north") / "summary.json").read_text()) == taken_over
