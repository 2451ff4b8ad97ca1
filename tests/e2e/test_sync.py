"""The sync itself, end to end: real `meltano run tap-mobilize target-pdi` over real HTTP
against both simulators, checked against what a PDI user would see.

The simulators answer every question the API references leave open the harsh way (their
default); the main scenario runs once more with the lenient answers. After every sync the
whole PDI state is compared with `expect.PdiModel`, never a sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, differences, email_of, router
from tests.e2e.harness import Project, RunResult

pytestmark = pytest.mark.e2e

# Labels (as the Mobilize UI shows them) and API enums, mixed on purpose.
CALENDARS_YML = """\
default_calendar: Other Events
event_types:
  CANVASS: Canvassing
  Phone Bank: Phone Banks
  text bank: Text Banks
  MEETING: Meetings
"""
ROUTES = {
    "CANVASS": "Canvassing",
    "PHONE_BANK": "Phone Banks",
    "TEXT_BANK": "Text Banks",
    "MEETING": "Meetings",
}
DAY = 86400
Record = dict[str, Any]


def use_calendars(project: Project, text: str) -> Path:
    path = project.workdir / "calendars.yml"
    path.write_text(text)
    project.extra_env["TARGET_PDI_CALENDARS_FILE"] = str(path)
    return path


def sync(project: Project, *extra: str) -> RunResult:
    result = project.sync(*extra)
    assert result.returncode == 0, result.failure()
    return result


def check(project: Project, model: PdiModel, ignore_emails: Iterable[str] = ()) -> None:
    found = differences(model, project.pdi_state(), ignore_emails)
    assert not found, f"{len(found)} discrepancies:\n" + "\n".join(found[:40])


def check_rerun_writes_nothing(project: Project, model: PdiModel) -> RunResult:
    project.reset_pdi_stats()
    again = sync(project)
    stats = project.pdi.admin("stats")
    assert stats["writes"] == 0, stats["writes_by_route"]
    check(project, model)
    return again


class Picker:
    """Events and signups of the generated organization, each event used for one change."""

    def __init__(self, data: Record) -> None:
        self.data = data
        self.people = {p["id"]: p for p in data["people"]}
        self.used: set[int] = set()

    def signups(self, event: Record, timeslot: int | None = None) -> list[Record]:
        """Live signups (with an email) of an event, or of one of its timeslots."""
        return [
            a
            for a in self.data["attendances"]
            if a.get("id")
            and a["event"]["id"] == event["id"]
            and (timeslot is None or a["timeslot"]["id"] == timeslot)
            and email_of(self.people.get(a["person"]["id"]))
            and a["status"] != "CANCELLED"
        ]

    def signed_up_slot(self, event: Record) -> Record:
        return next(s for s in event["timeslots"] if self.signups(event, s["id"]))

    def event(self, where: Callable[[Record], bool] = lambda e: True) -> Record:
        for event in self.data["events"]:
            if (
                event["id"] not in self.used
                and event["approval_status"] == "APPROVED"
                and event["event_type"] != "MEETING"  # kept for the route change
                and self.signups(event)
                and where(event)
            ):
                self.used.add(event["id"])
                return event
        raise AssertionError("the generated data has no event left for this change")

    def person(self, signup: Record) -> Record:
        return self.people[signup["person"]["id"]]


def move_slot(project: Project, event: Record, slot: Record, start: int) -> None:
    """Move a timeslot, and edit the event too: a timeslot edit alone may not bump the event's
    modified_date (the harsh answer), and then no incremental read would see it."""
    project.mutate(
        "update_timeslot",
        event_id=event["id"],
        timeslot_id=slot["id"],
        fields={"start_date": start, "end_date": start + 7200},
    )
    project.mutate("update_event", id=event["id"], fields={"description": f"Now at {start}"})


def seed_contact(project: Project, person: Record) -> Record:
    """A contact a PDI user made before the sync, with fields the sync does not own."""
    seeded: Record = project.pdi.admin(
        "seed",
        {
            "kind": "contacts",
            "object": {
                "firstName": person["given_name"],
                "lastName": person["family_name"],
                "middleName": "Quinn",
                "occupation": "Nurse",
                "employer": "County Hospital",
                "gender": "F",
                "volunteerStatus": "Active",
                "dateOfBirth": "1980-02-03",
                "emails": [email_of(person)],
            },
        },
    )
    return seeded


def contact_of(project: Project, email: str) -> Record:
    contacts = [
        c
        for c in project.pdi_state()["contacts"]
        if any(e["emailAddress"].lower() == email for e in c["emails"])
    ]
    assert len(contacts) == 1, contacts
    return contacts[0]


@pytest.mark.parametrize("answers", ["harsh", "lenient"])
def test_pdi_equals_the_rules_through_every_kind_of_change(
    make_project: MakeProject, answers: str
) -> None:
    project = make_project(answers=answers)
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())

    # Before the first sync: an event deleted whose signups Mobilize may still list (it must
    # never reach PDI), a contact a PDI user made, an event whose timeslot is near now.
    project.mutate("delete_event", id=pick.event()["id"])
    renamed_event = pick.event()
    renamed = pick.person(pick.signups(renamed_event)[0])
    seeded = seed_contact(project, renamed)
    soon = pick.event()
    soon_slot = pick.signed_up_slot(soon)
    move_slot(project, soon, soon_slot, int(time.time() - DAY))

    first = sync(project)
    model.sync(project.dataset())
    check(project, model)
    assert first.lines("Summary: Invitation")
    assert set(project.bookmarks()) >= {"events", "people", "attendances"}
    check_rerun_writes_nothing(project, model)

    # Every kind of change at once.
    retitled, moved, grown, deleted, rejected = (pick.event() for _ in range(5))
    shrunk = pick.event(lambda e: len(e["timeslots"]) > 1)
    retyped = pick.event(lambda e: e["event_type"] == "TEXT_BANK")
    project.mutate("update_event", id=retitled["id"], fields={"title": "Renamed canvass"})
    slot = moved["timeslots"][0]
    move_slot(project, moved, slot, slot["start_date"] + 3600)
    gone = pick.signed_up_slot(shrunk)
    project.mutate("remove_timeslot", event_id=shrunk["id"], timeslot_id=gone["id"])
    project.mutate("update_event", id=shrunk["id"], fields={"description": "One slot less"})
    last = max(t["end_date"] for t in grown["timeslots"])
    project.mutate(
        "add_timeslot", event_id=grown["id"], start_date=last + DAY, end_date=last + DAY + 3600
    )
    project.mutate("update_event", id=grown["id"], fields={"description": "One slot more"})
    project.mutate("delete_event", id=deleted["id"])
    project.mutate("update_event", id=rejected["id"], fields={"approval_status": "REJECTED"})
    project.mutate("update_event", id=retyped["id"], fields={"event_type": "PHONE_BANK"})
    project.mutate("update_person", id=renamed["id"], fields={"given_name": "Renamed"})
    changed = pick.person(pick.signups(retitled)[0])
    project.mutate(
        "update_person",
        id=changed["id"],
        fields={"email_addresses": [{"primary": True, "address": "changed.email@example.org"}]},
    )
    signed = {(a["person"]["id"], a["timeslot"]["id"]) for a in pick.data["attendances"]}
    newcomer = next(
        p
        for p in pick.data["people"]
        if email_of(p) and (p["id"], retitled["timeslots"][0]["id"]) not in signed
    )
    project.mutate(
        "add_attendance",
        person_id=newcomer["id"],
        event_id=retitled["id"],
        timeslot_id=retitled["timeslots"][0]["id"],
        status="REGISTERED",
    )
    project.mutate("update_attendance", id=pick.signups(moved)[0]["id"], status="CANCELLED")

    changes = sync(project)
    model.sync(project.dataset())
    check(project, model)
    assert "events moved to another calendar" in changes.output
    # The renamed contact kept every field the sync does not own.
    contact = contact_of(project, str(email_of(renamed)))
    assert contact["id"] == seeded["id"]
    assert (contact["firstName"], contact["lastName"]) == ("Renamed", renamed["family_name"])
    assert {k: contact[k] for k in ("middleName", "occupation", "employer", "gender")} == {
        "middleName": "Quinn",
        "occupation": "Nurse",
        "employer": "County Hospital",
        "gender": "F",
    }
    assert (contact["volunteerStatus"], contact["dateOfBirth"]) == ("Active", "1980-02-03")
    check_rerun_writes_nothing(project, model)

    # Attendance marked near an event (Mobilize may not timestamp it: the re-check window
    # reads it), a calendar route changed in calendars.yml, an event approved again, and a
    # signup of the deleted event changed (its event stays canceled).
    project.mutate(
        "update_attendance", id=pick.signups(soon, soon_slot["id"])[0]["id"], attended=True
    )
    use_calendars(project, CALENDARS_YML.replace("MEETING: Meetings", "MEETING: Trainings"))
    model.route = router({**ROUTES, "MEETING": "Trainings"}, "Other Events")
    project.mutate("update_event", id=rejected["id"], fields={"approval_status": "APPROVED"})
    project.mutate("update_attendance", id=pick.signups(deleted)[0]["id"], status="CANCELLED")

    later = sync(project)
    model.sync(project.dataset())
    check(project, model)
    assert "events restored: approved again" in later.output
    check_rerun_writes_nothing(project, model)


def test_lost_id_map_recovers_moves_removals_and_deletions(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    pick = Picker(project.dataset())
    # Two events of a distributed program will share title and start; both near now, so the
    # re-check window reads their signups again after the map is lost.
    leader, follower, hourly = pick.event(), pick.event(), pick.event()
    leader_slot = pick.signed_up_slot(leader)
    follower_slot = pick.signed_up_slot(follower)
    hourly_slot = pick.signed_up_slot(hourly)
    start = int(time.time() - DAY)
    move_slot(project, leader, leader_slot, start)
    move_slot(project, follower, follower_slot, start + 3 * 3600)
    move_slot(project, hourly, hourly_slot, start + 6 * 3600)
    shrunk = pick.event(lambda e: len(e["timeslots"]) > 1)
    deleted = pick.event()
    sync(project)
    model.sync(project.dataset())
    check(project, model)

    project.id_map.unlink()
    # The follower takes the leader's title and start: its PDI event must not take the
    # leader's. A timeslot moved by an hour; a timeslot removed; an event deleted.
    project.mutate("update_event", id=follower["id"], fields={"title": leader["title"]})
    move_slot(project, follower, follower_slot, start)
    move_slot(project, hourly, hourly_slot, start + 7 * 3600)
    gone = shrunk["timeslots"][0]
    project.mutate("remove_timeslot", event_id=shrunk["id"], timeslot_id=gone["id"])
    project.mutate("update_event", id=shrunk["id"], fields={"description": "One slot less"})
    project.mutate("delete_event", id=deleted["id"])

    sync(project)
    # Without the map nothing tells a move from a removal and an addition: the old PDI event
    # is canceled, a new one made, and its signups come from this run's re-check.
    model.sync(project.dataset(), recreated=[follower_slot["id"], hourly_slot["id"]])
    check(project, model)
    check_rerun_writes_nothing(project, model)


def test_routing_without_default_skips_and_reports(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, "event_types:\n  Canvass: Canvassing\n  PHONE_BANK: Phone Banks\n")
    result = sync(project)
    model = PdiModel(router({"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"}, None))
    model.sync(project.dataset())
    check(project, model)
    skipped = result.lines("no calendar for event type")
    assert skipped, result.output
    assert "MEETING" in skipped[0] or "COMMUNITY" in skipped[0]


@pytest.mark.parametrize(
    ("calendars", "message"),
    [
        ("event_types:\n  Canvas: Canvassing\n", "calendars.yml:2: unknown event type 'Canvas'"),
        ("event_types:\n  CANVASS: Canvasing\n", "PDI has no calendar 'Canvasing'"),
        ("event_types:\n  CANVASS: A\n  CANVASS: B\n", "calendars.yml:3: duplicate key 'CANVASS'"),
        # The schema's error, in the target's words (mappings/examples/broken/).
        (
            "event_types:\n  CANVASS: [Canvassing, Rallies]\n",
            "calendars.yml:2: event type 'CANVASS' must go to one PDI calendar name or id, "
            "not a list (hint: an event type goes to one calendar: keep one)",
        ),
    ],
)
def test_invalid_mappings_stop_the_run_before_any_write(
    make_project: MakeProject, calendars: str, message: str
) -> None:
    project = make_project()
    use_calendars(project, calendars)
    result = project.sync()
    assert result.returncode != 0
    assert message in result.output
    assert project.pdi_writes() == 0
    assert project.bookmarks() == {}


def test_malformed_field_expression_stops_the_run(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    fields = project.workdir / "fields.yml"
    fields.write_text("events:\n  Event.name: titel\n  Event.website: 'browser_url +'\n")
    project.extra_env["TARGET_PDI_FIELDS_FILE"] = str(fields)
    result = project.sync()
    assert result.returncode != 0
    assert "fields.yml:2: events records have no field 'titel'" in result.output
    assert "fields.yml:3: malformed expression" in result.output
    assert project.pdi_writes() == 0


def test_field_mapping_edit_changes_what_lands(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    fields = project.workdir / "fields.yml"
    fields.write_text(
        "events:\n"
        "  Event.name: \"'Mobilize: ' + title\"\n"
        "  Event.description: \"'Type: ' + event_type\"\n"
    )
    project.extra_env["TARGET_PDI_FIELDS_FILE"] = str(fields)
    sync(project)
    events = project.pdi_state()["events"]
    titles = {f"Mobilize: {e['title']}" for e in project.dataset()["events"]}
    assert events
    assert {e["name"] for e in events} <= titles
    assert all(e["description"].startswith("Type: ") for e in events)


def test_crash_mid_run_then_rerun_misses_nothing_and_duplicates_nothing(
    make_project: MakeProject,
) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    # PDI answering nothing but 503 is an outage: stop soon instead of waiting it out. One
    # batch, so that the break comes before any bookmark (the reliability suite breaks runs
    # between batches).
    project.extra_env.update(
        {"TARGET_PDI_OUTAGE_SECONDS": "3", "TARGET_PDI_BATCH_SIZE_ROWS": "100000"}
    )
    # Slow PDI down so that the run can be broken while it writes.
    project.pdi.admin("switches", {"latency_ms": 30})
    running = project.start_sync()
    assert project.wait_for_writes(running, 30), "the sync ended before PDI could be broken"
    project.pdi.admin("switches", {"fail_rate": 1.0, "fail_status": 503})
    assert running.wait(timeout=300) != 0
    assert project.pdi_writes() >= 30
    # No bookmark moved past records that are not in PDI.
    assert project.bookmarks() == {}

    project.pdi.admin("switches", {"fail_rate": 0.0, "latency_ms": 0})
    sync(project)
    model = PdiModel(router(ROUTES, "Other Events"))
    model.sync(project.dataset())
    check(project, model)
    assert project.bookmarks()
    check_rerun_writes_nothing(project, model)


def test_dry_run_plans_and_writes_nothing(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    project.extra_env["TARGET_PDI_DRY_RUN"] = "true"
    result = sync(project)
    assert project.pdi_writes() == 0
    assert result.lines("DRY RUN summary: Event")
    assert result.lines("would create")


def test_no_secret_in_logs_dead_letters_or_state(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    result = sync(project)
    seen = [result.output, str(project.bookmarks())]
    assert project.dead_letters.exists()  # people without an email were dead-lettered
    seen.append(project.dead_letters.read_text())
    for secret in ("sandbox-mobilize-key", "sandbox-password", "sandbox-token"):
        assert not any(secret in text for text in seen), secret
