"""Where target-pdi's own CPU goes: cProfile over a first sync and a re-sync, at zero latency.

Usage: .venv/bin/python bench/profile_target.py [--scenario S|M|L] [--top 25]

Starts both simulators (neither limited, no latency), captures the tap's output once, then runs
`target-pdi` on it: once without a profiler into an empty PDI, for its CPU seconds (user +
system) per PDI request; then, PDI emptied again, under cProfile twice: into an empty PDI (every
object created) and again with the id map kept (every record checked, nothing written). All on
one worker, so that all of it is in the profiled thread. Prints each profile's top functions by
own time, for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import SCENARIOS  # noqa: E402
from tests.e2e.harness import Simulator  # noqa: E402

BIN = REPO / ".venv" / "bin"


def capture_tap(mobilize: Simulator, work: Path) -> Path:
    config = work / "tap.json"
    config.write_text(
        json.dumps(
            {
                "api_url": f"{mobilize.url}/v1",
                "api_key": "sandbox-mobilize-key",
                "organization_id": 1,
                "max_requests_per_second": 0,
            }
        )
    )
    out = work / "tap.singer"
    with out.open("wb") as sink:
        subprocess.run(
            [
                BIN / "tap-mobilize",
                "--config",
                config,
                "--catalog",
                REPO / "tap-mobilize" / "catalog.json",
            ],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    return out


def target_env(pdi: Simulator, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MELTANO_PROJECT_ROOT": str(REPO),
        "TARGET_PDI_API_URL": pdi.url,
        "TARGET_PDI_USERNAME": "sandbox",
        "TARGET_PDI_PASSWORD": "sandbox-password",
        "TARGET_PDI_API_TOKEN": "sandbox-token",
        "TARGET_PDI_CALENDARS_FILE": "mappings/calendars.yml",
        "TARGET_PDI_FIELDS_FILE": "mappings/fields.yml",
        "TARGET_PDI_ID_MAP_URL": f"sqlite:///{work / 'idmap.sqlite'}",
        "TARGET_PDI_DEAD_LETTER_PATH": str(work / "dead_letters.jsonl"),
        # One worker: cProfile sees only the thread it runs in, and one worker does all the
        # work in the main thread (the CPU per request and per record is the same).
        "TARGET_PDI_MAX_CONCURRENCY": "1",
    }


def run_plain(pdi: Simulator, work: Path, messages: Path) -> tuple[float, int]:
    """The target's CPU seconds (user + system, no profiler) and its PDI requests."""
    before = pdi.admin("stats")["requests"]
    cpu_before = _children_cpu()
    with messages.open("rb") as stdin:
        subprocess.run(
            [BIN / "target-pdi", "--config", "ENV"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=target_env(pdi, work),
            cwd=REPO,
            check=True,
        )
    return _children_cpu() - cpu_before, pdi.admin("stats")["requests"] - before


def start_over(pdi: Simulator, work: Path) -> None:
    """An empty PDI and no id map or dead letters: the next run is a first sync again."""
    pdi.admin("reset", {})
    for name in ("idmap.sqlite", "dead_letters.jsonl"):
        (work / name).unlink(missing_ok=True)


def profile_target(pdi: Simulator, work: Path, messages: Path, name: str, top: int) -> None:
    env = target_env(pdi, work)
    stats = work / f"{name}.pstats"
    before = pdi.admin("stats")["requests"]
    started = time.perf_counter()
    with messages.open("rb") as stdin:
        subprocess.run(
            [sys.executable, "-m", "cProfile", "-o", stats, BIN / "target-pdi", "--config", "ENV"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            check=True,
        )
    wall = time.perf_counter() - started
    requests = pdi.admin("stats")["requests"] - before
    records = sum(1 for line in messages.open() if line.startswith('{"type":"RECORD"'))
    text = io.StringIO()
    profile = pstats.Stats(str(stats), stream=text)
    total = profile.total_tt  # type: ignore[attr-defined]
    profile.sort_stats("tottime").print_stats(top)
    print(f"## {name}: {records:,} records, {requests:,} PDI requests, {wall:.1f} s under cProfile")
    print(
        f"Time in the target's main thread under cProfile (its CPU and its waits for answers): "
        f"{total:.1f} s = {total / records * 1000:.2f} ms per record"
        + (f", {total / requests * 1000:.2f} ms per PDI request" if requests else "")
    )
    print("```")
    print("\n".join(text.getvalue().splitlines()[6 : 10 + top]))
    print("```")


def _children_cpu() -> float:
    """User and system CPU seconds of the children waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Runs target-pdi with tracemalloc on, and prints what Python held at its traced peak (a sampler
# thread snapshots each new high, 4 MiB apart) and at exit, by line, and the peak RSS.
MEMORY_WRAPPER = """
import atexit, resource, runpy, sys, threading, time, tracemalloc
tracemalloc.start(1)
highest = [0, None]
def sample():
    while True:
        time.sleep(0.25)
        current, _ = tracemalloc.get_traced_memory()
        if current > highest[0] + 4 * 2**20:
            highest[:] = [current, tracemalloc.take_snapshot()]
threading.Thread(target=sample, daemon=True).start()
def show(title, snapshot):
    print(title, file=sys.stderr)
    for stat in snapshot.statistics("lineno")[:TOP]:
        print(f"{stat.size / 2**20:8.2f} MiB {stat.count:9,} blocks  {stat.traceback}",
              file=sys.stderr)
def report():
    current, peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"traced by Python: {current / 2**20:.1f} MiB held at exit, {peak / 2**20:.1f} MiB peak; "
          f"peak RSS {rss:.0f} MiB", file=sys.stderr)
    if highest[1] is not None:
        show(f"-- at the highest sample, {highest[0] / 2**20:.1f} MiB traced:", highest[1])
    show("-- at exit:", tracemalloc.take_snapshot())
atexit.register(report)
sys.argv = ["target-pdi", "--config", "ENV"]
runpy.run_path(sys.argv_target, run_name="__main__")
"""


def memory_target(pdi: Simulator, work: Path, messages: Path, top: int) -> None:
    env = target_env(pdi, work)
    env["TARGET_PDI_MAX_CONCURRENCY"] = "32"  # as a run has it: memory is not per thread
    code = MEMORY_WRAPPER.replace("TOP", str(top)).replace(
        "sys.argv_target", repr(str(BIN / "target-pdi"))
    )
    with messages.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-c", code],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
        )
    lines = done.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("traced by")), len(lines))
    print("## first sync: what Python holds at its peak and at exit (tracemalloc)\n```")
    print("\n".join(lines[start:]))
    print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="S")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--memory", action="store_true", help="instead: what the target holds (tracemalloc)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"bench-profile-{args.scenario}-"))
    size = [f"--{k.replace('_', '-')}={v}" for k, v in SCENARIOS[args.scenario].items()]
    mobilize = Simulator(
        "sandbox.mobilize", ["--seed=1", *size, "--rate-limit=0"], work / "mobilize.log"
    ).start()
    pdi = Simulator("sandbox.pdi", ["--latency-ms=0", "--answers", "lenient"], work / "pdi.log")
    try:
        pdi.start()
        messages = capture_tap(mobilize, work)
        print(f"# target-pdi profile, scenario {args.scenario} ({messages})\n")
        if args.memory:
            memory_target(pdi, work, messages, args.top)
            return
        cpu, requests = run_plain(pdi, work, messages)
        print(
            f"## first sync without the profiler: {cpu:.1f} CPU s (user + system) of the target "
            f"process for {requests:,} PDI requests = {cpu / requests * 1000:.2f} ms per request\n",
            flush=True,
        )
        start_over(pdi, work)
        profile_target(pdi, work, messages, "first sync", args.top)
        profile_target(pdi, work, messages, "re-sync (id map kept)", args.top)
    finally:
        mobilize.stop()
        pdi.stop()


if __name__ == "__main__":
    main()
