"""Rows in the shape the catalog promises: a value of another JSON type than its schema's is
emitted as null, with one warning per stream and field.

The tap's output is the faithful Mobilize shape, loaded by target-pdi and by warehouses alike,
and Singer's contract is that a RECORD matches its SCHEMA: a loader that validates (singer-sdk
targets do by default) stops on the first record that does not, and so would every run after
it, since the same row comes back until Mobilize changes it. Mobilize documents every field's
type, so a value of another type is not something to guess at (a date as a word, an id as a
list): it becomes null, which every field but a stream's key allows, and the log says which
field of which stream. A row whose own id is not an integer is masked (skipped and counted).
The replication key is always present (null when missing), so the bookmark logic can read it.

Where a stream lets it (``leaves_out_unmapped``), the shaper also does, in the same walk, what
singer-sdk's record conformance would do next to a row it has shaped: leave out the properties
the schema lacks where it allows no others (a row's top level; singer-sdk's nested objects allow
additional properties), with the SDK's own warning, and null NaN and infinite numbers. The stream
then turns the SDK's conformance off, and each row is walked once instead of twice (a row with
properties to leave out: twice, the second time to list them in the SDK's order). They are
found while the row is shaped, but left out only when the row is about to be emitted
(:meth:`RowShaper.finish`), as the SDK does: a row that is skipped (masked, repeated, another
organization's) is never named in that warning.
"""

from __future__ import annotations

import decimal
import logging
import math
import threading
import typing as t

from singer_sdk.helpers._typing import _warn_unmapped_properties

from tap_mobilize.compiled_schema import Field, Shape, fits

_JSON_TYPE = {bool: "boolean", int: "integer", float: "number", decimal.Decimal: "number"}
_JSON_TYPE.update({str: "string", dict: "object", list: "array"})
_ABSENT = object()
# (path, JSON type found, types wanted) of each value the row had of another type.
Problems = list[tuple[str, str, str]]


def json_type(value: t.Any) -> str:
    return _JSON_TYPE.get(type(value), type(value).__name__)


class RowShaper:
    """Shapes one stream's rows to its schema; says once per field what it nulled."""

    def __init__(
        self,
        stream: str,
        schema: dict[str, t.Any],
        replication_key: str | None,
        logger: logging.Logger,
        *,
        leaves_out_unmapped: bool = False,
    ) -> None:
        self.stream = stream
        self.schema = schema
        self.replication_key = replication_key
        self.logger = logger
        self.leaves_out_unmapped = leaves_out_unmapped
        self.shape_of_row = Shape(schema)
        self._lock = threading.Lock()
        self._told: set[str] = set()
        # The row shaped last, and whether it has properties the schema lacks: a stream emits
        # each row before it reads the next, so `finish` need not look for them again.
        self._last_row: dict[str, t.Any] | None = None
        self._last_has_unmapped = False

    def shape(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """The row (changed in place) with every value of another type than its schema's
        null, and an array item of another type left out."""
        problems: Problems = []
        unmapped = self._object(row, self.shape_of_row, problems)
        if self.replication_key and self.replication_key not in row:
            row[self.replication_key] = None
        for path, found, wanted in problems:
            self._tell(row, path, found, wanted)
        self._last_row, self._last_has_unmapped = row, unmapped
        return row

    def finish(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """The shaped row as the SDK's conformance would emit it (``leaves_out_unmapped``):
        without the properties its schema lacks, said once per stream and list of them."""
        if not self.leaves_out_unmapped:
            return row
        if row is not self._last_row or self._last_has_unmapped:
            unmapped: list[str] = []
            self._leave_out_unmapped(row, self.shape_of_row, unmapped)
            if unmapped:
                _warn_unmapped_properties(self.stream, tuple(unmapped), self.logger)
        self._last_row = None
        return row

    def _object(self, value: dict[str, t.Any], shape: Shape, problems: Problems) -> bool:
        """Shape one object in place, its properties in the schema's order (the order of the
        warnings); True if it (or an object in it) has properties the schema lacks."""
        unmapped = (
            self.leaves_out_unmapped and not shape.keeps_unknown and not value.keys() <= shape.names
        )
        for field in shape.fields:
            name = field.name
            item = value.get(name, _ABSENT)
            if item is _ABSENT:
                continue
            accepted = field.accepted
            if accepted is not None and type(item) not in accepted and not fits(item, field.schema):
                problems.append((field.path, json_type(item), field.wanted))
                value[name] = None
            elif field.shape is not None and isinstance(item, dict):
                unmapped |= self._object(item, field.shape, problems)
            elif field.items is not None and isinstance(item, list):
                kept, nested_unmapped = self._array(item, field.items, problems)
                value[name] = kept
                unmapped |= nested_unmapped
            elif field.number and self.leaves_out_unmapped and _not_finite(item):
                value[name] = None
        return unmapped

    def _array(
        self, items: list[t.Any], field: Field, problems: Problems
    ) -> tuple[list[t.Any], bool]:
        """The array's items of the item schema's type, shaped (the list itself when all of
        them are), and whether any of them has properties the schema lacks."""
        kept: list[t.Any] | None = None
        unmapped = False
        accepted, shape = field.accepted, field.shape
        for index, item in enumerate(items):
            if accepted is not None and type(item) not in accepted and not fits(item, field.schema):
                problems.append((field.path, json_type(item), field.wanted))
                if kept is None:
                    kept = items[:index]
                continue
            if shape is not None and isinstance(item, dict):
                unmapped |= self._object(item, shape, problems)
            elif field.number and self.leaves_out_unmapped and _not_finite(item):
                kept = items[:index] if kept is None else kept
                kept.append(None)
                continue
            if kept is not None:
                kept.append(item)
        return (items if kept is None else kept), unmapped

    def _leave_out_unmapped(self, value: dict[str, t.Any], shape: Shape, found: list[str]) -> None:
        """Remove the properties the schema lacks, listing their paths in ``found`` in the
        order and spelling of the SDK's conformance (the row's order, depth first)."""
        extra = []
        for name, item in value.items():
            field = shape.by_name.get(name)
            if field is None:
                if shape.keeps_unknown:
                    continue
                found.append(f"{shape.sdk_prefix}{name}")
                extra.append(name)
            elif field.shape is not None and isinstance(item, dict):
                self._leave_out_unmapped(item, field.shape, found)
            elif (
                field.items is not None and field.items.shape is not None and isinstance(item, list)
            ):
                for element in item:
                    if isinstance(element, dict):
                        self._leave_out_unmapped(element, field.items.shape, found)
        for name in extra:
            del value[name]

    def _tell(self, row: dict[str, t.Any], path: str, found: str, wanted: str) -> None:
        with self._lock:
            if path in self._told:
                return
            self._told.add(path)
        ident = row.get("id")
        self.logger.warning(
            "Stream '%s': row %s has %s of type %s where Mobilize documents %s: emitted as "
            "null (an array item: left out); said once per stream and field",
            self.stream,
            ident if isinstance(ident, int) else "(no id)",
            path,
            found,
            wanted,
        )


def _not_finite(value: t.Any) -> bool:
    # The SDK's own test: a Decimal too large for a float (1E+999) counts as infinite too.
    return isinstance(value, float | decimal.Decimal) and (math.isnan(value) or math.isinf(value))
