"""Operator commands answer first: no configuration chatter before `status`, `reconcile`,
`validate-mappings`, `last-run` and `--test` say what they found.

Meltano gives these commands their config through the environment (`--config=ENV`), and
singer-sdk logs at INFO how it read it: "Parsing env var for settings config..." on the
plugin's logger, then one "Parsing '<setting>' config from env variable ..." per setting on
`singer_sdk.configuration`. Those lines are quieted by logger level while the config is read,
and only then; warnings and errors still show, and everything does when the user asked for
DEBUG (TARGET_PDI_LOGLEVEL=DEBUG). A sync keeps its log as it is: under `meltano run` the
config comes in a file, so there is no such line to quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

CONFIG_LOGGER = "singer_sdk.configuration"


@contextmanager
def config_read_quietly(plugin_logger: logging.Logger) -> Iterator[None]:
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
