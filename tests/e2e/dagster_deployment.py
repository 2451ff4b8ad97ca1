"""A Dagster deployment for end-to-end tests, started as docs/dagster.md's local recipe starts it.

PostgreSQL started by the test (Meltano's state and the organizations' id maps in one
database, Dagster's storage in another, orchestrate/dagster.yaml as the instance's settings), a
Mobilize and a PDI sandbox per organization, a webhook on 127.0.0.1 for the alerts, then
`dagster dev -h 127.0.0.1 -m mobilize_pdi_dagster.definitions` (the UI and the daemon) as the
page gives it. tests/e2e/test_orchestrator.py and tests/e2e/test_outcomes_agree.py build
theirs with ``prepare_deployment`` and ``start_dagster_dev``; what they start in between (runs
queued before the daemon is up, schedules) is their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ORGANIZATIONS
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

DAGSTER_BIN = REPO / ".venv-dagster" / "bin"
MODULE = "mobilize_pdi_dagster.definitions"
ORGANIZATION_TAG = "mobilize_pdi/organization"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
# The secret part of the webhook's URL, as a chat service's incoming webhook has one.
WEBHOOK_SECRET = "hook-7f3a9c-not-for-logs"
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
    # `dagster dev`, once started: the UI, the daemon and the runs are its descendants.
    dev: subprocess.Popen[bytes] | None = None
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


REPOSITORIES = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"""


def launch_job(deployment: Deployment, job: str) -> str:
    """What the Jobs page's Launch button submits for ``job``: the whole job, no config."""
    (repository,) = deployment.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]
    return deployment.launch(
        LAUNCH,
        executionParams={
            "mode": "default",
            "executionMetadata": {"tags": []},
            "runConfigData": "{}",
            "selector": {
                "repositoryLocationName": repository["location"]["name"],
                "repositoryName": repository["name"],
                "pipelineName": job,
            },
        },
    )


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


def documented_command(program: str, port: int) -> list[str]:
    """The command docs/dagster.md gives for ``program`` (its first line starting
    `.venv-dagster/bin/<program> `), as typed, on ``port``: the page's 3000 may be taken by
    whatever runs beside the tests."""
    page = (REPO / "docs" / "dagster.md").read_text()
    prefix = f".venv-dagster/bin/{program} "
    line = next(line for line in page.splitlines() if line.startswith(prefix))
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


def start_organizations(
    workdir: Path, stack: contextlib.ExitStack, names: Iterable[str] = tuple(ORGANIZATIONS)
) -> dict[str, Organization]:
    orgs = {}
    for name in names:
        data_args = ORGANIZATIONS[name]
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


def sigint_as_default() -> None:
    """In the child before it starts: SIGINT back to its default. Dagster stops on SIGTERM
    through its SIGINT handler, which it does not install when SIGINT is ignored, as it is in a
    background job of a non-interactive shell (a CI runner's): `stop` then waited 60 s."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(process: subprocess.Popen[bytes]) -> None:
    """`dagster dev` and what it started (webserver, daemon, code server, runs): its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def prepare_deployment(
    workdir: Path, stack: contextlib.ExitStack, names: Iterable[str] = tuple(ORGANIZATIONS)
) -> Deployment:
    """Everything up to starting Dagster: PostgreSQL, the organizations' sandboxes, Meltano's
    tables, DAGSTER_HOME with the project's dagster.yaml, Dagster's tables (the page's steps
    before the first start). The organizations' pools are the caller's next step."""
    server = stack.enter_context(postgres_server())
    shared = create_database(server, "mobilize_pdi")
    storage = create_database(server, "dagster")
    project = OrganizationsProject(
        workdir / "project", start_organizations(workdir, stack, names), shared
    )
    project.workdir.mkdir()
    for name in project.orgs:
        target = org_prefixes(name)[1]
        project.extra_env[f"{target}ID_MAP_URL"] = shared
        # Not the project's output/: tests run side by side.
        project.extra_env[f"{target}RECONCILE_REPORT_PATH"] = str(workdir / name / "reconcile.csv")
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
    deployment.dagster("instance", "migrate")
    return deployment


def start_dagster_dev(
    deployment: Deployment, stack: contextlib.ExitStack
) -> subprocess.Popen[bytes]:
    """docs/dagster.md's `dagster dev` line: the UI and the daemon, stopped with the stack."""
    port = int(deployment.url.rsplit(":", 1)[1])
    with deployment.log.open("w") as log:
        deployment.dev = subprocess.Popen(
            documented_command("dagster dev", port),
            cwd=REPO,
            env=deployment.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=sigint_as_default,
        )
    stack.callback(stop, deployment.dev)
    return deployment.dev
