"""Several organizations in one project (orgs/<org>.meltano.yml): their data never meet.

North and south each have their own Mobilize organization and PDI account (a sandbox each, with
credentials of its own), their own mapping files, and, by their own plugin names, their own
bookmarks, id map, dead letters and run summary. The generator gives both organizations the
same Mobilize ids, so a map, bookmark or dead letter shared by mistake would show. Each PDI is
compared whole with what its own organization's data should give.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ORGANIZATIONS, MakeOrganizations, organization_model
from tests.e2e.expect import differences
from tests.e2e.harness import MELTANO, REPO, OrganizationsProject, org_prefixes

pytestmark = pytest.mark.e2e


def id_map_rows(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Each table of a SQLite id map with its (object type, key) rows."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT object_type, source_key FROM {t}")) for t in tables}


def people_by_id(dataset: dict[str, Any]) -> dict[int, dict[str, Any]]:
    people = {p["id"]: p for p in dataset["people"]}
    for signup in dataset["attendances"]:
        people.setdefault(signup["person"]["id"], signup["person"])
    return people


def check_dead_letters_are_its_own(
    project: OrganizationsProject, name: str, datasets: dict[str, Any]
) -> None:
    """Every dead letter of an organization is one of its own records (the other
    organization has records with the same ids, and other names)."""
    lines = (project.org_dir(name) / "dead_letters.jsonl").read_text().splitlines()
    assert lines, f"{name}: its people without an email should be dead-lettered"
    own = people_by_id(datasets[name])
    for line in lines:
        entry = json.loads(line)
        record = entry["record"]
        person = record if entry["stream"] == "people" else record["person"]
        assert own[person["id"]]["family_name"] == person["family_name"], entry["key"]


def test_two_organizations_each_to_its_own_pdi_never_meet(
    make_organizations: MakeOrganizations,
) -> None:
    project = make_organizations(ORGANIZATIONS)
    north = project.orgs["north"]
    datasets = {name: org.dataset() for name, org in project.orgs.items()}
    models = {name: organization_model(name) for name in project.orgs}
    for name, model in models.items():
        model.sync(datasets[name])
    wanted = {name: model.expected() for name, model in models.items()}
    # The test could not see data meeting if the two organizations should hold the same.
    assert not set(wanted["north"]["events"]) & set(wanted["south"]["events"])
    assert not wanted["north"]["emails"] & wanted["south"]["emails"]

    # Secrets are never inherited: with the project's target-pdi given credentials that
    # would open north's PDI account, and north given none, north's sync has none at all.
    _, target = org_prefixes("north")
    own = {f"{target}{setting.upper()}" for setting in north.pdi_credentials}
    env = {k: v for k, v in project.env().items() if k not in own}
    env.update({f"TARGET_PDI_{k.upper()}": v for k, v in north.pdi_credentials.items()})
    refused = subprocess.run(
        [MELTANO, "run", north.job], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "username" in refused.stdout + refused.stderr
    assert north.pdi.admin("stats")["writes"] == 0
    assert not north.pdi_state()["events"]

    both = project.meltano("run", "sync-north", "sync-south")
    assert both.returncode == 0, both.failure()

    for name, org in project.orgs.items():
        found = differences(models[name], org.pdi_state())
        assert not found, f"{name}: {len(found)} discrepancies:\n" + "\n".join(found[:40])
    # Each organization's own mapping files: north's fields.yml leaves descriptions out.
    assert all(not e.get("description") for e in north.pdi_state()["events"])
    assert any(e.get("description") for e in project.orgs["south"].pdi_state()["events"])

    for name in project.orgs:
        # Its own id map: one table, named after it, whose contacts are its own people.
        tables = id_map_rows(project.org_dir(name) / "idmap.sqlite")
        assert list(tables) == [f"target_pdi_id_map__{name}"]
        rows = tables[f"target_pdi_id_map__{name}"]
        contacts = {key.removeprefix("email:") for kind, key in rows if kind == "contact"}
        assert contacts == wanted[name]["emails"]
        check_dead_letters_are_its_own(project, name, datasets)

    # Its own bookmarks, under its own state id; the single-organization sync has none.
    assert project.state_ids() == sorted(org.state_id for org in project.orgs.values())
    for name in project.orgs:
        assert set(project.bookmarks(name)) >= {"events", "people", "attendances"}
