"""The ``/__admin/*`` routes every simulator has (health, stats, switches, answers); the
app's own admin routes come after them."""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any, Protocol, cast

from sandbox.server.answers import Answers, HasAnswers
from sandbox.server.messages import App, BadJson, Request, Response
from sandbox.server.switches import Switches


class AdminTarget(Protocol):
    """What the admin routes read and change of the server (``http_server.SandboxServer``)."""

    app: App
    switches: Switches
    stats_lock: threading.Lock

    def stats(self) -> dict[str, Any]: ...

    def reset_stats(self) -> None: ...


def admin_response(server: AdminTarget, request: Request) -> Response:
    route = (request.method, request.path)
    if route == ("GET", "/__admin/health"):
        return Response(200, {"ok": True})
    if route == ("GET", "/__admin/stats"):
        stats = server.stats()
        extra = getattr(server.app, "extra_stats", None)
        if callable(extra):
            stats.update(extra())
        return Response(200, stats)
    if route == ("POST", "/__admin/stats/reset"):
        server.reset_stats()
        reset_extra = getattr(server.app, "reset_extra_stats", None)
        if callable(reset_extra):
            reset_extra()
        return Response(200, server.stats())
    if route == ("GET", "/__admin/switches"):
        return Response(200, asdict(server.switches))
    if route == ("POST", "/__admin/switches"):
        return _set_switches(server, request)
    if request.path.rstrip("/") == "/__admin/answers":
        answers_response = _answers(server, request)
        if answers_response is not None:
            return answers_response
    try:
        answer = server.app.admin(request)
    except BadJson as exc:
        answer = Response(400, {"message": str(exc)})
    return answer or Response(404, {"message": f"no admin route {request.method} {request.path}"})


def _set_switches(server: AdminTarget, request: Request) -> Response:
    try:
        with server.stats_lock:
            server.switches.update(request.json() or {})
    except (BadJson, ValueError) as exc:
        return Response(400, {"message": str(exc)})
    return Response(200, asdict(server.switches))


def _answers(server: AdminTarget, request: Request) -> Response | None:
    """``GET|POST /__admin/answers`` for apps that have answers (None otherwise)."""
    app = server.app
    if not isinstance(getattr(app, "answers", None), Answers):
        return None
    holder = cast(HasAnswers, app)
    if request.method == "GET":
        return Response(200, holder.answers.as_dict())
    if request.method != "POST":
        return None
    try:
        changes = request.json()
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object of answer name: value")
        return Response(200, holder.update_answers(changes))
    except (BadJson, ValueError) as exc:
        return Response(400, {"message": str(exc)})
