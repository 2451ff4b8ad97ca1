"""Benchmark: target-pdi at scale against the PDI sandbox, three times over.

    .venv/bin/python bench/target_sync.py --events 2000 --timeslots-per-event 3 \
        --people 20000 --attendances 60000 [--concurrency 8]

1. The tap reads a generated organization from the Mobilize sandbox into a .singer file.
2. target-pdi syncs it into an empty PDI sandbox: created objects are compared with the
   counts expected from the dataset, and requests per created object are reported.
3. The same input again: PDI writes must be 0.
4. The id map deleted, the same input again: PDI must hold no duplicate.
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "target-pdi"))

from target_pdi.rules import payloads, people_payloads  # noqa: E402

from bench.dataset_size import add_size_arguments, size_flags  # noqa: E402
from tests.e2e.harness import Simulator, http  # noqa: E402

BIN = REPO / ".venv" / "bin"


def expected_objects(dataset: dict[str, Any]) -> dict[str, int]:
    """What the seed rules should create, computed from the generator's dataset."""
    events = dataset["events"]
    people = {p["id"]: p for p in dataset["people"]}
    locations = {payloads.location_key(e) for e in events}
    timeslots = sum(len(e.get("timeslots") or []) for e in events)
    emails: set[str] = set()
    invitations: set[tuple[int, str]] = set()
    for attendance in dataset["attendances"]:
        if attendance.get("id") is None:
            continue  # masked: skipped by the tap
        person = people.get(attendance["person"]["id"], attendance["person"])
        email = people_payloads.person_email(person)
        if email is None:
            continue  # dead-lettered, never guessed
        emails.add(email)
        invitations.add((attendance["timeslot"]["id"], email))
    return {
        "Location": len(locations),
        "Event": timeslots,
        "Contact": len(emails),
        "Invitation": len(invitations),
    }


def run_target(config: Path, singer: Path, log: Path) -> float:
    started = time.perf_counter()
    with singer.open() as source, log.open("w") as out:
        subprocess.run(
            [str(BIN / "target-pdi"), "--config", str(config)],
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=out,
            check=True,
        )
    return time.perf_counter() - started


def duplicates(state: dict[str, Any]) -> dict[str, int]:
    """PDI objects that stand for the same Mobilize object more than once.

    An event is one Mobilize timeslot: its website (the Mobilize event page) and start. Two
    different Mobilize events may share a title and a start, so those are not keys.
    """
    events = Counter((e["website"], e["startDateTimeUtc"]) for e in state["events"])
    emails = Counter(
        m["emailAddress"].lower() for c in state["contacts"] for m in c.get("emails", [])
    )
    invitations = Counter((i["eventId"], i["contactId"]) for i in state["invitations"])
    return {
        "events": sum(n - 1 for n in events.values() if n > 1),
        "contacts": sum(n - 1 for n in emails.values() if n > 1),
        "invitations": sum(n - 1 for n in invitations.values() if n > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    add_size_arguments(parser)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-target-"))
    _, size = size_flags(args)
    mobilize = Simulator("sandbox.mobilize", [*size, "--rate-limit", "0"], work / "m.log").start()
    pdi = Simulator("sandbox.pdi", [], work / "pdi.log").start()
    try:
        dataset = http(f"{mobilize.url}/__admin/dataset")
        expected = expected_objects(dataset)
        tap_config = work / "tap.json"
        tap_config.write_text(
            json.dumps(
                {
                    "api_url": f"{mobilize.url}/v1",
                    "api_key": "sandbox-mobilize-key",
                    "organization_id": 1,
                    "per_page": 1000,
                    "max_requests_per_second": 1000,
                }
            )
        )
        singer = work / "input.singer"
        with singer.open("w") as out:
            subprocess.run(
                [str(BIN / "tap-mobilize"), "--config", str(tap_config)],
                stdout=out,
                stderr=subprocess.DEVNULL,
                check=True,
            )
        config = work / "target.json"
        config.write_text(
            json.dumps(
                {
                    "api_url": pdi.url,
                    "username": "sandbox",
                    "password": "sandbox-password",
                    "api_token": "sandbox-token",
                    "id_map_url": f"sqlite:///{work / 'idmap.sqlite'}",
                    "dead_letter_path": str(work / "dead.jsonl"),
                    "calendars_file": str(REPO / "mappings" / "calendars.yml"),
                    "fields_file": str(REPO / "mappings" / "fields.yml"),
                    "max_concurrency": args.concurrency,
                    "max_requests_per_second": 100000,
                }
            )
        )
        first = run_target(config, singer, work / "run1.log")
        stats1 = http(f"{pdi.url}/__admin/stats")
        state1 = http(f"{pdi.url}/__admin/state")
        created = {
            "Location": len(state1["locations"]),
            "Event": len(state1["events"]),
            "Contact": len(state1["contacts"]),
            "Invitation": len(state1["invitations"]),
        }
        http(f"{pdi.url}/__admin/stats/reset", "POST", {})
        second = run_target(config, singer, work / "run2.log")
        stats2 = http(f"{pdi.url}/__admin/stats")
        (work / "idmap.sqlite").unlink()
        http(f"{pdi.url}/__admin/stats/reset", "POST", {})
        third = run_target(config, singer, work / "run3.log")
        stats3 = http(f"{pdi.url}/__admin/stats")
        state3 = http(f"{pdi.url}/__admin/state")
    finally:
        mobilize.stop()
        pdi.stop()

    total_created = sum(created.values())
    print(f"machine: {platform.machine()}, python {platform.python_version()}; work dir {work}")
    print(
        f"dataset: seed={args.seed} events={args.events} "
        f"timeslots/event={args.timeslots_per_event} people={args.people} "
        f"attendances={args.attendances}; max_concurrency={args.concurrency}"
    )
    print("| PDI object | expected | created |\n|---|---|---|")
    for name in expected:
        print(f"| {name} | {expected[name]} | {created[name]} |")
    print(
        f"run 1 (empty PDI): {first:.1f} s, {stats1['requests']} PDI requests, "
        f"{stats1['writes']} writes, {stats1['requests'] / total_created:.2f} requests "
        f"and {stats1['writes'] / total_created:.2f} writes per created object"
    )
    print(f"run 1 requests by route: {json.dumps(stats1['by_route'], sort_keys=True)}")
    print(
        f"run 2 (same input): {second:.1f} s, {stats2['requests']} requests, "
        f"{stats2['writes']} writes"
    )
    kinds = ("locations", "events", "contacts", "invitations")
    new = {k: len({o["id"] for o in state3[k]} - {o["id"] for o in state1[k]}) for k in kinds}
    print(
        f"run 3 (id map deleted): {third:.1f} s, {stats3['requests']} requests, "
        f"{stats3['writes']} writes, new objects {new}, duplicates {duplicates(state3)}, "
        f"objects { {k: len(state3[k]) for k in kinds} }"
    )
    summary = [ln for ln in (work / "run1.log").read_text().splitlines() if "Summary:" in ln]
    print("run 1 target summary:\n" + "\n".join(summary))


if __name__ == "__main__":
    main()
