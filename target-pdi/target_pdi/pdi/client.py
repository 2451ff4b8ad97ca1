"""PDI client: the object-level calls (get, put, create, the lists), on one request path.

A request goes: `PDITries` (tries.py: the shared adaptive rate and concurrency, Retry-After,
outage detection, the time budget, SIGTERM's STOP) around `_send` (one try on `Transport`,
transport.py: libcurl, a kept-alive connection per worker thread), signed with `SessionAuth`'s
token (session_auth.py). Thread-safe: every worker shares the transport, the pace and the token.

What the client adds on top: a create whose answer was lost is looked up before it is sent
again (`find_existing`), a 401 renews the token once, a 4xx is the record's refusal
(RecordRejected, dead-lettered), and when most writes fail (say every record answers 400
after a PDI change) the run stops (`FailingWrites`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pacing.clock import Clock
from pacing.concurrency import AdaptiveConcurrency
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate
from pacing.retries import Throttled, Unanswered
from pacing.retry_after import retry_after

from target_pdi.errors import (
    APIUnavailableError,
    AuthenticationError,
    ConfigurationError,
    RecordRejected,
    RequestFailed,
)
from target_pdi.pdi.pages import PAGE_LIMIT, Pages
from target_pdi.pdi.session_auth import SessionAuth
from target_pdi.pdi.transport import LOST_ANSWER, Answer, Transport
from target_pdi.pdi.tries import Pace, PDITries
from target_pdi.redact import register_secret

LOGGER = logging.getLogger("target-pdi")

FindExisting = Callable[[], Mapping[str, Any] | None]

# The run stops when this many of the last WRITE_WINDOW writes failed: no later record can
# escape what makes nearly every write fail.
WRITE_WINDOW = 50
WRITE_FAILURES_FATAL = 45


class FailingWrites:
    """The outcome of the last WRITE_WINDOW writes; stops the run when nearly all failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: deque[bool] = deque(maxlen=WRITE_WINDOW)

    def note(self, method: str, *, ok: bool, reason: str) -> None:
        if method == "GET":
            return
        with self._lock:
            self._recent.append(ok)
            failed = self._recent.count(False)
        if failed >= WRITE_FAILURES_FATAL:
            raise APIUnavailableError(
                f"{failed} of the last {WRITE_WINDOW} PDI writes failed (last: {reason}); "
                "stopping so the failures can be looked at (see the dead letters)"
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
        credentials = {"Username": username, "Password": password, "ApiToken": api_token}
        named = {"username": username, "password": password, "api_token": api_token}
        missing = [name for name, value in named.items() if not value]
        if missing:
            raise ConfigurationError(f"missing PDI credentials: set {', '.join(missing)}")
        for secret in (password, api_token):
            register_secret(secret)
        self.transport = Transport(api_url, pool_size=pool_size, timeout=timeout)
        self.base_url = self.transport.base_url
        self.read_only = read_only
        paced = Clock(clock, sleep)
        self.pace = Pace.waiting(
            rate=AdaptiveRate(max_requests_per_second, clock=paced),
            concurrency=AdaptiveConcurrency(initial_concurrency, pool_size),
            health=RunHealth(
                budget_seconds=time_budget_seconds, outage_seconds=outage_seconds, clock=paced
            ),
            clock=paced,
            max_retries=max(0, max_retries),
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )
        self.rate, self.concurrency = self.pace.rate, self.pace.concurrency
        self._login_body = json.dumps(credentials)
        self.auth = SessionAuth(self._post_login, self.base_url, now)
        self._failing_writes = FailingWrites()
        self._count_lock = threading.Lock()
        self.requests_by_method: Counter[str] = Counter()

    @property
    def logins(self) -> int:
        return self.auth.logins

    def close(self) -> None:
        self.transport.close()

    def describe_pace(self) -> str:
        """How fast PDI let the run go: for the summary, and for whoever sets the ceiling."""
        return self.pace.describe()

    def _count(self, method: str) -> None:
        with self._count_lock:
            self.requests_by_method[method] += 1

    # --- one try, and the tries ----------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One try: the answer below 500 other than 429; Throttled or Unanswered otherwise."""
        self._count(method)
        try:
            answer = self.transport.send(method, path, **kwargs)
        except LOST_ANSWER as exc:
            raise Unanswered(f"no answer ({type(exc).__name__})") from exc
        if answer.status_code == 429:
            raise Throttled(retry_after(answer.headers))
        if answer.status_code >= 500:
            raise Unanswered(f"HTTP {answer.status_code}", response=answer)
        return answer

    def _tries(self, what: str, method: str | None) -> PDITries:
        return PDITries(
            self.pace,
            what,
            method,
            base_url=self.base_url,
            sign=self.auth.current,
            probe=self._probe,
        )

    def _probe(self) -> Answer | None:
        """One cheap GET, signed if there is a token: any answer, a 401 or a 429 included,
        shows PDI is up. Not through `_send`: its 429s and 5xx are the probe's answer."""
        self._count("GET")
        try:
            return self.transport.send(
                "GET", "/calendars", params={"limit": 1}, token=self.auth.token
            )
        except LOST_ANSWER:
            return None

    def login(self) -> None:
        """POST /sessions. Bad credentials -> AuthenticationError (fatal); outages are retried."""
        self.auth.renew()

    def _post_login(self) -> Answer:
        body = self._login_body
        return self._tries("PDI login", None).call(
            lambda: self._send("POST", "/sessions", data=body)
        )

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
        if isinstance(answer, Answer) and answer.status_code == 401:
            # Once: a token PDI dropped before its time. A second 401 is the account's.
            self.auth.refused(answer.sent_token)
            answer = self._paced(method, path, params, body, find_existing)
        if not isinstance(answer, Answer):
            return answer  # a lost create, found by find_existing
        return self._read(method, path, answer)

    def _read(self, method: str, path: str, answer: Answer) -> Any:
        """The parsed body of an answer below 500; the record's or the account's error above."""
        status = answer.status_code
        if status in (401, 403):
            raise AuthenticationError(
                f"{method} {path}: PDI refused the session (HTTP {status}); check settings "
                "username, password and api_token and the account's permissions"
            )
        if status >= 400:
            text = answer.redacted_text()
            # A 404 (stale id) and a 409 (already there) are answers the sync heals from.
            self._failing_writes.note(method, ok=status in (404, 409), reason=f"HTTP {status}")
            raise RecordRejected(
                f"{method} {path}: HTTP {status}: {text[:300]}", http_status=status, body=text
            )
        self._failing_writes.note(method, ok=True, reason="")
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
    ) -> Answer | Mapping[str, Any]:
        """The answer below 500 other than 429, after the retries; or the object a lost
        create's lookup found."""
        data = json.dumps(body) if body is not None else None

        def send() -> Answer | Mapping[str, Any]:
            # The tries signed in before this one (PDITries.before_attempt); read without the
            # lock, the token is None only while a renewal is under way.
            token = self.auth.token or self.auth.current()
            return self._send(method, path, params=params, data=data, token=token)

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

        try:
            result: Answer | Mapping[str, Any] = self._tries(f"{method} {path}", method).call(
                send, before_resend=look_up
            )
        except RequestFailed as failed:
            reason = f"HTTP {failed.http_status}" if failed.http_status else "no answer"
            self._failing_writes.note(method, ok=False, reason=reason)
            raise
        return result

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


def object_id(obj: Mapping[str, Any] | None) -> str | None:
    """PDI ids are opaque strings (sometimes ints): normalise to str."""
    if not obj:
        return None
    for key in ("id", "Id", "ID"):
        value = obj.get(key)
        if value not in (None, ""):
            return str(value)
    return None
