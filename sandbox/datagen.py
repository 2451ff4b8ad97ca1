"""Deterministic generator of a realistic Mobilize organization.

``generate(DatasetSpec(...))`` builds, from a seed and size knobs, everything the Mobilize
simulator serves for one organization: the organization and a few others (promoting
sponsors and unrelated orgs), events with nested timeslots, deleted events, people and
attendances. The objects have the shapes of ``docs/../mobilize-api.md`` section 4,
including the quirks a tap must survive (section 5):

* fixed fractions of PRIVATE, non-APPROVED, virtual, private-address and promoted events;
* timeslot counts per event that vary around the knob while the total stays exactly
  ``events * timeslots_per_event``;
* people without email, masked attendances (ids null, counted apart from the knob),
  REGISTERED/CONFIRMED/CANCELLED statuses, ``attended`` true/false/null;
* deleted events whose ids are not in ``events``.

Every date is an integer epoch before ``GENERATED_AT`` (2026-11-01T00:00:00Z).
The same seed and knobs give the same dataset, byte for byte.

CLI: ``python -m sandbox.datagen --seed 1 --events 2000 --timeslots-per-event 3
--people 20000 --attendances 60000 --out data.json`` (prints the expected counts).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Record = dict[str, Any]

GENERATED_AT = 1793491200  # 2026-11-01T00:00:00Z: every generated date is before this
TIMESLOTS_FROM = 1785542400  # 2026-08-01T00:00:00Z
TIMESLOTS_TO = 1801440000  # 2027-02-01T00:00:00Z
DAY = 86400

PRIVATE_ADDRESS_PLACEHOLDER = "This event’s address is private. Sign up for more details"

COMMON_EVENT_TYPES = (
    "CANVASS",
    "PHONE_BANK",
    "TEXT_BANK",
    "MEETING",
    "COMMUNITY",
    "FUNDRAISER",
    "MEET_GREET",
    "HOUSE_PARTY",
    "VOTER_REG",
    "TRAINING",
    "FRIEND_TO_FRIEND_OUTREACH",
    "ADVOCACY_CALL",
    "DEBATE_WATCH_PARTY",
    "RALLY",
    "TOWN_HALL",
    "OFFICE_OPENING",
    "BARNSTORM",
    "SOLIDARITY_EVENT",
    "COMMUNITY_CANVASS",
    "SIGNATURE_GATHERING",
    "CARPOOL",
    "OTHER",
    "WORKSHOP",
)
RARE_EVENT_TYPES = ("POSTCARD_WRITING", "RELATIONAL")
# Event types a simulator accepts as enum values (the list "may expand").
ALL_EVENT_TYPES = (
    *COMMON_EVENT_TYPES,
    "PETITION",
    "AUTOMATED_PHONE_BANK",
    "LETTER_WRITING",
    "LITERATURE_DROP_OFF",
    "VISIBILITY_EVENT",
    "PLEDGE",
    "INTEREST_FORM",
    "DONATION_CAMPAIGN",
    "SOCIAL_MEDIA_CAMPAIGN",
    "POSTCARD_WRITING",
    "GROUP",
    "VOLUNTEER_SHIFT",
    "ADVOCACY",
    "RELATIONAL",
    "DATA_ENTRY",
    "POLL_MONITORING",
    "HOTLINE",
    "VOTER_PROTECTION",
)
# Weighted toward the field work most organizations run.
_TYPE_WEIGHTS = {
    "CANVASS": 14,
    "PHONE_BANK": 14,
    "TEXT_BANK": 10,
    "MEETING": 6,
    "COMMUNITY": 4,
    "FUNDRAISER": 4,
    "MEET_GREET": 3,
    "HOUSE_PARTY": 3,
    "VOTER_REG": 5,
    "TRAINING": 5,
    "FRIEND_TO_FRIEND_OUTREACH": 2,
    "ADVOCACY_CALL": 2,
    "DEBATE_WATCH_PARTY": 1,
    "RALLY": 3,
    "TOWN_HALL": 2,
    "OFFICE_OPENING": 1,
    "BARNSTORM": 2,
    "SOLIDARITY_EVENT": 1,
    "COMMUNITY_CANVASS": 3,
    "SIGNATURE_GATHERING": 2,
    "CARPOOL": 1,
    "OTHER": 3,
    "WORKSHOP": 2,
    "POSTCARD_WRITING": 1,
    "RELATIONAL": 1,
}
VIRTUAL_FRIENDLY = {"PHONE_BANK", "TEXT_BANK", "TRAINING", "MEETING", "ADVOCACY_CALL", "WORKSHOP"}

US_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
)

ENUMS: dict[str, list[str]] = {
    "event_type": list(ALL_EVENT_TYPES),
    "visibility": ["PUBLIC", "PRIVATE"],
    "accessibility_status": ["ACCESSIBLE", "NOT_ACCESSIBLE", "NOT_SURE"],
    "approval_status": ["APPROVED", "NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION"],
    "timezone": list(US_TIMEZONES),
    "sms_opt_in": ["UNSPECIFIED", "OPT_IN", "OPT_OUT"],
    "transactional_sms_opt_in": ["UNSPECIFIED", "OPT_IN", "OPT_OUT"],
}

# city, state, zip prefix (3 digits), latitude, longitude, timezone, congressional district
_CITIES: tuple[tuple[str, str, str, float, float, str, str], ...] = (
    ("Philadelphia", "PA", "191", 39.9526, -75.1652, "America/New_York", "03"),
    ("Pittsburgh", "PA", "152", 40.4406, -79.9959, "America/New_York", "12"),
    ("Harrisburg", "PA", "171", 40.2732, -76.8867, "America/New_York", "10"),
    ("Atlanta", "GA", "303", 33.7490, -84.3880, "America/New_York", "05"),
    ("Savannah", "GA", "314", 32.0809, -81.0912, "America/New_York", "01"),
    ("Charlotte", "NC", "282", 35.2271, -80.8431, "America/New_York", "12"),
    ("Raleigh", "NC", "276", 35.7796, -78.6382, "America/New_York", "02"),
    ("Detroit", "MI", "482", 42.3314, -83.0458, "America/New_York", "13"),
    ("Grand Rapids", "MI", "495", 42.9634, -85.6681, "America/New_York", "03"),
    ("Columbus", "OH", "432", 39.9612, -82.9988, "America/New_York", "03"),
    ("Cleveland", "OH", "441", 41.4993, -81.6944, "America/New_York", "11"),
    ("Miami", "FL", "331", 25.7617, -80.1918, "America/New_York", "27"),
    ("Orlando", "FL", "328", 28.5383, -81.3792, "America/New_York", "10"),
    ("Milwaukee", "WI", "532", 43.0389, -87.9065, "America/Chicago", "04"),
    ("Madison", "WI", "537", 43.0731, -89.4012, "America/Chicago", "02"),
    ("Minneapolis", "MN", "554", 44.9778, -93.2650, "America/Chicago", "05"),
    ("Chicago", "IL", "606", 41.8781, -87.6298, "America/Chicago", "07"),
    ("Houston", "TX", "770", 29.7604, -95.3698, "America/Chicago", "18"),
    ("Austin", "TX", "787", 30.2672, -97.7431, "America/Chicago", "37"),
    ("Omaha", "NE", "681", 41.2565, -95.9345, "America/Chicago", "02"),
    ("Denver", "CO", "802", 39.7392, -104.9903, "America/Denver", "01"),
    ("Albuquerque", "NM", "871", 35.0844, -106.6504, "America/Denver", "01"),
    ("Salt Lake City", "UT", "841", 40.7608, -111.8910, "America/Denver", "01"),
    ("Phoenix", "AZ", "850", 33.4484, -112.0740, "America/Phoenix", "03"),
    ("Tucson", "AZ", "857", 32.2226, -110.9747, "America/Phoenix", "07"),
    ("Las Vegas", "NV", "891", 36.1699, -115.1398, "America/Los_Angeles", "01"),
    ("Reno", "NV", "895", 39.5296, -119.8138, "America/Los_Angeles", "02"),
    ("Los Angeles", "CA", "900", 34.0522, -118.2437, "America/Los_Angeles", "34"),
    ("Oakland", "CA", "946", 37.8044, -122.2712, "America/Los_Angeles", "12"),
    ("Portland", "OR", "972", 45.5152, -122.6784, "America/Los_Angeles", "03"),
    ("Seattle", "WA", "981", 47.6062, -122.3321, "America/Los_Angeles", "07"),
    ("Honolulu", "HI", "968", 21.3069, -157.8583, "Pacific/Honolulu", "01"),
)

_STREETS = (
    "Main St",
    "Oak Ave",
    "Maple St",
    "Washington Blvd",
    "Park Ave",
    "Elm St",
    "Lincoln Ave",
    "Cedar Rd",
    "Market St",
    "Broad St",
    "Jefferson St",
    "Lake Dr",
    "Highland Ave",
    "Church St",
    "Pine St",
    "Union Ave",
    "Franklin St",
    "River Rd",
    "Chestnut St",
    "Center St",
)
_VENUES = (
    "Public Library, Community Room",
    "Union Hall",
    "Field Office",
    "Community Center",
    "First Congregational Church Hall",
    "Coffee Collective",
    "Neighborhood Park Pavilion",
    "Volunteer's Home",
    "Campaign Headquarters",
    "Recreation Center, Room B",
    "Brewing Company Back Room",
    "High School Cafeteria",
)
_GIVEN = (
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "John",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
    "Jose", "Ashley", "Kevin", "Kimberly", "Brian", "Emily", "George", "Donna", "Wei", "Michelle",
    "Edward", "Carol", "Ronald", "Amanda", "Timothy", "Melissa", "Jason", "Deborah", "Jeffrey",
    "Stephanie", "Ryan", "Rebecca", "Jacob", "Sharon", "Gary", "Laura", "Nicholas", "Cynthia",
    "Eric", "Dorothy", "Jonathan", "Amy", "Priya", "Aisha", "Luis", "Mei", "Kwame", "Fatima",
    "Hiroshi", "Ngozi", "Andrés", "Zoë",
)  # fmt: skip
_FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Patel", "Kim", "Okafor",
    "O'Brien", "Müller", "Yamamoto", "Haddad", "Kowalski", "Begay",
)  # fmt: skip
_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com")

_TITLES: dict[str, tuple[str, ...]] = {
    "CANVASS": ("Weekend Canvass in {city}", "Door Knocking: {city}", "{city} Canvass Launch"),
    "PHONE_BANK": ("Virtual Phone Bank", "Call Voters in {state}", "Evening Phone Bank"),
    "TEXT_BANK": ("Text Bank for {state}", "Virtual Text Bank", "Text Out the Vote"),
    "MEETING": ("Monthly Volunteer Meeting", "{city} Team Meeting", "Organizing Meeting"),
    "COMMUNITY": ("Community Potluck", "{city} Neighbors Gathering", "Community Cleanup"),
    "FUNDRAISER": ("Grassroots Fundraiser", "Fundraising Dinner in {city}", "Trivia Fundraiser"),
    "MEET_GREET": ("Meet & Greet with the Candidate", "Coffee with the Campaign in {city}"),
    "HOUSE_PARTY": ("House Party in {city}", "Kickoff House Party"),
    "VOTER_REG": ("Voter Registration Drive", "Register Voters at the {city} Farmers Market"),
    "TRAINING": ("Volunteer Training", "Canvass Training", "Phone Bank Training (Virtual)"),
    "FRIEND_TO_FRIEND_OUTREACH": ("Friend-to-Friend Outreach Hour", "Reach Your Network"),
    "ADVOCACY_CALL": ("Call Your Senator Day", "Advocacy Call-In"),
    "DEBATE_WATCH_PARTY": ("Debate Watch Party in {city}", "Debate Night Watch Party"),
    "RALLY": ("Rally in {city}", "Get Out the Vote Rally"),
    "TOWN_HALL": ("{city} Town Hall", "Community Town Hall"),
    "OFFICE_OPENING": ("{city} Office Opening", "Grand Opening: {city} Field Office"),
    "BARNSTORM": ("{city} Barnstorm", "Volunteer Barnstorm"),
    "SOLIDARITY_EVENT": ("Solidarity Vigil in {city}", "Stand in Solidarity"),
    "COMMUNITY_CANVASS": ("Community Canvass: {city}", "Neighborhood Listening Canvass"),
    "SIGNATURE_GATHERING": ("Ballot Petition Signature Drive", "Collect Signatures in {city}"),
    "CARPOOL": ("Carpool to {city}", "Road Trip Canvass Carpool"),
    "OTHER": ("Volunteer Day", "Special Project Night", "{city} Volunteer Social"),
    "WORKSHOP": ("Storytelling Workshop", "Digital Organizing Workshop"),
    "POSTCARD_WRITING": ("Postcard Writing Party", "Postcards to {state} Voters"),
    "RELATIONAL": ("Relational Organizing Session", "Talk to Five Friends"),
}
_PARAGRAPHS = (
    "Join us to talk with voters about the issues that matter most in our community.",
    "No experience needed. We will provide training, materials and snacks.",
    "Bring a charged phone and a friend. Accessible parking is available on site.",
    "We are building a volunteer team that can win in November and beyond.",
    "This is a family-friendly event; kids are welcome.",
    "Masks are available for anyone who wants one.",
)
_TAG_NAMES = (
    "Youth",
    "Spanish-speaking",
    "Students",
    "Labor",
    "Climate",
    "Healthcare",
    "Rural",
    "Accessible",
)
_CUSTOM_FIELDS = (
    (501, "Do you need a ride?", "boolean"),
    (502, "Dietary restrictions", "text"),
    (503, "Languages spoken", "text"),
    (504, "Can you host a future event?", "boolean"),
)
_FEEDBACK = (
    "Great event, well organized!",
    "Would have liked more training beforehand.",
    "Loved meeting other volunteers.",
    "Turf was too spread out.",
)

_ORG_NAMES = (
    ("Keystone Forward", "keystoneforward", "INDEPENDENT"),
    ("Great Lakes Voter Alliance", "greatlakesvoters", "C4"),
    ("Sunbelt Organizing Project", "sunbeltorganizing", "GRASSROOTS_GROUP"),
    ("Rivera for Congress", "riveraforcongress", "CAMPAIGN"),
    ("State Democratic Party", "statedemocrats", "STATE_PARTY"),
    ("Working Families United", "workingfamiliesunited", "UNION"),
    ("Clean Air Now", "cleanairnow", "C3"),
)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of acyclic objects.

    Each full collection walks the whole heap; while a big dataset is being built they
    fire again and again and double the build time. The objects are freed by reference
    counting anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class DatasetSpec:
    seed: int = 1
    org_id: int = 1
    events: int = 40
    timeslots_per_event: int = 3
    people: int = 200
    attendances: int = 600


@dataclass
class Dataset:
    spec: DatasetSpec
    generated_at: int
    organization: Record
    organizations: list[Record]
    promoted_organization_ids: list[int]
    events: list[Record]
    deleted_events: list[Record]
    # DeletedEvent rows are only {id, deleted_date}; this remembers which were PRIVATE
    # (the deleted-events route hides them from unauthenticated callers).
    private_deleted_event_ids: list[int]
    people: list[Record]
    attendances: list[Record]
    tags: list[Record] = field(default_factory=list)

    def expected_counts(self) -> dict[str, int]:
        """What a keyed tap that asks for every visibility and approval status emits."""
        masked = sum(1 for a in self.attendances if a["id"] is None)
        return {
            "events": len(self.events),
            "timeslots": sum(len(e["timeslots"] or ()) for e in self.events),
            "deleted_events": len(self.deleted_events),
            "people": len(self.people),
            "attendances": len(self.attendances) - masked,
            "masked_attendances": masked,
            "organization": 1,
        }

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """The dataset as JSON-able data.

        ``compact`` replaces the objects embedded in each attendance (person, event,
        timeslot, sponsor) with ``{"id": ...}`` stubs whenever the full object is elsewhere
        in the dataset; ``from_dict`` puts the full copies back. Full form: ~3.5 kB per
        attendance; compact: ~0.4 kB.
        """
        out = {name: getattr(self, name) for name in _DATASET_FIELDS}
        out["spec"] = asdict(self.spec)
        if compact:
            index = _Index(self)
            out["attendances"] = [_compact(a, index) for a in self.attendances]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataset:
        values = {name: data[name] for name in _DATASET_FIELDS if name in data}
        values["spec"] = DatasetSpec(**data["spec"])
        dataset = cls(**values)
        index = _Index(dataset)
        embedded = (
            ("person", index.people, dict),
            ("event", index.events, lambda e: {**e, "timeslots": None}),
            ("timeslot", index.timeslots, lambda t: t),
            ("sponsor", index.organizations, lambda o: o),
        )
        for attendance in dataset.attendances:
            for key, known, copy in embedded:
                obj = attendance.get(key)
                if isinstance(obj, dict) and len(obj) == 1 and obj.get("id") in known:
                    attendance[key] = copy(known[obj["id"]])
        return dataset

    def to_json(self, indent: int | None = None, compact: bool = False) -> str:
        return json.dumps(self.to_dict(compact), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Dataset:
        """Read ``to_json`` output, full or compact."""
        with gc_paused():
            return cls.from_dict(json.loads(text))


def _compact(attendance: Record, index: _Index) -> Record:
    embedded = (
        ("person", index.people),
        ("event", index.events),
        ("timeslot", index.timeslots),
        ("sponsor", index.organizations),
    )
    out = dict(attendance)
    for key, known in embedded:
        obj = attendance.get(key)
        if isinstance(obj, dict) and obj.get("id") is not None and obj["id"] in known:
            out[key] = {"id": obj["id"]}
    return out


class _Index:
    """Objects of a dataset by id, to expand compact attendances."""

    def __init__(self, dataset: Dataset) -> None:
        self.people: dict[Any, Record] = {p["id"]: p for p in dataset.people}
        self.events: dict[Any, Record] = {e["id"]: e for e in dataset.events}
        self.timeslots: dict[Any, Record] = {
            t["id"]: t for e in dataset.events for t in e["timeslots"] or ()
        }
        self.organizations: dict[Any, Record] = {o["id"]: o for o in dataset.organizations}


_DATASET_FIELDS = (
    "spec",
    "generated_at",
    "organization",
    "organizations",
    "promoted_organization_ids",
    "events",
    "deleted_events",
    "private_deleted_event_ids",
    "people",
    "attendances",
    "tags",
)


def _fraction(n: int, frac: float) -> int:
    """``frac`` of ``n``, at least one as soon as the dataset is big enough to hold it."""
    if n <= 0:
        return 0
    return max(1, round(n * frac)) if n >= 10 else int(n * frac)


def _slugify(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


class _Generator:
    def __init__(self, spec: DatasetSpec) -> None:
        for knob in ("events", "timeslots_per_event", "people", "attendances"):
            if getattr(spec, knob) < 0:
                raise ValueError(f"{knob} must be >= 0")
        if spec.attendances and not (spec.people and spec.events and spec.timeslots_per_event):
            raise ValueError("attendances need people, events and timeslots")
        self.spec = spec
        self.rng = random.Random(spec.seed)

    # -- helpers ---------------------------------------------------------------------------

    def _ids(self, start: int, count: int) -> list[int]:
        """Increasing ids with small random gaps, like a shared database sequence."""
        rng = self.rng
        out = []
        current = start
        for _ in range(count):
            current += rng.choice((1, 1, 1, 2, 3))
            out.append(current)
        return out

    def _dates(self, low: int, high: int) -> tuple[int, int]:
        """created_date in [low, high) and modified_date in [created, high)."""
        rng = self.rng
        high = max(high, low + 2)
        created = rng.randrange(low, high - 1)
        # Most objects were touched again after creation, some long after.
        modified = created if rng.random() < 0.2 else rng.randrange(created, high)
        return created, modified

    def _phone(self, uid: int) -> str:
        """A US number, unique per ``uid`` (below 8,000,000)."""
        area = self.rng.randrange(201, 990)
        return f"{area}{2 + uid % 8}{uid // 8 % 1_000_000:06d}"

    def _email(self, given: str, family: str, uid: int) -> str:
        """An address unique per ``uid``: targets that match contacts by email must not merge."""
        local = "".join(ch for ch in f"{given}.{family}".lower() if ch.isascii() and ch != "'")
        return f"{local}{uid}@{self.rng.choice(_EMAIL_DOMAINS)}"

    def _postal_code(self, city: tuple[str, str, str, float, float, str, str]) -> str:
        return f"{city[2]}{self.rng.randrange(1, 100):02d}"

    # -- organizations ---------------------------------------------------------------------

    def _organization(self, org_id: int, name: str, slug: str, org_type: str, state: str) -> Record:
        created, modified = self._dates(GENERATED_AT - 6 * 365 * DAY, GENERATED_AT - 30 * DAY)
        coordinated = org_type in {"CAMPAIGN", "STATE_PARTY", "COORDINATED"}
        return {
            "id": org_id,
            "name": name,
            "slug": slug,
            "is_coordinated": coordinated,
            "is_independent": not coordinated,
            "race_type": "CONGRESSIONAL" if org_type == "CAMPAIGN" else None,
            "is_primary_campaign": False,
            "state": state,
            "district": "03" if org_type == "CAMPAIGN" else "",
            "candidate_name": "Ana Rivera" if org_type == "CAMPAIGN" else "",
            "event_feed_url": f"https://www.mobilize.us/{slug}/",
            "created_date": created,
            "modified_date": modified,
            "org_type": org_type,
            "logo_url": f"https://mobilize-uploads-prod.s3.amazonaws.com/branding/{slug}-logo.png"
            if self.rng.random() < 0.7
            else "",
            "is_nonelectoral": org_type in {"C3", "UNION"},
        }

    # -- build -----------------------------------------------------------------------------

    def build(self) -> Dataset:
        spec, rng = self.spec, self.rng
        own = self._organization(spec.org_id, "Sandbox Organizing Project", "sandboxorg", "C4", "")
        others = []
        next_org_id = spec.org_id
        for name, slug, org_type in _ORG_NAMES:
            next_org_id += rng.randrange(1, 40)
            others.append(self._organization(next_org_id, name, slug, org_type, ""))
        # The first four others are promoted by the org (their events appear in its feed).
        promoting = others[:4]
        tags = [{"id": 9000 + i, "name": name} for i, name in enumerate(_TAG_NAMES)]

        events, deleted, private_deleted = self._events(own, promoting, tags)
        people = self._people()
        attendances = self._attendances(own, events, people)
        return Dataset(
            spec=spec,
            generated_at=GENERATED_AT,
            organization=own,
            organizations=[own, *others],
            promoted_organization_ids=[o["id"] for o in promoting],
            events=events,
            deleted_events=deleted,
            private_deleted_event_ids=private_deleted,
            people=people,
            attendances=attendances,
            tags=tags,
        )

    def _timeslot_counts(self, n_events: int) -> list[int]:
        per = self.spec.timeslots_per_event
        counts = [per] * n_events
        if per <= 1 or n_events < 2:
            return counts
        rng = self.rng
        # Move single timeslots between events: the total stays exactly events * per.
        for _ in range(n_events):
            a, b = rng.randrange(n_events), rng.randrange(n_events)
            if a != b and counts[a] > 1 and counts[b] < per * 3:
                counts[a] -= 1
                counts[b] += 1
        return counts

    def _location(
        self, city: tuple[str, str, str, float, float, str, str], private_address: bool
    ) -> Record:
        rng = self.rng
        number = rng.randrange(10, 9999)
        street = f"{number} {rng.choice(_STREETS)}"
        geocoded = rng.random() > 0.03  # geocoding failed for a few addresses
        location: Record = {
            "venue": rng.choice(_VENUES),
            "address_lines": [street, rng.choice(("", "", "", f"Suite {rng.randrange(1, 400)}"))],
            "locality": city[0],
            "region": city[1],
            "country": "US",
            "postal_code": self._postal_code(city),
            "location": {
                "latitude": round(city[3] + rng.uniform(-0.08, 0.08), 6),
                "longitude": round(city[4] + rng.uniform(-0.08, 0.08), 6),
            }
            if geocoded
            else None,
            "congressional_district": city[6] if geocoded else None,
            "state_leg_district": str(rng.randrange(1, 120)) if geocoded else None,
            "state_senate_district": str(rng.randrange(1, 50)) if geocoded else None,
        }
        if private_address:
            location["venue"] = PRIVATE_ADDRESS_PLACEHOLDER
            location["address_lines"] = [PRIVATE_ADDRESS_PLACEHOLDER, ""]
            # The nested coordinates key is absent entirely for private addresses.
            del location["location"]
        return location

    def _events(
        self, own: Record, promoting: list[Record], tags: list[Record]
    ) -> tuple[list[Record], list[Record], list[int]]:
        spec, rng = self.spec, self.rng
        n = spec.events
        n_deleted = max(1, n // 400) if n else 0
        all_ids = self._ids(100000, n + n_deleted)
        deleted_positions = set(rng.sample(range(len(all_ids)), n_deleted))
        event_ids = [i for pos, i in enumerate(all_ids) if pos not in deleted_positions]
        deleted_ids = [i for pos, i in enumerate(all_ids) if pos in deleted_positions]

        order = list(range(n))
        rng.shuffle(order)
        n_promoted = _fraction(n, 0.10) if promoting else 0
        promoted = set(order[:n_promoted])
        owned = order[n_promoted:]
        private = set(rng.sample(owned, min(len(owned), _fraction(n, 0.10))))
        non_approved = set(rng.sample(owned, min(len(owned), _fraction(n, 0.05))))
        virtual = set(rng.sample(range(n), _fraction(n, 0.20)))
        in_person_owned = [i for i in owned if i not in virtual]
        private_address = set(
            rng.sample(in_person_owned, min(len(in_person_owned), _fraction(n, 0.05)))
        )
        campaigns = [
            {
                "id": 700 + i,
                "slug": slug,
                "event_create_page_url": f"https://www.mobilize.us/{own['slug']}/c/{slug}/",
            }
            for i, slug in enumerate(("weekend-of-action", "gotv-2026", "summer-of-organizing"))
        ]
        counts = self._timeslot_counts(n)
        timeslot_ids = iter(self._ids(2000000, sum(counts)))
        types = list(_TYPE_WEIGHTS)
        weights = list(_TYPE_WEIGHTS.values())
        statuses = ("NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION")

        events: list[Record] = []
        for index, event_id in enumerate(event_ids):
            is_promoted = index in promoted
            sponsor = rng.choice(promoting) if is_promoted else own
            is_virtual = index in virtual
            event_type = rng.choices(types, weights)[0]
            if is_virtual and event_type not in VIRTUAL_FRIENDLY and rng.random() < 0.7:
                event_type = rng.choice(sorted(VIRTUAL_FRIENDLY))
            city = rng.choice(_CITIES)
            location: Record | None
            if is_virtual and rng.random() < 0.5:
                location = None
            else:
                location = self._location(city, index in private_address)
            timezone = city[5] if location is not None else rng.choice(US_TIMEZONES)
            title = rng.choice(_TITLES.get(event_type, ("{city} Volunteer Event",))).format(
                city=city[0], state=city[1]
            )
            if is_virtual and "Virtual" not in title:
                title = f"{title} (Virtual)"
            paragraphs = rng.sample(_PARAGRAPHS, 2)
            description = (
                f"<p>{paragraphs[0]}</p><p>{paragraphs[1]}</p>"
                f"<p><strong>Questions?</strong> Reply to the confirmation email.</p>"
            )

            # Timeslots: a first start between Aug 2026 and Feb 2027, the next ones days apart.
            slots: list[Record] = []
            start = rng.randrange(TIMESLOTS_FROM, TIMESLOTS_TO - 20 * DAY) // 900 * 900
            for _ in range(counts[index]):
                duration = rng.choice((3600, 5400, 7200, 7200, 10800, 14400))
                slots.append(
                    {
                        "id": next(timeslot_ids),
                        "start_date": start,
                        "end_date": start + duration,
                        "is_full": rng.random() < 0.08,
                        "instructions": None
                        if is_promoted
                        else rng.choice(("", "", "Check in at the front table.")),
                        # Documented but rarely seen in real reads: present on owned events only,
                        # derived (not drawn) so the rest of the dataset stays as it was.
                        "max_attendees": None if is_promoted else 10 + len(slots) * 5,
                    }
                )
                start += rng.randrange(1, 8) * DAY + rng.choice((0, 0, 3600, -3600))
            first_start = slots[0]["start_date"] if slots else TIMESLOTS_FROM
            created, modified = self._dates(
                min(first_start, GENERATED_AT) - 240 * DAY, GENERATED_AT - 60
            )
            if is_promoted:
                visibility, approval = "PUBLIC", "APPROVED"
            else:
                visibility = "PRIVATE" if index in private else "PUBLIC"
                approval = rng.choice(statuses) if index in non_approved else "APPROVED"
            host = rng.choice(_GIVEN), rng.choice(_FAMILY)
            events.append(
                {
                    "id": event_id,
                    "title": title,
                    "summary": "",
                    "description": description,
                    "featured_image_url": f"https://mobilize-uploads-prod.s3.amazonaws.com/"
                    f"{sponsor['slug']}/event/{event_id}.jpg"
                    if rng.random() < 0.6
                    else "",
                    "high_priority": rng.choice((None, None, False, True)),
                    "sponsor": sponsor,
                    "timeslots": slots,
                    "location": location,
                    "timezone": timezone,
                    "event_type": event_type,
                    "browser_url": f"https://www.mobilize.us/{sponsor['slug']}/event/{event_id}/",
                    "created_date": created,
                    "modified_date": modified,
                    "visibility": visibility,
                    "address_visibility": "PRIVATE" if index in private_address else "PUBLIC",
                    "created_by_volunteer_host": rng.random() < 0.15,
                    "virtual_action_url": f"https://zoom.us/j/{rng.randrange(10**9, 10**10)}"
                    if is_virtual and not is_promoted and rng.random() < 0.2
                    else None,
                    "contact": None
                    if is_promoted
                    else {
                        "name": f"{host[0]} {host[1]}",
                        "email_address": self._email(host[0], host[1], event_id),
                        "phone_number": self._phone(event_id),
                        "owner_user_id": rng.randrange(100000, 999999),
                    },
                    "accessibility_status": rng.choice(
                        ("ACCESSIBLE", "ACCESSIBLE", "NOT_SURE", "NOT_ACCESSIBLE", None)
                    ),
                    "accessibility_notes": rng.choice(
                        (None, "", "Wheelchair accessible entrance on the side of the building.")
                    ),
                    "tags": [] if rng.random() < 0.5 else rng.sample(tags, rng.randrange(1, 3)),
                    "approval_status": approval,
                    "event_campaign": rng.choice(campaigns)
                    if not is_promoted and rng.random() < 0.15
                    else None,
                    "instructions": None
                    if is_promoted
                    else rng.choice(("", "Park in the back lot and come to the side door.")),
                    "is_virtual": is_virtual,
                }
            )
        if events:
            events[rng.randrange(len(events))]["tags"] = None  # tags may be null [WFP]

        deleted: list[Record] = []
        private_deleted: list[int] = []
        for i, event_id in enumerate(deleted_ids):
            deleted.append(
                {
                    "id": event_id,
                    "deleted_date": rng.randrange(GENERATED_AT - 90 * DAY, GENERATED_AT),
                }
            )
            if i % 2 == 1:
                private_deleted.append(event_id)
        return events, deleted, private_deleted

    def _people(self) -> list[Record]:
        rng = self.rng
        n = self.spec.people
        no_email = set(rng.sample(range(n), _fraction(n, 0.02)))
        people = []
        for index, person_id in enumerate(self._ids(300000, n)):
            given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
            created, modified = self._dates(GENERATED_AT - 4 * 365 * DAY, GENERATED_AT - 60)
            city = rng.choice(_CITIES)
            people.append(
                {
                    "id": person_id,
                    "person_id": person_id,
                    "user_id": person_id + 7606,
                    "created_date": created,
                    "modified_date": modified,
                    "given_name": given,
                    "family_name": family,
                    "email_addresses": []
                    if index in no_email
                    else [{"primary": True, "address": self._email(given, family, person_id)}],
                    "phone_numbers": [{"primary": True, "number": self._phone(person_id)}]
                    if rng.random() < 0.85
                    else [],
                    "postal_addresses": [{"primary": True, "postal_code": self._postal_code(city)}]
                    if rng.random() < 0.9
                    else [],
                    "sms_opt_in_status": rng.choice(("UNSPECIFIED", "OPT_IN", "OPT_IN", "OPT_OUT")),
                    "blocked_date": rng.randrange(created, GENERATED_AT)
                    if rng.random() < 0.005
                    else None,
                }
            )
        return people

    def _attendances(self, own: Record, events: list[Record], people: list[Record]) -> list[Record]:
        spec, rng = self.spec, self.rng
        n = spec.attendances
        if not n:
            return []
        n_masked = max(1, round(n * 0.01))
        ids = self._ids(5000000, n)
        # Masked rows sit between real ones (in id order they have no id of their own).
        masked_after = sorted(rng.randrange(n) for _ in range(n_masked))
        embedded_events = [{**e, "timeslots": None} for e in events]
        slots = [(ei, slot) for ei, e in enumerate(events) for slot in e["timeslots"]]
        seen: set[tuple[int, int]] = set()
        statuses = ("REGISTERED", "CONFIRMED", "CANCELLED")
        out: list[Record] = []
        masked_iter = iter(masked_after)
        next_masked = next(masked_iter, None)
        for index, attendance_id in enumerate(ids):
            for _ in range(20):  # the same person rarely signs up twice for one timeslot
                ei, slot = slots[rng.randrange(len(slots))]
                person = people[int(len(people) * rng.random() ** 1.3)]  # some are regulars
                if (person["id"], slot["id"]) not in seen:
                    break
            seen.add((person["id"], slot["id"]))
            event = events[ei]
            low = max(event["created_date"], person["created_date"])
            created, modified = self._dates(
                low, min(GENERATED_AT - 60, slot["end_date"] + 14 * DAY)
            )
            status = rng.choices(statuses, (80, 10, 10))[0]
            if slot["end_date"] >= GENERATED_AT:
                attended = None
            elif status == "CANCELLED":
                attended = rng.choice((None, False))
            else:
                attended = rng.choices((True, False, None), (60, 25, 15))[0]
            owned = event["sponsor"]["id"] == own["id"]
            record: Record = {
                "id": attendance_id,
                "created_date": created,
                "modified_date": modified,
                "person": dict(person),
                "event": embedded_events[ei],
                "timeslot": slot,
                "sponsor": own,
                "status": status,
                "attended": attended,
                "referrer": self._referrer(own, event) if owned else None,
                "custom_signup_field_values": self._custom_values() if owned else None,
            }
            if attended and rng.random() < 0.15:
                record["rating"] = rng.choice(("Positive", "Positive", "Neutral", "Negative"))
                record["feedback"] = rng.choice(_FEEDBACK)
            else:
                record["rating"] = None
                record["feedback"] = None
            out.append(record)
            while next_masked == index:
                out.append(self._masked(own, event, person))
                next_masked = next(masked_iter, None)
        return out

    def _referrer(self, own: Record, event: Record) -> Record:
        rng = self.rng
        source = rng.choice((None, None, "email", "facebook", "twitter", "partner"))
        if source is None:
            return dict.fromkeys(
                ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "url")
            )
        return {
            "utm_source": source,
            "utm_medium": rng.choice(("social", "email", "referral")),
            "utm_campaign": rng.choice(("gotv", "recruitment", None)),
            "utm_term": None,
            "utm_content": None,
            "url": f"{event['browser_url']}?utm_source={source}",
        }

    def _custom_values(self) -> list[Record]:
        rng = self.rng
        if rng.random() > 0.2:
            return []
        values = []
        for field_id, name, kind in rng.sample(_CUSTOM_FIELDS, rng.randrange(1, 3)):
            values.append(
                {
                    "custom_field_id": field_id,
                    "custom_field_name": name,
                    "text_value": rng.choice(("Vegetarian", "Spanish, English", "None"))
                    if kind == "text"
                    else None,
                    "boolean_value": rng.random() < 0.5 if kind == "boolean" else None,
                }
            )
        return values

    def _masked(self, own: Record, template: Record, person: Record) -> Record:
        """An attendance seen across the coordinated/independent firewall: ids nulled."""
        rng = self.rng
        created, modified = self._dates(person["created_date"], GENERATED_AT - 60)
        start = rng.randrange(TIMESLOTS_FROM, TIMESLOTS_TO) // 900 * 900
        event: Record = dict.fromkeys(template)
        event.update(
            event_type=template["event_type"],
            timezone=template["timezone"],
            is_virtual=template["is_virtual"],
            visibility="PUBLIC",
            approval_status="APPROVED",
        )
        return {
            "id": None,
            "created_date": created,
            "modified_date": modified,
            "person": dict(person),
            "event": event,
            "timeslot": {
                "id": None,
                "start_date": start,
                "end_date": start + 7200,
                "is_full": False,
                "instructions": None,
            },
            "sponsor": own,
            "status": None,
            "attended": None,
            "referrer": None,
            "custom_signup_field_values": None,
            "rating": None,
            "feedback": None,
        }


def generate(spec: DatasetSpec | None = None) -> Dataset:
    """Build the dataset for ``spec`` (deterministic for a given seed and size knobs)."""
    with gc_paused():
        return _Generator(spec or DatasetSpec()).build()


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The size and seed flags, shared by this CLI and the Mobilize simulator's."""
    defaults = DatasetSpec()
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--org-id", type=int, default=defaults.org_id)
    parser.add_argument("--events", type=int, default=defaults.events)
    parser.add_argument("--timeslots-per-event", type=int, default=defaults.timeslots_per_event)
    parser.add_argument("--people", type=int, default=defaults.people)
    parser.add_argument("--attendances", type=int, default=defaults.attendances)


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    return DatasetSpec(
        seed=args.seed,
        org_id=args.org_id,
        events=args.events,
        timeslots_per_event=args.timeslots_per_event,
        people=args.people,
        attendances=args.attendances,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate a deterministic Mobilize dataset.")
    add_spec_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, help="write the dataset JSON here")
    parser.add_argument(
        "--full", action="store_true", help="embed full objects in attendances (8x bigger file)"
    )
    args = parser.parse_args(argv)
    spec = spec_from_args(args)
    started = time.perf_counter()
    dataset = generate(spec)
    elapsed = time.perf_counter() - started
    if args.out is not None:
        args.out.write_text(dataset.to_json(compact=not args.full), encoding="utf-8")
    print(json.dumps(dataset.expected_counts()))
    print(f"generated in {elapsed:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
