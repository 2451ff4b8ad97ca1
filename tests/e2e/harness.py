"""Helpers for end-to-end tests: real simulators as subprocesses, real `meltano run`.

Each test gets its own simulators on free 127.0.0.1 ports and its own Meltano system
database, id map and dead-letter file, while sharing the plugin virtualenvs that
`scripts/setup.sh` installed under `.meltano/`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MELTANO = shutil.which("meltano", path=str(REPO / ".venv" / "bin")) or "meltano"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        raw = answer.read()
    return json.loads(raw) if raw else None


@dataclass
class Simulator:
    module: str
    args: list[str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Simulator:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, "--port", str(self.port), *self.args],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                http(f"{self.url}/__admin/health")
                return self
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log.read_text()
                    raise RuntimeError(f"{self.module} did not start:\n{log}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def admin(self, path: str, body: Any = None, method: str | None = None) -> Any:
        return http(
            f"{self.url}/__admin/{path}", method or ("POST" if body is not None else "GET"), body
        )


@dataclass
class RunResult:
    returncode: int
    output: str  # stdout and stderr
    stdout: str = ""

    def lines(self, needle: str) -> list[str]:
        return [line for line in self.output.splitlines() if needle in line]

    def failure(self) -> str:
        """What a failed run's assertion shows: the plugins' own last lines (a crash's cause),
        then the end of the output (Meltano's traceback, which rarely names it)."""
        plugins = [
            line
            for line in self.output.splitlines()
            if ("target-pdi" in line or "tap-mobilize" in line) and "METRIC" not in line
        ]
        return "\n".join(plugins[-40:]) + "\n...\n" + self.output[-3000:]


def own_sys_dir(workdir: Path) -> Path:
    """A `.meltano` of the project's own: its `run` folder (catalogs, configs, state files of
    runs under way) is apart from any other test's, so that tests can run at the same time;
    the plugins' virtualenvs are the ones `scripts/setup.sh` installed."""
    sys_dir = workdir / ".meltano"
    if not sys_dir.exists():
        sys_dir.mkdir(parents=True)
        for kind in ("extractors", "loaders", "utilities"):
            if (REPO / ".meltano" / kind).exists():
                (sys_dir / kind).symlink_to(REPO / ".meltano" / kind)
    return sys_dir


def meltano_env(workdir: Path, database_uri: str = "") -> dict[str, str]:
    """This process's environment without any plugin or Meltano setting, and Meltano pointed
    at the project's own database and `.meltano`, in the dev environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_MOBILIZE_", "TARGET_PDI_", "MELTANO_"))
    }
    env.update(
        {
            "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "MELTANO_DATABASE_URI": database_uri or f"sqlite:///{workdir / 'meltano.db'}",
            "MELTANO_SYS_DIR_ROOT": str(own_sys_dir(workdir)),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_ENVIRONMENT": "dev",
        }
    )
    return env


def log_meltano(workdir: Path, args: tuple[str, ...], output: str) -> None:
    with (workdir / "meltano.log").open("a") as log:
        log.write(f"$ meltano {' '.join(args)}\n{output}\n")


def run_meltano(
    workdir: Path, env: dict[str, str], args: tuple[str, ...], timeout: float
) -> RunResult:
    """`meltano <args>` in the repository with this environment; its output kept in the log."""
    done = subprocess.run(
        [MELTANO, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    log_meltano(workdir, args, output)
    return RunResult(done.returncode, output, done.stdout)


@dataclass
class Project:
    """One isolated sync: its simulators, Meltano database, id map and dead letters."""

    workdir: Path
    mobilize: Simulator
    pdi: Simulator
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def id_map(self) -> Path:
        return self.workdir / "idmap.sqlite"

    @property
    def dead_letters(self) -> Path:
        return self.workdir / "dead_letters.jsonl"

    def sys_dir(self) -> Path:
        return own_sys_dir(self.workdir)

    def env(self) -> dict[str, str]:
        env = meltano_env(self.workdir)
        env.update(
            {
                "TAP_MOBILIZE_API_URL": f"{self.mobilize.url}/v1",
                "TARGET_PDI_API_URL": self.pdi.url,
                "TARGET_PDI_ID_MAP_URL": f"sqlite:///{self.id_map}",
                "TARGET_PDI_DEAD_LETTER_PATH": str(self.dead_letters),
                # Not the project's own .meltano/: tests run side by side.
                "TARGET_PDI_SUMMARY_PATH": str(self.workdir / "summary.json"),
                # Small batches: every run of the small dataset is written in several drains,
                # so each scenario also proves that batch boundaries change nothing.
                "TARGET_PDI_BATCH_SIZE_ROWS": "100",
            }
        )
        env.update(self.extra_env)
        return env

    def meltano(self, *args: str, timeout: float = 600) -> RunResult:
        return run_meltano(self.workdir, self.env(), args, timeout)

    def start_sync(self, *extra: str) -> subprocess.Popen[str]:
        """A sync in the background, for tests that act while it runs. It leads a process
        group of its own, so that a signal can reach Meltano, the tap and the target at once,
        as systemd and container runtimes send it."""
        with (self.workdir / "background-sync.log").open("a") as log:
            log.write(f"$ meltano run {' '.join(extra)} tap-mobilize target-pdi\n")
            log.flush()
            return subprocess.Popen(
                [MELTANO, "run", *extra, "tap-mobilize", "target-pdi"],
                cwd=REPO,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def wait_for_writes(
        self, running: subprocess.Popen[str], writes: int, timeout: float = 300
    ) -> bool:
        """Wait, while ``running`` goes on, until PDI has taken ``writes`` writes in all: True,
        or False when the run ended first. A run that stalls fails the test."""
        deadline = time.monotonic() + timeout
        while self.pdi_writes() < writes:
            if running.poll() is not None:
                return False
            assert time.monotonic() < deadline, f"the run stalled before {writes} PDI writes"
            time.sleep(0.02)
        return True

    def sync(self, *extra: str) -> RunResult:
        return self.meltano("run", *extra, "tap-mobilize", "target-pdi")

    def bookmarks(self) -> dict[str, Any]:
        """The bookmarks Meltano saved for the sync ({} when none)."""
        got = self.meltano("state", "get", "dev:tap-mobilize-to-target-pdi")
        if got.returncode != 0 or not got.stdout.strip():
            return {}
        saved: dict[str, Any] = json.loads(got.stdout)
        return dict(saved.get("singer_state", {}).get("bookmarks", {}))

    def pdi_state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.pdi.admin("state")
        return result

    def pdi_writes(self) -> int:
        return int(self.pdi.admin("stats").get("writes", 0))

    def reset_pdi_stats(self) -> None:
        self.pdi.admin("stats/reset", {})

    def mutate(self, op: str, **fields: Any) -> Any:
        return self.mobilize.admin("mutate", {"op": op, **fields})

    def dataset(self) -> dict[str, Any]:
        result: dict[str, Any] = self.mobilize.admin("dataset")
        return result


# --- Several organizations (orgs/<name>.meltano.yml) ----------------------------------------


def org_prefixes(name: str) -> tuple[str, str]:
    """Meltano's environment variable prefixes of an organization's plugins: those of
    tap-mobilize--<name> and target-pdi--<name> (TAP_MOBILIZE__NORTH_, TARGET_PDI__NORTH_)."""
    upper = name.upper().replace("-", "_")
    return f"TAP_MOBILIZE__{upper}_", f"TARGET_PDI__{upper}_"


def org_mobilize_key(name: str) -> str:
    """The Mobilize sandbox key of an organization in the tests (a sandbox value, no secret)."""
    return f"{name}-mobilize-key"


def org_pdi_credentials(name: str) -> dict[str, str]:
    """The PDI sandbox account of an organization in the tests (sandbox values, no secret)."""
    return {
        "username": f"{name}-user",
        "password": f"{name}-password",
        "api_token": f"{name}-token",
    }


@dataclass
class Organization:
    """One organization of the project in a test: its own Mobilize organization and PDI
    account (a sandbox each, with credentials of its own), given to its plugins the way a
    deployment gives them, through its plugins' environment variables."""

    name: str
    mobilize: Simulator
    pdi: Simulator

    @property
    def job(self) -> str:
        return f"sync-{self.name}"

    @property
    def state_id(self) -> str:
        return f"dev:tap-mobilize--{self.name}-to-target-pdi--{self.name}"

    @property
    def mobilize_key(self) -> str:
        return org_mobilize_key(self.name)

    @property
    def pdi_credentials(self) -> dict[str, str]:
        return org_pdi_credentials(self.name)

    def env(self) -> dict[str, str]:
        tap, target = org_prefixes(self.name)
        return {
            f"{tap}API_URL": f"{self.mobilize.url}/v1",
            f"{tap}API_KEY": self.mobilize_key,
            f"{target}API_URL": self.pdi.url,
            **{f"{target}{k.upper()}": v for k, v in self.pdi_credentials.items()},
            # Small batches, as Project's: batch boundaries change nothing.
            f"{target}BATCH_SIZE_ROWS": "100",
        }

    def pdi_state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.pdi.admin("state")
        return result

    def dataset(self) -> dict[str, Any]:
        result: dict[str, Any] = self.mobilize.admin("dataset")
        return result


@dataclass
class OrganizationsProject:
    """The project with several organizations synced by their own jobs (`meltano run
    sync-<org>`), in a test's own `.meltano` and Meltano database (SQLite in the workdir
    unless ``database_uri`` says otherwise, e.g. a PostgreSQL server)."""

    workdir: Path
    orgs: dict[str, Organization]
    database_uri: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    def sys_dir(self) -> Path:
        return own_sys_dir(self.workdir)

    def org_dir(self, name: str) -> Path:
        """Where orgs/<name>.meltano.yml keeps the organization's id map (SQLite), dead
        letters and run summary in the tests' environment (dev):
        ``$MELTANO_SYS_DIR_ROOT/orgs/<name>/$MELTANO_ENVIRONMENT``."""
        return self.sys_dir() / "orgs" / name / "dev"

    def env(self) -> dict[str, str]:
        env = meltano_env(self.workdir, self.database_uri)
        for org in self.orgs.values():
            env.update(org.env())
        env.update(self.extra_env)
        return env

    def _log(self, args: tuple[str, ...], output: str) -> None:
        log_meltano(self.workdir, args, output)

    def meltano(self, *args: str, timeout: float = 600) -> RunResult:
        return run_meltano(self.workdir, self.env(), args, timeout)

    def start(self, *args: str) -> Started:
        """`meltano <args>` in the background (a process group of its own), its output kept."""
        log = self.workdir / f"background-{time.monotonic_ns()}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [MELTANO, *args],
                cwd=REPO,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        return Started(args, process, log, self)

    def bookmarks(self, org: str) -> dict[str, Any]:
        """The bookmarks Meltano saved for an organization's sync ({} when none)."""
        got = self.meltano("state", "get", self.orgs[org].state_id)
        if got.returncode != 0 or not got.stdout.strip():
            return {}
        saved: dict[str, Any] = json.loads(got.stdout)
        return dict(saved.get("singer_state", {}).get("bookmarks", {}))

    def state_ids(self) -> list[str]:
        listed = self.meltano("state", "list")
        assert listed.returncode == 0, listed.failure()
        return sorted(line.strip() for line in listed.stdout.splitlines() if line.strip())


@dataclass
class Started:
    """A `meltano` command running in the background."""

    args: tuple[str, ...]
    process: subprocess.Popen[str]
    log: Path
    project: OrganizationsProject

    def wait(self, timeout: float = 600) -> RunResult:
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            raise
        output = self.log.read_text()
        self.project._log(self.args, output)
        return RunResult(returncode, output, "")

    def running(self) -> bool:
        return self.process.poll() is None
