"""Reading a request body the way PDI's ASP.NET Web API binds it: JSON property names are
case-insensitive, booleans accept ``"true"``/``"false"`` strings, dates are
``yyyy-MM-ddTHH:mm:ss.fffZ``, and validation failures are 400 with ``{"message",
"modelState"}``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.server.messages import Response

MSG_INVALID = "The request is invalid."

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def format_datetime(value: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss.fffZ`` (UTC)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime | None:
    """Parse ``yyyy-MM-ddTHH:mm:ss[.fff][Z|+hh:mm]``; no zone means UTC. None if invalid."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        value -= sign * offset
    return value


def parse_date(text: str) -> date | None:
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_bool(value: Any) -> bool | None:
    """JSON booleans and the strings "true"/"false" (any case); None when neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def error(status: int, message: str) -> Response:
    return Response(status, {"message": message})


def invalid(errors: Mapping[str, list[str]]) -> Response:
    messages = [message for field_errors in errors.values() for message in field_errors]
    return Response(400, {"message": " ".join(messages) or MSG_INVALID, "modelState": dict(errors)})


class Invalid(Exception):
    """Raised by handlers to answer 400 with a modelState."""

    def __init__(self, errors: Mapping[str, list[str]]):
        super().__init__(errors)
        self.errors = dict(errors)


class Body:
    """Case-insensitive view of a JSON object body, collecting ASP.NET-style model errors."""

    def __init__(self, payload: Any):
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise Invalid({"body": ["The request body must be a JSON object."]})
        self._values: dict[str, Any] = {}
        self._present: set[str] = set()
        for key, value in payload.items():
            self._values[str(key).lower()] = value
            self._present.add(str(key).lower())
        self.errors: dict[str, list[str]] = {}

    def has(self, name: str) -> bool:
        return name.lower() in self._present

    def raw(self, name: str) -> Any:
        return self._values.get(name.lower())

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise Invalid(self.errors)

    def string(
        self, name: str, *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {pascal(name)} field is required.")
            return default
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            self.fail(name, f"The {pascal(name)} field must be a string.")
            return default
        if required and not value.strip():
            # ASP.NET [Required] rejects empty strings too.
            self.fail(name, f"The {pascal(name)} field is required.")
        return value

    def boolean(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {pascal(name)} field is required.")
            return default
        parsed = parse_bool(value)
        if parsed is None:
            self.fail(name, f"The value '{value}' is not valid for {pascal(name)}.")
            return default
        return parsed

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {pascal(name)} field is required.")
            return None
        if isinstance(value, bool):
            parsed = None
        elif isinstance(value, int):
            parsed = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value)
        ):
            parsed = int(value)
        else:
            parsed = None
        if parsed is None:
            self.fail(name, f"The value '{value}' is not valid for {pascal(name)}.")
        return parsed

    def timestamp(self, name: str, *, required: bool = False) -> datetime | None:
        text = self.string(name, required=required)
        if text is None or (not text.strip() and not required):
            return None
        if not text.strip():
            return None  # already reported as required
        parsed = parse_datetime(text)
        if parsed is None:
            self.fail(
                name,
                f"The value '{text}' is not valid for {pascal(name)}; "
                "expected yyyy-MM-ddTHH:mm:ss.fffZ.",
            )
        return parsed

    def choice(
        self,
        name: str,
        choices: tuple[str, ...],
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {pascal(name)} field is required.")
            return default
        if not isinstance(value, str):
            self.fail(name, f"The value '{value}' is not valid for {pascal(name)}.")
            return default
        for choice in choices:
            if value.strip().lower() == choice.lower():
                return choice
        allowed = ", ".join(repr(c) for c in choices)
        self.fail(
            name,
            f"The value '{value}' is not valid for {pascal(name)}; expected one of {allowed}.",
        )
        return default


def put_fields(body: Body, fields: dict[str, Any], replaces: bool) -> dict[str, Any]:
    """What a PUT stores, per the put_replaces answer.

    ``fields`` were parsed with the create rules (every field, create defaults for those
    not sent). Replace stores them all; merge keeps only the fields sent, and only their
    errors count: no field is required on a merge, but a sent field is validated.
    """
    if not replaces:
        body.errors = {name: errors for name, errors in body.errors.items() if body.has(name)}
        fields = {name: value for name, value in fields.items() if body.has(name)}
    body.check()
    return fields
