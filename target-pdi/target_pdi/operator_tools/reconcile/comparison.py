"""What one comparison holds: the two sides, and what each check leaves for the next.

`compare.py` runs the checks in order (events, signups, the events to make, locations,
contacts, what the sync cancels, stale ids); each one reads the two sides from here and adds
its discrepancies here. The checks after the events need what they found: which timeslots
have a live PDI event (their signups are checked), which must be made (their signups come with
them), which PDI events the sync keeps, and which contacts are gone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from target_pdi.operator_tools.reconcile.found import Discrepancy, Mend, Result
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData
from target_pdi.operator_tools.reconcile.pdi_state import PdiState, Row
from target_pdi.rules import payloads as P
from target_pdi.rules.routing import CalendarRouter
from target_pdi.rules.vocabulary import PdiObject
from target_pdi.stores.idmap import IdMap
from target_pdi.sync.planning.batch import plan_of_records
from target_pdi.sync.planning.events import EventJob


@dataclass
class LiveSlot:
    """A timeslot whose PDI event exists and is live: its signups can be checked."""

    job: EventJob
    pdi_id: str


@dataclass
class MissingSlot:
    """A timeslot whose PDI event the sync must make (again): listed once its signups are
    known, since --fix brings them with it."""

    job: EventJob
    pdi_id: str
    expected: str
    found: str
    fix: str
    mend: Mend
    signups: list[tuple[int, int | None]] = field(default_factory=list)


class Comparison:
    """Mobilize and PDI as read, the sync's id map and routing, and what the checks found."""

    def __init__(
        self,
        mobilize: MobilizeData,
        pdi: PdiState,
        idmap: IdMap,
        router: CalendarRouter,
        approval_statuses: Iterable[str],
        dead_letters: Collection[tuple[str, str]] = (),
    ) -> None:
        self.mobilize = mobilize
        self.pdi = pdi
        self.idmap = idmap
        self.router = router
        self.approval_statuses = {str(s).strip().upper() for s in approval_statuses}
        # What PDI should hold: the sync's own plan of everything Mobilize says, as one batch
        # (`planning.batch.plan_of_records`), the same value a sync's writers apply.
        self.plan = plan_of_records(
            {
                "events": mobilize.events.values(),
                "deleted_events": mobilize.deleted_events.values(),
                "people": mobilize.people.values(),
                "attendances": mobilize.attendances.values(),
            },
            idmap,
            router,
            self.approval_statuses,
        )
        self.dead_letters = set(dead_letters)
        self.result = Result()
        self.live: dict[int, LiveSlot] = {}  # timeslot id -> its live PDI event
        self.missing: dict[int, MissingSlot] = {}  # timeslot id -> the event to make
        self.jobs: dict[str, EventJob] = {}  # timeslot key -> job, of every expected event
        # PDI events the sync keeps for a timeslot (or would adopt for one).
        self.claimed: set[str] = set()
        # PDI contact id -> the signups to write again once it is made again.
        self.contact_signups: dict[str, list[tuple[int, int | None]]] = {}
        self.checked_invitations: set[str] = set()
        # Timeslot key -> what the sync's recovery finds its PDI event by.
        self.identities: dict[str, tuple[str, ...]] = {}
        # PDI events by identity: the Mobilize event their website names, or without a website
        # their name and end (`payloads.event_identity`).
        self.by_identity: dict[str, list[tuple[str, Row]]] = {}
        for pdi_id, row in pdi.events.items():
            identity = P.event_identity(row)
            if identity is not None:
                self.by_identity.setdefault(identity, []).append((pdi_id, row))

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.result.found.append(Discrepancy(*args, **kwargs))

    def calendar_name(self, calendar_id: Any) -> str:
        text = str(calendar_id or "")
        return self.pdi.calendars.get(text, text or "none")

    def location_id(self, event: Mapping[str, Any]) -> str:
        """The PDI location the sync points this event at ("" when it has none in PDI yet)."""
        entry = self.idmap.get(PdiObject.LOCATION, P.location_key(event))
        return entry.pdi_id if entry is not None and entry.pdi_id in self.pdi.locations else ""
