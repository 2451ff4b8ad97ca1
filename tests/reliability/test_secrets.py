"""No secret anywhere: a prod sync with known secret values, through faults that make every
error path speak (5xx answers, an access token expiring mid-run, dead letters), then a
search of every log line, state entry, id-map row and dead letter for the Mobilize API key,
the PDI username, password and API token, and every access token PDI issued."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.conftest import SMALL, SMALL_ATTENDANCES, MakeProject
from tests.reliability.test_credentials import SECRETS, STATE_ID, project_with

pytestmark = pytest.mark.e2e


def dump(database: Path) -> str:
    """Every row of every table of a SQLite file, as text."""
    with closing(sqlite3.connect(database)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
        )


def test_no_secret_in_logs_state_id_map_or_dead_letters(make_project: MakeProject) -> None:
    project = project_with(make_project, [*SMALL, *SMALL_ATTENDANCES], MELTANO_ENVIRONMENT="prod")
    project.pdi.admin("switches", {"fail_rate": 0.05, "latency_ms": 5})
    running = project.start_sync()
    assert project.wait_for_writes(running, 40), "the run ended before its token could expire"
    project.pdi.admin("tokens/expire", {})
    assert running.wait(timeout=300) == 0
    state = project.meltano("--environment=prod", "state", "get", STATE_ID)
    assert '"bookmarks"' in state.output
    assert project.dead_letters.exists()  # people without an email

    seen = {
        "run log": (project.workdir / "background-sync.log").read_text(),
        "meltano state get": state.output,
        "Meltano system database (state, runs)": dump(project.workdir / "meltano.db"),
        "id map": dump(project.id_map),
        "dead letters": project.dead_letters.read_text(),
    }
    tokens = project.pdi.admin("tokens")["issued"]
    assert len(tokens) >= 2  # the expired token was renewed
    secrets = {**SECRETS, **{f"access token {i}": t for i, t in enumerate(tokens)}}
    hits = [
        f"{name} in {place}"
        for name, value in secrets.items()
        for place, text in seen.items()
        if value in text
    ]
    assert hits == []
