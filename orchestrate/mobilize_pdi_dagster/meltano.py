"""The Meltano project as a Dagster resource: `meltano run` as a subprocess, its log streamed.

Plain subprocesses rather than dagster-meltano: that package's last release (2024) pins an
older Dagster and Meltano, and a sync needs nothing from it beyond `meltano run <job>`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml

# orchestrate/mobilize_pdi_dagster/meltano.py -> the project root.
DEFAULT_PROJECT_DIR = Path(__file__).resolve().parents[2]
# How long a sync may take to stop after SIGTERM (it finishes the requests in flight and saves
# its id map) before it is killed.
STOP_GRACE_SECONDS = 120
TAIL_LINES = 40


@dataclass
class MeltanoRun:
    returncode: int
    tail: list[str]  # the last lines of its output, for the failure's reason


class MeltanoProject(dg.ConfigurableResource):
    """Where the project is and how to call Meltano there. Empty fields take their defaults:
    MOBILIZE_PDI_PROJECT or else the project this package sits in; that project's
    `.venv/bin/meltano`; MELTANO_ENVIRONMENT or else the project's default_environment."""

    project_dir: str = ""
    meltano_executable: str = ""
    environment: str = ""

    @property
    def root(self) -> Path:
        chosen = self.project_dir or os.environ.get("MOBILIZE_PDI_PROJECT")
        return Path(chosen) if chosen else DEFAULT_PROJECT_DIR

    def executable(self) -> str:
        if self.meltano_executable:
            return self.meltano_executable
        bundled = self.root / ".venv" / "bin" / "meltano"
        return str(bundled) if bundled.exists() else (shutil.which("meltano") or "meltano")

    def resolved_environment(self) -> str:
        if self.environment or os.environ.get("MELTANO_ENVIRONMENT"):
            return self.environment or os.environ["MELTANO_ENVIRONMENT"]
        project = yaml.safe_load((self.root / "meltano.yml").read_text()) or {}
        return str(project.get("default_environment") or "")

    def _base(self) -> list[str]:
        environment = self.resolved_environment()
        return [self.executable(), *([f"--environment={environment}"] if environment else [])]

    def summary_path(self, loader: str) -> Path:
        """Where ``loader`` (a target-pdi plugin) writes its run summary, as Meltano resolves
        its settings (`config print` shows secrets redacted; only summary_path is read)."""
        done = subprocess.run(
            [*self._base(), "config", "print", loader, "--format=json"],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ["no output"]
            raise dg.Failure(
                description=f"meltano could not read the settings of {loader}: {lines[-1]}",
                metadata={"meltano output": dg.MetadataValue.text("\n".join(lines[-40:]))},
            )
        value = json.loads(done.stdout or "{}").get("summary_path")
        # Unset: target-pdi's own default (target_pdi/settings.py), in Meltano's system
        # directory, a folder per environment.
        sys_dir = Path(os.environ.get("MELTANO_SYS_DIR_ROOT") or ".meltano")
        environment = self.resolved_environment()
        path = Path(value) if value else sys_dir / "target-pdi" / environment / "summary.json"
        return path if path.is_absolute() else self.root / path

    def run(self, job: str, log: Callable[[str], None]) -> MeltanoRun:
        """`meltano run <job>`, each output line passed to ``log`` as it comes. The run leads a
        process group of its own: when Dagster stops the step, SIGTERM reaches Meltano, the tap
        and the target at once, and target-pdi stops cleanly (README, "When things go wrong")."""
        process = subprocess.Popen(
            [*self._base(), "run", job],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip()
                if line:
                    tail.append(line)
                    log(line)
            return MeltanoRun(process.wait(), list(tail))
        except BaseException:
            # Dagster interrupts a step it terminates: stop the sync too, never leave it running.
            _stop(process)
            raise


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
