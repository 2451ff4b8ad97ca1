"""The plugins as someone outside this repository gets them (issue 20, parts 1 and 2).

- Each plugin installs alone in a fresh virtual environment, from its folder and from a git URL
  with `#subdirectory=`, and runs: `--about`, and the tap against the Mobilize sandbox.
- Every package builds (sdist, then the wheel from that sdist) and passes `twine check`.
- A fresh Meltano project (`meltano init`) adds the plugins from their Hub definitions
  (<plugin>/meltano-hub.yml, pip_url pointed at a local clone) and runs
  `meltano run tap-mobilize target-jsonl` and `meltano run tap-mobilize target-pdi` against the
  sandboxes; every record, and PDI's whole state, are compared with what they should be.

Everything is installed from a `git clone` of this repository: committed HEAD, which is what CI
(a clean clone) tests; commit before running these locally. Only package registries are
reached (through pip's and uv's own caches); every other address is 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import SMALL, SMALL_ATTENDANCES
from tests.e2e.expect import PdiModel, differences, router
from tests.e2e.harness import MELTANO, REPO, Simulator

pytestmark = pytest.mark.e2e
PLUGINS = ["tap-mobilize", "target-pdi"]
MOBILIZE_KEY = "sandbox-mobilize-key"  # the sandboxes' built-in test values, not secrets
PDI_ACCOUNT = {"username": "sandbox", "password": "sandbox-password", "api_token": "sandbox-token"}
ORGANIZATION_ID = 1
# What the fresh project's calendars.yml routes; every other event type goes to Other Events.
CALENDARS_YML = """\
default_calendar: Other Events
event_types:
  CANVASS: Canvassing
  Phone Bank: Phone Banks
"""
ROUTES = {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"}


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its output, or the test fails showing the end of it."""
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, (
        f"$ {' '.join(map(str, args))}\n{(done.stdout + done.stderr)[-4000:]}"
    )
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any plugin or Meltano setting or virtualenv, and the
    repository's own tools (meltano, uv) on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_MOBILIZE_", "TARGET_", "MELTANO_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env.update(extra)
    return env


def about(executable: Path, cwd: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run([executable, "--about", "--format=json"], cwd))
    return result


def expected_records(dataset: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """Every record the tap must emit, by stream and id, from the sandbox's dataset: Mobilize's
    own objects unchanged, timeslots with their event_id, signups with the ids of their nested
    objects beside them; records whose id Mobilize masks (null) are skipped."""
    from sandbox.datagen.dataset import Dataset

    data = Dataset.from_json(json.dumps(dataset))
    timeslots = [
        {**slot, "event_id": event["id"]}
        for event in data.events
        for slot in event["timeslots"] or []
        if slot.get("id") is not None
    ]
    nested = ("person", "event", "timeslot", "sponsor")
    attendances = [
        {**a, **{f"{k}_id": a[k].get("id") if isinstance(a.get(k), dict) else None for k in nested}}
        for a in data.attendances
        if a["id"] is not None
    ]
    streams = {
        "organization": [data.organization],
        "events": data.events,
        "timeslots": timeslots,
        "deleted_events": data.deleted_events,
        "people": data.people,
        "attendances": attendances,
    }
    return {name: {r["id"]: r for r in records} for name, records in streams.items()}


def record_differences(got: dict[str, list[dict[str, Any]]], dataset: dict[str, Any]) -> list[str]:
    """Every record missing, unexpected, repeated or different, by stream (empty: none)."""
    out: list[str] = []
    for stream, want in expected_records(dataset).items():
        rows = got.get(stream, [])
        have = {r["id"]: r for r in rows}
        if len(have) != len(rows):
            out.append(f"{stream}: {len(rows) - len(have)} repeated records")
        for record_id in sorted(set(want) | set(have)):
            if have.get(record_id) != want.get(record_id):
                where = "missing" if record_id not in have else "unexpected or different"
                out.append(f"{stream} {record_id}: {where}")
    unknown = sorted(set(got) - set(expected_records(dataset)))
    return out + [f"stream {s}: not in the tap's catalog" for s in unknown]


# --- What every test installs from and runs against ------------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the repository (committed HEAD): nothing uncommitted, nothing built."""
    target = tmp_path_factory.mktemp("clone") / "mobilize-pdi"
    run(["git", "clone", "--quiet", REPO, target], tmp_path_factory.getbasetemp())
    return target


@pytest.fixture(scope="module")
def mobilize(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    log = tmp_path_factory.mktemp("sandboxes") / "mobilize.log"
    simulator = Simulator("sandbox.mobilize", [*SMALL, *SMALL_ATTENDANCES], log).start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def pdi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    simulator = Simulator("sandbox.pdi", [], tmp_path_factory.mktemp("sandboxes") / "pdi.log")
    yield simulator.start()
    simulator.stop()


# --- Part 1: each plugin installs alone -------------------------------------------------------


@pytest.mark.parametrize("source", ["folder", "git"])
@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_installs_alone_in_a_fresh_venv_and_runs(
    plugin: str, source: str, clone: Path, mobilize: Simulator, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path)
    requirement = (
        str(clone / plugin) if source == "folder" else f"git+file://{clone}#subdirectory={plugin}"
    )
    # Plain pip, as a user types it; from tmp_path, so that nothing of the repository is near.
    run([venv / "bin" / "pip", "install", "--quiet", requirement], tmp_path, clean_env())

    installed = about(venv / "bin" / plugin, tmp_path)
    ours = about(REPO / ".venv" / "bin" / plugin, tmp_path)
    assert installed["name"] == plugin
    assert installed["settings"] == ours["settings"]
    # The shared package came inside the plugin's own wheel, not from anywhere else.
    where = run([venv / "bin" / "python", "-c", "import pacing; print(pacing.__file__)"], tmp_path)
    assert Path(where.strip()).is_relative_to(venv), where
    listed = run([venv / "bin" / "pip", "list", "--format=json"], tmp_path, clean_env())
    assert "mobilize-pdi-pacing" not in {p["name"] for p in json.loads(listed)}

    if plugin == "target-pdi":
        assert_installed_target_validates_mappings_as_ours(venv, clone, tmp_path)
        return
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "api_url": f"{mobilize.url}/v1",
                "api_key": MOBILIZE_KEY,
                "organization_id": ORGANIZATION_ID,
            }
        )
    )
    output = run([venv / "bin" / "tap-mobilize", "--config", config], tmp_path, clean_env())
    records: dict[str, list[dict[str, Any]]] = {}
    for message in map(json.loads, output.splitlines()):
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    found = record_differences(records, mobilize.admin("dataset"))
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:40])


# Prints the installed target's schemas folder and its messages for one mappings file.
VALIDATE = """
import sys
from importlib import resources
from target_pdi.configuration.calendars_file import load_calendars
from target_pdi.configuration.mapping_problems import MappingError
print(resources.files("target_pdi").joinpath("schemas"))
try:
    load_calendars(sys.argv[1])
except MappingError as exc:
    print(*exc.problems, sep="\\n")
"""


def assert_installed_target_validates_mappings_as_ours(
    venv: Path, clone: Path, tmp_path: Path
) -> None:
    """The JSON Schemas of mappings/ came inside the wheel and say what the repository's do."""
    from target_pdi.configuration.calendars_file import load_calendars
    from target_pdi.configuration.mapping_problems import MappingError

    broken = clone / "mappings" / "examples" / "broken" / "calendars-misspelled-event-type.yml"
    output = run([venv / "bin" / "python", "-c", VALIDATE, broken], tmp_path, clean_env())
    folder, *said = output.splitlines()
    assert Path(folder).is_relative_to(venv), folder
    ours = REPO / "target-pdi" / "target_pdi" / "schemas"
    for schema in ("calendars.schema.json", "fields.schema.json"):
        assert (Path(folder) / schema).read_text() == (ours / schema).read_text(), schema
    with pytest.raises(MappingError) as caught:
        load_calendars(broken)
    assert said == [str(problem) for problem in caught.value.problems]
    assert said, "the installed target accepts a broken calendars.yml"


def test_every_package_builds_from_its_sdist_and_passes_twine_check(
    clone: Path, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    for package in ["pacing", "tap-mobilize", "target-pdi"]:
        # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist, so
        # this fails if an sdist misses what its wheel needs (the plugins' copy of pacing).
        run(
            [sys.executable, "-m", "build", "--installer=uv", "--outdir", dist, clone / package],
            tmp_path,
            clean_env(),
        )
    built = sorted(dist.iterdir())
    assert len(built) == 6, built
    run([sys.executable, "-m", "twine", "check", "--strict", *built], tmp_path, clean_env())

    package = clone / "pacing" / "pacing"
    shared = {p.name: p.read_bytes() for p in [*package.glob("*.py"), package / "py.typed"]}
    for wheel in dist.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            if wheel.name.startswith(("tap_mobilize-", "target_pdi-")):
                vendored = {
                    n.removeprefix("pacing/"): archive.read(n)
                    for n in names
                    if n.startswith("pacing/")
                }
                assert vendored == shared, wheel.name
            metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        requires = [
            line for line in metadata.decode().splitlines() if line.startswith("Requires-Dist:")
        ]
        # Ranges others can install beside their own pins; exact pins stay in the lock files.
        assert requires, wheel.name
        pinned = [r for r in requires if "==" in r.split(";")[0] or "mobilize-pdi-pacing" in r]
        assert pinned == [], wheel.name


# --- Part 2: a fresh Meltano project adds the plugins from their Hub definitions -------------


def add_from_definition(project: Path, definition: dict[str, Any], where: Path) -> None:
    """`meltano add <plugin> --from-ref <definition>`, as a user does with the raw URL."""
    where.write_text(yaml.safe_dump(definition, sort_keys=False))
    run([MELTANO, "add", definition["name"], "--from-ref", where], project, clean_env())


def our_definition(clone: Path, plugin: str) -> dict[str, Any]:
    """The plugin's Hub definition with pip_url pointed at the local clone (the definition's own
    points at GitHub)."""
    definition: dict[str, Any] = yaml.safe_load((clone / plugin / "meltano-hub.yml").read_text())
    definition["pip_url"] = f"git+file://{clone}#subdirectory={plugin}"
    return definition


def config_set(project: Path, plugin: str, **settings: Any) -> None:
    for name, value in settings.items():
        run([MELTANO, "config", "set", plugin, name, str(value)], project, clean_env())


@pytest.fixture(scope="module")
def fresh_project(
    clone: Path, mobilize: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """`meltano init`, then tap-mobilize added from its definition and configured the way
    docs/own-meltano-project.md shows: a project that knows nothing of this repository."""
    parent = tmp_path_factory.mktemp("meltano")
    run([MELTANO, "init", "warehouse", "--no-usage-stats"], parent, clean_env())
    project = parent / "warehouse"
    add_from_definition(project, our_definition(clone, "tap-mobilize"), parent / "tap.yml")
    config_set(
        project,
        "tap-mobilize",
        api_url=f"{mobilize.url}/v1",
        organization_id=ORGANIZATION_ID,
        api_key=MOBILIZE_KEY,
    )
    return project


def test_fresh_meltano_project_loads_every_mobilize_record_into_target_jsonl(
    fresh_project: Path, mobilize: Simulator
) -> None:
    # The stock target-jsonl, pinned as this repository's meltano.yml pins it (from its
    # definition there: `meltano add target-jsonl` alone would ask Meltano Hub, off 127.0.0.1).
    ours = yaml.safe_load((REPO / "meltano.yml").read_text())["plugins"]["loaders"]
    (jsonl,) = [p for p in ours if p["name"] == "target-jsonl"]
    jsonl = {k: v for k, v in jsonl.items() if k != "config"}
    add_from_definition(fresh_project, jsonl, fresh_project.parent / "target-jsonl.yml")
    out = fresh_project / "output" / "mobilize"
    config_set(fresh_project, "target-jsonl", destination_path=out, do_timestamp_file="false")

    run([MELTANO, "run", "tap-mobilize", "target-jsonl"], fresh_project, clean_env())

    records = {p.stem: [json.loads(line) for line in p.open()] for p in out.glob("*.jsonl")}
    found = record_differences(records, mobilize.admin("dataset"))
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:40])


def test_fresh_meltano_project_syncs_mobilize_into_pdi(
    fresh_project: Path, clone: Path, mobilize: Simulator, pdi: Simulator
) -> None:
    add_from_definition(
        fresh_project, our_definition(clone, "target-pdi"), fresh_project.parent / "target.yml"
    )
    (fresh_project / "calendars.yml").write_text(CALENDARS_YML)
    config_set(
        fresh_project, "target-pdi", api_url=pdi.url, calendars_file="calendars.yml", **PDI_ACCOUNT
    )

    run([MELTANO, "run", "tap-mobilize", "target-pdi"], fresh_project, clean_env())

    model = PdiModel(router(ROUTES, "Other Events"))
    model.sync(mobilize.admin("dataset"))
    found = differences(model, pdi.admin("state"))
    assert not found, f"{len(found)} discrepancies:\n" + "\n".join(found[:40])
    # The secrets went where Meltano keeps sensitive settings (.env), not into meltano.yml.
    project_file = (fresh_project / "meltano.yml").read_text()
    for secret in [MOBILIZE_KEY, PDI_ACCOUNT["password"], PDI_ACCOUNT["api_token"]]:
        assert secret not in project_file
