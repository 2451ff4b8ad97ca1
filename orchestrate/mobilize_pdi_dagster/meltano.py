"""The Meltano project as a Dagster resource: `meltano run` and `meltano invoke` as
subprocesses, their log streamed.

Plain subprocesses rather than dagster-meltano: that package's last release (2024) pins an
older Dagster and Meltano, and a sync needs nothing from it beyond `meltano run <job>`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

# orchestrate/mobilize_pdi_dagster/meltano.py -> the project root.
DEFAULT_PROJECT_DIR = Path(__file__).resolve().parents[2]
# How long a sync may take to stop after SIGTERM (it finishes the requests in flight and saves
# its id map) before it is killed.
STOP_GRACE_SECONDS = 120
TAIL_LINES = 40
# target-pdi names its run summary after this variable (run_summary.py): the Dagster run id,
# so that the summary read back is known to be this run's.
RUN_ID_VARIABLE = "MOBILIZE_PDI_RUN_ID"
# A line a plugin logged, as Meltano shows it: `<time> [info     ] target-pdi--north ...`
# (Meltano's own lines name `meltano` there, even when they mention a plugin).
PLUGIN_LINE = re.compile(r"\]\s+(tap-mobilize|target-pdi)\S*\s")


class SettingsUnreadable(Exception):
    """Meltano could not give a plugin's settings: its last line says why."""

    def __init__(self, plugin: str, lines: list[str]) -> None:
        super().__init__(f"meltano could not read the settings of {plugin}: {lines[-1]}")
        self.lines = lines


@dataclass
class MeltanoRun:
    returncode: int
    tail: list[str]  # the last lines of its output, for the failure's reason
    # The last lines the plugins logged: what a person reads of a failed run (Meltano's own
    # last lines are then mostly its traceback).
    plugin_tail: list[str] = field(default_factory=list)


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

    def settings(self, plugins: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each plugin's settings as Meltano resolves them (`config print --format=json`:
        those set, in meltano.yml, its environment, `.env` or the environment; secrets
        redacted), the plugins read side by side. Raises SettingsUnreadable."""
        started = {
            plugin: subprocess.Popen(
                [*self._base(), "config", "print", plugin, "--format=json"],
                cwd=self.root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for plugin in dict.fromkeys(plugins)
        }
        found: dict[str, dict[str, Any]] = {}
        for plugin, process in started.items():
            out, err = process.communicate()
            if process.returncode != 0:
                raise SettingsUnreadable(plugin, err.strip().splitlines() or ["no output"])
            found[plugin] = json.loads(out or "{}")
        return found

    def setting_path(self, plugin: str, setting: str, default: str) -> Path:
        """A path setting of ``plugin`` as Meltano resolves it; ``default`` (the plugin's
        own) when unset."""
        try:
            value = self.settings([plugin])[plugin].get(setting)
        except SettingsUnreadable as exc:
            raise dg.Failure(
                description=str(exc),
                metadata={"meltano output": dg.MetadataValue.text("\n".join(exc.lines[-40:]))},
            ) from None
        path = Path(value or default)
        return path if path.is_absolute() else self.root / path

    def last_run(self, loader: str) -> dict[str, Any] | None:
        """The last run summary of ``loader`` (`meltano invoke <loader>:last-run`, wherever
        target-pdi keeps it), or None when there is none yet or it cannot be read."""
        done = subprocess.run(
            [*self._base(), "invoke", f"{loader}:last-run"],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0 or not lines:
            return None
        try:
            found = json.loads(lines[-1])
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    def run(self, job: str, log: Callable[[str], None], run_id: str = "") -> MeltanoRun:
        """`meltano run <job>`, each output line passed to ``log`` as it comes; ``run_id``
        names the run summary target-pdi writes."""
        return self._stream(["run", job], log, {RUN_ID_VARIABLE: run_id} if run_id else {})

    def invoke(self, command: str, log: Callable[[str], None]) -> MeltanoRun:
        """`meltano invoke <plugin:command>`, its output passed to ``log`` as it comes."""
        return self._stream(["invoke", command], log, {})

    def _stream(
        self, args: list[str], log: Callable[[str], None], env: dict[str, str]
    ) -> MeltanoRun:
        """The command leads a process group of its own: when Dagster stops the step, SIGTERM
        reaches Meltano, the tap and the target at once, and target-pdi stops cleanly
        (docs/operating.md, "When things go wrong")."""
        process = subprocess.Popen(
            [*self._base(), *args],
            cwd=self.root,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        plugin_tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip()
                if line:
                    tail.append(line)
                    if PLUGIN_LINE.search(line):
                        plugin_tail.append(line)
                    log(line)
            return MeltanoRun(process.wait(), list(tail), list(plugin_tail))
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
