"""Poison records never stop a sync (issue 19): Hypothesis makes hostile records of every stream
target-pdi reads, a field of the tap's own schemas at a time (nested ones included): nulls where
a string is due, empty and huge strings, unicode (lone surrogates, NUL, right-to-left), wrong
types, numbers out of range, epoch milliseconds, keys missing, keys given twice in one JSON
object, a record given twice. They are mixed with good records, in the order they come, through
the in-process target (the project's fields.yml, the tap's schemas) into the PDI simulator over
real HTTP under its harsh answers; then a second run retries what was dead-lettered.

Each run must: end without an exception and pass the input's STATE on; log no traceback and no
error; hold in PDI exactly what the model (tests/e2e/expect.py) gives for the good records,
whatever the hostile ones did (every PDI object outside the hostile records' calendar, every
contact they did not bring, compared whole); dead-letter only hostile records, each with a line
naming it; and refuse (dead-letter) each hostile record whose id PDI's id map cannot keep or
whose timeslot starts at no time PDI can hold.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from singer_sdk.testing import TargetTestRunner
from tap_mobilize import schemas as tap_schemas
from target_pdi.rules import values as V
from target_pdi.target import TargetPDI

from tests.e2e.expect import PdiModel, differences, router
from tests.fuzz_settings import fuzz
from tests.hostile_fields import MISSING, field_paths

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"}
HOSTILE_CALENDAR = "Hostile"
CALENDARS = [*ROUTES.values(), HOSTILE_CALENDAR]
STATE = {"bookmarks": {"events": {"replication_key_value": F.BASE}}}
SCHEMAS = {
    "events": tap_schemas.EVENTS_SCHEMA,
    "deleted_events": tap_schemas.DELETED_EVENTS_SCHEMA,
    "people": tap_schemas.PEOPLE_SCHEMA,
    "attendances": tap_schemas.ATTENDANCES_SCHEMA,
}
# Good records' ids are in this range, and no hostile value can name one: a hostile record
# must never reach a good record's PDI objects through an id, only through what it is.
GOOD_IDS = range(7_000_000, 8_000_000)
HOSTILE_BASE = {"events": 9_000_000, "deleted_events": 9_100_000, "people": 9_200_000}
HOSTILE_BASE["attendances"] = 9_300_000
BIGINT = range(-(2**63), 2**63)


# --- the good records ---------------------------------------------------------------------------


def good_records() -> dict[str, list[dict[str, Any]]]:
    e1 = F.event(7_000_101, "Canvass Springfield", "CANVASS", [F.slot(7_001_001, 3)])
    e1["timeslots"].append(F.slot(7_001_002, 4))
    e2 = F.event(7_000_102, "Phone Bank", "PHONE_BANK", [F.slot(7_001_003, 5)], is_virtual=True)
    ann = F.person(7_000_001, "Ann", "Lee", "ann@example.org", "+1 217 555 0101")
    bob = F.person(7_000_002, "Bob", "Ray", "Bob@Example.org")
    return {
        "events": [e1, e2],
        "deleted_events": [],
        "people": [ann, bob],
        "attendances": [
            F.attendance(7_002_001, ann, e1, F.slot(7_001_001, 3), "REGISTERED", None),
            F.attendance(7_002_002, bob, e1, F.slot(7_001_002, 4), "CONFIRMED", True),
            F.attendance(7_002_003, bob, e2, F.slot(7_001_003, 5), "CANCELLED", None),
            F.attendance(7_002_004, ann, e2, F.slot(7_001_003, 5), "REGISTERED", False),
        ],
    }


GOOD = good_records()
GOOD_EMAILS = {"ann@example.org", "bob@example.org"}


def good_model() -> PdiModel:
    model = PdiModel(router(ROUTES, None))
    model.sync(copy.deepcopy(GOOD))
    return model


# --- hostile records --------------------------------------------------------------------------


def hostile_template(stream: str, n: int) -> dict[str, Any]:
    """A record of ``stream`` that the sync would write, before it is made hostile: ids of its
    own, its events in the calendar kept for them, its people at a domain of their own."""
    base = HOSTILE_BASE[stream] + 10 * n
    event = F.event(
        HOSTILE_BASE["events"] + 10 * n,
        f"Hostile {n}",
        "HOSTILE",
        [F.slot(9_500_000 + 10 * n, 20), F.slot(9_500_001 + 10 * n, 21)],
        location=F.location(f"Hostile Hall {n}", 45.0 + n / 100, -100.0),
    )
    person = F.person(HOSTILE_BASE["people"] + 10 * n, "Hos", f"Tile{n}", f"h{n}@hostile.example")
    if stream == "events":
        return event
    if stream == "people":
        return person
    if stream == "deleted_events":
        return {"id": base, "deleted_date": F.BASE}
    return F.attendance(base, person, event, event["timeslots"][0], "REGISTERED", None)


PATHS = {stream: field_paths(schema) for stream, schema in SCHEMAS.items()}
# The fields the sync keys, dates, routes and matches by: drawn as often as all the others.
KEY_FIELDS = {
    *("id", "person_id", "event_id", "timeslot_id", "timeslots", "person", "event", "timeslot"),
    *("start_date", "end_date", "modified_date", "deleted_date", "event_type", "title"),
    *("approval_status", "status", "attended", "email_addresses", "address", "given_name"),
    *("family_name", "location", "latitude", "longitude", "browser_url", "address_visibility"),
}
KEY_PATHS = {stream: [p for p in paths if p[-1] in KEY_FIELDS] for stream, paths in PATHS.items()}


def names_a_good_record(value: Any) -> bool:
    ident = V.mobilize_id(value)
    return ident is not None and ident in GOOD_IDS


def no_good_id(value: Any) -> bool:
    return not names_a_good_record(value)


NUMBERS = st.one_of(
    st.sampled_from(
        [
            10**20,
            -(10**20),
            2**63,
            2**64,
            -(2**63) - 1,
            F.BASE * 1000,  # epoch milliseconds
            253402300800,  # the first second of year 10000
            -1,
            0,
        ]
    ),
    st.integers().filter(no_good_id),
    st.floats(allow_nan=True, allow_infinity=True),
)
STRINGS = st.one_of(
    st.sampled_from(
        ["", "   ", "x" * 20_000, "\x00", "\ud800", "zoë 🙂 \u202eright-to-left", "null", "NaN"]
    ),
    st.sampled_from(["1e400", "99999999999999999999999", "²", "٣", "2026-13-45T99:00:00Z"]),
    st.text(max_size=40).filter(no_good_id),
)
WRONG_TYPES = st.one_of(
    st.booleans(),
    st.just([]),
    st.just({}),
    st.lists(st.integers(min_value=8_000_000), max_size=2),
    st.dictionaries(st.sampled_from(["id", "address", "x"]), st.integers(min_value=8_000_000)),
)
VALUES = st.one_of(st.none(), st.just(MISSING), NUMBERS, STRINGS, WRONG_TYPES)


def set_path(record: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set (or, with MISSING, remove) one field; containers on the way are made as needed."""
    node: Any = record
    for step, following in itertools.pairwise(path):
        child = node[step] if _has(node, step) else None
        if child is None:
            child = [{}] if isinstance(following, int) else {}
            if not _put(node, step, child):
                return
        node = child
        if not isinstance(node, dict | list):
            return  # an earlier change made it something else: nothing inside to change
    last = path[-1]
    if value is MISSING:
        if isinstance(node, dict):
            node.pop(last, None)
        elif isinstance(node, list) and last < len(node):
            node.pop(last)
    else:
        _put(node, last, value)


def _has(node: Any, step: Any) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and step < len(node)


def _put(node: Any, step: Any, value: Any) -> bool:
    if isinstance(node, dict):
        node[step] = value
        return True
    if isinstance(node, list) and isinstance(step, int):
        if step < len(node):
            node[step] = value
        else:
            node.append(value)
        return True
    return False


@st.composite
def hostile_record(draw: Any, stream: str, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the record as the target reads it, a key given a second time in its JSON: {} or one)."""
    record = hostile_template(stream, n)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(KEY_PATHS[stream]) | st.sampled_from(PATHS[stream]))
        set_path(record, path, draw(NUMBERS | VALUES))
    twice: dict[str, Any] = {}
    if draw(st.booleans()):
        key = draw(st.sampled_from([p[0] for p in PATHS[stream]]))
        value = draw(VALUES)
        if value is not MISSING:
            twice = {key: value}
    return record, twice


@st.composite
def inputs(draw: Any) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], int]:
    """Records in the order the tap sends its streams, hostile ones mixed with the good, and a
    batch size: (stream, record, a key given twice)."""
    messages: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for stream in SCHEMAS:
        mixed = [(stream, copy.deepcopy(r), {}) for r in GOOD[stream]]
        for n in range(draw(st.integers(0, 3))):
            record, twice = draw(hostile_record(stream, n))
            mixed.append((stream, record, twice))
            if draw(st.integers(0, 4)) == 0:  # the same record again, another version
                again, twice = draw(hostile_record(stream, n))
                mixed.append((stream, again, twice))
        messages += draw(st.permutations(mixed))
    return messages, draw(st.sampled_from([3, 1000]))


def singer_lines(messages: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[str]:
    lines = [
        json.dumps({"type": "SCHEMA", "stream": s, "schema": schema, "key_properties": ["id"]})
        for s, schema in SCHEMAS.items()
    ]
    for stream, record, twice in messages:
        text = json.dumps({"type": "RECORD", "stream": stream, "record": record})
        if twice:
            # The same key again at the end of the record object: the last one counts.
            ((key, value),) = twice.items()
            head = text[:-2]
            comma = "" if head.endswith("{") else ", "  # a record left without keys
            text = head + f"{comma}{json.dumps(key)}: {json.dumps(value)}}}}}"
        lines.append(text)
    lines.append(json.dumps({"type": "STATE", "value": STATE}))
    return lines


def as_read(stream: str, record: dict[str, Any], twice: dict[str, Any]) -> dict[str, Any]:
    """The record as the target parses it."""
    text = singer_lines([(stream, record, twice)])[len(SCHEMAS)]
    parsed: dict[str, Any] = json.loads(text)["record"]
    return parsed


# --- what must be refused -----------------------------------------------------------------------


def must_refuse(stream: str, record: dict[str, Any]) -> bool:
    """An id PDI's id map cannot keep, or a timeslot starting at no time PDI can hold (an
    integer outside 1970..9999: epoch milliseconds among them)."""
    ident = record.get("id")
    if not isinstance(ident, int) or isinstance(ident, bool):
        return False
    if ident not in BIGINT:
        return True
    if stream != "events":
        return False
    for slot in record.get("timeslots") if isinstance(record.get("timeslots"), list) else []:
        if not isinstance(slot, dict) or V.mobilize_id(slot.get("id")) is None:
            continue
        start = slot.get("start_date")
        is_int = isinstance(start, int) and not isinstance(start, bool)
        if is_int and not 0 <= start <= V.LATEST_EPOCH:
            return True
    return False


# --- running the target ---------------------------------------------------------------------------


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def drop_closed_handlers() -> None:
    """Other tests in this process (the tap's, say) leave handlers on streams pytest has closed
    since: each line the target logs would then print logging's own '--- Logging error ---'
    traceback to stderr, which is no fault of the target's and would fail check_run."""
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    for logger in loggers:
        for handler in list(getattr(logger, "handlers", [])):
            stream = getattr(handler, "stream", None)
            if getattr(stream, "closed", False):
                logger.removeHandler(handler)


@contextlib.contextmanager
def captured_logs() -> Iterator[Captured]:
    drop_closed_handlers()
    handler = Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def run_target(config: dict[str, Any], lines: list[str], folder: Path) -> tuple[Any, Captured]:
    path = folder / "input.singer"
    path.write_text("\n".join(lines) + "\n")
    runner = TargetTestRunner(TargetPDI, config, input_filepath=path)
    with captured_logs() as logs:
        runner.sync_all()
    return runner, logs


def dead_letters(config: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    path = Path(config["dead_letter_path"])
    entries = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return {(x["stream"], x["key"]): x for x in entries}


def outside_hostile_calendar(state: dict[str, Any]) -> dict[str, Any]:
    """PDI's whole state but what the hostile records may bring: the events of their calendar
    and their invitations, and the contacts no other invitation names that are not the good
    records' (those are compared as they are)."""
    hostile = {c["id"] for c in state["calendars"] if c["name"] == HOSTILE_CALENDAR}
    events = [e for e in state["events"] if e["calendarId"] not in hostile]
    kept_events = {e["id"] for e in events}
    invitations = [i for i in state["invitations"] if i["eventId"] in kept_events]
    invited = {i["contactId"] for i in invitations}
    contacts = [
        c
        for c in state["contacts"]
        if c["id"] in invited or str(c["emails"][0]["emailAddress"]).lower() in GOOD_EMAILS
    ]
    return {**state, "events": events, "invitations": invitations, "contacts": contacts}


@pytest.fixture(scope="module")
def pdi_server() -> Iterator[Any]:
    from conftest import Pdi

    from sandbox.pdi.app import PdiApp
    from sandbox.server.http_server import make_server

    server = make_server(PdiApp(calendars=CALENDARS)).start_in_thread()
    try:
        yield Pdi(server)
    finally:
        server.shutdown()
        server.server_close()


def check_run(runner: Any, logs: Captured) -> None:
    assert runner.state_messages[-1] == STATE
    tracebacks = [r.getMessage() for r in logs.records if r.exc_info]
    assert not tracebacks, tracebacks
    errors = [r.getMessage()[:300] for r in logs.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert "Traceback" not in (runner.stderr or "")


@fuzz(50)
@given(inputs())
def test_hostile_records_never_stop_a_sync_nor_touch_the_good_ones(
    pdi_server: Any, case: tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], int]
) -> None:
    messages, batch_size = case
    pdi_server.admin("reset", {})
    with tempfile.TemporaryDirectory() as folder:
        config = {
            **F.sandbox_config(pdi_server, Path(folder)),
            "event_type_calendars": {**ROUTES, "HOSTILE": HOSTILE_CALENDAR},
            "fields_file": str(ROOT / "mappings" / "fields.yml"),
            "max_concurrency": 4,
            "backoff_base_seconds": 0.01,
            "request_timeout": 5,
            "batch_size_rows": batch_size,
        }
        lines = singer_lines(messages)
        runner, logs = run_target(config, lines, Path(folder))
        check_run(runner, logs)
        model = good_model()
        assert differences(model, outside_hostile_calendar(pdi_server.state())) == []
        emails = [
            str(c["emails"][0]["emailAddress"]).lower() for c in pdi_server.state()["contacts"]
        ]
        assert len(emails) == len(set(emails)), "two PDI contacts share an email"

        letters = dead_letters(config)
        for stream, key in letters:
            assert not names_a_good_record(key), f"a good record was dead-lettered: {stream} {key}"
            named = f"Dead letter: stream={stream} key={key} "
            assert any(r.getMessage().startswith(named) for r in logs.records), named
        for stream, record, twice in messages:
            read = as_read(stream, record, twice)
            if must_refuse(stream, read):
                event(f"must refuse: {stream}")
                assert (stream, str(read["id"])) in letters, (stream, read)
        event(f"dead letters: {min(len(letters), 5)}+" if letters else "dead letters: 0")

        # The next run retries the dead letters first: never stopped by one either.
        runner, logs = run_target(config, singer_lines([]), Path(folder))
        check_run(runner, logs)
        assert differences(model, outside_hostile_calendar(pdi_server.state())) == []
