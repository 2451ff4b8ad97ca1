"""The orchestrator, through Dagster itself: every way of starting a sync, the run queue, what
the asset page shows of a run, the checks, the alerts, and a UI that answers on 127.0.0.1 only.

One Dagster deployment for the module, started as the README's local recipe starts it
(`dagster dev -h 127.0.0.1 -m mobilize_pdi_dagster.definitions`: the UI and the daemon) over
PostgreSQL started by the test (Meltano's state and both id maps in one database, Dagster's
storage in another, orchestrate/dagster.yaml as the instance's settings) and a Mobilize and a
PDI sandbox per organization (north, south). The fixture starts runs the ways a person does:

1. South's schedule, started (backdated) 13 hours ago, ticks as the daemon comes up, while
   `dagster job launch` starts north twice and south once, all at once, both PDIs slowed.
2. North through the UI's Materialize button (`__ASSET_JOB` with the asset's checks, as the
   button submits it) while north's PDI refuses every request (HTTP 401, as for a wrong
   password): it fails. South's first launched run re-executed, all steps.
3. One of north's PDI events deleted behind the sync's back (for reconcile to find), then
   north's failed run re-executed from failure: the sync, then every check of the asset.

The test then checks, a subtest each, what a user would notice.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.conftest import ORGANIZATIONS, organization_model
from tests.e2e.expect import differences
from tests.e2e.harness import (
    REPO,
    Organization,
    OrganizationsProject,
    Simulator,
    free_port,
    http,
    org_mobilize_key,
    org_pdi_credentials,
    org_prefixes,
)
from tests.postgres_server import create_database, postgres_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DAGSTER_BIN = REPO / ".venv-dagster" / "bin"
MODULE = "mobilize_pdi_dagster.definitions"
ORGANIZATION_TAG = "mobilize_pdi/organization"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
# The secret part of the webhook's URL, as a chat service's incoming webhook has one.
WEBHOOK_SECRET = "hook-7f3a9c-not-for-logs"
OBJECTS = ("locations", "events", "contacts", "invitations")
OUTCOMES = ("created", "updated", "unchanged", "failed")
RUN_FIELDS = "runId jobName status startTime endTime tags { key value }"


class Receiver:
    """A webhook on 127.0.0.1 that keeps the body of every POST."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{WEBHOOK_SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [str(post["body"].get("text")) for post in self.posts]


@dataclass
class Deployment:
    project: OrganizationsProject
    home: Path
    url: str
    env: dict[str, str]
    receiver: Receiver
    log: Path
    storage_url: str
    runs: dict[str, str] = field(default_factory=dict)
    pdi_after_first_runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def dagster(self, *args: str, python: bool = False) -> subprocess.CompletedProcess[str]:
        program = DAGSTER_BIN / ("python" if python else "dagster")
        done = subprocess.run(
            [str(program), *args], cwd=REPO, env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{program.name} {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done

    def start(self, *args: str, python: bool = False) -> subprocess.Popen[str]:
        program = DAGSTER_BIN / ("python" if python else "dagster")
        return subprocess.Popen(
            [str(program), *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = http(f"{self.url}/graphql", "POST", {"query": query, "variables": variables})
        assert not answer.get("errors"), answer["errors"]
        data: dict[str, Any] = answer["data"]
        return data

    def all_runs(self) -> list[dict[str, Any]]:
        query = f"{{ runsOrError {{ ... on Runs {{ results {{ {RUN_FIELDS} }} }} }} }}"
        runs: list[dict[str, Any]] = self.graphql(query)["runsOrError"]["results"]
        for run in runs:
            run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return runs

    def run(self, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.all_runs() if r["runId"] == self.runs[name]]
        return found

    def wait_for(self, count: int, job: str, **tags: str) -> list[dict[str, Any]]:
        """The ``count`` runs of ``job`` with these tags, once every one has ended."""
        deadline = time.monotonic() + 600
        while True:
            runs = [
                r
                for r in self.all_runs()
                if r["jobName"] == job and all(r["tags"].get(k) == v for k, v in tags.items())
            ]
            if len(runs) >= count and all(r["status"] in DONE for r in runs):
                return sorted(runs, key=lambda r: r["startTime"] or 0)
            assert time.monotonic() < deadline, f"{job}: {runs}\n{self.log.read_text()[-3000:]}"
            time.sleep(1)

    def wait_for_run(self, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 600
        while True:
            (run,) = [r for r in self.all_runs() if r["runId"] == run_id]
            if run["status"] in DONE:
                return run
            assert time.monotonic() < deadline, run
            time.sleep(1)

    def launch(self, query: str, **variables: Any) -> str:
        answer = next(iter(self.graphql(query, **variables).values()))
        assert answer["__typename"] == "LaunchRunSuccess", answer
        run_id: str = answer["run"]["runId"]
        return run_id

    def history(self) -> dict[str, Any]:
        done = self.dagster("-m", "mobilize_pdi_dagster.history", python=True)
        result: dict[str, Any] = json.loads(done.stdout)
        return result


LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""
REEXECUTE = """
mutation Reexecute($reexecutionParams: ReexecutionParams!) {
  launchPipelineReexecution(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""
ASSET_CHECKS = """
query Checks($assetKeys: [AssetKeyInput!]!) {
  assetNodes(assetKeys: $assetKeys) {
    jobNames
    repository { name location { name } }
    assetChecksOrError { ... on AssetChecks { checks { name jobNames } } }
  }
}"""


def materialize(deployment: Deployment, org: str) -> str:
    """What the asset page's Materialize button submits (LaunchAssetExecutionButton.tsx in
    Dagster's UI): Dagster's `__ASSET_JOB`, the asset, and each of its checks in that job."""
    key = {"path": ["pdi", org]}
    (node,) = deployment.graphql(ASSET_CHECKS, assetKeys=[key])["assetNodes"]
    job = "__ASSET_JOB"
    assert job in node["jobNames"], node
    checks = [c for c in node["assetChecksOrError"]["checks"] if job in c["jobNames"]]
    return deployment.launch(
        LAUNCH,
        executionParams={
            "mode": "default",
            "executionMetadata": {"tags": []},
            "runConfigData": "{}",
            "selector": {
                "repositoryLocationName": node["repository"]["location"]["name"],
                "repositoryName": node["repository"]["name"],
                "pipelineName": job,
                "assetSelection": [key],
                "assetCheckSelection": [{"name": c["name"], "assetKey": key} for c in checks],
            },
        },
    )


def reexecute(deployment: Deployment, run_id: str, strategy: str) -> str:
    """The run page's "Re-execute" menu: FROM_FAILURE or ALL_STEPS."""
    return deployment.launch(
        REEXECUTE, reexecutionParams={"parentRunId": run_id, "strategy": strategy}
    )


def readme_command(program: str, port: int) -> list[str]:
    """The command the README's "Deployment: Dagster" gives for ``program`` (its first line
    starting `.venv-dagster/bin/<program> `), as typed, on ``port``: the README's 3000 may be
    taken by whatever runs beside the tests."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Deployment: Dagster") :]
    section = section[: section.index("\n## ")]
    prefix = f".venv-dagster/bin/{program} "
    line = next(line for line in section.splitlines() if line.startswith(prefix))
    argv = shlex.split(line, comments=True)
    if "-p" in argv:
        argv[argv.index("-p") + 1] = str(port)
    else:
        argv += ["-p", str(port)]
    return [str(REPO / argv[0]), *argv[1:]]


def finished(*started: subprocess.Popen[str]) -> None:
    for process in started:
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, f"{process.args}:\n{output[-3000:]}"


def wait_until_up(url: str, log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert process.poll() is None, log.read_text()[-4000:]
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/server_info", timeout=5),  # noqa: S310
        ):
            return
        assert time.monotonic() < deadline, log.read_text()[-4000:]
        time.sleep(1)


def start_organizations(workdir: Path, stack: contextlib.ExitStack) -> dict[str, Organization]:
    orgs = {}
    for name, data_args in ORGANIZATIONS.items():
        mobilize = Simulator(
            "sandbox.mobilize",
            [*data_args, "--api-key", org_mobilize_key(name)],
            workdir / f"{name}-mobilize.log",
        ).start()
        stack.callback(mobilize.stop)
        account = [f"--{k.replace('_', '-')}={v}" for k, v in org_pdi_credentials(name).items()]
        pdi = Simulator("sandbox.pdi", account, workdir / f"{name}-pdi.log").start()
        stack.callback(pdi.stop)
        orgs[name] = Organization(name, mobilize, pdi)
    return orgs


def stop(process: subprocess.Popen[bytes]) -> None:
    """`dagster dev` and what it started (webserver, daemon, code server, runs): its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("orchestrator")
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(postgres_server())
        shared = create_database(server, "mobilize_pdi")
        storage = create_database(server, "dagster")
        project = OrganizationsProject(
            workdir / "project", start_organizations(workdir, stack), shared
        )
        project.workdir.mkdir()
        for name in project.orgs:
            target = org_prefixes(name)[1]
            project.extra_env[f"{target}ID_MAP_URL"] = shared
            # Not the project's output/: tests run side by side.
            project.extra_env[f"{target}RECONCILE_REPORT_PATH"] = str(
                workdir / name / "reconcile.csv"
            )
        upgraded = project.meltano("upgrade", "database")
        assert upgraded.returncode == 0, upgraded.failure()

        home = workdir / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "orchestrate" / "dagster.yaml", home / "dagster.yaml")
        port = free_port()
        receiver = Receiver()
        stack.callback(receiver.server.shutdown)
        env = {
            **project.env(),
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": storage.replace("+psycopg:", "+psycopg2:", 1),
            "MOBILIZE_PDI_PROJECT": str(REPO),
            "MOBILIZE_PDI_ALERT_WEBHOOK_URL": receiver.url,
            "MOBILIZE_PDI_DAGSTER_URL": f"http://127.0.0.1:{port}",
        }
        deployment = Deployment(
            project,
            home,
            f"http://127.0.0.1:{port}",
            env,
            receiver,
            workdir / "dagster.log",
            storage,
        )
        # The README's steps before the first start: tables, then the organizations' pools.
        deployment.dagster("instance", "migrate")
        # South's schedule, started 13 hours ago: the daemon launches the tick it missed.
        finished(
            deployment.start("-m", "mobilize_pdi_dagster.pools", python=True),
            deployment.start("schedule", "start", "sync_south_twice_daily", "-m", MODULE),
        )
        backdate = str(REPO / "tests" / "e2e" / "backdate_schedule.py")
        deployment.dagster(backdate, "sync_south_twice_daily", "13", python=True)

        # Slower PDIs: without the queue, the runs of one organization would overlap.
        for org in project.orgs.values():
            org.pdi.admin("switches", {"latency_ms": 20})
        # 1. Two of north and one of south at once (and south's schedule tick, meanwhile),
        # queued while the README's local recipe starts the UI and the daemon.
        launches = [
            deployment.start("job", "launch", "-m", MODULE, "-j", f"sync_{org}")
            for org in ("north", "north", "south")
        ]
        with deployment.log.open("w") as log:
            dev = subprocess.Popen(
                readme_command("dagster dev", port),
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack.callback(stop, dev)
        finished(*launches)
        wait_until_up(deployment.url, deployment.log, dev)
        north_1, north_2 = deployment.wait_for(2, "sync_north")
        south_runs = deployment.wait_for(2, "sync_south")
        (tick,) = [r for r in south_runs if "dagster/schedule_name" in r["tags"]]
        (launched_south,) = [r for r in south_runs if r is not tick]
        deployment.runs.update(
            north_launch_1=north_1["runId"],
            north_launch_2=north_2["runId"],
            south_launch=launched_south["runId"],
            south_tick=tick["runId"],
        )
        deployment.pdi_after_first_runs = {n: o.pdi_state() for n, o in project.orgs.items()}
        for org in project.orgs.values():
            org.pdi.admin("switches", {"latency_ms": 0})

        # 2. North's PDI refuses every request while north is materialized from the UI.
        north_pdi = project.orgs["north"].pdi
        north_pdi.admin("switches", {"fail_rate": 1.0, "fail_status": 401})
        deployment.runs["north_materialize"] = materialize(deployment, "north")
        deployment.runs["south_all_steps"] = reexecute(
            deployment, deployment.runs["south_launch"], "ALL_STEPS"
        )
        deployment.wait_for_run(deployment.runs["north_materialize"])
        deployment.wait_for_run(deployment.runs["south_all_steps"])
        north_pdi.admin("switches", {"fail_rate": 0.0, "fail_status": 503})

        # 3. A PDI user deletes one of north's events; north's failed run is re-executed.
        live = [e for e in north_pdi.admin("state")["events"] if "[Canceled]" not in e["name"]]
        north_pdi.admin("delete", {"kind": "events", "id": live[0]["id"]})
        deployment.runs["north_from_failure"] = reexecute(
            deployment, deployment.runs["north_materialize"], "FROM_FAILURE"
        )
        deployment.wait_for_run(deployment.runs["north_from_failure"])
        yield deployment


def by_start(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(runs, key=lambda r: r["startTime"])


def every_way_of_starting_a_sync_names_its_organization(deployment: Deployment) -> None:
    started = {
        "north_launch_1": ("north", "sync_north"),  # dagster job launch
        "north_launch_2": ("north", "sync_north"),
        "south_launch": ("south", "sync_south"),
        "south_tick": ("south", "sync_south"),  # the schedule
        "north_materialize": ("north", "__ASSET_JOB"),  # the UI's Materialize button
        "south_all_steps": ("south", "sync_south"),  # re-executed, all steps
        "north_from_failure": ("north", "__ASSET_JOB"),  # re-executed from failure
    }
    for name, (org, job) in started.items():
        run = deployment.run(name)
        assert (name, run["jobName"], run["tags"].get(ORGANIZATION_TAG)) == (name, job, org)
    assert deployment.run("south_tick")["tags"]["dagster/schedule_name"] == "sync_south_twice_daily"
    # The history lists every run of each organization, whoever started it.
    history = deployment.history()
    listed = {org: {run["run_id"] for run in history[org]["runs"]} for org in history}
    assert listed == {
        org: {deployment.runs[name] for name, (owner, _) in started.items() if owner == org}
        for org in ("north", "south")
    }


def a_second_run_of_an_organization_waits_in_the_queue(deployment: Deployment) -> None:
    started_together = {
        "north": ("north_launch_1", "north_launch_2"),
        "south": ("south_launch", "south_tick"),
    }
    for names in started_together.values():
        first, second = by_start([deployment.run(name) for name in names])
        assert (first["status"], second["status"]) == ("SUCCESS", "SUCCESS")
        # Queued until the first ended, rather than started beside it and refused.
        assert second["startTime"] >= first["endTime"]
    # Different organizations ran at the same time: a run of north beside one of south.
    norths, souths = ([deployment.run(n) for n in names] for names in started_together.values())
    beside = [
        (north["runId"], south["runId"])
        for north in norths
        for south in souths
        if north["startTime"] < south["endTime"] and south["startTime"] < north["endTime"]
    ]
    assert beside, (norths, souths)
    # Each PDI holds its own organization's whole state.
    for name, state in deployment.pdi_after_first_runs.items():
        model = organization_model(name)
        model.sync(deployment.project.orgs[name].dataset())
        found = differences(model, state)
        assert not found, f"{name}: {len(found)} discrepancies:\n" + "\n".join(found[:40])


def table_rows(markdown: str) -> dict[str, list[int]]:
    """The rows of the metadata's Markdown table: PDI object -> its four counts."""
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].isdigit():
            rows[cells[0]] = [int(cell) for cell in cells[1:]]
    return rows


def the_asset_shows_each_run_at_a_glance_with_its_checks(deployment: Deployment) -> None:
    history = deployment.history()
    runs = {run["run_id"]: run for run in history["north"]["runs"]}

    # A succeeded run: a table, four numbers to plot, the summary; no wall of zeros.
    succeeded = runs[deployment.runs["north_launch_1"]]
    metadata = succeeded["metadata"]
    summary = metadata["run_summary"]
    assert (summary["run_id"], summary["status"]) == (succeeded["run_id"], "succeeded")
    assert sorted(metadata) == [
        "changes",
        "dead_letters_waiting",
        "duration_seconds",
        "pdi_writes",
        "records_failed",
        "run_summary",
    ]
    assert table_rows(metadata["changes"]) == {
        kind: [summary["objects"][kind][outcome] for outcome in OUTCOMES] for kind in OBJECTS
    }
    writes = sum(
        summary["objects"][k]["created"] + summary["objects"][k]["updated"] for k in OBJECTS
    )
    assert (metadata["pdi_writes"], metadata["records_failed"]) == (writes, 0)
    assert writes > 0
    assert metadata["dead_letters_waiting"] == summary["dead_letters"]["waiting"] > 0
    assert metadata["duration_seconds"] == summary["duration_seconds"]
    checks = succeeded["checks"]
    assert {name: check["passed"] for name, check in checks.items()} == {
        "attention": True,
        "dead_letters": False,
        "freshness_check": True,
    }
    assert checks["dead_letters"]["severity"] == "WARN"

    # A failed run: its reason, and no count to be read as "nothing happened".
    failed = runs[deployment.runs["north_materialize"]]
    assert failed["status"] == "FAILURE"
    reason = failed["metadata"]["reason"]
    assert failed["metadata"] == {"status": "failed", "reason": reason}
    assert "PDI login failed (HTTP 401)" in reason
    assert failed["failure"]["description"].endswith(reason)

    # Re-executed from failure: the sync, then every check; reconcile finds the deleted event.
    fixed = runs[deployment.runs["north_from_failure"]]
    assert fixed["status"] == "SUCCESS"
    checks = fixed["checks"]
    assert {name: check["passed"] for name, check in checks.items()} == {
        "attention": True,
        "dead_letters": False,
        "freshness_check": True,
        "reconcile": False,
    }
    assert checks["reconcile"]["description"] == "1 discrepancy: 1 timeslot without PDI event"
    assert checks["reconcile"]["metadata"]["discrepancies"] == 1
    # The latest result of each check: the asset page's red and green.
    latest = history["north"]["checks"]
    assert {name: check["run_id"] for name, check in latest.items()} == {
        name: fixed["run_id"]
        for name in ("attention", "dead_letters", "freshness_check", "reconcile")
    }


def stored_text(deployment: Deployment) -> str:
    """Everything Dagster keeps: its database (runs, event logs with every log line, tags),
    the files under DAGSTER_HOME (captured output), and the UI's and daemon's log."""
    texts = [deployment.log.read_text()]
    for path in deployment.home.rglob("*"):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    url = deployment.storage_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            rows = connection.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            texts.extend(row[0] for row in rows)
    return "\n".join(texts)


def alerts_reach_the_webhook_and_secrets_stay_out_of_dagster(
    deployment: Deployment,
) -> None:
    receiver = deployment.receiver
    deadline = time.monotonic() + 180
    while len(receiver.posts) < 2:
        assert time.monotonic() < deadline, receiver.texts()
        time.sleep(1)
    texts = receiver.texts()
    assert {post["path"] for post in receiver.posts} == {f"/hooks/{WEBHOOK_SECRET}"}
    (failure,) = [t for t in texts if deployment.runs["north_materialize"][:8] in t]
    assert failure.startswith("mobilize-pdi: north: run ")
    assert "PDI login failed (HTTP 401)" in failure
    assert f"{deployment.url}/runs/{deployment.runs['north_materialize']}" in failure
    (checks,) = [t for t in texts if deployment.runs["north_from_failure"][:8] in t]
    assert "pdi/north reconcile: 1 discrepancy: 1 timeslot without PDI event" in checks
    # Amber checks (dead letters) post nothing: south's runs sent no alert.
    assert len(texts) == 2

    stored = stored_text(deployment) + json.dumps(deployment.history())
    secrets = [WEBHOOK_SECRET]
    for name in deployment.project.orgs:
        secrets.append(org_mobilize_key(name))
        secrets += [v for k, v in org_pdi_credentials(name).items() if k != "username"]
    assert [secret for secret in secrets if secret in stored] == []


def host_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (SIOCGIFADDR on each interface)."""
    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        address = socket.inet_ntoa(packed[20:24])
        if not ipaddress.ip_address(address).is_loopback:
            found.append(address)
    return found


@contextlib.contextmanager
def other_address() -> Iterator[str]:
    """An address of this machine that is not loopback: one it has, or else one the test gives
    it on a dummy interface of its own (root only; skipped, saying why, when impossible)."""
    found = host_addresses()
    if found:
        yield found[0]
        return
    interface, address = "mpdi-test0", "198.51.100.7"
    try:
        subprocess.run(
            ["ip", "link", "add", interface, "type", "dummy"], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"this machine has only loopback and cannot be given an address: {exc}")
    try:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", interface], check=True)
        subprocess.run(["ip", "link", "set", interface, "up"], check=True)
        yield address
    finally:
        subprocess.run(["ip", "link", "del", interface], check=False)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium (Debian's `chromium`) with an empty profile, nothing but the page."""
    program = shutil.which("chromium")
    assert program, "chromium is not installed: apt-get install -y chromium (scripts/test.sh does)"
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    profile.mkdir()
    return subprocess.run(
        [
            program,
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
            *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
            f"--user-data-dir={profile}",
            "--window-size=1440,1200",
            # The UI loads its data after the page: let it settle before the shot.
            "--virtual-time-budget=30000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def the_ui_answers_on_loopback_only(deployment: Deployment) -> None:
    """Both ways the README starts the UI (`dagster dev` of the local recipe, running, and the
    production `dagster-webserver`, started here) answer on 127.0.0.1, and refuse a connection
    on another address of this machine."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = deployment.log.with_name("dagster-webserver.log")
    with log.open("w") as out:
        webserver = subprocess.Popen(
            readme_command("dagster-webserver", port),
            cwd=REPO,
            env=deployment.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(url, log, webserver)
        with other_address() as address:
            for answering in (deployment.url, url):
                with urllib.request.urlopen(f"{answering}/server_info", timeout=30) as answer:  # noqa: S310
                    assert answer.status == 200
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection((address, int(answering.rsplit(":", 1)[1])), 30)
    finally:
        stop(webserver)


def the_ui_shows_the_organization_to_its_staff(deployment: Deployment, tmp_path: Path) -> None:
    """Headless Chromium on the UI: screenshots (kept in the test's folder, out of git) and
    what the pages show."""
    # What staff see: north's asset page (its last run at a glance), the page of its failed
    # run (the reason) and that of its re-execution (the sync and every check).
    asset = f"{deployment.url}/assets/pdi/north"
    pages = {
        "asset": asset,
        "failed-run": f"{deployment.url}/runs/{deployment.runs['north_materialize']}",
        "run": f"{deployment.url}/runs/{deployment.runs['north_from_failure']}",
    }
    for name, url in pages.items():
        shot = tmp_path / f"{name}.png"
        done = chromium(tmp_path, f"--screenshot={shot}", url)
        assert shot.exists(), done.stderr[-2000:]
        assert shot.stat().st_size > 20_000, shot
    shown = {
        asset: (
            "PDI object",
            "invitations",
            "pdi_writes",
            "records_failed",
            "dead_letters_waiting",
        ),
        f"{asset}?view=checks": ("attention", "dead_letters", "freshness_check", "reconcile"),
        pages["failed-run"]: ("PDI login failed (HTTP 401)",),
    }
    for url, texts in shown.items():
        dom = chromium(tmp_path, "--dump-dom", url).stdout
        assert [text for text in texts if text not in dom] == [], url


def test_dagster_runs_each_organization_as_its_staff_expect(
    deployment: Deployment, tmp_path: Path, subtests: pytest.Subtests
) -> None:
    """One deployment, built once (minutes on two cores, so one test: pytest-xdist 3.8's
    loadgroup cannot keep several on one worker under pytest 9.2, pytest-xdist#1386), checked
    six ways, each a subtest of its own: reported on its own, none stopping the others."""
    for check in (
        every_way_of_starting_a_sync_names_its_organization,
        a_second_run_of_an_organization_waits_in_the_queue,
        the_asset_shows_each_run_at_a_glance_with_its_checks,
        alerts_reach_the_webhook_and_secrets_stay_out_of_dagster,
        the_ui_answers_on_loopback_only,
    ):
        with subtests.test(msg=check.__name__):
            check(deployment)
    with subtests.test(msg=the_ui_shows_the_organization_to_its_staff.__name__):
        the_ui_shows_the_organization_to_its_staff(deployment, tmp_path)
