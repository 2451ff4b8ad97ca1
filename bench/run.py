"""Benchmark of issue 10: the sync side by side with a hand-written loader.

    .venv/bin/python bench/run.py --scenario S|M|L [--latency-ms 50] [--pdi-rate-limit 20]
        [--baseline | --baseline-sample N] [--first-only] [--resync] [--write-results]

Starts both simulators on 127.0.0.1 with the scenario's generated dataset, then:

1. (--baseline / --baseline-sample N) bench/baseline.py, serial and stateless, against a
   PDI simulator of its own with the same latency and rate limit: wall time and requests,
   measured in full, or on the first N signups and extrapolated to the whole scenario.
2. The real `meltano run tap-mobilize target-pdi` (dev environment) in a temporary Meltano
   system dir, with its own state, id map and dead letters: the first sync into empty PDI.
3. The same again: a no-op re-run; and one with the env of meltano.yml's five-minute schedule
   (a narrower re-check window).
4. A re-run after changing --change-percent (1) % of the events, people and signups in the
   Mobilize simulator (admin mutations: titles, family names, signup statuses, new signups).

Per run: wall time, records the tap emitted and records/s, Mobilize and PDI requests by route
and status (simulator stats, reset before each run), PDI writes, objects created and PDI
requests per created object by endpoint, peak RSS (VmHWM from /proc) of meltano, the tap and
the target, and CPU seconds of every process (/proc). --resync adds a last run with Meltano's
state cleared and the id map kept (the pipeline's own throughput). Raw figures go to
bench/out/issue10-<scenario>-<latency>ms[-rl<rate>].json;
--write-results (re)writes the issue 10 section of bench/RESULTS.md from every such file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ruamel.yaml import YAML  # noqa: E402

from tests.e2e.harness import MELTANO, Project, Simulator  # noqa: E402

OUT = REPO / "bench" / "out"
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION = "## Side by side with a hand-written loader (issue 10)"
SCENARIOS: dict[str, dict[str, int]] = {
    "S": {"events": 40, "timeslots_per_event": 3, "people": 400, "attendances": 1200},
    "M": {"events": 1000, "timeslots_per_event": 3, "people": 10000, "attendances": 30000},
    "L": {"events": 3000, "timeslots_per_event": 3, "people": 30000, "attendances": 90000},
}
KINDS = ("locations", "events", "contacts", "invitations")
# PDI route -> the created objects it is counted against (requests per created object).
PER_OBJECT = {
    "POST /locations": "locations",
    "POST /calendars/{id}/events": "events",
    "GET /contacts": "contacts",
    "POST /contacts": "contacts",
    "POST /contacts/{id}/phones": "phones",
    "POST /events/{id}/invitations": "invitations",
}
OBJECT_POSTS = (
    "POST /locations",
    "POST /calendars/{id}/events",
    "POST /contacts",
    "POST /events/{id}/invitations",
)
RECHECK_ROUTE = "GET /v1/organizations/{org}/events/{id}/attendances"
METRIC = re.compile(r"(tap-mobilize|target-pdi)\s+METRIC: (\{.*\})\s*$")
SUMMARY = re.compile(r"target-pdi\s+Summary: (.*)$")
OWN = re.compile(r"([0-9.]+) s,")  # the target summary's first line: "229.6 s, N PDI requests"


# --------------------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


def _role(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [Path(a.decode(errors="replace")).name for a in f.read().split(b"\0") if a]
    except OSError:
        return None
    for name in ("tap-mobilize", "target-pdi"):
        if name in argv:
            return name
    return None


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss(threading.Thread):
    """Samples VmHWM (peak RSS) and CPU time of a process and its descendants, by role, until
    stopped (a process's CPU time is its last sample before it exited)."""

    def __init__(self, root: int, root_role: str) -> None:
        super().__init__(daemon=True)
        self.root, self.root_role = root, root_role
        self.peaks: dict[str, int] = {}
        self.cpu: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            stack, seen = [self.root], set()
            while stack:
                pid = stack.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                stack += _children(pid)
                role = self.root_role if pid == self.root else _role(pid)
                if role:
                    self.peaks[role] = max(self.peaks.get(role, 0), _hwm_kib(pid))
                    if cpu := cpu_seconds(pid):
                        self.cpu[pid] = (role, cpu)
            self.done.wait(0.05)

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            out[role] = round(out.get(role, 0.0) + seconds, 1)
        return out

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.join()
        return {role: round(kib / 1024, 1) for role, kib in self.peaks.items()}


# --------------------------------------------------------------------------- the sync


class BenchProject(Project):
    """The e2e harness's isolated project, with the target's own batch size and pace, and the
    bench's settings (the harness makes small batches and sets a ceiling for tests)."""

    settings: dict[str, str]

    def env(self) -> dict[str, str]:
        env = super().env()
        env.pop("TARGET_PDI_BATCH_SIZE_ROWS", None)
        env.pop("TARGET_PDI_MAX_REQUESTS_PER_SECOND", None)
        # The bench counts records from the SDK's METRIC lines, which meltano.yml hides.
        env["SINGER_LOGGING"] = "-metrics"
        env.update(self.settings)
        return env


def pdi_counts(pdi: Simulator) -> dict[str, int]:
    state = pdi.admin("state")
    counts = {kind: len(state[kind]) for kind in KINDS}
    counts["phones"] = sum(len(c.get("phones") or []) for c in state["contacts"])
    return counts


def reset_stats(*sims: Simulator) -> None:
    for sim in sims:
        sim.admin("stats/reset", {})


def five_minute_env() -> dict[str, str]:
    """The env meltano.yml's five-minute schedule sets on its runs."""
    meltano_yml = YAML(typ="safe").load((REPO / "meltano.yml").read_text())
    for schedule in meltano_yml.get("schedules", []):
        if schedule["name"] == FIVE_MINUTE_SCHEDULE:
            return {k: str(v) for k, v in (schedule.get("env") or {}).items()}
    raise KeyError(FIVE_MINUTE_SCHEDULE)


def sync(project: BenchProject, name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    reset_stats(project.mobilize, project.pdi)
    before = pdi_counts(project.pdi)
    log = project.workdir / f"{name}.log"
    load = os.getloadavg()[0]
    sims = {"mobilize sim": project.mobilize, "pdi sim": project.pdi}
    sim_pid = {role: sim.process.pid for role, sim in sims.items() if sim.process}
    sim_cpu = {role: cpu_seconds(pid) for role, pid in sim_pid.items()}
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [MELTANO, "run", "tap-mobilize", "target-pdi"],
            cwd=REPO,
            env={**project.env(), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        sampler = PeakRss(proc.pid, "meltano")
        sampler.start()
        returncode = proc.wait()
    wall = time.perf_counter() - started
    peaks = sampler.stop()
    cpu = sampler.cpu_by_role()
    cpu.update({role: round(cpu_seconds(pid) - sim_cpu[role], 1) for role, pid in sim_pid.items()})
    after = pdi_counts(project.pdi)
    tap_records: Counter[str] = Counter()
    target_records: Counter[str] = Counter()
    summary: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        if match := METRIC.search(line):
            metric = json.loads(match.group(2))
            if metric.get("metric") == "record_count":
                side = tap_records if match.group(1) == "tap-mobilize" else target_records
                side[metric["tags"]["stream"]] += int(metric["value"])
        elif match := SUMMARY.search(line):
            summary.append(match.group(1))
    records = sum(tap_records.values())
    own = next((m for line in summary if (m := OWN.match(line))), None)
    return {
        "run": name,
        "returncode": returncode,
        "wall_s": round(wall, 2),
        "load_avg_1min_at_start": load,
        "records_emitted": records,
        "records_by_stream": dict(tap_records),
        "target_records": dict(target_records),
        "records_per_s": round(records / wall, 1),
        "mobilize": project.mobilize.admin("stats"),
        "pdi": project.pdi.admin("stats"),
        "created": {k: after[k] - before[k] for k in after},
        "pdi_objects_after": after,
        "peak_rss_mib": peaks,
        "cpu_s": cpu,
        "target_summary": summary,
        "target_own_s": float(own.group(1)) if own else None,
        "log": str(log),
    }


# --------------------------------------------------------------------------- the 1% change


def change(mobilize: Simulator, percent: float, seed: int) -> dict[str, int]:
    """Change `percent` % of the events (title), people (family name) and signups (half a
    status change, half new signups) through the simulator's admin mutations."""
    data = mobilize.admin("dataset?compact=1")
    rng = random.Random(seed)

    def share(rows: list[Any]) -> list[Any]:
        return rng.sample(rows, max(1, round(len(rows) * percent / 100))) if rows else []

    events = [e for e in data["events"] if e["approval_status"] == "APPROVED" and e["timeslots"]]
    people = [p for p in data["people"] if p["email_addresses"]]
    signups = [a for a in data["attendances"] if a.get("id")]
    changed_events = share(events)
    for event in changed_events:
        title = f"{event['title']} (changed)"
        mutate(mobilize, "update_event", id=event["id"], fields={"title": title})
    changed_people = share(people)
    for person in changed_people:
        family = f"{person['family_name']}-Changed"
        mutate(mobilize, "update_person", id=person["id"], fields={"family_name": family})
    picked = share(signups)
    flips = picked[: len(picked) - len(picked) // 2]
    for signup in flips:
        status = "CONFIRMED" if signup["status"] != "CONFIRMED" else "REGISTERED"
        mutate(mobilize, "update_attendance", id=signup["id"], status=status)
    taken = {(_ref(a["person"]), _ref(a["timeslot"])) for a in signups}
    added = 0
    while added < len(picked) // 2:
        event, person = rng.choice(events), rng.choice(people)
        slot = rng.choice(event["timeslots"])
        if (person["id"], slot["id"]) in taken:
            continue
        taken.add((person["id"], slot["id"]))
        ids = {"person_id": person["id"], "event_id": event["id"], "timeslot_id": slot["id"]}
        mutate(mobilize, "add_attendance", **ids)
        added += 1
    return {
        "events": len(changed_events),
        "people": len(changed_people),
        "signup_status_changes": len(flips),
        "new_signups": added,
    }


def mutate(mobilize: Simulator, op: str, **fields: Any) -> None:
    mobilize.admin("mutate", {"op": op, **fields})


def _ref(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


# --------------------------------------------------------------------------- the baseline


def baseline(
    mobilize: Simulator, pdi_args: list[str], work: Path, sample: int | None
) -> dict[str, Any]:
    pdi = Simulator("sandbox.pdi", pdi_args, work / "baseline-pdi.log").start()
    try:
        runs = []
        for attempt in ("first", "rerun") if sample is None else ("first",):
            reset_stats(mobilize, pdi)
            command = [sys.executable, str(REPO / "bench" / "baseline.py")]
            command += ["--mobilize", f"{mobilize.url}/v1", "--pdi", pdi.url]
            command += ["--sample", str(sample)] if sample is not None else []
            started = time.perf_counter()
            proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
            sampler = PeakRss(proc.pid, "baseline")
            sampler.start()
            out, _ = proc.communicate()
            wall = time.perf_counter() - started
            if proc.returncode != 0:
                raise RuntimeError(f"baseline failed ({proc.returncode})")
            result = json.loads(out.strip().splitlines()[-1])
            stats = pdi.admin("stats")
            run = {
                "run": attempt,
                "wall_s": round(wall, 2),
                **result,
                "mobilize": mobilize.admin("stats"),
                "pdi": stats,
                "peak_rss_mib": sampler.stop(),
            }
            planned = sum(result["plan"].values())
            made = stats["requests"]
            if sample is not None and made:
                per_request = result["load_s"] / made
                objects = sum(stats["writes_by_route"].get(route, 0) for route in OBJECT_POSTS)
                run["extrapolated"] = {
                    "measured_pdi_requests": made,
                    "measured_objects": objects,
                    "per_request_s": round(per_request, 5),
                    "per_object_s": round(result["load_s"] / objects, 5) if objects else None,
                    "planned_pdi_requests": planned,
                    "wall_s": round(wall - result["load_s"] + planned * per_request, 1),
                }
            runs.append(run)
        return {"sample": sample, "runs": runs}
    finally:
        pdi.stop()


# --------------------------------------------------------------------------- main


def machine() -> str:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    sdk = sorted(
        (REPO / ".meltano" / "loaders" / "target-pdi").glob(
            "venv/lib/*/site-packages/singer_sdk-*.dist-info"
        )
    )
    sdk_version = (
        sdk[-1].name.removeprefix("singer_sdk-").removesuffix(".dist-info") if sdk else "?"
    )
    from importlib.metadata import version

    return (
        f"{model}, {os.cpu_count()} cores, {round(mem_kib / 1024**2)} GiB, "
        f"{platform.system()} {platform.machine()}, CPython {platform.python_version()}, "
        f"singer-sdk {sdk_version}, Meltano {version('meltano')}; simulators on 127.0.0.1"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="S")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=50, help="PDI latency")
    parser.add_argument("--pdi-rate-limit", type=float, help="PDI requests/s (429 above)")
    parser.add_argument("--pdi-retry-after", type=int, help="Retry-After of PDI's 429s")
    parser.add_argument("--mobilize-latency-ms", type=float, default=0)
    parser.add_argument(
        "--mobilize-rate-limit", type=float, default=15, help="Mobilize's own limit (0: none)"
    )
    parser.add_argument(
        "--pdi-answers",
        default="lenient",
        help="PDI simulator's answers (lenient: the email search filters by email, as the "
        "floor of requests per object assumes)",
    )
    parser.add_argument("--mobilize-answers", default="harsh")
    parser.add_argument("--change-percent", type=float, default=1)
    parser.add_argument("--first-only", action="store_true", help="no re-runs")
    parser.add_argument(
        "--resync",
        action="store_true",
        help="last, a run with Meltano's state cleared and the id map kept: every record "
        "flows through again and PDI is already right (the pipeline's own throughput)",
    )
    parser.add_argument("--baseline", action="store_true", help="the baseline in full")
    parser.add_argument("--baseline-sample", type=int, metavar="N", help="baseline on N signups")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ENV=VALUE",
        help="a plugin setting, e.g. TARGET_PDI_MAX_CONCURRENCY=16 (repeatable)",
    )
    parser.add_argument("--note", default="", help="a line for RESULTS.md (e.g. machine busy)")
    parser.add_argument(
        "--tag", default="", help="appended to the label: a run kept apart from the main ones"
    )
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--results-only", action="store_true", help="only rewrite RESULTS.md")
    args = parser.parse_args()
    if args.results_only:
        write_results()
        return

    size = SCENARIOS[args.scenario]
    label = f"{args.scenario}-{args.latency_ms:g}ms" + (
        f"-rl{args.pdi_rate_limit:g}" if args.pdi_rate_limit else ""
    )
    label += f"-{args.tag}" if args.tag else ""
    work = Path(tempfile.mkdtemp(prefix=f"bench-issue10-{label}-"))
    mobilize_args = [f"--seed={args.seed}"]
    mobilize_args += [f"--{k.replace('_', '-')}={v}" for k, v in size.items()]
    mobilize_args += [
        f"--rate-limit={args.mobilize_rate_limit:g}",
        "--answers",
        args.mobilize_answers,
    ]
    mobilize_args += [f"--latency-ms={args.mobilize_latency_ms:g}"]
    pdi_args = [f"--latency-ms={args.latency_ms:g}", "--answers", args.pdi_answers]
    if args.pdi_rate_limit:
        pdi_args.append(f"--rate-limit={args.pdi_rate_limit:g}")
    if args.pdi_retry_after is not None:
        pdi_args.append(f"--retry-after={args.pdi_retry_after}")
    # The target's defaults unless --set says otherwise: it is told nothing of PDI's limit and
    # must find it (requests in flight from PDI's answer times, the rate from its 429s).
    settings = dict(item.split("=", 1) for item in args.set)

    report: dict[str, Any] = {
        "label": label,
        "scenario": args.scenario,
        "size": size,
        "command": " ".join(["bench/run.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "pdi_latency_ms": args.latency_ms,
        "pdi_rate_limit": args.pdi_rate_limit,
        "mobilize_rate_limit": args.mobilize_rate_limit,
        "answers": {"pdi": args.pdi_answers, "mobilize": args.mobilize_answers},
        "settings": settings,
        "workdir": str(work),
        "note": args.note,
        "runs": [],
    }
    mobilize = Simulator("sandbox.mobilize", mobilize_args, work / "mobilize.log").start()
    pdi: Simulator | None = None
    try:
        report["mobilize_counts"] = mobilize.admin("counts")
        if args.baseline or args.baseline_sample:
            print(f"[{label}] baseline ...", flush=True)
            sample = None if args.baseline else args.baseline_sample
            report["baseline"] = baseline(mobilize, pdi_args, work, sample)
        pdi = Simulator("sandbox.pdi", pdi_args, work / "pdi.log").start()
        project = BenchProject(work / "project", mobilize, pdi)
        project.workdir.mkdir()
        project.settings = settings
        quick = five_minute_env()
        steps: list[tuple[str, int | None, dict[str, str]]] = [
            ("first", None, {}),
            ("noop", None, {}),
            ("noop-5min", None, quick),
            ("change", args.change_percent, {}),
        ]
        for name, percent, env in steps[:1] if args.first_only else steps:
            if percent is not None:
                report["changed"] = change(mobilize, percent, args.seed)
            print(f"[{label}] sync: {name} ...", flush=True)
            run = sync(project, name, env)
            run["env"] = env
            report["runs"].append(run)
            print(
                f"[{label}] {name}: {run['wall_s']} s, {run['records_emitted']} records, "
                f"{run['pdi']['requests']} PDI requests, {run['pdi'].get('writes')} writes, "
                f"rc {run['returncode']}",
                flush=True,
            )
        if args.resync:
            project.meltano("state", "clear", "--force", STATE_ID)
            print(f"[{label}] sync: resync (state cleared, id map kept) ...", flush=True)
            run = sync(project, "resync")
            report["runs"].append(run)
            print(f"[{label}] resync: {run['wall_s']} s, {run['records_emitted']} records")
    finally:
        mobilize.stop()
        if pdi is not None:
            pdi.stop()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"issue10-{label}.json"
    path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
    if args.write_results:
        write_results()


# --------------------------------------------------------------------------- RESULTS.md

MOBILIZE_PREFIX = "GET /v1/organizations/{org}"
FIVE_MINUTE_SCHEDULE = "sync-every-five-minutes"
# The state id of `meltano run tap-mobilize target-pdi` in the dev environment.
STATE_ID = "dev:tap-mobilize-to-target-pdi"


PDI_ID = re.compile(r"/[A-Za-z0-9+]{20,}={0,2}(?=/|$)")


def _routes(stats: dict[str, Any], prefix: str = "") -> str:
    """`route count, ...` (busiest first), then the statuses. Requests refused before routing
    (429s) are counted by path: their ids become {id}."""
    merged: Counter[str] = Counter()
    for route, n in stats.get("by_route", {}).items():
        merged[PDI_ID.sub("/{id}", route)] += n
    routes = sorted(merged.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{route.removeprefix(prefix) or '/'} {n:,}" for route, n in routes)
    statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(stats.get("statuses", {}).items()))
    return f"{text} (status {statuses})" if text else "none"


def _floor(run: dict[str, Any]) -> int:
    """One request per object, one email search per new contact, one phone per contact with
    one, plus the login and the calendar list."""
    created = run["created"]
    return sum(created[k] for k in KINDS) + created["contacts"] + created["phones"] + 2


def _failed(stats: dict[str, Any]) -> int:
    statuses = stats.get("statuses", {})
    return sum(n for s, n in statuses.items() if s != "429" and not s.startswith("2"))


def _target_peak(report: dict[str, Any]) -> float:
    return max(float(r["peak_rss_mib"].get("target-pdi", 0)) for r in report["runs"])


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**yes**" if ok else "**no**")


def _title(report: dict[str, Any]) -> str:
    size = report["size"]
    timeslots = size["events"] * size["timeslots_per_event"]
    limit = report["pdi_rate_limit"]
    return (
        f"### Scenario {report['scenario']}: {size['events']:,} events, {timeslots:,} "
        f"timeslots, {size['people']:,} people, {size['attendances']:,} signups; PDI latency "
        f"{report['pdi_latency_ms']:g} ms" + (f", PDI limited to {limit:g}/s" if limit else "")
    )


def _baseline_rows(base: dict[str, Any]) -> list[str]:
    rows = []
    for run in base["runs"]:
        wall = f"{run['wall_s']:.1f} s"
        if extra := run.get("extrapolated"):
            wall = (
                f"**{extra['wall_s']:,.0f} s extrapolated** ({wall} measured: all reads, PDI "
                f"writes of the first {base['sample']:,} signups)"
            )
        pdi = run["pdi"]
        rows.append(
            f"| baseline {run['run']} | {wall} | - | - "
            f"| {run['mobilize']['requests']:,}: {_routes(run['mobilize'], MOBILIZE_PREFIX)} "
            f"| {pdi['requests']:,}: {_routes(pdi)} | {pdi.get('writes', 0):,} "
            f"| {run['peak_rss_mib'].get('baseline', '?')} (one process) |"
        )
    return rows


def _own_s(run: dict[str, Any]) -> float | None:
    """The target's own time (its summary), Meltano's and the plugins' start left out."""
    own = run.get("target_own_s")
    if own is None:  # files written before target_own_s was kept
        own = next((float(m.group(1)) for x in run["target_summary"] if (m := OWN.match(x))), None)
    return own


def _sync_row(run: dict[str, Any]) -> str:
    pdi, rss = run["pdi"], run["peak_rss_mib"]
    name = run["run"] + ("" if run["returncode"] == 0 else f" (FAILED, rc {run['returncode']})")
    own = _own_s(run)
    wall = f"{run['wall_s']:.1f} s" + (f" (target {own:.1f} s)" if own is not None else "")
    peaks = "/".join(str(rss.get(k, "?")) for k in ("meltano", "tap-mobilize", "target-pdi"))
    return (
        f"| sync {name} | {wall} | {run['records_emitted']:,} | {run['records_per_s']:,.0f} "
        f"| {run['mobilize']['requests']:,}: {_routes(run['mobilize'], MOBILIZE_PREFIX)} "
        f"| {pdi['requests']:,}: {_routes(pdi)} | {pdi.get('writes', 0):,} | {peaks} |"
    )


def _per_object(first: dict[str, Any]) -> list[str]:
    lines = [
        "PDI requests per created object, first sync (floor: one per object, plus one email "
        "search per new contact and one phone per contact with a phone):",
        "",
        "| route | requests | created | per object | floor |",
        "|---|---|---|---|---|",
    ]
    by_route = first["pdi"]["by_route"]
    for route, kind in PER_OBJECT.items():
        n, made = by_route.get(route, 0), first["created"][kind]
        ratio = f"{n / made:.2f}" if made else "-"
        lines.append(f"| {route} | {n:,} | {made:,} {kind} | {ratio} | 1.00 |")
    rest = {r: n for r, n in by_route.items() if r not in PER_OBJECT}
    names = ", ".join(f"{r} {n}" for r, n in sorted(rest.items()))
    lines.append(f"| other: {names} | {sum(rest.values())} | | | 2 (login, calendars) |")
    return lines


def goals(report: dict[str, Any], others: dict[str, dict[str, Any]]) -> list[str]:
    runs = {r["run"]: r for r in report["runs"]}
    first, noop, changed = runs.get("first"), runs.get("noop"), runs.get("change")
    scenario = report["scenario"]
    rows: list[tuple[str, str, bool | None]] = []

    goal = "first sync at least 15x faster than the baseline (stated for M at 50 ms)"
    base = (report.get("baseline") or {}).get("runs")
    if first and base:
        extra = base[0].get("extrapolated")
        bwall = extra["wall_s"] if extra else base[0]["wall_s"]
        ratio = bwall / first["wall_s"]
        how = "extrapolated" if extra else "measured"
        figure = f"{ratio:.1f}x: baseline {bwall:,.1f} s ({how}) / sync {first['wall_s']:.1f} s"
        # The goal is M's; a smaller scenario spends a larger share in Meltano's start.
        rows.append((goal, figure, ratio >= 15 if scenario == "M" else None))
    else:
        rows.append((goal, "no baseline in this run (--baseline or --baseline-sample N)", None))

    goal = "PDI limited to 20/s: wall within 1.2x (requests needed / 20), zero failed requests"
    limited = others.get(f"{scenario}-{report['pdi_latency_ms']:g}ms-rl20")
    if limited and limited["runs"]:
        run = limited["runs"][0]
        throttled = run["pdi"]["statuses"].get("429", 0)
        needed = run["pdi"]["requests"] - throttled
        bound, failed = needed / 20, _failed(run["pdi"])
        figure = (
            f"{run['wall_s']:.1f} s = {run['wall_s'] / bound:.2f}x the bound {bound:.1f} s "
            f"({needed:,} requests answered; {throttled:,} 429s; {failed} failed)"
        )
        rows.append((goal, figure, run["wall_s"] <= 1.2 * bound and failed == 0))
    else:
        command = f"bench/run.py --scenario {scenario} --pdi-rate-limit 20 --first-only"
        rows.append((goal, f"not run: `{command}`", None))

    if first:
        floor, made = _floor(first), first["pdi"]["requests"]
        at_floor = all(
            first["pdi"]["by_route"].get(route, 0) <= first["created"][kind]
            for route, kind in PER_OBJECT.items()
        )
        figure = (
            f"{made:,} PDI requests for a floor of {floor:,} ({made / floor:.3f}x); every "
            f"per-object route {'at' if at_floor else 'NOT at'} 1.00, plus {made - floor} "
            f"reads once per run (the location list, event-range reads for recovery)"
        )
        rows.append(("PDI requests per created object at the floor", figure, at_floor))

    if noop:
        by_route = noop["mobilize"]["by_route"]
        recheck = by_route.get(RECHECK_ROUTE, 0)
        lists = {r: n for r, n in by_route.items() if r != RECHECK_ROUTE}
        # One request per stream; the re-check window adds one events list request.
        one_each = all(n <= (2 if r.endswith("/events") else 1) for r, n in lists.items())
        writes = noop["pdi"].get("writes", 0)
        figure = (
            f"{noop['wall_s']:.1f} s; PDI writes {writes}; Mobilize requests "
            f"{noop['mobilize']['requests']} ({sum(lists.values())} list pages for "
            f"{len(lists)} routes, {recheck} re-check)"
        )
        goal = "no-op re-run: 0 PDI writes, 1 Mobilize request per stream + re-check, under 10 s"
        rows.append((goal, figure, writes == 0 and one_each and noop["wall_s"] < 10))

    if quick := runs.get("noop-5min"):
        per_day = 24 * 60 // 5
        figure = (
            f"no-op run {quick['wall_s']:.1f} s, {quick['mobilize']['requests']} Mobilize "
            f"requests ({quick['mobilize']['by_route'].get(RECHECK_ROUTE, 0)} re-check), "
            f"{quick['pdi']['requests']} PDI requests, {quick['pdi'].get('writes', 0)} writes: "
            f"{per_day * quick['mobilize']['requests']:,} Mobilize and "
            f"{per_day * quick['pdi']['requests']:,} PDI requests a day at {per_day} runs, plus "
            f"what changed (env {quick.get('env')})"
        )
        rows.append(("five-minute schedule: cost of a day of no-op runs", figure, None))

    if changed and first and noop:
        share = changed["pdi"]["requests"] / max(first["pdi"]["requests"], 1)
        figure = (
            f"PDI requests {changed['pdi']['requests']:,} = {share:.1%} of the first sync's, "
            f"writes {changed['pdi'].get('writes', 0):,}; wall {changed['wall_s']:.1f} s "
            f"(no-op {noop['wall_s']:.1f} s, first {first['wall_s']:.1f} s)"
        )
        goal = "re-run after 1% changed: proportional (here: PDI requests <= 2% of the first's)"
        rows.append((goal, figure, share <= 0.02))

    if first:
        peak = _target_peak(report)
        figure, ok = f"target {peak:.0f} MiB", peak < 200
        # A first sync of M with the same code as L's (--tag mem) when the full M run is older.
        m = others.get("M-50ms-mem") or others.get("M-50ms")
        if m and (big := others.get("L-50ms")):
            figure += (
                f"; L {_target_peak(big):.0f} MiB / M {_target_peak(m):.0f} MiB = "
                f"{_target_peak(big) / _target_peak(m):.2f}x"
            )
            ok = ok and _target_peak(big) < 200 and _target_peak(big) <= 1.2 * _target_peak(m)
        else:
            figure += "; L/M: needs the M and L runs"
        rows.append(("target peak memory under 200 MB, L within 1.2x M", figure, ok))

    goal = "zero latency: at least 3,000 records/s end to end"
    zero = others.get(f"{scenario}-0ms")
    if zero and zero["runs"]:
        zero_runs = {r["run"]: r for r in zero["runs"]}
        run = zero_runs.get("first") or zero["runs"][0]
        figure = (
            f"first sync: {run['records_per_s']:,.0f} records/s ({run['records_emitted']:,} "
            f"records, {run['pdi']['requests']:,} PDI requests in {run['wall_s']:.1f} s)"
        )
        met = run["records_per_s"] >= 3000
        if resync := zero_runs.get("resync"):
            figure += (
                f"; re-sync with PDI already right (state cleared): "
                f"{resync['records_per_s']:,.0f} records/s ({resync['records_emitted']:,} "
                f"records in {resync['wall_s']:.1f} s, {resync['pdi'].get('writes', 0)} writes)"
            )
            met = met or resync["records_per_s"] >= 3000
        rows.append((goal, figure, met))
    else:
        command = f"bench/run.py --scenario {scenario} --latency-ms 0 --first-only --resync"
        rows.append((goal, f"not run: `{command}`", None))

    out = ["| goal | figure | met? |", "|---|---|---|"]
    return out + [f"| {goal} | {figure} | {_mark(ok)} |" for goal, figure, ok in rows]


def scenario_section(report: dict[str, Any], others: dict[str, dict[str, Any]]) -> list[str]:
    settings = ", ".join(f"{k}={v}" for k, v in report["settings"].items())
    lines = [
        _title(report),
        "",
        f"Command: `.venv/bin/python {report['command']}`. Date: {report['date']}. "
        f"Raw output: `bench/out/issue10-{report['label']}.json`. Settings: {settings}; the "
        f"Mobilize simulator is limited to {report['mobilize_rate_limit']:g} requests/s (the "
        f"tap paces itself at 14/s, dev environment); answers: PDI "
        f"{report['answers']['pdi']}, Mobilize {report['answers']['mobilize']}.",
        "",
        "| run | wall | records emitted | records/s | Mobilize requests | PDI requests "
        "| PDI writes | peak RSS MiB (meltano/tap/target) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if report.get("baseline"):
        lines += _baseline_rows(report["baseline"])
    lines += [_sync_row(run) for run in report["runs"]]
    lines += _cpu_lines(report)
    if ch := report.get("changed"):
        lines += [
            "",
            f"Changed in Mobilize before the last run: event titles {ch['events']}, family "
            f"names {ch['people']}, signup statuses {ch['signup_status_changes']}, new signups "
            f"{ch['new_signups']}.",
        ]
    first = next((r for r in report["runs"] if r["run"] == "first"), None)
    if first:
        created = ", ".join(f"{first['created'][k]:,} {k}" for k in (*KINDS, "phones"))
        lines += ["", f"Created by the first sync: {created}.", "", *_per_object(first)]
    if report.get("note"):
        lines[1:1] = ["", f"**{report['note']}**"]
    return [*lines, "", *goals(report, others), ""]


CPU_ROLES = ("meltano", "tap-mobilize", "target-pdi", "pdi sim", "mobilize sim")


def _cpu(run: dict[str, Any]) -> str:
    """CPU seconds by process and how many of the cores they kept busy over the wall time."""
    cpu = run.get("cpu_s")
    if not cpu:
        return "not measured"
    total = sum(cpu.values())
    parts = ", ".join(f"{role} {cpu.get(role, 0):.1f}" for role in CPU_ROLES)
    return f"{parts}; {total / run['wall_s']:.2f} cores busy on average"


def _cpu_lines(report: dict[str, Any]) -> list[str]:
    runs = [r for r in report["runs"] if r.get("cpu_s")]
    if not runs:
        return []
    return [
        "",
        "CPU seconds by process (`/proc/<pid>/stat`):",
        "",
        *[f"- {run['run']}: {_cpu(run)}" for run in runs],
    ]


def _other_line(report: dict[str, Any]) -> str | None:
    if not report["runs"]:
        return None
    run = report["runs"][0]
    return (
        f"- `{report['label']}` ({report['date']}, `.venv/bin/python {report['command']}`): "
        f"first sync {run['wall_s']:.1f} s, {run['records_per_s']:,.0f} records/s, "
        f"PDI {run['pdi']['requests']:,} requests ({_routes(run['pdi'])}), "
        f"target peak RSS {run['peak_rss_mib'].get('target-pdi', '?')} MiB; CPU s: {_cpu(run)}."
        + "".join(
            f" Then {r['run']}: {r['wall_s']:.1f} s, {r['records_emitted']:,} records "
            f"({r['records_per_s']:,.0f}/s), {r['pdi'].get('writes', 0)} PDI writes; CPU s: "
            f"{_cpu(r)}."
            for r in report["runs"][1:]
        )
    )


INTRO = """\
Command: `.venv/bin/python bench/run.py --scenario S|M|L [--latency-ms 50] [--pdi-rate-limit 20]
[--baseline | --baseline-sample N] [--first-only] [--resync] [--write-results]` (see
`bench/README.md`). The target runs with its defaults: it is never told PDI's limit.

Wall time is that of the whole `meltano run` (Meltano's own start included; the target's own
time, from its summary, in brackets); records/s = records the tap emitted / wall. The baseline
is `bench/baseline.py` (serial, stateless) against a PDI simulator of its own with the same
latency; its re-run sends everything again. An extrapolated baseline read all of Mobilize,
wrote the first N signups (and their events) to PDI, and is scaled by the PDI requests the
whole scenario needs (`baseline.plan`) at its measured time per request."""


def write_results() -> None:
    reports: dict[str, dict[str, Any]] = {}
    for path in sorted(OUT.glob("issue10-*.json")):
        report = json.loads(path.read_text())
        reports[report["label"]] = report
    main_runs = [reports[f"{s}-50ms"] for s in SCENARIOS if f"{s}-50ms" in reports]
    machines = sorted({r["machine"] for r in reports.values()})
    lines = [SECTION, "", INTRO, "", f"Machine: {'; '.join(machines)}.", ""]
    for report in main_runs:
        lines += scenario_section(report, reports)
    others = [_other_line(r) for r in reports.values() if r not in main_runs]
    if others:
        lines += ["Other runs (first sync):", "", *[line for line in others if line], ""]
    text = RESULTS.read_text()
    start = text.find(SECTION)
    body = "\n".join(lines).rstrip("\n") + "\n"
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + ("" if end == -1 else text[end:])
    RESULTS.write_text(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
