"""PDI's lists: ``{"data": [...], "totalCount": N}`` paged by ``limit`` and a 1-based
``cursor`` page number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.pdi.binding import error
from sandbox.server.messages import Request, Response

Render = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Pager:
    default_limit: int
    max_limit: int

    def page(
        self, request: Request, items: list[dict[str, Any]], render: Render = dict
    ) -> Response:
        """One page of ``items`` (stored objects, creation order); only that page is rendered."""
        limit_text = request.arg("limit")
        cursor_text = request.arg("cursor")
        try:
            limit = self.default_limit if limit_text in (None, "") else int(limit_text)
            cursor = 1 if cursor_text in (None, "") else int(cursor_text)
        except ValueError:
            return error(400, "The limit and cursor parameters must be integers.")
        if limit < 1 or limit > self.max_limit:
            return error(400, f"The limit must be between 1 and {self.max_limit}.")
        if cursor < 1:
            return error(400, "The cursor must be 1 or greater.")
        offset = (cursor - 1) * limit
        page = [render(item) for item in items[offset : offset + limit]]
        return Response(200, {"data": page, "totalCount": len(items)})
