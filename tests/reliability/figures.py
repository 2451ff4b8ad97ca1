"""Each reliability case writes its figures to `output/reliability/<case>.json`: the source of
the fault table in docs/reliability.md."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness import REPO, Project

FIGURES = REPO / "output" / "reliability"
PDI_OBJECTS = ("locations", "events", "contacts", "invitations")


def record(case: str, project: Project, seconds: float, extra: dict[str, Any]) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    stats = project.pdi.admin("stats")
    figures = {
        "case": case,
        "seconds": round(seconds, 1),
        "pdi_requests": stats["requests"],
        "pdi_statuses": stats["statuses"],
        "mobilize_statuses": project.mobilize.admin("stats")["statuses"],
        "pdi_objects": sum(len(project.pdi_state()[k]) for k in PDI_OBJECTS),
        **extra,
    }
    (FIGURES / f"{case}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
