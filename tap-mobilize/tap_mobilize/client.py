"""The Mobilize HTTP client: settings, auth, paging, requests, responses and error messages.

:class:`MobilizeStream` is what every stream builds on: this module's HTTP side, the
retries of :mod:`tap_mobilize.retries` and the bookmarks of :mod:`tap_mobilize.bookmarks`.
"""

from __future__ import annotations

import decimal
import logging
import sys
import typing as t
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from urllib.parse import ParseResult, urlparse

import requests
from singer_sdk import metrics
from singer_sdk.authenticators import BearerTokenAuthenticator, SimpleAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_mobilize import __version__
from tap_mobilize.bookmarks import IncrementalStream
from tap_mobilize.errors import MobilizeFatalError, MobilizeNotFoundError
from tap_mobilize.retries import RetryingStream
from tap_mobilize.shaped_stream import ShapedStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Auth, Context

DEFAULT_API_URL = "https://api.mobilize.us/v1"


class MobilizeNextLinkPaginator(BaseHATEOASPaginator):
    """Follows the envelope's absolute ``next`` URL, which already carries every parameter.

    A ``next`` link to a page this read already followed would page for ever (the SDK only
    catches a link to the very page just read): the read ends there, and ``on_repeat`` is
    told, so that the stream keeps its bookmark (rows past the loop are read next run).
    """

    def __init__(
        self,
        parse: Callable[[requests.Response], t.Any],
        on_repeat: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._parse = parse
        self._on_repeat = on_repeat
        self._followed: set[str] = set()

    def continue_if_empty(self, response: requests.Response) -> bool:
        # Only the envelope's `next` ends a list: a page without rows (or with rows all of
        # another shape) in the middle of one would otherwise end the read there, and the
        # bookmark would settle past the rows of the pages never read.
        return True

    def get_next_url(self, response: requests.Response) -> str | None:
        body = self._parse(response)
        next_url = body.get("next") if isinstance(body, dict) else None
        if not (isinstance(next_url, str) and next_url):
            return None
        if next_url in self._followed or next_url == response.request.url:
            if self._on_repeat is not None:
                self._on_repeat(next_url)
            return None
        self._followed.add(next_url)
        return next_url


class MobilizeStream(
    IncrementalStream[ParseResult], RetryingStream[ParseResult], ShapedStream[ParseResult]
):
    """One Mobilize list endpoint, read with ``updated_since`` bookmarks."""

    records_jsonpath = "$.data[*]"
    primary_keys: t.ClassVar[list[str]] = ["id"]
    # Streams Mobilize serves only to an API key (people, attendances).
    requires_api_key = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._last_parsed: tuple[requests.Response, t.Any] | None = None
        super().__init__(*args, **kwargs)
        # Set when a read ended at a next link that repeats a page (its rows are incomplete).
        self.cursor_repeated = False

    # ----------------------------------------------------------------- settings

    @property
    def url_base(self) -> str:
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @property
    def api_key(self) -> str | None:
        return self.config.get("api_key") or None

    @property
    def organization_id(self) -> int:
        return int(self.config["organization_id"])

    @cached_property
    def user_agent(self) -> str:
        return f"tap-mobilize/{__version__}"

    @property
    def authenticator(self) -> Auth:
        if self.api_key:
            return BearerTokenAuthenticator(token=self.api_key)
        return SimpleAuthenticator()

    @property
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    # ------------------------------------------------------------ requests/paging

    def get_new_paginator(self) -> MobilizeNextLinkPaginator:
        return MobilizeNextLinkPaginator(self.response_json, self._cursor_repeats)

    def _cursor_repeats(self, next_url: str) -> None:
        self.cursor_repeated = True
        self.logger.warning(
            "Stream '%s': Mobilize's next-page link for %s repeats a page already read: the "
            "read stops there, and the stream keeps its bookmark, so the rows after it are "
            "read again next run",
            self.name,
            urlparse(next_url).path,
        )

    def get_http_request(self, *, page: PageContext[ParseResult]) -> HTTPRequest:
        token = page.next_page_token
        if token is None:
            return super().get_http_request(page=page)
        return self._next_page_request(token, self.path or "")

    def _next_page_request(self, token: ParseResult, path: str) -> HTTPRequest:
        # `next` repeats every query parameter; adding ours again doubles them, which
        # the real API has rejected. So the URL is used verbatim, with no params.
        self._check_next_url(token, path)
        return HTTPRequest(url=token.geturl(), method="GET", headers=self.http_headers)

    def request_path(
        self, path: str, params: dict[str, t.Any], **path_values: int
    ) -> Iterator[dict[str, t.Any]]:
        """Page another endpoint the way this stream pages its own.

        ``path`` is a template under url_base like :attr:`path`: ``{organization_id}`` and
        ``path_values`` are filled in. Same session, authenticator, shared throttle,
        retries, error messages, verbatim ``next`` links and next-link host check as
        :meth:`request_records`, which is tied to the stream's own path and parameters.
        """
        url = self.url_base + path.format(organization_id=self.organization_id, **path_values)
        send = self.request_decorator(self._request)
        paginator = self.get_new_paginator()
        # The template, not the URL, tags the metric: one series, not one per event.
        with metrics.http_request_counter(self.name, endpoint=path) as counter:
            while not paginator.finished:
                token = paginator.current_value
                request = (
                    HTTPRequest(url=url, params=params, headers=self.http_headers)
                    if token is None
                    else self._next_page_request(token, path)
                )
                prepared = self.build_prepared_request(
                    method=request.method,
                    url=request.url,
                    params=request.encode_params(),
                    headers=request.headers,
                )
                response = send(prepared, None)
                counter.increment()
                yield from self.parse_response(response)
                paginator.advance(response)

    def _check_next_url(self, token: ParseResult, path: str) -> None:
        # The next link is followed with the bearer key attached; never hand the key to a
        # host that is neither the configured API nor Mobilize's own.
        host = (token.hostname or "").lower()
        if host == (urlparse(self.url_base).hostname or "").lower():
            return
        if host == "mobilize.us" or host.endswith(".mobilize.us"):
            return
        raise MobilizeFatalError(
            f"Mobilize's next-page link for {path} points to another host ({host}); "
            "refusing to send the API key there: check the api_url setting"
        )

    def get_url_params(
        self, context: Context | None, next_page_token: ParseResult | None
    ) -> dict[str, t.Any]:
        if next_page_token is not None:
            return {}
        params: dict[str, t.Any] = {"per_page": int(self.config.get("per_page", 100))}
        updated_since = self.updated_since(context)
        if updated_since is not None:
            params["updated_since"] = updated_since
        params.update(self.extra_params())
        return params

    def extra_params(self) -> dict[str, t.Any]:
        """Endpoint-specific first-page parameters; lists become repeated keys."""
        return {}

    # ------------------------------------------------------------------ responses

    def response_json(self, response: requests.Response) -> t.Any:
        """Parse a response body once; the records parser and the paginator share it."""
        if self._last_parsed is not None and self._last_parsed[0] is response:
            return self._last_parsed[1]
        try:
            body = response.json(parse_float=decimal.Decimal)
        except ValueError:
            raise MobilizeFatalError(
                f"Mobilize answered HTTP {response.status_code} for {self._path_of(response)} "
                "with a body that is not JSON: check the api_url setting"
            ) from None
        self._last_parsed = (response, body)
        return body

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        body = self.response_json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, list):
            yield from (self.shaper.shape(row) for row in data if isinstance(row, dict))
        elif isinstance(data, dict):
            yield self.shaper.shape(data)

    def _path_of(self, response: requests.Response) -> str:
        # Path only: the query may hold filters and the API never needs it to explain.
        return urlparse(response.url or "").path or self.path or ""

    def response_error_message(self, response: requests.Response) -> str:
        # No body (it can carry people's data), no headers, no query string.
        return f"HTTP {response.status_code} {response.reason or ''}".rstrip() + (
            f" for {self._path_of(response)}"
        )

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status in {408, 429} or status >= 500:
            raise RetriableAPIError(self.response_error_message(response), response)
        org = self.organization_id
        path = self._path_of(response)
        if status in {401, 403}:
            if self.api_key:
                hint = (
                    "check the api_key setting "
                    f"(and that it has dashboard access to organization_id {org})"
                )
            else:
                hint = (
                    "this request needs a key: set the api_key setting "
                    f"(a key with dashboard access to organization_id {org})"
                )
            raise MobilizeFatalError(
                f"Mobilize refused the request (HTTP {status}) for organization {org} "
                f"on {path}: {hint}"
            )
        if status == 404:
            raise MobilizeNotFoundError(
                f"Mobilize answered HTTP 404 for {path}: check the organization_id setting "
                f"({org}) and the api_url setting"
            )
        raise MobilizeFatalError(
            f"Mobilize rejected the request: {self.response_error_message(response)}"
        )

    # -------------------------------------------------------------------- records

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if self.requires_api_key and not self.api_key:
            self.logger.warning(
                "Skipping stream '%s': Mobilize serves it only with an API key; set the "
                "api_key setting (a key with dashboard access to organization_id %s) to read it",
                self.name,
                self.organization_id,
            )
            return
        yield from super().get_records(context)

    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # The SDK announces any failure of a stream with a generic ERROR line. Our own
        # fatal errors are logged once by the tap, as one line naming the setting to
        # check, so the generic line would only double it: keep it for debugging.
        if (
            level >= logging.ERROR
            and message.startswith("An unhandled error occurred")
            and isinstance(sys.exc_info()[1], MobilizeFatalError)
        ):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)
