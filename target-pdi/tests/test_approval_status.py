"""Only an approved event may be live in PDI: a null approval status is no approval (issue 19).

Mobilize documents `approval_status` as APPROVED, NEEDS_APPROVAL, REJECTED or
NEEDS_HOST_VERIFICATION, filled on every event, even a masked copy inside a signup
(mobilize-api.md). A null, or no key at all, is then a status nobody approved: the event is
treated as one not approved (none of its timeslots live; one that was live is canceled, and
restored once it is APPROVED), counted apart, "events without an approval status".
"""

from __future__ import annotations

from typing import Any

import make_fixtures as F
import pytest
from target_pdi.rules.routing import CalendarRouter
from target_pdi.sync.planning.events import is_approved, plan_events
from target_pdi.sync.runtime import Runtime

from tests.e2e.expect import PdiModel, differences, router

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
ROUTES = {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"}
NO_STATUS = "events without an approval status"


def without_status(event: dict[str, Any], how: str) -> dict[str, Any]:
    if how == "missing":
        return {k: v for k, v in event.items() if k != "approval_status"}
    return {**event, "approval_status": None if how == "null" else ""}


@pytest.mark.parametrize("how", ["null", "missing", "blank"])
def test_an_event_without_an_approval_status_is_not_approved(how: str) -> None:
    event = without_status(F.event(101, "Canvass", "CANVASS", [F.slot(1001, 3)]), how)
    assert not is_approved(event, {"APPROVED"})
    calendars = CalendarRouter(ROUTES)
    calendars.resolve([{"id": "c1", "name": "Canvassing"}, {"id": "c2", "name": "Phone Banks"}])
    from target_pdi.stores.idmap import IdMap

    plan = plan_events({101: event}, IdMap("sqlite://"), calendars, {"APPROVED"})
    assert plan.jobs == []
    assert plan.unapproved == [(101, event)]
    assert dict(plan.skips.reasons) == {NO_STATUS: 1}


def test_a_null_status_is_never_live_and_a_live_event_that_loses_its_status_is_canceled(
    pdi: Pdi, runtime: Runtime
) -> None:
    from target_pdi.sync.planning.events import Batch

    ann = F.person(1, "Ann", "Lee", "ann@example.org")
    approved = F.event(101, "Canvass Springfield", "CANVASS", [F.slot(1001, 3)])
    unknown = without_status(F.event(102, "Phone Bank", "PHONE_BANK", [F.slot(1002, 4)]), "null")
    signups = [
        F.attendance(11, ann, approved, F.slot(1001, 3), "REGISTERED", None),
        F.attendance(12, ann, unknown, F.slot(1002, 4), "REGISTERED", None),
    ]
    # A signup whose event the events stream never listed, its own copy without a status.
    never_listed = without_status(F.event(103, "Canvass Elsewhere", "CANVASS", []), "null")
    signups.append(F.attendance(13, ann, never_listed, F.slot(1003, 5), "REGISTERED", None))
    model = PdiModel(router(ROUTES, None))
    first = {"events": [approved, unknown], "people": [ann], "attendances": signups}
    runtime.engine.run(Batch(**first))
    model.sync({**first, "deleted_events": []})
    assert differences(model, pdi.state()) == []
    assert runtime.engine.summary.skipped[NO_STATUS] == 1

    # The approved event loses its status: canceled, as an event no longer approved is.
    lost = {**without_status(approved, "null"), "modified_date": approved["modified_date"] + 60}
    second = {"events": [lost], "people": [], "attendances": []}
    runtime.engine.run(Batch(**second))
    model.sync({**second, "deleted_events": []})
    assert differences(model, pdi.state()) == []
    assert runtime.engine.summary.skipped[NO_STATUS] == 2
