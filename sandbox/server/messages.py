"""What a simulator app sees and answers: ``Request``, ``Response``, and the ``App`` protocol."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class BadJson(ValueError):
    """The request body is not valid JSON."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: Mapping[str, str]
    body: bytes
    client_ip: str
    base_url: str
    # Set by the app to a route template ("GET /v1/organizations/{id}/events") so that
    # stats group requests by endpoint rather than by concrete id.
    route: str | None = None

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadJson(str(exc)) from exc

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Close the socket without answering: the client sees a dropped connection.
    drop: bool = False


class App(Protocol):
    def handle(self, request: Request) -> Response: ...

    def admin(self, request: Request) -> Response | None: ...
