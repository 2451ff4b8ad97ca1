"""supersede.run_batch on both dead-letter stores (files, and a PostgreSQL table): a batch
settles the letters of the records it holds, whichever run left them, and the signups' letters
take the newer copies of the people and events it held (test_dead_letter_versions.py shows
what a user sees of it; these pin what each store keeps)."""

from __future__ import annotations

import itertools
import logging
import os
from contextlib import closing
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from target_pdi.configuration.mapping_files import Mappings
from target_pdi.configuration.settings import Settings
from target_pdi.stores import configured as stores
from target_pdi.stores.deadletters import DeadLetterStore
from target_pdi.sync.drain import Drain
from target_pdi.sync.planning.events import Batch
from target_pdi.sync.summary import Summary
from target_pdi.sync.supersede import refreshed, run_batch

BACKENDS = ["files", pytest.param("postgres", marks=pytest.mark.postgres)]
_databases = itertools.count()
HOUR = 3600
EVENT = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "files":
        url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    else:
        from tests.postgres_server import create_database

        server = request.getfixturevalue("postgres_url")
        url = create_database(server, f"supersede_{os.getpid()}_{next(_databases)}")
    return Settings(
        id_map_url=url,
        organization="north",
        dead_letter_path=str(tmp_path / "north" / "dead_letters.jsonl"),
        summary_path=str(tmp_path / "north" / "summary.json"),
        batch_size_rows=5,
    )


def person(pid: int, family: str, modified: int = 0) -> dict[str, Any]:
    return F.person(pid, "Ann", family, f"p{pid}@example.org", modified=modified)


def signup(att_id: int, who: dict[str, Any], event: dict[str, Any] = EVENT) -> dict[str, Any]:
    return F.attendance(att_id, who, event, F.slot(1001, 3), "REGISTERED", None)


class Refusing:
    """An engine that dead-letters the records named, and writes the others."""

    def __init__(self, store: DeadLetterStore, refuse: set[tuple[str, int]]) -> None:
        self.store, self.refuse = store, refuse

    def run(self, batch: Batch) -> None:
        for stream in ("events", "people", "attendances"):
            for record in getattr(batch, stream):
                if (stream, record["id"]) in self.refuse:
                    self.store.add(stream, record["id"], f"{stream} refused", record)


def opened(settings: Settings, **kw: Any) -> DeadLetterStore:
    return stores.dead_letter_store(settings, **kw)


def waiting(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    with closing(opened(settings, read_only=True)) as store:
        return {(e["stream"], e["key"]): e for e in store.entries()}


def first_run(settings: Settings, letters: list[tuple[str, dict[str, Any]]]) -> None:
    with closing(opened(settings)) as store:
        for stream, record in letters:
            store.add(stream, record["id"], f"{stream} refused", record, http_status=400)
        store.save()


def next_run(
    settings: Settings, batches: list[tuple[Batch, set[tuple[str, int]]]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """A run as the drain makes it: the earlier letters retried first (those of the first batch's
    records left to it), then each batch, a save after each."""
    with closing(opened(settings)) as store:
        drain = Drain(settings, Summary(), Mappings(), logging.getLogger("test"))
        for n, (batch, refuse) in enumerate(batches):
            engine = Refusing(store, refuse)
            runtime: Any = type("Runtime", (), {"deadletters": store, "engine": engine})()
            if n == 0:
                drain._retry_dead_letters(runtime, batch)
            run_batch(engine, store, batch)
            store.save()
    return waiting(settings)


def test_a_batch_settles_the_letters_of_its_records_whichever_run_left_them(
    settings: Settings,
) -> None:
    ann, bob, cy = person(1, ""), person(2, ""), person(3, "")
    first_run(settings, [("people", ann), ("people", bob), ("people", cy), ("events", EVENT)])
    first = waiting(settings)[("people", "2")]["first_ts"]
    bob_fixed, cy_fixed = person(2, "Ray", HOUR), person(3, "Cole", HOUR)
    renamed = {**EVENT, "title": "Canvass Again", "modified_date": EVENT["modified_date"] + 1}
    letters = next_run(
        settings,
        [
            # Bob's and Cy's letters are left to this batch; Ann and the event are retried
            # first and refused again.
            (Batch(people=[bob_fixed, cy_fixed]), {("people", 1), ("people", 2), ("events", 101)}),
            # A later batch writes the event's newer version: its letter, retried and refused
            # again at the start of the run, goes.
            (Batch(events=[renamed]), set()),
        ],
    )
    # Cy written: gone. Bob refused again: his newer version replaced the old one, and his
    # letter still says when he first failed. Ann, not read again, waits as she was.
    assert set(letters) == {("people", "1"), ("people", "2")}
    assert letters[("people", "2")]["record"] == bob_fixed
    assert letters[("people", "2")]["first_ts"] == first
    assert letters[("people", "1")]["record"] == ann


def test_a_signup_letter_takes_the_newer_person_and_event_a_batch_held(settings: Settings) -> None:
    ann = person(1, "")
    letter = {**signup(11, ann), "pdi_contact_lastName": ""}  # fields.yml's, from the old copy
    first_run(settings, [("attendances", letter)])
    ann_fixed = person(1, "Lee", HOUR)
    rejected = {**EVENT, "approval_status": "REJECTED", "modified_date": EVENT["modified_date"]}
    letters = next_run(
        settings,
        [(Batch(people=[ann_fixed], events=[rejected]), {("attendances", 11)})],
    )
    record = letters[("attendances", "11")]["record"]
    assert record["person"] == ann_fixed
    assert "pdi_contact_lastName" not in record
    assert record["event"] == rejected
    assert record["timeslot"] == rejected["timeslots"][0]
    assert letters[("attendances", "11")]["reason"] == "attendances refused"
    assert letters[("attendances", "11")]["first_ts"]


def test_a_fix_keeps_the_earlier_letters_but_settles_those_of_its_records(
    settings: Settings,
) -> None:
    """reconcile --fix retries no letter, so earlier ones stay; but a record it writes has no
    letter left for the next sync to retry over it."""
    ann, bob = person(1, ""), person(2, "")
    first_run(settings, [("people", ann), ("people", bob)])
    with closing(opened(settings)) as store:
        store.keep_earlier()
        run_batch(Refusing(store, set()), store, Batch(people=[person(1, "Lee", HOUR)]))
        store.save()
    letters = waiting(settings)
    assert set(letters) == {("people", "2")}
    assert letters[("people", "2")]["record"] == bob


def test_a_dry_run_settles_letters_in_memory_only(settings: Settings) -> None:
    first_run(settings, [("people", person(1, "")), ("people", person(2, ""))])
    before = waiting(settings)
    with closing(opened(settings, read_only=True)) as store:
        run_batch(Refusing(store, set()), store, Batch(people=[person(1, "Lee", HOUR)]))
        assert not store.holds("people", 1)
        store.save()
    assert waiting(settings) == before


def test_only_newer_copies_replace_embedded_ones() -> None:
    ann, older = person(1, "Lee", HOUR), person(1, "", 0)
    letter = signup(11, ann)
    assert refreshed(letter, {1: older}, {}) is None
    assert refreshed(letter, {1: ann}, {}) is None
    older_event = {**EVENT, "title": "Old", "modified_date": EVENT["modified_date"] - 1}
    assert refreshed(letter, {2: older}, {101: older_event}) is None
    newer_event = {**EVENT, "title": "Moved", "modified_date": EVENT["modified_date"] + 1}
    moved = refreshed(letter, {}, {101: newer_event})
    assert moved is not None
    assert moved["event"]["title"] == "Moved"
    assert moved["person"] == ann


def test_the_records_a_batch_holds_are_keyed_as_their_letters_are() -> None:
    from target_pdi.sync.supersede import held

    batch = Batch(
        events=[EVENT, {"id": None}],
        deleted_events=[{"id": 102, "deleted_date": 1}],
        people=[person(1, "Lee")],
        attendances=[signup(11, person(1, "Lee"))],
        cancellations=[{"key": "ts:1001", "reason": "removed", "event_id": 101}],
    )
    assert held(batch) == {
        ("events", "101"),
        ("deleted_events", "102"),
        ("people", "1"),
        ("attendances", "11"),
        ("cancellations", "ts:1001"),
    }
