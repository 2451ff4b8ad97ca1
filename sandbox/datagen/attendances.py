"""Signups: each a person on one timeslot, with status, ``attended``, referrer, custom
field values and feedback, plus about 1% masked rows (seen across the coordinated /
independent firewall: ids nulled) between the real ones."""

from __future__ import annotations

from collections.abc import Iterator

from sandbox.datagen.dataset import DAY, GENERATED_AT, TIMESLOTS_FROM, TIMESLOTS_TO, Record
from sandbox.datagen.draws import Draws
from sandbox.datagen.vocabulary import CUSTOM_FIELDS, FEEDBACK

_STATUSES = ("REGISTERED", "CONFIRMED", "CANCELLED")


class AttendanceGenerator:
    def __init__(
        self, draws: Draws, own: Record, events: list[Record], people: list[Record]
    ) -> None:
        self.draws, self.rng = draws, draws.rng
        self.own, self.events, self.people = own, events, people
        self.embedded_events = [{**e, "timeslots": None} for e in events]
        self.slots = [(ei, slot) for ei, e in enumerate(events) for slot in e["timeslots"]]
        self.seen: set[tuple[int, int]] = set()

    def attendances(self, n: int) -> list[Record]:
        if not n:
            return []
        rng = self.rng
        n_masked = max(1, round(n * 0.01))
        ids = self.draws.ids(5000000, n)
        # Masked rows sit between real ones (in id order they have no id of their own).
        masked_iter: Iterator[int] = iter(sorted(rng.randrange(n) for _ in range(n_masked)))
        next_masked = next(masked_iter, None)
        out: list[Record] = []
        for index, attendance_id in enumerate(ids):
            ei, slot, person = self._pick()
            out.append(self._attendance(attendance_id, ei, slot, person))
            while next_masked == index:
                out.append(self._masked(self.events[ei], person))
                next_masked = next(masked_iter, None)
        return out

    def _pick(self) -> tuple[int, Record, Record]:
        """A timeslot and a person; the same person rarely signs up twice for one timeslot."""
        rng = self.rng
        for _ in range(20):
            ei, slot = self.slots[rng.randrange(len(self.slots))]
            person = self.people[int(len(self.people) * rng.random() ** 1.3)]  # some are regulars
            if (person["id"], slot["id"]) not in self.seen:
                break
        self.seen.add((person["id"], slot["id"]))
        return ei, slot, person

    def _attendance(self, attendance_id: int, ei: int, slot: Record, person: Record) -> Record:
        rng = self.rng
        event = self.events[ei]
        low = max(event["created_date"], person["created_date"])
        created, modified = self.draws.dates(
            low, min(GENERATED_AT - 60, slot["end_date"] + 14 * DAY)
        )
        status = rng.choices(_STATUSES, (80, 10, 10))[0]
        if slot["end_date"] >= GENERATED_AT:
            attended = None
        elif status == "CANCELLED":
            attended = rng.choice((None, False))
        else:
            attended = rng.choices((True, False, None), (60, 25, 15))[0]
        owned = event["sponsor"]["id"] == self.own["id"]
        record: Record = {
            "id": attendance_id,
            "created_date": created,
            "modified_date": modified,
            "person": dict(person),
            "event": self.embedded_events[ei],
            "timeslot": slot,
            "sponsor": self.own,
            "status": status,
            "attended": attended,
            "referrer": self._referrer(event) if owned else None,
            "custom_signup_field_values": self._custom_values() if owned else None,
        }
        if attended and rng.random() < 0.15:
            record["rating"] = rng.choice(("Positive", "Positive", "Neutral", "Negative"))
            record["feedback"] = rng.choice(FEEDBACK)
        else:
            record["rating"] = None
            record["feedback"] = None
        return record

    def _referrer(self, event: Record) -> Record:
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
        for field_id, name, kind in rng.sample(CUSTOM_FIELDS, rng.randrange(1, 3)):
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

    def _masked(self, template: Record, person: Record) -> Record:
        """An attendance seen across the coordinated/independent firewall: ids nulled."""
        rng = self.rng
        created, modified = self.draws.dates(person["created_date"], GENERATED_AT - 60)
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
            "sponsor": self.own,
            "status": None,
            "attended": None,
            "referrer": None,
            "custom_signup_field_values": None,
            "rating": None,
            "feedback": None,
        }
