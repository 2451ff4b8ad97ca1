"""``MobilizeApp``: the routes under ``/v1``, each answered by its resource family's
module over the one ``MobilizeState``; only GET is allowed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.datagen.dataset import Dataset
from sandbox.datagen.vocabulary import ENUMS
from sandbox.mobilize import (
    admin,
    attendances,
    deleted_events,
    events,
    organizations,
    people,
)
from sandbox.mobilize.answers import MobilizeAnswers
from sandbox.mobilize.auth import DEFAULT_API_KEY, authenticate
from sandbox.mobilize.errors import ApiError, not_found
from sandbox.mobilize.paging import single
from sandbox.mobilize.params import reject_doubled
from sandbox.mobilize.state import MobilizeState
from sandbox.server.messages import App, Request, Response

Handler = Callable[..., Response]


def _enums(state: MobilizeState, request: Request, authed: bool) -> Response:
    return single(ENUMS, "enums")


_ROUTES: tuple[tuple[str, Handler], ...] = (
    ("/v1/organizations", organizations.organizations),
    ("/v1/organizations/{org}/promoted_organizations", organizations.promoted),
    ("/v1/organizations/{org}/events", events.org_events),
    ("/v1/organizations/{org}/events/deleted", deleted_events.org_deleted),
    ("/v1/organizations/{org}/events/{id}", events.org_event),
    ("/v1/organizations/{org}/events/{id}/attendances", attendances.event_attendances),
    ("/v1/organizations/{org}/people", people.people),
    ("/v1/organizations/{org}/attendances", attendances.attendances),
    ("/v1/organizations/{org}/attendances/{id}", attendances.attendance),
    ("/v1/events", events.public_events),
    ("/v1/events/deleted", deleted_events.public_deleted),
    ("/v1/events/{id}", events.public_event),
    ("/v1/enums", _enums),
)


def _compiled(template: str) -> re.Pattern[str]:
    pattern = re.escape(template).replace(r"\{org\}", r"(?P<org>[^/]+)")
    pattern = pattern.replace(r"\{id\}", r"(?P<id>[^/]+)")
    return re.compile(f"^{pattern}/?$")


_ROUTE_TABLE = [(_compiled(template), template, handler) for template, handler in _ROUTES]


def _int_path(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise not_found() from exc


class MobilizeApp(App):
    def __init__(
        self,
        dataset: Dataset,
        api_key: str = DEFAULT_API_KEY,
        max_per_page: int = 1000,
        clock: Callable[[], float] = time.time,
        answers: Mapping[str, Any] | None = None,
    ) -> None:
        self.api_key = api_key
        self.state = MobilizeState(dataset, max_per_page, clock, answers)

    @property
    def answers(self) -> MobilizeAnswers:
        return self.state.answers

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.state.update_answers(changes)

    def handle(self, request: Request) -> Response:
        try:
            for pattern, template, handler in _ROUTE_TABLE:
                match = pattern.match(request.path)
                if match is None:
                    continue
                request.route = f"{request.method} {template}"
                if request.method != "GET":
                    raise ApiError(405, {"detail": f'Method "{request.method}" not allowed.'})
                authed = authenticate(request, self.api_key)
                reject_doubled(request)
                args = {k: _int_path(v) for k, v in match.groupdict().items()}
                with self.state.lock:
                    return handler(self.state, request, authed, **args)
            raise not_found()
        except ApiError as exc:
            return Response(exc.status, {"data": None, "error": exc.error})

    def admin(self, request: Request) -> Response | None:
        return admin.admin(self.state, request)
