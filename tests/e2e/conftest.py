"""Fixtures for end-to-end tests: each test gets fresh simulators and a fresh sync."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.expect import PdiModel, router
from tests.e2e.harness import (
    Organization,
    OrganizationsProject,
    Project,
    Simulator,
    org_mobilize_key,
    org_pdi_credentials,
)

# A small but varied organization: every kind of record the generator makes is present.
SMALL = ["--seed", "11", "--events", "24", "--timeslots-per-event", "2", "--people", "60"]
SMALL_ATTENDANCES = ["--attendances", "150"]

MakeProject = Callable[..., Project]


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[MakeProject]:
    started: list[Simulator] = []

    def make(
        mobilize_args: list[str] | None = None,
        pdi_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        name: str = "project",
        answers: str = "harsh",
    ) -> Project:
        """answers: how both simulators answer the references' open questions ("harsh", the
        simulators' default, or "lenient")."""
        workdir = tmp_path / name
        workdir.mkdir()
        mobilize = Simulator(
            "sandbox.mobilize",
            [*(mobilize_args or [*SMALL, *SMALL_ATTENDANCES]), "--answers", answers],
            workdir / "mobilize.log",
        ).start()
        started.append(mobilize)
        pdi = Simulator(
            "sandbox.pdi", [*(pdi_args or []), "--answers", answers], workdir / "pdi.log"
        ).start()
        started.append(pdi)
        return Project(workdir, mobilize, pdi, dict(env or {}))

    yield make
    for simulator in started:
        simulator.stop()


# The example organizations of orgs/ (their Mobilize organization ids are in their files), each
# smaller than SMALL; the generator gives both the same ids (events, people, signups), so a map
# or bookmark shared by mistake would show.
ORGANIZATIONS = {
    "north": ["--org-id", "101", "--seed", "11", "--events", "12", "--people", "40"],
    "south": ["--org-id", "202", "--seed", "23", "--events", "10", "--people", "30"],
}
for _args in ORGANIZATIONS.values():
    _args += ["--timeslots-per-event", "2", "--attendances", "80"]
# What mappings/<org>/calendars.yml route (by API enum) and their default calendar.
ORGANIZATION_ROUTES = {
    "north": (
        {
            "CANVASS": "Canvassing",
            "PHONE_BANK": "Phone Banks",
            "TEXT_BANK": "Text Banks",
            "MEETING": "Meetings",
        },
        "Other Events",
    ),
    "south": (
        {"PHONE_BANK": "Phone Banks", "TEXT_BANK": "Phone Banks", "MEETING": "Meetings"},
        "Community Events",
    ),
}


def organization_model(name: str) -> PdiModel:
    """The expected PDI of an example organization (move it forward with ``.sync(dataset)``)."""
    routes, default = ORGANIZATION_ROUTES[name]
    return PdiModel(router(routes, default))


MakeOrganizations = Callable[..., OrganizationsProject]


@pytest.fixture
def make_organizations(tmp_path: Path) -> Iterator[MakeOrganizations]:
    """The project's organizations (orgs/<name>.meltano.yml), each with a Mobilize and a PDI
    sandbox of its own and credentials of its own: ``make({"north": [datagen args], ...},
    database_uri=...)``."""
    started: list[Simulator] = []

    def make(datasets: dict[str, list[str]], database_uri: str = "") -> OrganizationsProject:
        workdir = tmp_path / "organizations"
        workdir.mkdir()
        orgs: dict[str, Organization] = {}
        for name, data_args in datasets.items():
            mobilize = Simulator(
                "sandbox.mobilize",
                [*data_args, "--api-key", org_mobilize_key(name)],
                workdir / f"{name}-mobilize.log",
            ).start()
            started.append(mobilize)
            account = [f"--{k.replace('_', '-')}={v}" for k, v in org_pdi_credentials(name).items()]
            pdi = Simulator("sandbox.pdi", account, workdir / f"{name}-pdi.log").start()
            started.append(pdi)
            orgs[name] = Organization(name, mobilize, pdi)
        return OrganizationsProject(workdir, orgs, database_uri)

    yield make
    for simulator in started:
        simulator.stop()
