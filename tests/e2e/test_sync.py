"""The sync itself, end to end: real `meltano run tap-mobilize target-pdi` over real HTTP
against both simulators, checked against what a PDI user would see."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import actual_state, expected_state, router
from tests.e2e.harness import Project

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


def use_calendars(project: Project, text: str) -> Path:
    path = project.workdir / "calendars.yml"
    path.write_text(text)
    project.extra_env["TARGET_PDI_CALENDARS_FILE"] = str(path)
    return path


def assert_pdi_matches_mobilize(
    project: Project,
    default: str | None = "Other Events",
    deleted: tuple[dict, ...] = (),
) -> None:
    """PDI equals the rules applied to Mobilize's current data (plus events since deleted,
    which Mobilize no longer lists but PDI keeps, canceled)."""
    dataset = project.dataset()
    dataset["events"].extend(deleted)
    expected = expected_state(dataset, router(ROUTES, default))
    actual = actual_state(project.pdi_state())
    assert actual["events"] == expected["events"]
    assert actual["emails"] == expected["emails"]
    assert actual["invitations"] == expected["invitations"]
    # Nothing twice: one PDI object per natural key.
    assert actual["counts"] == {
        "events": len(expected["events"]),
        "contacts": len(expected["emails"]),
        "invitations": len(expected["invitations"]),
    }


def test_first_sync_equals_expected_pdi_state_and_rerun_writes_nothing(
    make_project: MakeProject,
) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)

    result = project.sync()
    assert result.returncode == 0, result.output
    assert_pdi_matches_mobilize(project)
    # The run ends with the summary table and the request count.
    assert result.lines("Summary: Invitation")
    assert result.lines("PDI requests")

    # State persisted: the next run reads from the bookmarks and writes nothing.
    assert set(project.bookmarks()) >= {"events", "people", "attendances"}
    project.reset_pdi_stats()
    project.mobilize.admin("stats/reset", {})
    again = project.sync()
    assert again.returncode == 0, again.output
    assert project.pdi_writes() == 0
    assert project.mobilize.admin("stats")["requests"] <= 8
    assert_pdi_matches_mobilize(project)

    # No secret anywhere a user or a log collector would see: logs, dead letters, state.
    seen = [result.output, again.output, str(project.bookmarks())]
    assert project.dead_letters.exists()  # people without an email were dead-lettered
    seen.append(project.dead_letters.read_text())
    for secret in ("sandbox-mobilize-key", "sandbox-password", "sandbox-token"):
        assert not any(secret in text for text in seen), secret


def test_every_incremental_change_propagates(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    assert project.sync().returncode == 0
    data = project.dataset()
    with_email = [
        a
        for a in data["attendances"]
        if a.get("id") and a["person"]["email_addresses"] and a["status"] != "CANCELLED"
    ]
    marked, cancelled = with_email[0], with_email[1]
    deleted_event = next(e for e in data["events"] if e["id"] != marked["event"]["id"])
    edited_event = next(
        e
        for e in data["events"]
        if e["id"] not in (deleted_event["id"], marked["event"]["id"], cancelled["event"]["id"])
    )
    signed_up = {(a["person"]["id"], a["timeslot"]["id"]) for a in data["attendances"]}
    person = next(
        p
        for p in data["people"]
        if p["email_addresses"] and (p["id"], edited_event["timeslots"][0]["id"]) not in signed_up
    )

    project.mutate("update_attendance", id=marked["id"], attended=True)
    project.mutate("update_attendance", id=cancelled["id"], status="CANCELLED")
    project.mutate(
        "add_attendance",
        person_id=person["id"],
        event_id=edited_event["id"],
        timeslot_id=edited_event["timeslots"][0]["id"],
        status="REGISTERED",
    )
    project.mutate("update_event", id=edited_event["id"], fields={"title": "Renamed canvass"})
    last = max(t["end_date"] for t in edited_event["timeslots"])
    project.mutate(
        "add_timeslot",
        event_id=edited_event["id"],
        start_date=last + 86400,
        end_date=last + 90000,
    )
    project.mutate("delete_event", id=deleted_event["id"])
    renamed = marked["person"]
    project.mutate("update_person", id=renamed["id"], fields={"given_name": "Renamed"})

    project.reset_pdi_stats()
    result = project.sync()
    assert result.returncode == 0, result.output
    # Every change, and nothing else, is in PDI: the whole state still equals the rules
    # applied to the changed Mobilize data.
    assert_pdi_matches_mobilize(project, deleted=(deleted_event,))
    state = project.pdi_state()
    names = Counter(e["name"] for e in state["events"])
    assert names["Renamed canvass"] == len(edited_event["timeslots"]) + 1
    assert names[f"[Canceled] {deleted_event['title']}"] == len(deleted_event["timeslots"])
    email = renamed["email_addresses"][0]["address"].lower()
    contact = next(c for c in state["contacts"] if c["emails"][0]["emailAddress"].lower() == email)
    assert contact["firstName"] == "Renamed"
    assert 0 < project.pdi_writes() < 200


def test_routing_without_default_skips_and_reports(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, "event_types:\n  Canvass: Canvassing\n  PHONE_BANK: Phone Banks\n")

    result = project.sync()
    assert result.returncode == 0, result.output
    calendars = {c["id"]: c["name"] for c in project.pdi_state()["calendars"]}
    used = {calendars[e["calendarId"]] for e in project.pdi_state()["events"]}
    assert used == {"Canvassing", "Phone Banks"}
    expected = expected_state(project.dataset(), router(ROUTES, None))
    routed = {k for k in expected["events"] if k[0] in ("Canvassing", "Phone Banks")}
    assert len(project.pdi_state()["events"]) == len(routed)
    skipped = result.lines("no calendar for event type")
    assert skipped, result.output
    assert "MEETING" in skipped[0] or "COMMUNITY" in skipped[0]


@pytest.mark.parametrize(
    ("calendars", "message"),
    [
        ("event_types:\n  Canvas: Canvassing\n", "calendars.yml:2: unknown event type 'Canvas'"),
        ("event_types:\n  CANVASS: Canvasing\n", "PDI has no calendar 'Canvasing'"),
        ("event_types:\n  CANVASS: A\n  CANVASS: B\n", "calendars.yml:3: duplicate key 'CANVASS'"),
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
    result = project.sync()
    assert result.returncode == 0, result.output
    events = project.pdi_state()["events"]
    titles = {f"Mobilize: {e['title']}" for e in project.dataset()["events"]}
    assert {e["name"] for e in events} <= titles
    assert all(e["description"].startswith("Type: ") for e in events)


def test_crash_mid_run_then_rerun_misses_nothing_and_duplicates_nothing(
    make_project: MakeProject,
) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    project.extra_env.update({"TARGET_PDI_MAX_RETRIES": "1"})
    # Slow PDI down so that the run can be broken while it writes.
    project.pdi.admin("switches", {"latency_ms": 30})
    running = project.start_sync()
    deadline = time.monotonic() + 300
    while project.pdi_writes() < 30:
        assert running.poll() is None, "the sync ended before PDI could be broken"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    project.pdi.admin("switches", {"fail_rate": 1.0, "fail_status": 503})
    assert running.wait(timeout=300) != 0
    written = project.pdi_writes()
    assert written >= 30
    # No bookmark moved past records that are not in PDI.
    assert project.bookmarks() == {}

    project.pdi.admin("switches", {"fail_rate": 0.0, "latency_ms": 0})
    project.reset_pdi_stats()
    recovered = project.sync()
    assert recovered.returncode == 0, recovered.output
    assert_pdi_matches_mobilize(project)
    assert project.bookmarks()


def test_dry_run_plans_and_writes_nothing(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    project.extra_env["TARGET_PDI_DRY_RUN"] = "true"
    result = project.sync()
    assert result.returncode == 0, result.output
    assert project.pdi_writes() == 0
    assert result.lines("DRY RUN summary: Event")
    assert result.lines("would create") or result.lines("plan")
