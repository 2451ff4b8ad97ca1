"""Matching a request's method and path to the handler of a PDI route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from sandbox.pdi.binding import error
from sandbox.server.messages import Request, Response

Handler = Callable[[Request, list[str]], Response]


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]  # literal (lower case) or "{...}" placeholder
    template: str
    handler: Handler
    auth: bool = True
    write: bool = False

    def match(self, parts: list[str]) -> list[str] | None:
        if len(parts) != len(self.segments):
            return None
        ids: list[str] = []
        for pattern, part in zip(self.segments, parts, strict=True):
            if pattern.startswith("{"):
                ids.append(part)
            elif pattern != part.lower():
                return None
        return ids


def route(method: str, path: str, handler: Handler, *, auth: bool = True) -> Route:
    segments = tuple(s if s.startswith("{") else s.lower() for s in path.strip("/").split("/"))
    write = method in ("POST", "PUT", "DELETE") and auth
    return Route(method, segments, f"{method} {path}", handler, auth, write)


def find_route(routes: list[Route], request: Request) -> tuple[Route, list[str]] | Response:
    """The route and the path's ids, or the 404/405 PDI answers."""
    parts = (
        [unquote(p) for p in request.path.strip("/").split("/")] if request.path.strip("/") else []
    )
    matched = [(r, ids) for r in routes if (ids := r.match(parts)) is not None]
    if not matched:
        return error(
            404, f"No HTTP resource was found that matches the request URI '{request.path}'."
        )
    for candidate, ids in matched:
        if candidate.method == request.method:
            return candidate, ids
    return error(405, f"The requested resource does not support http method '{request.method}'.")
