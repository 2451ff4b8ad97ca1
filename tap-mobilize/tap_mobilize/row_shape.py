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
"""

from __future__ import annotations

import decimal
import logging
import threading
import typing as t

# JSON Schema type -> whether a parsed JSON value is of it (bool is no number here).
_CHECKS: dict[str, t.Callable[[t.Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_JSON_TYPE = {bool: "boolean", int: "integer", float: "number", decimal.Decimal: "number"}
_JSON_TYPE.update({str: "string", dict: "object", list: "array"})


def json_type(value: t.Any) -> str:
    return _JSON_TYPE.get(type(value), type(value).__name__)


def fits(value: t.Any, schema: dict[str, t.Any]) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    types = declared if isinstance(declared, list) else [declared]
    return any(_CHECKS.get(name, lambda v: True)(value) for name in types)


class RowShaper:
    """Shapes one stream's rows to its schema; says once per field what it nulled."""

    def __init__(
        self,
        stream: str,
        schema: dict[str, t.Any],
        replication_key: str | None,
        logger: logging.Logger,
    ) -> None:
        self.stream = stream
        self.schema = schema
        self.replication_key = replication_key
        self.logger = logger
        self._lock = threading.Lock()
        self._told: set[str] = set()

    def shape(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """The row (changed in place) with every value of another type than its schema's
        null, and an array item of another type left out."""
        problems: list[tuple[str, str, str]] = []
        self._object(row, self.schema, "", problems)
        if self.replication_key and self.replication_key not in row:
            row[self.replication_key] = None
        for path, found, wanted in problems:
            self._tell(row, path, found, wanted)
        return row

    def _object(
        self,
        value: dict[str, t.Any],
        schema: dict[str, t.Any],
        prefix: str,
        problems: list[tuple[str, str, str]],
    ) -> None:
        for name, prop in (schema.get("properties") or {}).items():
            if name not in value:
                continue
            path = f"{prefix}{name}"
            item = value[name]
            if not fits(item, prop):
                problems.append((path, json_type(item), _wanted(prop)))
                value[name] = None
            elif isinstance(item, dict):
                self._object(item, prop, f"{path}.", problems)
            elif isinstance(item, list) and isinstance(prop.get("items"), dict):
                value[name] = self._array(item, prop["items"], f"{path}[]", problems)

    def _array(
        self,
        items: list[t.Any],
        schema: dict[str, t.Any],
        path: str,
        problems: list[tuple[str, str, str]],
    ) -> list[t.Any]:
        kept = []
        for item in items:
            if not fits(item, schema):
                problems.append((path, json_type(item), _wanted(schema)))
                continue
            if isinstance(item, dict):
                self._object(item, schema, f"{path}.", problems)
            kept.append(item)
        return kept

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


def _wanted(schema: dict[str, t.Any]) -> str:
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    return " or ".join(str(x) for x in types if x != "null") or "null"
