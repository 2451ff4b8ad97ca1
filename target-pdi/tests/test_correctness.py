"""target-pdi keeps PDI right whatever PDI answers: stale ids, failed cancels, contact searches
that are not exact, dead letters retried as they came. In-process target, real HTTP to the PDI
simulator (sandbox/pdi/), its open questions answered the harsh way unless a test says."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from singer_sdk.testing import TargetTestRunner
from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import PDIClient
from target_pdi.target import TargetPDI

FIXTURES = Path(__file__).parent / "fixtures"
Pdi = Any  # the `pdi` fixture (conftest.Pdi)


def write(tmp_path: Path, name: str, streams: dict[str, list[dict[str, Any]]]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(F.lines(streams, {"bookmarks": {}})) + "\n")
    return path


def run(config: dict[str, Any], fixture: str | Path) -> TargetTestRunner:
    path = fixture if isinstance(fixture, Path) else FIXTURES / fixture
    runner = TargetTestRunner(TargetPDI, config, input_filepath=path)
    runner.sync_all()
    return runner


def events_named(state: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in state["events"] if e["name"] == name]


def dead_letters(config: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(config["dead_letter_path"])
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def event_105(slots: list[dict[str, Any]] | None, **kw: Any) -> dict[str, Any]:
    record = F.event(105, "Canvass Again", "CANVASS", slots or [], modified_date=F.BASE, **kw)
    if slots is None:
        record["timeslots"] = None
    return record


# --- timeslots: unknown is not removed ---------------------------------------------------------


def test_an_event_record_without_its_timeslots_cancels_nothing(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    run(config, "run1.singer")
    without_key = {k: v for k, v in event_105([]).items() if k != "timeslots"}
    run(config, write(tmp_path, "nulls.singer", {"events": [event_105(None), without_key]}))
    assert len(events_named(pdi.state(), "Canvass Again")) == 1
    assert not events_named(pdi.state(), "[Canceled] Canvass Again")


# --- a failed cancel is retried as what it is ----------------------------------------------------


@pytest.fixture
def failing_put(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """PUTs to these paths are refused once each with a 400, as PDI would refuse a record."""
    paths: set[str] = set()
    original = PDIClient.put

    def put(self: PDIClient, path: str, body: Any) -> Any:
        if path in paths:
            paths.discard(path)
            raise RecordRejected(f"PUT {path}: HTTP 400", http_status=400, body="refused")
        return original(self, path, body)

    monkeypatch.setattr(PDIClient, "put", put)
    return paths


def test_a_refused_cancel_of_a_removed_timeslot_is_retried_as_a_cancel(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, failing_put: set[str]
) -> None:
    run(config, "run1.singer")
    removed = events_named(pdi.state(), "Canvass Again")[0]
    failing_put.add(f"/events/{removed['id']}")
    # 1006 removed, 1008 added; and an earlier dead letter of the same event must survive.
    run(config, "run2.singer")
    letters = {(x["stream"], x["key"]): x for x in dead_letters(config)}
    assert letters[("cancellations", "ts:1006")]["record"] == {
        "key": "ts:1006",
        "reason": "removed",
        "event_id": 105,
    }
    assert ("events", "105") not in letters  # never a stub record under `events`
    # The retry (an empty input) cancels exactly the removed timeslot, nothing else.
    run(config, write(tmp_path, "empty.singer", {"events": []}))
    state = pdi.state()
    assert len(events_named(state, "[Canceled] Canvass Again")) == 1
    live = events_named(state, "Canvass Again")
    assert [e["startDateTimeUtc"] for e in live] == ["2026-11-06T22:33:20.000Z"]  # 1008
    assert ("cancellations", "ts:1006") not in {
        (x["stream"], x["key"]) for x in dead_letters(config)
    }
    before = pdi.writes()
    run(config, write(tmp_path, "empty2.singer", {"events": []}))
    assert pdi.writes() == before


# --- stale ids heal ------------------------------------------------------------------------------


def test_objects_deleted_in_pdi_are_made_again(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    run(config, "run1.singer")
    state = pdi.state()
    union_hall = next(x for x in state["locations"] if x["locationName"] == "Union Hall")
    first = min(events_named(state, "Canvass Springfield"), key=lambda e: e["startDateTimeUtc"])
    emails = {c["id"]: c["emails"][0]["emailAddress"] for c in state["contacts"]}
    second = max(events_named(state, "Canvass Springfield"), key=lambda e: e["startDateTimeUtc"])
    alice_on_second = next(
        i
        for i in state["invitations"]
        if i["eventId"] == second["id"] and emails[i["contactId"]] == "alice@example.com"
    )
    for kind, obj in (
        ("locations", union_hall),
        ("events", first),
        ("invitations", alice_on_second),
    ):
        pdi.admin("delete", {"kind": kind, "id": obj["id"]})
    # Every deleted object is due for a write: a new venue name, a new title, a new status.
    e101 = F.event(
        101,
        "Canvass Springfield (edited)",
        "CANVASS",
        [F.slot(1001, 3), F.slot(1002, 4)],
        modified_date=F.BASE,
        location=F.location("Union Hall (main)", 39.781721, -89.650148),
    )
    alice = F.person(1, "Alice", "Adams", "alice@example.com", "+1 217 555 0101", modified=100)
    cancel = F.attendance(12, alice, e101, F.slot(1002, 4), "CANCELLED", None, modified=F.DAY)
    path = write(tmp_path, "heal.singer", {"events": [e101], "attendances": [cancel]})
    result = run(config, path)
    assert result.state_messages  # the run went on
    assert not dead_letters(config) or all(
        x["reason"] == "person has no email address" for x in dead_letters(config)
    )
    state = pdi.state()
    emails = {c["id"]: c["emails"][0]["emailAddress"] for c in state["contacts"]}
    edited = sorted(
        events_named(state, "Canvass Springfield (edited)"), key=lambda e: e["startDateTimeUtc"]
    )
    assert len(edited) == 2
    new_hall = next(x for x in state["locations"] if x["locationName"] == "Union Hall (main)")
    # Every event at the old Union Hall now points at the new one, 105 too (not in this run).
    assert {e["locationId"] for e in [*edited, *events_named(state, "Canvass Again")]} == {
        new_hall["id"]
    }
    ids = {x["id"] for x in state["locations"]}
    assert all(e["locationId"] in ids for e in state["events"])

    def invitations(event: dict[str, Any]) -> dict[str, str]:
        return {
            emails[i["contactId"]]: i["rsvpStatus"]
            for i in state["invitations"]
            if i["eventId"] == event["id"]
        }

    # The re-created event got its invitations back; the deleted invitation was made again.
    assert invitations(edited[0]) == {"alice@example.com": "Yes", "bob@example.com": "Cancelled"}
    assert invitations(edited[1]) == {"alice@example.com": "Cancelled"}
    before = pdi.writes()
    run(config, path)
    assert pdi.writes() == before


def test_cancel_of_an_event_deleted_in_pdi_heals_without_a_dead_letter(
    pdi: Pdi, config: dict[str, Any]
) -> None:
    run(config, "run1.singer")
    removed = events_named(pdi.state(), "Canvass Again")[0]
    pdi.admin("delete", {"kind": "events", "id": removed["id"]})
    run(config, "run2.singer")  # removes 1006, whose PDI event is gone
    assert not any(x["stream"] in ("events", "cancellations") for x in dead_letters(config))
    live = events_named(pdi.state(), "Canvass Again")
    assert [e["startDateTimeUtc"] for e in live] == ["2026-11-06T22:33:20.000Z"]  # 1008
    before = pdi.writes()
    run(config, "run2.singer")
    assert pdi.writes() == before


# --- contacts: matched by the email they hold, whatever the search matches -----------------------


@pytest.mark.parametrize("rows_have_emails", [False, True])
@pytest.mark.parametrize("search", ["ignore_email", "fuzzy", "exact"])
def test_contacts_are_matched_exactly_whatever_the_search_answers(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, search: str, rows_have_emails: bool
) -> None:
    pdi.admin("answers", {"contact_search": search, "contact_rows_have_emails": rows_have_emails})
    # Strangers a loose search would return for alice@example.com, one with her very name.
    for first, email in (("Alice", "alice@other.org"), ("Mal", "malice@example.com")):
        pdi.admin(
            "seed",
            {
                "kind": "contacts",
                "object": {"firstName": first, "lastName": "Adams", "emails": [email]},
            },
        )
    run(config, "run1.singer")
    contacts = {c["emails"][0]["emailAddress"]: c for c in pdi.state()["contacts"]}
    assert set(contacts) == {
        "alice@other.org",
        "malice@example.com",
        "alice@example.com",
        "bob@example.com",
    }
    assert contacts["alice@other.org"]["firstName"] == "Alice"  # untouched
    # Map lost: every contact is found again by the email it holds, none made twice.
    (tmp_path / "idmap.sqlite").unlink()
    before = pdi.writes()
    run(config, "run1.singer")
    assert pdi.writes() == before
    assert len(pdi.state()["contacts"]) == 4


# --- dead letters are kept as they came -----------------------------------------------------------


@pytest.fixture
def pdi_token_in_emails() -> Iterator[Pdi]:
    """A PDI whose API token ("example") is part of the volunteers' email domain."""
    from conftest import Pdi as Handle

    from sandbox.pdi.app import PdiApp
    from sandbox.server.http_server import make_server

    server = make_server(PdiApp(api_token="example")).start_in_thread()
    try:
        yield Handle(server)
    finally:
        server.shutdown()
        server.server_close()


def test_dead_letters_are_retried_as_they_came(
    pdi_token_in_emails: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    pdi = pdi_token_in_emails
    config = {**config, "api_url": pdi.url, "api_token": "example"}
    ev = F.event(101, "Canvass Springfield", "CANVASS", [F.slot(1001, 3)])
    # PDI refuses an empty first name; the family name is ordinary text a redaction once mangled.
    bob = F.person(2, "", "Bearer of good news", "bob@example.com")
    streams = {
        "events": [ev],
        "people": [bob],
        "attendances": [F.attendance(13, bob, ev, F.slot(1001, 3), "REGISTERED", None)],
    }
    run(config, write(tmp_path, "bad.singer", streams))
    path = Path(config["dead_letter_path"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # personal data: owner only
    letters = {(x["stream"], x["key"]): x for x in dead_letters(config)}
    stored = letters[("people", "2")]["record"]
    assert stored["email_addresses"][0]["address"] == "bob@example.com"
    assert stored["family_name"] == "Bearer of good news"
    path.write_text(path.read_text().replace('"given_name": ""', '"given_name": "Bob"'))
    run(config, write(tmp_path, "nothing.singer", {"events": []}))
    contacts = pdi.state()["contacts"]
    assert [(c["firstName"], c["lastName"], c["emails"][0]["emailAddress"]) for c in contacts] == [
        ("Bob", "Bearer of good news", "bob@example.com")
    ]
    assert len(pdi.state()["invitations"]) == 1
