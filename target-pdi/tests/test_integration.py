"""target-pdi against the PDI simulator over real HTTP (sandbox/pdi/), via TargetTestRunner."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.testing import TargetTestRunner
from target_pdi.errors import AuthenticationError, ConfigurationError
from target_pdi.target import TargetPDI

FIXTURES = Path(__file__).parent / "fixtures"
Pdi = Any  # the `pdi` fixture (conftest.Pdi): not importable under --import-mode=importlib


def run(config: dict[str, Any], fixture: str | Path) -> TargetTestRunner:
    path = fixture if isinstance(fixture, Path) else FIXTURES / fixture
    runner = TargetTestRunner(TargetPDI, config, input_filepath=path)
    runner.sync_all()
    return runner


def by_name(state: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in state["events"]:
        out.setdefault(event["name"], []).append(event)
    return out


def invitations_of(state: dict[str, Any], event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    emails = {c["id"]: c["emails"][0]["emailAddress"] for c in state["contacts"]}
    return {emails[i["contactId"]]: i for i in state["invitations"] if i["eventId"] == event["id"]}


def counts(state: dict[str, Any]) -> dict[str, int]:
    return {k: len(state[k]) for k in ("locations", "events", "contacts", "invitations")}


def test_first_run_applies_every_seed_rule(pdi: Pdi, config: dict[str, Any]) -> None:
    runner = run(config, "run1.singer")
    state = pdi.state()
    assert counts(state) == {"locations": 4, "events": 7, "contacts": 2, "invitations": 8}
    # STATE passes through untouched, once, after the drain.
    assert runner.state_messages == [
        {"bookmarks": {"events": {"replication_key_value": 1793000000}}}
    ]

    locations = {loc["locationName"]: loc for loc in state["locations"]}
    assert locations["Union Hall"]["locationAddress"] == "123 Main St, Apt 4, Springfield, IL 62701"
    assert locations["Private Venue"]["locationAddress"] == ""
    assert locations["Virtual"]["locationAddress"] == ""
    assert locations["Library"]["locationAddress"] == "1 Book Rd, Springfield, IL 62701"
    assert not any("private" in loc["locationAddress"].lower() for loc in state["locations"])

    calendars = {c["name"]: c["id"] for c in state["calendars"]}
    events = by_name(state)
    assert "Team Meeting" not in events  # MEETING not routed, no default: skipped
    springfield = sorted(events["Canvass Springfield"], key=lambda e: e["startDateTimeUtc"])
    assert len(springfield) == 2  # one PDI event per timeslot
    first = springfield[0]
    assert first["calendarId"] == calendars["Canvassing"]
    assert first["startDateTimeUtc"] == "2026-10-29T22:33:20.000Z"
    assert first["endDateTimeUtc"] == "2026-10-30T00:33:20.000Z"
    assert first["website"] == "https://www.mobilize.us/org/event/101/"
    assert first["phone"] == "555-0100"
    assert first["contactEmail"] == "host@example.org"
    assert first["description"] == "<p>Canvass Springfield description</p>"
    assert first["eventCategoryId"] == 0
    assert first["isAllDay"] is False
    assert first["locationId"] == locations["Union Hall"]["id"]
    # Same coordinates (to ~1 m) -> the same Location is reused.
    assert events["Canvass Again"][0]["locationId"] == locations["Union Hall"]["id"]
    assert events["Phone Bank Night"][0]["calendarId"] == calendars["Phone Banks"]
    assert events["Phone Bank Night"][0]["locationId"] == locations["Virtual"]["id"]
    assert events["Private Canvass"][0]["locationId"] == locations["Private Venue"]["id"]
    # Built from the attendance's embedded event (event not in this run).
    assert events["Library Canvass"][0]["locationId"] == locations["Library"]["id"]

    contacts = {c["emails"][0]["emailAddress"]: c for c in state["contacts"]}
    assert set(contacts) == {"alice@example.com", "bob@example.com"}  # trimmed, lowercased
    assert contacts["alice@example.com"]["firstName"] == "Alice"  # people stream beats embedded
    assert contacts["alice@example.com"]["phones"] == [
        {
            **contacts["alice@example.com"]["phones"][0],
            "phoneNumber": "+1 217 555 0101",
            "phoneType": "Mobile",
            "isPrimary": True,
            "extension": "",
        }
    ]
    assert "dave@example.com" not in contacts  # no signup, sync_all_people false

    inv1 = invitations_of(state, first)
    assert inv1["alice@example.com"]["rsvpStatus"] == "Yes"
    assert inv1["alice@example.com"]["isConfirmed"] is False
    assert inv1["bob@example.com"]["rsvpStatus"] == "Cancelled"  # CANCELLED beats attended
    assert inv1["bob@example.com"]["attended"] is True
    inv2 = invitations_of(state, springfield[1])
    assert inv2["alice@example.com"]["rsvpStatus"] == "Yes"
    assert inv2["alice@example.com"]["isConfirmed"] is True  # CONFIRMED
    phone = invitations_of(state, events["Phone Bank Night"][0])
    assert phone["bob@example.com"]["rsvpStatus"] == "Completed"
    assert phone["bob@example.com"]["attended"] is True
    assert phone["alice@example.com"]["rsvpStatus"] == "Cancelled"  # latest of two attendances
    private = invitations_of(state, events["Private Canvass"][0])
    assert private["bob@example.com"]["rsvpStatus"] == "No-Show"
    assert private["bob@example.com"]["attended"] is False

    letters = [json.loads(x) for x in Path(config["dead_letter_path"]).read_text().splitlines()]
    assert {(x["stream"], x["key"], x["reason"]) for x in letters} == {
        ("people", "3", "person has no email address"),
        ("attendances", "16", "person has no email address"),
    }


def test_rerun_makes_zero_writes(pdi: Pdi, config: dict[str, Any]) -> None:
    run(config, "run1.singer")
    writes = pdi.writes()
    pdi.admin("stats/reset", {})
    run(config, "run1.singer")
    assert pdi.writes() == 0
    by_route = pdi.admin("stats")["by_route"]
    # No GET storm either: only the login and the calendar list.
    assert by_route == {"POST /sessions": 1, "GET /calendars": 1}
    assert writes == 22


def test_incremental_changes_and_cancellations(pdi: Pdi, config: dict[str, Any]) -> None:
    run(config, "run1.singer")
    run(config, "run2.singer")
    state = pdi.state()
    events = by_name(state)
    assert len(events["Canvass Springfield (edited)"]) == 2  # PUT, not new events
    assert "Canvass Springfield" not in events
    # Timeslot 1006 disappeared from event 105: canceled; the new timeslot 1008 created.
    assert len(events["[Canceled] Canvass Again"]) == 1
    assert len(events["Canvass Again"]) == 1
    deleted = events["[Canceled] Canvass To Delete"][0]
    assert invitations_of(state, deleted)["bob@example.com"]["rsvpStatus"] == "Cancelled"
    first = min(events["Canvass Springfield (edited)"], key=lambda e: e["startDateTimeUtc"])
    assert invitations_of(state, first)["alice@example.com"]["rsvpStatus"] == "Completed"
    # The embedded (older) person in run2 does not undo the people stream's name.
    assert {c["firstName"] for c in state["contacts"]} == {"Alice", "Bob"}
    assert counts(state) == {"locations": 4, "events": 8, "contacts": 2, "invitations": 8}
    before = pdi.writes()
    run(config, "run2.singer")  # same input again: nothing to do, and no double prefix
    assert pdi.writes() == before
    assert not any(e["name"].startswith("[Canceled] [Canceled]") for e in pdi.state()["events"])


def test_lost_id_map_creates_no_duplicates(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    run(config, "run1.singer")
    run(config, "run2.singer")
    before = pdi.state()
    # Map gone, same input again: everything is recovered from PDI, found identical: 0 writes.
    (tmp_path / "idmap.sqlite").unlink()
    writes = pdi.writes()
    run(config, "run2.singer")
    assert pdi.writes() == writes
    assert pdi.state() == before
    # Map gone, the whole history replayed in one input (as a --full-refresh reads it, the
    # deletions included): objects are found by their Mobilize URL and start, the canceled ones
    # stay canceled, nothing is duplicated and nothing written.
    (tmp_path / "idmap.sqlite").unlink()
    history = tmp_path / "history.singer"
    history.write_text(
        (FIXTURES / "run1.singer").read_text() + (FIXTURES / "run2.singer").read_text()
    )
    writes = pdi.writes()
    run(config, history)
    after = pdi.state()
    assert pdi.writes() == writes
    assert after == before
    assert len(by_name(after)["[Canceled] Canvass To Delete"]) == 1
    assert len(by_name(after)["[Canceled] Canvass Again"]) == 1


def test_bad_credentials_are_fatal_before_any_write(pdi: Pdi, config: dict[str, Any]) -> None:
    with pytest.raises(
        AuthenticationError, match="check settings username, password and api_token"
    ) as exc:
        run({**config, "password": "wrong-password"}, "run1.singer")
    assert "wrong-password" not in str(exc.value)
    assert pdi.writes() == 0


def test_unknown_calendar_is_fatal_before_any_write(pdi: Pdi, config: dict[str, Any]) -> None:
    bad = {**config, "event_type_calendars": {"CANVASS": "Canvasing"}}
    with pytest.raises(
        ConfigurationError, match=r"event_type_calendars\[CANVASS\].*Canvasing.*'Canvassing'"
    ):
        run(bad, "run1.singer")
    with pytest.raises(ConfigurationError, match="setting default_calendar"):
        run({**config, "default_calendar": "Nope"}, "run1.singer")
    assert pdi.writes() == 0


def test_default_calendar_routes_unmapped_types(pdi: Pdi, config: dict[str, Any]) -> None:
    run({**config, "default_calendar": "Meetings"}, "run1.singer")
    state = pdi.state()
    meetings = {c["name"]: c["id"] for c in state["calendars"]}["Meetings"]
    assert [e["calendarId"] for e in by_name(state)["Team Meeting"]] == [meetings]


def test_record_level_rejection_dead_letters_and_retries(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    # Bob has an email but an empty first name: PDI refuses the contact (400, firstName required).
    lines = (FIXTURES / "run1.singer").read_text().splitlines()
    path = tmp_path / "bad.singer"
    path.write_text("\n".join(x.replace('"given_name": "Bob"', '"given_name": ""') for x in lines))
    runner = run(config, path)
    assert runner.state_messages  # the run completes and emits state
    letters = {
        (x["stream"], x["key"]): x
        for x in map(json.loads, Path(config["dead_letter_path"]).read_text().splitlines())
    }
    assert letters[("people", "2")]["http_status"] == 400
    assert "FirstName" in letters[("people", "2")]["body"]
    assert letters[("people", "2")]["record"]["email_addresses"][0]["address"] == "bob@example.com"
    for att in ("13", "14", "15", "20", "22"):  # bob's signups wait for his contact
        assert ("attendances", att) in letters
    assert "sandbox-password" not in Path(config["dead_letter_path"]).read_text()
    assert {c["firstName"] for c in pdi.state()["contacts"]} == {"Alice"}
    # Next run: dead letters go first; still refused, so they stay in the file.
    run(config, "run2.singer")
    kept = Path(config["dead_letter_path"]).read_text()
    assert '"key": "2"' in kept
    # Fixed (here: in the stored records), the next run writes them and empties the file of them.
    Path(config["dead_letter_path"]).write_text(
        kept.replace('"given_name": ""', '"given_name": "Bob"')
    )
    run(config, "run2.singer")
    left = {
        (x["stream"], x["key"])
        for x in map(json.loads, Path(config["dead_letter_path"]).read_text().splitlines())
    }
    assert left == {("people", "3"), ("attendances", "16")}  # only the person without email
    state = pdi.state()
    assert {c["firstName"] for c in state["contacts"]} == {"Alice", "Bob"}
    assert counts(state)["invitations"] == 8


def test_dropped_connection_after_create_makes_no_duplicate(
    pdi: Pdi, config: dict[str, Any]
) -> None:
    # Every write is done by PDI, then the connection dropped: the target
    # must look each object up before re-sending.
    pdi.switches(drop_after_write_next=22)
    run(config, "run1.singer")
    assert counts(pdi.state()) == {"locations": 4, "events": 7, "contacts": 2, "invitations": 8}
    stats = pdi.admin("stats")
    assert stats["writes"] == 22
    alice = next(c for c in pdi.state()["contacts"] if c["firstName"] == "Alice")
    assert len(alice["phones"]) == 1  # the phone POST's lost answer was looked up too
    run(config, "run1.singer")  # the id map recorded every recovered object
    assert pdi.admin("stats")["writes"] == 22


def test_transient_errors_are_retried(pdi: Pdi, config: dict[str, Any]) -> None:
    pdi.switches(fail_rate=0.3, fail_status=503)
    run(config, "run1.singer")
    pdi.switches(fail_rate=0.0)
    assert counts(pdi.state()) == {"locations": 4, "events": 7, "contacts": 2, "invitations": 8}


def test_rate_limited_429_with_retry_after(pdi: Pdi, config: dict[str, Any]) -> None:
    pdi.switches(fail_next=3, fail_status=429, retry_after=0)
    run(config, "run1.singer")
    assert counts(pdi.state())["invitations"] == 8


def test_dry_run_writes_nothing(pdi: Pdi, config: dict[str, Any], tmp_path: Path) -> None:
    run({**config, "dry_run": True}, "run1.singer")
    assert pdi.writes() == 0
    assert not (tmp_path / "idmap.sqlite").exists()
    assert not Path(config["dead_letter_path"]).exists()
    # After a real run, a dry run of new changes still writes nothing.
    run(config, "run1.singer")
    before = pdi.writes()
    run({**config, "dry_run": True}, "run2.singer")
    assert pdi.writes() == before


def test_token_expiry_is_renewed(pdi: Pdi, config: dict[str, Any]) -> None:
    # Tokens revoked server-side mid-run: one 401, one re-login, the run completes.
    run(config, "run1.singer")
    pdi.admin("tokens/expire", {})
    run(config, "run2.singer")
    assert by_name(pdi.state())["Canvass Springfield (edited)"]


def start_target(config: dict[str, Any], tmp_path: Path) -> subprocess.Popen[str]:
    """target-pdi as Meltano runs it: its own process, input on stdin, STATE on stdout, the
    log in ``tmp_path / "target.log"`` (a file: a full pipe would block the target)."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    log = (tmp_path / "target.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from target_pdi.target import TargetPDI; TargetPDI.cli()",
            "--config",
            str(config_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )


def snapshot(state: dict[str, Any]) -> list[tuple[Any, ...]]:
    """PDI's content without its ids: each event with its invitations, and every contact."""
    emails = {c["id"]: c["emails"][0]["emailAddress"] for c in state["contacts"]}
    events = {e["id"]: (e["name"], e["startDateTimeUtc"]) for e in state["events"]}
    rows: list[tuple[Any, ...]] = [("contact", e) for e in emails.values()]
    rows += [("event", *e) for e in events.values()]
    rows += [
        (
            "invitation",
            *events[i["eventId"]],
            emails[i["contactId"]],
            i["rsvpStatus"],
            i["attended"],
        )
        for i in state["invitations"]
    ]
    return sorted(rows, key=repr)


def reference_state(config: dict[str, Any], fixture: str) -> dict[str, Any]:
    """What an uninterrupted run of ``fixture`` leaves in a PDI of its own."""
    from sandbox.pdi.app import PdiApp
    from sandbox.server.http_server import make_server

    server = make_server(PdiApp()).start_in_thread()
    try:
        other = {**config, "api_url": f"http://127.0.0.1:{server.server_address[1]}"}
        other["id_map_url"] = str(config["id_map_url"]).replace(".sqlite", "-reference.sqlite")
        other["dead_letter_path"] = str(config["dead_letter_path"]) + ".reference"
        run(other, fixture)
        return json.loads(
            urllib.request.urlopen(f"{other['api_url']}/__admin/state", timeout=10).read()  # noqa: S310
        )
    finally:
        server.shutdown()
        server.server_close()


def test_sigterm_finishes_what_is_in_flight_and_saves_no_state(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    pdi.switches(latency_ms=150)  # slow enough to stop it halfway
    target = start_target({**config, "max_concurrency": 2}, tmp_path)
    assert target.stdin is not None
    target.stdin.write((FIXTURES / "run1.singer").read_text())
    target.stdin.close()
    deadline = time.monotonic() + 60
    while pdi.writes() < 4:
        assert target.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    target.send_signal(signal.SIGTERM)
    assert target.wait(timeout=60) == 1
    assert target.stdout is not None
    out, err = target.stdout.read(), (tmp_path / "target.log").read_text()
    stopped = [line for line in err.splitlines() if "target-pdi stopped" in line]
    assert len(stopped) == 1
    assert "SIGTERM received" in stopped[0]
    assert "Traceback" not in err
    assert out.strip() == ""  # no STATE: no bookmark past what was not written
    assert 4 <= pdi.writes() < 22

    # The id map knew everything the stopped run had made: the next run completes the work
    # without a duplicate, to the same PDI as a run never stopped.
    pdi.switches(latency_ms=0)
    run(config, "run1.singer")
    assert snapshot(pdi.state()) == snapshot(reference_state(config, "run1.singer"))


def test_batches_are_written_as_they_fill_and_state_follows_each(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    """A long input is written batch by batch, with its STATE, before the input ends: a crash
    loses at most one batch and a bookmark never passes an unwritten record."""
    lines = (FIXTURES / "run1.singer").read_text().splitlines()
    schema, events = lines[2], [line for line in lines if '"stream": "events"' in line][1:]
    state = lines[-1]
    target = start_target({**config, "batch_size_rows": 2}, tmp_path)
    assert target.stdin is not None
    assert target.stdout is not None
    reader = ThreadPoolExecutor(1)
    try:
        target.stdin.write("\n".join([schema, events[0], state, events[1]]) + "\n")
        target.stdin.flush()
        # The second record fills the batch: it is written and the STATE read so far emitted,
        # while the input is still open.
        first_line = reader.submit(target.stdout.readline).result(timeout=30)
        assert json.loads(first_line) == json.loads(state)["value"]
        assert {e["name"] for e in pdi.state()["events"]} >= {"Canvass Springfield"}
        written = pdi.writes()
        target.stdin.write("\n".join(events[2:]) + "\n")
        target.stdin.close()
        assert target.wait(timeout=60) == 0
        assert pdi.writes() > written
    finally:
        target.kill()
        reader.shutdown(wait=False)
