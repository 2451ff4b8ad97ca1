"""A Dagster run that is stopped stops its sync: Meltano, the tap and the target get SIGTERM.

`dagster job execute` of a project whose `.venv/bin/meltano` is a stand-in that waits in `run`
and notes the SIGTERM it gets. Dagster turns an interrupt of a run (Ctrl-C here; the UI's
"Terminate" reaches the run worker the same way) into an exception inside the step, and the
step must pass it on to the sync's whole process group rather than leave the sync running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

DAGSTER = Path(sys.executable).parent / "dagster"
MODULE = "mobilize_pdi_dagster.definitions"

MELTANO_YML = """\
default_environment: dev
jobs:
- name: sync-x
  tasks:
  - tap-mobilize--x target-pdi--x
"""
STAND_IN = """\
#!{python}
import json, os, pathlib, signal, sys, time
root = pathlib.Path({root!r})
if "config" in sys.argv:
    print(json.dumps({{"summary_path": str(root / "summary.json")}}))
    sys.exit(0)
def stopped(signo, frame):
    (root / "got-sigterm").write_text("yes")
    sys.exit(1)
signal.signal(signal.SIGTERM, stopped)
(root / "sync-started").write_text(str(os.getpid()))
print("target-pdi--x | writing", flush=True)
time.sleep(120)
(root / "sync-finished").write_text("yes")
"""


def test_an_interrupted_run_stops_its_sync(tmp_path: Path) -> None:
    (tmp_path / "meltano.yml").write_text(MELTANO_YML)
    meltano = tmp_path / ".venv" / "bin" / "meltano"
    meltano.parent.mkdir(parents=True)
    meltano.write_text(STAND_IN.format(python=sys.executable, root=str(tmp_path)))
    meltano.chmod(meltano.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "MOBILIZE_PDI_PROJECT": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    env.pop("MELTANO_ENVIRONMENT", None)
    with (tmp_path / "dagster.log").open("w") as log:
        run = subprocess.Popen(
            [str(DAGSTER), "job", "execute", "-m", MODULE, "-j", "sync_x"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "sync-started").exists():
            assert run.poll() is None, (tmp_path / "dagster.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the sync never started"
            time.sleep(0.1)
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=120) != 0
    finally:
        if run.poll() is None:
            run.kill()
        left = tmp_path / "sync-started"
        if left.exists() and not (tmp_path / "got-sigterm").exists():
            # The stand-in outlived its run (the defect this test finds): end it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(left.read_text()), signal.SIGKILL)
    assert (tmp_path / "got-sigterm").exists(), (tmp_path / "dagster.log").read_text()[-3000:]
    assert not (tmp_path / "sync-finished").exists()
