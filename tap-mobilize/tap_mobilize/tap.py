"""tap-mobilize: settings, stream list and CLI entry point."""

from __future__ import annotations

import signal
import sys
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import click
from pacing.clock import Clock
from pacing.health import RunHealth
from pacing.rate import AdaptiveRate
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.io_base import SingerWriter
from singer_sdk.plugin_base import PluginBase
from singer_sdk.tap_base import CliTestOptionValue

from tap_mobilize import connection_test
from tap_mobilize.client import DEFAULT_API_URL
from tap_mobilize.errors import MobilizeFatalError
from tap_mobilize.retries import (
    DEFAULT_MAX_TRIES,
    DEFAULT_OUTAGE_SECONDS,
    DEFAULT_TIME_BUDGET_SECONDS,
    make_health,
    make_rate,
)
from tap_mobilize.run_markers import RunMarkers, StateTrackingWriter, failure_line
from tap_mobilize.streams import STREAM_TYPES, SYNC_ORDER

if t.TYPE_CHECKING:
    from types import FrameType

    from singer_sdk.streams import Stream


@contextmanager
def _one_line_fatal_errors(logger: t.Any) -> Iterator[None]:
    """Turn a settings problem into one log line and exit 1, instead of a traceback."""
    try:
        yield
    except MobilizeFatalError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the point is no traceback
        sys.exit(1)


@contextmanager
def _refused_config_marked() -> Iterator[None]:
    """A configuration refused before the sync starts ends the output with a failure marker
    (run_markers.py), so that the target does not take the empty output for a finished run."""
    try:
        yield
    except ConfigValidationError as exc:
        RunMarkers(SingerWriter()).failed(failure_line(exc))
        raise


class TapMobilize(Tap):
    """Singer tap for the Mobilize API."""

    name = "tap-mobilize"
    # Remembers the last state written, which a failure marker repeats.
    message_writer_class = StateTrackingWriter
    # The signal that stopped the sync, if one did (its failure marker says so).
    _stopped_by: str | None = None

    @classproperty
    def _env_var_config(cls) -> dict[str, t.Any]:  # noqa: N805
        # singer-sdk turns environment strings into integers, booleans, arrays and objects
        # but leaves "number" settings as strings, which then fail validation; Meltano
        # passes config through the environment for `meltano test` (--config=ENV).
        config: dict[str, t.Any] = vars(PluginBase)["_env_var_config"].fget(cls)
        properties = cls.config_jsonschema.get("properties", {})
        for key, value in config.items():
            declared = properties.get(key, {}).get("type")
            types = declared if isinstance(declared, list) else [declared]
            if isinstance(value, str) and "number" in types and value.strip():
                config[key] = float(value)
        return config

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description="Base URL of the Mobilize API, including /v1.",
        ),
        th.Property(
            "api_key",
            th.StringType,
            secret=True,
            title="API key",
            description=(
                "Mobilize API key (sent as a Bearer token). Without it only public data is "
                "read: public approved events and deleted events; people and attendances "
                "are skipped with a warning."
            ),
        ),
        th.Property(
            "organization_id",
            th.IntegerType,
            required=True,
            title="Organization ID",
            description="Numeric id of the Mobilize organization to read.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "Lower bound (modified_date) of the first run. Ignored once a stream has a "
                "bookmark. Empty reads everything."
            ),
        ),
        th.Property(
            "per_page",
            th.IntegerType,
            default=100,
            title="Page size",
            description="Rows per page requested from Mobilize (its own default is 25).",
        ),
        th.Property(
            "lookback_seconds",
            th.IntegerType,
            default=300,
            title="Lookback seconds",
            description=(
                "Re-read this many seconds before each bookmark, because the updated_since "
                "bound's inclusiveness is undocumented and clocks drift."
            ),
        ),
        th.Property(
            "max_requests_per_second",
            th.NumberType,
            default=10,
            title="Max requests per second",
            description=(
                "Ceiling of the request rate shared by all streams. Mobilize allows 15 GET/s "
                "per IP: each 429 pauses every stream for its Retry-After and halves the "
                "rate, which then climbs back by about 1 request/s per second. 0 means no "
                "ceiling (unpaced until the first 429)."
            ),
        ),
        th.Property(
            "backoff_max_tries",
            th.IntegerType,
            default=DEFAULT_MAX_TRIES,
            title="Max attempts per request",
            description=(
                "Attempts per request on 5xx, 408, timeouts and dropped connections while "
                "Mobilize answers other requests, before the run fails (a --test run caps "
                "this at 3). 429s and outages do not use them up."
            ),
        ),
        th.Property(
            "time_budget_seconds",
            th.IntegerType(minimum=1),
            default=DEFAULT_TIME_BUDGET_SECONDS,
            title="Time budget (seconds)",
            description=(
                "Longest the run may take, 429 pauses and outage waits included. Once it "
                "is spent (or the next wait would pass it), the run stops with one error "
                "line and exit code 1."
            ),
        ),
        th.Property(
            "outage_seconds",
            th.IntegerType(minimum=0),
            default=DEFAULT_OUTAGE_SECONDS,
            title="Outage window (seconds)",
            description=(
                "How long Mobilize may answer nothing at all (5xx, dropped connections, "
                "and a probe GET /enums failing too) before the run stops with one error "
                "line. Meanwhile the tap waits (backoff up to 30 s) and these failures do "
                "not use up backoff_max_tries."
            ),
        ),
        th.Property(
            "recheck_recent_signups",
            th.BooleanType,
            default=True,
            title="Re-check recent signups",
            description=(
                "On incremental runs, also re-read every signup of the events that have a "
                "timeslot in the re-check window (see recheck_days_before/after), even if "
                "its modified_date did not change, because Mobilize does not say whether "
                "marking attended or editing a timeslot updates it. Costs one events list "
                "request plus one request per event in the window (more if paged), per run."
            ),
        ),
        th.Property(
            "recheck_days_before",
            th.IntegerType(minimum=0),
            default=2,
            title="Re-check days before",
            description=(
                "Re-check window: events with a timeslot starting up to this many days "
                "from now (timeslot_start <= now + days)."
            ),
        ),
        th.Property(
            "recheck_days_after",
            th.IntegerType(minimum=0),
            default=3,
            title="Re-check days after",
            description=(
                "Re-check window: events with a timeslot that ended up to this many days "
                "ago (timeslot_end >= now - days)."
            ),
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            default=60,
            title="Request timeout",
            description="Seconds to wait for one HTTP response before retrying.",
        ),
    ).to_dict()

    # One of each per run, shared by every stream (see MobilizeStream.rate).

    @cached_property
    def clock(self) -> Clock:
        """Time and sleeping for the rate, the retries and the budget (faked in tests)."""
        return Clock()

    @cached_property
    def rate(self) -> AdaptiveRate:
        """Request rate shared by every stream of this run, adapting to 429s."""
        return make_rate(self.config, self.clock)

    @cached_property
    def health(self) -> RunHealth:
        """Time budget and outage window of this run; the budget starts at first use."""
        return make_health(self.config, self.clock)

    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @property
    def streams(self) -> dict[str, Stream]:
        # The SDK sorts streams by name; sync parents first instead (organization,
        # events + timeslots, deleted_events, people, attendances) so a target that
        # writes as it reads meets an event before its deletion and its attendances.
        loaded = super().streams
        order = {name: i for i, name in enumerate(SYNC_ORDER)}
        if list(loaded) != sorted(loaded, key=lambda name: order.get(name, len(order))):
            reordered = dict(sorted(loaded.items(), key=lambda kv: order.get(kv[0], len(order))))
            loaded.clear()
            loaded.update(reordered)  # in place: the SDK caches and shares this dict
        return loaded

    def sync_all(self) -> None:  # type: ignore[misc]  # final for type checkers only
        """The SDK's sync, unchanged, between the run's markers (run_markers.py): a target can
        then tell a finished run from a failed or killed one."""
        markers = RunMarkers(self.message_writer)
        markers.started(self.state)
        try:
            super().sync_all()
        except BaseException as error:
            if self._stopped_by:
                markers.failed(f"stopped by {self._stopped_by} before it finished")
            else:
                markers.failed(failure_line(error, secrets=[self.config.get("api_key")]))
            raise
        markers.completed()

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        self._stopped_by = signal.Signals(signum).name
        super()._handle_termination(signum, frame)

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        with _one_line_fatal_errors(cls.logger), _refused_config_marked():
            super().invoke(*args, **kwargs)

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: one answer line on stdout, no record (connection_test.py);
        `--test=schema` as singer-sdk has it (schemas hold no personal data)."""
        if value != CliTestOptionValue.All.value:
            with _one_line_fatal_errors(cls.logger):
                super().cb_test(ctx, param, value)
            return
        passed, answer = connection_test.check(cls, ctx.params.get("config"))
        click.echo(answer)
        ctx.exit(0 if passed else 1)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        for option in command.params:
            if "--test" in option.opts:
                option.help = (
                    "Check the settings and the key: read the first page of every stream and "
                    "print one line, OK and what was read, or FAILED and why (no record is "
                    "written). --test=schema writes the schemas."
                )
        return command


if __name__ == "__main__":
    TapMobilize.cli()
