"""Base stream for the Mobilize API: auth, paging, pacing, retries and error messages."""

from __future__ import annotations

import decimal
import logging
import sys
import time
import typing as t
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from functools import cached_property
from urllib.parse import ParseResult, urlparse

import requests
from pacing import (
    DEFAULT_PAUSE_SECONDS,
    AdaptiveRate,
    Clock,
    Retries,
    RunHealth,
    Throttled,
    Unanswered,
    retry_after,
)
from singer_sdk import metrics
from singer_sdk.authenticators import BearerTokenAuthenticator, SimpleAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import HTTPRequest, PageContext
from tenacity import wait_exponential, wait_random

from tap_mobilize import __version__

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Auth, Context

DEFAULT_API_URL = "https://api.mobilize.us/v1"
DEFAULT_MAX_TRIES = 8
# A --test run should tell the user quickly that a setting is wrong, not after minutes
# of patient retrying, so dry runs cap the attempts.
DRY_RUN_MAX_TRIES = 3
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# While Mobilize answers nobody, try again at least this often, so a run picks up
# within half a minute of its return.
OUTAGE_BACKOFF_CAP_SECONDS = 30.0
DEFAULT_TIME_BUDGET_SECONDS = 14400
DEFAULT_OUTAGE_SECONDS = 600
# The cheap GET that tells "Mobilize is down" from "this request fails": public (no key
# to send), tiny, and unrelated to the organization's data.
PROBE_PATH = "/enums"
# Between a request's own failures: 1, 2, 4 ... 60 s, plus up to a second of jitter, which
# keeps threads that failed together from retrying in lockstep.
OWN_FAILURE_WAIT = wait_exponential(
    multiplier=BACKOFF_BASE_SECONDS, max=BACKOFF_CAP_SECONDS
) + wait_random(0, 1)
# While Mobilize answers nobody: 1, 2, 4 ... 30 s (no jitter: the shared rate spaces them).
OUTAGE_WAIT = wait_exponential(multiplier=BACKOFF_BASE_SECONDS, max=OUTAGE_BACKOFF_CAP_SECONDS)

# Failures with no HTTP answer at all: retried, or waited out as an outage.
_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

RequestCall = Callable[[requests.PreparedRequest, "Context | None"], requests.Response]


class MobilizeFatalError(FatalAPIError):
    """A failure the user has to fix; the message is one line and names the setting."""


class MobilizeNotFoundError(MobilizeFatalError):
    """HTTP 404: fatal for a stream's own list, skippable where a row vanished meanwhile."""


class MobilizeTimeBudgetError(MobilizeFatalError):
    """The run used up ``time_budget_seconds`` (429 pauses and outage waits included)."""


class MobilizeUnavailableError(MobilizeFatalError):
    """Mobilize answered nobody for longer than ``outage_seconds``."""


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


def make_rate(config: t.Mapping[str, t.Any], clock: Clock) -> AdaptiveRate:
    """The run's request rate: ``max_requests_per_second`` is its ceiling."""
    return AdaptiveRate(float(config.get("max_requests_per_second", 10)), clock=clock)


def make_health(config: t.Mapping[str, t.Any], clock: Clock) -> RunHealth:
    """The run's time budget and outage window."""
    return RunHealth(
        budget_seconds=float(config.get("time_budget_seconds", DEFAULT_TIME_BUDGET_SECONDS)),
        outage_seconds=float(config.get("outage_seconds", DEFAULT_OUTAGE_SECONDS)),
        clock=clock,
    )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: no user info, path or query to leak."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    return f"{parsed.scheme}://{host}" + (f":{parsed.port}" if parsed.port else "")


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
        self._own_clock: Clock | None = None
        self._own_rate: AdaptiveRate | None = None
        self._own_health: RunHealth | None = None
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

    # One clock, rate and health per tap (TapMobilize builds them), so the sum of all
    # streams stays under the per-IP limit, a 429 pauses every stream, and the budget
    # and outage window are the run's, not each stream's. A stream built without a
    # TapMobilize (never in a run) makes its own.

    @property
    def clock(self) -> Clock:
        shared = getattr(self._tap, "clock", None)
        if isinstance(shared, Clock):
            return shared
        if self._own_clock is None:
            self._own_clock = Clock()
        return self._own_clock

    @property
    def rate(self) -> AdaptiveRate:
        shared = getattr(self._tap, "rate", None)
        if isinstance(shared, AdaptiveRate):
            return shared
        if self._own_rate is None:
            self._own_rate = make_rate(self.config, self.clock)
        return self._own_rate

    @property
    def health(self) -> RunHealth:
        shared = getattr(self._tap, "health", None)
        if isinstance(shared, RunHealth):
            return shared
        if self._own_health is None:
            self._own_health = make_health(self.config, self.clock)
        return self._own_health

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

    def request_decorator(self, func: RequestCall) -> RequestCall:
        def call(request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            return self.send_with_retries(func, request, context)

        return call

    def send_with_retries(
        self, func: RequestCall, request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Send ``request`` until Mobilize answers it, sorting failures by what can fix them.

        - 429 is Mobilize's normal "slower": every stream pauses and the shared rate drops
          (:class:`~pacing.AdaptiveRate`). It never uses up this request's attempts; the
          run's ``time_budget_seconds`` bounds it instead.
        - 5xx, 408, timeouts and dropped connections while Mobilize answers others (or a
          probe) are this request's own failures: ``backoff_max_tries`` attempts.
        - The same while Mobilize answers nobody is an outage: waited out without
          counting, and fatal after ``outage_seconds`` without any answer.

        The loop is :class:`pacing.Retries` (tenacity); :class:`_Tries` names its errors.
        """

        def send() -> requests.Response:
            try:
                return func(request, context)
            except RetriableAPIError as exc:
                response = exc.response
                if response is not None and response.status_code == 429:
                    raise Throttled(retry_after(response.headers), str(exc)) from exc
                answered = response is not None and response.status_code < 500
                raise Unanswered(str(exc), answered=answered, response=response) from exc
            except _NETWORK_ERRORS as exc:
                raise Unanswered(type(exc).__name__) from exc

        return _Tries(self, request).call(send)

    def _budget_spent(self, path: str, wait: float) -> MobilizeTimeBudgetError:
        health = self.health
        return MobilizeTimeBudgetError(
            f"The run's time budget of {health.budget_seconds:.0f} s (setting "
            f"time_budget_seconds) is used up: {health.elapsed():.0f} s so far and "
            f"{wait:.0f} s more to wait before the next request to Mobilize for {path}; "
            "try again later, or raise time_budget_seconds"
        )

    def _send_probe(self) -> requests.Response | None:
        """One cheap GET to a public endpoint; its answer, or None for no answer."""
        try:
            # No key: the endpoint is public, and a probe has no business carrying it.
            return self.requests_session.get(
                self.url_base + PROBE_PATH,
                headers={"User-Agent": self.user_agent},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except _NETWORK_ERRORS:
            return None

    def _cause(self, error: BaseException | None, request: requests.PreparedRequest) -> str:
        # Status, reason and path only; for a lost connection the exception's type, the
        # origin and the path: its text can repeat the whole URL, query string included.
        if isinstance(error, RetriableAPIError):
            return str(error)
        target = origin_of(request.url or self.url_base) + urlparse(request.url or "").path
        return f"{type(error).__name__} calling {target}"

    def _gave_up(self, error: BaseException | None, max_tries: int) -> MobilizeFatalError:
        if isinstance(error, RetriableAPIError):
            return MobilizeFatalError(
                f"Mobilize kept failing after {max_tries} attempts: {error}; "
                "try again later, or raise the backoff_max_tries setting"
            )
        return MobilizeFatalError(
            f"Could not reach the Mobilize API at {origin_of(self.url_base)} "
            f"after {max_tries} attempts ({type(error).__name__}): "
            "check the api_url setting and the network"
        )

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


class _Tries(Retries):
    """One Mobilize request's tries: the tap's shared rate and health, the probe, the messages."""

    def __init__(self, stream: MobilizeStream, request: requests.PreparedRequest) -> None:
        super().__init__(
            rate=stream.rate,
            health=stream.health,
            clock=stream.clock,
            max_failures=stream.backoff_max_tries(),
            own_wait=OWN_FAILURE_WAIT,
            outage_wait=OUTAGE_WAIT,
            # A --test run counts every failure against its attempts instead: it is there
            # to say quickly that a setting is wrong.
            probe_outages=stream.ABORT_AT_RECORD_COUNT is None,
        )
        self.stream = stream
        self.request = request
        self.path = urlparse(request.url or "").path

    def send_probe(self) -> requests.Response | None:
        return self.stream._send_probe()

    def out_of_time(self, wait: float) -> Exception:
        return self.stream._budget_spent(self.path, wait)

    def gave_up(self, failure: Unanswered, failures: int) -> Exception:
        return self.stream._gave_up(failure.__cause__, self.max_failures)

    def unavailable(self, failure: Unanswered, silent: float) -> Exception:
        stream = self.stream
        return MobilizeUnavailableError(
            f"Mobilize at {origin_of(stream.url_base)} answered nothing for {silent:.0f} s "
            f"(setting outage_seconds is {self.health.outage_seconds:.0f}); last failure: "
            f"{stream._cause(failure.__cause__, self.request)}; try again later, or check the "
            "api_url setting and the network"
        )

    def slowed(self, retry_after: float | None) -> None:
        rate = self.rate
        self.stream.logger.info(
            "Mobilize answered HTTP 429 for %s: every stream waits %.1fs, then sends at "
            "most %.1f requests/s, climbing back to %s",
            self.path,
            DEFAULT_PAUSE_SECONDS if retry_after is None else retry_after,
            rate.rate or 0.0,
            rate.describe_ceiling(),
        )

    def retrying(self, failure: Unanswered, wait: float) -> None:
        cause = self.stream._cause(failure.__cause__, self.request)
        if failure.own:
            self.stream.logger.warning(
                "Retrying in %.1fs (attempt %d of %d failed): %s",
                wait,
                self.failures,
                self.max_failures,
                cause,
            )
        else:
            self.stream.logger.warning(
                "Mobilize is not answering (%s; a probe failed too): waiting %.1fs; "
                "the run stops after %d s without any answer (%.0f s so far)",
                cause,
                wait,
                self.health.outage_seconds,
                self.health.silent_for(),
            )
