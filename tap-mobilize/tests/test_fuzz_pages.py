"""Hostile Mobilize pages never stop the tap nor break its output (issue 19).

Hypothesis serves every stream the tap reads (organization, events and their timeslots,
deleted_events, people, attendances with their re-check) from a stubbed Mobilize, pages of good
rows mixed with hostile ones: one to three fields of the stream's own schema (nested ones
included) made null, missing, empty, huge, unicode, of another JSON type, out of range or in
epoch milliseconds, fields Mobilize does not document, empty pages, pages whose ``data`` is not
a list, and a ``next`` link back to a page already read.

Each run must: end without an exception and with STATE; log no traceback and no error; emit
only records that match the SCHEMA it declared (a loader that validates would otherwise stop on
them, run after run); emit every good row it reached, once, as Mobilize gave it; skip a row
whose id is not an integer with its stream's "null id" line, and say which stream's field it
emitted as null; and move a bookmark only after a read that ended normally (a repeating link
keeps the prior one, so the rows past the loop are read next run).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any
from urllib.parse import parse_qs, urlparse

import jsonschema
import responses
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz_settings import fuzz
from tests.hostile_fields import MISSING, field_paths

from tap_mobilize import schemas
from tap_mobilize.client import MobilizeStream
from tap_mobilize.tap import TapMobilize

API = "https://api.mobilize.test/v1"
ORG = 7
NOW = 1_700_000_000
PRIOR = 1_000  # every incremental stream's bookmark before the run
PATHS = {
    "events": f"/organizations/{ORG}/events",
    "deleted_events": f"/organizations/{ORG}/events/deleted",
    "people": f"/organizations/{ORG}/people",
    "attendances": f"/organizations/{ORG}/attendances",
}
SCHEMAS = {
    "events": schemas.EVENTS_SCHEMA,
    "deleted_events": schemas.DELETED_EVENTS_SCHEMA,
    "people": schemas.PEOPLE_SCHEMA,
    "attendances": schemas.ATTENDANCES_SCHEMA,
}
REPLICATION_KEY = {s: "deleted_date" if s == "deleted_events" else "modified_date" for s in PATHS}
# Fields the tap fills from the nested objects, whatever the row says (streams.py).
FLATTENED = {"attendances": ("person_id", "event_id", "timeslot_id", "sponsor_id")}
HOSTILE_IDS = 1_000  # hostile rows' ids start here, apart from the good rows' 1..3
MAX_CALLS = 500  # a paging loop the tap did not see ends the example instead of hanging


def person(ident: int) -> dict[str, Any]:
    return {
        "id": ident,
        "given_name": f"Given{ident}",
        "family_name": f"Family{ident}",
        "email_addresses": [{"primary": True, "address": f"p{ident}@example.org"}],
        "phone_numbers": [{"primary": True, "number": "5555550100"}],
        "postal_addresses": [{"primary": True, "postal_code": "94110"}],
        "sms_opt_in_status": "OPT_IN",
        "created_date": 900,
        "modified_date": 2_000 + ident,
    }


def event(ident: int) -> dict[str, Any]:
    return {
        "id": ident,
        "title": f"Event {ident}",
        "summary": "",
        "description": "Knock on doors",
        "event_type": "CANVASS",
        "visibility": "PUBLIC",
        "approval_status": "APPROVED",
        "browser_url": f"https://www.mobilize.us/test/event/{ident}/",
        "timezone": "America/New_York",
        "location": {
            "venue": "Hall",
            "address_lines": ["1 Main St", ""],
            "locality": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "location": {"latitude": 39.8, "longitude": -89.6},
        },
        "timeslots": [{"id": ident * 10, "start_date": NOW + 3_600, "end_date": NOW + 7_200}],
        "contact": {"name": "Host", "email_address": "host@example.org"},
        "tags": [{"id": 1, "name": "tag"}],
        "created_date": 900,
        "modified_date": 2_000 + ident,
    }


def row(stream: str, ident: int) -> dict[str, Any]:
    if stream == "events":
        return event(ident)
    if stream == "people":
        return person(ident)
    if stream == "deleted_events":
        return {"id": ident, "deleted_date": 2_000 + ident}
    return {
        "id": ident,
        "created_date": 900,
        "modified_date": 2_000 + ident,
        "status": "REGISTERED",
        "attended": None,
        "person": person(ident),
        "event": event(ident),
        "timeslot": {"id": ident * 10, "start_date": NOW + 3_600, "end_date": NOW + 7_200},
    }


GOOD_IDS = (1, 2, 3)


FIELDS = {stream: field_paths(schema) for stream, schema in SCHEMAS.items()}

VALUES = st.one_of(
    st.none(),
    st.just(MISSING),
    st.sampled_from([10**20, -(10**20), 2**63, 2**64, NOW * 1_000, -1, 0, 1.5, 1e300]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "   ", "x" * 20_000, "\x00", "zoë 🙂 \u202eright-to-left", "null"]),
    st.text(max_size=30),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["id", "name", "x"]), st.integers(), max_size=2),
)
PRESENT = VALUES.filter(lambda value: value is not MISSING)


def set_path(node: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set (or, with MISSING, remove) one field, if what leads to it is still a container."""
    for step in path[:-1]:
        in_dict = isinstance(node, dict) and step in node
        if not (in_dict or (isinstance(node, list) and isinstance(step, int) and step < len(node))):
            return
        node = node[step]
    last = path[-1]
    if isinstance(node, dict):
        if value is MISSING:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is MISSING:
            node.pop(last)
        else:
            node[last] = value


@st.composite
def hostile_row(draw: Any, stream: str, n: int) -> dict[str, Any]:
    record = row(stream, HOSTILE_IDS + n)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELDS[stream]))
        value = draw(VALUES)
        if path == ("id",) and isinstance(value, int) and value in GOOD_IDS:
            value = -7  # a good row's id would make it another version of that row
        set_path(record, path, value)
    if draw(st.booleans()):  # fields Mobilize does not document (yet)
        record[draw(st.sampled_from(["zz_new", "id_v2", "Title"]))] = draw(PRESENT)
    return record


# A page that is not a list of rows: skipped whole (Mobilize's own envelope, broken).
ODD_DATA = st.sampled_from([None, "data", 5, {}])


@st.composite
def pages(draw: Any, stream: str) -> dict[str, Any]:
    """One stream's pages as served: lists of rows (some empty, some not lists at all) and,
    maybe, the page whose ``next`` links back to a page already read."""
    rows: list[Any] = [row(stream, i) for i in GOOD_IDS]
    rows += [draw(hostile_row(stream, n)) for n in range(draw(st.integers(0, 4)))]
    rows = draw(st.permutations(rows))
    served: list[Any] = []
    while rows:
        size = draw(st.integers(1, 3))
        served.append(rows[:size])
        rows = rows[size:]
        odd = draw(st.integers(0, 7))
        if odd == 0:
            served.append([])
        elif odd == 1:
            served.append(draw(ODD_DATA))
    if not served:
        served.append([])
    loop = None
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(served) - 1))
        loop = (at, draw(st.integers(0, at)))  # page `at` links back to page ...
    return {"pages": served, "loop": loop}


class HostileMobilize:
    """Mobilize over `responses`: each path's pages, ``next`` as ``?cursor=N``."""

    def __init__(self, rsps: responses.RequestsMock, served: dict[str, dict[str, Any]]) -> None:
        self.served = served
        self.calls = 0
        rsps.add_callback(responses.GET, re.compile(re.escape(API) + "/.*"), self._reply)

    def _reply(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls += 1
        assert self.calls < MAX_CALLS, "the tap kept paging: a loop it did not see"
        parsed = urlparse(str(request.url))
        path = parsed.path.removeprefix("/v1")
        query = parse_qs(parsed.query)
        if path == "/organizations":
            data: Any = [{"id": ORG, "name": "Org", "modified_date": 1_500}]
            return self._page(data, None)
        stream = next((s for s, p in PATHS.items() if p == path), None)
        if stream is None or (stream == "events" and "timeslot_start" in query):
            return self._page([], None)  # the re-check's event list and signups: none
        served = self.served[stream]
        index = int(query.get("cursor", ["0"])[0])
        following: int | None = index + 1 if index + 1 < len(served["pages"]) else None
        if served["loop"] is not None and index == served["loop"][0]:
            following = served["loop"][1]
        link = None if following is None else f"{API}{path}?cursor={following}"
        return self._page(copy.deepcopy(served["pages"][index]), link)

    @staticmethod
    def _page(data: Any, link: str | None) -> tuple[int, dict[str, str], str]:
        body = {"count": 0, "next": link, "previous": None, "data": data}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


def reached(served: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the pages a read gets to: up to the page that loops back, if one does."""
    last = served["loop"][0] if served["loop"] is not None else len(served["pages"]) - 1
    pages_read = served["pages"][: last + 1]
    return [r for page in pages_read if isinstance(page, list) for r in page]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@contextmanager
def captured() -> Iterator[Lines]:
    lines = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(lines)
    root.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        root.removeHandler(lines)
        root.setLevel(level)


def sync(served: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], Lines]:
    config = {
        "api_url": API,
        "api_key": "sk-live-fuzz",
        "organization_id": ORG,
        "per_page": 3,
        "max_requests_per_second": 0,
    }
    state = {"bookmarks": {s: {"replication_key_value": PRIOR} for s in PATHS}}
    for stream, key in REPLICATION_KEY.items():
        state["bookmarks"][stream]["replication_key"] = key
    out = io.StringIO()
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        captured() as lines,
        redirect_stdout(out),
    ):
        HostileMobilize(rsps, served)
        tap = TapMobilize(config=config, state=state, parse_env_config=False)
        tap.sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], lines


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@fuzz(40)
@given(st.fixed_dictionaries({s: pages(s) for s in PATHS}))
def test_hostile_pages_never_stop_the_tap_nor_break_its_records(
    monkeypatch: Any, served: dict[str, dict[str, Any]]
) -> None:
    monkeypatch.setattr(MobilizeStream, "now", lambda self: NOW)
    messages, lines = sync(served)

    log = lines.text()
    assert "Traceback" not in log
    assert not [r for r in lines.records if r.levelno >= logging.ERROR], log
    declared = {m["stream"]: m["schema"] for m in messages if m["type"] == "SCHEMA"}
    records: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        if message["type"] == "RECORD":
            jsonschema.validate(message["record"], declared[message["stream"]])
            records.setdefault(message["stream"], []).append(message["record"])
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert states, "no STATE"

    for stream, pages_served in served.items():
        emitted = records.get(stream, [])
        rows = reached(pages_served)
        for good in (r for r in rows if as_int(r.get("id")) in GOOD_IDS):
            copies = [r for r in emitted if r["id"] == good["id"]]
            assert len(copies) == 1, (stream, good["id"])
            for name in SCHEMAS[stream]["properties"]:
                if name in good:
                    assert copies[0][name] == good[name], (stream, good["id"], name)
        unkeyed = [r for r in rows if as_int(r.get("id")) is None]
        if unkeyed:
            assert f"Stream '{stream}': skipped " in log, (stream, unkeyed)
        hostile = [r for r in rows if as_int(r.get("id")) not in (None, *GOOD_IDS)]
        for bad in hostile:
            assert any(r["id"] == bad["id"] for r in emitted), (stream, bad["id"])
            shaped = {k: v for k, v in bad.items() if k in SCHEMAS[stream]["properties"]}
            for flattened in FLATTENED.get(stream, ()):
                shaped.pop(flattened, None)
            if not any(shaped == {k: r.get(k) for k in shaped} for r in emitted):
                assert f"Stream '{stream}': row " in log, (stream, bad)

        bookmark = states[-1]["bookmarks"][stream]["replication_key_value"]
        if pages_served["loop"] is not None:
            assert bookmark == PRIOR, (
                stream,
                "a read that looped moved its bookmark",
                pages_served,
            )
        else:
            versions = [as_int(r.get(REPLICATION_KEY[stream])) for r in emitted]
            newest = max((v for v in versions if v is not None), default=PRIOR)
            assert bookmark == max(PRIOR, min(newest, NOW)), stream


def test_the_fuzz_serves_what_it_says() -> None:
    """The stub's loop and the fields the fuzz changes are what the test above relies on."""
    served = {"pages": [[row("people", 1)], [row("people", 2)], [row("people", 3)]]}
    assert [r["id"] for r in reached({**served, "loop": (1, 0)})] == [1, 2]
    assert [r["id"] for r in reached({**served, "loop": None})] == [1, 2, 3]
    assert ("timeslots", 0, "start_date") in FIELDS["events"]
    assert ("person", "email_addresses", 0, "address") in FIELDS["attendances"]
    record = row("events", 5)
    set_path(record, ("timeslots", 0, "start_date"), MISSING)
    assert "start_date" not in record["timeslots"][0]
    assert list(itertools.chain(GOOD_IDS)) == [1, 2, 3]


def test_a_next_link_back_to_a_page_read_ends_the_read_and_keeps_the_bookmark(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(MobilizeStream, "now", lambda self: NOW)
    people = {"pages": [[row("people", 1)], [row("people", 2)], [row("people", 3)]], "loop": (1, 0)}
    served = {stream: {"pages": [[]], "loop": None} for stream in PATHS}
    served["people"] = people

    messages, lines = sync(served)

    emitted = [
        m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "people"
    ]
    assert emitted == [1, 2]
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    assert state["bookmarks"]["people"]["replication_key_value"] == PRIOR
    assert "Stream 'people': Mobilize's next-page link" in lines.text()
