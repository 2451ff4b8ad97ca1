"""The tap's CPU per record, and its output, for source trees side by side (issue 21).

    .venv/bin/python bench/tap_cpu.py --tree before=/tmp/base --tree after=. \\
        [--scenario M] [--runs 3] [--hostile] [--incremental]

Serves the scenario's dataset (bench/run.py's sizes, seed 1; ``--hostile``: made hostile by
tests/hostile_rows.py) from the Mobilize simulator in this process, on 127.0.0.1 with no
latency, no rate limit and its harsh answers. Then runs each tree's ``tap-mobilize`` against
it, a first sync (no state, the committed catalog; ``--incremental``: from the state a first
sync by the first tree ended with), ``--runs`` times, the trees alternating.
A tree is a checkout (or ``git archive``) holding ``tap-mobilize/`` and ``pacing/``: it runs
with this checkout's venv, its own ``tap_mobilize`` and ``pacing`` first on PYTHONPATH.

Per run: CPU seconds of the tap process (user + system, from ``wait4``), the records it
emitted, CPU ms per record, and the 1-minute load average when it ended. Then the first run's
output of every tree is compared with the first tree's: every stdout message byte for byte
once ``time_extracted`` and ``version`` (clock readings) are blanked, and every log line with
its timestamp cut off and the re-check window's bounds blanked (METRIC lines, which hold
timings, aside). Exits 1 if any differs, keeping the outputs (``--keep``: always).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import SCENARIOS  # noqa: E402
from sandbox.datagen.build import generate  # noqa: E402
from sandbox.datagen.dataset import DatasetSpec  # noqa: E402
from sandbox.mobilize.app import MobilizeApp  # noqa: E402
from sandbox.server.http_server import make_server  # noqa: E402
from tests.hostile_rows import garble  # noqa: E402

KEY = "sandbox-mobilize-key"
TAP = "import sys; from tap_mobilize.tap import TapMobilize; sys.exit(TapMobilize.cli())"
CLOCK_READINGS = re.compile(rb'"(time_extracted|version)": ?("[^"]*"|[0-9]+)')
LOG_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T][0-9:.,]+\s*")
LOG_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # the re-check window's bounds


@dataclass
class Run:
    tree: str
    cpu: float
    records: int
    load: float
    stdout: Path
    stderr: Path


def run_tap(name: str, tree: Path, config: Path, out: Path, state: Path | None = None) -> Run:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'tap-mobilize'}{os.pathsep}{tree / 'pacing'}"}
    env = {k: v for k, v in env.items() if not k.startswith("TAP_MOBILIZE_")}
    stdout, stderr = out.with_suffix(".out"), out.with_suffix(".err")
    with stdout.open("wb") as o, stderr.open("wb") as e:
        process = subprocess.Popen(
            [sys.executable, "-c", TAP, "--config", str(config)]
            + ["--catalog", str(tree / "tap-mobilize" / "catalog.json")]
            + (["--state", str(state)] if state else []),
            env=env,
            stdout=o,
            stderr=e,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{name}: tap-mobilize exited {process.returncode}; see {stderr}")
    with stdout.open("rb") as lines:
        records = sum(
            1 for line in lines if line.startswith((b'{"type":"RECORD"', b'{"type": "RECORD"'))
        )
    return Run(name, usage.ru_utime + usage.ru_stime, records, os.getloadavg()[0], stdout, stderr)


def final_state(run: Run) -> str:
    with run.stdout.open("rb") as lines:
        states = [json.loads(line)["value"] for line in lines if b'"type":"STATE"' in line]
    return json.dumps(states[-1])


def messages(path: Path) -> list[bytes]:
    with path.open("rb") as lines:
        return [CLOCK_READINGS.sub(rb'"\1": _', line) for line in lines]


def log_lines(path: Path) -> list[str]:
    text = path.read_text(errors="replace").splitlines()
    return [
        LOG_MOMENT.sub("_", LOG_TIMESTAMP.sub("", line)) for line in text if "METRIC" not in line
    ]


def first_difference(ours: list[bytes] | list[str], theirs: list[bytes] | list[str]) -> str | None:
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"line {index + 1}:\n  {a[:400]!r}\n  {b[:400]!r}"
    if len(ours) != len(theirs):
        return f"{len(ours)} lines against {len(theirs)}"
    return None


def compare(first: Run, other: Run) -> bool:
    checks: list[tuple[str, list[bytes] | list[str], list[bytes] | list[str]]] = [
        ("messages", messages(first.stdout), messages(other.stdout)),
        ("log lines", log_lines(first.stderr), log_lines(other.stderr)),
    ]
    same = True
    for what, ours, theirs in checks:
        difference = first_difference(ours, theirs)
        verdict = "identical" if difference is None else f"DIFFER at {difference}"
        print(f"- {other.tree} against {first.tree}: {len(ours):,} {what} {verdict}")
        same = same and difference is None
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH, repeatable")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="M")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hostile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the runs' outputs")
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="time runs from the state of a first sync (by the first tree), not first syncs",
    )
    args = parser.parse_args()
    trees = [(n, Path(p).resolve()) for n, p in (t.split("=", 1) for t in args.tree)]

    dataset = generate(DatasetSpec(seed=1, **SCENARIOS[args.scenario]))
    server = make_server(MobilizeApp(dataset, api_key=KEY)).start_in_thread()
    if args.hostile:
        garble(dataset)
    work = Path(tempfile.mkdtemp(prefix="tap-cpu-"))
    config = work / "tap.json"
    settings = {"api_url": f"{server.url}/v1", "api_key": KEY, "organization_id": 1}
    config.write_text(json.dumps({**settings, "max_requests_per_second": 0}))
    title = f"scenario {args.scenario}{' (hostile)' if args.hostile else ''}"
    state = None
    if args.incremental:
        state = work / "state.json"
        state.write_text(final_state(run_tap("state", trees[0][1], config, work / "state")))
    kind = "incremental run" if state else "first sync"
    print(f"## tap-mobilize over {title}, {kind}, {args.runs} run(s) per tree\n")
    print("| run | tree | tap CPU s | records | CPU ms/record | 1-min load |")
    print("|---|---|---|---|---|---|")
    runs: list[Run] = []
    try:
        for index in range(args.runs):
            for name, tree in trees:
                run = run_tap(name, tree, config, work / f"{name}-{index}", state)
                runs.append(run)
                per_record = 1000 * run.cpu / max(run.records, 1)
                print(
                    f"| {index + 1} | {name} | {run.cpu:.2f} | {run.records:,} "
                    f"| {per_record:.3f} | {run.load:.2f} |",
                    flush=True,
                )
    finally:
        server.stop()
    print()
    for name, _ in trees:
        cpus = sorted(r.cpu for r in runs if r.tree == name)
        print(f"- {name}: median {cpus[len(cpus) // 2]:.2f} CPU s (min {cpus[0]:.2f})")
    first_runs = runs[: len(trees)]
    same = all([compare(first_runs[0], other) for other in first_runs[1:]])
    if same and not args.keep:
        shutil.rmtree(work)  # M's outputs are 200 MB a run
    else:
        print(f"\noutputs in {work}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
