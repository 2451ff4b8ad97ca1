"""PDI HTTP client: session auth, paging, retries, rate limit, lost-create safety.

Thread-safe: one `requests.Session` per thread (Session is not documented as thread-safe),
one shared adaptive rate (`max_requests_per_second` is its ceiling) and one bearer token
guarded by a lock.

Failures are sorted by what can escape them. A 429 is PDI's normal way of saying "slower":
it never uses up a request's retries, the run's time budget bounds it instead. A 5xx or a
dropped connection while PDI answers other requests is this request's own failure, retried
`max_retries` times and then the record's (RequestFailed, dead-lettered). The same while PDI
answers nobody is an outage: waited out without counting, fatal after `outage_seconds`.
When most writes fail (say every record answers 400 after a PDI change), the run stops.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import requests

from target_pdi.errors import (
    APIUnavailableError,
    AuthenticationError,
    ConfigurationError,
    RecordRejected,
    RequestFailed,
    Stopped,
    TimeBudgetSpent,
)
from target_pdi.rate import AdaptiveRate
from target_pdi.redact import redact, register_secret

LOGGER = logging.getLogger("target-pdi")

PAGE_LIMIT = 2000  # PDI's documented maximum page size (Parsons LIMIT_MAX)
BODY_LIMIT = 2000  # characters of a response body kept in errors / dead letters

# Errors after which we cannot know whether the server acted on the request.
_LOST = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

FindExisting = Callable[[], Mapping[str, Any] | None]


class _Outcome(Enum):
    ANSWERED = "answered"  # an answer below 500 other than 429: the caller reads it
    THROTTLED = "throttled"  # 429: try again once the shared pause is over
    FAILED = "failed"  # 5xx or no answer, waited for: try again
    EXHAUSTED = "exhausted"  # the request's own failures are past max_retries


@dataclass
class _Tries:
    """One request's count of its own failures, and of its waits through an outage."""

    failures: int = 0
    waits: int = 0


# Set on SIGTERM: no request starts after it, the ones in flight finish (see TargetPDI.invoke).
STOP = threading.Event()
STOPPED_MESSAGE = (
    "SIGTERM received: the requests in flight were finished and the id map saved; no bookmark "
    "was saved past an unwritten record, so the next run goes on from the last one"
)


def parse_expiration(value: Any, now: datetime) -> datetime:
    """`ExpirationDate` as an aware UTC datetime.

    PDI's format is undocumented: accept Z/offset, naive (= UTC, as newer Parsons does), date-only
    ("2100-01-01" in Parsons' mock) and .NET's 7 fractional digits. Missing/unparseable -> 1 hour,
    the lifetime a third-party client reports.
    """
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        # Python 3.11 accepts at most 6 fractional digits.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return now + timedelta(hours=1)


# The run stops when this many of the last WRITE_WINDOW writes failed: no later record can
# escape what makes nearly every write fail.
WRITE_WINDOW = 50
WRITE_FAILURES_FATAL = 45
# Longest wait between two tries while PDI answers nobody, so the run resumes soon after.
OUTAGE_PAUSE_MAX = 10.0


class PDIClient:
    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        api_token: str,
        *,
        max_requests_per_second: float = 20,
        pool_size: int = 8,
        timeout: float = 30,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30,
        outage_seconds: float = 600,
        time_budget_seconds: float = 14400,
        read_only: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        missing = [
            n
            for n, v in (("username", username), ("password", password), ("api_token", api_token))
            if not v
        ]
        if missing:
            raise ConfigurationError(f"missing PDI credentials: set {', '.join(missing)}")
        for secret in (password, api_token):
            register_secret(secret)
        self.base_url = api_url.rstrip("/")
        self._credentials = {"Username": username, "Password": password, "ApiToken": api_token}
        self.rate = AdaptiveRate(max_requests_per_second, clock=clock, sleep=sleep)
        self._pool_size = max(1, pool_size)
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self.read_only = read_only
        self._sleep = sleep
        self._now = now
        self._clock = clock
        self._outage_seconds = outage_seconds
        self._deadline = clock() + time_budget_seconds
        self._budget = time_budget_seconds
        self._health_lock = threading.Lock()
        self._last_answer = clock()  # when PDI last answered anyone (any status below 500)
        self._writes: deque[bool] = deque(maxlen=WRITE_WINDOW)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._renew_at: datetime | None = None
        self._count_lock = threading.Lock()
        self.requests_by_method: Counter[str] = Counter()
        self.logins = 0

    # --- plumbing ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # max_retries=0: urllib3 must never silently re-send a POST; we decide (see create()).
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=1, pool_maxsize=2, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {"Content-Type": "application/json", "Accept": "application/json"}
            )
            self._local.session = session
            with self._count_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._count_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _count(self, method: str) -> None:
        with self._count_lock:
            self.requests_by_method[method] += 1

    def _backoff(self, attempt: int) -> float:
        # Exponential backoff with full jitter: spreads concurrent retries apart.
        ceiling = min(self._backoff_max, self._backoff_base * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._now()).total_seconds())

    @staticmethod
    def _body_text(response: requests.Response) -> str:
        try:
            text = response.text
        except Exception:  # a broken body must not hide the status
            text = ""
        return redact(text, limit=BODY_LIMIT)

    # --- authentication ------------------------------------------------------------------------

    def login(self) -> None:
        """POST /sessions. Bad credentials -> AuthenticationError (fatal); outages are retried."""
        url = f"{self.base_url}/sessions"
        tries = _Tries()
        while True:
            episode, sent_at, response, reason = self._send_paced(
                "PDI login", "POST", url, data=json.dumps(self._credentials), timeout=self._timeout
            )
            outcome = self._settle(tries, episode, sent_at, response)
            if outcome is _Outcome.EXHAUSTED:
                raise APIUnavailableError(
                    f"PDI login: {reason} {tries.failures} times from {self.base_url}; "
                    "check setting api_url"
                )
            if outcome is not _Outcome.ANSWERED:
                continue
            assert response is not None
            status = response.status_code
            if status >= 400:
                raise AuthenticationError(
                    f"PDI login failed (HTTP {status}): check settings username, password and "
                    f"api_token (api_url={self.base_url})"
                )
            try:
                body = response.json()
            except ValueError:
                body = None
            lowered = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
            token = lowered.get("accesstoken")
            if not isinstance(token, str) or not token:
                raise AuthenticationError(
                    f"PDI login answered HTTP {status} without an AccessToken; "
                    "check setting api_url"
                )
            register_secret(token)
            now = self._now()
            expires = parse_expiration(lowered.get("expirationdate"), now)
            ttl = max(0.0, (expires - now).total_seconds())
            # Renew shortly before expiry: 60 s early, or 10% of a short lifetime.
            self._token = token
            self._renew_at = expires - timedelta(seconds=min(60.0, ttl * 0.1))
            self.logins += 1
            LOGGER.info(
                "Logged in to PDI at %s (token valid until %s)", self.base_url, expires.isoformat()
            )
            return

    def _bearer(self) -> str:
        with self._token_lock:
            if self._token is None or self._renew_at is None or self._now() >= self._renew_at:
                self.login()
            assert self._token is not None
            return self._token

    def _renew_after_401(self, used: str) -> None:
        with self._token_lock:
            # Another thread may have renewed already: only log in if our token is still current.
            if self._token == used:
                self._token = None
                self.login()

    # --- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        find_existing: FindExisting | None = None,
    ) -> Any:
        """Send one request with retries; return the parsed JSON body (None when empty).

        `find_existing` (POST only): when a create's answer is lost (timeout, dropped connection,
        5xx), the object may exist already. We look it up first and only POST again when it is not
        found, so a lost answer never becomes a duplicate.
        """
        method = method.upper()
        if self.read_only and method != "GET":
            raise RuntimeError(f"dry run: refusing {method} {path}")
        url = f"{self.base_url}{path}"
        tries = _Tries()
        renewed = False
        while True:
            token = self._bearer()
            episode, sent_at, response, reason = self._send_paced(
                f"{method} {path}",
                method,
                url,
                params=dict(params) if params else None,
                data=json.dumps(body) if body is not None else None,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            )
            outcome = self._settle(tries, episode, sent_at, response)
            if outcome is _Outcome.EXHAUSTED:
                raise self._gave_up(method, path, tries.failures, reason, response)
            if outcome is _Outcome.FAILED:
                # A 5xx or a lost answer to a create may still have created the object.
                found = self._lookup_lost(method, path, find_existing, reason)
                if found is not None:
                    return found
                continue
            if outcome is _Outcome.THROTTLED:
                continue
            assert response is not None
            status = response.status_code
            self.rate.on_success()
            if status == 401 and not renewed:
                renewed = True
                self._renew_after_401(token)
                continue
            if status in (401, 403):
                raise AuthenticationError(
                    f"{method} {path}: PDI refused the session (HTTP {status}); check settings "
                    "username, password and api_token and the account's permissions"
                )
            if status >= 400:
                text = self._body_text(response)
                # A 404 (stale id) and a 409 (already there) are answers the sync heals from.
                self._note_write(method, ok=status in (404, 409), reason=f"HTTP {status}")
                raise RecordRejected(
                    f"{method} {path}: HTTP {status}: {text[:300]}", http_status=status, body=text
                )
            self._note_write(method, ok=True, reason="")
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                return None

    # --- failure policy ------------------------------------------------------------------------

    def _send_paced(
        self, what: str, method: str, url: str, **kwargs: Any
    ) -> tuple[int, float, requests.Response | None, str]:
        """One attempt at the shared rate: its rate episode, when it was sent, the answer (or
        None) and what it was."""
        self._check_budget(what)
        episode = self.rate.acquire()
        sent_at = self._clock()
        self._count(method)
        response, reason = self._send(method, url, **kwargs)
        return episode, sent_at, response, reason

    def _settle(
        self, tries: _Tries, episode: int, sent_at: float, response: requests.Response | None
    ) -> _Outcome:
        """What an attempt's answer means, with the waiting it calls for already done.

        A 429 pauses the shared rate and uses up no try ("not processed"). A 5xx or no answer
        is this request's own failure while PDI answers others (retried `max_retries` times),
        or an outage, waited out without counting (see `_own_failure`)."""
        status = response.status_code if response is not None else None
        if status == 429:
            assert response is not None
            self._answered()
            self.rate.on_throttled(episode, self._retry_after(response))
            return _Outcome.THROTTLED
        if status is None or status >= 500:
            if self._own_failure(sent_at):
                tries.failures += 1
                if tries.failures > self._max_retries:
                    return _Outcome.EXHAUSTED
                self._sleep(self._backoff(tries.failures))
            else:
                tries.waits += 1
                self._sleep(min(OUTAGE_PAUSE_MAX, self._backoff(tries.waits)))
            return _Outcome.FAILED
        self._answered()
        return _Outcome.ANSWERED

    def _send(self, method: str, url: str, **kwargs: Any) -> tuple[requests.Response | None, str]:
        """The answer, or None and why there was none."""
        try:
            response = self._session().request(method, url, **kwargs)
        except _LOST as exc:
            return None, f"no answer ({type(exc).__name__})"
        return response, f"HTTP {response.status_code}"

    def _answered(self) -> None:
        with self._health_lock:
            self._last_answer = self._clock()

    def _check_budget(self, what: str) -> None:
        if STOP.is_set():
            raise Stopped(STOPPED_MESSAGE)
        if self._clock() > self._deadline:
            raise TimeBudgetSpent(
                f"{what}: the run's time budget of {self._budget:.0f} s is spent "
                "(setting time_budget_seconds); the next run goes on from the last bookmark"
            )

    def _own_failure(self, sent_at: float) -> bool:
        """Whether a 5xx or lost answer is this request's own, or PDI answers nobody (False).

        PDI answered someone since this request was sent, or answers a probe now: it is up, so
        the failure counts against this request's retries. Otherwise it is an outage, waited
        out without counting, and fatal once PDI has been silent for `outage_seconds`.
        """
        with self._health_lock:
            if self._last_answer >= sent_at:
                return True
        if self._probe():
            return True
        with self._health_lock:
            silent = self._clock() - self._last_answer
        if silent > self._outage_seconds:
            raise APIUnavailableError(
                f"PDI at {self.base_url} answered nothing for {silent:.0f} s (longer than "
                f"setting outage_seconds={self._outage_seconds:.0f}); the next run goes on "
                "from the last bookmark"
            )
        return False

    def _probe(self) -> bool:
        """One cheap GET: any answer below 500 (a 401 included) shows PDI is up."""
        self.rate.acquire()
        self._count("GET")
        token = self._token
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response, _ = self._send(
            "GET",
            f"{self.base_url}/calendars",
            params={"limit": 1},
            headers=headers,
            timeout=self._timeout,
        )
        if response is None or response.status_code >= 500:
            return False
        self._answered()
        return True

    def _gave_up(
        self,
        method: str,
        path: str,
        failures: int,
        reason: str,
        response: requests.Response | None,
    ) -> RecordRejected:
        text = self._body_text(response) if response is not None else ""
        message = f"{method} {path}: {reason} {failures} times while PDI answered other requests"
        self._note_write(method, ok=False, reason=reason)
        return RequestFailed(
            message,
            http_status=response.status_code if response is not None else None,
            body=text,
        )

    def _note_write(self, method: str, *, ok: bool, reason: str) -> None:
        """Stop the run when nearly every recent write failed: no later record escapes that."""
        if method == "GET":
            return
        with self._health_lock:
            self._writes.append(ok)
            failed = self._writes.count(False)
        if failed >= WRITE_FAILURES_FATAL:
            raise APIUnavailableError(
                f"{failed} of the last {WRITE_WINDOW} PDI writes failed (last: {reason}); "
                "stopping so the failures can be looked at (see the dead letters)"
            )

    def _lookup_lost(
        self, method: str, path: str, find_existing: FindExisting | None, reason: str
    ) -> Mapping[str, Any] | None:
        if method != "POST" or find_existing is None:
            return None  # GET/PUT are idempotent: re-sending is safe
        found = find_existing()
        LOGGER.info(
            "POST %s: answer lost (%s); lookup %s",
            path,
            reason,
            "found it, not re-sending" if found else "found nothing, re-sending",
        )
        return found

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=dict(body))

    def create(
        self, path: str, body: Mapping[str, Any], find_existing: FindExisting | None
    ) -> Mapping[str, Any]:
        result = self.request("POST", path, body=dict(body), find_existing=find_existing)
        return result if isinstance(result, Mapping) else {}

    def list_page(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int, cursor: int = 1
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of a list endpoint: its rows and PDI's `totalCount` (None if not given)."""
        page = self.get(path, {**(params or {}), "limit": limit, "cursor": cursor})
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

    def list_all(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = PAGE_LIMIT
    ) -> list[dict[str, Any]]:
        """Every row of a list endpoint.

        Fixed `limit`, 1-based `cursor` until `totalCount` is reached
        (or an empty page: a shrinking list must not loop forever)."""
        rows: list[dict[str, Any]] = []
        cursor = 1
        while True:
            data, total = self.list_page(path, params, limit=limit, cursor=cursor)
            rows.extend(data)
            if not data:
                return rows
            if total is not None:
                if len(rows) >= total:
                    return rows
            elif len(data) < limit:
                return rows
            cursor += 1


def object_id(obj: Mapping[str, Any] | None) -> str | None:
    """PDI ids are opaque strings (sometimes ints): normalise to str."""
    if not obj:
        return None
    for key in ("id", "Id", "ID"):
        value = obj.get(key)
        if value not in (None, ""):
            return str(value)
    return None
