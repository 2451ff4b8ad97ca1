"""Reconcile, end to end: a real sync, then PDI tampered with behind its back in every way the
issue names, `meltano invoke target-pdi:reconcile` listing each, `--fix` mending what it can
through the sync's writers, and the whole PDI state compared with `expect.PdiModel`.

Six Meltano invocations on the small organization: two syncs (the second cancels an event
deleted and one rejected in Mobilize, so that there are canceled events to revive), a
reconcile of the untouched sync (nothing found), one of the tampered PDI, `--fix`, and
`--fix` again (writes nothing).
"""

from __future__ import annotations

import copy
import csv
import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, differences, email_of, named, router
from tests.e2e.harness import Project, RunResult
from tests.e2e.personal_data import shown as shown_personal_data
from tests.e2e.test_sync import CALENDARS_YML, ROUTES, Picker, Record, check, sync, use_calendars

pytestmark = pytest.mark.e2e

MISSING_EVENT = "timeslot without PDI event"
WRONG_CALENDAR = "event in wrong calendar"
WRONG_TIME = "event at wrong time"
MISSING_INVITATION = "signup without invitation"
WRONG_ATTENDED = "attended disagrees"
WRONG_RSVP = "rsvpStatus disagrees"
SHARED_EMAIL = "contacts share an email"
DELETED_LIVE = "deleted event live in PDI"
UNAPPROVED_LIVE = "unapproved event live in PDI"
STALE_CONTACT = "id map points to missing contact"


def id_map(project: Project, object_type: str) -> dict[str, str]:
    """The sync's id map, read from its SQLite file (one organization: one table)."""
    with sqlite3.connect(project.id_map) as db:
        (table,) = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'target_pdi_id_map%'"
        ).fetchall()
        rows = db.execute(
            f"SELECT source_key, pdi_id FROM {table[0]} WHERE object_type = ?",
            (object_type,),
        ).fetchall()
    return dict(rows)


def tamper(project: Project, what: str, body: dict[str, Any]) -> Any:
    return project.pdi.admin(what, body)


def reconcile(project: Project, *extra: str) -> RunResult:
    return project.meltano("invoke", "target-pdi:reconcile", *extra)


def report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def rows_of(found: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["mobilize_key"], r["pdi_id"]) for r in found}


def test_reconcile_lists_every_tampering_and_fix_mends_it(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    csv_path = project.workdir / "out" / "reconcile.csv"
    project.extra_env["TARGET_PDI_RECONCILE_REPORT_PATH"] = str(csv_path)
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())

    sync(project)
    model.sync(project.dataset())
    # An event deleted and one rejected in Mobilize: the next sync cancels their PDI events.
    deleted, rejected = pick.event(), pick.event()
    project.mutate("delete_event", id=deleted["id"])
    project.mutate("update_event", id=rejected["id"], fields={"approval_status": "REJECTED"})
    sync(project)
    model.sync(project.dataset())
    check(project, model)

    # The untouched sync: nothing to report.
    clean = reconcile(project)
    assert clean.returncode == 0, clean.failure()
    assert "No discrepancies" in clean.stdout, clean.stdout
    # Every timeslot Mobilize has was compared: the tap read everything, not since a bookmark.
    data = project.dataset()
    deleted_ids = {d["id"] for d in data["deleted_events"]}
    slots = sum(
        1
        for e in data["events"]
        if e["id"] not in deleted_ids and e.get("approval_status", "APPROVED") == "APPROVED"
        for s in e["timeslots"]
        if s.get("id") is not None
    )
    assert f"({slots} timeslots, " in clean.stdout, clean.stdout
    assert report(csv_path) == []

    events, contacts = id_map(project, "event"), id_map(project, "contact")
    state = project.pdi_state()
    calendars = {c["name"]: c["id"] for c in state["calendars"]}
    emails = Counter(email_of(p) for p in pick.data["people"])

    def slot_of(event: Record) -> Record:
        return pick.signed_up_slot(event)

    def invitation_of(event: Record) -> tuple[Record, Record]:
        """A live signup of one of the event's timeslots and its PDI invitation (a person with
        a name and an email of their own, so that one signup decides the invitation)."""
        slot = slot_of(event)
        event_id = events[f"ts:{slot['id']}"]
        by_contact = {i["contactId"]: i for i in state["invitations"] if i["eventId"] == event_id}
        for signup in pick.signups(event, slot["id"]):
            person = pick.person(signup)
            email = email_of(person)
            if not named(person) or emails[email] != 1:
                continue
            invitation = by_contact.get(contacts.get(f"email:{email}", ""))
            if invitation is not None and invitation["rsvpStatus"] in ("Yes", "No-Show"):
                return signup, invitation
        raise AssertionError(f"no plain signup on timeslot {slot['id']}")

    expected: set[tuple[str, str, str]] = set()
    # 1. A PDI user deletes a timeslot's event (its invitations go with it).
    gone = slot_of(pick.event())
    tamper(project, "delete", {"kind": "events", "id": events[f"ts:{gone['id']}"]})
    expected.add((MISSING_EVENT, f"timeslot:{gone['id']}", events[f"ts:{gone['id']}"]))
    # 2. and 3. One event moved to another calendar, one to another time.
    moved = slot_of(pick.event())
    moved_id = events[f"ts:{moved['id']}"]
    tamper(
        project,
        "update",
        {"kind": "events", "id": moved_id, "fields": {"calendarId": calendars["Rallies"]}},
    )
    expected.add((WRONG_CALENDAR, f"timeslot:{moved['id']}", moved_id))
    late = slot_of(pick.event())
    late_id = events[f"ts:{late['id']}"]
    late_row = next(e for e in state["events"] if e["id"] == late_id)
    start = datetime.fromisoformat(late_row["startDateTimeUtc"].replace("Z", "+00:00"))
    later = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    tamper(
        project,
        "update",
        {"kind": "events", "id": late_id, "fields": {"startDateTimeUtc": later}},
    )
    expected.add((WRONG_TIME, f"timeslot:{late['id']}", late_id))
    # 4. to 6. One invitation deleted, one's attended flipped, one's rsvpStatus changed.
    dropped, dropped_invitation = invitation_of(pick.event())
    tamper(project, "delete", {"kind": "invitations", "id": dropped_invitation["id"]})
    expected.add((MISSING_INVITATION, f"attendance:{dropped['id']}", dropped_invitation["eventId"]))
    flipped, flipped_invitation = invitation_of(pick.event())
    attended = not flipped_invitation["attended"]
    tamper(
        project,
        "update",
        {"kind": "invitations", "id": flipped_invitation["id"], "fields": {"attended": attended}},
    )
    expected.add((WRONG_ATTENDED, f"attendance:{flipped['id']}", flipped_invitation["id"]))
    maybe, maybe_invitation = invitation_of(pick.event())
    tamper(
        project,
        "update",
        {"kind": "invitations", "id": maybe_invitation["id"], "fields": {"rsvpStatus": "Maybe"}},
    )
    expected.add((WRONG_RSVP, f"attendance:{maybe['id']}", maybe_invitation["id"]))
    # 7. A second contact with an email the sync's contact holds.
    shared = email_of(pick.person(dropped))
    twin = tamper(
        project,
        "seed",
        {"kind": "contacts", "object": {"firstName": "Twin", "lastName": "X", "emails": [shared]}},
    )
    expected.add(
        (
            SHARED_EMAIL,
            f"email:{shared}",
            " ".join(sorted([contacts[f"email:{shared}"], twin["id"]])),
        )
    )
    # 8. The canceled PDI events of the deleted and the rejected event made live again.
    for event, kind in ((deleted, DELETED_LIVE), (rejected, UNAPPROVED_LIVE)):
        pdi_id = events[f"ts:{event['timeslots'][0]['id']}"]
        row = next(e for e in state["events"] if e["id"] == pdi_id)
        assert row["name"].startswith("[Canceled] ")
        live_name = row["name"].removeprefix("[Canceled] ")
        tamper(project, "update", {"kind": "events", "id": pdi_id, "fields": {"name": live_name}})
        expected.add((kind, f"event:{event['id']}", pdi_id))
    # 9. A contact the id map points to deleted in PDI (its invitations go with it): one whose
    # invitations are all on live events left alone above.
    left_alone = {
        s["id"] for e in pick.data["events"] if e["id"] not in pick.used for s in e["timeslots"]
    }
    invited: dict[str, set[int]] = {}
    for ts_id, model_event in model.events.items():
        for email in model_event.invitations:
            invited.setdefault(email, set()).add(ts_id if not model_event.canceled else -1)
    for old in model.retired:
        for email in old.invitations:
            invited.setdefault(email, set()).add(-1)
    lost_email = next(
        email
        for email, slots in sorted(invited.items())
        if slots <= left_alone and email != shared and emails[email] == 1
    )
    tamper(project, "delete", {"kind": "contacts", "id": contacts[f"email:{lost_email}"]})
    expected.add((STALE_CONTACT, f"email:{lost_email}", contacts[f"email:{lost_email}"]))

    # Every tampering listed, in the table and in the CSV; exit 1.
    found = reconcile(project)
    assert found.returncode == 1, found.failure()
    assert rows_of(report(csv_path)) == expected, found.stdout
    table = found.stdout.splitlines()
    for kind, key, _ in expected:
        # The table names a contact by its PDI id and shows <email>; the CSV has the address.
        shown = key.split(":", 1)[0] + ":<email>" if key.startswith("email:") else key
        assert any(kind in line and shown in line for line in table), (kind, key, found.stdout)
    assert shown_personal_data(found.stdout, pick.data) == [], found.stdout
    assert f"{len(expected)} discrepancies, 1 that --fix cannot mend" in found.stdout

    # --fix mends all but the shared email (PDI's API cannot merge contacts), then reconciles
    # again: that one row is left, so the exit stays 1.
    fixed = reconcile(project, "--fix")
    assert fixed.returncode == 1, fixed.failure()
    assert rows_of(report(csv_path)) == {r for r in expected if r[0] == SHARED_EMAIL}
    before = csv_path.with_name("reconcile.before-fix.csv")
    assert rows_of(report(before)) == expected
    after = fixed.stdout.split("Reconciling again:", 1)[1]
    assert "1 discrepancy, 1 that --fix cannot mend" in after, fixed.stdout

    # PDI is what the sync would have made: the moved event made anew in its calendar with
    # its invitations, the tampered one canceled in the other; only the twin contact is left.
    old = copy.deepcopy(model.events[moved["id"]])
    old.calendar, old.canceled = "Rallies", "moved"
    model.retired.append(old)
    assert differences(model, project.pdi_state()) == ["1 duplicate contacts"]

    # Running it again writes nothing and finds the same.
    project.reset_pdi_stats()
    again = reconcile(project, "--fix")
    assert again.returncode == 1, again.failure()
    assert "--fix: nothing it can mend; PDI was left as it is" in again.stdout
    assert project.pdi_writes() == 0, project.pdi.admin("stats")["writes_by_route"]
    assert rows_of(report(csv_path)) == {r for r in expected if r[0] == SHARED_EMAIL}
