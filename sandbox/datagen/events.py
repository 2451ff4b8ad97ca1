"""Events with their nested timeslots, and the deleted events.

Fixed fractions of the events are promoted (another organization's, in the feed), PRIVATE,
not APPROVED, virtual and private-address (``EventMix``); timeslot counts vary around the
knob while their total stays exactly ``events * timeslots_per_event``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.datagen.dataset import DAY, GENERATED_AT, TIMESLOTS_FROM, TIMESLOTS_TO, Record
from sandbox.datagen.draws import City, Draws, fraction
from sandbox.datagen.vocabulary import (
    CITIES,
    FAMILY_NAMES,
    GIVEN_NAMES,
    PARAGRAPHS,
    PRIVATE_ADDRESS_PLACEHOLDER,
    STREETS,
    TITLES,
    TYPE_WEIGHTS,
    US_TIMEZONES,
    VENUES,
    VIRTUAL_FRIENDLY,
)

_NON_APPROVED_STATUSES = ("NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION")


@dataclass(frozen=True)
class EventMix:
    """Which events (by position) are which kind, and the ids of live and deleted ones."""

    event_ids: list[int]
    deleted_ids: list[int]
    promoted: set[int]
    private: set[int]
    non_approved: set[int]
    virtual: set[int]
    private_address: set[int]

    @classmethod
    def draw(cls, draws: Draws, n: int, has_promoting: bool) -> EventMix:
        rng = draws.rng
        n_deleted = max(1, n // 400) if n else 0
        all_ids = draws.ids(100000, n + n_deleted)
        deleted_positions = set(rng.sample(range(len(all_ids)), n_deleted))
        order = list(range(n))
        rng.shuffle(order)
        n_promoted = fraction(n, 0.10) if has_promoting else 0
        owned = order[n_promoted:]
        private = set(rng.sample(owned, min(len(owned), fraction(n, 0.10))))
        non_approved = set(rng.sample(owned, min(len(owned), fraction(n, 0.05))))
        virtual = set(rng.sample(range(n), fraction(n, 0.20)))
        in_person_owned = [i for i in owned if i not in virtual]
        private_address = set(
            rng.sample(in_person_owned, min(len(in_person_owned), fraction(n, 0.05)))
        )
        return cls(
            event_ids=[i for pos, i in enumerate(all_ids) if pos not in deleted_positions],
            deleted_ids=[i for pos, i in enumerate(all_ids) if pos in deleted_positions],
            promoted=set(order[:n_promoted]),
            private=private,
            non_approved=non_approved,
            virtual=virtual,
            private_address=private_address,
        )


@dataclass(frozen=True)
class _Topic:
    """What an event is about and where: drawn before its timeslots."""

    event_type: str
    location: Record | None
    timezone: str
    title: str
    description: str


def timeslot_counts(draws: Draws, per: int, n_events: int) -> list[int]:
    counts = [per] * n_events
    if per <= 1 or n_events < 2:
        return counts
    rng = draws.rng
    # Move single timeslots between events: the total stays exactly events * per.
    for _ in range(n_events):
        a, b = rng.randrange(n_events), rng.randrange(n_events)
        if a != b and counts[a] > 1 and counts[b] < per * 3:
            counts[a] -= 1
            counts[b] += 1
    return counts


def location(draws: Draws, city: City, private_address: bool) -> Record:
    rng = draws.rng
    number = rng.randrange(10, 9999)
    street = f"{number} {rng.choice(STREETS)}"
    geocoded = rng.random() > 0.03  # geocoding failed for a few addresses
    place: Record = {
        "venue": rng.choice(VENUES),
        "address_lines": [street, rng.choice(("", "", "", f"Suite {rng.randrange(1, 400)}"))],
        "locality": city[0],
        "region": city[1],
        "country": "US",
        "postal_code": draws.postal_code(city),
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
        place["venue"] = PRIVATE_ADDRESS_PLACEHOLDER
        place["address_lines"] = [PRIVATE_ADDRESS_PLACEHOLDER, ""]
        # The nested coordinates key is absent entirely for private addresses.
        del place["location"]
    return place


def deleted_events(draws: Draws, deleted_ids: list[int]) -> tuple[list[Record], list[int]]:
    """DeletedEvent rows (``{id, deleted_date}``) and which of them were PRIVATE (every
    other one)."""
    deleted: list[Record] = []
    private_deleted: list[int] = []
    for i, event_id in enumerate(deleted_ids):
        deleted.append(
            {
                "id": event_id,
                "deleted_date": draws.rng.randrange(GENERATED_AT - 90 * DAY, GENERATED_AT),
            }
        )
        if i % 2 == 1:
            private_deleted.append(event_id)
    return deleted, private_deleted


class EventGenerator:
    """The live events of one dataset, drawn in id order after their ``EventMix``."""

    def __init__(
        self,
        draws: Draws,
        timeslots_per_event: int,
        mix: EventMix,
        own: Record,
        promoting: list[Record],
        tags: list[Record],
    ) -> None:
        self.draws, self.rng = draws, draws.rng
        self.mix, self.own, self.promoting, self.tags = mix, own, promoting, tags
        self.campaigns = [
            {
                "id": 700 + i,
                "slug": slug,
                "event_create_page_url": f"https://www.mobilize.us/{own['slug']}/c/{slug}/",
            }
            for i, slug in enumerate(("weekend-of-action", "gotv-2026", "summer-of-organizing"))
        ]
        n = len(mix.event_ids)
        self.counts = timeslot_counts(draws, timeslots_per_event, n)
        self.timeslot_ids = iter(draws.ids(2000000, sum(self.counts)))

    def events(self) -> list[Record]:
        events = [self._event(index, event_id) for index, event_id in enumerate(self.mix.event_ids)]
        if events:
            events[self.rng.randrange(len(events))]["tags"] = None  # tags may be null [WFP]
        return events

    def _event(self, index: int, event_id: int) -> Record:
        rng = self.rng
        is_promoted = index in self.mix.promoted
        sponsor = rng.choice(self.promoting) if is_promoted else self.own
        is_virtual = index in self.mix.virtual
        topic = self._topic(is_virtual, index in self.mix.private_address)
        slots = self._timeslots(self.counts[index], is_promoted)
        first_start = slots[0]["start_date"] if slots else TIMESLOTS_FROM
        dates = self.draws.dates(min(first_start, GENERATED_AT) - 240 * DAY, GENERATED_AT - 60)
        if is_promoted:
            visibility, approval = "PUBLIC", "APPROVED"
        else:
            visibility = "PRIVATE" if index in self.mix.private else "PUBLIC"
            approval = (
                rng.choice(_NON_APPROVED_STATUSES) if index in self.mix.non_approved else "APPROVED"
            )
        host = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        listing = self._listing(event_id, sponsor, topic, slots, dates)
        listing["visibility"] = visibility
        listing["address_visibility"] = "PRIVATE" if index in self.mix.private_address else "PUBLIC"
        listing["created_by_volunteer_host"] = rng.random() < 0.15
        details = self._organizer_details(event_id, is_promoted, is_virtual, host, approval)
        return {**listing, **details}

    def _topic(self, is_virtual: bool, private_address: bool) -> _Topic:
        rng = self.rng
        event_type = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]
        if is_virtual and event_type not in VIRTUAL_FRIENDLY and rng.random() < 0.7:
            event_type = rng.choice(sorted(VIRTUAL_FRIENDLY))
        city = rng.choice(CITIES)
        place: Record | None
        if is_virtual and rng.random() < 0.5:
            place = None
        else:
            place = location(self.draws, city, private_address)
        timezone = city[5] if place is not None else rng.choice(US_TIMEZONES)
        title = rng.choice(TITLES.get(event_type, ("{city} Volunteer Event",))).format(
            city=city[0], state=city[1]
        )
        if is_virtual and "Virtual" not in title:
            title = f"{title} (Virtual)"
        paragraphs = rng.sample(PARAGRAPHS, 2)
        description = (
            f"<p>{paragraphs[0]}</p><p>{paragraphs[1]}</p>"
            f"<p><strong>Questions?</strong> Reply to the confirmation email.</p>"
        )
        return _Topic(event_type, place, timezone, title, description)

    def _timeslots(self, count: int, is_promoted: bool) -> list[Record]:
        """A first start between Aug 2026 and Feb 2027, the next ones days apart."""
        rng = self.rng
        slots: list[Record] = []
        start = rng.randrange(TIMESLOTS_FROM, TIMESLOTS_TO - 20 * DAY) // 900 * 900
        for _ in range(count):
            duration = rng.choice((3600, 5400, 7200, 7200, 10800, 14400))
            slots.append(
                {
                    "id": next(self.timeslot_ids),
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
        return slots

    def _listing(
        self,
        event_id: int,
        sponsor: Record,
        topic: _Topic,
        slots: list[Record],
        dates: tuple[int, int],
    ) -> Record:
        """The fields every caller sees, up to ``modified_date`` (the key order is the API's)."""
        rng = self.rng
        return {
            "id": event_id,
            "title": topic.title,
            "summary": "",
            "description": topic.description,
            "featured_image_url": f"https://mobilize-uploads-prod.s3.amazonaws.com/"
            f"{sponsor['slug']}/event/{event_id}.jpg"
            if rng.random() < 0.6
            else "",
            "high_priority": rng.choice((None, None, False, True)),
            "sponsor": sponsor,
            "timeslots": slots,
            "location": topic.location,
            "timezone": topic.timezone,
            "event_type": topic.event_type,
            "browser_url": f"https://www.mobilize.us/{sponsor['slug']}/event/{event_id}/",
            "created_date": dates[0],
            "modified_date": dates[1],
        }

    def _organizer_details(
        self,
        event_id: int,
        is_promoted: bool,
        is_virtual: bool,
        host: tuple[str, str],
        approval: str,
    ) -> Record:
        """The organizer's side: contact, campaign, instructions (absent on promoted events)."""
        rng = self.rng
        return {
            "virtual_action_url": f"https://zoom.us/j/{rng.randrange(10**9, 10**10)}"
            if is_virtual and not is_promoted and rng.random() < 0.2
            else None,
            "contact": None
            if is_promoted
            else {
                "name": f"{host[0]} {host[1]}",
                "email_address": self.draws.email(host[0], host[1], event_id),
                "phone_number": self.draws.phone(event_id),
                "owner_user_id": rng.randrange(100000, 999999),
            },
            "accessibility_status": rng.choice(
                ("ACCESSIBLE", "ACCESSIBLE", "NOT_SURE", "NOT_ACCESSIBLE", None)
            ),
            "accessibility_notes": rng.choice(
                (None, "", "Wheelchair accessible entrance on the side of the building.")
            ),
            "tags": [] if rng.random() < 0.5 else rng.sample(self.tags, rng.randrange(1, 3)),
            "approval_status": approval,
            "event_campaign": rng.choice(self.campaigns)
            if not is_promoted and rng.random() < 0.15
            else None,
            "instructions": None
            if is_promoted
            else rng.choice(("", "Park in the back lot and come to the side door.")),
            "is_virtual": is_virtual,
        }
