"""target-pdi's command line: the operator's commands beside the SDK's sync.

Without one of the options below, `target-pdi` syncs (the SDK's `listen`, with the run
recorded, under the organization's run lock). Each option runs one operator's command on the
target its --config builds and exits with that command's status. A stop (bad configuration,
PDI down, SIGTERM, a failed tap) is one line and exit 1, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

import click

from target_pdi.errors import FatalError, RecordRejected, TapFailed
from target_pdi.operator_tools.configured_target import ConfiguredTarget
from target_pdi.operator_tools.run_summary import print_last
from target_pdi.redact import redact
from target_pdi.stores.run_lock import holding
from target_pdi.sync.unread_input import discard_unread_input

LOGGER = logging.getLogger("target-pdi")

OPTIONS = (
    ("--test", "Log in to PDI, list calendars, check calendar settings; print OK or why not."),
    (
        "--validate-mappings",
        "Check calendars_file and fields_file (schema, event types, expressions) and that every "
        "calendar exists in PDI; print OK or each problem.",
    ),
    (
        "--reconcile",
        "Compare Mobilize (read through the project's tap) with PDI; print every discrepancy, "
        "write them as CSV, exit 1 when any is found.",
    ),
    (
        "--fix",
        "With --reconcile: mend what was found through the sync's writers, then reconcile again.",
    ),
    (
        "--status",
        "Print the last run (when, what changed, what failed), the dead letters waiting, and "
        "whether the PDI and Mobilize credentials work.",
    ),
    ("--last-run", "Print the last run's JSON summary on stdout (exit 1 when there is none)."),
    (
        "--retarget-id-map",
        "Make the id map this PDI's (api_url, username) on purpose: forget the PDI ids it holds "
        "of another PDI, keep its tombstones; print what was done.",
    ),
)


class CommandTarget(ConfiguredTarget, Protocol):
    """The target as the command line drives it."""

    input_started: bool

    def validate_mappings(self) -> tuple[bool, str]: ...

    def run_connection_test(self) -> tuple[bool, str]: ...

    def sync(self, file_input: IO[str] | None = None) -> None: ...


class Build(Protocol):
    """Builds the target from the CLI's --config, validated (quietly: without the SDK's lines
    on how it read the config)."""

    def __call__(self, config: Any, *, quietly: bool = True) -> CommandTarget: ...


@dataclass(frozen=True)
class Commands:
    """The operator's options given on the command line (their click parameter names)."""

    test: bool = False
    validate_mappings: bool = False
    reconcile: bool = False
    fix: bool = False  # only with --reconcile: alone it is a sync
    status: bool = False
    last_run: bool = False
    retarget_id_map: bool = False

    def any(self) -> bool:
        return any(
            (
                self.test,
                self.validate_mappings,
                self.reconcile,
                self.status,
                self.last_run,
                self.retarget_id_map,
            )
        )


def add_options(command: click.Command) -> click.Command:
    command.params.extend(click.Option([flag], is_flag=True, help=text) for flag, text in OPTIONS)
    return command


def run(
    commands: Commands,
    config: Any,
    file_input: IO[str] | None,
    build: Build,
    announce: Callable[[], None],
) -> None:
    """Run the command given, or sync; exit with its status. ``announce`` logs the version."""
    syncing: CommandTarget | None = None
    try:
        status = operator_command(commands, config, build, announce)
        if status is not None:
            sys.exit(status)
        announce()
        syncing = build(config, quietly=False)
        # The organization's run lock first: a second run of it stops here, having read,
        # written and recorded nothing (run_lock.py).
        with holding(syncing.settings):
            syncing.sync(file_input)
    except TapFailed as exc:
        LOGGER.error(
            "target-pdi: the run failed: %s. What the tap sent before was written (or "
            "dead-lettered), and no bookmark passes the rest",
            exc,
        )
        sys.exit(1)
    except (FatalError, RecordRejected) as exc:
        # One clear line (no traceback, no secrets) and a non-zero exit; no STATE was written.
        # A RecordRejected gets here only from a request that serves no one record (the
        # calendars, a recovery search): the run cannot go on without it.
        LOGGER.error("target-pdi stopped: %s", redact(exc))
        # A sync's input, also when its configuration refused the target as it was built.
        if not commands.any() and (syncing is None or not syncing.input_started):
            discard_unread_input(file_input)
        sys.exit(1)


def operator_command(
    commands: Commands, config: Any, build: Build, announce: Callable[[], None]
) -> int | None:
    """The exit status of the operator's command given; None when there is none (a sync)."""
    if commands.last_run:
        return print_last(build(config).settings)
    if commands.retarget_id_map:
        from target_pdi.operator_tools.retarget import run_retarget

        return run_retarget(build(config).settings)
    if commands.status:
        from target_pdi.operator_tools.status import run_status

        return run_status(build(config))
    if commands.reconcile:
        from target_pdi.operator_tools.reconcile import run_reconcile

        return run_reconcile(build(config), fix=commands.fix)
    if commands.validate_mappings:
        return _echoed(build(config).validate_mappings())
    if commands.test:
        announce()
        return _echoed(build(config).run_connection_test())
    return None


def _echoed(outcome: tuple[bool, str]) -> int:
    ok, message = outcome
    click.echo(message)
    return 0 if ok else 1
