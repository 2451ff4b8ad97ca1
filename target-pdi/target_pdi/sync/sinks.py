"""The sinks: they validate and buffer records, nothing more; drain.py takes and writes them.

The SDK drains a sink on its own when `is_full` and drains different sinks in parallel threads; both
would break "an invitation is never written before its event and contact exist". So `is_full` is
never true, and `Drain` (drain.py) takes every sink's buffer (`start_drain`), writes all of them
as one ordered batch and then releases the sinks (`mark_drained`).
"""

from __future__ import annotations

import contextlib
from functools import cached_property
from typing import Any

import fastjsonschema
from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.helpers._typing import get_datelike_property_type
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator

# Where a sink's batch context holds its buffered records.
RECORDS = "records"


class CompiledValidator(BaseJSONSchemaValidator):
    """Record validation compiled once per schema.

    The SDK's default (jsonschema) took about 90% of the time spent reading input: an
    attendance embeds a whole event, person and sponsor.

    A record that does not match is kept (the sync takes what it can of it, and refuses it
    with its own reason when it cannot: planning/poison.py), with one warning line per stream and
    problem, never the SDK's traceback per record.
    """

    def __init__(self, schema: dict[str, Any], stream: str = "", logger: Any = None) -> None:
        super().__init__(schema)
        self._check = fastjsonschema.compile(schema)
        self.stream = stream
        self.logger = logger
        self._told: set[str] = set()

    def validate(self, record: dict[str, Any]) -> None:
        try:
            self._check(record)
        except fastjsonschema.JsonSchemaValueException as exc:
            if self.logger is None:
                message = f"Record Message Validation Error: {exc.message}"
                raise InvalidRecord(message, record) from exc
            # The message names the field and the type expected, never the value (which can
            # be personal data).
            if exc.message not in self._told:
                self._told.add(exc.message)
                self.logger.warning(
                    "Stream '%s': record %s does not match the tap's schema (%s): kept, and "
                    "written if the sync can use it (said once per stream and problem)",
                    self.stream,
                    str(record.get("id") if isinstance(record, dict) else None)[:40],
                    exc.message,
                )


class BufferSink(BatchSink):
    # Be tolerant of records that do not match the tap's schema (extra/missing fields): log, keep.
    fail_on_record_validation_exception = False

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        if not self.validate_schema:
            return None
        try:
            return CompiledValidator(self.schema, self.stream_name, self.logger)
        except fastjsonschema.JsonSchemaDefinitionException:
            return super().get_validator()

    @property
    def is_full(self) -> bool:
        return False

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: Any) -> None:
        """The SDK's pass, given only the properties it acts on: the date-like ones, and those
        the schema lacks (it warns of them). It looked up every property's schema of every
        record, and Mobilize's times are numbers: for an attendance, nothing to do."""
        properties = schema["properties"]
        datelike = self._datelike if schema is self.schema else datelike_properties(schema)
        keys = [key for key in record if key in datelike or key not in properties]
        if not keys:
            return
        subset = {key: record[key] for key in keys}
        super()._parse_timestamps_in_record(record=subset, schema=schema, treatment=treatment)
        record.update((key, subset[key]) for key in keys if key in datelike)

    @cached_property
    def _datelike(self) -> frozenset[str]:
        return datelike_properties(self.schema)

    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        """A record without its key property is kept (the SDK raises, which stopped the run):
        without an id it is masked, skipped and counted by the plan like any other."""
        with contextlib.suppress(MissingKeyPropertiesError):
            super()._singer_validate_message(record)

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        context.setdefault(RECORDS, []).append(record)

    def process_batch(self, context: dict[str, Any]) -> None:  # pragma: no cover - never called
        raise RuntimeError("target-pdi drains its sinks itself (drain.Drain.write)")


class IgnoredSink(BufferSink):
    """`timeslots` (events carry them), `organization`, unknown streams: read and dropped."""

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return None  # nothing is written, so nothing to check

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        context["ignored"] = int(context.get("ignored", 0)) + 1


def datelike_properties(schema: dict) -> frozenset[str]:
    """The top-level properties the SDK parses to dates and times."""
    return frozenset(
        name for name, prop in schema["properties"].items() if get_datelike_property_type(prop)
    )
