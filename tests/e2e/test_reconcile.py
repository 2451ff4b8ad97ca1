"""Reconcile, end to end: a real sync, then PDI tampered with behind its back in every way a PDI
user can (sandbox/pdi/admin.py's routes: delete, update, seed, copy), `meltano invoke
target-pdi:reconcile` listing each, `--fix` mending what it can through the sync's writers, and
the whole PDI state compared with `expect.PdiModel`, and its contacts and locations, field by
field, with what the sync had left.

Six Meltano invocations on one organization: two syncs (the second deletes, rejects, retypes
and shrinks events and changes an email, so that there are canceled events, a moved event's old
copy and an old email's invitations to undo), a reconcile of the untouched sync (nothing found,
at the cost of its reads), one of the tampered PDI, `--fix`, and `--fix` again (writes nothing).
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

from tests.e2e.conftest import SMALL, MakeProject
from tests.e2e.expect import PdiModel, differences, email_of, named, router
from tests.e2e.harness import Project, RunResult
from tests.e2e.personal_data import personal_data
from tests.e2e.personal_data import shown as shown_personal_data
from tests.e2e.test_sync import CALENDARS_YML, ROUTES, Picker, Record, check, sync, use_calendars

pytestmark = pytest.mark.e2e

MISSING_EVENT = "timeslot without PDI event"
WRONG_CALENDAR = "event in wrong calendar"
WRONG_TIME = "event at wrong time"
EVENT_FIELDS = "event fields differ"
EXTRA_EVENT = "extra live PDI event"
LOCATION_FIELDS = "location fields differ"
MISSING_INVITATION = "signup without invitation"
WRONG_ATTENDED = "attended disagrees"
WRONG_RSVP = "rsvpStatus disagrees"
WRONG_CONFIRMED = "isConfirmed disagrees"
EXTRA_INVITATION = "signup invited twice"
CONTACT_NAMES = "contact names differ"
CONTACT_EMAIL = "contact lacks its email"
CONTACT_PHONE = "contact lacks its phone"
SHARED_EMAIL = "contacts share an email"
DELETED_LIVE = "deleted event live in PDI"
UNAPPROVED_LIVE = "unapproved event live in PDI"
REMOVED_LIVE = "removed timeslot live in PDI"
MOVED_LIVE = "old copy of moved event live"
INVITATION_LIVE = "invitation live on canceled event"
SUPERSEDED_LIVE = "old email's invitation live"
STALE_CONTACT = "id map points to missing contact"
STALE_LOCATION = "id map points to missing location"
# What --fix cannot mend: PDI's API merges no contacts and deletes no invitation.
CANNOT = {SHARED_EMAIL, EXTRA_INVITATION}

# Larger than the other tests' organization: each tampering has events and people of its own.
MOBILIZE = [*SMALL[:2], "--events", "36", *SMALL[4:6], "--people", "90", "--attendances", "230"]
# What a reconcile reads, and nothing more: the lists, each contact once (the harsh answer's
# list rows carry no emails), each event's invitations once.
READS = {
    "POST /sessions",
    "GET /calendars",
    "GET /events",
    "GET /locations",
    "GET /contacts",
    "GET /contacts/{id}",
    "GET /events/{id}/invitations",
}


def id_map(project: Project, object_type: str) -> dict[str, tuple[str, int | None]]:
    """The sync's id map, read from its SQLite file (one organization: one table): key ->
    (PDI id, Mobilize id)."""
    with sqlite3.connect(project.id_map) as db:
        (table,) = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'target_pdi_id_map%'"
        ).fetchall()
        rows = db.execute(
            f"SELECT source_key, pdi_id, mobilize_id FROM {table[0]} WHERE object_type = ?",
            (object_type,),
        ).fetchall()
    return {key: (pdi_id, mobilize_id) for key, pdi_id, mobilize_id in rows}


def pdi_ids(project: Project, object_type: str) -> dict[str, str]:
    return {key: pdi_id for key, (pdi_id, _) in id_map(project, object_type).items()}


def tamper(project: Project, what: str, body: dict[str, Any]) -> Any:
    return project.pdi.admin(what, body)


def update(project: Project, kind: str, object_id: str, **fields: Any) -> Any:
    return tamper(project, "update", {"kind": kind, "id": object_id, "fields": fields})


def reconcile(project: Project, *extra: str) -> RunResult:
    return project.meltano("invoke", "target-pdi:reconcile", *extra)


def report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def rows_of(found: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["mobilize_key"], r["pdi_id"]) for r in found}


def people_and_places(state: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    """What `expect.PdiModel` leaves out, whole: every contact (emails, names, phones) and
    every location (name, address)."""
    contacts = Counter(
        (
            "contact",
            tuple(sorted(e["emailAddress"].lower() for e in c["emails"])),
            c["firstName"],
            c["lastName"],
            tuple(sorted(p["phoneNumber"] for p in c["phones"])),
        )
        for c in state["contacts"]
    )
    locations = Counter(
        ("location", loc["locationName"], loc["locationAddress"]) for loc in state["locations"]
    )
    return contacts + locations


def test_reconcile_lists_every_tampering_and_fix_mends_it(make_project: MakeProject) -> None:
    project = make_project(mobilize_args=MOBILIZE)
    use_calendars(project, CALENDARS_YML)
    csv_path = project.workdir / "out" / "reconcile.csv"
    project.extra_env["TARGET_PDI_RECONCILE_REPORT_PATH"] = str(csv_path)
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())
    emails = Counter(email_of(p) for p in pick.data["people"])

    def plain(person: Record) -> bool:
        """A person with a name and an email of their own: one signup decides an invitation."""
        return named(person) and emails[email_of(person)] == 1

    names = personal_data(pick.data)["names"]

    def impersonal(event: Record) -> bool:
        """An event whose name and venue share no word with a person's name. The table shows
        event names and venues; the generator draws both from the same words ("Hall" is a
        venue and a surname), and the check of the table's personal data cannot tell them
        apart."""
        location = event.get("location") or {}
        lines = [event["title"], location.get("venue"), *(location.get("address_lines") or [])]
        return not {w for line in lines for w in str(line or "").split()} & names

    sync(project)
    model.sync(project.dataset())
    # The second sync leaves what the sync cancels: an event deleted, one rejected, one
    # retyped (moved to another calendar: its old copy canceled), two that lose a timeslot,
    # and the invitations of a person whose email changed.
    deleted, rejected = pick.event(impersonal), pick.event(impersonal)
    retyped = pick.event(lambda e: e["event_type"] == "TEXT_BANK" and impersonal(e))
    shrunk = [pick.event(lambda e: len(e["timeslots"]) > 1 and impersonal(e)) for _ in range(2)]
    emailed_event = pick.event(lambda e: any(plain(pick.person(s)) for s in pick.signups(e)))
    # And an event whose page Mobilize left empty: its PDI event has no website.
    unsited = pick.event(impersonal)
    project.mutate("update_event", id=unsited["id"], fields={"browser_url": None})
    project.mutate("delete_event", id=deleted["id"])
    project.mutate("update_event", id=rejected["id"], fields={"approval_status": "REJECTED"})
    project.mutate("update_event", id=retyped["id"], fields={"event_type": "PHONE_BANK"})
    removed = [pick.signed_up_slot(event) for event in shrunk]
    for event, slot in zip(shrunk, removed, strict=True):
        project.mutate("remove_timeslot", event_id=event["id"], timeslot_id=slot["id"])
        project.mutate("update_event", id=event["id"], fields={"description": "One slot less"})
    emailed_signup = next(s for s in pick.signups(emailed_event) if plain(pick.person(s)))
    emailed = pick.person(emailed_signup)
    project.mutate(
        "update_person",
        id=emailed["id"],
        fields={"email_addresses": [{"primary": True, "address": "changed.email@example.org"}]},
    )
    sync(project)
    model.sync(project.dataset())
    check(project, model)
    untouched = project.pdi_state()

    # The untouched sync: nothing to report, at the cost of one read of each list, of each
    # contact (the harsh answer's list rows carry no emails) and of each event's invitations.
    project.reset_pdi_stats()
    clean = reconcile(project)
    assert clean.returncode == 0, clean.failure()
    assert "No discrepancies" in clean.stdout, clean.stdout
    reads = project.pdi.admin("stats")["by_route"]
    assert set(reads) <= READS, reads
    assert reads["GET /contacts/{id}"] == len(untouched["contacts"])
    assert reads["GET /events/{id}/invitations"] == len(untouched["events"])
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

    events, contacts = pdi_ids(project, "event"), pdi_ids(project, "contact")
    state = untouched
    by_id = {e["id"]: e for e in state["events"]}
    calendars = {c["name"]: c["id"] for c in state["calendars"]}

    def slot_of(event: Record) -> Record:
        return pick.signed_up_slot(event)

    def invitation_of(event: Record) -> tuple[Record, Record]:
        """A live signup of one of the event's timeslots and its PDI invitation."""
        slot = slot_of(event)
        event_id = events[f"ts:{slot['id']}"]
        by_contact = {i["contactId"]: i for i in state["invitations"] if i["eventId"] == event_id}
        for signup in pick.signups(event, slot["id"]):
            person = pick.person(signup)
            if not plain(person) or person is emailed:
                continue
            invitation = by_contact.get(contacts.get(f"email:{email_of(person)}", ""))
            if invitation is not None and invitation["rsvpStatus"] in ("Yes", "No-Show"):
                return signup, invitation
        raise AssertionError(f"no plain signup on timeslot {slot['id']}")

    expected: set[tuple[str, str, str]] = set()
    # --- events -----------------------------------------------------------------------------
    # 1. A PDI user deletes a timeslot's event (its invitations go with it).
    gone = slot_of(pick.event())
    tamper(project, "delete", {"kind": "events", "id": events[f"ts:{gone['id']}"]})
    expected.add((MISSING_EVENT, f"timeslot:{gone['id']}", events[f"ts:{gone['id']}"]))
    # 2. and 3. One event moved to another calendar, one to another time.
    moved = slot_of(pick.event())
    moved_id = events[f"ts:{moved['id']}"]
    update(project, "events", moved_id, calendarId=calendars["Rallies"])
    expected.add((WRONG_CALENDAR, f"timeslot:{moved['id']}", moved_id))
    late = slot_of(pick.event())
    late_id = events[f"ts:{late['id']}"]
    start = datetime.fromisoformat(by_id[late_id]["startDateTimeUtc"].replace("Z", "+00:00"))
    later = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    update(project, "events", late_id, startDateTimeUtc=later)
    expected.add((WRONG_TIME, f"timeslot:{late['id']}", late_id))
    # 4. One renamed, its website and description changed too.
    renamed = slot_of(pick.event(impersonal))
    renamed_id = events[f"ts:{renamed['id']}"]
    update(project, "events", renamed_id, name="Renamed in PDI", website="", description="")
    expected.add((EVENT_FIELDS, f"timeslot:{renamed['id']}", renamed_id))
    # 5. One copied: a second live PDI event of its timeslot (issue 19's defect 4).
    copied = slot_of(pick.event(impersonal))
    twin_event = tamper(
        project, "copy", {"kind": "events", "id": events[f"ts:{copied['id']}"], "fields": {}}
    )
    expected.add((EXTRA_EVENT, f"timeslot:{copied['id']}", twin_event["id"]))
    # And of the event without a website, found by its name and end (defect 2 left these).
    unsited_slot = slot_of(unsited)
    unsited_id = events[f"ts:{unsited_slot['id']}"]
    assert by_id[unsited_id]["website"] == ""
    unsited_twin = tamper(project, "copy", {"kind": "events", "id": unsited_id, "fields": {}})
    expected.add((EXTRA_EVENT, f"timeslot:{unsited_slot['id']}", unsited_twin["id"]))
    # 6. The address of the renamed event's venue changed.
    venue_id = by_id[renamed_id]["locationId"]
    (venue_key,) = [k for k, v in pdi_ids(project, "location").items() if v == venue_id]
    update(project, "locations", venue_id, locationAddress="9 Elsewhere Rd")
    expected.add((LOCATION_FIELDS, venue_key, venue_id))
    # And another venue deleted: its events point to nothing until it is made again.
    lost_venue_key, lost_venue_id = next(
        (k, v) for k, v in sorted(pdi_ids(project, "location").items()) if v != venue_id
    )
    tamper(project, "delete", {"kind": "locations", "id": lost_venue_id})
    expected.add((STALE_LOCATION, lost_venue_key, lost_venue_id))

    # --- invitations ------------------------------------------------------------------------
    # 7. to 10. One deleted, one's attended flipped, one's rsvpStatus, one's isConfirmed.
    dropped, dropped_invitation = invitation_of(pick.event())
    tamper(project, "delete", {"kind": "invitations", "id": dropped_invitation["id"]})
    expected.add((MISSING_INVITATION, f"attendance:{dropped['id']}", dropped_invitation["eventId"]))
    flipped, flipped_invitation = invitation_of(pick.event())
    attended = not flipped_invitation["attended"]
    update(project, "invitations", flipped_invitation["id"], attended=attended)
    expected.add((WRONG_ATTENDED, f"attendance:{flipped['id']}", flipped_invitation["id"]))
    maybe, maybe_invitation = invitation_of(pick.event())
    update(project, "invitations", maybe_invitation["id"], rsvpStatus="Maybe")
    expected.add((WRONG_RSVP, f"attendance:{maybe['id']}", maybe_invitation["id"]))
    confirmed, confirmed_invitation = invitation_of(pick.event())
    update(
        project,
        "invitations",
        confirmed_invitation["id"],
        isConfirmed=not confirmed_invitation["isConfirmed"],
    )
    expected.add((WRONG_CONFIRMED, f"attendance:{confirmed['id']}", confirmed_invitation["id"]))
    # 11. A contact invited twice to one event: PDI's API deletes no invitation.
    twice, twice_invitation = invitation_of(pick.event())
    second = tamper(project, "copy", {"kind": "invitations", "id": twice_invitation["id"]})
    expected.add((EXTRA_INVITATION, f"attendance:{twice['id']}", second["id"]))

    # --- contacts ---------------------------------------------------------------------------
    # 12. A second contact with an email the sync's contact holds.
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
    # 13. A contact the id map points to deleted in PDI (its invitations go with it): one whose
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
    taken = {shared, email_of(emailed), "changed.email@example.org"}
    lost_email = next(
        email
        for email, slots in sorted(invited.items())
        if slots <= left_alone and email not in taken and emails[email] == 1
    )
    taken.add(lost_email)
    tamper(project, "delete", {"kind": "contacts", "id": contacts[f"email:{lost_email}"]})
    expected.add((STALE_CONTACT, f"email:{lost_email}", contacts[f"email:{lost_email}"]))
    # 14. to 16. A contact renamed, one whose phone was removed, one whose email was removed.
    by_email = {c["emails"][0]["emailAddress"].lower(): c for c in state["contacts"] if c["emails"]}
    others = [
        person
        for person in pick.data["people"]
        if plain(person) and email_of(person) in by_email and email_of(person) not in taken
    ]
    renamed_person = others[0]
    phoned = next(p for p in others[1:] if by_email[email_of(p)]["phones"])
    unmailed = next(p for p in others[1:] if p is not phoned)
    for person, kind, fields in (
        (renamed_person, CONTACT_NAMES, {"lastName": "Renamed-in-PDI"}),
        (phoned, CONTACT_PHONE, {"phones": []}),
        (unmailed, CONTACT_EMAIL, {"emails": []}),
    ):
        contact = by_email[str(email_of(person))]
        update(project, "contacts", contact["id"], **fields)
        expected.add((kind, f"email:{email_of(person)}", contact["id"]))

    # --- what the sync canceled, made live again --------------------------------------------
    # 17. The canceled PDI events of the deleted and the rejected event.
    for event, kind in ((deleted, DELETED_LIVE), (rejected, UNAPPROVED_LIVE)):
        pdi_id = events[f"ts:{event['timeslots'][0]['id']}"]
        assert by_id[pdi_id]["name"].startswith("[Canceled] ")
        update(project, "events", pdi_id, name=by_id[pdi_id]["name"].removeprefix("[Canceled] "))
        expected.add((kind, f"event:{event['id']}", pdi_id))
    # 18. The old copy of the retyped event (kept under its PDI id, not a timeslot).
    old_copies = sorted(
        pdi_id
        for key, pdi_id in events.items()
        if key.startswith("pdi:") and by_id[pdi_id]["calendarId"] == calendars["Text Banks"]
    )
    assert old_copies, "the retyped event left an old copy"
    update(
        project, "events", old_copies[0], name=by_id[old_copies[0]]["name"][len("[Canceled] ") :]
    )
    expected.add((MOVED_LIVE, f"event:{retyped['id']}", old_copies[0]))
    # 19. The event of a removed timeslot, and an invitation on the other one.
    removed_id = events[f"ts:{removed[0]['id']}"]
    update(project, "events", removed_id, name=by_id[removed_id]["name"][len("[Canceled] ") :])
    expected.add((REMOVED_LIVE, f"timeslot:{removed[0]['id']}", removed_id))
    on_removed = next(
        i for i in state["invitations"] if i["eventId"] == events[f"ts:{removed[1]['id']}"]
    )
    update(project, "invitations", on_removed["id"], rsvpStatus="Yes")
    expected.add((INVITATION_LIVE, f"timeslot:{removed[1]['id']}", on_removed["id"]))
    # 20. The invitation of the email the person left behind.
    old_contact = contacts[f"email:{email_of(emailed)}"]
    superseded = next(
        i
        for i in state["invitations"]
        if i["contactId"] == old_contact
        and i["eventId"] == events[f"ts:{emailed_signup['timeslot']['id']}"]
    )
    assert superseded["rsvpStatus"] == "Cancelled"
    update(project, "invitations", superseded["id"], rsvpStatus="Yes")
    expected.add((SUPERSEDED_LIVE, f"attendance:{emailed_signup['id']}", superseded["id"]))

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
    assert "Renamed-in-PDI" not in found.stdout + csv_path.read_text()
    cannot = {r for r in expected if r[0] in CANNOT}
    assert f"{len(expected)} discrepancies, {len(cannot)} that --fix cannot mend" in found.stdout

    # --fix mends all but what PDI's API cannot, then reconciles again: those rows are left,
    # so the exit stays 1.
    fixed = reconcile(project, "--fix")
    assert fixed.returncode == 1, fixed.failure()
    assert rows_of(report(csv_path)) == cannot
    before = csv_path.with_name("reconcile.before-fix.csv")
    assert rows_of(report(before)) == expected
    after = fixed.stdout.split("Reconciling again:", 1)[1]
    assert f"{len(cannot)} discrepancies, {len(cannot)} that --fix cannot mend" in after, (
        fixed.stdout
    )

    # PDI is what the sync would have made: the moved event made anew in its calendar with
    # its invitations, the tampered one canceled in the other; the copy canceled; only the
    # twin contact and the second invitation are left.
    old = copy.deepcopy(model.events[moved["id"]])
    old.calendar, old.canceled = "Rallies", "moved"
    model.retired.append(old)
    for twinned in (copied, unsited_slot):
        extra = copy.deepcopy(model.events[twinned["id"]])
        extra.canceled, extra.invitations = "removed", {}
        model.retired.append(extra)
    mended = project.pdi_state()
    assert differences(model, mended) == ["1 duplicate contacts", "1 duplicate invitations"]
    twin_contact = ("contact", (shared,), "Twin", "X", ())
    assert people_and_places(mended) == people_and_places(untouched) + Counter([twin_contact])

    # Running it again writes nothing and finds the same.
    project.reset_pdi_stats()
    again = reconcile(project, "--fix")
    assert again.returncode == 1, again.failure()
    assert "--fix: nothing it can mend; PDI was left as it is" in again.stdout
    assert project.pdi_writes() == 0, project.pdi.admin("stats")["writes_by_route"]
    assert rows_of(report(csv_path)) == cannot
