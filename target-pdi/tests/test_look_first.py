"""Every create of every writer looks first for the object it may already have made (issue 19):
neither a crash between a POST and the id map's flush nor an answer PDI lost makes a second PDI
object, whatever fields Mobilize left empty.

In-process target (TargetTestRunner), real HTTP to the PDI simulator under its harsh answers.
A crash is a stand-in for SIGKILL: right after PDI applied a chosen POST, the run raises a
BaseException and nothing flushes the id map again. After every run PDI's whole state is
compared with tests/e2e/expect.py's model, and every contact's phones with the people's.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import make_fixtures as F
import pytest
from singer_sdk.testing import TargetTestRunner
from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools.reconcile.fix import apply_fixes
from target_pdi.operator_tools.reconcile.found import (
    WRONG_CALENDAR,
    Discrepancy,
    Mend,
)
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData
from target_pdi.pdi.client import PDIClient
from target_pdi.rules.vocabulary import timeslot_key
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.runtime import Runtime
from target_pdi.sync.summary import Summary
from target_pdi.target import TargetPDI

from tests.e2e import expect

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
Data = dict[str, list[dict[str, Any]]]
ROUTES = {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"}


class Killed(BaseException):
    """The run's process is gone: no handler runs, nothing is flushed."""


@dataclass
class Kill:
    """Kills the next run right after PDI applied the n-th POST whose path matches."""

    pattern: re.Pattern[str] | None = None
    nth: int = 1
    seen: int = 0
    killed: bool = False
    posts: list[str] = field(default_factory=list)

    def after(self, pattern: str, nth: int = 1) -> None:
        self.pattern, self.nth, self.seen, self.killed = re.compile(pattern), nth, 0, False

    def posted(self, path: str) -> None:
        self.posts.append(path)
        if self.pattern is None or not self.pattern.fullmatch(path):
            return
        self.seen += 1
        if self.seen == self.nth:
            self.pattern, self.killed = None, True
            raise Killed(path)


@pytest.fixture
def kill(monkeypatch: pytest.MonkeyPatch) -> Kill:
    state = Kill()
    create, flush = PDIClient.create, IdMap.flush

    def killing_create(self: PDIClient, path: str, body: Any, find_existing: Any) -> Any:
        result = create(self, path, body, find_existing)
        state.posted(path)
        return result

    def flush_unless_killed(self: IdMap) -> None:
        if not state.killed:
            flush(self)

    monkeypatch.setattr(PDIClient, "create", killing_create)
    monkeypatch.setattr(IdMap, "flush", flush_unless_killed)
    return state


def sync(config: dict[str, Any], tmp_path: Path, data: Data, kill: Kill | None = None) -> None:
    """One run of the target over ``data``; with ``kill`` armed, the run is killed."""
    path = tmp_path / "input.singer"
    path.write_text("\n".join(F.lines(dict(data), {"bookmarks": {}})) + "\n")
    runner = TargetTestRunner(TargetPDI, config, input_filepath=path)
    if kill is None or kill.pattern is None:
        runner.sync_all()
        return
    with pytest.raises(Killed):
        runner.sync_all()
    assert kill.killed
    kill.killed = False  # the next run is a new process


def model_of(*runs: Data) -> expect.PdiModel:
    model = expect.PdiModel(expect.router(ROUTES, None))
    for data in runs:
        model.sync(dataset(data))
    return model


def dataset(data: Data) -> dict[str, Any]:
    return {k: data.get(k, []) for k in ("events", "deleted_events", "people", "attendances")}


def digits(number: Any) -> str:
    return "".join(ch for ch in str(number or "") if ch.isdigit())


def phone_differences(state: dict[str, Any], people: list[dict[str, Any]]) -> list[str]:
    """Every contact's phones against its person's (one phone, once, when the person has one)."""
    wanted = {expect.email_of(p): p["phone_numbers"] for p in people}
    out = []
    for contact in state["contacts"]:
        email = str(contact["emails"][0]["emailAddress"]).lower()
        want = sorted(digits(n["number"]) for n in wanted.get(email, []))
        got = sorted(digits(p["phoneNumber"]) for p in contact["phones"])
        if got != want:
            out.append(f"contact {email}: phones {got}, expected {want}")
    return out


def assert_exact(pdi: Pdi, model: expect.PdiModel, people: list[dict[str, Any]]) -> None:
    state = pdi.state()
    assert expect.differences(model, state) + phone_differences(state, people) == []


# --- the scenario: a sited and an unsited event, a person with a phone and one without ----------

ANN = F.person(1, "Ann", "Lee", "ann@example.org", "+1 217 555 0101")
BOB = F.person(2, "Bob", "Ray", "bob@example.org")


def first_sync(website: Any = None) -> Data:
    sited = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    unsited = F.event(102, "Phone Bank", "PHONE_BANK", [F.slot(1002, 4)], browser_url=website)
    return {
        "events": [sited, unsited],
        "people": [ANN, BOB],
        "attendances": [
            F.attendance(11, ANN, sited, F.slot(1001, 3), "REGISTERED", None),
            F.attendance(12, BOB, unsited, F.slot(1002, 4), "REGISTERED", None),
            F.attendance(13, ANN, unsited, F.slot(1002, 4), "REGISTERED", None),
        ],
    }


# --- defect 1: a crash during a calendar move ------------------------------------------------


def calendar_ids(pdi: Pdi) -> dict[str, str]:
    return {c["name"]: c["id"] for c in pdi.state()["calendars"]}


def fix_calendar(config: dict[str, Any], data: Data, calendar_id: str) -> None:
    """reconcile --fix of a PDI event a PDI user moved to another calendar, as compare.py
    hands it over: the calendar it is in, and its Mobilize event to write again."""
    runtime = Runtime(Settings.from_config(config), Summary())
    found = Discrepancy(
        WRONG_CALENDAR,
        "timeslot:1001",
        "",
        "",
        "",
        "moved by the sync",
        Mend(calendar=((timeslot_key(1001), calendar_id),), events=(101,)),
    )
    apply_fixes(runtime, [found], MobilizeData.of(dataset(data)))
    runtime.close()  # not when killed: nothing of a killed process closes


@pytest.mark.parametrize("how", ["event type changed", "route changed", "reconcile --fix"])
def test_a_crash_right_after_a_moved_events_post_leaves_one_live_event(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, kill: Kill, how: str
) -> None:
    event = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    run1 = {
        "events": [event],
        "people": [ANN],
        "attendances": [F.attendance(11, ANN, event, F.slot(1001, 3), "REGISTERED", None)],
    }
    sync(config, tmp_path, run1)
    model = model_of(run1)
    assert_exact(pdi, model, [ANN])
    calendars = calendar_ids(pdi)
    if how == "event type changed":
        data = {"events": [{**event, "event_type": "PHONE_BANK", "modified_date": F.BASE}]}
        model.sync(dataset(data))
        move = lambda: sync(config, tmp_path, data)  # noqa: E731
        kill.after(f"/calendars/{re.escape(calendars['Phone Banks'])}/events")
    elif how == "route changed":  # calendars.yml now sends canvasses to "Phone Banks"
        config = {**config, "event_type_calendars": {"CANVASS": "Phone Banks"}}
        model.route = expect.router({"CANVASS": "Phone Banks"}, None)
        data = {"events": [event]}
        model.sync(dataset(data))
        move = lambda: sync(config, tmp_path, data)  # noqa: E731
        kill.after(f"/calendars/{re.escape(calendars['Phone Banks'])}/events")
    else:  # a PDI user moved it to "Phone Banks"; reconcile --fix moves it back
        lost = pdi.state()["events"][0]
        pdi.admin(
            "update",
            {
                "kind": "events",
                "id": lost["id"],
                "fields": {"calendarId": calendars["Phone Banks"]},
            },
        )
        left = copy.deepcopy(model.events[1001])
        left.calendar, left.canceled = "Phone Banks", "moved"
        model.retired.append(left)
        data = run1
        move = lambda: fix_calendar(config, run1, calendars["Phone Banks"])  # noqa: E731
        kill.after(f"/calendars/{re.escape(calendars['Canvassing'])}/events")
    with pytest.raises(Killed):
        move()
    kill.killed = False
    move()
    assert_exact(pdi, model, [ANN])
    writes = pdi.writes()
    sync(config, tmp_path, data)
    assert_exact(pdi, model, [ANN])
    assert pdi.writes() == writes


# --- defect 2: an event without a website, its answer lost -----------------------------------


@pytest.mark.parametrize("website", [None, "", "https://www.mobilize.us/org/event/102/"])
def test_an_event_without_a_website_is_made_once_when_its_answer_is_lost(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, website: Any
) -> None:
    event = F.event(102, "Phone Bank", "PHONE_BANK", [F.slot(1002, 4)], browser_url=website)
    data = {"events": [event]}
    pdi.switches(drop_after_write_next=2)  # the location's answer and the event's are lost
    sync(config, tmp_path, data)
    assert_exact(pdi, model_of(data), [])
    assert pdi.writes() == 2  # nothing sent twice


def test_every_answer_lost_makes_no_second_object_whatever_the_website(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    data = first_sync(website=None)
    pdi.switches(drop_after_write_next=1000)
    sync(config, tmp_path, data)
    pdi.switches(drop_after_write_next=0)
    assert_exact(pdi, model_of(data), [ANN, BOB])
    writes = pdi.writes()
    sync(config, tmp_path, data)
    assert pdi.writes() == writes


# --- a crash right after each kind of create ----------------------------------------------------

CREATES = {
    "location": r"/locations",
    "event with a website": r"/calendars/[^/]+/events",
    "event without a website": r"/calendars/[^/]+/events",
    "phone": r"/contacts/[^/]+/phones",
    "invitation": r"/events/[^/]+/invitations",
}


@pytest.mark.parametrize("create", list(CREATES))
def test_a_crash_right_after_a_create_makes_no_second_object(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, kill: Kill, create: str
) -> None:
    data = first_sync(website=None)
    # Events are written one at a time, in an order of their own: kill after the one named.
    nth = 2 if create == "event without a website" else 1
    if create.startswith("event"):
        config = {**config, "max_concurrency": 1}
    kill.after(CREATES[create], nth)
    sync(config, tmp_path, data, kill)
    for _ in range(2):
        sync(config, tmp_path, data)
        assert_exact(pdi, model_of(data), [ANN, BOB])
    writes = pdi.writes()
    sync(config, tmp_path, data)
    assert pdi.writes() == writes


def test_a_crash_between_a_contact_and_its_phone_loses_no_phone(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, kill: Kill
) -> None:
    # Ann's contact is POSTed, then the run dies before her phone's POST and the id map's
    # flush: the next run finds her contact by email and must still give it her phone.
    data = first_sync(website="https://www.mobilize.us/org/event/102/")
    config = {**config, "max_concurrency": 1}  # Ann's contact first, alone
    kill.after(r"/contacts")
    sync(config, tmp_path, data, kill)
    assert {c["firstName"]: c["phones"] for c in pdi.state()["contacts"]}["Ann"] == []
    for _ in range(2):
        sync(config, tmp_path, data)
        assert_exact(pdi, model_of(data), [ANN, BOB])


@pytest.mark.parametrize("first", ["a signup's copy without a website", "the events stream"])
def test_a_crash_leaves_no_second_event_whichever_copy_of_its_record_comes_next(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, kill: Kill, first: str
) -> None:
    # An attendance embeds its event, which may lack the browser_url the events stream has:
    # the event a killed run made from one copy is found from the other.
    event = F.event(102, "Phone Bank", "PHONE_BANK", [F.slot(1002, 4)])
    bare = F.attendance(
        12, BOB, {**event, "browser_url": None}, F.slot(1002, 4), "REGISTERED", None
    )
    if first == "the events stream":
        made = {"events": [event], "people": [BOB], "attendances": [{**bare, "event": event}]}
        then: Data = {"people": [BOB], "attendances": [bare]}
    else:  # the event is met through its signup before the events stream lists it
        made = {"people": [BOB], "attendances": [bare]}
        then = {"events": [event], "people": [BOB], "attendances": [bare]}
    kill.after(r"/calendars/[^/]+/events")
    sync(config, tmp_path, made, kill)
    sync(config, tmp_path, then)
    assert_exact(pdi, model_of(made, then), [BOB])
    writes = pdi.writes()
    sync(config, tmp_path, then)
    assert pdi.writes() == writes


# --- a crash right after an object PDI lost was made again ----------------------------------------


@pytest.mark.parametrize("kind", ["events", "invitations"])
def test_a_crash_right_after_remaking_an_object_pdi_lost_makes_no_second_one(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, kill: Kill, kind: str
) -> None:
    data = first_sync(website="https://www.mobilize.us/org/event/102/")
    sync(config, tmp_path, data)
    state = pdi.state()
    if kind == "events":
        # A PDI user deletes the sited event (its invitations go with it); Mobilize renames it.
        lost = next(e for e in state["events"] if e["name"] == "Canvass")
        events = [{**data["events"][0], "title": "Canvass!", "modified_date": F.BASE}]
        changed = {**data, "events": [events[0], data["events"][1]]}
        pattern = r"/calendars/[^/]+/events"
    else:
        # A PDI user deletes Bob's invitation; Bob confirms in Mobilize.
        bob = next(c for c in state["contacts"] if c["firstName"] == "Bob")
        lost = next(i for i in state["invitations"] if i["contactId"] == bob["id"])
        signup = {**data["attendances"][1], "status": "CONFIRMED", "modified_date": F.BASE}
        changed = {
            **data,
            "attendances": [*data["attendances"][:1], signup, data["attendances"][2]],
        }
        pattern = r"/events/[^/]+/invitations"
    pdi.admin("delete", {"kind": kind, "id": lost["id"]})
    kill.after(pattern)
    sync(config, tmp_path, changed, kill)
    for _ in range(2):
        sync(config, tmp_path, changed)
        assert_exact(pdi, model_of(data, changed), [ANN, BOB])


# --- looking first costs a first sync no request ----------------------------------------------


def test_a_first_sync_makes_one_request_per_object_looking_first_included(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    # Twelve events on twelve days, half without a website, each with one signup and its own
    # person (half with a phone). PDI's search filters by email, as bench/'s floor assumes.
    from sandbox.pdi.answers import LENIENT_ANSWERS

    pdi.admin("answers", LENIENT_ANSWERS)
    events, people, signups = [], [], []
    for n in range(12):
        slot = F.slot(2000 + n, n)
        url = None if n % 2 else f"https://www.mobilize.us/org/event/{200 + n}/"
        event = F.event(200 + n, f"Canvass {n}", "CANVASS", [slot], browser_url=url)
        phone = f"555-01{n:02d}" if n % 2 else None
        person = F.person(n + 10, "Pat", f"Doe{n}", f"pat{n}@example.org", phone)
        events.append(event)
        people.append(person)
        signups.append(F.attendance(300 + n, person, event, slot, "REGISTERED", None))
    data = {"events": events, "people": people, "attendances": signups}
    sync(config, tmp_path, data)
    assert_exact(pdi, model_of(data), people)
    assert pdi.admin("stats")["by_route"] == {
        "POST /sessions": 1,
        "GET /calendars": 1,
        "GET /events": 1,  # one range read for the batch, where every create looks first
        "GET /locations": 1,
        "POST /locations": 1,
        "POST /calendars/{id}/events": 12,
        "GET /contacts": 12,  # one email search per new contact
        "POST /contacts": 12,
        "POST /contacts/{id}/phones": 6,
        "POST /events/{id}/invitations": 12,
    }
