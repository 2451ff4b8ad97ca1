"""Benchmark: a full tap-mobilize run against the Mobilize sandbox, then an incremental one.

    .venv/bin/python bench/tap_full_run.py --events 2000 --timeslots-per-event 3 \
        --people 20000 --attendances 60000 [--per-page 100] [--rps 10]

Starts the simulator as a real HTTP server (with its 15 requests/s limit), runs the tap
binary with a config file, counts RECORD messages per stream against the generator's
expected counts, and reports HTTP requests and wall time for both runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.dataset_size import add_size_arguments, size_flags  # noqa: E402
from sandbox.datagen.build import generate  # noqa: E402
from tests.e2e.harness import Simulator, http  # noqa: E402


def run_tap(config: Path, state: Path | None, out: Path) -> tuple[Counter[str], dict, float]:
    args = [str(REPO / ".venv" / "bin" / "tap-mobilize"), "--config", str(config)]
    if state is not None:
        args += ["--state", str(state)]
    started = time.perf_counter()
    with out.open("w") as sink:
        subprocess.run(args, stdout=sink, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - started
    records: Counter[str] = Counter()
    last_state: dict = {}
    with out.open() as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] == "RECORD":
                records[message["stream"]] += 1
            elif message["type"] == "STATE":
                last_state = message["value"]
    return records, last_state, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    add_size_arguments(parser)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--rps", type=float, default=10)
    args = parser.parse_args()

    spec, size = size_flags(args)
    expected = generate(spec).expected_counts()
    work = Path(tempfile.mkdtemp(prefix="bench-tap-"))
    sim = Simulator(
        "sandbox.mobilize",
        [*size, "--rate-limit", "15"],
        work / "mobilize.log",
    ).start()
    try:
        config = work / "config.json"
        config.write_text(
            json.dumps(
                {
                    "api_url": f"{sim.url}/v1",
                    "api_key": "sandbox-mobilize-key",
                    "organization_id": spec.org_id,
                    "per_page": args.per_page,
                    "max_requests_per_second": args.rps,
                }
            )
        )
        records, state, full_time = run_tap(config, None, work / "run1.jsonl")
        full_stats = http(f"{sim.url}/__admin/stats")
        http(f"{sim.url}/__admin/stats/reset", "POST", {})
        state_file = work / "state.json"
        state_file.write_text(json.dumps(state))
        records2, _, incr_time = run_tap(config, state_file, work / "run2.jsonl")
        incr_stats = http(f"{sim.url}/__admin/stats")
    finally:
        sim.stop()

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}"
    )
    print(f"dataset: {spec}")
    print("| stream | expected | emitted |\n|---|---|---|")
    for stream in sorted(set(expected) | set(records)):
        print(f"| {stream} | {expected.get(stream, '-')} | {records.get(stream, 0)} |")
    print(
        f"full run: {full_stats['requests']} HTTP requests, {full_time:.1f} s wall, "
        f"statuses {full_stats['statuses']}"
    )
    print(
        f"incremental run (no changes): {incr_stats['requests']} HTTP requests, "
        f"{incr_time:.1f} s wall, records {dict(records2)}"
    )
    print(f"by route (full run): {json.dumps(full_stats['by_route'], indent=1)}")


if __name__ == "__main__":
    main()
