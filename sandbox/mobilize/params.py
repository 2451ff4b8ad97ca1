"""Query parameters: validated access (DRF-style 400s) and the rule against repeating a
single-valued one, which is what a client that re-adds its parameters to a ``next`` URL
does."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl

from sandbox.mobilize.errors import ApiError
from sandbox.server.messages import Request

# Parameters that may be repeated; any other one given twice is a 400.
REPEATABLE = {
    "visibility",
    "approval_status",
    "event_types",
    "organization_id",
    "tag_id",
    "timeslot_start",
    "timeslot_end",
}
_COMPARISON = re.compile(r"^(gte|gt|lte|lt)_(now|-?\d+)$")
OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


class Params:
    """Validated access to a request's query parameters (errors are DRF-style 400s)."""

    def __init__(self, request: Request) -> None:
        self.query = request.query

    def values(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def integer(self, name: str, minimum: int | None = None) -> int | None:
        raw = self.one(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError as exc:
            raise ApiError(400, {name: ["A valid integer is required."]}) from exc
        if minimum is not None and value < minimum:
            raise ApiError(
                400, {name: [f"Ensure this value is greater than or equal to {minimum}."]}
            )
        return value

    def number(self, name: str) -> float | None:
        raw = self.one(name)
        if raw is None or raw == "":
            return None
        try:
            return float(raw)
        except ValueError as exc:
            raise ApiError(400, {name: ["A valid number is required."]}) from exc

    def boolean(self, name: str) -> bool | None:
        raw = self.one(name)
        if raw is None or raw == "":
            return None
        lowered = raw.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ApiError(400, {name: ["Must be a valid boolean."]})

    def integers(self, name: str) -> list[int]:
        out = []
        for index, raw in enumerate(self.values(name)):
            try:
                out.append(int(raw))
            except ValueError as exc:
                raise ApiError(400, {name: {str(index): ["A valid integer is required."]}}) from exc
        return out

    def choices(self, name: str, allowed: Sequence[str]) -> list[str]:
        out = []
        for index, raw in enumerate(self.values(name)):
            if raw not in allowed:
                raise ApiError(400, {name: {str(index): [f'"{raw}" is not a valid choice.']}})
            out.append(raw)
        return out

    def comparisons(self, name: str, now: int) -> list[tuple[str, int]]:
        out = []
        for index, raw in enumerate(self.values(name)):
            match = _COMPARISON.match(raw)
            if not match:
                raise ApiError(
                    400,
                    {
                        name: {
                            str(index): [
                                "Enter a comparison like gte_<timestamp>; "
                                "operators: gte, gt, lte, lt; value: an integer or now."
                            ]
                        }
                    },
                )
            op, value = match.groups()
            out.append((op, now if value == "now" else int(value)))
        return out


def reject_doubled(request: Request) -> None:
    """400 when a parameter is repeated the way a client re-adding its params does."""
    pairs = parse_qsl(request.raw_query, keep_blank_values=True)
    for (key, value), times in Counter(pairs).items():
        if times > 1:
            raise ApiError(400, {key: [f"Parameter {key}={value} is repeated."]})
    for key, times in Counter(key for key, _ in pairs).items():
        if times > 1 and key not in REPEATABLE:
            raise ApiError(400, {key: ["This parameter may only be given once."]})
