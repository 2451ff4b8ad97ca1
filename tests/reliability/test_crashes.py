"""Runs broken at ten points, by SIGKILL and by SIGTERM, then finished by the next run.

Each case is a chain of real `meltano run`s over one project: the first sync is broken at five
points (each run picks up where the broken one left it, and is broken in turn), a last run
finishes it, and the whole PDI state must be exactly what the rules say; then Mobilize
changes and the incremental run is broken at five more points the same way. The signal goes
to the whole process group (Meltano, the tap and the target), as systemd and container
runtimes send it. Small batches put bookmarks between the points.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, email_of, router
from tests.e2e.harness import Project
from tests.e2e.test_sync import (
    CALENDARS_YML,
    DAY,
    ROUTES,
    Picker,
    check,
    move_slot,
    sync,
    use_calendars,
)
from tests.reliability.figures import PDI_OBJECTS, record

pytestmark = pytest.mark.e2e

# A break point: this many PDI writes into the run (0: as soon as the run has started, while
# the tap reads and the target has written nothing).
FIRST_SYNC_POINTS = (0, 5, 25, 45, 70)
INCREMENTAL_POINTS = (0, 2, 4, 6, 8)


def break_at(project: Project, sig: signal.Signals, writes: int) -> bool:
    """Start a run and send ``sig`` to its process group ``writes`` PDI writes in.

    True when the run was broken; False when it ended first (the point was past its work).
    """
    start = project.pdi_writes()
    project.mobilize.admin("stats/reset", {})
    # --force: a run killed before it could say so leaves Meltano's record of it "running",
    # and Meltano refuses the same job for 5 minutes (docs/operating.md); here nothing else runs.
    running = project.start_sync("--force")
    if writes == 0:
        # The tap reading, the target yet to write: a fixed sleep let the target write a
        # hundred objects first, which left too little work for the later break points.
        deadline = time.monotonic() + 120
        while project.mobilize.admin("stats")["requests"] < 1 and running.poll() is None:
            assert time.monotonic() < deadline, "the tap never read Mobilize"
            time.sleep(0.02)
    elif not project.wait_for_writes(running, start + writes):
        return False
    if running.poll() is not None:
        return False
    os.killpg(running.pid, sig)
    try:
        code = running.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(running.pid, signal.SIGKILL)
        raise
    assert code != 0, "a broken run must not report success"
    return True


def break_chain(project: Project, sig: signal.Signals, points: tuple[int, ...]) -> int:
    """The runs broken at ``points``, then one that finishes; how many were broken."""
    broken = [break_at(project, sig, writes) for writes in points]
    # Every point must fall inside a run, or the case tests less than it says.
    assert all(broken), f"runs ended before their break point: {broken}"
    sync(project, "--force")
    return sum(broken)


def change_many_things(project: Project, pick: Picker) -> None:
    """Enough changes for the incremental run to have writes to break in between."""
    for _ in range(4):
        event = pick.event()
        project.mutate("update_event", id=event["id"], fields={"title": f"{event['title']} (v2)"})
    moved = pick.event()
    slot = moved["timeslots"][0]
    move_slot(project, moved, slot, slot["start_date"] + 3600)
    shrunk = pick.event(lambda e: len(e["timeslots"]) > 1)
    project.mutate(
        "remove_timeslot", event_id=shrunk["id"], timeslot_id=shrunk["timeslots"][0]["id"]
    )
    project.mutate("update_event", id=shrunk["id"], fields={"description": "One slot less"})
    project.mutate("delete_event", id=pick.event()["id"])
    # Attendance marks may not bump modified_date (the harsh answer): the re-check window
    # finds them on an event near now.
    soon = pick.event()
    soon_slot = pick.signed_up_slot(soon)
    move_slot(project, soon, soon_slot, int(time.time() - DAY / 2))
    for signup in pick.signups(soon, soon_slot["id"])[:3]:
        project.mutate("update_attendance", id=signup["id"], attended=True)
    target = pick.event()
    signed = {(a["person"]["id"], a["timeslot"]["id"]) for a in pick.data["attendances"]}
    newcomers = [
        p
        for p in pick.data["people"]
        if email_of(p) and (p["id"], target["timeslots"][0]["id"]) not in signed
    ][:8]
    for person in newcomers:
        project.mutate(
            "add_attendance",
            person_id=person["id"],
            event_id=target["id"],
            timeslot_id=target["timeslots"][0]["id"],
            status="REGISTERED",
        )
    renamed = pick.person(pick.signups(pick.event())[0])
    project.mutate("update_person", id=renamed["id"], fields={"given_name": "Renamed"})


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_runs_broken_at_ten_points_end_exact(
    make_project: MakeProject, sig: signal.Signals
) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    project.extra_env["TARGET_PDI_BATCH_SIZE_ROWS"] = "40"
    # Slow enough that every break point falls inside a run.
    project.pdi.admin("switches", {"latency_ms": 10})
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())

    started = time.monotonic()
    broken = break_chain(project, sig, FIRST_SYNC_POINTS)
    model.sync(project.dataset())
    check(project, model)
    first_objects = sum(len(project.pdi_state()[k]) for k in PDI_OBJECTS)

    change_many_things(project, pick)
    broken += break_chain(project, sig, INCREMENTAL_POINTS)
    model.sync(project.dataset())
    check(project, model)
    record(
        sig.name.lower(),
        project,
        time.monotonic() - started,
        {"runs_broken": broken, "objects_checked_after_first_sync": first_objects},
    )
    project.pdi.admin("switches", {"latency_ms": 0})
    project.reset_pdi_stats()
    sync(project, "--force")
    stats = project.pdi.admin("stats")
    assert stats["writes"] == 0, stats["writes_by_route"]
    check(project, model)
