"""PDI's HTTP connection: libcurl (`pycurl`), one easy handle per worker thread.

Why libcurl: at zero latency the target is one busy core (the GIL), and each request's own
Python was most of it. `requests` cost about 1.3 ms of CPU per request (settings merged,
hooks, cookies, Protocol checks), a `urllib3` pool about 0.25 ms (`http.client` parses every
answer's headers with the `email` package); libcurl sends the request and reads the whole
answer in C with the GIL released once, about 0.09 ms (bench/RESULTS.md, issue 21). A handle
keeps its connection alive between requests, so each worker thread has its own.

What the client needs of HTTP and no more: kept-alive connections, timeouts, HTTP/1.1; never a
redirect followed, and never a request sent twice. libcurl re-sends a request on its own when a
reused connection closes before any answer; PDI may have acted on it, so a body is given
through a read callback that cannot be rewound: libcurl then fails the request
(`CURLE_SEND_FAIL_REWIND`) and the client's lost-answer lookup decides (`client.py`). A GET
re-sent that way is harmless.

Proxies and the CA bundle are read from the environment once, with the rules `requests`
applies (HTTPS_PROXY / NO_PROXY, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's bundle),
and given to libcurl explicitly, so libcurl's own reading of the environment plays no part.
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import certifi
import pycurl
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, select_proxy

from target_pdi.redact import redact


class NoAnswer(OSError):
    """libcurl read no whole answer (refused, reset, timed out, closed early): PDI may or
    may not have acted on the request."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code


# Failures after which we cannot know whether PDI acted on the request (no answer read).
LOST_ANSWER: tuple[type[Exception], ...] = (OSError,)

BODY_LIMIT = 2000  # characters of an answer's body kept in errors / dead letters
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "target-pdi",
}
# libcurl asks for a 100 Continue before a large body and waits up to a second for it.
_HEADER_LINES = [f"{name}: {value}" for name, value in HEADERS.items()] + ["Expect:"]


class Answer:
    """PDI's answer to one request, read in full (its connection is kept for the next)."""

    __slots__ = ("_header_lines", "_headers", "content", "sent_token", "status_code")

    def __init__(
        self, status_code: int, header_lines: list[bytes], content: bytes, sent_token: str | None
    ) -> None:
        self.status_code = status_code
        self._header_lines = header_lines
        self._headers: CaseInsensitiveDict[str] | None = None
        self.content = content
        self.sent_token = sent_token  # the bearer token the request carried, if any

    @property
    def headers(self) -> Mapping[str, str]:
        """Read when asked (a 429's Retry-After): most answers never are."""
        if self._headers is None:
            self._headers = answer_headers(self._header_lines)
        return self._headers

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
        self.proxy = select_proxy(self.base_url, get_environ_proxies(self.base_url))
        self.ca_certs = (
            os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where()
        )
        self.pool_size = max(1, pool_size)
        self.timeout = timeout
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._lock = threading.Lock()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: str | None = None,
        token: str | None = None,
    ) -> Answer:
        curl = self._handle()
        headers = _HEADER_LINES
        if token is not None:
            headers = [*headers, f"Authorization: Bearer {token}"]
        curl.setopt(pycurl.URL, f"{self.base_url}{path}{query_string(params)}")
        curl.setopt(pycurl.HTTPHEADER, headers)
        # Each request sets its method whole: the handle keeps the last request's options.
        if method == "GET":
            curl.setopt(pycurl.HTTPGET, 1)
            curl.unsetopt(pycurl.CUSTOMREQUEST)
        elif data is not None:
            body = data.encode()
            curl.setopt(pycurl.POST, 1)
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
            # A read callback and no seek callback: the body cannot be sent twice (above).
            curl.setopt(pycurl.READFUNCTION, io.BytesIO(body).read)
            if method == "POST":
                curl.unsetopt(pycurl.CUSTOMREQUEST)
            else:
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        else:
            curl.setopt(pycurl.HTTPGET, 1)
            curl.setopt(pycurl.CUSTOMREQUEST, method)
        content = io.BytesIO()
        lines: list[bytes] = []
        curl.setopt(pycurl.WRITEFUNCTION, content.write)
        curl.setopt(pycurl.HEADERFUNCTION, lines.append)
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args if len(exc.args) == 2 else (-1, str(exc))
            raise NoAnswer(int(code), str(message)) from None
        return Answer(int(curl.getinfo(pycurl.RESPONSE_CODE)), lines, content.getvalue(), token)

    def close(self) -> None:
        with self._lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()

    def _handle(self) -> pycurl.Curl:
        handle: pycurl.Curl | None = getattr(self._local, "curl", None)
        if handle is None:
            handle = pycurl.Curl()
            self._configure(handle)
            with self._lock:
                self._handles.append(handle)
            self._local.curl = handle
        return handle

    def _configure(self, curl: pycurl.Curl) -> None:
        """What every request of the run shares, set once per handle."""
        curl.setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for timeouts
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(self.timeout * 1000)))
        # A read timeout as urllib3's: no byte for `timeout` seconds (whole seconds in libcurl).
        curl.setopt(pycurl.LOW_SPEED_LIMIT, 1)
        curl.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(self.timeout)))
        curl.setopt(pycurl.PROXY, self.proxy or "")  # "": no proxy, whatever libcurl reads
        curl.setopt(pycurl.CAINFO, self.ca_certs)


def answer_headers(lines: list[bytes]) -> CaseInsensitiveDict[str]:
    """The last answer's headers (after a 1xx, its own come next), by name, case-insensitive."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if line.startswith("HTTP/"):
            headers = CaseInsensitiveDict()
            continue
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    return headers
