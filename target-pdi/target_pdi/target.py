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

from target_pdi.credentials import require_credentials
from target_pdi.drain import Drain
from target_pdi.dry_run import saved_nothing_line
from target_pdi.errors import ConfigurationError, FatalError, RecordRejected, Stopped, TapFailed
from target_pdi.files_left_behind import warn_of_files_left_behind
from target_pdi.guarded_maps import GuardedMapper, Refusals
from target_pdi.idmap import organization_slug
from target_pdi.mapping_files import MappingError, Mappings, load_mappings
from target_pdi.pdi.tries import STOP, STOPPED_MESSAGE
from target_pdi.pdi_account import refuse_another_pdi
from target_pdi.quiet_config import config_read_quietly
from target_pdi.redact import redact, register_secret
from target_pdi.run_lock import holding
from target_pdi.run_summary import RunRecorder, print_last, written_where
from target_pdi.runtime import Runtime, log_in_once
from target_pdi.settings import Settings, config_schema, env_numbers, project_dir
from target_pdi.sinks import BufferSink, IgnoredSink
from target_pdi.summary import ProgressReporter, Summary, log_info
from target_pdi.tap_outcome import TapOutcome
from target_pdi.unread_input import discard_unread_input
from target_pdi.vocabulary import WRITTEN_STREAMS


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
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: Any = None,
        test: bool = False,
        validate_mappings: bool = False,
        reconcile: bool = False,
        fix: bool = False,
        status: bool = False,
        last_run: bool = False,
        retarget_id_map: bool = False,
    ) -> None:
        syncing: TargetPDI | None = None
        try:
            if last_run and not about:
                sys.exit(print_last(cls._from_cli(config).settings))
            if retarget_id_map and not about:
                from target_pdi.retarget import run_retarget

                sys.exit(run_retarget(cls._from_cli(config).settings))
            if (reconcile or status) and not about:
                target = cls._from_cli(config)
                if status:
                    from target_pdi.status import run_status

                    sys.exit(run_status(target))
                from target_pdi.reconcile import run_reconcile

                sys.exit(run_reconcile(target, fix=fix))
            if validate_mappings and not about:
                target = cls._from_cli(config)
                ok, message = target.validate_mappings()
                click.echo(message)
                sys.exit(0 if ok else 1)
            if test and not about:
                cls.print_version(print_fn=cls.logger.info)
                target = cls._from_cli(config)
                ok, message = target.run_connection_test()
                click.echo(message)
                sys.exit(0 if ok else 1)
            if about:
                super().invoke(
                    about=about, about_format=about_format, config=config, file_input=file_input
                )
                return
            # The SDK's Target.invoke, with `sync` (which records the run) for its `listen`.
            cls.print_version(print_fn=cls.logger.info)
            target = cls._from_cli(config, quietly=False)
            # The organization's run lock first: a second run of it stops here, having read,
            # written and recorded nothing (run_lock.py).
            syncing = target
            with holding(target.settings):
                target.sync(file_input)
        except TapFailed as exc:
            cls.logger.error(
                "target-pdi: the run failed: %s. What the tap sent before was written (or "
                "dead-lettered), and no bookmark passes the rest",
                exc,
            )
            sys.exit(1)
        except (FatalError, RecordRejected) as exc:
            # One clear line (no traceback, no secrets) and a non-zero exit; no STATE was written.
            # A RecordRejected gets here only from a request that serves no one record (the
            # calendars, a recovery search): the run cannot go on without it.
            cls.logger.error("target-pdi stopped: %s", redact(exc))
            commands = (
                about,
                test,
                validate_mappings,
                reconcile,
                status,
                last_run,
                retarget_id_map,
            )
            # A sync's input, also when its configuration refused the target as it was built.
            if not any(commands) and (syncing is None or not syncing.input_started):
                discard_unread_input(file_input)
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
        command.params.append(
            click.Option(
                ["--reconcile"],
                is_flag=True,
                help="Compare Mobilize (read through the project's tap) with PDI; print every "
                "discrepancy, write them as CSV, exit 1 when any is found.",
            )
        )
        command.params.append(
            click.Option(
                ["--fix"],
                is_flag=True,
                help="With --reconcile: mend what was found through the sync's writers, "
                "then reconcile again.",
            )
        )
        command.params.append(
            click.Option(
                ["--status"],
                is_flag=True,
                help="Print the last run (when, what changed, what failed), the dead letters "
                "waiting, and whether the PDI and Mobilize credentials work.",
            )
        )
        command.params.append(
            click.Option(
                ["--last-run"],
                is_flag=True,
                help="Print the last run's JSON summary on stdout (exit 1 when there is none).",
            )
        )
        command.params.append(
            click.Option(
                ["--retarget-id-map"],
                is_flag=True,
                help="Make the id map this PDI's (api_url, username) on purpose: forget the "
                "PDI ids it holds of another PDI, keep its tombstones; print what was done.",
            )
        )
        return command


if __name__ == "__main__":
    TargetPDI.cli()
