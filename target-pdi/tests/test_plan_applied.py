"""A batch's plan applied over real HTTP (the PDI simulator): what the plan leaves to an earlier
write's answer is decided by that answer, as if it had been planned after it."""

from __future__ import annotations

import json
from typing import Any

import make_fixtures as F
from target_pdi.sync.planning.events import Batch
from target_pdi.sync.runtime import Runtime

Pdi = Any  # the `pdi` fixture (conftest.Pdi)


def dead_letters(runtime: Runtime) -> dict[tuple[str, str], str]:
    runtime.deadletters.save()
    path = runtime.deadletters.path
    entries = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return {(x["stream"], x["key"]): x["reason"] for x in entries}


def test_the_signups_of_an_event_pdi_refused_wait_for_it_and_make_no_contact(
    pdi: Pdi, runtime: Runtime
) -> None:
    """Event 101's PDI event is refused (its calendar was deleted in PDI since the run began):
    its signup, planned before that answer, is dead-lettered as waiting for the event, and its
    person, chosen only for that signup, is no PDI contact. Event 102's signup is written."""
    canvass = F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)])
    phones = F.event(102, "Phones", "PHONE_BANK", [F.slot(1002, 4)])
    runtime.engine.run(Batch(events=[phones]))  # the run's first drain: calendars resolved
    pdi.admin("calendars", {"names": ["Phone Banks"]})
    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    bob = F.person(2, "Bob", "Ray", "bob@example.org")
    runtime.engine.run(
        Batch(
            events=[canvass],
            attendances=[
                F.attendance(11, ann, canvass, F.slot(1001, 3), "REGISTERED", None),
                F.attendance(12, bob, phones, F.slot(1002, 4), "REGISTERED", None),
            ],
        )
    )
    state = pdi.state()
    assert [[e["emailAddress"] for e in c["emails"]] for c in state["contacts"]] == [
        ["bob@example.org"]
    ]
    assert len(state["invitations"]) == 1
    letters = dead_letters(runtime)
    assert letters[("attendances", "11")] == "event 101 was dead-lettered"
    assert ("events", "101") in letters
    counts = runtime.engine.summary.counts()
    assert counts["invitations"]["failed"] == 1
    assert counts["events"]["failed"] == 1
