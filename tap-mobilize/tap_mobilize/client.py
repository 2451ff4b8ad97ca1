"""Base stream for the Mobilize API: auth, paging, pacing, retries and error messages."""

from __future__ import annotations

import decimal
import email.utils
import time
import typing as t
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import datetime, timezone
from functools import cached_property
from urllib.parse import ParseResult, urlparse

import backoff
import requests
from singer_sdk import metrics
from singer_sdk.authenticators import BearerTokenAuthenticator, SimpleAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_mobilize import __version__
from tap_mobilize.throttle import Throttle

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Auth, Context

DEFAULT_API_URL = "https://api.mobilize.us/v1"
DEFAULT_MAX_TRIES = 8
# A --test run should tell the user quickly that a setting is wrong, not after minutes
# of patient retrying, so dry runs cap the attempts.
DRY_RUN_MAX_TRIES = 3
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# A Retry-After beyond this is treated as a misconfigured proxy, not as advice to idle.
RETRY_AFTER_CAP_SECONDS = 600.0

_TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
_NETWORK_ERRORS: tuple[type[Exception], ...] = tuple(
    e for e in _TRANSIENT_ERRORS if e is not RetriableAPIError
)

RequestCall = Callable[[requests.PreparedRequest, "Context | None"], requests.Response]


class MobilizeFatalError(FatalAPIError):
    """A failure the user has to fix; the message is one line and names the setting."""


class MobilizeNotFoundError(MobilizeFatalError):
    """HTTP 404: fatal for a stream's own list, skippable where a row vanished meanwhile."""


def to_epoch(value: object) -> int:
    """Convert a bookmark (int epoch) or a ``start_date`` (ISO 8601 string) to epoch seconds.

    The SDK hands back the raw ``start_date`` string for an integer replication key when
    there is no bookmark yet, so both shapes arrive here.
    """
    if isinstance(value, bool):
        raise TypeError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float, decimal.Decimal)):
        return int(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            return int(float(text))
        except ValueError:
            pass
        # Python 3.10's fromisoformat rejects a trailing "Z".
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    else:
        raise TypeError(f"not a timestamp: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or HTTP date), if any."""
    if response is None:
        return None
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


class MobilizeNextLinkPaginator(BaseHATEOASPaginator):
    """Follows the envelope's absolute ``next`` URL, which already carries every parameter."""

    def __init__(self, parse: Callable[[requests.Response], t.Any]) -> None:
        super().__init__()
        self._parse = parse

    def get_next_url(self, response: requests.Response) -> str | None:
        body = self._parse(response)
        next_url = body.get("next") if isinstance(body, dict) else None
        return next_url if isinstance(next_url, str) and next_url else None


class MobilizeStream(RESTStream[ParseResult]):
    """One Mobilize list endpoint, read with ``updated_since`` bookmarks."""

    records_jsonpath = "$.data[*]"
    primary_keys: t.ClassVar[list[str]] = ["id"]
    replication_key: str | None = "modified_date"
    # Mobilize documents no sort order (ids in practice), so the bookmark may only move
    # once the whole stream has been read.
    is_sorted = False
    # Streams Mobilize serves only to an API key (people, attendances).
    requires_api_key = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.masked_count = 0
        self.duplicate_count = 0
        self._last_parsed: tuple[requests.Response, t.Any] | None = None
        self._own_throttle: Throttle | None = None
        super().__init__(*args, **kwargs)

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

    @property
    def throttle(self) -> Throttle:
        # One throttle per tap keeps the sum of all streams under the per-IP limit.
        shared = getattr(self._tap, "throttle", None)
        if isinstance(shared, Throttle):
            return shared
        if self._own_throttle is None:
            self._own_throttle = Throttle(float(self.config.get("max_requests_per_second", 10)))
        return self._own_throttle

    # ------------------------------------------------------------ requests/paging

    def get_new_paginator(self) -> MobilizeNextLinkPaginator:
        return MobilizeNextLinkPaginator(self.response_json)

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

    def updated_since(self, context: Context | None) -> int | None:
        """``updated_since`` for the first page: bookmark - lookback, else start_date."""
        if not self.replication_key:
            return None
        value = self.get_starting_replication_key_value(context)
        if value is None:
            return None
        epoch = to_epoch(value)
        # The bound's inclusiveness is undocumented and clocks drift, so re-read a little
        # before the bookmark; dedupe and idempotent targets absorb the overlap. The
        # start_date is a user's explicit lower bound, so it is sent as given.
        if self.get_context_state(context).get("replication_key_value") is not None:
            epoch -= int(self.config.get("lookback_seconds", 300))
        epoch = max(epoch, 0)
        self.logger.info("Stream '%s': requesting rows with updated_since=%d", self.name, epoch)
        return epoch

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
            yield from (row for row in data if isinstance(row, dict))
        elif isinstance(data, dict):
            yield data

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

    # -------------------------------------------------------------------- retries

    def backoff_max_tries(self) -> int:
        configured = int(self.config.get("backoff_max_tries", DEFAULT_MAX_TRIES))
        if self.ABORT_AT_RECORD_COUNT is not None:
            return max(1, min(configured, DRY_RUN_MAX_TRIES))
        return max(1, configured)

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        # backoff sends each caught exception into the generator, so a 429 can be
        # answered with the server's own Retry-After, anything else with capped expo.
        exc = yield 0.0  # priming send(None)
        attempt = 0
        while True:
            response = exc.response if isinstance(exc, RetriableAPIError) else None
            wait = retry_after_seconds(response)
            if wait is None:
                wait = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            attempt += 1
            exc = yield wait

    def backoff_handler(self, details: t.Any) -> None:
        # The SDK's handler logs the call's args; ours names only the path and the cause.
        exc = details.get("exception")
        if isinstance(exc, RetriableAPIError):
            cause = str(exc)
        else:
            args = details.get("args") or ()
            request = args[0] if args and isinstance(args[0], requests.PreparedRequest) else None
            where = urlparse(request.url or "") if request is not None else urlparse(self.url_base)
            cause = f"{type(exc).__name__} calling {where.scheme}://{where.netloc}{where.path}"
        self.logger.warning(
            "Retrying in %.1fs (attempt %d of %d failed): %s",
            details.get("wait", 0.0),
            details.get("tries", 0),
            self.backoff_max_tries(),
            cause,
        )

    def request_decorator(self, func: RequestCall) -> RequestCall:
        throttle = self.throttle

        def paced(request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            throttle.wait()  # every attempt, retries included, counts against the limit
            return func(request, context)

        max_tries = self.backoff_max_tries()
        retrying: RequestCall = backoff.on_exception(
            self.backoff_wait_generator,
            _TRANSIENT_ERRORS,
            max_tries=max_tries,
            on_backoff=self.backoff_handler,
            jitter=backoff.random_jitter,
            logger=None,  # backoff's own log lines repeat the exception; ours suffice
        )(paced)

        def call(request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            try:
                return retrying(request, context)
            except RetriableAPIError as exc:
                raise MobilizeFatalError(
                    f"Mobilize kept failing after {max_tries} attempts: {exc}; "
                    "try again later, or lower the max_requests_per_second setting"
                ) from exc
            except _NETWORK_ERRORS as exc:
                origin = urlparse(self.url_base)
                raise MobilizeFatalError(
                    f"Could not reach the Mobilize API at {origin.scheme}://{origin.netloc} "
                    f"after {max_tries} attempts ({type(exc).__name__}): "
                    "check the api_url setting and the network"
                ) from exc

        return call

    # -------------------------------------------------------------------- records

    def now(self) -> int:
        """Wall-clock epoch seconds (a method, so tests can fix the clock)."""
        return int(time.time())

    def prior_bookmark(self, context: Context | None) -> t.Any:
        """The bookmark this run started from, or None on a first run.

        Unsorted streams keep this run's maximum in progress markers until the end, so
        this stays the incoming value for the whole read.
        """
        return self.get_context_state(context).get("replication_key_value")

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if self.requires_api_key and not self.api_key:
            self.logger.warning(
                "Skipping stream '%s': Mobilize serves it only with an API key; set the "
                "api_key setting (a key with dashboard access to organization_id %s) to read it",
                self.name,
                self.organization_id,
            )
            return
        # Taken before the first request: a row changed while the read runs may be
        # missed by it, so the bookmark must not pass this moment (see _settle_bookmark).
        read_started = self.now()
        bookmark = self.prior_bookmark(context)
        # id -> highest replication value emitted: pages can shift while rows change,
        # so the same row may come twice; only a newer version is worth re-emitting.
        seen: dict[t.Any, t.Any] = {}
        for record in self.request_records(context):
            if self.dry_run_limit_reached(len(seen)):
                return
            if self.is_new_version(record, seen):
                yield record
        if not self.dry_run_limit_reached(len(seen)):
            yield from self.records_after_read(context, seen, bookmark)
        self._settle_bookmark(context, read_started)
        self.report_end_of_stream()

    def records_after_read(
        self, context: Context | None, seen: dict[t.Any, t.Any], bookmark: t.Any
    ) -> Iterable[dict[str, t.Any]]:
        """Rows to emit after the incremental read (none by default).

        ``seen`` is the run's id -> replication value map, to share the dedupe;
        ``bookmark`` is the incoming bookmark (None on a first run).
        """
        return ()

    def is_new_version(self, record: dict[str, t.Any], seen: dict[t.Any, t.Any]) -> bool:
        """True if the row should be emitted; records it in ``seen``, counts what is not.

        A masked row (null id) cannot be keyed downstream; a row already emitted this run
        is emitted again only with a newer replication value.
        """
        record_id = record.get("id")
        if record_id is None:
            self.masked_count += 1
            return False
        key = self.replication_key
        version = record.get(key) if key else None
        if record_id in seen:
            previous = seen[record_id]
            if version is None or (previous is not None and version <= previous):
                self.duplicate_count += 1
                return False
        seen[record_id] = version
        return True

    def dry_run_limit_reached(self, emitted: int) -> bool:
        """True once a --test run (or the SDK test suite) has all the rows it asked for.

        Stopping here instead of letting the SDK abort the stream keeps a successful
        --test free of its "An unhandled error occurred" ERROR lines.
        """
        limit = self.ABORT_AT_RECORD_COUNT
        return limit is not None and emitted >= limit

    def _settle_bookmark(self, context: Context | None, read_started: int) -> None:
        # The SDK promotes an unsorted stream's bookmark to the maximum seen *this run*.
        # Two corrections before it does:
        # - Cap it at the read's start. Rows are read in id order, not modified_date
        #   order, so a row changed during a long read (a big organization, 429 back-off)
        #   can sit on a page already read; were the bookmark the newest value seen,
        #   the next run's updated_since (bookmark - lookback) could pass it for ever.
        # - Never below the prior bookmark. With the lookback (and the attendances
        #   re-check) re-reading older rows, the maximum can sit below it, and the
        #   bookmark would slide back run after run; a prior bookmark ahead of our clock
        #   (skew) is kept as well rather than stepped back to the start time.
        state = self.get_context_state(context)
        markers = state.get("progress_markers")
        if not isinstance(markers, dict) or markers.get("replication_key_value") is None:
            return
        prior = state.get("replication_key_value")
        try:
            settled = min(markers["replication_key_value"], read_started)
            if prior is not None:
                settled = max(settled, prior)
        except TypeError:  # a hand-edited state of another type: leave it to the SDK
            return
        markers["replication_key_value"] = settled

    def report_end_of_stream(self) -> None:
        """One warning per stream for masked rows, so a run's log says what was left out."""
        if self.masked_count:
            self.logger.warning(
                "Stream '%s': skipped %d record(s) with a null id. Mobilize nulls the ids of "
                "records hidden across the coordinated/independent firewall (and lists "
                "'ghost events'); without an id they cannot be keyed or updated downstream.",
                self.name,
                self.masked_count,
            )
            self.masked_count = 0
        if self.duplicate_count:
            self.logger.info(
                "Stream '%s': dropped %d repeated record(s) seen earlier in this run.",
                self.name,
                self.duplicate_count,
            )
            self.duplicate_count = 0
