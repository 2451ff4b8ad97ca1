"""Reconcile --fix, in process: a real sync into the PDI simulator (TargetTestRunner), PDI then
tampered with behind its back, and `run_reconcile` reading Mobilize from the very records the
sync read (through the target's own stream maps) instead of through the tap. Each test ends
with PDI as a sync of the same records into an untouched PDI would leave it, a reconcile that
finds nothing, and a second --fix that writes nothing."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from singer_sdk.mapper import PluginMapper
from singer_sdk.testing import TargetTestRunner
from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools import reconcile as reconcile_command
from target_pdi.operator_tools.reconcile.mobilize import MappedReader, MobilizeData
from target_pdi.rules import values as V
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
Record = dict[str, Any]
CANCELED = "[Canceled] "


class Organization:
    """The Mobilize records of one organization, synced run by run, and reconciled."""

    def __init__(self, pdi: Pdi, config: dict[str, Any], tmp_path: Path) -> None:
        self.pdi = pdi
        self.config = {**config, "reconcile_report_path": str(tmp_path / "reconcile.csv")}
        self.tmp_path = tmp_path
        self.inputs: list[Path] = []

    def sync(self, **streams: list[Record]) -> None:
        path = self.tmp_path / f"run{len(self.inputs) + 1}.singer"
        path.write_text("\n".join(F.lines(streams, {"bookmarks": {}})) + "\n")
        self.inputs.append(path)
        TargetTestRunner(TargetPDI, self.config, input_filepath=path).sync_all()

    def read_mobilize(self, settings: Settings, mapper: PluginMapper) -> MobilizeData:
        """What the tap would read in full: every record synced so far, the latest winning."""
        reader = MappedReader(mapper)
        for path in self.inputs:
            for line in path.read_text().splitlines():
                reader.line(line)
        return reader.data()

    def reconcile(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *, fix: bool
    ) -> tuple[int, str]:
        monkeypatch.setattr(reconcile_command, "read_mobilize", self.read_mobilize)
        target = TargetPDI(config=self.config, validate_config=True)
        code = reconcile_command.run_reconcile(target, fix=fix)
        return code, capsys.readouterr().out


def live_view(state: dict[str, Any]) -> dict[str, Any]:
    """PDI by natural keys: live events (calendar, name, times, website, location), contacts by
    email with their names and phones, and every invitation of a live event."""
    calendars = {c["id"]: c["name"] for c in state["calendars"]}
    locations = {
        loc["id"]: (loc["locationName"], loc["locationAddress"]) for loc in state["locations"]
    }
    events = {
        e["id"]: (
            calendars[e["calendarId"]],
            e["name"],
            e["startDateTimeUtc"],
            e["endDateTimeUtc"],
            e["website"],
            e["description"],
            locations.get(e["locationId"]),
        )
        for e in state["events"]
        if not e["name"].startswith(CANCELED)
    }
    contacts = {
        c["id"]: (
            tuple(sorted(m["emailAddress"].lower() for m in c["emails"])),
            c["firstName"],
            c["lastName"],
            tuple(sorted(p["phoneNumber"] for p in c["phones"])),
        )
        for c in state["contacts"]
    }
    invitations = Counter(
        (events[i["eventId"]], contacts[i["contactId"]][0], i["rsvpStatus"], i["attended"])
        for i in state["invitations"]
        if i["eventId"] in events
    )
    return {
        "events": Counter(events.values()),
        "contacts": Counter(contacts.values()),
        "invitations": invitations,
    }


# --- the organization ---------------------------------------------------------------------------


def canvass(event_id: int, *slots: Record, **fields: Any) -> Record:
    return F.event(event_id, f"Canvass {event_id}", "CANVASS", list(slots), **fields)


@pytest.fixture
def org(pdi: Pdi, config: dict[str, Any], tmp_path: Path) -> Organization:
    return Organization(pdi, config, tmp_path)


def first_sync(org: Organization) -> dict[str, Record]:
    """Two events (three timeslots), three people with phones, five signups."""
    e1 = canvass(301, F.slot(3001, 3), F.slot(3002, 4))
    e2 = canvass(302, F.slot(3003, 5), location=F.location("Library", 40.1, -88.2))
    ann = F.person(31, "Ann", "Archer", "ann@example.org", "+1 217 555 0131")
    ben = F.person(32, "Ben", "Baker", "ben@example.org", "+1 217 555 0132")
    cat = F.person(33, "Cat", "Cole", "cat@example.org")
    signups = [
        F.attendance(401, ann, e1, F.slot(3001, 3), "REGISTERED", None),
        F.attendance(402, ben, e1, F.slot(3001, 3), "CONFIRMED", True),
        F.attendance(403, ann, e1, F.slot(3002, 4), "REGISTERED", False),
        F.attendance(404, cat, e2, F.slot(3003, 5), "REGISTERED", None),
        F.attendance(405, ben, e2, F.slot(3003, 5), "CANCELLED", None),
    ]
    org.sync(events=[e1, e2], people=[ann, ben, cat], attendances=signups)
    return {"e1": e1, "e2": e2, "ann": ann, "ben": ben, "cat": cat}


def fixed_for_good(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    want: dict[str, Any],
) -> str:
    """--fix mends everything, PDI is `want` again, and a second --fix writes nothing."""
    code, out = org.reconcile(monkeypatch, capsys, fix=True)
    assert live_view(org.pdi.state()) == want, out
    assert code == 0, out
    before = org.pdi.writes()
    code, again = org.reconcile(monkeypatch, capsys, fix=True)
    assert (code, org.pdi.writes()) == (0, before), again
    assert "No discrepancies" in again, again
    return out


# --- what PDI lost -------------------------------------------------------------------------------


def test_fix_after_pdi_lost_every_event_and_contact_brings_back_every_invitation(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first_sync(org)
    want = live_view(org.pdi.state())
    assert sum(want["invitations"].values()) == 5
    for kind in ("events", "contacts"):
        for row in org.pdi.state()[kind]:
            org.pdi.admin("delete", {"kind": kind, "id": row["id"]})
    out = fixed_for_good(org, monkeypatch, capsys, want)
    assert "with 5 invitation(s)" not in out  # the count is per contact


@pytest.mark.parametrize("browser_url", [None, ""])
def test_a_second_live_event_of_a_timeslot_without_a_website_is_found_and_canceled(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    browser_url: str | None,
) -> None:
    """An event Mobilize left without a page gives PDI events without a website: a second live
    one of its timeslot (what a lost answer left before issue 19, or a PDI user's copy) is
    found by what the sync's recovery finds such events by (name and end), and canceled."""
    event = canvass(305, F.slot(3008, 9), browser_url=browser_url)
    eve = F.person(35, "Eve", "Eden", "eve@example.org")
    signup = F.attendance(408, eve, event, F.slot(3008, 9), "REGISTERED", None)
    org.sync(events=[event], people=[eve], attendances=[signup])
    want = live_view(org.pdi.state())
    (made,) = org.pdi.state()["events"]
    assert not made["website"]
    org.pdi.admin("copy", {"kind": "events", "id": made["id"], "fields": {}})
    code, out = org.reconcile(monkeypatch, capsys, fix=False)
    assert code == 1, out
    assert re.search(r"^extra live PDI event +timeslot:3008 ", out, re.MULTILINE), out
    fixed_for_good(org, monkeypatch, capsys, want)
    names = sorted(e["name"] for e in org.pdi.state()["events"])
    assert names == ["Canvass 305", "[Canceled] Canvass 305"]


def test_fix_cancels_a_copy_of_an_event_whose_venue_a_pdi_user_deleted(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PDI refuses an event that points to a location it does not have: the copy is canceled
    once the sync has made the venue again, pointing to it, like the events the sync keeps."""
    first_sync(org)
    want = live_view(org.pdi.state())
    state = org.pdi.state()
    (library,) = [loc for loc in state["locations"] if loc["locationName"] == "Library"]
    (event,) = [e for e in state["events"] if e["locationId"] == library["id"]]
    org.pdi.admin("copy", {"kind": "events", "id": event["id"], "fields": {}})
    org.pdi.admin("delete", {"kind": "locations", "id": library["id"]})
    code, out = org.reconcile(monkeypatch, capsys, fix=False)
    assert code == 1, out
    assert "extra live PDI event" in out, out
    assert "id map points to missing location" in out, out
    fixed_for_good(org, monkeypatch, capsys, want)
    copies = [e for e in org.pdi.state()["events"] if e["website"] == event["website"]]
    assert sorted(e["name"] for e in copies) == ["Canvass 302", "[Canceled] Canvass 302"]


# --- what the sync canceled, live again ---------------------------------------------------------


def uncancel(pdi: Pdi, name: str) -> str:
    """A PDI user takes "[Canceled] " off an event's name; its id."""
    (row,) = [e for e in pdi.state()["events"] if e["name"] == CANCELED + name]
    pdi.admin("update", {"kind": "events", "id": row["id"], "fields": {"name": name}})
    return str(row["id"])


@pytest.mark.parametrize("then", ["approved", "deleted"])
def test_fix_cancels_again_the_old_copy_of_a_moved_event_made_live_in_pdi(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    then: str,
) -> None:
    """The old copy of an event moved to another calendar is kept in the id map under its PDI
    id ("pdi:<id>"), not under a timeslot: a PDI user making it live again must be found, and
    --fix must cancel it again, whether the Mobilize event is still there or deleted since."""
    records = first_sync(org)
    e1 = {**records["e1"], "event_type": "PHONE_BANK", "modified_date": F.BASE}
    org.sync(events=[e1])  # the move: made anew in Phone Banks, the old one canceled
    if then == "deleted":
        org.sync(deleted_events=[{"id": 301, "deleted_date": F.BASE}])
    want = live_view(org.pdi.state())
    old_copies = [e for e in org.pdi.state()["events"] if e["name"] == CANCELED + "Canvass 301"]
    assert len(old_copies) == (2 if then == "approved" else 4)
    calendars = {c["name"]: c["id"] for c in org.pdi.state()["calendars"]}
    (old,) = [e for e in old_copies if e["calendarId"] == calendars["Canvassing"]][:1]
    org.pdi.admin("update", {"kind": "events", "id": old["id"], "fields": {"name": "Canvass 301"}})
    code, out = org.reconcile(monkeypatch, capsys, fix=False)
    assert code == 1, out
    assert old["id"] in out, out
    fixed_for_good(org, monkeypatch, capsys, want)


# --- every way a PDI user can change what the sync wrote, mended at once ------------------------


def canceled_invitations_live(state: dict[str, Any]) -> list[str]:
    canceled = {e["id"] for e in state["events"] if e["name"].startswith(CANCELED)}
    return [
        i["id"]
        for i in state["invitations"]
        if i["eventId"] in canceled and i["rsvpStatus"] != "Cancelled"
    ]


def test_fix_mends_every_field_and_every_object_a_pdi_user_changed(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = first_sync(org)
    ben = records["ben"]
    # A second run: Ben's email changes (his invitations follow him, the old ones canceled),
    # one event loses a timeslot, another is deleted.
    ben_new = {
        **ben,
        "email_addresses": [{"primary": True, "address": "ben.new@example.org"}],
        "modified_date": F.BASE,
    }
    e3 = canvass(303, F.slot(3005, 6), F.slot(3006, 7))
    e4 = canvass(304, F.slot(3007, 8))
    dan = F.person(34, "Dan", "Dunn", "dan@example.org")
    org.sync(
        events=[e3, e4],
        people=[dan],
        attendances=[
            F.attendance(406, dan, e3, F.slot(3006, 7), "REGISTERED", None),
            F.attendance(407, dan, e4, F.slot(3007, 8), "REGISTERED", None),
        ],
    )
    e3_now = {**e3, "timeslots": [F.slot(3005, 6)], "modified_date": F.BASE}
    org.sync(
        events=[e3_now],
        people=[ben_new],
        deleted_events=[{"id": 304, "deleted_date": F.BASE}],
    )
    state = org.pdi.state()
    want = live_view(state)
    assert canceled_invitations_live(state) == []

    def one(kind: str, **match: Any) -> dict[str, Any]:
        rows = [r for r in org.pdi.state()[kind] if all(r.get(k) == v for k, v in match.items())]
        assert len(rows) == 1, (kind, match, rows)
        return rows[0]

    def update(kind: str, row: dict[str, Any], **fields: Any) -> None:
        org.pdi.admin("update", {"kind": kind, "id": row["id"], "fields": fields})

    by_email = {c["emails"][0]["emailAddress"]: c for c in state["contacts"] if c["emails"]}
    start = {s["id"]: V.pdi_datetime(s["start_date"]) for s in (F.slot(3001, 3), F.slot(3002, 4))}
    first = one("events", name="Canvass 301", startDateTimeUtc=start[3001])
    update("events", first, name="Renamed in PDI", description="", phone="555-0199")
    update("locations", one("locations", locationName="Union Hall"), locationAddress="9 Elm St")
    update("contacts", by_email["ann@example.org"], lastName="Smith", phones=[])
    update("contacts", by_email["ben.new@example.org"], emails=[])
    second = one("events", name="Canvass 301", startDateTimeUtc=start[3002])
    org.pdi.admin("copy", {"kind": "events", "id": second["id"], "fields": {}})
    ben_now = by_email["ben.new@example.org"]["id"]
    update(
        "invitations", one("invitations", contactId=ben_now, eventId=first["id"]), isConfirmed=False
    )
    ben_before = by_email["ben@example.org"]["id"]
    update(
        "invitations",
        one("invitations", contactId=ben_before, eventId=first["id"]),
        rsvpStatus="Yes",
    )
    removed = one("events", name="[Canceled] Canvass 303")
    update("invitations", one("invitations", eventId=removed["id"]), rsvpStatus="Yes")
    update("events", one("events", name="[Canceled] Canvass 304"), name="Canvass 304")

    code, out = org.reconcile(monkeypatch, capsys, fix=False)
    assert code == 1
    kinds = Counter(
        line.split("  ")[0] for line in out.splitlines()[1:] if line and not line.startswith(" ")
    )
    assert kinds == {
        "event fields differ": 1,
        "extra live PDI event": 1,
        "location fields differ": 1,
        "isConfirmed disagrees": 1,
        "contact names differ": 1,
        "contact lacks its email": 1,
        "contact lacks its phone": 1,
        "deleted event live in PDI": 1,
        "invitation live on canceled event": 1,
        "old email's invitation live": 1,
        "10 discrepancies": 1,
        "(4 timeslots, 5 signups, 5 PDI contacts and 2 locations compared)": 1,
        "(emails are shown as <email>: the CSV has them, "
        + org.config["reconcile_report_path"]
        + ")": 1,
    }, out
    assert not [name for name in ("Ann", "Smith", "555", "0131") if name in out], out
    fixed_for_good(org, monkeypatch, capsys, want)
    state = org.pdi.state()
    assert canceled_invitations_live(state) == []
    copies = [e for e in state["events"] if e["startDateTimeUtc"] == start[3002]]
    assert sorted(e["name"] for e in copies) == ["Canvass 301", "[Canceled] Canvass 301"]


# --- what the sync's plan says beyond events -------------------------------------------------


def test_fix_mends_the_contact_of_a_person_only_a_signup_shows(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A person the people stream does not hold gets the contact of their signup's copy: a PDI
    user's rename and a lost phone are found, and mended from that copy."""
    records = first_sync(org)
    fay = F.person(36, "Fay", "Ford", "fay@example.org", "+1 217 555 0136")
    signup = F.attendance(409, fay, records["e1"], F.slot(3001, 3), "REGISTERED", None)
    org.sync(attendances=[signup])
    want = live_view(org.pdi.state())
    (contact,) = [
        c
        for c in org.pdi.state()["contacts"]
        if [e["emailAddress"] for e in c["emails"]] == ["fay@example.org"]
    ]
    fields = {"lastName": "Smith", "phones": []}
    org.pdi.admin("update", {"kind": "contacts", "id": contact["id"], "fields": fields})
    code, out = org.reconcile(monkeypatch, capsys, fix=False)
    assert code == 1, out
    assert "contact names differ" in out, out
    assert "contact lacks its phone" in out, out
    fixed_for_good(org, monkeypatch, capsys, want)


def test_fix_cancels_a_removed_timeslot_canceled_before_as_not_approved_and_made_live(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An event canceled as not approved, one of its PDI events made live by a PDI user, then
    approved again in Mobilize without that timeslot: the sync would only record the new reason
    (PDI shows the event canceled, as far as the id map knows), so reconcile must find it."""
    records = first_sync(org)
    before = live_view(org.pdi.state())
    e1 = records["e1"]
    org.sync(events=[{**e1, "approval_status": "REJECTED", "modified_date": F.BASE}])
    gone = V.pdi_datetime(F.slot(3002, 4)["start_date"])
    (row,) = [e for e in org.pdi.state()["events"] if e["startDateTimeUtc"] == gone]
    assert row["name"] == CANCELED + "Canvass 301"
    org.pdi.admin("update", {"kind": "events", "id": row["id"], "fields": {"name": "Canvass 301"}})
    # Mobilize now: approved again, without that timeslot (no sync since).
    approved = {**e1, "timeslots": [F.slot(3001, 3)], "modified_date": F.BASE + 1}
    path = org.tmp_path / "not-synced.singer"
    path.write_text("\n".join(F.lines({"events": [approved]}, {"bookmarks": {}})) + "\n")
    org.inputs.append(path)
    code, out = org.reconcile(monkeypatch, capsys, fix=False)
    assert code == 1, out
    assert re.search(r"^removed timeslot live in PDI +timeslot:3002 ", out, re.MULTILINE), out
    # As a sync of these records into an untouched PDI leaves it: the timeslot still listed
    # live again with its invitations, the removed one canceled.
    want = {
        "events": Counter({k: n for k, n in before["events"].items() if k[2] != gone}),
        "contacts": before["contacts"],
        "invitations": Counter({k: n for k, n in before["invitations"].items() if k[0][2] != gone}),
    }
    fixed_for_good(org, monkeypatch, capsys, want)
