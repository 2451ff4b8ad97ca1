"""``GET /calendars``: the account's calendars, set at start or by a test."""

from __future__ import annotations

from sandbox.pdi.ids import calendar_id
from sandbox.pdi.paging import Pager
from sandbox.pdi.routing import Route, route
from sandbox.pdi.state import Obj, PdiState
from sandbox.server.messages import Request, Response

DEFAULT_CALENDARS = (
    "Canvassing",
    "Phone Banks",
    "Text Banks",
    "Meetings",
    "Trainings",
    "Community Events",
    "Fundraisers",
    "Rallies",
    "Other Events",
)
DEFAULT_TIME_ZONE = "America/New_York"


class Calendars:
    def __init__(self, state: PdiState, pager: Pager, time_zone: str) -> None:
        self.state = state
        self.pager = pager
        self.time_zone = time_zone

    def routes(self) -> list[Route]:
        return [route("GET", "/calendars", self.list_calendars)]

    def list_calendars(self, request: Request, _ids: list[str]) -> Response:
        return self.pager.page(request, list(self.state.calendars.values()))

    def replace(self, names: list[str]) -> list[Obj]:
        """Replace the calendars; a calendar's id is derived from its name (stable)."""
        calendars: dict[str, Obj] = {}
        for name in names:
            new_id = calendar_id(self.state.seed, name)
            calendars[new_id] = {
                "id": new_id,
                "name": name,
                "description": f"{name} calendar",
                "timeZone": self.time_zone,
            }
        self.state.calendars = calendars
        return [dict(c) for c in calendars.values()]
