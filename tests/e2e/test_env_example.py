"""A fresh `.env`, copied from `.env.example` as docs/running-for-real.md starts: the
commands the page gives next say what to fill in, not a Meltano traceback.

Each command is a real `meltano --environment=prod ...` reading the copied file (`--env-file`,
so that a `.env` of the repository plays no part); prod's API URLs point at the test's
sandboxes, which must see no request.
"""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.harness import REPO, RunResult

pytestmark = pytest.mark.e2e


def no_traceback(result: RunResult) -> None:
    assert "Traceback" not in result.output, result.output[-3000:]
    assert "invalid literal" not in result.output, result.output[-3000:]


def test_a_fresh_env_from_the_example_names_what_to_fill_in(make_project: MakeProject) -> None:
    project = make_project()
    env_file = project.workdir / ".env"
    shutil.copy(REPO / ".env.example", env_file)
    prod = ("--env-file", str(env_file), "--environment=prod")

    listed = project.meltano(*prod, "config", "list", "tap-mobilize")
    no_traceback(listed)
    assert listed.returncode == 0
    assert "organization_id [env: TAP_MOBILIZE_ORGANIZATION_ID] current value: None" in (
        listed.stdout
    ), listed.stdout

    checked = project.meltano(*prod, "test", "tap-mobilize", "target-pdi")
    no_traceback(checked)
    assert checked.returncode == 1
    assert "missing PDI credentials" in checked.output, checked.output[-3000:]

    synced = project.meltano(*prod, "run", "tap-mobilize", "target-pdi")
    no_traceback(synced)
    assert synced.returncode == 1
    assert synced.lines("missing PDI credentials"), synced.output[-3000:]
    assert synced.lines("'organization_id' is a required property"), synced.output[-3000:]

    assert project.mobilize.admin("stats")["requests"] == 0
    assert project.pdi.admin("stats")["requests"] == 0
