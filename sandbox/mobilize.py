"""Mobilize API simulator (an ``App`` for ``sandbox._server``).

Serves a generated (``sandbox.datagen``) or loaded dataset for one organization under
``/v1``, reproducing ``mobilize-api.md`` section 7:

* Envelope ``{"data", "count", "next", "previous", "metadata": {...}, "is_custom_domain"}``
  on lists, ``{"data", "metadata"}`` on single objects, ``{"data": null, "error": {...}}``
  (Django REST Framework style) on errors.
* Auth: ``Authorization: Bearer <key>``. Routes that need a key (people, attendances,
  promoted_organizations) answer 403 without one. **Choice:** a header that is present but
  malformed or carries a wrong key is 403 on *every* route, including the optional-auth
  ones (the docs' "malformed, missing or wrong key gives 403"); only an absent header falls
  back to anonymous access. The key grants dashboard permission for ``--org-id`` only:
  other known orgs are served as to an anonymous caller (and 403 on key-only routes).
* Anonymous callers: PRIVATE events excluded (``visibility=PRIVATE`` → 403), statuses other
  than APPROVED → 403, and ``contact``, ``event_campaign``, ``instructions``, timeslot
  ``instructions``, ``virtual_action_url`` and the districts of private addresses are null.
* Lists are in ascending id order (masked attendances, which have no id, keep their place
  between their neighbours). ``per_page`` defaults to 25 and is clamped to
  ``--max-per-page``; ``page`` is accepted.
* **Cursor:** ``next``/``previous`` are absolute URLs built from the request's Host that
  repeat every query parameter of the request (repeated keys and stray parameters too,
  ``page``/``cursor`` excepted) plus ``cursor``: URL-safe base64 of ``a=<key>`` (rows
  after that sort key) or ``b=<key>`` (rows before it). The key is the id (attendances:
  ``id * 1024``, masked rows the following integers). Being keyed rather than positional,
  a followed ``next`` neither repeats nor skips rows when rows are added or removed
  meanwhile. Search-backend results (``zipcode``) are ordered by distance, and their sort
  key is the position.
* A request that repeats a single-valued parameter (``per_page=100&per_page=100``, two
  cursors) or sends the same ``key=value`` pair twice is rejected with 400: that is what a
  client that re-adds its parameters to a ``next`` URL does, and the real API failed it.
* ``updated_since`` compares ``modified_date`` (``deleted_date`` on deleted events), inclusive
  or exclusive per the ``updated_since`` answer below. ``timeslot_start``/``timeslot_end``
  comparison filters trim nested timeslots and drop events left with none.
  ``zipcode``/``max_dist``/``exclude_full``/``tag_id`` use the "search backend": at most
  1000 rows can be paged through, ``results_limited_to: 1000`` is added, and ``count``
  still reports the full total.
* ``/events/deleted``: without ``visibility`` it returns every deleted event the caller
  may see (PUBLIC, plus PRIVATE with the key); PRIVATE without the key is quietly empty.
* ``event_types`` values are matched exactly (comma-joined lists match nothing).

Admin routes (besides the common ones of ``_server``, ``GET|POST /__admin/answers``
included): ``GET /__admin/dataset`` (``?compact=1`` for stub-embedded attendances),
``GET /__admin/counts`` (the dataset's ``expected_counts()``, less the attendances the
answers hide), ``POST /__admin/mutate`` (``{"op": ..., ...}``, see ``_OPS``),
``POST /__admin/load`` (``{"spec": {...}}`` regenerates, ``{"dataset": {...}}`` loads).
Mutations set the touched object's ``modified_date`` to ``max(now, previous + 1)``, where
now is never before the dataset's generation epoch (unless an answer below says they don't);
``garble_person`` alone sets fields as given, for answers the documentation rules out.

Answers to the open questions of ``mobilize-api.md`` section 8 (``MobilizeAnswers``; the
harsh value, hardest for a client, is the default; ``--answers lenient`` gives the other
one; ``--answer NAME=VALUE`` or ``POST /__admin/answers`` sets one; ``HARSH_ANSWERS`` and
``LENIENT_ANSWERS`` are the presets as dicts):

* ``updated_since`` (Q1) ``"inclusive"`` (``>=``) | ``"exclusive"`` (``>``), on every
  ``updated_since`` filter. Harsh: ``"exclusive"``: a client that bookmarks the last
  ``modified_date`` it saw misses rows changed later in that same second.
* ``timeslot_edits_bump_event`` (Q4) ``true`` | ``false``: whether ``add_timeslot``,
  ``update_timeslot`` and ``remove_timeslot`` bump the event's ``modified_date``
  (``update_event`` always does). Harsh: ``false``: an incremental read never sees them.
* ``attended_bumps_attendance`` (Q4) ``true`` | ``false``: whether an ``update_attendance``
  whose only change is ``attended`` bumps the attendance (a status change always does).
  Harsh: ``false``: attendance marking never reaches an incremental read.
* ``deleted_event_attendances`` (Q7) ``"listed"`` | ``"hidden"``: attendances of a deleted
  event are still listed, their embedded event unchanged (still live and APPROVED), or
  vanish from every attendance list (and ``/attendances/{id}`` is 404). Harsh:
  ``"listed"``: the client must notice the deletion elsewhere and cancel them itself.
* ``removed_timeslot_attendances`` (Q7) ``"listed"`` | ``"hidden"``: the same for
  attendances of a timeslot removed by ``remove_timeslot``. Harsh: ``"listed"``.

``GET /__admin/counts`` leaves hidden attendances out of its attendance counts.

Run: ``python -m sandbox.mobilize --port 8001 [--data FILE | --seed N --events N ...]``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import gc
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.datagen import (
    _CITIES,
    ENUMS,
    Dataset,
    DatasetSpec,
    Record,
    add_spec_arguments,
    gc_paused,
    generate,
    spec_from_args,
)
from sandbox.server.answers import Answers, answer
from sandbox.server.cli import run_cli
from sandbox.server.messages import App, Request, Response

DEFAULT_API_KEY = "sandbox-mobilize-key"
DEFAULT_PER_PAGE = 25
SEARCH_LIMIT = 1000
ATTENDANCE_KEY_STEP = 1024  # room for masked attendances between two ids

APPROVAL_STATUSES = ("APPROVED", "NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION")
VISIBILITIES = ("PUBLIC", "PRIVATE")
ATTENDANCE_STATUSES = ("REGISTERED", "CANCELLED", "CONFIRMED")
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
SEARCH_PARAMS = ("zipcode", "max_dist", "exclude_full", "tag_id")
_COMPARISON = re.compile(r"^(gte|gt|lte|lt)_(now|-?\d+)$")
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}
_ZIP_PREFIXES = {city[2]: (city[3], city[4]) for city in _CITIES}

Rows = tuple[list[int], list[Record]]  # sort keys (ascending) and the rows they key


@dataclass
class MobilizeAnswers(Answers):
    """Answers to ``mobilize-api.md`` section 8; each default is the harsh one (see above)."""

    TITLE = "mobilize answers"

    updated_since: str = answer("inclusive", "exclusive", harsh="exclusive", lenient="inclusive")
    timeslot_edits_bump_event: bool = answer(True, False, harsh=False, lenient=True)
    attended_bumps_attendance: bool = answer(True, False, harsh=False, lenient=True)
    deleted_event_attendances: str = answer("listed", "hidden", harsh="listed", lenient="hidden")
    removed_timeslot_attendances: str = answer("listed", "hidden", harsh="listed", lenient="hidden")


HARSH_ANSWERS = MobilizeAnswers.preset("harsh")
LENIENT_ANSWERS = MobilizeAnswers.preset("lenient")


class ApiError(Exception):
    """Answered as ``{"data": null, "error": error}`` with ``status``."""

    def __init__(self, status: int, error: Any) -> None:
        super().__init__(status, error)
        self.status = status
        self.error = error


def _not_found() -> ApiError:
    return ApiError(404, {"detail": "Not found."})


def _forbidden(detail: str = "You do not have permission to perform this action.") -> ApiError:
    return ApiError(403, {"detail": detail})


def _encode_cursor(direction: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}={key}".encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        direction, _, value = raw.partition("=")
        if direction not in ("a", "b"):
            raise ValueError(raw)
        return direction, int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(404, {"detail": "Invalid cursor"}) from exc


def _bump(obj: Record, now: int) -> None:
    obj["modified_date"] = max(now, int(obj.get("modified_date") or 0) + 1)


def _embedded_event(event: Record) -> Record:
    return {**event, "timeslots": None}


class _Params:
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


def _reject_doubled(request: Request) -> None:
    """400 when a parameter is repeated the way a client re-adding its params does."""
    pairs = parse_qsl(request.raw_query, keep_blank_values=True)
    for (key, value), times in Counter(pairs).items():
        if times > 1:
            raise ApiError(400, {key: [f"Parameter {key}={value} is repeated."]})
    for key, times in Counter(key for key, _ in pairs).items():
        if times > 1 and key not in REPEATABLE:
            raise ApiError(400, {key: ["This parameter may only be given once."]})


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
        self.max_per_page = max_per_page
        self.clock = clock
        self.answers = MobilizeAnswers.build(answers)
        self.lock = threading.RLock()
        self._route_table = self._routes()
        self._load(dataset)

    # -- state -----------------------------------------------------------------------------

    def _load(self, dataset: Dataset) -> None:
        with self.lock, gc_paused():
            self._index(dataset)
        # The dataset lives as long as the server: keep it out of every later collection.
        gc.freeze()

    def _index(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.org_id: int = dataset.organization["id"]
        self.orgs = {o["id"]: o for o in dataset.organizations}
        dataset.events.sort(key=lambda e: e["id"])
        dataset.people.sort(key=lambda p: p["id"])
        dataset.deleted_events.sort(key=lambda d: d["id"])
        dataset.organizations.sort(key=lambda o: o["id"])
        self.events = {e["id"]: e for e in dataset.events}
        self.people = {p["id"]: p for p in dataset.people}
        self.private_deleted = set(dataset.private_deleted_event_ids)
        # Attendances: masked rows (no id) keep their place after the row before them;
        # the sort key is id * ATTENDANCE_KEY_STEP, masked rows take the following keys.
        keyed: list[tuple[int, Record]] = []
        last = 0
        for attendance in dataset.attendances:
            if attendance["id"] is not None:
                last = attendance["id"] * ATTENDANCE_KEY_STEP
            else:
                last += 1
            keyed.append((last, attendance))
        keyed.sort(key=lambda pair: pair[0])
        dataset.attendances[:] = [a for _, a in keyed]
        self.attendance_keys = [k for k, _ in keyed]
        self.attendances = {a["id"]: a for a in dataset.attendances if a["id"] is not None}
        self.by_event: dict[int, list[Record]] = defaultdict(list)
        self.by_person: dict[int, list[Record]] = defaultdict(list)
        for attendance in dataset.attendances:
            if attendance["id"] is None:
                continue
            self.by_event[attendance["event"]["id"]].append(attendance)
            self.by_person[attendance["person"]["id"]].append(attendance)
        self.next_ids = {
            "attendance": max(self.attendances, default=5000000),
            "person": max(self.people, default=300000),
            "timeslot": max(
                # Masked timeslots (ids nulled across the firewall) have none to go on from.
                (
                    t["id"]
                    for e in dataset.events
                    for t in e["timeslots"] or ()
                    if t.get("id") is not None
                ),
                default=2000000,
            ),
        }
        self._cache: dict[tuple[Any, ...], Rows] = {}

    def _changed(self) -> None:
        self._cache.clear()

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.answers.update(changes)
            # Cached row lists were filtered under the old answers.
            self._changed()
            return self.answers.as_dict()

    def _since(self, value: int, since: int | None) -> bool:
        """Whether a row dated ``value`` passes ``updated_since=since`` (per the answer)."""
        if since is None:
            return True
        if self.answers.updated_since == "exclusive":
            return value > since
        return value >= since

    def _live_timeslot_ids(self) -> set[int]:
        return {s["id"] for e in self.dataset.events for s in e["timeslots"] or ()}

    def _attendance_listed(self, attendance: Record, live_slots: set[int]) -> bool:
        """False when the answers hide it: its event was deleted or its timeslot removed."""
        event_id = (attendance.get("event") or {}).get("id")
        if event_id is None:
            return True  # masked rows carry no ids: nothing to compare
        if event_id not in self.events:
            return self.answers.deleted_event_attendances == "listed"
        if self.answers.removed_timeslot_attendances == "listed":
            return True
        slot_id = (attendance.get("timeslot") or {}).get("id")
        return slot_id is None or slot_id in live_slots

    def _hides_attendances(self) -> bool:
        return "hidden" in (
            self.answers.deleted_event_attendances,
            self.answers.removed_timeslot_attendances,
        )

    def counts(self) -> dict[str, int]:
        """The dataset's ``expected_counts()`` without the attendances the answers hide."""
        counts = self.dataset.expected_counts()
        if self._hides_attendances():
            live = self._live_timeslot_ids()
            listed = [a for a in self.dataset.attendances if self._attendance_listed(a, live)]
            masked = sum(1 for a in listed if a["id"] is None)
            counts["attendances"] = len(listed) - masked
            counts["masked_attendances"] = masked
        return counts

    def now(self) -> int:
        """Wall-clock now, never before the dataset's generation epoch."""
        return max(int(self.clock()), int(self.dataset.generated_at))

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Rows]) -> Rows:
        rows = self._cache.get(key)
        if rows is None:
            if len(self._cache) > 128:
                self._cache.clear()
            rows = self._cache[key] = build()
        return rows

    # -- request plumbing ------------------------------------------------------------------

    def _routes(self) -> list[tuple[re.Pattern[str], str, Callable[..., Response]]]:
        table: list[tuple[str, Callable[..., Response]]] = [
            ("/v1/organizations", self._organizations),
            ("/v1/organizations/{org}/promoted_organizations", self._promoted),
            ("/v1/organizations/{org}/events", self._org_events),
            ("/v1/organizations/{org}/events/deleted", self._org_deleted),
            ("/v1/organizations/{org}/events/{id}", self._org_event),
            ("/v1/organizations/{org}/events/{id}/attendances", self._event_attendances),
            ("/v1/organizations/{org}/people", self._people),
            ("/v1/organizations/{org}/attendances", self._attendances),
            ("/v1/organizations/{org}/attendances/{id}", self._attendance),
            ("/v1/events", self._public_events),
            ("/v1/events/deleted", self._public_deleted),
            ("/v1/events/{id}", self._public_event),
            ("/v1/enums", self._enums),
        ]
        out = []
        for template, handler in table:
            pattern = re.escape(template).replace(r"\{org\}", r"(?P<org>[^/]+)")
            pattern = pattern.replace(r"\{id\}", r"(?P<id>[^/]+)")
            out.append((re.compile(f"^{pattern}/?$"), template, handler))
        return out

    def handle(self, request: Request) -> Response:
        try:
            for pattern, template, handler in self._route_table:
                match = pattern.match(request.path)
                if match is None:
                    continue
                request.route = f"{request.method} {template}"
                if request.method != "GET":
                    raise ApiError(405, {"detail": f'Method "{request.method}" not allowed.'})
                authed = self._authenticate(request)
                _reject_doubled(request)
                args = {k: self._int_path(v) for k, v in match.groupdict().items()}
                with self.lock:
                    return handler(request, authed, **args)
            raise _not_found()
        except ApiError as exc:
            return Response(exc.status, {"data": None, "error": exc.error})

    def _authenticate(self, request: Request) -> bool:
        header = request.headers.get("Authorization")
        if header is None:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _forbidden("Invalid authorization header.")
        if token.strip() != self.api_key:
            raise _forbidden("Invalid token.")
        return True

    @staticmethod
    def _int_path(value: str) -> int:
        try:
            return int(value)
        except ValueError as exc:
            raise _not_found() from exc

    def _org(self, org: int) -> Record:
        if org not in self.orgs:
            raise _not_found()
        return self.orgs[org]

    def _require_key(self, authed: bool, org: int, request: Request) -> None:
        if not authed:
            raise _forbidden("Authentication credentials were not provided.")
        if org != self.org_id:
            raise _forbidden()

    def _metadata(self, url_name: str) -> dict[str, Any]:
        return {"url_name": url_name, "build_commit": "sandbox", "page_title": None}

    def _single(self, data: Any, url_name: str) -> Response:
        return Response(200, {"data": data, "metadata": self._metadata(url_name)})

    def _page(
        self,
        request: Request,
        rows: Rows,
        url_name: str,
        render: Callable[[Record], Record] = dict,
        limited: bool = False,
    ) -> Response:
        params = _Params(request)
        per_page = params.integer("per_page", minimum=1) or DEFAULT_PER_PAGE
        per_page = min(per_page, self.max_per_page)
        keys, records = rows
        total = len(records)
        if limited:
            keys, records = keys[:SEARCH_LIMIT], records[:SEARCH_LIMIT]
        cursor = params.one("cursor")
        if cursor:
            direction, key = _decode_cursor(cursor)
            if direction == "a":
                start = bisect.bisect_right(keys, key)
            else:
                start = max(0, bisect.bisect_left(keys, key) - per_page)
        else:
            raw_page = params.one("page")
            page = 1
            if raw_page not in (None, ""):
                try:
                    page = int(raw_page or "1")
                except ValueError as exc:
                    raise ApiError(404, {"detail": "Invalid page."}) from exc
            start = (page - 1) * per_page
            if page < 1 or (page > 1 and start >= len(records)):
                raise ApiError(404, {"detail": "Invalid page."})
        end = min(start + per_page, len(records))
        data = [render(r) for r in records[start:end]]
        body: dict[str, Any] = {
            "count": total,
            "next": self._link(request, "a", keys[end - 1]) if end < len(records) else None,
            "previous": self._link(request, "b", keys[start]) if 0 < start < len(records) else None,
            "data": data,
            "metadata": self._metadata(url_name),
            "is_custom_domain": False,
        }
        if limited:
            body["results_limited_to"] = SEARCH_LIMIT
        return Response(200, body)

    @staticmethod
    def _link(request: Request, direction: str, key: int) -> str:
        pairs = [
            (k, v)
            for k, v in parse_qsl(request.raw_query, keep_blank_values=True)
            if k not in ("cursor", "page")
        ]
        pairs.append(("cursor", _encode_cursor(direction, key)))
        return f"{request.base_url}{request.path}?{urlencode(pairs)}"

    # -- organizations ---------------------------------------------------------------------

    def _organizations(self, request: Request, authed: bool) -> Response:
        since = _Params(request).integer("updated_since")

        def build() -> Rows:
            rows = [o for o in self.dataset.organizations if self._since(o["modified_date"], since)]
            return [o["id"] for o in rows], rows

        return self._page(request, self._cached(("orgs", since), build), "public_organizations")

    def _promoted(self, request: Request, authed: bool, org: int) -> Response:
        self._org(org)
        self._require_key(authed, org, request)
        rows = [self.orgs[i] for i in sorted(self.dataset.promoted_organization_ids)]
        return self._page(request, ([o["id"] for o in rows], rows), "promoted_organizations")

    # -- events ----------------------------------------------------------------------------

    def _feed(self, org: int) -> list[Record]:
        """Events in an org's feed: owned, co-owned or promoted (own org: all of them)."""
        if org == self.org_id:
            return self.dataset.events
        return [e for e in self.dataset.events if (e["sponsor"] or {}).get("id") == org]

    def _event_rows(
        self, request: Request, org: int, privileged: bool, deprecated: bool = False
    ) -> tuple[Rows, bool, Callable[[Record], Record]]:
        params = _Params(request)
        now = self.now()
        since = params.integer("updated_since")
        conditions = [
            ("start_date", op, value) for op, value in params.comparisons("timeslot_start", now)
        ] + [("end_date", op, value) for op, value in params.comparisons("timeslot_end", now)]
        if deprecated:
            visibility, approval = ["PUBLIC"], ["APPROVED"]
        else:
            visibility = params.choices("visibility", VISIBILITIES) or ["PUBLIC"]
            approval = params.choices("approval_status", APPROVAL_STATUSES) or ["APPROVED"]
            if not privileged and "PRIVATE" in visibility:
                raise _forbidden("Permission denied for PRIVATE events.")
            if not privileged and any(s != "APPROVED" for s in approval):
                raise _forbidden("Permission denied for unapproved events.")
        event_types = set(params.values("event_types"))
        is_virtual = params.boolean("is_virtual")
        owners = set(params.integers("organization_id"))
        high_priority = params.boolean("high_priority_only")
        campaign = params.integer("event_campaign_id")
        state = (params.one("state") or "").upper()
        tag_ids = set(params.integers("tag_id"))
        exclude_full = params.boolean("exclude_full")
        zipcode = params.one("zipcode")
        max_dist = params.number("max_dist")
        origin = None
        if zipcode:
            origin = _ZIP_PREFIXES.get(zipcode[:3])
            if origin is None or not zipcode.isdigit() or len(zipcode) != 5:
                raise ApiError(400, {"zipcode": ["Enter a valid US zipcode."]})
        limited = any(params.one(name) not in (None, "") for name in SEARCH_PARAMS)

        def slot_ok(slot: Record) -> bool:
            return all(_OPERATORS[op](slot[field], value) for field, op, value in conditions)

        def build() -> Rows:
            rows = []
            for event in self._feed(org):
                if event["visibility"] not in visibility:
                    continue
                if event["approval_status"] not in approval:
                    continue
                if not self._since(event["modified_date"], since):
                    continue
                if event_types and event["event_type"] not in event_types:
                    continue
                if is_virtual is not None and event["is_virtual"] != is_virtual:
                    continue
                if owners and (event["sponsor"] or {}).get("id") not in owners:
                    continue
                if high_priority and not event["high_priority"]:
                    continue
                if campaign is not None and (event["event_campaign"] or {}).get("id") != campaign:
                    continue
                if state and (event["location"] or {}).get("region") != state:
                    continue
                if tag_ids and not tag_ids & {t["id"] for t in event["tags"] or ()}:
                    continue
                slots = event["timeslots"] or []
                if conditions and not any(slot_ok(s) for s in slots):
                    continue
                if exclude_full and slots and all(s["is_full"] for s in slots):
                    continue
                rows.append(event)
            if origin is None:
                return [e["id"] for e in rows], rows
            distances = [(self._distance(origin, e), e["id"], e) for e in rows]
            if max_dist is not None:
                distances = [d for d in distances if d[0] <= max_dist]
            distances.sort(key=lambda d: (d[0], d[1]))
            return list(range(len(distances))), [d[2] for d in distances]

        key = (
            "events",
            org,
            since,
            tuple(conditions),
            tuple(sorted(visibility)),
            tuple(sorted(approval)),
            tuple(sorted(event_types)),
            is_virtual,
            tuple(sorted(owners)),
            high_priority,
            campaign,
            state,
            tuple(sorted(tag_ids)),
            exclude_full,
            zipcode,
            max_dist,
        )
        rows = self._cached(key, build)

        def render(event: Record) -> Record:
            owned_view = privileged and (not deprecated or event["sponsor"]["id"] == self.org_id)
            return self._render_event(event, owned_view, slot_ok if conditions else None)

        return rows, limited, render

    @staticmethod
    def _distance(origin: tuple[float, float], event: Record) -> float:
        coords = (event["location"] or {}).get("location")
        if not coords or coords.get("latitude") is None:
            return math.inf
        lat1, lon1 = map(math.radians, origin)
        lat2, lon2 = math.radians(coords["latitude"]), math.radians(coords["longitude"])
        a = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 3958.8 * 2 * math.asin(math.sqrt(a))

    @staticmethod
    def _render_event(
        event: Record, privileged: bool, slot_ok: Callable[[Record], bool] | None = None
    ) -> Record:
        out = dict(event)
        slots = event["timeslots"]
        if slots is not None and slot_ok is not None:
            slots = [s for s in slots if slot_ok(s)]
        if not privileged:
            out["contact"] = None
            out["event_campaign"] = None
            out["instructions"] = None
            out["virtual_action_url"] = None
            if slots is not None:
                slots = [{**s, "instructions": None} for s in slots]
            location = event["location"]
            if location is not None and event["address_visibility"] == "PRIVATE":
                out["location"] = {
                    **location,
                    "address_lines": [location["address_lines"][0], ""],
                    "congressional_district": None,
                    "state_leg_district": None,
                    "state_senate_district": None,
                }
        out["timeslots"] = slots
        return out

    def _org_events(self, request: Request, authed: bool, org: int) -> Response:
        self._org(org)
        privileged = authed and org == self.org_id
        rows, limited, render = self._event_rows(request, org, privileged)
        return self._page(request, rows, "public_organization_events", render, limited)

    def _public_events(self, request: Request, authed: bool) -> Response:
        rows, limited, render = self._event_rows(request, self.org_id, authed, deprecated=True)
        return self._page(request, rows, "public_events", render, limited)

    def _visible_event(self, event_id: int, org: int | None, privileged: bool) -> Record:
        event = self.events.get(event_id)
        if event is None:
            raise _not_found()
        if org is not None and org != self.org_id and event["sponsor"]["id"] != org:
            raise _not_found()
        if not privileged and (
            event["visibility"] != "PUBLIC" or event["approval_status"] != "APPROVED"
        ):
            raise _not_found()
        return event

    def _org_event(self, request: Request, authed: bool, org: int, id: int) -> Response:
        self._org(org)
        privileged = authed and org == self.org_id
        event = self._visible_event(id, org, privileged)
        return self._single(self._render_event(event, privileged), "public_organization_event")

    def _public_event(self, request: Request, authed: bool, id: int) -> Response:
        event = self._visible_event(id, None, False)
        owned_view = authed and event["sponsor"]["id"] == self.org_id
        return self._single(self._render_event(event, owned_view), "public_event")

    def _deleted_rows(self, request: Request, org: int, privileged: bool) -> Rows:
        params = _Params(request)
        since = params.integer("updated_since")
        visibility = params.choices("visibility", VISIBILITIES) or list(VISIBILITIES)
        allowed = set(visibility) if privileged else set(visibility) & {"PUBLIC"}

        def build() -> Rows:
            if org != self.org_id:
                return [], []
            rows = [
                d
                for d in self.dataset.deleted_events
                if self._since(d["deleted_date"], since)
                and ("PRIVATE" if d["id"] in self.private_deleted else "PUBLIC") in allowed
            ]
            return [d["id"] for d in rows], rows

        return self._cached(("deleted", org, since, tuple(sorted(allowed))), build)

    def _org_deleted(self, request: Request, authed: bool, org: int) -> Response:
        self._org(org)
        rows = self._deleted_rows(request, org, authed and org == self.org_id)
        return self._page(request, rows, "public_organization_deleted_events")

    def _public_deleted(self, request: Request, authed: bool) -> Response:
        rows = self._deleted_rows(request, self.org_id, authed)
        return self._page(request, rows, "public_deleted_events")

    # -- people and attendances ------------------------------------------------------------

    def _people(self, request: Request, authed: bool, org: int) -> Response:
        self._org(org)
        self._require_key(authed, org, request)
        since = _Params(request).integer("updated_since")

        def build() -> Rows:
            rows = [p for p in self.dataset.people if self._since(p["modified_date"], since)]
            return [p["id"] for p in rows], rows

        return self._page(request, self._cached(("people", since), build), "organization_people")

    def _attendances(self, request: Request, authed: bool, org: int) -> Response:
        self._org(org)
        self._require_key(authed, org, request)
        since = _Params(request).integer("updated_since")

        def build() -> Rows:
            hides = self._hides_attendances()
            if since is None and not hides:
                return self.attendance_keys, self.dataset.attendances
            live = self._live_timeslot_ids() if hides else set()
            keys, rows = [], []
            for key, attendance in zip(self.attendance_keys, self.dataset.attendances, strict=True):
                if not self._since(attendance["modified_date"], since):
                    continue
                if hides and not self._attendance_listed(attendance, live):
                    continue
                keys.append(key)
                rows.append(attendance)
            return keys, rows

        rows = self._cached(("attendances", since), build)
        return self._page(request, rows, "organization_attendances")

    def _attendance(self, request: Request, authed: bool, org: int, id: int) -> Response:
        self._org(org)
        self._require_key(authed, org, request)
        attendance = self.attendances.get(id)
        if attendance is None:
            raise _not_found()
        if self._hides_attendances():
            event = self.events.get(attendance["event"]["id"]) or {}
            live = {s["id"] for s in event.get("timeslots") or ()}
            if not self._attendance_listed(attendance, live):
                raise _not_found()
        return self._single(dict(attendance), "organization_attendance")

    def _event_attendances(self, request: Request, authed: bool, org: int, id: int) -> Response:
        self._org(org)
        self._require_key(authed, org, request)
        event = self._visible_event(id, org, True)
        rows = self.by_event.get(id, [])
        if self._hides_attendances():
            live = {s["id"] for s in event["timeslots"] or ()}
            rows = [a for a in rows if self._attendance_listed(a, live)]
        return self._page(
            request, ([a["id"] for a in rows], rows), "organization_event_attendances"
        )

    def _enums(self, request: Request, authed: bool) -> Response:
        return self._single(ENUMS, "enums")

    # -- admin -----------------------------------------------------------------------------

    def admin(self, request: Request) -> Response | None:
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/__admin/dataset"):
            compact = request.arg("compact", "") not in ("", "0", "false")
            with self.lock:
                # Copies of the top-level records: encoding happens after the lock is
                # released, and mutations replace nested objects rather than edit them.
                data = self.dataset.to_dict(compact)
                for name in ("organizations", "events", "people", "attendances"):
                    data[name] = [dict(r) for r in data[name]]
                for name in ("deleted_events", "private_deleted_event_ids"):
                    data[name] = list(data[name])
                data["organization"] = dict(data["organization"])
            return Response(200, data)
        if route == ("GET", "/__admin/counts"):
            with self.lock:
                return Response(200, self.counts())
        if route == ("POST", "/__admin/mutate"):
            body = request.json()
            if not isinstance(body, dict) or body.get("op") not in _OPS:
                return Response(400, {"message": f"op must be one of {sorted(_OPS)}"})
            try:
                with self.lock:
                    result = _OPS[body["op"]](self, body)
                    self._changed()
            except (KeyError, ValueError, TypeError) as exc:
                return Response(400, {"message": f"{body['op']}: {exc!r}"})
            return Response(200, result)
        if route == ("POST", "/__admin/load"):
            body = request.json() or {}
            try:
                if "dataset" in body:
                    dataset = Dataset.from_dict(body["dataset"])
                else:
                    dataset = generate(DatasetSpec(**body.get("spec", {})))
            except (KeyError, TypeError, ValueError) as exc:
                return Response(400, {"message": f"cannot load: {exc!r}"})
            self._load(dataset)
            return Response(200, dataset.expected_counts())
        return None

    # -- mutations (called with the lock held) ---------------------------------------------

    def _event(self, event_id: Any) -> Record:
        event = self.events.get(event_id)
        if event is None:
            raise KeyError(f"no event {event_id}")
        return event

    def _person(self, person_id: Any) -> Record:
        person = self.people.get(person_id)
        if person is None:
            raise KeyError(f"no person {person_id}")
        return person

    def _refresh_event_copies(self, event: Record) -> None:
        embedded = _embedded_event(event)
        for attendance in self.by_event.get(event["id"], ()):
            attendance["event"] = embedded

    def _refresh_timeslot_copies(self, event: Record) -> None:
        slots = {s["id"]: s for s in event["timeslots"] or ()}
        for attendance in self.by_event.get(event["id"], ()):
            slot = slots.get(attendance["timeslot"]["id"])
            if slot is not None:
                attendance["timeslot"] = slot

    def _timeslot_edited(self, event: Record) -> None:
        if self.answers.timeslot_edits_bump_event:
            _bump(event, self.now())
        self._refresh_event_copies(event)

    def op_add_attendance(self, body: Record) -> Record:
        person = self._person(body["person_id"])
        event = self._event(body["event_id"])
        slot = next((s for s in event["timeslots"] or () if s["id"] == body["timeslot_id"]), None)
        if slot is None:
            raise KeyError(f"no timeslot {body['timeslot_id']} in event {event['id']}")
        status = body.get("status") or "REGISTERED"
        if status not in ATTENDANCE_STATUSES:
            raise ValueError(f"status must be one of {ATTENDANCE_STATUSES}")
        self.next_ids["attendance"] += 1
        attendance_id = self.next_ids["attendance"]
        now = self.now()
        owned = event["sponsor"]["id"] == self.org_id
        attendance: Record = {
            "id": attendance_id,
            "created_date": now,
            "modified_date": now,
            "person": dict(person),
            "event": _embedded_event(event),
            "timeslot": slot,
            "sponsor": self.dataset.organization,
            "status": status,
            "attended": None,
            "referrer": dict.fromkeys(
                ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "url")
            )
            if owned
            else None,
            "custom_signup_field_values": [] if owned else None,
            "rating": None,
            "feedback": None,
        }
        self.dataset.attendances.append(attendance)
        self.attendance_keys.append(
            max(attendance_id * ATTENDANCE_KEY_STEP, self.attendance_keys[-1] + 1)
            if self.attendance_keys
            else attendance_id * ATTENDANCE_KEY_STEP
        )
        self.attendances[attendance_id] = attendance
        self.by_event[event["id"]].append(attendance)
        self.by_person[person["id"]].append(attendance)
        return attendance

    def op_update_attendance(self, body: Record) -> Record:
        attendance = self.attendances.get(body["id"])
        if attendance is None:
            raise KeyError(f"no attendance {body['id']}")
        if "status" in body and body["status"] not in ATTENDANCE_STATUSES:
            raise ValueError(f"status must be one of {ATTENDANCE_STATUSES}")
        if "attended" in body and body["attended"] not in (True, False, None):
            raise ValueError("attended must be true, false or null")
        status_changed = "status" in body and body["status"] != attendance["status"]
        attended_changed = "attended" in body and body["attended"] != attendance["attended"]
        attendance.update({k: body[k] for k in ("status", "attended") if k in body})
        only_attended = attended_changed and not status_changed
        if not only_attended or self.answers.attended_bumps_attendance:
            _bump(attendance, self.now())
        return attendance

    def op_update_event(self, body: Record) -> Record:
        event = self._event(body["id"])
        fields = dict(body.get("fields") or {})
        forbidden = {"id", "timeslots", "modified_date"} & set(fields)
        if forbidden:
            raise ValueError(f"cannot set {sorted(forbidden)} (use the timeslot ops)")
        event.update(fields)
        _bump(event, self.now())
        self._refresh_event_copies(event)
        return event

    def op_add_timeslot(self, body: Record) -> Record:
        event = self._event(body["event_id"])
        start, end = int(body["start_date"]), int(body["end_date"])
        if end < start:
            raise ValueError("end_date before start_date")
        self.next_ids["timeslot"] += 1
        slot = {
            "id": self.next_ids["timeslot"],
            "start_date": start,
            "end_date": end,
            "is_full": bool(body.get("is_full", False)),
            "instructions": body.get("instructions", "")
            if event["sponsor"]["id"] == self.org_id
            else None,
        }
        event["timeslots"] = [*(event["timeslots"] or ()), slot]  # copy-on-write
        self._timeslot_edited(event)
        return event

    def op_update_timeslot(self, body: Record) -> Record:
        event = self._event(body["event_id"])
        fields = dict(body.get("fields") or {})
        if "id" in fields:
            raise ValueError("cannot change a timeslot id")
        slots = list(event["timeslots"] or ())
        for index, slot in enumerate(slots):
            if slot["id"] == body["timeslot_id"]:
                slots[index] = {**slot, **fields}
                break
        else:
            raise KeyError(f"no timeslot {body['timeslot_id']} in event {event['id']}")
        event["timeslots"] = slots
        self._timeslot_edited(event)
        self._refresh_timeslot_copies(event)
        return event

    def op_remove_timeslot(self, body: Record) -> Record:
        event = self._event(body["event_id"])
        slots = [s for s in event["timeslots"] or () if s["id"] != body["timeslot_id"]]
        if len(slots) == len(event["timeslots"] or ()):
            raise KeyError(f"no timeslot {body['timeslot_id']} in event {event['id']}")
        event["timeslots"] = slots
        # The attendances of the removed timeslot keep their copy of it (listed or hidden
        # per the removed_timeslot_attendances answer).
        self._timeslot_edited(event)
        return event

    def op_delete_event(self, body: Record) -> Record:
        event = self._event(body["id"])
        del self.events[event["id"]]
        self.dataset.events.remove(event)
        deleted = {"id": event["id"], "deleted_date": self.now()}
        bisect.insort(self.dataset.deleted_events, deleted, key=lambda d: d["id"])
        if event["visibility"] == "PRIVATE":
            self.private_deleted.add(event["id"])
            self.dataset.private_deleted_event_ids.append(event["id"])
        # Attendances of a deleted event keep their copy of it (the API has no
        # deleted-attendance signal); listed or hidden per deleted_event_attendances.
        return deleted

    def op_add_person(self, body: Record) -> Record:
        self.next_ids["person"] += 1
        person_id = self.next_ids["person"]
        now = self.now()
        email = body.get("email")
        person = {
            "id": person_id,
            "person_id": None,  # "to be deprecated and null for new persons"
            "user_id": person_id + 7606,
            "created_date": now,
            "modified_date": now,
            "given_name": str(body["given_name"]),
            "family_name": str(body["family_name"]),
            "email_addresses": [{"primary": True, "address": email}] if email else [],
            "phone_numbers": [{"primary": True, "number": body["phone"]}]
            if body.get("phone")
            else [],
            "postal_addresses": [{"primary": True, "postal_code": body["postal_code"]}]
            if body.get("postal_code")
            else [],
            "sms_opt_in_status": body.get("sms_opt_in_status", "UNSPECIFIED"),
            "blocked_date": None,
        }
        self.dataset.people.append(person)
        self.people[person_id] = person
        return person

    def op_update_person(self, body: Record) -> Record:
        person = self._person(body["id"])
        fields = dict(body.get("fields") or {})
        if {"id", "modified_date"} & set(fields):
            raise ValueError("cannot set id or modified_date")
        person.update(fields)
        _bump(person, self.now())
        for attendance in self.by_person.get(person["id"], ()):
            attendance["person"] = dict(person)
        return person

    def op_garble_person(self, body: Record) -> Record:
        """Set a person's fields exactly as given, ``modified_date`` included, unchecked and
        unbumped (their signups' copies untouched): how a test makes Mobilize answer what its
        documentation rules out, e.g. a ``modified_date`` that is no timestamp."""
        person = self._person(body["id"])
        fields = dict(body.get("fields") or {})
        if "id" in fields:
            raise ValueError("cannot set id")
        person.update(fields)
        return person


_OPS: dict[str, Callable[[MobilizeApp, Record], Record]] = {
    "add_attendance": MobilizeApp.op_add_attendance,
    "update_attendance": MobilizeApp.op_update_attendance,
    "update_event": MobilizeApp.op_update_event,
    "add_timeslot": MobilizeApp.op_add_timeslot,
    "update_timeslot": MobilizeApp.op_update_timeslot,
    "remove_timeslot": MobilizeApp.op_remove_timeslot,
    "delete_event": MobilizeApp.op_delete_event,
    "add_person": MobilizeApp.op_add_person,
    "update_person": MobilizeApp.op_update_person,
    "garble_person": MobilizeApp.op_garble_person,
}


def build_app(args: argparse.Namespace) -> MobilizeApp:
    if args.data is not None:
        dataset = Dataset.from_json(Path(args.data).read_bytes())
    else:
        dataset = generate(spec_from_args(args))
    return MobilizeApp(
        dataset,
        api_key=args.api_key,
        max_per_page=args.max_per_page,
        answers=getattr(args, "answer_values", None),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, help="dataset JSON from sandbox.datagen --out")
    add_spec_arguments(parser)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--max-per-page", type=int, default=1000, help="larger per_page: clamped")
    # Mobilize allows 15 GET/s per client; the common flag's default (no limit) is overridden.
    parser.set_defaults(rate_limit=15)


def main(argv: Iterable[str] | None = None) -> None:
    run_cli(
        "Mobilize API simulator",
        add_arguments,
        build_app,
        None if argv is None else list(argv),
        answers_class=MobilizeAnswers,
    )


if __name__ == "__main__":
    main()
