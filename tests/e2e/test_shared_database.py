"""One PostgreSQL database for Meltano's state and every organization's id map.

North and south are synced at the same time (two `meltano run` started together) against one
PostgreSQL server (tests/postgres_server.py): both PDIs right, each compared whole; their
bookmarks in PostgreSQL. Then the run lock: a sync of north while north's lock is held changes
nothing and says so in one line; a second sync of north started while one is running (with
`--force`, past Meltano's own check of its job) is refused the same way, and the first ends fine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from target_pdi.stores.run_lock import acquire, advisory_key

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, organization_model
from tests.e2e.expect import PdiModel, differences
from tests.e2e.harness import Organization, OrganizationsProject, org_prefixes
from tests.postgres_server import create_database, postgres_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

REFUSED = "organization north is already being synced (another run holds its lock since "
CHANGED_NOTHING = "); this run changed nothing"


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_server() as server:
        yield create_database(server, "mobilize_pdi")


def lock_held(database: str, organization: str) -> bool:
    """Whether some session holds the organization's run lock (pg_locks)."""
    key = advisory_key(f"target_pdi_id_map__{organization}") & 0xFFFFFFFFFFFFFFFF
    plain = database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s AND objsubid = 1",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
    return bool(row and row[0])


def check(org: Organization, model: PdiModel) -> None:
    found = differences(model, org.pdi_state())
    assert not found, f"{org.name}: {len(found)} discrepancies:\n" + "\n".join(found[:40])


def sync_north_while_held(
    project: OrganizationsProject, database: str, before: dict[str, Any]
) -> None:
    """With north's lock held by another run, a sync of north stops with one line, makes no
    PDI request and moves no bookmark (``before``: north's bookmarks), though Mobilize has a
    change it would have read."""
    north = project.orgs["north"]
    north.mobilize.admin("mutate", {"op": "update_event", "id": first_event(north), "fields": {}})
    north.pdi.admin("stats/reset", {})
    held = acquire(database, "north")
    try:
        refused = project.meltano("run", "sync-north")
    finally:
        held.release()
    assert refused.returncode != 0
    [line] = refused.lines(REFUSED)
    assert line.rstrip().endswith(CHANGED_NOTHING), line
    assert north.pdi.admin("stats")["requests"] == 0
    assert project.bookmarks("north") == before


def first_event(org: Organization) -> int:
    return int(org.dataset()["events"][0]["id"])


def test_organizations_synced_at_once_on_one_postgres_database(
    make_organizations: MakeOrganizations, database: str
) -> None:
    project = make_organizations(ORGANIZATIONS, database_uri=database)
    for name in project.orgs:
        _, target = org_prefixes(name)
        project.extra_env[f"{target}ID_MAP_URL"] = database
    # Meltano creates its tables on first use: once, before runs start side by side.
    assert project.state_ids() == []

    runs = {name: project.start("run", org.job) for name, org in project.orgs.items()}
    models = {name: organization_model(name) for name in project.orgs}
    for name, run in runs.items():
        result = run.wait()
        assert result.returncode == 0, result.failure()
        models[name].sync(project.orgs[name].dataset())
        check(project.orgs[name], models[name])
    assert project.state_ids() == sorted(org.state_id for org in project.orgs.values())
    bookmarks = {name: project.bookmarks(name) for name in project.orgs}
    for name in project.orgs:
        assert set(bookmarks[name]) >= {"events", "people", "attendances"}
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
    assert {"state", "target_pdi_id_map__north", "target_pdi_id_map__south"} <= tables

    sync_north_while_held(project, database, bookmarks["north"])

    # A second sync of north while one runs. Mobilize is down when the first starts: its
    # target takes the lock at once and waits for input, so it surely still holds it when the
    # second's target starts; Mobilize back, the first goes on and ends fine.
    north = project.orgs["north"]
    north.mobilize.admin(
        "mutate",
        {"op": "update_event", "id": first_event(north), "fields": {"title": "North renamed"}},
    )
    north.mobilize.admin("switches", {"down": True})
    first = project.start("run", "sync-north")
    deadline = time.monotonic() + 120
    while not lock_held(database, "north"):
        assert first.running(), first.wait().failure()
        assert time.monotonic() < deadline, "the first run never took its lock"
        time.sleep(0.1)
    second = project.meltano("run", "--force", "sync-north")
    assert second.returncode != 0
    [line] = second.lines(REFUSED)
    assert line.rstrip().endswith(CHANGED_NOTHING), line
    assert first.running()
    north.mobilize.admin("switches", {"down": False})
    done = first.wait()
    assert done.returncode == 0, done.failure()
    models["north"].sync(north.dataset())
    check(north, models["north"])
    assert any(e["name"] == "North renamed" for e in north.pdi_state()["events"])
