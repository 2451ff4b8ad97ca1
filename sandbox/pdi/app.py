"""``PdiApp``: the PDI simulator as an ``App`` of ``sandbox.server``, wiring the resource
modules over one ``PdiState`` under one lock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.pdi.admin import PdiAdmin
from sandbox.pdi.answers import PdiAnswers
from sandbox.pdi.binding import Invalid, error, invalid
from sandbox.pdi.calendars import DEFAULT_CALENDARS, DEFAULT_TIME_ZONE, Calendars
from sandbox.pdi.contacts import Contacts
from sandbox.pdi.emails_and_phones import EmailsAndPhones
from sandbox.pdi.events import Events
from sandbox.pdi.ids import is_valid_id
from sandbox.pdi.invitations import Invitations
from sandbox.pdi.locations import Locations
from sandbox.pdi.paging import Pager
from sandbox.pdi.routing import Route, find_route
from sandbox.pdi.seeds import Seeds
from sandbox.pdi.sessions import (
    DEFAULT_API_TOKEN,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    MSG_DENIED,
    Sessions,
)
from sandbox.pdi.state import PdiState
from sandbox.server.http_server import SandboxServer
from sandbox.server.messages import Request, Response

MSG_BAD_ID = "The id is not valid."


class PdiApp:
    """In-memory PDI. Every request runs under one lock; state is plain dicts."""

    def __init__(
        self,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        api_token: str = DEFAULT_API_TOKEN,
        calendars: list[str] | tuple[str, ...] = DEFAULT_CALENDARS,
        token_ttl_seconds: float = 3600,
        max_limit: int = 2000,
        default_limit: int = 100,
        naive_expiration: bool = False,
        seed: int = 0,
        time_zone: str = DEFAULT_TIME_ZONE,
        answers: Mapping[str, Any] | None = None,
    ):
        self.answers = PdiAnswers.build(answers)
        # The account a login must name (``sessions.Account``): tests may change it live.
        self.username = username
        self.password = password
        self.api_token = api_token
        self.token_ttl_seconds = token_ttl_seconds
        self.naive_expiration = naive_expiration
        self.server: SandboxServer | None = None
        self._state = PdiState(seed)
        self.sessions = Sessions(self)
        self._admin = self._wire(Pager(default_limit, max_limit), time_zone)
        self.set_calendars(list(calendars))

    def _wire(self, pager: Pager, time_zone: str) -> PdiAdmin:
        state, answers = self._state, self.answers
        calendars = Calendars(state, pager, time_zone)
        contacts = Contacts(state, answers, pager)
        events = Events(state, answers, pager)
        locations = Locations(state, answers, pager)
        invitations = Invitations(state, answers, pager)
        self._routes: list[Route] = [
            *self.sessions.routes(),
            *calendars.routes(),
            *events.routes(),
            *invitations.routes(),
            *locations.routes(),
            *contacts.routes(),
            *EmailsAndPhones(state).routes(),
        ]
        seeds = Seeds(state, contacts, events, locations, invitations)
        return PdiAdmin(state, self.sessions, calendars, seeds)

    # ----------------------------------------------------------------- plumbing hooks

    def attach_server(self, server: SandboxServer) -> None:
        self.server = server

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._state.lock:
            self.answers.update(changes)
            return self.answers.as_dict()

    def extra_stats(self) -> dict[str, Any]:
        with self._state.lock:
            state = self._state
            return {"writes": state.writes, "writes_by_route": dict(state.writes_by_route)}

    def reset_extra_stats(self) -> None:
        with self._state.lock:
            self._state.writes = 0
            self._state.writes_by_route.clear()

    def throttled_body(self, retry_after: int | None) -> dict[str, Any]:
        """Body of the ``rate_limit`` switch's 429s.

        Guess: PDI documents no limit (pdi-api.md Q8); an ASP.NET Web API answers errors
        as ``{"message": ...}``, as this simulator's 401s do, and a client should rely on
        the status and ``Retry-After`` only."""
        wait = "" if retry_after is None else f" Retry after {retry_after} s."
        return {"message": f"Too many requests.{wait}"}

    # ----------------------------------------------------------------- App protocol

    def handle(self, request: Request) -> Response:
        found = find_route(self._routes, request)
        if isinstance(found, Response):
            return found
        route, ids = found
        request.route = route.template
        with self._state.lock:
            if route.auth and not self.sessions.authorized(request):
                return error(401, MSG_DENIED)
            for value in ids:
                if not is_valid_id(value):
                    return error(400, MSG_BAD_ID)
            writes_before = self._state.writes
            try:
                response = route.handler(request, ids)
            except Invalid as exc:
                return invalid(exc.errors)
            wrote = self._state.writes > writes_before
        if wrote and self.server is not None and self.server.consume("drop_after_write_next"):
            return Response(drop=True)
        return response

    def admin(self, request: Request) -> Response | None:
        return self._admin.handle(request)

    # ----------------------------------------------------------------- for tests

    def state(self) -> dict[str, Any]:
        return self._admin.snapshot()

    def reset(self) -> None:
        self._admin.reset()

    def set_calendars(self, names: list[str]) -> list[dict[str, Any]]:
        return self._admin.set_calendars(names)
