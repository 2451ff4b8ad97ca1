"""PDI API simulator: ``python -m sandbox.pdi --port 8002``.

Reproduces the behaviour described in ``pdi-api.md`` (sections 2, 3, 4 and 7) that a
Mobilize -> PDI target depends on:

* ``POST /sessions`` -> ``{AccessToken, ExpirationDate}``; every other route wants
  ``Authorization: Bearer <token>`` and answers 401 once the token expired.
* ASP.NET Web API flavoured binding: JSON property names are case-insensitive, booleans
  accept ``"true"``/``"false"`` strings, answers are camelCase, validation failures are 400
  with ``{"message", "modelState"}``.
* Opaque ids (base64 of 16 bytes, deterministic per seed); a malformed id is 400, an unknown
  well-formed id 404 (DELETE of an unknown contact succeeds, as PDI's deletes do).
* Lists are ``{"data": [...], "totalCount": N}`` paged by ``limit`` (<= 2000) and a 1-based
  ``cursor`` page number, in creation order.
* ``PUT /contacts/{id}`` and ``PUT /locations/{id}`` answer HTTP 200 with
  ``{"code": 201, "message": "Contact updated."}`` (``Location updated.``) and no ``data``
  key: Parsons' ``_request`` returns a body as-is only when it has no ``data`` key, and its
  ``update_contact``/``update_location`` then test ``res["code"] == 201``.
* A phone POST without an ``extension`` key fails.
* ``GET /contacts/{id}`` always embeds the contact's ``emails`` and ``phones``.

Answers to the open questions of ``pdi-api.md`` section 8 (``PdiAnswers``; the harsh
value, hardest for a client, is the default; ``--answers lenient`` gives the other one;
``--answer NAME=VALUE`` or ``POST /__admin/answers`` sets one; ``HARSH_ANSWERS`` and
``LENIENT_ANSWERS`` are the presets as dicts):

* ``contact_search`` (Q6) ``"exact"`` | ``"fuzzy"`` | ``"ignore_email"``, for
  ``GET /contacts?email=..&searchByEmail=true``: contacts holding that email (any of their
  emails, case-insensitive, trimmed); those plus contacts with an email whose local part
  contains the query's (``ann@x.org`` finds ``ann@y.com`` and ``joann@x.org``); or every
  contact (the email is not used). ``firstName``/``lastName``/``phone`` filter in every
  mode. Harsh: ``"ignore_email"``: a client that trusts the first row merges strangers.
* ``contact_rows_have_emails`` (Q6) ``true`` | ``false``: whether ``GET /contacts`` rows
  carry ``emails`` and ``phones``. Harsh: ``false``: a client must ``GET /contacts/{id}``
  to confirm a match.
* ``duplicate_invitations`` (Q5) ``"refused"`` | ``"accepted"``: a second invitation of a
  contact to an event (POST, or a PUT moving ``contactId`` onto an invited contact) is a
  400, or is stored (both then listed). Harsh: ``"accepted"``: a client's retry or lost
  id map silently doubles invitations.
* ``put_replaces`` (Q3/Q9) ``true`` | ``false``: PUT of a contact, location, event or
  invitation replaces the object (a field not sent is stored as a create would store it:
  null, ``""`` or ``false``; required fields stay required) or merges (only the fields
  sent change, none is required, a sent field is validated). A contact's ``emails``,
  ``phones`` and ``pdiId`` are never touched by PUT. Harsh: ``true``: fields the client
  does not manage (set by a PDI user) are wiped.

Admin routes (besides the base's health/stats/switches/answers): ``GET /__admin/state``
(every object), ``POST /__admin/reset`` (empty all but calendars, credentials and live
tokens; ids are never reused), ``POST /__admin/calendars`` ``{"names": [...]}`` (replace
the calendars; a calendar id derives from its name), ``POST /__admin/tokens/expire``
(invalidate every token, to test re-login), ``GET /__admin/tokens`` (every token ever
issued, for secret searches), ``POST /__admin/seed``
``{"kind": "contacts"|"events"|"locations"|"invitations", "object": {...}}`` (store an
object as a PDI user would make it in the UI: any fields, a new id, no validation but an
invitation's event and contact must exist; a contact's ``emails``/``phones`` may be lists
of strings or of objects) and ``POST /__admin/delete`` ``{"kind": ..., "id": ...}`` (delete
as a PDI user would; an event's or a contact's invitations go with it; 404 if unknown)
and ``POST /__admin/update`` ``{"kind": ..., "id": ..., "fields": {...}}`` (change fields
as a PDI user would, unvalidated: move an event to another calendar (``calendarId``, which
must exist) or time, rename it, flip an invitation's ``attended`` or ``rsvpStatus``, replace
a contact's ``emails`` or ``phones`` (lists, as a seed's); ids and an invitation's event and
contact cannot change: 400; 404 if unknown) and ``POST /__admin/copy`` ``{"kind": ..., "id":
..., "fields": {...}}`` (a copy of an object under a new id, ``fields`` changed: an event a
PDI user copied, a contact or an invitation made twice; 404 if unknown). These are how tests
tamper with PDI behind the sync's back. All four answer the object. ``/__admin/stats``
adds ``writes`` and ``writes_by_route``: the POST/PUT/DELETE of the API that changed state
(not the admin seeds, copies, updates and deletes). The ``drop_after_write_next`` switch
drops the connection after such a write is done.

Decisions where the reference is silent are marked "Guess:" below.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from sandbox.server.answers import Answers, answer
from sandbox.server.cli import run_cli
from sandbox.server.http_server import SandboxServer
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
DEFAULT_USERNAME = "sandbox"
DEFAULT_PASSWORD = "sandbox-password"  # noqa: S105 - public sandbox credential
DEFAULT_API_TOKEN = "sandbox-token"  # noqa: S105 - public sandbox credential

RSVP_STATUSES = (
    "Yes",
    "No",
    "Maybe",
    "Scheduled",
    "Invited",
    "Cancelled",
    "No-Show",
    "Completed",
    "",
)
PHONE_TYPES = ("Home", "Work", "Direct", "Mobile", "Fax", "Other")
PERSON_STATUSES = ("Prospect", "Active", "Inactive", "None", "")
GENDERS = ("F", "M", "U", "")
RECURRENCE_TYPES = ("daily", "weekly", "monthly")

MSG_BAD_LOGIN = "Invalid username, password or api token."
MSG_DENIED = "Authorization has been denied for this request."
MSG_BAD_ID = "The id is not valid."
MSG_DUPLICATE_INVITATION = "The contact has already been invited to this event."
MSG_INVALID = "The request is invalid."

_ID_RE = re.compile(r"^[A-Za-z0-9+/]{22}==$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
SEED_KINDS = ("contacts", "events", "locations", "invitations")
# What POST /__admin/update never changes: ids, and an invitation's links (a PDI user invites
# someone else rather than moving an invitation). A contact's emails and phones are replaced
# whole, as lists like a seed's, and its email index with them.
FIXED_FIELDS = {
    "contacts": {"id"},
    "events": {"id"},
    "locations": {"id"},
    "invitations": {"id", "eventId", "contactId"},
}


@dataclass
class PdiAnswers(Answers):
    """Answers to ``pdi-api.md`` section 8; each default is the harsh one (see above)."""

    TITLE = "pdi answers"

    contact_search: str = answer(
        "exact", "fuzzy", "ignore_email", harsh="ignore_email", lenient="exact"
    )
    contact_rows_have_emails: bool = answer(True, False, harsh=False, lenient=True)
    duplicate_invitations: str = answer("refused", "accepted", harsh="accepted", lenient="refused")
    put_replaces: bool = answer(True, False, harsh=True, lenient=False)


HARSH_ANSWERS = PdiAnswers.preset("harsh")
LENIENT_ANSWERS = PdiAnswers.preset("lenient")


# --------------------------------------------------------------------------- helpers


def is_valid_id(value: str) -> bool:
    """True for a 24-char standard base64 string that decodes to 16 bytes."""
    if not _ID_RE.match(value):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


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


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _error(status: int, message: str) -> Response:
    return Response(status, {"message": message})


def _invalid(errors: Mapping[str, list[str]]) -> Response:
    messages = [message for field_errors in errors.values() for message in field_errors]
    return Response(400, {"message": " ".join(messages) or MSG_INVALID, "modelState": dict(errors)})


class _Invalid(Exception):
    """Raised by handlers to answer 400 with a modelState."""

    def __init__(self, errors: Mapping[str, list[str]]):
        super().__init__(errors)
        self.errors = dict(errors)


class _Body:
    """Case-insensitive view of a JSON object body, collecting ASP.NET-style model errors."""

    def __init__(self, payload: Any):
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise _Invalid({"body": ["The request body must be a JSON object."]})
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
            raise _Invalid(self.errors)

    def string(
        self, name: str, *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {_pascal(name)} field is required.")
            return default
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            self.fail(name, f"The {_pascal(name)} field must be a string.")
            return default
        if required and not value.strip():
            # ASP.NET [Required] rejects empty strings too.
            self.fail(name, f"The {_pascal(name)} field is required.")
        return value

    def boolean(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {_pascal(name)} field is required.")
            return default
        parsed = parse_bool(value)
        if parsed is None:
            self.fail(name, f"The value '{value}' is not valid for {_pascal(name)}.")
            return default
        return parsed

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {_pascal(name)} field is required.")
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
            self.fail(name, f"The value '{value}' is not valid for {_pascal(name)}.")
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
                f"The value '{text}' is not valid for {_pascal(name)}; "
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
                self.fail(name, f"The {_pascal(name)} field is required.")
            return default
        if not isinstance(value, str):
            self.fail(name, f"The value '{value}' is not valid for {_pascal(name)}.")
            return default
        for choice in choices:
            if value.strip().lower() == choice.lower():
                return choice
        allowed = ", ".join(repr(c) for c in choices)
        self.fail(
            name,
            f"The value '{value}' is not valid for {_pascal(name)}; expected one of {allowed}.",
        )
        return default


def _seed_list(obj: Mapping[str, Any], name: str) -> list[Any]:
    value = obj.get(name) or []
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value


def _seed_email(item: Any) -> tuple[str, bool]:
    """An email given as an address or as an object -> (address, isPrimary)."""
    if isinstance(item, str):
        item = {"emailAddress": item}
    address = item.get("emailAddress") if isinstance(item, dict) else None
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"bad email {item!r}: expected an address or {{emailAddress, ...}}")
    return address.strip(), parse_bool(item.get("isPrimary")) is True


def _seed_phone(item: Any) -> dict[str, Any]:
    """A phone given as a number or as an object -> ``_add_phone_to`` keyword arguments."""
    if isinstance(item, str):
        item = {"phoneNumber": item}
    number = item.get("phoneNumber") if isinstance(item, dict) else None
    if not isinstance(number, str) or not number.strip():
        raise ValueError(f"bad phone {item!r}: expected a number or {{phoneNumber, ...}}")
    return {
        "number": number,
        "phone_type": item.get("phoneType") or "Mobile",
        "is_primary": parse_bool(item.get("isPrimary")) is True,
        "extension": item.get("extension") or "",
    }


def _page(
    request: Request,
    items: list[dict[str, Any]],
    default_limit: int,
    max_limit: int,
    render: Callable[[dict[str, Any]], dict[str, Any]] = dict,
) -> Response:
    """One page of ``items`` (stored objects, creation order); only that page is rendered."""
    limit_text = request.arg("limit")
    cursor_text = request.arg("cursor")
    try:
        limit = default_limit if limit_text in (None, "") else int(limit_text)
        cursor = 1 if cursor_text in (None, "") else int(cursor_text)
    except ValueError:
        return _error(400, "The limit and cursor parameters must be integers.")
    if limit < 1 or limit > max_limit:
        return _error(400, f"The limit must be between 1 and {max_limit}.")
    if cursor < 1:
        return _error(400, "The cursor must be 1 or greater.")
    offset = (cursor - 1) * limit
    page = [render(item) for item in items[offset : offset + limit]]
    return Response(200, {"data": page, "totalCount": len(items)})


# --------------------------------------------------------------------------- routing


Handler = Callable[[Request, list[str]], Response]


@dataclass(frozen=True)
class _Route:
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


# --------------------------------------------------------------------------- the app


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
        self.username = username
        self.password = password
        self.api_token = api_token
        self.token_ttl_seconds = token_ttl_seconds
        self.max_limit = max_limit
        self.default_limit = default_limit
        self.naive_expiration = naive_expiration
        self.seed = seed
        self.time_zone = time_zone
        self.server: SandboxServer | None = None
        self._lock = threading.RLock()
        self._counter = 0
        self._tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        # Every token ever issued, for tests that search logs and files for secrets.
        self._issued: list[str] = []
        self._calendars: dict[str, dict[str, Any]] = {}
        self._locations: dict[str, dict[str, Any]] = {}
        self._events: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, dict[str, Any]] = {}
        self._invitations: dict[str, dict[str, Any]] = {}
        self._email_index: dict[str, set[str]] = {}  # lower(trimmed email) -> contact ids
        # (event, contact) -> its invitation ids (several when duplicates are accepted)
        self._invitation_index: dict[tuple[str, str], set[str]] = {}
        # event -> its invitation ids, in creation order (dict as an ordered set)
        self._event_invitations: dict[str, dict[str, None]] = {}
        self._contact_seq: dict[str, int] = {}  # contact id -> creation number (list order)
        self._writes = 0
        self._writes_by_route: Counter[str] = Counter()
        self.set_calendars(list(calendars))
        self._routes = self._build_routes()

    # ----------------------------------------------------------------- plumbing hooks

    def attach_server(self, server: SandboxServer) -> None:
        self.server = server

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.answers.update(changes)
            return self.answers.as_dict()

    def extra_stats(self) -> dict[str, Any]:
        with self._lock:
            return {"writes": self._writes, "writes_by_route": dict(self._writes_by_route)}

    def reset_extra_stats(self) -> None:
        with self._lock:
            self._writes = 0
            self._writes_by_route.clear()

    def throttled_body(self, retry_after: int | None) -> dict[str, Any]:
        """Body of the ``rate_limit`` switch's 429s.

        Guess: PDI documents no limit (pdi-api.md Q8); an ASP.NET Web API answers errors
        as ``{"message": ...}``, as this simulator's 401s do, and a client should rely on
        the status and ``Retry-After`` only."""
        wait = "" if retry_after is None else f" Retry after {retry_after} s."
        return {"message": f"Too many requests.{wait}"}

    def _build_routes(self) -> list[_Route]:
        def route(method: str, path: str, handler: Handler, *, auth: bool = True) -> _Route:
            segments = tuple(
                s if s.startswith("{") else s.lower() for s in path.strip("/").split("/")
            )
            write = method in ("POST", "PUT", "DELETE") and auth
            return _Route(method, segments, f"{method} {path}", handler, auth, write)

        return [
            route("POST", "/sessions", self._post_session, auth=False),
            route("GET", "/calendars", self._list_calendars),
            route("POST", "/calendars/{id}/events", self._create_event),
            route("GET", "/events", self._list_events),
            route("GET", "/events/{id}", self._get_event),
            route("PUT", "/events/{id}", self._update_event),
            route("GET", "/events/{id}/invitations", self._list_invitations),
            route("POST", "/events/{id}/invitations", self._create_invitation),
            route("PUT", "/events/{id}/invitations/{invitationId}", self._update_invitation),
            route("GET", "/locations", self._list_locations),
            route("POST", "/locations", self._create_location),
            route("GET", "/locations/{id}", self._get_location),
            route("PUT", "/locations/{id}", self._update_location),
            route("GET", "/contacts", self._list_contacts),
            route("POST", "/contacts", self._create_contact),
            route("GET", "/contacts/{id}", self._get_contact),
            route("PUT", "/contacts/{id}", self._update_contact),
            route("DELETE", "/contacts/{id}", self._delete_contact),
            route("POST", "/contacts/{id}/emails", self._add_email),
            route("POST", "/contacts/{id}/phones", self._add_phone),
        ]

    # ----------------------------------------------------------------- App protocol

    def handle(self, request: Request) -> Response:
        parts = (
            [unquote(p) for p in request.path.strip("/").split("/")]
            if request.path.strip("/")
            else []
        )
        matched = [(r, ids) for r in self._routes if (ids := r.match(parts)) is not None]
        if not matched:
            return _error(
                404, f"No HTTP resource was found that matches the request URI '{request.path}'."
            )
        for route, ids in matched:  # noqa: B007 - the matched pair is used after the loop
            if route.method == request.method:
                break
        else:
            return _error(
                405, f"The requested resource does not support http method '{request.method}'."
            )
        request.route = route.template
        with self._lock:
            if route.auth and not self._authorized(request):
                return _error(401, MSG_DENIED)
            for value in ids:
                if not is_valid_id(value):
                    return _error(400, MSG_BAD_ID)
            writes_before = self._writes
            try:
                response = route.handler(request, ids)
            except _Invalid as exc:
                return _invalid(exc.errors)
            wrote = self._writes > writes_before
        if wrote and self.server is not None and self.server.consume("drop_after_write_next"):
            return Response(drop=True)
        return response

    def admin(self, request: Request) -> Response | None:
        key = (request.method, request.path.rstrip("/"))
        if key == ("GET", "/__admin/state"):
            return Response(200, self.state())
        if key == ("POST", "/__admin/reset"):
            self.reset()
            return Response(200, {"ok": True})
        if key == ("POST", "/__admin/calendars"):
            body = request.json() or {}
            names = body.get("names") if isinstance(body, dict) else None
            if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                return _error(400, 'Expected {"names": [non-empty strings]}.')
            return Response(200, {"calendars": self.set_calendars(names)})
        if key == ("GET", "/__admin/tokens"):
            with self._lock:
                return Response(200, {"issued": list(self._issued)})
        if key == ("POST", "/__admin/tokens/expire"):
            with self._lock:
                count = len(self._tokens)
                self._tokens.clear()
            return Response(200, {"expired": count})
        if key == ("POST", "/__admin/seed"):
            return self._admin_seed(request.json())
        if key == ("POST", "/__admin/delete"):
            return self._admin_delete(request.json())
        if key == ("POST", "/__admin/update"):
            return self._admin_update(request.json())
        if key == ("POST", "/__admin/copy"):
            return self._admin_copy(request.json())
        return None

    def _admin_seed(self, body: Any) -> Response:
        kind = body.get("kind") if isinstance(body, dict) else None
        obj = body.get("object") if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(obj, dict):
            return _error(
                400, f'Expected {{"kind": one of {list(SEED_KINDS)}, "object": {{...}}}}.'
            )
        seeders: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "contacts": self._seed_contact,
            "events": self._seed_event,
            "locations": self._seed_location,
            "invitations": self._seed_invitation,
        }
        with self._lock:
            try:
                return Response(200, seeders[kind](obj))
            except ValueError as exc:
                return _error(400, f"seed {kind}: {exc}")

    def _admin_delete(self, body: Any) -> Response:
        kind = body.get("kind") if isinstance(body, dict) else None
        object_id = body.get("id") if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(object_id, str):
            return _error(400, f'Expected {{"kind": one of {list(SEED_KINDS)}, "id": "..."}}.')
        removers: dict[str, Callable[[str], dict[str, Any] | None]] = {
            "contacts": self._remove_contact,
            "events": self._remove_event,
            "locations": self._remove_location,
            "invitations": self._remove_invitation,
        }
        with self._lock:
            removed = removers[kind](object_id)
        if removed is None:
            return _error(404, f"No {kind} with id {object_id!r}.")
        return Response(200, removed)

    def _admin_update(self, body: Any) -> Response:
        """Change fields of a stored object as a PDI user would in the UI: no validation, and
        an event may change calendar (the API cannot). Ids and links stay as they are."""
        kind = body.get("kind") if isinstance(body, dict) else None
        object_id = body.get("id") if isinstance(body, dict) else None
        fields = body.get("fields") if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(object_id, str) or not isinstance(fields, dict):
            return _error(
                400,
                f'Expected {{"kind": one of {list(SEED_KINDS)}, "id": "...", "fields": {{...}}}}.',
            )
        fixed = FIXED_FIELDS[kind] & set(fields)
        if fixed:
            return _error(400, f"update {kind}: {sorted(fixed)} cannot change")
        with self._lock:
            stores: dict[str, dict[str, dict[str, Any]]] = {
                "contacts": self._contacts,
                "events": self._events,
                "locations": self._locations,
                "invitations": self._invitations,
            }
            stored = stores[kind].get(object_id)
            if stored is None:
                return _error(404, f"No {kind} with id {object_id!r}.")
            calendar_id = fields.get("calendarId")
            if kind == "events" and "calendarId" in fields and calendar_id not in self._calendars:
                return _error(400, f"update events: no calendar {calendar_id!r}")
            if kind == "contacts":
                try:
                    self._replace_contact_lists(stored, fields)
                except ValueError as exc:
                    return _error(400, f"update contacts: {exc}")
                fields = {k: v for k, v in fields.items() if k not in ("emails", "phones")}
            stored.update(fields)
            return Response(200, self._contact_out(stored) if kind == "contacts" else dict(stored))

    def _replace_contact_lists(self, contact: dict[str, Any], fields: dict[str, Any]) -> None:
        """A PDI user editing a contact's emails or phones: each list replaced whole."""
        emails = [_seed_email(item) for item in _seed_list(fields, "emails")]
        phones = [_seed_phone(item) for item in _seed_list(fields, "phones")]
        if "emails" in fields:
            for email in contact["emails"]:
                holders = self._email_index.get(email["emailAddress"].strip().lower())
                if holders is not None:
                    holders.discard(contact["id"])
            contact["emails"] = []
            for address, is_primary in emails:
                self._add_email_to(contact, address, is_primary)
        if "phones" in fields:
            contact["phones"] = []
            for phone in phones:
                self._add_phone_to(contact, **phone)

    def _admin_copy(self, body: Any) -> Response:
        """A copy of a stored object under a new id, as a PDI user copies an event or adds the
        same contact or invitation twice: every field kept but those given in ``fields``."""
        kind = body.get("kind") if isinstance(body, dict) else None
        object_id = body.get("id") if isinstance(body, dict) else None
        fields = body.get("fields", {}) if isinstance(body, dict) else None
        if kind not in SEED_KINDS or not isinstance(object_id, str) or not isinstance(fields, dict):
            return _error(
                400,
                f'Expected {{"kind": one of {list(SEED_KINDS)}, "id": "...", "fields": {{...}}}}.',
            )
        with self._lock:
            stores: dict[str, dict[str, dict[str, Any]]] = {
                "contacts": self._contacts,
                "events": self._events,
                "locations": self._locations,
                "invitations": self._invitations,
            }
            stored = stores[kind].get(object_id)
            if stored is None:
                return _error(404, f"No {kind} with id {object_id!r}.")
            original = self._contact_out(stored) if kind == "contacts" else dict(stored)
            obj = {k: v for k, v in original.items() if k != "id"}
            if kind == "contacts":
                obj["emails"] = [
                    {"emailAddress": e["emailAddress"], "isPrimary": e["isPrimary"]}
                    for e in original["emails"]
                ]
                obj["phones"] = [
                    {k: v for k, v in phone.items() if k != "id"} for phone in original["phones"]
                ]
            obj.update(fields)
            seeders: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
                "contacts": self._seed_contact,
                "events": self._seed_event,
                "locations": self._seed_location,
                "invitations": self._seed_invitation,
            }
            try:
                return Response(200, seeders[kind](obj))
            except ValueError as exc:
                return _error(400, f"copy {kind}: {exc}")

    # ----------------------------------------------------------------- admin helpers

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calendars": [dict(c) for c in self._calendars.values()],
                "locations": [dict(loc) for loc in self._locations.values()],
                "events": [dict(e) for e in self._events.values()],
                "contacts": [self._contact_out(c) for c in self._contacts.values()],
                "invitations": [dict(i) for i in self._invitations.values()],
            }

    # Seeds store what a PDI user made in the UI: the create defaults (what a create with an
    # empty body would store), overlaid with any given fields, under a new id.

    def _seed_contact(self, obj: dict[str, Any]) -> dict[str, Any]:
        emails = [_seed_email(item) for item in _seed_list(obj, "emails")]
        if isinstance(obj.get("emailAddress"), str) and obj["emailAddress"].strip():
            emails.insert(0, (obj["emailAddress"].strip(), True))
        phones = [_seed_phone(item) for item in _seed_list(obj, "phones")]
        given = {
            k: v for k, v in obj.items() if k not in ("id", "emails", "phones", "emailAddress")
        }
        defaults = {**self._contact_fields(_Body({})), "pdiId": None}
        contact: dict[str, Any] = {
            "id": self._new_id(),
            **defaults,
            **given,
            "emails": [],
            "phones": [],
        }
        self._contacts[contact["id"]] = contact
        self._contact_seq[contact["id"]] = self._counter
        for address, is_primary in emails:
            self._add_email_to(contact, address, is_primary)
        for phone in phones:
            self._add_phone_to(contact, **phone)
        return self._contact_out(contact)

    def _seed_event(self, obj: dict[str, Any]) -> dict[str, Any]:
        calendar_id = next(iter(self._calendars), None)
        given = {k: v for k, v in obj.items() if k != "id"}
        defaults = {"calendarId": calendar_id, **self._event_fields(_Body({}))}
        event = {"id": self._new_id(), **defaults, **given}
        self._events[event["id"]] = event
        return dict(event)

    def _seed_location(self, obj: dict[str, Any]) -> dict[str, Any]:
        given = {k: v for k, v in obj.items() if k != "id"}
        location = {"id": self._new_id(), **self._location_fields(_Body({})), **given}
        self._locations[location["id"]] = location
        return dict(location)

    def _seed_invitation(self, obj: dict[str, Any]) -> dict[str, Any]:
        # The indexes need both ends: an invitation lives in its event's list.
        if obj.get("eventId") not in self._events:
            raise ValueError(f"no event {obj.get('eventId')!r}")
        if obj.get("contactId") not in self._contacts:
            raise ValueError(f"no contact {obj.get('contactId')!r}")
        given = {k: v for k, v in obj.items() if k != "id"}
        defaults = self._invitation_fields(_Body({}))
        invitation = {"id": self._new_id(), **defaults, **given}
        self._store_invitation(invitation)
        return dict(invitation)

    # Removals keep the indexes consistent; None when there was nothing to remove.

    def _remove_contact(self, contact_id: str) -> dict[str, Any] | None:
        contact = self._contacts.pop(contact_id, None)
        if contact is None:
            return None
        del self._contact_seq[contact_id]
        for email in contact["emails"]:
            holders = self._email_index.get(email["emailAddress"].strip().lower())
            if holders is not None:
                holders.discard(contact_id)
        # Guess: a contact's invitations go with it.
        for invitation in [i for i in self._invitations.values() if i["contactId"] == contact_id]:
            self._remove_invitation(invitation["id"])
        return self._contact_out(contact)

    def _remove_event(self, event_id: str) -> dict[str, Any] | None:
        event = self._events.pop(event_id, None)
        if event is None:
            return None
        for invitation_id in list(self._event_invitations.get(event_id, {})):
            self._remove_invitation(invitation_id)
        self._event_invitations.pop(event_id, None)
        return dict(event)

    def _remove_location(self, location_id: str) -> dict[str, Any] | None:
        # Events keep their (now dangling) locationId, as after a deletion in the UI.
        location = self._locations.pop(location_id, None)
        return None if location is None else dict(location)

    def _remove_invitation(self, invitation_id: str) -> dict[str, Any] | None:
        invitation = self._invitations.pop(invitation_id, None)
        if invitation is None:
            return None
        self._unindex_invitation(invitation)
        self._event_invitations.get(invitation["eventId"], {}).pop(invitation_id, None)
        return dict(invitation)

    def _index_invitation(self, invitation: dict[str, Any]) -> None:
        key = (invitation["eventId"], invitation["contactId"])
        self._invitation_index.setdefault(key, set()).add(invitation["id"])

    def _unindex_invitation(self, invitation: dict[str, Any]) -> None:
        key = (invitation["eventId"], invitation["contactId"])
        holders = self._invitation_index.get(key)
        if holders is not None:
            holders.discard(invitation["id"])
            if not holders:
                del self._invitation_index[key]

    def _store_invitation(self, invitation: dict[str, Any]) -> None:
        self._invitations[invitation["id"]] = invitation
        self._index_invitation(invitation)
        self._event_invitations.setdefault(invitation["eventId"], {})[invitation["id"]] = None

    def reset(self) -> None:
        """Forget everything but calendars, credentials and live tokens.

        The id counter is NOT rewound, so an id from before the reset can never point at a
        different object afterwards (a stale client id map gets 404s, not wrong objects).
        """
        with self._lock:
            self._locations.clear()
            self._events.clear()
            self._contacts.clear()
            self._invitations.clear()
            self._email_index.clear()
            self._invitation_index.clear()
            self._event_invitations.clear()
            self._contact_seq.clear()

    def set_calendars(self, names: list[str]) -> list[dict[str, Any]]:
        """Replace the calendars; a calendar's id is derived from its name (stable)."""
        with self._lock:
            self._calendars = {}
            for name in names:
                digest = hashlib.sha256(f"pdi-calendar:{self.seed}:{name}".encode()).digest()
                calendar_id = self._encode_id(digest)
                self._calendars[calendar_id] = {
                    "id": calendar_id,
                    "name": name,
                    "description": f"{name} calendar",
                    "timeZone": self.time_zone,
                }
            return [dict(c) for c in self._calendars.values()]

    # ----------------------------------------------------------------- internals

    @staticmethod
    def _encode_id(digest: bytes) -> str:
        # Guess: PDI ids are standard base64; '/' in an id cannot travel in a URL path
        # without %2F (which ASP.NET/IIS handle badly), so the simulator never issues one.
        raw = bytearray(digest[:16])
        text = base64.b64encode(bytes(raw)).decode()
        while "/" in text:
            raw = bytearray(hashlib.sha256(bytes(raw)).digest()[:16])
            text = base64.b64encode(bytes(raw)).decode()
        return text

    def _new_id(self) -> str:
        self._counter += 1
        digest = hashlib.sha256(f"pdi-sandbox:{self.seed}:{self._counter}".encode()).digest()
        return self._encode_id(digest)

    def _wrote(self, request: Request) -> None:
        self._writes += 1
        self._writes_by_route[request.route or f"{request.method} {request.path}"] += 1

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        expiry = self._tokens.get(token.strip())
        if expiry is None:
            return False
        if time.time() >= expiry:
            del self._tokens[token.strip()]
            return False
        return True

    def _list(
        self,
        request: Request,
        items: list[dict[str, Any]],
        render: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    ) -> Response:
        return _page(request, items, self.default_limit, self.max_limit, render)

    def _contact_out(self, contact: dict[str, Any]) -> dict[str, Any]:
        out = dict(contact)
        out["emails"] = [dict(e) for e in contact["emails"]]
        out["phones"] = [dict(p) for p in contact["phones"]]
        return out

    def _contact_row(self, contact: dict[str, Any]) -> dict[str, Any]:
        """A row of ``GET /contacts``: emails and phones only if the answer says so."""
        if self.answers.contact_rows_have_emails:
            return self._contact_out(contact)
        return {k: v for k, v in contact.items() if k not in ("emails", "phones")}

    def _put_fields(self, body: _Body, fields: dict[str, Any]) -> dict[str, Any]:
        """What a PUT stores, per the put_replaces answer.

        ``fields`` were parsed with the create rules (every field, create defaults for those
        not sent). Replace stores them all; merge keeps only the fields sent, and only their
        errors count: no field is required on a merge, but a sent field is validated.
        """
        if not self.answers.put_replaces:
            body.errors = {name: errors for name, errors in body.errors.items() if body.has(name)}
            fields = {name: value for name, value in fields.items() if body.has(name)}
        body.check()
        return fields

    # ----------------------------------------------------------------- sessions

    def _post_session(self, request: Request, _ids: list[str]) -> Response:
        body = _Body(request.json())
        username = body.string("username", required=True)
        password = body.string("password", required=True)
        api_token = body.string("apiToken", required=True)
        if body.errors:
            # PascalCase in messages and modelState, as the request uses PascalCase.
            raise _Invalid({_pascal(k): v for k, v in body.errors.items()})
        if (username, password, api_token) != (self.username, self.password, self.api_token):
            return _error(401, MSG_BAD_LOGIN)
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(seconds=self.token_ttl_seconds)
        self._tokens[token] = expires.timestamp()
        self._issued.append(token)
        expiration = format_datetime(expires)
        if self.naive_expiration:
            expiration = expiration.removesuffix("Z")
        return Response(200, {"AccessToken": token, "ExpirationDate": expiration})

    # ----------------------------------------------------------------- calendars, events

    def _list_calendars(self, request: Request, _ids: list[str]) -> Response:
        return self._list(request, list(self._calendars.values()))

    def _event_fields(self, body: _Body) -> dict[str, Any]:
        name = body.string("name", required=True)
        location_id = body.string("locationId", required=True)
        start = body.timestamp("startDateTimeUtc", required=True)
        end = body.timestamp("endDateTimeUtc", required=True)
        category = body.integer("eventCategoryId", required=True)
        is_all_day = body.boolean("isAllDay")
        recurrence_type = body.raw("recurrenceType")
        if recurrence_type in (None, ""):
            recurrence = None
        else:
            recurrence = body.choice("recurrenceType", RECURRENCE_TYPES)
        recurrence_end = body.timestamp("recurrenceEndDateTimeUtc")
        return {
            "name": name,
            "description": body.string("description"),
            "locationId": location_id,
            "startDateTimeUtc": format_datetime(start) if start else None,
            "endDateTimeUtc": format_datetime(end) if end else None,
            "isAllDay": is_all_day,
            "phone": body.string("phone"),
            "contactEmail": body.string("contactEmail"),
            "website": body.string("website"),
            "eventCategoryId": category,
            "recurrenceType": recurrence,
            "recurrenceEndDateTimeUtc": format_datetime(recurrence_end) if recurrence_end else None,
        }

    def _check_event(self, event: Mapping[str, Any], body: _Body) -> None:
        """Cross-field checks of a whole (created, replaced or merged) event."""
        start = parse_datetime(str(event.get("startDateTimeUtc") or ""))
        end = parse_datetime(str(event.get("endDateTimeUtc") or ""))
        if start is not None and end is not None and end < start:
            raise _Invalid({"endDateTimeUtc": ["The end date must not be before the start date."]})
        # A location id is checked when sent (an event seeded with a stale one keeps it).
        location_id = event.get("locationId")
        if body.has("locationId") and location_id not in self._locations:
            raise _Invalid({"locationId": [f"The location '{location_id}' does not exist."]})

    def _create_event(self, request: Request, ids: list[str]) -> Response:
        calendar_id = ids[0]
        if calendar_id not in self._calendars:
            return _error(404, "The calendar was not found.")
        body = _Body(request.json())
        fields = self._event_fields(body)
        body.check()
        self._check_event(fields, body)
        event = {"id": self._new_id(), "calendarId": calendar_id, **fields}
        self._events[event["id"]] = event
        self._wrote(request)
        return Response(200, dict(event))

    def _list_events(self, request: Request, _ids: list[str]) -> Response:
        bounds: list[date | None] = []
        for name in ("startDate", "endDate"):
            text = request.arg(name)
            if text in (None, ""):
                bounds.append(None)
                continue
            parsed = parse_date(text)
            if parsed is None:
                return _error(400, f"The {name} parameter must be formatted yyyy-MM-dd.")
            bounds.append(parsed)
        low, high = bounds
        events = []
        for event in self._events.values():
            if low is None and high is None:
                events.append(event)
                continue
            # A seeded event may have no (or an odd) start: no date filter matches it.
            start = parse_datetime(str(event.get("startDateTimeUtc") or ""))
            day = start.date() if start is not None else None
            if day is not None and (low is None or day >= low) and (high is None or day <= high):
                events.append(event)
        return self._list(request, events)

    def _find_event(self, event_id: str) -> dict[str, Any] | None:
        return self._events.get(event_id)

    def _get_event(self, request: Request, ids: list[str]) -> Response:
        event = self._find_event(ids[0])
        if event is None:
            return _error(404, "The event was not found.")
        return Response(200, dict(event))

    def _update_event(self, request: Request, ids: list[str]) -> Response:
        event = self._find_event(ids[0])
        if event is None:
            return _error(404, "The event was not found.")
        body = _Body(request.json())
        fields = self._put_fields(body, self._event_fields(body))
        self._check_event({**event, **fields}, body)
        event.update(fields)
        self._wrote(request)
        return Response(200, dict(event))

    # ----------------------------------------------------------------- locations

    def _location_fields(self, body: _Body) -> dict[str, Any]:
        return {
            "locationName": body.string("locationName", required=True),
            "locationAddress": body.string("locationAddress", default=""),
        }

    def _list_locations(self, request: Request, _ids: list[str]) -> Response:
        return self._list(request, list(self._locations.values()))

    def _create_location(self, request: Request, _ids: list[str]) -> Response:
        body = _Body(request.json())
        fields = self._location_fields(body)
        body.check()
        location = {"id": self._new_id(), **fields}
        self._locations[location["id"]] = location
        self._wrote(request)
        return Response(200, dict(location))

    def _get_location(self, request: Request, ids: list[str]) -> Response:
        location = self._locations.get(ids[0])
        if location is None:
            return _error(404, "The location was not found.")
        return Response(200, dict(location))

    def _update_location(self, request: Request, ids: list[str]) -> Response:
        location = self._locations.get(ids[0])
        if location is None:
            return _error(404, "The location was not found.")
        body = _Body(request.json())
        location.update(self._put_fields(body, self._location_fields(body)))
        self._wrote(request)
        # No "data" key: see the module docstring (Parsons' update_location).
        return Response(200, {"code": 201, "message": "Location updated."})

    # ----------------------------------------------------------------- contacts

    def _contact_fields(self, body: _Body) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "namePrefix": body.string("namePrefix"),
            "firstName": body.string("firstName", required=True),
            "middleName": body.string("middleName"),
            "lastName": body.string("lastName", required=True),
            "nameSuffix": body.string("nameSuffix"),
            "nickname": body.string("nickname"),
            "occupation": body.string("occupation"),
            "employer": body.string("employer"),
            "volunteerStatus": body.choice("volunteerStatus", PERSON_STATUSES),
            "donorStatus": body.choice("donorStatus", PERSON_STATUSES),
            "memberStatus": body.choice("memberStatus", PERSON_STATUSES),
            "gender": body.choice("gender", GENDERS),
            "dateOfBirth": None,
        }
        birth = body.string("dateOfBirth")
        if birth and birth.strip():
            # ASP.NET would also bind a DateTime; keep the date part.
            parsed = parse_date(birth.strip()[:10])
            if parsed is None or (len(birth.strip()) > 10 and parse_datetime(birth) is None):
                body.fail(
                    "dateOfBirth",
                    f"The value '{birth}' is not valid for DateOfBirth; expected yyyy-MM-dd.",
                )
            else:
                fields["dateOfBirth"] = parsed.isoformat()
        return fields

    def _index_email(self, contact_id: str, address: str) -> None:
        self._email_index.setdefault(address.strip().lower(), set()).add(contact_id)

    def _add_email_to(
        self, contact: dict[str, Any], address: str, is_primary: bool
    ) -> dict[str, Any]:
        emails: list[dict[str, Any]] = contact["emails"]
        is_primary = is_primary or not emails
        if is_primary:
            for other in emails:
                other["isPrimary"] = False
        email = {"id": self._new_id(), "emailAddress": address, "isPrimary": is_primary}
        emails.append(email)
        self._index_email(contact["id"], address)
        return email

    def _check_email(self, body: _Body, name: str, address: str | None) -> None:
        if address and address.strip() and "@" not in address:
            body.fail(name, f"The {_pascal(name)} field is not a valid e-mail address.")

    def _list_contacts(self, request: Request, _ids: list[str]) -> Response:
        search_by_email_text = request.arg("searchByEmail")
        search_by_email = False
        if search_by_email_text not in (None, ""):
            parsed = parse_bool(search_by_email_text)
            if parsed is None:
                return _error(
                    400, f"The value '{search_by_email_text}' is not valid for searchByEmail."
                )
            search_by_email = parsed
        candidates: list[dict[str, Any]]
        email = (request.arg("email") or "").strip().lower()
        if search_by_email and email:
            candidates = self._email_search(email)
        else:
            # Guess: without searchByEmail=true the email parameter is not used.
            candidates = list(self._contacts.values())
        for name in ("firstName", "lastName"):
            wanted = (request.arg(name) or "").strip().lower()
            if wanted:
                candidates = [c for c in candidates if (c[name] or "").strip().lower() == wanted]
        phone = re.sub(r"\D", "", request.arg("phone") or "")
        if phone:
            candidates = [
                c
                for c in candidates
                if any(re.sub(r"\D", "", p["phoneNumber"]) == phone for p in c["phones"])
            ]
        if (request.arg("zipCode") or "").strip():
            # The simulator stores no addresses, so no contact has a zip code.
            candidates = []
        return self._list(request, candidates, self._contact_row)

    def _email_search(self, email: str) -> list[dict[str, Any]]:
        """Contacts an email search returns, per the contact_search answer, in list order."""
        mode = self.answers.contact_search
        if mode == "ignore_email":
            return list(self._contacts.values())
        ids = set(self._email_index.get(email, set()))
        if mode == "fuzzy":
            ids |= self._resembling(email)
        return [self._contacts[i] for i in sorted(ids, key=self._contact_seq.__getitem__)]

    def _resembling(self, email: str) -> set[str]:
        """Contacts with an email whose local part contains the query's local part."""
        local = email.partition("@")[0]
        if not local:
            return set()
        return {
            contact_id
            for address, holders in self._email_index.items()
            if local in address.partition("@")[0]
            for contact_id in holders
        }

    def _create_contact(self, request: Request, _ids: list[str]) -> Response:
        body = _Body(request.json())
        fields = self._contact_fields(body)
        address = body.string("emailAddress")
        self._check_email(body, "emailAddress", address)
        pdi_id = body.string("pdiId")
        body.check()
        contact: dict[str, Any] = {
            "id": self._new_id(),
            **fields,
            "pdiId": pdi_id,
            "emails": [],
            "phones": [],
        }
        self._contacts[contact["id"]] = contact
        self._contact_seq[contact["id"]] = self._counter
        if address and address.strip():
            self._add_email_to(contact, address.strip(), True)
        self._wrote(request)
        return Response(200, self._contact_out(contact))

    def _get_contact(self, request: Request, ids: list[str]) -> Response:
        contact = self._contacts.get(ids[0])
        if contact is None:
            return _error(404, "The contact was not found.")
        return Response(200, self._contact_out(contact))

    def _update_contact(self, request: Request, ids: list[str]) -> Response:
        contact = self._contacts.get(ids[0])
        if contact is None:
            return _error(404, "The contact was not found.")
        body = _Body(request.json())
        # pdiId and emailAddress are ignored on update; emails and phones are never touched.
        contact.update(self._put_fields(body, self._contact_fields(body)))
        self._wrote(request)
        # No "data" key: see the module docstring (Parsons' update_contact).
        return Response(200, {"code": 201, "message": "Contact updated."})

    def _delete_contact(self, request: Request, ids: list[str]) -> Response:
        if self._remove_contact(ids[0]) is None:
            return Response(200)  # PDI deletes succeed for unknown ids
        self._wrote(request)
        return Response(200)

    def _add_email(self, request: Request, ids: list[str]) -> Response:
        contact = self._contacts.get(ids[0])
        if contact is None:
            return _error(404, "The contact was not found.")
        body = _Body(request.json())
        address = body.string("emailAddress", required=True)
        self._check_email(body, "emailAddress", address)
        is_primary = body.boolean("isPrimary")
        body.check()
        assert address is not None
        email = self._add_email_to(contact, address.strip(), is_primary)
        self._wrote(request)
        return Response(200, dict(email))

    def _add_phone(self, request: Request, ids: list[str]) -> Response:
        contact = self._contacts.get(ids[0])
        if contact is None:
            return _error(404, "The contact was not found.")
        body = _Body(request.json())
        number = body.string("phoneNumber", required=True)
        # Guess: Parsons defaults phoneType to Mobile; the server does the same when absent.
        phone_type = body.choice("phoneType", PHONE_TYPES, default="Mobile")
        is_primary = body.boolean("isPrimary")
        extension = body.string("extension")
        if not body.has("extension") or extension is None:
            # The key must be sent (PR #1417); "" is fine.
            body.fail("extension", "The Extension field is required.")
        body.check()
        assert number is not None
        phone = self._add_phone_to(contact, number, phone_type, is_primary, extension)
        self._wrote(request)
        return Response(200, dict(phone))

    def _add_phone_to(
        self,
        contact: dict[str, Any],
        number: str,
        phone_type: str | None,
        is_primary: bool,
        extension: str | None,
    ) -> dict[str, Any]:
        phones: list[dict[str, Any]] = contact["phones"]
        is_primary = is_primary or not phones
        if is_primary:
            for other in phones:
                other["isPrimary"] = False
        phone = {
            "id": self._new_id(),
            "phoneNumber": number,
            "phoneType": phone_type,
            "isPrimary": is_primary,
            "extension": extension,
        }
        phones.append(phone)
        return phone

    # ----------------------------------------------------------------- invitations

    def _invitation_out(self, invitation: dict[str, Any], expand: bool) -> dict[str, Any]:
        out = dict(invitation)
        if expand:
            contact = self._contacts.get(invitation["contactId"])
            event = self._events.get(invitation["eventId"])
            out["contact"] = self._contact_out(contact) if contact else None
            out["event"] = dict(event) if event else None
        return out

    def _contact_id_field(self, body: _Body) -> str | None:
        contact_id = body.string("contactId", required=True)
        if contact_id and contact_id.strip() and contact_id not in self._contacts:
            body.fail("contactId", f"The contact '{contact_id}' does not exist.")
        return contact_id

    def _invitation_fields(self, body: _Body) -> dict[str, Any]:
        contact_id = self._contact_id_field(body)
        rsvp = body.choice("rsvpStatus", RSVP_STATUSES, required=True)
        attended = body.boolean("attended", required=True)
        is_confirmed = body.boolean("isConfirmed")
        occurrence = body.timestamp("specificOcurrenceStartUtc")
        return {
            "contactId": contact_id,
            "rsvpStatus": rsvp,
            "isConfirmed": is_confirmed,
            "attended": attended,
            "specificOcurrenceStartUtc": format_datetime(occurrence) if occurrence else None,
        }

    def _refuses_duplicate(self, event_id: str, contact_id: str) -> bool:
        """Whether inviting the contact again is refused (per duplicate_invitations)."""
        return (
            self.answers.duplicate_invitations == "refused"
            and (event_id, contact_id) in self._invitation_index
        )

    def _list_invitations(self, request: Request, ids: list[str]) -> Response:
        event_id = ids[0]
        if event_id not in self._events:
            return _error(404, "The event was not found.")
        expand_text = request.arg("expand")
        expand = False
        if expand_text not in (None, ""):
            parsed = parse_bool(expand_text)
            if parsed is None:
                return _error(400, f"The value '{expand_text}' is not valid for expand.")
            expand = parsed
        rows = [self._invitations[i] for i in self._event_invitations.get(event_id, {})]
        return self._list(request, rows, lambda row: self._invitation_out(row, expand))

    def _create_invitation(self, request: Request, ids: list[str]) -> Response:
        event_id = ids[0]
        if event_id not in self._events:
            return _error(404, "The event was not found.")
        body = _Body(request.json())
        fields = self._invitation_fields(body)
        body.check()
        if self._refuses_duplicate(event_id, fields["contactId"]):
            return _error(400, MSG_DUPLICATE_INVITATION)
        invitation: dict[str, Any] = {"id": self._new_id(), "eventId": event_id, **fields}
        self._store_invitation(invitation)
        self._wrote(request)
        return Response(200, dict(invitation))

    def _update_invitation(self, request: Request, ids: list[str]) -> Response:
        event_id, invitation_id = ids
        if event_id not in self._events:
            return _error(404, "The event was not found.")
        invitation = self._invitations.get(invitation_id)
        if invitation is None or invitation["eventId"] != event_id:
            return _error(404, "The invitation was not found.")
        body = _Body(request.json())
        fields = self._put_fields(body, self._invitation_fields(body))
        contact_id = fields.get("contactId", invitation["contactId"])
        if contact_id != invitation["contactId"] and self._refuses_duplicate(event_id, contact_id):
            return _error(400, MSG_DUPLICATE_INVITATION)
        self._unindex_invitation(invitation)
        invitation.update(fields)
        self._index_invitation(invitation)
        self._wrote(request)
        return Response(200, dict(invitation))


# --------------------------------------------------------------------------- CLI


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--api-token", default=DEFAULT_API_TOKEN)
    parser.add_argument(
        "--calendars", default=",".join(DEFAULT_CALENDARS), help="comma-separated calendar names"
    )
    parser.add_argument("--calendar-time-zone", default=DEFAULT_TIME_ZONE)
    parser.add_argument("--token-ttl-seconds", type=float, default=3600)
    parser.add_argument("--max-limit", type=int, default=2000)
    parser.add_argument(
        "--default-limit", type=int, default=100, help="page size when limit is omitted"
    )
    parser.add_argument(
        "--naive-expiration",
        action="store_true",
        help="send ExpirationDate without a zone designator",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the deterministic ids")


def build_app(args: argparse.Namespace) -> PdiApp:
    return PdiApp(
        username=args.username,
        password=args.password,
        api_token=args.api_token,
        calendars=[name.strip() for name in args.calendars.split(",") if name.strip()],
        token_ttl_seconds=args.token_ttl_seconds,
        max_limit=args.max_limit,
        default_limit=args.default_limit,
        naive_expiration=args.naive_expiration,
        seed=args.seed,
        time_zone=args.calendar_time_zone,
        answers=getattr(args, "answer_values", None),
    )


def main(argv: list[str] | None = None) -> None:
    run_cli("PDI sandbox", _add_arguments, build_app, argv, answers_class=PdiAnswers)


if __name__ == "__main__":
    main()
