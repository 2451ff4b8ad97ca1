"""target-pdi: Singer target that upserts Mobilize data into PDI, exactly once.

Ordering: sinks only buffer; `_drain_all` (called by the SDK's final `drain_all`, and on the
5-minute record-age drain) writes one batch in dependency order through `SyncEngine`. The SDK
writes STATE only after `drain_all` returns and never when it raises, so a bookmark never passes
a record that is not in PDI or in the dead-letter file. The target never makes up STATE.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

import click
from singer_sdk import typing as th
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.mapper import PluginMapper
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

from target_pdi.client import STOP, STOPPED_MESSAGE, PDIClient
from target_pdi.deadletters import DeadLetterStore
from target_pdi.dry_run import DryRunClient
from target_pdi.errors import ConfigurationError, FatalError, RecordRejected, Stopped
from target_pdi.idmap import IdMap
from target_pdi.mapping_files import MappingError, Mappings, load_mappings, unknown_calendars
from target_pdi.redact import redact, register_secret
from target_pdi.routing import CalendarRouter
from target_pdi.sinks import WRITTEN_STREAMS, BufferSink, IgnoredSink
from target_pdi.summary import ProgressReporter, Summary, log_info
from target_pdi.sync import DEFAULT_APPROVAL_STATUSES, Batch, SyncEngine

# Dead letters are retried as what they are: records of the written streams, and cancels of
# removed timeslots (never as an events record without timeslots).
RETRIED_STREAMS = (*WRITTEN_STREAMS, "cancellations")
# A batch: enough records for the workers to overlap, few enough to redo after a crash.
DEFAULT_BATCH_ROWS = 1000
DEFAULT_BATCH_SECONDS = 60.0

CALENDAR_REF = th.CustomType({"type": ["string", "integer"]})


def project_dir() -> Path:
    return Path(os.environ.get("MELTANO_PROJECT_ROOT") or os.getcwd())


def default_id_map_url() -> str:
    return f"sqlite:///{project_dir() / '.meltano' / 'target-pdi' / 'idmap.sqlite'}"


def default_dead_letter_path() -> str:
    return str(project_dir() / ".meltano" / "target-pdi" / "dead_letters.jsonl")


class Runtime:
    """Everything one run needs once it talks to PDI (built lazily, at the first drain)."""

    def __init__(
        self, config: dict[str, Any], summary: Summary, mappings: Mappings | None = None
    ) -> None:
        dry_run = bool(config.get("dry_run", False))
        self.dry_run = dry_run
        client_class = DryRunClient if dry_run else PDIClient
        self.client = client_class(
            str(config.get("api_url") or "https://api.bluevote.com"),
            str(config.get("username") or ""),
            str(config.get("password") or ""),
            str(config.get("api_token") or ""),
            max_requests_per_second=float(config.get("max_requests_per_second") or 20),
            pool_size=int(config.get("max_concurrency") or 8),
            timeout=float(config.get("request_timeout") or 30),
            max_retries=int(config.get("max_retries", 6)),
            backoff_base=float(config.get("backoff_base_seconds", 0.5)),
            outage_seconds=float(config.get("outage_seconds") or 600),
            time_budget_seconds=float(config.get("time_budget_seconds") or 14400),
        )
        calendars_file = mappings.calendars if mappings else None
        self.router = router_for(config, mappings)
        # Fatal before any write: bad credentials, unknown calendar names/ids.
        self.client.login()
        calendars = self.client.list_all("/calendars")
        if calendars_file is not None:
            problems = unknown_calendars(calendars_file, calendars)
            if problems:
                raise ConfigurationError(str(MappingError(problems)))
        self.router.resolve(calendars)
        self.idmap = IdMap(str(config.get("id_map_url") or default_id_map_url()), read_only=dry_run)
        self.deadletters = DeadLetterStore(
            str(config.get("dead_letter_path") or default_dead_letter_path()), dry_run=dry_run
        )
        self.engine = SyncEngine(
            self.client,
            self.idmap,
            self.router,
            self.deadletters,
            summary,
            max_concurrency=int(config.get("max_concurrency") or 8),
            sync_all_people=bool(config.get("sync_all_people", False)),
            approval_statuses=config.get("approval_statuses") or DEFAULT_APPROVAL_STATUSES,
            recovery_window_days=float(config.get("recovery_window_days") or 30),
        )
        self.retry_pending = True

    def close(self) -> None:
        self.idmap.close()
        self.client.close()


def router_for(config: dict[str, Any], mappings: Mappings | None) -> CalendarRouter:
    """Routing from calendars_file, overlaid by event_type_calendars and default_calendar."""
    table: dict[str, Any] = {}
    default = config.get("default_calendar")
    calendars_file = mappings.calendars if mappings else None
    if calendars_file is not None:
        table.update(calendars_file.event_types)
        if default in (None, ""):
            default = calendars_file.default_calendar
    table.update(config.get("event_type_calendars") or {})
    if calendars_file is None:
        return CalendarRouter(table, default)
    return CalendarRouter(
        table,
        default,
        mapping_setting=f"{calendars_file.file} event_types",
        default_setting=f"{calendars_file.file} default_calendar",
    )


class TargetPDI(Target):
    """Upserts Mobilize events, people and signups into PDI, exactly once."""

    name = "target-pdi"

    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:
        # singer-sdk turns environment strings into integers, booleans, arrays and objects
        # but leaves "number" settings as strings, which then fail validation; Meltano
        # passes config through the environment for `meltano test` (--config=ENV).
        config: dict[str, Any] = vars(PluginBase)["_env_var_config"].fget(cls)
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
            default="https://api.bluevote.com",
            description="PDI API base URL",
        ),
        th.Property("username", th.StringType, secret=True, description="PDI API username"),
        th.Property("password", th.StringType, secret=True, description="PDI API password"),
        th.Property("api_token", th.StringType, secret=True, description="PDI API token"),
        th.Property(
            "id_map_url",
            th.StringType,
            description="SQLAlchemy URL of the id map (default "
            "sqlite:///<project>/.meltano/target-pdi/idmap.sqlite, "
            "<project> = MELTANO_PROJECT_ROOT or cwd)",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            description="Read PDI, log the plan, write nothing",
        ),
        th.Property(
            "max_concurrency", th.IntegerType, default=8, description="Concurrent PDI requests"
        ),
        th.Property(
            "max_requests_per_second",
            th.NumberType,
            default=20,
            description="Ceiling of the PDI request rate shared by all workers; on a 429 "
            "every worker pauses for its Retry-After and the rate halves, then climbs back",
        ),
        th.Property(
            "dead_letter_path",
            th.StringType,
            description="JSONL of rejected records "
            "(default <project>/.meltano/target-pdi/dead_letters.jsonl)",
        ),
        th.Property(
            "default_calendar",
            CALENDAR_REF,
            description="PDI calendar (name or id) for event types not in event_type_calendars",
        ),
        th.Property(
            "event_type_calendars",
            th.CustomType(
                {"type": "object", "additionalProperties": {"type": ["string", "integer"]}}
            ),
            description="Mobilize event type (e.g. CANVASS) -> PDI calendar name or id",
        ),
        th.Property(
            "calendars_file",
            th.StringType,
            description="YAML file routing Mobilize event types to PDI calendars "
            "(mappings/calendars.yml); relative to the Meltano project",
        ),
        th.Property(
            "fields_file",
            th.StringType,
            description="YAML file saying which Mobilize field feeds which PDI field "
            "(mappings/fields.yml), applied as stream maps; relative to the Meltano project",
        ),
        th.Property(
            "sync_all_people",
            th.BooleanType,
            default=False,
            description="Create contacts for every person, not only those who signed up",
        ),
        th.Property(
            "approval_statuses",
            th.ArrayType(th.StringType),
            default=list(DEFAULT_APPROVAL_STATUSES),
            description="Mobilize approval statuses whose events go to PDI (APPROVED, "
            "NEEDS_APPROVAL, REJECTED, NEEDS_HOST_VERIFICATION). An event that leaves them is "
            "canceled in PDI, and restored if it comes back",
        ),
        th.Property(
            "recovery_window_days",
            th.NumberType,
            default=30,
            description="When the id map does not know a Mobilize event (it is new, or the map "
            "was lost), its PDI events are looked up by their Mobilize link within this many "
            "days of its timeslots",
        ),
        th.Property(
            "request_timeout", th.NumberType, default=30, description="Seconds per PDI request"
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=6,
            description="Retries of a PDI request that fails (5xx, no answer) while PDI answers "
            "others; then its record goes to the dead letters. 429s use up no retries",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=DEFAULT_BATCH_ROWS,
            description="Records read before they are written to PDI and a bookmark saved "
            "(events, deleted events, people and signups counted together)",
        ),
        th.Property(
            "batch_wait_seconds",
            th.NumberType,
            default=DEFAULT_BATCH_SECONDS,
            description="Longest a read record waits before its batch is written",
        ),
        th.Property(
            "outage_seconds",
            th.IntegerType,
            default=600,
            description="How long PDI may answer nothing at all before the run stops "
            "(it waits, and goes on where it was when PDI is back)",
        ),
        th.Property(
            "time_budget_seconds",
            th.IntegerType,
            default=14400,
            description="Longest a run may take, 429 back-offs included; then it stops and "
            "the next run goes on from the last bookmark",
        ),
        th.Property(
            "backoff_base_seconds",
            th.NumberType,
            default=0.5,
            description="First retry delay (doubles, jittered)",
        ),
    ).to_dict()

    default_sink_class = BufferSink

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.mappings = Mappings()
        super().__init__(*args, **kwargs)
        for key in ("password", "api_token"):
            register_secret(self.config.get(key))
        self.summary = Summary()
        self._runtime: Runtime | None = None
        self._progress: ProgressReporter | None = None
        self._held: dict[str, list[dict[str, Any]]] = {}
        self._held_sinks: list[Sink] = []
        self._buffered = 0  # records of written streams not yet drained
        self._draining = False
        self._batch_started = time.monotonic()

    def setup_mapper(self) -> None:
        """Check the mapping files (before any input is read) and add fields_file's stream maps.

        The field correspondences are ordinary singer-sdk stream maps, so the SDK evaluates
        them on each record before any sink code; maps given in `stream_maps` win.
        """
        try:
            self.mappings = load_mappings(self.config, project_dir())
        except MappingError as exc:
            raise ConfigurationError(str(exc)) from None
        for problem in self.mappings.calendars.warnings if self.mappings.calendars else []:
            self.logger.warning("%s", problem)
        config = dict(self.config)
        if self.mappings.fields is not None:
            config["stream_maps"] = {
                **self.mappings.fields.stream_maps(),
                **(config.get("stream_maps") or {}),
            }
        self._mapper = PluginMapper(plugin_config=config, logger=self.logger)

    def _process_record_message(self, message_dict: dict) -> None:
        if STOP.is_set():
            raise Stopped(STOPPED_MESSAGE)
        if self._progress is None:
            # Log in and check the calendars at the first record, not at the first batch:
            # bad credentials stop the run before it reads on (it writes nothing either way).
            self.runtime()
            self._progress = ProgressReporter(self.summary, log_info(self.logger)).start()
            self._batch_started = time.monotonic()
        stream = str(message_dict.get("stream"))
        self.summary.read[stream] += 1
        super()._process_record_message(message_dict)
        if stream in WRITTEN_STREAMS:
            self._buffered += 1
        self._drain_when_due()

    def _process_state_message(self, message_dict: dict) -> None:
        super()._process_state_message(message_dict)
        self._drain_when_due()  # a slow tap's last records do not wait for the next record

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM or SIGINT: stop cleanly, never as the SDK does.

        The SDK's handler drains every sink, emits STATE and exits 0, from inside whatever the
        main thread was doing: in the middle of a batch, that STATE would pass records not yet
        written. Here no request starts after the signal, the ones in flight finish, the id map
        is saved, no STATE follows, and the run exits 1 with one line (invoke).
        """
        STOP.set()
        if not getattr(self, "_draining", False):  # the SDK installs this before our __init__
            raise Stopped(STOPPED_MESSAGE)  # reading input: nothing in flight, nothing unsaved

    def _drain_when_due(self) -> None:
        """Bounded batches: a crash loses at most one, memory stays flat, and STATE (emitted by
        the SDK's drain_all after our ordered write) follows the work as it is done."""
        limit = int(self.config.get("batch_size_rows") or DEFAULT_BATCH_ROWS)
        wait = float(self.config.get("batch_wait_seconds") or DEFAULT_BATCH_SECONDS)
        if self._buffered >= limit or (
            self._buffered and time.monotonic() - self._batch_started >= wait
        ):
            self.drain_all()

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return BufferSink if stream_name in WRITTEN_STREAMS else IgnoredSink

    # --- draining ------------------------------------------------------------------------------

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(dict(self.config), self.summary, self.mappings)
        return self._runtime

    def _take(self, sinks: Iterable[Sink]) -> None:
        for sink in sinks:
            if isinstance(sink, BufferSink):
                records = sink.take_records()
                if isinstance(sink, IgnoredSink):
                    continue
                self._held.setdefault(sink.stream_name, []).extend(records)
            self._held_sinks.append(sink)

    def _drain_all(self, sink_list: Iterable[Sink], parallelism: int) -> None:
        """Replace the SDK's parallel per-sink drain by one ordered write of everything buffered."""
        if sink_list is self._sinks_to_clear:
            # Sinks archived by a schema change: hold their records for the ordered drain next.
            self._take(list(sink_list))
            return
        self._take(list(sink_list))
        self._buffered = 0
        self._batch_started = time.monotonic()
        held, self._held = self._held, {}
        sinks, self._held_sinks = self._held_sinks, []
        batch = Batch(
            events=held.get("events", []),
            deleted_events=held.get("deleted_events", []),
            people=held.get("people", []),
            attendances=held.get("attendances", []),
        )
        dead_letter_file = Path(
            str(self.config.get("dead_letter_path") or default_dead_letter_path())
        )
        retry_possible = self._runtime is None and dead_letter_file.exists()
        if (
            len(batch)
            or retry_possible
            or (self._runtime is not None and self._runtime.retry_pending)
        ):
            runtime = self.runtime()
            self._draining = True
            try:
                if runtime.retry_pending:
                    runtime.retry_pending = False
                    self._retry_dead_letters(runtime, batch)
                if len(batch):
                    runtime.engine.run(batch)
            finally:
                # Also when the run stops mid-batch (SIGTERM, an outage): what was written is
                # known next time, so nothing is created twice.
                self._draining = False
                runtime.idmap.flush()
            # Not on a stop: the file would lose the old dead letters not yet retried. This
            # batch's are not lost: no STATE passes its records, so they are read again.
            runtime.deadletters.save()
        for sink in sinks:
            sink.mark_drained()

    def _retry_dead_letters(self, runtime: Runtime, batch: Batch) -> None:
        """Records rejected by earlier runs go first; a record also in this batch is left to it."""
        entries = runtime.deadletters.load()
        if not entries:
            return
        fresh = {
            (stream, str(r.get("id"))) for stream in WRITTEN_STREAMS for r in getattr(batch, stream)
        }
        retry = Batch(retry=True)
        for entry in entries:
            stream, record = entry["stream"], entry["record"]
            if stream not in RETRIED_STREAMS or (stream, str(entry.get("key"))) in fresh:
                continue
            getattr(retry, stream).append(record)
        self.summary.dead_letters_retried += len(retry)
        self.logger.info("Retrying %d dead-lettered records from previous runs first", len(retry))
        if len(retry):
            runtime.engine.run(retry)

    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
        finally:
            if self._progress is not None:
                self._progress.stop()
            runtime = self._runtime
            requests = runtime.client.requests_by_method if runtime else {}
            for line in self.summary.lines(requests, dry_run=bool(self.config.get("dry_run"))):
                self.logger.info(line)
            if runtime is not None:
                runtime.close()

    # --- --test and fatal errors -----------------------------------------------------------------

    def run_connection_test(self) -> tuple[bool, str]:
        """Log in and list calendars; resolve the calendar settings too (same checks as a run)."""
        try:
            runtime = Runtime({**dict(self.config), "dry_run": True}, self.summary, self.mappings)
        except FatalError as exc:
            return False, f"FAILED: {redact(exc)}"
        names = sorted(runtime.router.calendar_names.values())
        runtime.client.close()
        return (
            True,
            f"OK: logged in to PDI at {runtime.client.base_url}; "
            f"calendars: {', '.join(names) or 'none'}",
        )

    def validate_mappings(self) -> tuple[bool, str]:
        """The same checks a sync runs before its first write, without reading any input.

        The files were already checked offline when the target was built (setup_mapper);
        this adds the PDI side: log in and look up every calendar.
        """
        found = self.mappings
        files = [m.file for m in (found.calendars, found.fields) if m is not None]
        try:
            runtime = Runtime({**dict(self.config), "dry_run": True}, self.summary, found)
        except FatalError as exc:
            return False, f"FAILED: {redact(exc)}"
        runtime.client.close()
        routes = len(found.calendars.event_types) if found.calendars else 0
        mapped_fields = sum(len(f) for f in found.fields.streams.values()) if found.fields else 0
        return True, (
            f"OK: {', '.join(files) or 'no mapping files configured'}: "
            f"{routes} event types routed, {mapped_fields} field correspondences; "
            "every calendar exists in PDI"
        )

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: Any = None,
        test: bool = False,
        validate_mappings: bool = False,
    ) -> None:
        try:
            if validate_mappings and not about:
                target = cls(
                    config=config.config if config else None,
                    validate_config=True,
                    parse_env_config=bool(config.parse_env) if config else False,
                )
                ok, message = target.validate_mappings()
                click.echo(message)
                sys.exit(0 if ok else 1)
            if test and not about:
                cls.print_version(print_fn=cls.logger.info)
                target = cls(
                    config=config.config if config else None,
                    validate_config=True,
                    parse_env_config=bool(config.parse_env) if config else False,
                )
                ok, message = target.run_connection_test()
                click.echo(message)
                sys.exit(0 if ok else 1)
            super().invoke(
                about=about, about_format=about_format, config=config, file_input=file_input
            )
        except (FatalError, RecordRejected) as exc:
            # One clear line (no traceback, no secrets) and a non-zero exit; no STATE was written.
            # A RecordRejected gets here only from a request that serves no one record (the
            # calendars, a recovery search): the run cannot go on without it.
            cls.logger.error("target-pdi stopped: %s", redact(exc))
            sys.exit(1)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        command.params.append(
            click.Option(
                ["--test"],
                is_flag=True,
                help="Log in to PDI, list calendars, check calendar settings; print OK or why not.",
            )
        )
        command.params.append(
            click.Option(
                ["--validate-mappings"],
                is_flag=True,
                help="Check calendars_file and fields_file (schema, event types, expressions) "
                "and that every calendar exists in PDI; print OK or each problem.",
            )
        )
        return command


if __name__ == "__main__":
    TargetPDI.cli()
