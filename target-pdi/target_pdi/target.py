"""target-pdi: the Singer target's wiring (settings, sinks, drain, the SDK's hooks) and its CLI.

Ordering: sinks only buffer (sinks.py); the SDK's `drain_all` (every batch, at the end of input,
on the 5-minute record-age drain) calls `_drain_all`, which hands the sinks to `Drain.write`
(drain.py): one batch written in dependency order. The SDK writes STATE only after `drain_all`
returns and never when it raises, so a bookmark never passes a record that is not in PDI or in
the dead-letter file. The target never makes up STATE, and a dry run passes none on. The private
SDK methods overridden here are all in the "SDK hooks" section, and tests/test_sdk_contract.py
pins what they rely on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import asdict, replace
from functools import cached_property
from types import FrameType
from typing import IO, Any, cast

import click
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

from target_pdi import cli
from target_pdi.configuration.credentials import require_credentials
from target_pdi.configuration.mapping_files import Mappings, load_mappings
from target_pdi.configuration.mapping_problems import MappingError
from target_pdi.configuration.quiet_config import config_read_quietly
from target_pdi.configuration.settings import Settings, config_schema, env_numbers, project_dir
from target_pdi.errors import ConfigurationError, FatalError, Stopped, TapFailed
from target_pdi.operator_tools.files_left_behind import warn_of_files_left_behind
from target_pdi.operator_tools.run_summary import RunRecorder, written_where
from target_pdi.pdi.client import STOP, STOPPED_MESSAGE
from target_pdi.pdi.dry_run import saved_nothing_line
from target_pdi.redact import redact, register_secret
from target_pdi.rules.vocabulary import WRITTEN_STREAMS
from target_pdi.stores.id_map_table import organization_slug
from target_pdi.stores.pdi_account import refuse_another_pdi
from target_pdi.sync.drain import Drain
from target_pdi.sync.guarded_maps import GuardedMapper, Refusals
from target_pdi.sync.runtime import Runtime, log_in_once
from target_pdi.sync.sinks import BufferSink, IgnoredSink
from target_pdi.sync.summary import ProgressReporter, Summary, log_info
from target_pdi.sync.tap_outcome import TapOutcome


class TargetPDI(Target):
    """Upserts Mobilize events, people and signups into PDI, exactly once."""

    name = "target-pdi"
    config_jsonschema = config_schema()
    default_sink_class = BufferSink

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.mappings = Mappings()
        self.refusals = Refusals()  # records a stream map raised on (guarded_maps.py)
        super().__init__(*args, **kwargs)  # calls setup_mapper
        if self.settings.organization:
            # Refused before anything is read: a name sharing another's tables and lock.
            organization_slug(self.settings.organization)
        register_secret(self.settings.password)
        register_secret(self.settings.api_token)
        self.summary = Summary()
        self.drain = Drain(self.settings, self.summary, self.mappings, self.logger)
        self.drain.mapper = cast(GuardedMapper, self.mapper)
        self._progress: ProgressReporter | None = None
        self.input_started = False  # invoke drops the input of a sync that never read it
        self.tap_outcome = TapOutcome()  # how the tap ended, from its markers

    @cached_property
    def settings(self) -> Settings:
        """The config, read once (after the SDK has validated it)."""
        return Settings.from_config(self.config)

    def setup_mapper(self) -> None:
        """Check the mapping files (before any input is read) and add fields_file's stream maps.

        The field correspondences are ordinary singer-sdk stream maps, so the SDK evaluates
        them on each record before any sink code; maps given in `stream_maps` win.
        """
        try:
            self.mappings = load_mappings(asdict(self.settings), project_dir())
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
        self._mapper = GuardedMapper(
            plugin_config=config, logger=self.logger, refusals=self.refusals
        )

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return BufferSink if stream_name in WRITTEN_STREAMS else IgnoredSink

    def sync(self, file_input: IO[str] | None = None) -> None:
        """A sync (the SDK's `listen`): PDI credentials checked before the first line of input,
        and the run's JSON summary written when it ends, however it ends (run_summary.py).
        A tap that failed or ended without finishing fails the run (tap_outcome.py), once
        what it sent is written."""
        recorder = RunRecorder(self.settings, self.summary)
        error: BaseException | None = None
        try:
            require_credentials(self.settings)
            # Another PDI's id map is refused before any write (pdi_account.py).
            refuse_another_pdi(self.settings, lambda: log_in_once(self.settings))
            warn_of_files_left_behind(self.settings)
            self.input_started = True
            source = file_input if file_input is not None else sys.stdin
            # The SDK only iterates over its input.
            self.listen(cast(IO[str], self.tap_outcome.lines(source)))
            self.tap_outcome.warn_if_unmarked(self.logger)
            if failure := self.tap_outcome.failure():
                raise TapFailed(failure)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if self._progress is not None:
                self._progress.stop()
            runtime = self.drain.runtime
            recorder.finish(
                error,
                runtime.client.requests_by_method if runtime else {},
                tap=self.tap_outcome.as_summary(),
            )
            if self.settings.dry_run:
                self.logger.info(saved_nothing_line(written_where(self.settings)))

    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
        finally:
            if self._progress is not None:
                self._progress.stop()
            runtime = self.drain.runtime
            requests = runtime.client.requests_by_method if runtime else {}
            for line in self.summary.lines(requests, dry_run=self.settings.dry_run):
                self.logger.info(line)
            if runtime is not None:
                self.logger.info(runtime.client.describe_pace())
                runtime.close()

    # --- SDK hooks: private singer-sdk methods, pinned by tests/test_sdk_contract.py ------------

    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:
        config: dict[str, Any] = vars(PluginBase)["_env_var_config"].fget(cls)
        return env_numbers(config, cls.config_jsonschema)

    def _process_record_message(self, message_dict: dict) -> None:
        if STOP.is_set():
            raise Stopped(STOPPED_MESSAGE)
        if self._progress is None:
            self.drain.start()  # log in and check the calendars at the first record
            self._progress = ProgressReporter(self.summary, log_info(self.logger)).start()
        stream = str(message_dict.get("stream"))
        self.summary.read[stream] += 1
        super()._process_record_message(message_dict)
        self.drain.count(stream)
        if self.drain.due:
            self.drain_all()

    def _process_state_message(self, message_dict: dict) -> None:
        if self.tap_outcome.see(message_dict):
            return  # a failure marker: its value is no new state
        super()._process_state_message(message_dict)
        if self.drain.due:  # a slow tap's last records do not wait for the next record
            self.drain_all()

    def _write_state_message(self, state: dict) -> None:
        """No STATE on a dry run: Meltano would save it, and the next real run would start after
        changes that never reached PDI."""
        if not self.settings.dry_run:
            super()._write_state_message(state)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM or SIGINT: stop cleanly, never as the SDK does.

        The SDK's handler drains every sink, emits STATE and exits 0, from inside whatever the
        main thread was doing: in the middle of a batch, that STATE would pass records not yet
        written. Here no request starts after the signal, the ones in flight finish, the id map
        is saved, no STATE follows, and the run exits 1 with one line (invoke).
        """
        STOP.set()
        drain = getattr(self, "drain", None)  # the SDK installs this before our __init__ ends
        if drain is None or not drain.draining:
            raise Stopped(STOPPED_MESSAGE)  # reading input: nothing in flight, nothing unsaved

    def _drain_all(self, sink_list: Iterable[Sink], parallelism: int) -> None:
        """Replace the SDK's parallel per-sink drain by one ordered write of everything buffered."""
        if sink_list is self._sinks_to_clear:
            self.drain.hold(sink_list)  # archived by a schema change: written with the rest next
        else:
            self.drain.write(sink_list)

    # --- --test and fatal errors -----------------------------------------------------------------

    def run_connection_test(self) -> tuple[bool, str]:
        """Log in and list calendars; resolve the calendar settings too (same checks as a run)."""
        try:
            runtime = Runtime(replace(self.settings, dry_run=True), self.summary, self.mappings)
        except FatalError as exc:
            return False, f"FAILED: {redact(exc)}"
        names = sorted(runtime.router.calendar_names.values())
        runtime.client.close()
        return (
            True,
            f"OK: logged in to PDI at {runtime.client.base_url} as the configured user; "
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
            runtime = Runtime(replace(self.settings, dry_run=True), self.summary, found)
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
    def _from_cli(cls, config: Any, *, quietly: bool = True) -> TargetPDI:
        """The target for the CLI's --config (a file, or ENV), validated, as the SDK builds it;
        quietly: without the SDK's lines on how it read the config (quiet_config.py)."""
        with config_read_quietly(cls.logger) if quietly else nullcontext():
            return cls(
                config=config.config if config else None,
                validate_config=True,
                parse_env_config=bool(config.parse_env) if config else False,
            )

    @classmethod
    def invoke(
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: Any = None,
        **commands: bool,
    ) -> None:
        """The SDK's --about, else an operator's command or a sync (cli.py)."""
        if about:
            super().invoke(
                about=about, about_format=about_format, config=config, file_input=file_input
            )
            return
        cli.run(
            cli.Commands(**commands),
            config,
            file_input,
            build=cls._from_cli,
            announce=lambda: cls.print_version(print_fn=cls.logger.info),
        )

    @classmethod
    def get_singer_command(cls) -> click.Command:
        return cli.add_options(super().get_singer_command())


if __name__ == "__main__":
    TargetPDI.cli()
