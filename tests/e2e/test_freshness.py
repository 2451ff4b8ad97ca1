"""Freshness (issue 10): with a sync every five minutes, a run after a small change in Mobilize
brings PDI level with Mobilize again and writes that change and nothing else.

Real `meltano run tap-mobilize target-pdi`, then the five-minute schedule itself (`meltano
schedule run sync-every-five-minutes`, its narrower re-check window), over real HTTP against both
simulators, with their harsh answers: a title changed, a new signup, a person renamed, an
attendance marked. After each run the whole PDI state is compared with `expect.PdiModel`, never
a sample.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, email_of, named, router
from tests.e2e.test_sync import (
    CALENDARS_YML,
    DAY,
    ROUTES,
    Picker,
    Record,
    check,
    contact_of,
    move_slot,
    sync,
    use_calendars,
)

pytestmark = pytest.mark.e2e


def test_a_run_after_a_small_change_writes_only_that_change(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())
    # A timeslot near now: Mobilize may not timestamp an attendance mark (the harsh answer), and
    # only the re-check window of recent events reads it.
    soon = pick.event()
    soon_slot = pick.signed_up_slot(soon)
    move_slot(project, soon, soon_slot, int(time.time() - DAY))

    sync(project)
    model.sync(project.dataset())
    check(project, model)
    before = model.expected()

    # One change of each kind, each on a record PDI already has.
    emails = Counter(email_of(p) for p in pick.data["people"])
    contacts = [
        p
        for p in pick.data["people"]
        if named(p) and email_of(p) in model.emails and emails[email_of(p)] == 1
    ]
    retitled, joined = pick.event(lambda e: len(e["timeslots"]) > 1), pick.event()
    project.mutate("update_event", id=retitled["id"], fields={"title": "Retitled canvass"})
    joined_slot = joined["timeslots"][0]["id"]
    newcomer = next(p for p in contacts if email_of(p) not in model.events[joined_slot].invitations)
    project.mutate(
        "add_attendance",
        person_id=newcomer["id"],
        event_id=joined["id"],
        timeslot_id=joined_slot,
        status="REGISTERED",
    )
    renamed = next(p for p in contacts if p["id"] != newcomer["id"])
    project.mutate("update_person", id=renamed["id"], fields={"given_name": "Renamed"})
    invitations = model.events[soon_slot["id"]].invitations
    marked: Record = next(
        a
        for a in pick.signups(soon, soon_slot["id"])
        if a["attended"] is not True and any(i.attendance == a["id"] for i in invitations.values())
    )
    project.mutate("update_attendance", id=marked["id"], attended=True)

    project.reset_pdi_stats()
    # The next run as the five-minute schedule runs it: its env narrows the re-check window to
    # the last day's events, which must still find the attendance mark.
    before_bookmarks = project.bookmarks()
    scheduled = project.meltano("--environment=dev", "schedule", "run", "sync-every-five-minutes")
    assert scheduled.returncode == 0, scheduled.failure()
    window = re.search(r"re-check window (\S+) to (\S+):", scheduled.output)
    assert window is not None, scheduled.failure()
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in window.groups())
    assert end - start == timedelta(days=1)  # the schedule's env, not the 5-day default
    assert project.bookmarks() != before_bookmarks  # the same job's bookmarks moved on
    model.sync(project.dataset())
    assert model.expected() != before  # the change is one the comparison sees
    check(project, model)
    contact = contact_of(project, str(email_of(renamed)))
    assert (contact["firstName"], contact["lastName"]) == ("Renamed", renamed["family_name"])
    # Only the change was written: each retitled timeslot's event, the new invitation, the
    # renamed contact, the marked invitation; no other object was touched.
    retitled_slots = [s for s in retitled["timeslots"] if s.get("id") is not None]
    stats = project.pdi.admin("stats")
    assert stats["writes_by_route"] == {
        "PUT /events/{id}": len(retitled_slots),
        "POST /events/{id}/invitations": 1,
        "PUT /contacts/{id}": 1,
        "PUT /events/{id}/invitations/{invitationId}": 1,
    }
    assert stats["writes"] == len(retitled_slots) + 3
