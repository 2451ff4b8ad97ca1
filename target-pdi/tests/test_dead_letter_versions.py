"""A dead letter never outlives a newer version of its record (issue 19, part "letters").

A dead letter is an old read of a Mobilize record, retried first by every run. Once a newer
version of the same record is written or seen, the letter is discarded (written, or skipped
by the rules) or superseded (the newer version failed in its turn and is kept instead); a
letter that embeds an older copy of a person or an event (a signup's) gets the newer copy. So
a retry never writes what Mobilize has since changed, and a record fixed in Mobilize reaches
PDI however its batches fall.

Each case runs the in-process target over real HTTP to the PDI simulator (harsh answers), on
both dead-letter stores: files (a SQLite id map) and a table (a PostgreSQL id map). PDI is
compared whole with the model of tests/e2e/expect.py, computed from Mobilize's current data.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from singer_sdk.testing import TargetTestRunner
from target_pdi.configuration.settings import Settings
from target_pdi.errors import RecordRejected
from target_pdi.pdi.client import PDIClient
from target_pdi.stores import configured as stores
from target_pdi.target import TargetPDI

from tests.e2e.expect import PdiModel, differences, router

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
BACKENDS = ["files", pytest.param("postgres", marks=pytest.mark.postgres)]
ROUTES = {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"}
HOUR = 3600
_databases = itertools.count()

SLOT = F.slot(1001, 3)
CANVASS = F.event(101, "Canvass Springfield", "CANVASS", [SLOT])


@pytest.fixture(params=BACKENDS)
def letters_config(
    request: pytest.FixtureRequest, config: dict[str, Any], tmp_path: Path
) -> dict[str, Any]:
    """The target's config with its dead letters in files (SQLite id map) or in a table
    (PostgreSQL id map: a fresh database on the session's server)."""
    if request.param == "files":
        return config
    from tests.postgres_server import create_database

    server = request.getfixturevalue("postgres_url")
    url = create_database(server, f"letters_{os.getpid()}_{next(_databases)}")
    return {**config, "id_map_url": url}


def run(config: dict[str, Any], tmp_path: Path, streams: dict[str, list[dict[str, Any]]]) -> None:
    path = tmp_path / f"input-{next(_databases)}.singer"
    path.write_text("\n".join(F.lines(streams, {"bookmarks": {}})) + "\n")
    TargetTestRunner(TargetPDI, config, input_filepath=path).sync_all()


def nothing(config: dict[str, Any], tmp_path: Path) -> None:
    """A run that reads nothing new: it only retries the dead letters."""
    run(config, tmp_path, {"events": []})


def letters(config: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The dead letters waiting, whichever store keeps them."""
    settings = Settings.from_config(config)
    with closing(stores.dead_letter_store(settings, read_only=True)) as store:
        return {(e["stream"], e["key"]): e for e in store.entries()}


def model_of(**current: list[dict[str, Any]]) -> PdiModel:
    """What PDI should hold for Mobilize's current data (one sync of all of it)."""
    model = PdiModel(router(ROUTES, None))
    model.sync({"events": [], "people": [], "attendances": [], "deleted_events": [], **current})
    return model


class Refusals:
    """PDI refuses chosen creates with a 400, a number of times each, as it refuses a record."""

    def __init__(self) -> None:
        self.rules: list[list[Any]] = []  # [predicate(path, body), times left]

    def add(self, refuses: Callable[[str, dict[str, Any]], bool], times: int) -> None:
        self.rules.append([refuses, times])

    def check(self, path: str, body: dict[str, Any]) -> None:
        for rule in self.rules:
            if rule[1] > 0 and rule[0](path, body):
                rule[1] -= 1
                raise RecordRejected(f"POST {path}: HTTP 400", http_status=400, body="refused")

    @property
    def left(self) -> list[int]:
        return [rule[1] for rule in self.rules]


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> Refusals:
    found = Refusals()
    original = PDIClient.create

    def create(self: PDIClient, path: str, body: Any, find_existing: Any) -> Any:
        found.check(path, dict(body))
        return original(self, path, body, find_existing)

    monkeypatch.setattr(PDIClient, "create", create)
    return found


def invitation_of(pdi: Pdi, email: str) -> Callable[[str, dict[str, Any]], bool]:
    def refuses(path: str, body: dict[str, Any]) -> bool:
        if not path.endswith("/invitations"):
            return False
        contacts = pdi.state()["contacts"]
        ids = {c["id"] for c in contacts if c["emails"][0]["emailAddress"] == email}
        return body.get("contactId") in ids

    return refuses


def event_named(name: str) -> Callable[[str, dict[str, Any]], bool]:
    return lambda path, body: path.endswith("/events") and body.get("name") == name


# --- defect 5: the same record, a newer version -----------------------------------------------


def test_a_letter_that_fails_again_never_overwrites_the_newer_signup(
    pdi: Pdi, letters_config: dict[str, Any], tmp_path: Path, refusals: Refusals
) -> None:
    """Issue 19, defect 5: Ann's REGISTERED signup is refused twice (its first write and its
    retry, before the first batch of run 2); her CANCELLED version, read later in run 2, is
    written. The old letter must not come back in run 3 and make her "Yes" again."""
    config = {**letters_config, "batch_size_rows": 1}
    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    bob = F.person(2, "Bob", "Ray", "bob@example.org")
    registered = F.attendance(11, ann, CANVASS, SLOT, "REGISTERED", None)
    cancelled = F.attendance(11, ann, CANVASS, SLOT, "CANCELLED", None, modified=HOUR)
    bobs = F.attendance(12, bob, CANVASS, SLOT, "REGISTERED", None)
    refusals.add(invitation_of(pdi, "ann@example.org"), times=2)

    run(config, tmp_path, {"events": [CANVASS], "people": [ann], "attendances": [registered]})
    assert set(letters(config)) == {("attendances", "11")}
    run(config, tmp_path, {"attendances": [bobs, cancelled]})
    assert refusals.left == [0]
    model = model_of(events=[CANVASS], people=[ann, bob], attendances=[bobs, cancelled])
    assert differences(model, pdi.state()) == []

    writes = pdi.writes()
    nothing(config, tmp_path)
    assert differences(model, pdi.state()) == []
    assert pdi.writes() == writes
    assert letters(config) == {}


def test_a_letter_of_an_event_never_overwrites_its_newer_version(
    pdi: Pdi, letters_config: dict[str, Any], tmp_path: Path, refusals: Refusals
) -> None:
    """The same for the events stream, whose letters were never discarded when written."""
    config = {**letters_config, "batch_size_rows": 1}
    renamed = {**CANVASS, "title": "Canvass Springfield (moved to 10am)"}
    renamed["modified_date"] = CANVASS["modified_date"] + HOUR
    phone_bank = F.event(102, "Phone Bank Night", "PHONE_BANK", [F.slot(1002, 5)])
    refusals.add(event_named("Canvass Springfield"), times=2)

    run(config, tmp_path, {"events": [CANVASS]})
    assert set(letters(config)) == {("events", "101")}
    run(config, tmp_path, {"events": [phone_bank, renamed]})
    assert refusals.left == [0]
    model = model_of(events=[phone_bank, renamed])
    assert differences(model, pdi.state()) == []

    writes = pdi.writes()
    nothing(config, tmp_path)
    assert differences(model, pdi.state()) == []
    assert pdi.writes() == writes
    assert letters(config) == {}


# --- a person fixed in Mobilize, read again without their signups -------------------------------


def test_a_person_fixed_in_mobilize_reaches_pdi_with_their_signups(
    pdi: Pdi, letters_config: dict[str, Any], tmp_path: Path
) -> None:
    """PDI refuses Ann's contact (no last name): she and her signup are dead letters. Mobilize
    then has her last name, and the people stream brings her alone, in a batch with none of her
    signups. Her letter must not be lost, and her signup's letter, which embeds the old copy of
    her, must not fail for ever: the next run writes both."""
    nameless = F.person(1, "Ann", "", "ann@example.org")
    named = F.person(1, "Ann", "Lee", "ann@example.org", modified=HOUR)
    signup = F.attendance(11, nameless, CANVASS, SLOT, "REGISTERED", None)

    run(
        letters_config,
        tmp_path,
        {"events": [CANVASS], "people": [nameless], "attendances": [signup]},
    )
    assert set(letters(letters_config)) == {("people", "1"), ("attendances", "11")}
    run(letters_config, tmp_path, {"people": [named]})
    nothing(letters_config, tmp_path)

    model = model_of(events=[CANVASS], people=[named], attendances=[signup])
    assert differences(model, pdi.state()) == []
    assert letters(letters_config) == {}
    writes = pdi.writes()
    nothing(letters_config, tmp_path)
    assert pdi.writes() == writes


# --- a signup's letter embeds its event: a newer version of the event supersedes it -------------


def test_a_signup_letter_never_brings_back_an_event_mobilize_no_longer_approves(
    pdi: Pdi, letters_config: dict[str, Any], tmp_path: Path, refusals: Refusals
) -> None:
    """PDI refuses the event twice: in run 1 (its signup is dead-lettered with it) and when
    run 2 retries the signup. Run 2 then reads the event REJECTED. The signup's letter embeds
    the event as it was, approved: retried in run 3, it must not make a live PDI event."""
    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    signup = F.attendance(11, ann, CANVASS, SLOT, "REGISTERED", None)
    rejected = {**CANVASS, "approval_status": "REJECTED"}
    rejected["modified_date"] = CANVASS["modified_date"] + HOUR
    refusals.add(event_named("Canvass Springfield"), times=2)

    run(letters_config, tmp_path, {"events": [CANVASS], "people": [ann], "attendances": [signup]})
    assert set(letters(letters_config)) == {("events", "101"), ("attendances", "11")}
    run(letters_config, tmp_path, {"events": [rejected]})
    assert refusals.left == [0]
    nothing(letters_config, tmp_path)

    state = pdi.state()
    # No PDI event, live or canceled, and so no invitation: the event was never in PDI. (Run 2's
    # retry made Ann's contact before her invitation's event failed: contacts come first.)
    assert state["events"] == []
    assert state["invitations"] == []
    assert [c["emails"][0]["emailAddress"] for c in state["contacts"]] == ["ann@example.org"]
    assert letters(letters_config) == {}


# --- a retry never writes a signup older than the one PDI holds ----------------------------------


def test_a_retried_signup_older_than_the_one_written_changes_nothing(
    pdi: Pdi, config: dict[str, Any]
) -> None:
    """The window supersede.py cannot close: a run writes Ann's CANCELLED signup and is killed
    before it saves that her REGISTERED letter is settled. The next run retries the letter
    first: the invitation, written from a newer version of the signup, stays as it is."""
    from target_pdi.sync.planning.events import Batch
    from target_pdi.sync.runtime import Runtime
    from target_pdi.sync.summary import Summary

    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    registered = F.attendance(11, ann, CANVASS, SLOT, "REGISTERED", None)
    cancelled = F.attendance(11, ann, CANVASS, SLOT, "CANCELLED", None, modified=HOUR)
    runtime = Runtime(Settings.from_config(config), Summary())
    try:
        runtime.engine.run(Batch(events=[CANVASS], people=[ann], attendances=[cancelled]))
        writes = pdi.writes()
        runtime.engine.run(Batch(attendances=[registered], retry=True))
    finally:
        runtime.close()
    model = model_of(events=[CANVASS], people=[ann], attendances=[cancelled])
    assert differences(model, pdi.state()) == []
    assert pdi.writes() == writes
