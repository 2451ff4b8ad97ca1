"""Which organizations the Meltano project syncs, read from the project itself.

An organization is a Meltano job named ``sync-<org>`` (defined in ``orgs/<org>.meltano.yml``,
which ``meltano.yml`` includes) whose tasks load into target-pdi (``target-pdi--<org>``). A
project with no such job but the single-organization job ``sync`` is one organization,
``default``. Nothing here is
a hand-kept list: adding an organization's file to the project adds its Dagster job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ORG_JOB = re.compile(r"sync-(?P<org>[a-z0-9][a-z0-9_-]*)")
SINGLE_ORG_JOB = "sync"


@dataclass(frozen=True)
class Organization:
    name: str
    meltano_job: str  # `meltano run <meltano_job>`
    loader: str  # the target-pdi plugin of this organization (its settings hold summary_path)

    @property
    def dagster_name(self) -> str:
        """Dagster names allow letters, digits and underscores only."""
        return re.sub(r"\W", "_", self.name)


def _read_yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return loaded


def project_files(project_dir: Path) -> list[Path]:
    """meltano.yml and the files its include_paths name (globs, relative to the project)."""
    main = project_dir / "meltano.yml"
    files = [main]
    for pattern in _read_yaml(main).get("include_paths") or []:
        files.extend(sorted(p for p in project_dir.glob(str(pattern)) if p.is_file()))
    return files


def read_project(project_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The project's ``jobs`` and ``schedules`` from meltano.yml and its included files."""
    merged: dict[str, list[dict[str, Any]]] = {"jobs": [], "schedules": []}
    for path in project_files(project_dir):
        content = _read_yaml(path)
        for section, entries in merged.items():
            entries.extend(content.get(section) or [])
    return merged


def meltano_jobs(project_dir: Path) -> dict[str, list[str]]:
    """Every job of the project: name -> tasks."""
    jobs: dict[str, list[str]] = {}
    for job in read_project(project_dir)["jobs"]:
        tasks = job.get("tasks") or []
        jobs[str(job["name"])] = [str(t) for t in ([tasks] if isinstance(tasks, str) else tasks)]
    return jobs


def pdi_loader(tasks: list[str]) -> str | None:
    """The target-pdi plugin (``target-pdi`` or one inheriting from it) a job's tasks load into."""
    plugins = [word for task in tasks for word in task.split()]
    return next((p for p in plugins if p == "target-pdi" or p.startswith("target-pdi--")), None)


def find_organizations(project_dir: Path) -> list[Organization]:
    jobs = meltano_jobs(project_dir)
    found = [
        Organization(match["org"], job, loader)
        for job in sorted(jobs)
        if (match := ORG_JOB.fullmatch(job)) and (loader := pdi_loader(jobs[job]))
    ]
    if not found and (loader := pdi_loader(jobs.get(SINGLE_ORG_JOB, []))):
        found = [Organization("default", SINGLE_ORG_JOB, loader)]
    return found
