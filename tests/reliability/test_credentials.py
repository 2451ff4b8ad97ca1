"""The credential check, and runs with bad or missing credentials, end to end.

Every run is a real `meltano` in the **prod** environment, as an operator runs it, with the
API URLs and the secrets given through environment variables (as `.env` would) and pointing
at the simulators on 127.0.0.1, which are started with secrets of their own. The check is
the command docs/running-for-real.md shows (and README.md's "Run it for real" repeats), read
from them. A wrong or missing credential must give one
error line naming the setting to fix, a non-zero exit, no PDI write, no bookmark, and no
secret in the output.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from contextlib import closing
from typing import Any

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.harness import REPO, Project, RunResult, free_port
from tests.e2e.personal_data import shown as shown_personal_data

pytestmark = [
    pytest.mark.e2e,
    # Meltano reads the project's .env under the environment: a real one would feed these
    # runs the secrets a test means to leave out.
    pytest.mark.skipif((REPO / ".env").exists(), reason="a .env in the project sets secrets"),
]

STATE_ID = "prod:tap-mobilize-to-target-pdi"
# Tiny: these runs are about getting in, not about what is synced.
TINY = ["--seed", "3", "--events", "4", "--timeslots-per-event", "1", "--people", "6"]
TINY_ATTENDANCES = ["--attendances", "8"]

# The simulators' credentials, distinctive so that any echo of them is found in the output.
SECRETS = {
    "TAP_MOBILIZE_API_KEY": "mk-7Hq2x-key",
    "TARGET_PDI_USERNAME": "pu-Ks81v-user",
    "TARGET_PDI_PASSWORD": "pp-Zr55n-pass",
    "TARGET_PDI_API_TOKEN": "pt-Wd37c-token",
}
WRONG = {name: f"wrong-{value[:2]}-Yb40q" for name, value in SECRETS.items()}
UNSET = None


def project_with(
    make_project: MakeProject, dataset: list[str] | None = None, **changes: str | None
) -> Project:
    """Both simulators expecting SECRETS, Mobilize serving ``dataset`` (the generator's
    options; TINY by default); the environment gives SECRETS with ``changes`` (a value, or
    UNSET to leave the variable out)."""
    env: dict[str, str | None] = {**SECRETS, "TAP_MOBILIZE_ORGANIZATION_ID": "1", **changes}
    data = dataset if dataset is not None else [*TINY, *TINY_ATTENDANCES]
    return make_project(
        mobilize_args=[*data, "--api-key", SECRETS["TAP_MOBILIZE_API_KEY"]],
        pdi_args=[
            "--username",
            SECRETS["TARGET_PDI_USERNAME"],
            "--password",
            SECRETS["TARGET_PDI_PASSWORD"],
            "--api-token",
            SECRETS["TARGET_PDI_API_TOKEN"],
        ],
        env={name: value for name, value in env.items() if value is not None},
    )


def documented_check() -> list[str]:
    """The credential check as docs/running-for-real.md's first steps show it, minus `meltano`:
    the same line as in README.md's "Run it for real"."""
    shown = {
        page: [
            line
            for line in (REPO / page).read_text().splitlines()
            if line.startswith("meltano --environment=prod test")
        ]
        for page in ("docs/running-for-real.md", "README.md")
    }
    page_lines, readme_lines = shown.values()
    assert len(page_lines) == 1, f"the page should show the credential check once: {shown}"
    assert readme_lines == page_lines, f"README.md should repeat the page's check: {shown}"
    command = shlex.split(page_lines[0], comments=True)
    assert command[:3] == ["meltano", "--environment=prod", "test"]
    return command[1:]


def sync(project: Project) -> RunResult:
    return project.meltano("--environment=prod", "run", "tap-mobilize", "target-pdi")


def saved_state(project: Project) -> dict[str, Any]:
    """Every state Meltano holds, complete or partial, by id ({} when none)."""
    with closing(sqlite3.connect(project.workdir / "meltano.db")) as db:
        rows = db.execute("SELECT state_id, partial_state, completed_state FROM state").fetchall()
    return {
        state_id: {"partial": json.loads(partial or "{}"), "completed": json.loads(done or "{}")}
        for state_id, partial, done in rows
    }


def error_lines(result: RunResult, setting: str) -> list[str]:
    """Lines saying something failed and naming ``setting`` as a whole word. The SDK's
    "Parsing 'password' config ..." lines name settings too, but say nothing failed."""
    failure = re.compile(r"fail|refused|stopped|missing", re.IGNORECASE)
    name = re.compile(rf"(?<![\w'-]){re.escape(setting)}(?![\w'-])")
    return [
        line for line in result.output.splitlines() if failure.search(line) and name.search(line)
    ]


def leaked(result: RunResult) -> list[str]:
    """The variables whose value, right or wrong, shows in the output (names, not values,
    so that a failure does not print them either)."""
    return [
        name for name in SECRETS if SECRETS[name] in result.output or WRONG[name] in result.output
    ]


def outcome(result: RunResult, plugin: str) -> str | None:
    """`success` or `failure` of ``plugin``'s test command in `meltano test`'s report."""
    found = re.search(rf"^{plugin}:test\.+ (\w+)$", result.output, re.MULTILINE)
    return found.group(1) if found else None


# --- the check, passing ------------------------------------------------------------------------


def test_documented_check_runs_both_plugins_tests_in_prod(make_project: MakeProject) -> None:
    project = project_with(make_project)
    result = project.meltano(*documented_check())
    tail = result.output[-3000:]
    assert result.returncode == 0, tail
    assert "Environment 'prod' is active" in result.output
    assert (outcome(result, "tap-mobilize"), outcome(result, "target-pdi")) == (
        "success",
        "success",
    ), tail
    assert "2 test(s) successful. 0 test(s) failed." in result.output
    # Really run, against the simulators and with the key and the login: the tap read the
    # people and signups, which Mobilize serves only with a key it accepts; the target
    # logged in and listed the calendars; no write.
    mobilize = project.mobilize.admin("stats")
    assert mobilize["by_route"].get("GET /v1/organizations/{org}/people", 0) >= 1, mobilize
    assert mobilize["by_route"].get("GET /v1/organizations/{org}/attendances", 0) >= 1, mobilize
    assert "403" not in mobilize["statuses"], mobilize
    pdi = project.pdi.admin("stats")
    assert pdi["by_route"].get("POST /sessions", 0) >= 1, pdi
    assert pdi["by_route"].get("GET /calendars", 0) >= 1, pdi
    assert pdi["writes"] == 0
    assert leaked(result) == []
    # No record, none of the people it read (singer-sdk's connection test wrote a record of
    # each stream to stdout, which `meltano test` shows), and each plugin says what it checked.
    assert shown_personal_data(result.output, project.dataset()) == []
    assert not [line for line in result.output.splitlines() if '"type":' in line], tail
    assert (
        "OK: the API key reads organization 1's events, people and attendances at "
        f"{project.mobilize.url}/v1" in result.stdout
    ), tail
    assert f"OK: logged in to PDI at {project.pdi.url} as the configured user; calendars: " in (
        result.stdout
    ), tail


def test_prod_sync_with_the_same_settings_writes_and_saves_bookmarks(
    make_project: MakeProject,
) -> None:
    """What the failing runs below must not do, seen by the same probes on a good run."""
    project = project_with(make_project)
    result = sync(project)
    assert result.returncode == 0, result.failure()
    assert project.pdi_writes() > 0
    bookmarks = saved_state(project)[STATE_ID]["completed"]["singer_state"]["bookmarks"]
    assert {"events", "people", "attendances"} <= set(bookmarks)
    assert leaked(result) == []


# --- the check, failing ------------------------------------------------------------------------


def test_check_names_each_refused_setting(make_project: MakeProject) -> None:
    project = project_with(
        make_project,
        TAP_MOBILIZE_API_KEY=WRONG["TAP_MOBILIZE_API_KEY"],
        TARGET_PDI_API_TOKEN=WRONG["TARGET_PDI_API_TOKEN"],
    )
    result = project.meltano(*documented_check())
    tail = result.output[-3000:]
    assert result.returncode != 0, tail
    assert (outcome(result, "tap-mobilize"), outcome(result, "target-pdi")) == (
        "failure",
        "failure",
    ), tail
    assert error_lines(result, "api_key"), tail
    # PDI answers one 401 for any of the three: the line names them all.
    for setting in ("username", "password", "api_token"):
        assert error_lines(result, setting), (setting, tail)
    assert "Traceback" not in result.output
    assert project.pdi_writes() == 0
    assert leaked(result) == []


def test_check_names_missing_pdi_settings_and_warns_without_a_key(
    make_project: MakeProject,
) -> None:
    # The password left blank as .env.example has it, the username and the key not set.
    project = project_with(
        make_project,
        TAP_MOBILIZE_API_KEY=UNSET,
        TARGET_PDI_USERNAME=UNSET,
        TARGET_PDI_PASSWORD="",
    )
    result = project.meltano(*documented_check())
    tail = result.output[-3000:]
    assert result.returncode != 0, tail
    assert outcome(result, "target-pdi") == "failure", tail
    lines = error_lines(result, "password")
    assert lines, tail
    assert any(re.search(r"\busername\b", line) for line in lines), lines
    # Only what is missing: the api_token is fine, and naming it would send the user astray.
    assert not any(re.search(r"\bapi_token\b", line) for line in lines), lines
    # Without a key Mobilize serves public events only: the tap's test passes (a warehouse
    # load may want just those) but says, for each stream it cannot read, which setting.
    assert outcome(result, "tap-mobilize") == "success", tail
    skipped = [line for line in result.output.splitlines() if "set the api_key setting" in line]
    assert {"people", "attendances"} <= {
        stream for stream in ("people", "attendances") for line in skipped if stream in line
    }, skipped
    assert project.pdi_writes() == 0
    assert leaked(result) == []


def test_status_reports_the_taps_own_reason_for_a_refused_key_and_an_unreachable_api(
    make_project: MakeProject,
) -> None:
    """The key is revoked after a sync. With Python's warnings on (PYTHONWARNINGS=default, as
    an operator had them), the last line the tap's test logged was "ResourceWarning: Enable
    tracemalloc ...", which status reported as the reason."""
    project = project_with(make_project, PYTHONWARNINGS="default")
    synced = sync(project)
    assert synced.returncode == 0, synced.failure()
    project.extra_env["TAP_MOBILIZE_API_KEY"] = WRONG["TAP_MOBILIZE_API_KEY"]
    refused = project.meltano("--environment=prod", "invoke", "target-pdi:status")
    assert refused.returncode == 1, refused.output[-3000:]
    mobilize = [line for line in refused.stdout.splitlines() if line.startswith("Mobilize cred")]
    assert mobilize == [
        "Mobilize credentials: FAILED: Mobilize refused the request (HTTP 403) for organization "
        "1 on /v1/organizations: check the api_key setting (and that it has dashboard access to "
        "organization_id 1)"
    ], refused.stdout
    assert refused.stdout.splitlines()[-1] == "Status: ATTENTION (Mobilize credentials failed)"
    assert leaked(refused) == []

    project.extra_env["TAP_MOBILIZE_API_URL"] = f"http://127.0.0.1:{free_port()}/v1"
    unreachable = project.meltano("--environment=prod", "invoke", "target-pdi:status")
    assert unreachable.returncode == 1, unreachable.output[-3000:]
    assert (
        "Mobilize credentials: FAILED: Could not reach the Mobilize API at "
        f"{project.extra_env['TAP_MOBILIZE_API_URL'].removesuffix('/v1')} after 3 attempts "
        "(ConnectionError): check the api_url setting and the network" in unreachable.stdout
    ), unreachable.stdout
    assert leaked(unreachable) == []


# --- syncs that cannot get in ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"TAP_MOBILIZE_API_KEY": WRONG["TAP_MOBILIZE_API_KEY"]}, "api_key"),
        ({"TARGET_PDI_USERNAME": WRONG["TARGET_PDI_USERNAME"]}, "username"),
        ({"TARGET_PDI_API_TOKEN": UNSET}, "api_token"),
    ],
    ids=["mobilize-key-refused", "pdi-username-wrong", "pdi-api-token-missing"],
)
def test_sync_without_access_stops_before_any_write(
    make_project: MakeProject, changes: dict[str, str | None], setting: str
) -> None:
    project = project_with(make_project, **changes)
    result = sync(project)
    tail = result.output[-3000:]
    assert result.returncode != 0, tail
    assert error_lines(result, setting), tail
    assert "Traceback" not in result.output, tail
    assert project.pdi_writes() == 0
    assert saved_state(project) == {}
    assert leaked(result) == []
