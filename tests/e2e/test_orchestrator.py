"""The orchestrator: Dagster runs each organization's sync, in parallel, on PostgreSQL.

Both organizations of orgs/ (a Mobilize and a PDI sandbox each) share one PostgreSQL server:
Meltano's state and both id maps in one database, Dagster's own storage (runs, event logs) in
another, with orchestrate/dagster.yaml as the instance's settings. Each organization's Dagster
job (`sync_north`, `sync_south`) runs as `dagster job execute`, both started together, as a
run launcher starts them: each run a process of its own. Then what a user would notice:

- both runs succeed, at the same time, and each PDI holds its own organization's whole state;
- Dagster recorded, as each organization's asset metadata, the counts of that run's summary
  (the JSON target-pdi writes), so the UI shows each organization's history;
- with north's PDI password wrong, north's run fails with the reason (naming the setting,
  never the password) in its failure and its history, while south's next run succeeds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, organization_model
from tests.e2e.expect import PdiModel, differences
from tests.e2e.harness import REPO, OrganizationsProject, org_prefixes
from tests.postgres_server import create_database, postgres_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DAGSTER_BIN = REPO / ".venv-dagster" / "bin"
OBJECTS = ("locations", "events", "contacts", "invitations")
OUTCOMES = ("created", "updated", "unchanged", "failed")
WRONG_PASSWORD = "not-norths-password"


class Orchestrator:
    """A Dagster instance (DAGSTER_HOME with orchestrate/dagster.yaml) over the project."""

    def __init__(self, project: OrganizationsProject, home: Path, storage_url: str) -> None:
        self.project = project
        self.home = home
        self.storage_url = storage_url
        home.mkdir()
        shutil.copy(REPO / "orchestrate" / "dagster.yaml", home / "dagster.yaml")

    def env(self) -> dict[str, str]:
        return {
            **self.project.env(),
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_POSTGRES_URL": self.storage_url,
            "MOBILIZE_PDI_PROJECT": str(REPO),
        }

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=REPO, env=self.env(), capture_output=True, text=True, check=False
        )

    def execute_together(self, orgs: list[str]) -> dict[str, tuple[int, str]]:
        """Each organization's job started at once, as separate runs; (exit code, output)."""
        started = {}
        for org in orgs:
            log = self.home / f"{org}-{len(list(self.home.glob(f'{org}-*.log')))}.log"
            with log.open("w") as out:
                started[org] = (
                    subprocess.Popen(
                        [
                            str(DAGSTER_BIN / "dagster"),
                            *("job", "execute", "-m", "mobilize_pdi_dagster.definitions"),
                            *("-j", f"sync_{org}"),
                        ],
                        cwd=REPO,
                        env=self.env(),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    ),
                    log,
                )
        return {org: (p.wait(timeout=600), log.read_text()) for org, (p, log) in started.items()}

    def history(self) -> dict[str, list[dict[str, Any]]]:
        done = self.run(str(DAGSTER_BIN / "python"), "-m", "mobilize_pdi_dagster.history")
        assert done.returncode == 0, done.stderr[-3000:]
        result: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
        return result


def summary_of(project: OrganizationsProject, org: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((project.org_dir(org) / "summary.json").read_text())
    return result


def check_metadata_is_the_summary(metadata: dict[str, Any], summary: dict[str, Any]) -> None:
    """The counts Dagster shows for the run are those of the run's summary, every one."""
    expected = {
        f"{kind}_{outcome}": summary["objects"][kind][outcome]
        for kind in OBJECTS
        for outcome in OUTCOMES
    }
    expected.update(
        {
            "status": summary["status"],
            "dead_letters_new": summary["dead_letters"]["new"],
            "dead_letters_waiting": summary["dead_letters"]["waiting"],
            "pdi_requests": sum(summary["pdi_requests"].values()),
            "duration_seconds": summary["duration_seconds"],
            "summary": summary,
        }
    )
    assert {key: metadata.get(key) for key in expected} == expected


def check_pdi(project: OrganizationsProject, models: dict[str, PdiModel]) -> None:
    for name, model in models.items():
        found = differences(model, project.orgs[name].pdi_state())
        assert not found, f"{name}: {len(found)} discrepancies:\n" + "\n".join(found[:40])


def test_dagster_syncs_each_organization_in_parallel_and_records_its_history(
    make_organizations: MakeOrganizations, tmp_path: Path
) -> None:
    with postgres_server() as server:
        shared = create_database(server, "mobilize_pdi")
        dagster_storage = create_database(server, "dagster").replace(
            "postgresql+psycopg://", "postgresql+psycopg2://", 1
        )
        project = make_organizations(ORGANIZATIONS, database_uri=shared)
        for name in project.orgs:
            project.extra_env[f"{org_prefixes(name)[1]}ID_MAP_URL"] = shared
        orchestrator = Orchestrator(project, tmp_path / "dagster_home", dagster_storage)
        # Meltano's and Dagster's tables made once, as a deployment does, before two runs
        # would race to make them.
        upgraded = project.meltano("upgrade", "database")
        assert upgraded.returncode == 0, upgraded.failure()
        migrated = orchestrator.run(str(DAGSTER_BIN / "dagster"), "instance", "migrate")
        assert migrated.returncode == 0, migrated.stderr[-3000:]

        models = {name: organization_model(name) for name in project.orgs}
        for name, model in models.items():
            model.sync(project.orgs[name].dataset())

        first = orchestrator.execute_together(["north", "south"])
        for org, (code, output) in first.items():
            assert code == 0, f"{org}'s Dagster run failed:\n{output[-4000:]}"
        check_pdi(project, models)
        history = orchestrator.history()
        assert sorted(history) == ["north", "south"]
        for org in ("north", "south"):
            (run,) = history[org]
            assert (run["job"], run["status"]) == (f"sync_{org}", "SUCCESS")
            check_metadata_is_the_summary(run["metadata"], summary_of(project, org))
            assert run["metadata"]["events_created"] > 0
        # Run at the same time: each started before the other ended.
        north, south = history["north"][0], history["south"][0]
        assert north["started"] < south["ended"]
        assert south["started"] < north["ended"]

        # North's PDI password goes wrong: north fails, saying which setting, south goes on.
        project.extra_env[f"{org_prefixes('north')[1]}PASSWORD"] = WRONG_PASSWORD
        north_writes = project.orgs["north"].pdi.admin("stats")["writes"]
        second = orchestrator.execute_together(["north", "south"])
        assert second["north"][0] != 0
        assert second["south"][0] == 0, second["south"][1][-4000:]
        history = orchestrator.history()
        failed, succeeded = history["north"][0], history["south"][0]
        assert failed["status"] == "FAILURE"
        assert "password" in failed["failure"]["description"]
        assert failed["failure"]["metadata"]["status"] == "failed"
        assert failed["metadata"]["status"] == "failed"
        assert failed["metadata"]["summary"] == summary_of(project, "north")
        assert succeeded["status"] == "SUCCESS"
        check_metadata_is_the_summary(succeeded["metadata"], summary_of(project, "south"))
        # A re-run of an unchanged organization creates nothing.
        assert sum(succeeded["metadata"][f"{k}_created"] for k in OBJECTS) == 0
        assert [len(history["north"]), len(history["south"])] == [2, 2]
        assert project.orgs["north"].pdi.admin("stats")["writes"] == north_writes
        check_pdi(project, models)
        recorded = json.dumps(history) + second["north"][1]
        assert WRONG_PASSWORD not in recorded
