"""PDI's paging: a fixed `limit` and a 1-based `cursor`, until `totalCount` rows are read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PAGE_LIMIT = 2000  # PDI's documented maximum page size (Parsons LIMIT_MAX)


class Pages:
    """PDI's paging: a fixed `limit` and a 1-based `cursor`, until `totalCount` rows are read.

    Without a `totalCount`, until a page shorter than `limit`; and always at an empty page, so
    that a list shrinking while it is read cannot loop for ever.
    """

    def __init__(self, limit: int, cursor: int = 1) -> None:
        self.limit = limit
        self.cursor = cursor
        self.rows_read = 0
        self.finished = False

    def params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**(params or {}), "limit": self.limit, "cursor": self.cursor}

    @staticmethod
    def parse(page: Any) -> tuple[list[dict[str, Any]], int | None]:
        """A page's rows and PDI's `totalCount` (None if not given)."""
        if isinstance(page, list):  # tolerate a bare list
            rows = [r for r in page if isinstance(r, dict)]
            return rows, len(rows)
        if not isinstance(page, Mapping):
            return [], 0
        lowered = {str(k).lower(): v for k, v in page.items()}
        data = lowered.get("data") or []
        total = lowered.get("totalcount")
        rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
        counted = isinstance(total, int) and not isinstance(total, bool)
        return rows, total if counted else None

    def advance(self, rows: list[dict[str, Any]], total: int | None) -> None:
        self.rows_read += len(rows)
        if total is not None:
            self.finished = not rows or self.rows_read >= total
        else:
            self.finished = len(rows) < self.limit
        if not self.finished:
            self.cursor += 1
