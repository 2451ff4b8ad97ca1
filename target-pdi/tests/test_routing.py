from __future__ import annotations

import pytest
from target_pdi.errors import ConfigurationError
from target_pdi.rules.routing import CalendarRouter

CALENDARS = [{"id": "c1", "name": "Canvassing"}, {"id": "c2", "name": "Phone Banks"}]


def test_names_and_ids_resolve() -> None:
    router = CalendarRouter({"CANVASS": "canvassing", "phone_bank": "c2"}, default=None)
    router.resolve(CALENDARS)
    assert router.route("CANVASS") == "c1"
    assert router.route("PHONE_BANK") == "c2"
    assert router.route("MEETING") is None  # not mapped, no default: skipped by the caller


def test_default_calendar() -> None:
    router = CalendarRouter({"CANVASS": "c1"}, default="Phone Banks")
    router.resolve(CALENDARS)
    assert router.route("MEETING") == "c2"
    assert router.route(None) == "c2"


def test_unknown_calendar_names_setting_and_lists_calendars() -> None:
    router = CalendarRouter({"CANVASS": "Canvasing"})
    with pytest.raises(ConfigurationError) as exc:
        router.resolve(CALENDARS)
    message = str(exc.value)
    assert "event_type_calendars[CANVASS]" in message
    assert "'Canvasing'" in message
    assert "'Canvassing' (id c1)" in message
    assert "'Phone Banks' (id c2)" in message


def test_unknown_default_and_ambiguous_names() -> None:
    with pytest.raises(ConfigurationError, match="setting default_calendar"):
        CalendarRouter({}, default="Nope").resolve(CALENDARS)
    dup = [*CALENDARS, {"id": "c3", "name": "Canvassing"}]
    with pytest.raises(ConfigurationError, match="matches several"):
        CalendarRouter({"CANVASS": "Canvassing"}).resolve(dup)


def test_route_before_resolve_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        CalendarRouter({}).route("CANVASS")
