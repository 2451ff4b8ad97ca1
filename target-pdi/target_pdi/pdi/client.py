"""PDI HTTP client: session auth, paging, the lost-create lookup; retries and pace from `pacing`.

Thread-safe: one `requests.Session` per thread (Session is not documented as thread-safe),
one shared adaptive rate (`max_requests_per_second` is its ceiling) and one bearer token
(`PDISessionAuth`) guarded by a lock.

Failures are sorted by what can escape them (`pacing.Retries`, on tenacity). A 429 is PDI's
normal way of saying "slower": it never uses up a request's retries, the run's time budget
bounds it instead. A 5xx or a dropped connection while PDI answers other requests is this
request's own failure, retried `max_retries` times and then the record's (RequestFailed,
dead-lettered). The same while PDI answers nobody is an outage: waited out without counting,
fatal after `outage_seconds`. When most writes fail (say every record answers 400 after a PDI
change), the run stops. The one rule kept here by hand: a create whose answer was lost is
looked up before it is sent again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pacing.clock import Clock
from pacing.concurrency import AdaptiveConcurrency
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate
from pacing.retries import Retries, Throttled, Unanswered
from pacing.retry_after import retry_after
from tenacity import wait_exponential, wait_random_exponential
from tenacity.wait import wait_base

from target_pdi.errors import (
    APIUnavailableError,
    AuthenticationError,
    ConfigurationError,
    RecordRejected,
    RequestFailed,
    Stopped,
    TimeBudgetSpent,
)
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


def _jittered(base: float, cap: float) -> wait_base:
    """`base * 2**(n-1)` seconds before the n-th retry, at most `cap`, the lower half random
    (equal jitter): spreads concurrent retries apart without retrying at once."""
    return wait_exponential(multiplier=base / 2, max=cap / 2) + wait_random_exponential(
        multiplier=base / 2, max=cap / 2
    )


class PDISessionAuth(requests.auth.AuthBase):
    """PDI's bearer token, from POST /sessions (`login`), as a `requests` auth.

    Renewed shortly before it expires (60 s early, or 10% of a short lifetime) and once after
    a 401 (`refused`). Thread-safe: one token for every worker; the worker that finds it due
    logs in while the others wait for the new one.
    """

    def __init__(
        self, login: Callable[[], tuple[str, datetime]], now: Callable[[], datetime]
    ) -> None:
        self._login = login
        self._now = now
        self._lock = threading.Lock()
        self.token: str | None = None
        self._renew_at: datetime | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.current()}"
        return request

    def current(self) -> str:
        """A token valid for a while yet, logging in first when there is none."""
        with self._lock:
            if self.token is None or self._renew_at is None or self._now() >= self._renew_at:
                self._renew()
            assert self.token is not None
            return self.token

    def renew(self) -> None:
        with self._lock:
            self._renew()

    def refused(self, used: str | None) -> None:
        """PDI answered 401 to a request sent with `used`: log in again, unless another
        worker has already."""
        with self._lock:
            if self.token == used:
                self.token = None
                self._renew()

    def _renew(self) -> None:
        token, expires = self._login()
        now = self._now()
        ttl = max(0.0, (expires - now).total_seconds())
        self.token = token
        self._renew_at = expires - timedelta(seconds=min(60.0, ttl * 0.1))


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


class _Tries(Retries):
    """One PDI request's tries: the client's shared rate and health, PDI's probe and messages."""

    def __init__(self, client: PDIClient, what: str, method: str | None) -> None:
        super().__init__(
            rate=client.rate,
            health=client.health,
            clock=client.clock,
            max_failures=client._max_retries + 1,
            own_wait=_jittered(client._backoff_base, client._backoff_max),
            outage_wait=_jittered(client._backoff_base, min(client._backoff_max, OUTAGE_PAUSE_MAX)),
            # Not the login: it runs under the token's lock, which requests holding every slot
            # may be waiting on to sign their headers; waiting for a slot too, it never ended.
            concurrency=client.concurrency if method is not None else None,
            kind=method or "login",
        )
        self.client = client
        self.what = what
        self.method = method  # None: the login

    def before_attempt(self) -> None:
        if STOP.is_set():
            raise Stopped(STOPPED_MESSAGE)
        if self.method is not None:
            # Log in (if due) before the try takes its turn: the login's answer must not pass
            # for an answer to someone else while this try was out.
            self.client.auth.current()

    def send_probe(self) -> requests.Response | None:
        """One cheap GET: any answer below 500 (a 401 included) shows PDI is up."""
        client = self.client
        client._count("GET")
        token = client.auth.token
        try:
            return client._session().get(
                f"{client.base_url}/calendars",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {token}"} if token else None,
                timeout=client._timeout,
            )
        except _LOST:
            return None

    def out_of_time(self, wait: float) -> Exception:
        return TimeBudgetSpent(
            f"{self.what}: the run's time budget of {self.health.budget_seconds:.0f} s is spent "
            "(setting time_budget_seconds); the next run goes on from the last bookmark"
        )

    def unavailable(self, failure: Unanswered, silent: float) -> Exception:
        return APIUnavailableError(
            f"PDI at {self.client.base_url} answered nothing for {silent:.0f} s (longer than "
            f"setting outage_seconds={self.health.outage_seconds:.0f}); the next run goes on "
            "from the last bookmark"
        )

    def gave_up(self, failure: Unanswered, failures: int) -> Exception:
        client = self.client
        if self.method is None:
            return APIUnavailableError(
                f"PDI login: {failure.reason} {failures} times from {client.base_url}; "
                "check setting api_url"
            )
        response = failure.response
        text = client._body_text(response) if response is not None else ""
        message = (
            f"{self.what}: {failure.reason} {failures} times while PDI answered other requests"
        )
        client._note_write(self.method, ok=False, reason=failure.reason)
        return RequestFailed(
            message,
            http_status=response.status_code if response is not None else None,
            body=text,
        )


class PDIClient:
    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        api_token: str,
        *,
        max_requests_per_second: float = 0,
        pool_size: int = 8,
        initial_concurrency: int = 8,
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
        self.clock = Clock(clock, sleep)
        self.rate = AdaptiveRate(max_requests_per_second, clock=self.clock)
        self.concurrency = AdaptiveConcurrency(initial_concurrency, pool_size)
        self.health = RunHealth(
            budget_seconds=time_budget_seconds, outage_seconds=outage_seconds, clock=self.clock
        )
        self.auth = PDISessionAuth(self._open_session, now)
        self._pool_size = max(1, pool_size)
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self.read_only = read_only
        self._now = now
        self._writes_lock = threading.Lock()
        self._writes: deque[bool] = deque(maxlen=WRITE_WINDOW)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        # requests reads proxies and the CA bundle from the environment on every request, and
        # Meltano's environment is large: ~1.5 ms of CPU per request, a quarter of the target's
        # at zero latency (bench/profile_target.py). Read once, with the same rules.
        self._proxies = requests.utils.get_environ_proxies(self.base_url)
        self._verify: bool | str = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
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
            session.trust_env = False
            session.proxies.update(self._proxies)
            session.verify = self._verify
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

    @staticmethod
    def _body_text(response: requests.Response) -> str:
        try:
            text = response.text
        except Exception:  # a broken body must not hide the status
            text = ""
        return redact(text, limit=BODY_LIMIT)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One try: the answer below 500 other than 429; Throttled or Unanswered otherwise."""
        self._count(method)
        try:
            response = self._session().request(method, url, **kwargs)
        except _LOST as exc:
            raise Unanswered(f"no answer ({type(exc).__name__})") from exc
        if response.status_code == 429:
            raise Throttled(retry_after(response.headers))
        if response.status_code >= 500:
            raise Unanswered(f"HTTP {response.status_code}", response=response)
        return response

    def describe_pace(self) -> str:
        """How fast PDI let the run go: for the summary, and for whoever sets the ceiling."""
        conc, rate = self.concurrency, self.rate
        pace = f"PDI pace: up to {conc.peak:.0f} requests in flight (of {conc.maximum}); "
        if rate.refused is None:
            return pace + f"no 429 ({rate.describe_ceiling()})"
        return pace + (
            f"{rate.throttled} 429s, PDI refused {rate.refused:.1f}/s, rate at the end "
            f"{rate.rate:.1f}/s ({rate.describe_ceiling()})"
        )

    # --- authentication ------------------------------------------------------------------------

    def login(self) -> None:
        """POST /sessions. Bad credentials -> AuthenticationError (fatal); outages are retried."""
        self.auth.renew()

    def _open_session(self) -> tuple[str, datetime]:
        """POST /sessions: the access token and when it expires."""
        url = f"{self.base_url}/sessions"
        body = json.dumps(self._credentials)
        response = _Tries(self, "PDI login", None).call(
            lambda: self._send("POST", url, data=body, timeout=self._timeout)
        )
        status = response.status_code
        if status >= 400:
            raise AuthenticationError(
                f"PDI login failed (HTTP {status}): check settings username, password and "
                f"api_token (api_url={self.base_url})"
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        lowered = {str(k).lower(): v for k, v in answer.items()} if isinstance(answer, dict) else {}
        token = lowered.get("accesstoken")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"PDI login answered HTTP {status} without an AccessToken; check setting api_url"
            )
        register_secret(token)
        expires = parse_expiration(lowered.get("expirationdate"), self._now())
        self.logins += 1
        LOGGER.info(
            "Logged in to PDI at %s (token valid until %s)", self.base_url, expires.isoformat()
        )
        return token, expires

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
        answer = self._paced(method, path, params, body, find_existing)
        if isinstance(answer, requests.Response) and answer.status_code == 401:
            # Once: a token PDI dropped before its time. A second 401 is the account's.
            self.auth.refused(_bearer_of(answer))
            answer = self._paced(method, path, params, body, find_existing)
        if not isinstance(answer, requests.Response):
            return answer  # a lost create, found by find_existing
        status = answer.status_code
        if status in (401, 403):
            raise AuthenticationError(
                f"{method} {path}: PDI refused the session (HTTP {status}); check settings "
                "username, password and api_token and the account's permissions"
            )
        if status >= 400:
            text = self._body_text(answer)
            # A 404 (stale id) and a 409 (already there) are answers the sync heals from.
            self._note_write(method, ok=status in (404, 409), reason=f"HTTP {status}")
            raise RecordRejected(
                f"{method} {path}: HTTP {status}: {text[:300]}", http_status=status, body=text
            )
        self._note_write(method, ok=True, reason="")
        if not answer.content:
            return None
        try:
            return answer.json()
        except ValueError:
            return None

    def _paced(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        find_existing: FindExisting | None,
    ) -> requests.Response | Mapping[str, Any]:
        """The answer below 500 other than 429, after the retries; or the object a lost
        create's lookup found."""
        url = f"{self.base_url}{path}"
        data = json.dumps(body) if body is not None else None
        query = dict(params) if params else None

        def send() -> requests.Response | Mapping[str, Any]:
            return self._send(
                method, url, params=query, data=data, auth=self.auth, timeout=self._timeout
            )

        look_up = None
        if method == "POST" and find_existing is not None:  # GET/PUT: re-sending is safe

            def look_up(failure: Unanswered) -> Mapping[str, Any] | None:
                found = find_existing()
                LOGGER.info(
                    "POST %s: answer lost (%s); lookup %s",
                    path,
                    failure.reason,
                    "found it, not re-sending" if found else "found nothing, re-sending",
                )
                return found

        tries = _Tries(self, f"{method} {path}", method)
        result: requests.Response | Mapping[str, Any] = tries.call(send, before_resend=look_up)
        return result

    def _note_write(self, method: str, *, ok: bool, reason: str) -> None:
        """Stop the run when nearly every recent write failed: no later record escapes that."""
        if method == "GET":
            return
        with self._writes_lock:
            self._writes.append(ok)
            failed = self._writes.count(False)
        if failed >= WRITE_FAILURES_FATAL:
            raise APIUnavailableError(
                f"{failed} of the last {WRITE_WINDOW} PDI writes failed (last: {reason}); "
                "stopping so the failures can be looked at (see the dead letters)"
            )

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
        return Pages.parse(self.get(path, Pages(limit, cursor).params(params)))

    def list_all(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = PAGE_LIMIT
    ) -> list[dict[str, Any]]:
        """Every row of a list endpoint, page after page (see `Pages`)."""
        return list(self.iter_all(path, params, limit=limit))

    def iter_all(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = PAGE_LIMIT
    ) -> Iterator[dict[str, Any]]:
        """list_all one page at a time: a caller that keeps few rows holds one page, not the
        whole list (every PDI event of an organization, for instance)."""
        pages = Pages(limit)
        while not pages.finished:
            data, total = self.list_page(path, params, limit=limit, cursor=pages.cursor)
            pages.advance(data, total)
            yield from data


def _bearer_of(response: requests.Response) -> str | None:
    """The token a request was sent with."""
    header = str(response.request.headers.get("Authorization") or "")
    return header.removeprefix("Bearer ") or None


def object_id(obj: Mapping[str, Any] | None) -> str | None:
    """PDI ids are opaque strings (sometimes ints): normalise to str."""
    if not obj:
        return None
    for key in ("id", "Id", "ID"):
        value = obj.get(key)
        if value not in (None, ""):
            return str(value)
    return None
