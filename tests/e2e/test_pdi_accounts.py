"""An id map belongs to one PDI account; dev and prod keep their own files.

An organization tries the sync in dev (here a PDI sandbox, in life a PDI test account), then
runs prod against its real, empty PDI. Each run is a real `meltano run` over HTTP; prod's API
URLs and credentials come from environment variables, as an operator's `.env` gives them, and
point at the same Mobilize sandbox and at a second PDI sandbox with an account of its own.
Both PDIs are compared whole with what the Mobilize data should give.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, differences, router
from tests.e2e.harness import REPO, Project, RunResult, Simulator, run_meltano
from tests.e2e.test_sync import CALENDARS_YML, ROUTES, use_calendars

pytestmark = [
    pytest.mark.e2e,
    # Meltano reads the project's .env: a real one would feed these runs its secrets.
    pytest.mark.skipif((REPO / ".env").exists(), reason="a .env in the project sets secrets"),
]

# The second PDI's account (sandbox values, not secrets), another than dev's sandbox account.
PROD_ACCOUNT = {"username": "prod-user", "password": "prod-password", "api_token": "prod-token"}
# What the dev environment's config gives the tap and prod's does not (meltano.yml).
PROD_TAP = {"TAP_MOBILIZE_API_KEY": "sandbox-mobilize-key", "TAP_MOBILIZE_ORGANIZATION_ID": "1"}
# The settings the harness sets for every test, left to their defaults here.
FILE_SETTINGS = ("TARGET_PDI_ID_MAP_URL", "TARGET_PDI_DEAD_LETTER_PATH", "TARGET_PDI_SUMMARY_PATH")
DEFAULT_FILES = ("idmap.sqlite", "dead_letters.jsonl", "summary.json")
REFUSAL = "was filled against another PDI"
PROD_STATE_ID = "prod:tap-mobilize-to-target-pdi"


@pytest.fixture
def prod_pdi(tmp_path: Path) -> Iterator[Simulator]:
    """A second PDI, empty, with an account of its own."""
    account = [f"--{k.replace('_', '-')}={v}" for k, v in PROD_ACCOUNT.items()]
    pdi = Simulator("sandbox.pdi", account, tmp_path / "prod-pdi.log").start()
    yield pdi
    pdi.stop()


def dev_env(project: Project, *, default_files: bool) -> dict[str, str]:
    env = project.env()
    if default_files:
        for name in FILE_SETTINGS:
            env.pop(name)
    return env


def prod_env(dev: dict[str, str], pdi: Simulator) -> dict[str, str]:
    """Prod, as an operator gives it: the same Mobilize, the second PDI and its account."""
    return {
        **dev,
        **PROD_TAP,
        "MELTANO_ENVIRONMENT": "prod",
        "TARGET_PDI_API_URL": pdi.url,
        **{f"TARGET_PDI_{k.upper()}": v for k, v in PROD_ACCOUNT.items()},
    }


def meltano(project: Project, env: dict[str, str], *args: str) -> RunResult:
    return run_meltano(project.workdir, env, args, timeout=600)


def prod(project: Project, env: dict[str, str], *args: str) -> RunResult:
    return meltano(project, env, "--environment=prod", *args)


def check(model: PdiModel, state: dict[str, Any], which: str) -> None:
    found = differences(model, state)
    assert not found, f"{which}: {len(found)} discrepancies:\n" + "\n".join(found[:40])


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def recorded_pdi(id_map: Path) -> str:
    """The API URL an id map records as its PDI's."""
    with closing(sqlite3.connect(id_map)) as db:
        [(extra,)] = db.execute(
            "SELECT extra FROM target_pdi_id_map WHERE object_type = 'pdi'"
        ).fetchall()
    return str(json.loads(extra)["api_url"])


def test_dev_then_prod_with_default_files_fills_the_empty_prod_pdi(
    make_project: MakeProject, prod_pdi: Simulator
) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    repository_files = snapshot(REPO / ".meltano" / "target-pdi")
    dev = dev_env(project, default_files=True)

    first = meltano(project, dev, "run", "tap-mobilize", "target-pdi")
    assert first.returncode == 0, first.failure()
    model.sync(project.dataset())
    check(model, project.pdi_state(), "dev's PDI")

    # Before: prod used dev's id map, counted every object "unchanged" and wrote nothing.
    second = prod(project, prod_env(dev, prod_pdi), "run", "tap-mobilize", "target-pdi")
    assert second.returncode == 0, second.failure()
    check(model, prod_pdi.admin("state"), "prod's PDI")

    # Each environment's files in its own folder of the test's MELTANO_SYS_DIR_ROOT.
    files = project.sys_dir() / "target-pdi"
    assert sorted(p.name for p in files.iterdir()) == ["dev", "prod"]
    for environment, pdi in (("dev", project.pdi), ("prod", prod_pdi)):
        for name in DEFAULT_FILES:
            assert (files / environment / name).is_file(), f"{environment}/{name}"
        assert recorded_pdi(files / environment / "idmap.sqlite") == pdi.url
        summary = json.loads((files / environment / "summary.json").read_text())
        assert summary["environment"] == environment
        assert summary["status"] == "succeeded"
        assert summary["dead_letters"]["path"] == str(files / environment / "dead_letters.jsonl")
        assert summary["dead_letters"]["new"] > 0  # people without an email, in each
        state = pdi.admin("state")
        created = {kind: summary["objects"][kind]["created"] for kind in ("events", "contacts")}
        assert created == {kind: len(state[kind]) for kind in ("events", "contacts")}
    assert snapshot(REPO / ".meltano" / "target-pdi") == repository_files


def test_a_map_shared_with_another_pdi_is_refused_until_retargeted(
    make_project: MakeProject, prod_pdi: Simulator
) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    # One id map for both environments, set explicitly; dead letters and summaries apart.
    dev = dev_env(project, default_files=False)
    env = prod_env(dev, prod_pdi)
    env["TARGET_PDI_DEAD_LETTER_PATH"] = str(project.workdir / "prod" / "dead_letters.jsonl")
    env["TARGET_PDI_SUMMARY_PATH"] = str(project.workdir / "prod" / "summary.json")

    first = meltano(project, dev, "run", "tap-mobilize", "target-pdi")
    assert first.returncode == 0, first.failure()
    model.sync(project.dataset())
    check(model, project.pdi_state(), "dev's PDI")

    # Prod with dev's map: refused before any request to its PDI, with one line.
    refused = prod(project, env, "run", "tap-mobilize", "target-pdi")
    assert refused.returncode != 0, refused.failure()
    [line] = refused.lines(REFUSAL)
    assert f"another account at {project.pdi.url}" in line, line
    assert f"not this run's ({prod_pdi.url})" in line, line
    assert "TARGET_PDI_ID_MAP_URL" in line, line
    assert "`meltano --environment=prod invoke target-pdi:retarget-id-map`" in line, line
    assert PROD_ACCOUNT["username"] not in refused.output
    assert "sandbox" not in line  # dev's username neither
    assert "Traceback" not in refused.output
    assert prod_pdi.admin("stats")["requests"] == 0
    state = prod(project, env, "state", "get", PROD_STATE_ID)
    assert '"bookmarks"' not in state.stdout, state.stdout
    summary = json.loads((project.workdir / "prod" / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert REFUSAL in summary["error"]

    # A dry run would plan with the other account's ids, reconcile compare with them.
    dry = prod(project, {**env, "TARGET_PDI_DRY_RUN": "true"}, "run", "tap-mobilize", "target-pdi")
    for result in (dry, prod(project, env, "invoke", "target-pdi:reconcile")):
        assert result.returncode != 0, result.failure()
        assert len(result.lines(REFUSAL)) == 1, result.failure()
    assert prod_pdi.admin("stats")["requests"] == 0
    status = prod(project, env, "invoke", "target-pdi:status")
    assert status.returncode == 1, status.failure()
    assert [s for s in status.stdout.splitlines() if s.startswith("Id map: ")] == [
        f"Id map: {line.split('target-pdi stopped: ', 1)[1]}"
    ]
    assert status.stdout.rstrip().endswith("id map of another PDI)"), status.stdout

    # Re-targeted on purpose: prod's run recovers nothing (its PDI is empty), creates it all.
    retarget = prod(project, env, "invoke", "target-pdi:retarget-id-map")
    assert retarget.returncode == 0, retarget.failure()
    assert f"now describes this PDI ({prod_pdi.url}, this account)" in retarget.stdout
    assert f"described another PDI (another account at {project.pdi.url})" in retarget.stdout
    assert prod_pdi.admin("stats")["writes"] == 0
    again = prod(project, env, "run", "tap-mobilize", "target-pdi")
    assert again.returncode == 0, again.failure()
    check(model, prod_pdi.admin("state"), "prod's PDI")

    # The map is prod's now: dev's next run is refused in turn, dev's PDI untouched.
    project.reset_pdi_stats()
    back = meltano(project, dev, "run", "tap-mobilize", "target-pdi")
    assert back.returncode != 0, back.failure()
    [line] = back.lines(REFUSAL)
    assert f"another account at {prod_pdi.url}" in line, line
    assert project.pdi.admin("stats")["requests"] == 0
