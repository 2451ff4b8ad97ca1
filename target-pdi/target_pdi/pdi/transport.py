"""PDI's HTTP connection: one `urllib3` pool for the whole run, shared by every worker.

Why not `requests`: at zero latency its Session (settings merged, hooks, cookies, header
dicts and Protocol checks on every request) cost more CPU than all of the sync's own work
(bench/RESULTS.md, issue 21). The pool does what the client needs of HTTP and no more: kept-
alive connections, thread safety, timeouts; never a re-send of its own (a POST is re-sent
only after the lost-create lookup, `client.py`), never a redirect followed.

Proxies and the CA bundle are read from the environment once, with the rules `requests`
applies (HTTPS_PROXY / NO_PROXY, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's bundle).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies, select_proxy
from urllib3.exceptions import (
    DecodeError,
    ProtocolError,
    ProxyError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as PoolTimeoutError

from target_pdi.redact import redact

# Failures after which we cannot know whether PDI acted on the request (no answer read).
LOST_ANSWER = (PoolTimeoutError, ProtocolError, ProxyError, SSLError, DecodeError, OSError)

BODY_LIMIT = 2000  # characters of an answer's body kept in errors / dead letters
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "target-pdi",
}


class Answer:
    """PDI's answer to one request, read in full (its connection is back in the pool)."""

    __slots__ = ("content", "headers", "sent_token", "status_code")

    def __init__(
        self, status_code: int, headers: Mapping[str, str], content: bytes, sent_token: str | None
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.sent_token = sent_token  # the bearer token the request carried, if any

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def redacted_text(self) -> str:
        """The body for errors and dead letters: secrets masked, at most BODY_LIMIT chars."""
        return redact(self.text, limit=BODY_LIMIT)

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return json.loads(self.content)


def query_string(params: Mapping[str, Any] | None) -> str:
    """`?a=1&b=2` as `requests` encodes params (None values left out, lists repeated)."""
    if not params:
        return ""
    pairs = [(k, v) for k, v in params.items() if v is not None]
    return "?" + urlencode(pairs, doseq=True) if pairs else ""


class Transport:
    """Sends one request and reads its whole answer; raises one of `LOST_ANSWER` when there
    is none."""

    def __init__(self, base_url: str, *, pool_size: int, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._path_prefix = parts.path
        self.proxy = select_proxy(self.base_url, get_environ_proxies(self.base_url))
        self.ca_certs = (
            os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where()
        )
        # One Retry for every request (urlopen would build one each time): never re-send.
        self._no_retries = urllib3.Retry(total=False, redirect=False)
        options: dict[str, Any] = {
            "num_pools": 2,
            "maxsize": max(1, pool_size),
            "block": False,  # more workers than connections: the extra ones are not kept
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            "retries": False,
            "ca_certs": self.ca_certs,
        }
        self._manager: urllib3.PoolManager = (
            urllib3.ProxyManager(self.proxy, **options)
            if self.proxy
            else urllib3.PoolManager(**options)
        )
        # Without a proxy every request goes to one host: its pool, found once.
        self._pool = None if self.proxy else self._manager.connection_from_url(self.base_url)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: str | None = None,
        token: str | None = None,
    ) -> Answer:
        headers = dict(HEADERS)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        query = query_string(params)
        body = data.encode() if data is not None else None
        if self._pool is not None:
            response = self._pool.urlopen(
                method,
                f"{self._path_prefix}{path}{query}",
                body=body,
                headers=headers,
                retries=self._no_retries,
                redirect=False,
                assert_same_host=False,
            )
        else:  # through the proxy, which the manager reaches (or tunnels through) by URL
            response = self._manager.urlopen(
                method,
                f"{self.base_url}{path}{query}",
                body=body,
                headers=headers,
                retries=self._no_retries,
                redirect=False,
            )
        return Answer(response.status, response.headers, response.data, token)

    def close(self) -> None:
        self._manager.clear()
