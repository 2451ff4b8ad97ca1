"""PDI's session: the bearer token from POST /sessions, what its answer means, and when to
log in again."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from target_pdi.errors import AuthenticationError
from target_pdi.pdi.transport import Answer
from target_pdi.redact import register_secret

LOGGER = logging.getLogger("target-pdi")


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


def read_login(answer: Answer, base_url: str, now: datetime) -> tuple[str, datetime]:
    """The access token of POST /sessions' answer and when it expires; AuthenticationError
    (fatal, naming the settings to fix) when PDI refused the credentials."""
    status = answer.status_code
    if status >= 400:
        raise AuthenticationError(
            f"PDI login failed (HTTP {status}): check settings username, password and "
            f"api_token (api_url={base_url})"
        )
    try:
        body = answer.json()
    except ValueError:
        body = None
    lowered = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    token = lowered.get("accesstoken")
    if not isinstance(token, str) or not token:
        raise AuthenticationError(
            f"PDI login answered HTTP {status} without an AccessToken; check setting api_url"
        )
    register_secret(token)
    expires = parse_expiration(lowered.get("expirationdate"), now)
    LOGGER.info("Logged in to PDI at %s (token valid until %s)", base_url, expires.isoformat())
    return token, expires


class SessionAuth:
    """PDI's bearer token, from POST /sessions (`post_login`, whose answer `read_login` reads).

    Renewed shortly before it expires (60 s early, or 10% of a short lifetime) and once after
    a 401 (`refused`). Thread-safe: one token for every worker; the worker that finds it due
    logs in while the others wait for the new one.
    """

    def __init__(
        self, post_login: Callable[[], Answer], base_url: str, now: Callable[[], datetime]
    ) -> None:
        self._post_login = post_login
        self._base_url = base_url
        self._now = now
        self._lock = threading.Lock()
        self.token: str | None = None
        self._renew_at: datetime | None = None
        self.logins = 0

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
        token, expires = read_login(self._post_login(), self._base_url, self._now())
        self.logins += 1
        now = self._now()
        ttl = max(0.0, (expires - now).total_seconds())
        self.token = token
        self._renew_at = expires - timedelta(seconds=min(60.0, ttl * 0.1))
