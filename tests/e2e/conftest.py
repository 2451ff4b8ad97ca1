"""Fixtures for end-to-end tests: each test gets fresh simulators and a fresh sync."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Project, Simulator

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
