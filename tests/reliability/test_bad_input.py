"""Bad input, end to end: the records real Mobilize organizations get wrong, each kind with
the outcome docs/reliability.md promises (its "Bad input" table).

Every kind is injected into one small generated organization (`/__admin/load`), then ONE real
`meltano run tap-mobilize target-pdi` runs over HTTP against both simulators, which answer the
references' open questions the harsh way. One test per kind checks the log lines that name its
records and the reason, its dead letters (exactly these: none where nothing is refused) and
what landed in PDI; one more checks the run as a whole: exit 0, nothing failed that no kind
expects, nothing written twice, and the whole PDI state equal to `expect.PdiModel`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sandbox.datagen.dataset import GENERATED_AT
from tests.e2e.expect import PdiModel, differences, pdi_time, router
from tests.e2e.harness import Project, RunResult, Simulator

pytestmark = pytest.mark.e2e

Record = dict[str, Any]
DAY = 86400
# Small, so that one run stays quick; every attendance fits one page of the tap's reads
# (per_page 100), so a row listed twice is read twice.
BASE = ["--seed", "5", "--events", "10", "--timeslots-per-event", "2", "--people", "30"]
BASE_ATTENDANCES = ["--attendances", "50"]
CALENDARS = {
    "CANVASS": "Canvassing",
    "PHONE_BANK": "Phone Banks",
    "TEXT_BANK": "Text Banks",
    "MEETING": "Meetings",
}
# A real Mobilize event type that calendars.yml leaves out (and no default calendar).
UNMAPPED = "VISIBILITY_EVENT"


# --- the dataset made bad ----------------------------------------------------------------------


class Builder:
    """New records after the generated ones: each kind gets records of its own."""

    def __init__(self, data: Record) -> None:
        self.data = data
        self.org: Record = data["organization"]
        # The generated organization is clean but for what a kind brings (its people without
        # an email would be dead letters no kind owns).
        for person in data["people"]:
            if not person["email_addresses"]:
                person["email_addresses"] = [
                    {"primary": True, "address": f"person{person['id']}@example.org"}
                ]
        people = {p["id"]: p for p in data["people"]}
        for att in data["attendances"]:
            if att["id"] is not None:
                att["person"] = copy.deepcopy(people[att["person"]["id"]])
        self.template: Record = next(
            e
            for e in data["events"]
            if e["sponsor"]["id"] == self.org["id"]
            and e["approval_status"] == "APPROVED"
            and not e["is_virtual"]
            and e["address_visibility"] == "PUBLIC"
            and (e["location"] or {}).get("location")
        )

        def top(rows: list[Record]) -> int:
            return max(int(r["id"]) for r in rows if r.get("id") is not None)

        slots = [s for e in data["events"] for s in e["timeslots"] or []]
        self.ids = {
            "event": max(top(data["events"]), top(data["deleted_events"])) + 1000,
            "timeslot": top(slots) + 1000,
            "person": top(data["people"]) + 1000,
            "attendance": top(data["attendances"]) + 1000,
        }
        self.starts = 0
        self.people = 0
        # An ordinary event the people of several kinds sign up to.
        self.shared = self.event("Shared Canvass", slots=2)

    def next_id(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def slot(self, start: int | None = None, hours: int = 2) -> Record:
        self.starts += 1
        start = GENERATED_AT + 10 * DAY + self.starts * 3 * 3600 if start is None else start
        return {
            "id": self.next_id("timeslot"),
            "start_date": start,
            "end_date": start + hours * 3600,
            "is_full": False,
            "instructions": "",
            "max_attendees": None,
        }

    def event(self, title: str, slots: int = 1, listed: bool = True, **fields: Any) -> Record:
        event_id = self.next_id("event")
        event = copy.deepcopy(self.template)
        event.update(
            id=event_id,
            title=title,
            description=f"<p>{title}</p>",
            event_type="CANVASS",
            browser_url=f"https://www.mobilize.us/{self.org['slug']}/event/{event_id}/",
            timeslots=[self.slot() for _ in range(slots)],
            modified_date=GENERATED_AT - 2 * DAY,
        )
        # Coordinates of its own, far from every generated city: no location is shared by
        # accident.
        event["location"].update(
            venue=f"{title} Hall",
            address_lines=[f"{event_id % 1000} Catalogue Way", ""],
            location={"latitude": 30 + (event_id % 1000) / 100, "longitude": -100.0},
        )
        event.update(fields)
        if listed:
            self.data["events"].append(event)
        return event

    def person(self, given: str, family: str, email: str | None, age: int = 0) -> Record:
        """`age`: seconds before the newest modified_date of the catalogue."""
        self.people += 1
        person_id = self.next_id("person")
        person = copy.deepcopy(self.data["people"][0])
        person.update(
            id=person_id,
            person_id=person_id,
            user_id=person_id + 7606,
            given_name=given,
            family_name=family,
            email_addresses=[] if email is None else [{"primary": True, "address": email}],
            phone_numbers=[{"primary": True, "number": f"215555{self.people:04d}"}],
            modified_date=GENERATED_AT - DAY - age,
        )
        self.data["people"].append(person)
        return person

    def signup(
        self, person: Record, event: Record, slot: Record, status: str = "REGISTERED", age: int = 0
    ) -> Record:
        att: Record = {
            "id": self.next_id("attendance"),
            "created_date": GENERATED_AT - 3 * DAY,
            "modified_date": GENERATED_AT - DAY - age,
            "person": copy.deepcopy(person),
            "event": {**copy.deepcopy(event), "timeslots": None},
            "timeslot": copy.deepcopy(slot),
            "sponsor": self.org,
            "status": status,
            "attended": None,
            "referrer": None,
            "custom_signup_field_values": [],
            "rating": None,
            "feedback": None,
        }
        self.data["attendances"].append(att)
        return att

    def volunteer(self, tag: str, event: Record | None = None, slot: int = 0) -> Record:
        """A well-formed person signed up to an event (the shared one by default)."""
        event = self.shared if event is None else event
        person = self.person("Vol", tag, f"vol.{tag.lower()}@example.org")
        return self.signup(person, event, event["timeslots"][slot])


# --- what one run left behind ------------------------------------------------------------------


@dataclass
class Run:
    project: Project
    result: RunResult
    dataset: Record
    routes: dict[str, str]
    state: Record
    dead: set[tuple[str, str]]

    def events_of(self, event: Record) -> list[Record]:
        """PDI events whose website names this Mobilize event."""
        return [e for e in self.state["events"] if e["website"] == event["browser_url"]]

    def events_at(self, event: Record, slot: Record) -> list[Record]:
        start = pdi_time(slot["start_date"])
        return [e for e in self.events_of(event) if e["startDateTimeUtc"] == start]

    def event_at(self, event: Record, slot: Record) -> Record:
        found = self.events_at(event, slot)
        assert len(found) == 1, found
        return found[0]

    def location(self, pdi_event: Record) -> Record:
        return next(x for x in self.state["locations"] if x["id"] == pdi_event["locationId"])

    def contacts(self, email: str) -> list[Record]:
        return [
            c
            for c in self.state["contacts"]
            if any(e["emailAddress"].lower() == email for e in c["emails"])
        ]

    def contact(self, email: str) -> Record:
        found = self.contacts(email)
        assert len(found) == 1, found
        return found[0]

    def invitations(self, contact: Record) -> list[Record]:
        return [i for i in self.state["invitations"] if i["contactId"] == contact["id"]]

    def summary(self) -> dict[str, dict[str, int]]:
        """The target's end-of-run table: {object: {created, updated, unchanged, failed}}."""
        rows = {}
        for line in self.result.output.splitlines():
            match = re.search(r"Summary: (\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", line)
            if match:
                outcomes = ("created", "updated", "unchanged", "failed")
                rows[match[1]] = dict(zip(outcomes, map(int, match.groups()[1:]), strict=True))
        return rows


@dataclass
class Kind:
    """What a kind of bad input must come to (the table in docs/reliability.md)."""

    records: set[int]  # ids of the records it brought (people, attendances, events)
    lines: list[str] = field(default_factory=list)  # regexes, each matching a log line
    dead: set[tuple[str, str]] = field(default_factory=set)  # exactly its dead letters
    check: Callable[[Run], None] | None = None  # what landed in PDI


def ids(*records: Record) -> set[int]:
    return {int(r["id"]) for r in records}


def letter(stream: str, record: Record) -> tuple[str, str]:
    """A dead letter as (stream, key)."""
    return stream, str(record["id"])


# --- the catalogue -----------------------------------------------------------------------------


def person_without_email(b: Builder) -> Kind:
    nothing = b.person("Nomail", "Catalogue", None)
    blank = b.person("Blank", "Catalogue", "   ")
    a1 = b.signup(nothing, b.shared, b.shared["timeslots"][0])
    a2 = b.signup(blank, b.shared, b.shared["timeslots"][1])

    def check(run: Run) -> None:
        names = {(c["firstName"], c["lastName"]) for c in run.state["contacts"]}
        assert not names & {("Nomail", "Catalogue"), ("Blank", "Catalogue")}

    reason = "person has no email address"
    return Kind(
        ids(nothing, blank, a1, a2),
        [rf"Dead letter: stream=people key={p['id']} reason={reason}" for p in (nothing, blank)]
        + [rf"Dead letter: stream=attendances key={a['id']} reason={reason}" for a in (a1, a2)],
        {letter("people", nothing), letter("people", blank)}
        | {letter("attendances", a1), letter("attendances", a2)},
        check,
    )


MALFORMED = ("ana.lopez@gmail", "ana lopez@gmail.com", "ana@lopez@gmail.com", "ana.gmail.com")


def malformed_email(b: Builder) -> Kind:
    people = [b.person("Ana", f"Malformed{i}", email) for i, email in enumerate(MALFORMED)]
    signups = [b.signup(p, b.shared, b.shared["timeslots"][0]) for p in people]

    def check(run: Run) -> None:
        for email in MALFORMED:
            assert not run.contacts(email), email
        assert not [c for c in run.state["contacts"] if c["lastName"].startswith("Malformed")]

    reason = "person has a malformed email address"
    return Kind(
        ids(*people, *signups),
        [rf"Dead letter: stream=people key={p['id']} reason={reason}" for p in people]
        + [rf"Dead letter: stream=attendances key={a['id']} reason={reason}" for a in signups],
        {letter("people", p) for p in people} | {letter("attendances", a) for a in signups},
        check,
    )


def email_in_two_cases(b: Builder) -> Kind:
    older = b.person("Sam", "Rivera", "Sam.Rivera@Example.ORG", age=100)
    newer = b.person("Samuel", "Rivera", " sam.rivera@example.org")
    slot = b.shared["timeslots"][0]
    a_old = b.signup(older, b.shared, slot, status="CONFIRMED", age=100)
    a_new = b.signup(newer, b.shared, slot)

    def check(run: Run) -> None:
        contact = run.contact("sam.rivera@example.org")
        assert (contact["firstName"], contact["lastName"]) == ("Samuel", "Rivera")
        # One signup per contact and event: the latest (REGISTERED, not confirmed).
        [invitation] = run.invitations(contact)
        assert (invitation["rsvpStatus"], invitation["isConfirmed"]) == ("Yes", False)

    return Kind(
        ids(older, newer, a_old, a_new),
        [rf"People {older['id']} and {newer['id']} share one email address"],
        check=check,
    )


def shared_email(b: Builder) -> Kind:
    parent = b.person("Maria", "Okafor", "okafor.household@example.org")
    child = b.person("Junior", "Okafor", "okafor.household@example.org", age=100)
    a1 = b.signup(parent, b.shared, b.shared["timeslots"][0])
    a2 = b.signup(child, b.shared, b.shared["timeslots"][1], age=100)

    def check(run: Run) -> None:
        contact = run.contact("okafor.household@example.org")
        assert contact["firstName"] == "Maria"  # the most recently modified person
        assert len(run.invitations(contact)) == 2  # both signups, on two PDI events

    return Kind(
        ids(parent, child, a1, a2),
        [rf"People {child['id']} and {parent['id']} share one email address"],
        check=check,
    )


def masked_records(b: Builder) -> Kind:
    event = b.event("Firewalled Canvass", slots=2)
    event["timeslots"][1]["id"] = None
    template = next(a for a in b.data["attendances"] if a["id"] is None)
    b.data["attendances"].append(copy.deepcopy(template))
    masked = sum(1 for a in b.data["attendances"] if a["id"] is None)

    def check(run: Run) -> None:
        assert [e["startDateTimeUtc"] for e in run.events_of(event)] == [
            pdi_time(event["timeslots"][0]["start_date"])
        ]
        assert "1 masked timeslots (null id)" in run.result.output  # the summary's skipped line

    return Kind(
        ids(event),
        [
            rf"Stream 'attendances': skipped {masked} record\(s\) with a null id",
            r"Stream 'timeslots': skipped 1 record\(s\) with a null id",
        ],
        check=check,
    )


def event_type_not_mapped(b: Builder) -> Kind:
    event = b.event("Visibility Brigade", event_type=UNMAPPED)
    att = b.volunteer("Unmapped", event)

    def check(run: Run) -> None:
        assert not run.events_of(event)
        assert not run.contacts("vol.unmapped@example.org")  # its only signup was skipped
        skipped = [x for x in run.result.lines("no calendar for event type") if UNMAPPED in x]
        assert skipped, "the summary does not count the skipped timeslots"

    return Kind(
        ids(event, att, att["person"]),
        [rf"Event type {UNMAPPED} has no PDI calendar"],
        check=check,
    )


def timeslot_ends_before_it_starts(b: Builder) -> Kind:
    event = b.event("Backwards Canvass")
    slot = event["timeslots"][0]
    slot["end_date"] = slot["start_date"] - 3600
    att = b.volunteer("Backwards", event)

    def check(run: Run) -> None:
        pdi_event = run.event_at(event, slot)
        assert pdi_event["endDateTimeUtc"] == pdi_event["startDateTimeUtc"]
        assert len(run.invitations(run.contact("vol.backwards@example.org"))) == 1

    return Kind(
        ids(event, att, att["person"]),
        [rf"Event {event['id']}: timeslot {slot['id']} ends before it starts"],
        check=check,
    )


def timeslot_years_away(b: Builder) -> Kind:
    far = GENERATED_AT + 10 * 365 * DAY  # 2036
    event = b.event("Canvass of the Next Decade")
    event["timeslots"] = [b.slot(far), event["timeslots"][0]]
    att = b.volunteer("Future", event)

    def check(run: Run) -> None:
        pdi_event = run.event_at(event, event["timeslots"][0])
        assert pdi_event["startDateTimeUtc"].startswith("2036-")
        assert pdi_event["endDateTimeUtc"] == pdi_time(far + 7200)
        assert len(run.events_of(event)) == 2

    return Kind(ids(event, att, att["person"]), check=check)


# 10,000 characters, HTML as Mobilize sends it, a marker at the very end.
LONG = ("<p>" + "Knock on every door on the block. " * 300)[: 10_000 - 8] + "THE END."
HTML = (
    '<p onclick="steal()">Bring <b>water</b> &amp; snacks<script>alert("x")</script></p>'
    "<!-- staff note --><br><img src=x onerror=alert(1)><table><tr><td>unclosed"
)


def ten_thousand_character_description(b: Builder) -> Kind:
    assert len(LONG) == 10_000
    event = b.event("Long Story Canvass", description=LONG)
    att = b.volunteer("Long", event)

    def check(run: Run) -> None:
        [pdi_event] = run.events_of(event)
        assert pdi_event["description"] == LONG

    return Kind(ids(event, att, att["person"]), check=check)


def html_in_description(b: Builder) -> Kind:
    event = b.event("Markup Canvass", description=HTML)
    att = b.volunteer("Markup", event)

    def check(run: Run) -> None:
        [pdi_event] = run.events_of(event)
        assert pdi_event["description"] == HTML

    return Kind(ids(event, att, att["person"]), check=check)


EMOJI_TITLE = "Canvass 🗳️ مسيرة — צעדה"
GIVEN, FAMILY = "🌻 Zoë", "בן־דוד عبد الله"


def emoji_and_right_to_left(b: Builder) -> Kind:
    event = b.event(EMOJI_TITLE)
    person = b.person(GIVEN, FAMILY, "zoe.rtl@example.org")
    att = b.signup(person, event, event["timeslots"][0])

    def check(run: Run) -> None:
        contact = run.contact("zoe.rtl@example.org")
        assert (contact["firstName"], contact["lastName"]) == (GIVEN, FAMILY)
        [pdi_event] = run.events_of(event)
        assert pdi_event["name"] == EMOJI_TITLE
        [invitation] = run.invitations(contact)
        assert invitation["eventId"] == pdi_event["id"]

    return Kind(ids(event, person, att), check=check)


SECRET_STREET = "742 Evergreen Terrace"


def private_address(b: Builder) -> Kind:
    event = b.event("Backyard Phone Bank", address_visibility="PRIVATE")
    # The organization's own key reads the real address: it must still never reach PDI.
    event["location"].update(venue="The Simpsons' Backyard", address_lines=[SECRET_STREET, ""])
    att = b.volunteer("Private", event)

    def check(run: Run) -> None:
        [pdi_event] = run.events_of(event)
        location = run.location(pdi_event)
        assert (location["locationName"], location["locationAddress"]) == ("Private Venue", "")
        everything = json.dumps(run.state, ensure_ascii=False)
        assert SECRET_STREET not in everything
        assert "Simpsons" not in everything

    return Kind(ids(event, att, att["person"]), check=check)


def virtual_without_location(b: Builder) -> Kind:
    event = b.event("Online Text Bank", is_virtual=True, location=None, event_type="TEXT_BANK")
    att = b.volunteer("Online", event)

    def check(run: Run) -> None:
        [pdi_event] = run.events_of(event)
        location = run.location(pdi_event)
        assert (location["locationName"], location["locationAddress"]) == ("Virtual", "")

    return Kind(ids(event, att, att["person"]), check=check)


def coordinates_out_of_range(b: Builder) -> Kind:
    # A geocoder's garbage, the same for two unrelated venues.
    garbage = {"latitude": 123.456, "longitude": -200.5}
    a, z = b.event("North Hall Canvass"), b.event("South Hall Canvass")
    for event in (a, z):
        event["location"]["location"] = dict(garbage)
    a1, a2 = b.volunteer("North", a), b.volunteer("South", z)

    def check(run: Run) -> None:
        locations = [run.location(run.events_of(e)[0]) for e in (a, z)]
        assert [x["locationName"] for x in locations] == [
            "North Hall Canvass Hall",
            "South Hall Canvass Hall",
        ]
        assert locations[0]["id"] != locations[1]["id"]

    return Kind(
        ids(a, z, a1, a2, a1["person"], a2["person"]),
        [rf"Event {e['id']}: coordinates \(123.456, -200.5\) are out of range" for e in (a, z)],
        check=check,
    )


def pdi_answers_400(b: Builder) -> Kind:
    # PDI requires a last name ([Required]: an empty string is refused with a 400).
    person = b.person("Prince", "", "prince@example.org")
    att = b.signup(person, b.shared, b.shared["timeslots"][1])
    pid = person["id"]

    def check(run: Run) -> None:
        assert not run.contacts("prince@example.org")
        entry = json.loads(
            next(
                line
                for line in run.project.dead_letters.read_text().splitlines()
                if json.loads(line)["key"] == str(pid)
            )
        )
        assert entry["http_status"] == 400
        assert "LastName" in entry["body"]
        assert entry["record"]["family_name"] == ""  # kept as it came, to be retried

    return Kind(
        ids(person, att),
        [
            rf"Dead letter: stream=people key={pid} reason=contact upsert failed: "
            r"POST /contacts: HTTP 400.*LastName field is required.*\(HTTP 400\)",
            rf"Dead letter: stream=attendances key={att['id']} "
            rf"reason=contact for person {pid} failed",
        ],
        {letter("people", person), letter("attendances", att)},
        check,
    )


def signup_of_an_event_never_seen(b: Builder) -> Kind:
    # Not listed by Mobilize (made after the events were read, or hidden from the feed): the
    # signup carries the whole event and timeslot.
    unseen = b.event("Pop-up Canvass", listed=False)
    a1 = b.volunteer("Popup", unseen)
    # Listed, but without this timeslot: removed before any sync saw it.
    gone = b.slot()
    person = b.person("Vol", "Gone", "vol.gone@example.org")
    a2 = b.signup(person, b.shared, gone)

    def check(run: Run) -> None:
        pdi_event = run.event_at(unseen, unseen["timeslots"][0])
        assert pdi_event["name"] == "Pop-up Canvass"
        [invitation] = run.invitations(run.contact("vol.popup@example.org"))
        assert invitation["eventId"] == pdi_event["id"]
        assert not run.events_at(b.shared, gone)
        assert not run.contacts("vol.gone@example.org")

    return Kind(
        ids(unseen, a1, a1["person"], person, a2),
        [
            rf"Timeslot {gone['id']} is not listed by event {b.shared['id']} "
            rf"\(signup {a2['id']}\)"
        ],
        check=check,
    )


def later(record: Record, **changes: Any) -> Record:
    """The same record listed again, changed a minute later (read twice in one run)."""
    return {**copy.deepcopy(record), **changes, "modified_date": record["modified_date"] + 60}


def same_record_twice(b: Builder) -> Kind:
    old = b.event("Old Title Canvass")
    new = later(old, title="New Title Canvass")
    b.data["events"].append(new)
    after = later(b.person("Before", "Twice", "twice@example.org", age=100), given_name="After")
    b.data["people"].append(after)
    registered = b.signup(after, new, new["timeslots"][0], age=100)
    b.data["attendances"].append(later(registered, status="CONFIRMED"))
    # Listed twice, unchanged: the tap reads it twice and drops the repeat.
    same = b.volunteer("Same", new)
    b.data["attendances"].append(copy.deepcopy(same))

    def check(run: Run) -> None:
        [pdi_event] = run.events_of(new)
        assert pdi_event["name"] == "New Title Canvass"
        contact = run.contact("twice@example.org")
        assert contact["firstName"] == "After"
        [invitation] = run.invitations(contact)
        assert (invitation["rsvpStatus"], invitation["isConfirmed"]) == ("Yes", True)
        assert len(run.invitations(run.contact("vol.same@example.org"))) == 1

    return Kind(
        ids(new, after, registered, same, same["person"]),
        [r"Stream 'attendances': dropped 1 repeated record\(s\)"],
        check=check,
    )


KINDS: dict[str, Callable[[Builder], Kind]] = {
    f.__name__: f
    for f in (
        person_without_email,
        malformed_email,
        email_in_two_cases,
        shared_email,
        masked_records,
        event_type_not_mapped,
        timeslot_ends_before_it_starts,
        timeslot_years_away,
        ten_thousand_character_description,
        html_in_description,
        emoji_and_right_to_left,
        private_address,
        virtual_without_location,
        coordinates_out_of_range,
        pdi_answers_400,
        signup_of_an_event_never_seen,
        same_record_twice,
    )
}


# --- one run for the whole catalogue -----------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, dict[str, Kind]]]:
    workdir = tmp_path_factory.mktemp("bad-input")
    mobilize = Simulator("sandbox.mobilize", [*BASE, *BASE_ATTENDANCES], workdir / "mobilize.log")
    pdi = Simulator("sandbox.pdi", [], workdir / "pdi.log")
    try:
        project = Project(workdir, mobilize.start(), pdi.start())
        data = project.dataset()
        builder = Builder(data)
        kinds = {name: make(builder) for name, make in KINDS.items()}
        assert len(data["attendances"]) <= 100, "a repeated row could straddle two pages"
        mobilize.admin("load", {"dataset": data})
        # Every generated event type is routed; no default calendar, so UNMAPPED is skipped.
        routes = {
            e["event_type"]: CALENDARS.get(e["event_type"], "Other Events")
            for e in data["events"]
            if e["event_type"] != UNMAPPED
        }
        calendars = workdir / "calendars.yml"
        calendars.write_text(
            "event_types:\n" + "".join(f"  {t}: {c}\n" for t, c in sorted(routes.items()))
        )
        # Two batches, as a production run of any size has: the events, deleted events and
        # people in the first, the signups in the second, a batch after their events. (A
        # record read twice sits in one batch: two versions in two batches would be two
        # writes, ending the same.)
        first_batch = len(data["events"]) + len(data["deleted_events"]) + len(data["people"])
        project.extra_env.update(
            {
                "TARGET_PDI_CALENDARS_FILE": str(calendars),
                "TARGET_PDI_BATCH_SIZE_ROWS": str(first_batch),
            }
        )
        result = project.sync()
        dead: set[tuple[str, str]] = set()
        if project.dead_letters.exists():
            for line in project.dead_letters.read_text().splitlines():
                entry = json.loads(line)
                dead.add((entry["stream"], entry["key"]))
        yield (
            Run(project, result, project.dataset(), routes, project.pdi_state(), dead),
            kinds,
        )
    finally:
        mobilize.stop()
        pdi.stop()


def test_one_run_takes_the_whole_catalogue(catalogue: tuple[Run, dict[str, Kind]]) -> None:
    run, kinds = catalogue
    assert run.result.returncode == 0, run.result.failure()
    model = PdiModel(router(run.routes, None))
    model.sync(run.dataset)
    found = differences(model, run.state)
    assert not found, f"{len(found)} discrepancies:\n" + "\n".join(found[:40])
    assert run.dead == set().union(*(k.dead for k in kinds.values()))
    summary = run.summary()
    assert {name: row["failed"] for name, row in summary.items()} == {
        "Location": 0,
        "Event": 0,
        "Contact": 1,  # pdi_answers_400
        "Invitation": 1,  # its signup
    }
    # Written once: a first run updates nothing, records read twice included.
    assert {name: row["updated"] for name, row in summary.items()} == dict.fromkeys(summary, 0)


@pytest.mark.parametrize("name", list(KINDS))
def test_bad_input(catalogue: tuple[Run, dict[str, Kind]], name: str) -> None:
    run, kinds = catalogue
    kind = kinds[name]
    assert run.result.returncode == 0, run.result.failure()
    lines = run.result.output.splitlines()
    for pattern in kind.lines:
        assert [x for x in lines if re.search(pattern, x)], f"no log line matches {pattern!r}"
    records = {str(i) for i in kind.records}
    assert {d for d in run.dead if d[1] in records} == kind.dead
    if not kind.lines:
        # Nothing to report: no line of the run names its records (metrics aside, which
        # carry the tap's contexts).
        named = re.compile(r"\b(" + "|".join(sorted(records)) + r")\b")
        assert not [x for x in lines if named.search(x) and "METRIC:" not in x]
    if kind.check is not None:
        kind.check(run)
