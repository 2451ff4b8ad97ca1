"""`tap-mobilize --test`: the credential check, one answer line, no record in the output.

singer-sdk's connection test reads the first record of every stream and writes it to stdout,
which `meltano test` prints: people's names, emails and phone numbers on an operator's terminal.
Here the same reads run with a message writer that discards every message, and stdout gets one
line saying what the key was checked against (`OK: ...`) or why it failed (`FAILED: ...`).
target-pdi's `status` reads that line; the log (stderr) keeps warnings and errors only.
"""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import Message
from singer_sdk.singerlib.encoding import GenericSingerWriter

from tap_mobilize.client import DEFAULT_API_URL
from tap_mobilize.errors import MobilizeFatalError

if t.TYPE_CHECKING:
    from tap_mobilize.tap import TapMobilize

OK = "OK"
FAILED = "FAILED"


class DiscardingWriter(GenericSingerWriter[str, Message]):
    """Writes no Singer message at all: a test's records must not reach any output."""

    def serialize_message(self, message: Message) -> str:
        return ""

    def write_message(self, message: Message) -> None:
        return None


def what_was_read(config: Mapping[str, t.Any]) -> str:
    """The answer of a test that read every stream: what the key gives access to."""
    organization = config.get("organization_id")
    where = str(config.get("api_url") or DEFAULT_API_URL).rstrip("/")
    if config.get("api_key"):
        return (
            f"{OK}: the API key reads organization {organization}'s events, people and "
            f"attendances at {where}"
        )
    # Without a key Mobilize serves public events only; the streams that need one were
    # skipped with a warning each, which is a valid setup for a warehouse of public events.
    return (
        f"{OK}, without an api_key: organization {organization}'s public events only, at "
        f"{where}; people and attendances need a key (set api_key)"
    )


def failure(reason: object) -> str:
    """The answer of a test that failed: the tap's own error, on one line."""
    text = " ".join(str(reason).split())
    return f"{FAILED}: {text}"


def check(tap_class: type[TapMobilize], config: t.Any) -> tuple[bool, str]:
    """(passed, the answer line) of the test with the CLI's config (its `--config` input).

    Reads one record of every stream, as singer-sdk's test does, with the key, the retries and
    the error messages of a sync. What fails is logged (stderr) as in a sync, once, and is the
    answer's reason: a refused key, an unreachable API, an invalid setting.
    """
    logger = tap_class.logger
    with warnings_only(logger):
        try:
            tap = tap_class(
                config=config.config if config else None,
                parse_env_config=bool(config.parse_env) if config else False,
                validate_config=True,
                message_writer=DiscardingWriter(),
            )
            tap.run_connection_test()
        except ConfigValidationError as exc:
            problems = "; ".join(str(e) for e in exc.errors) or str(exc)
            logger.error("Invalid config: %s", problems)  # noqa: TRY400 - no traceback
            return False, failure(f"invalid config: {problems}")
        except MobilizeFatalError as exc:
            logger.error("%s", exc)  # noqa: TRY400 - one line naming the setting is the point
            return False, failure(exc)
    return True, what_was_read(tap.config)


# singer-sdk's logger of "Parsing '<setting>' config from env variable ..." (one per setting).
CONFIG_LOGGER = "singer_sdk.configuration"


@contextmanager
def warnings_only(plugin_logger: logging.Logger) -> Iterator[None]:
    """The test's log without its INFO chatter (singer-sdk's "Parsing ... config" lines,
    "Beginning sync of ..."), by logger level. Warnings (a stream skipped for want of a key)
    and errors stay, and so does everything when the user asked for DEBUG
    (TAP_MOBILIZE_LOGLEVEL=DEBUG)."""
    loggers = [plugin_logger, logging.getLogger(CONFIG_LOGGER)]
    before = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        if logging.DEBUG < logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in before:
            logger.setLevel(level)
