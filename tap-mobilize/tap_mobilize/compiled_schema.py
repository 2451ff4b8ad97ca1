"""A stream's schema compiled once for :mod:`tap_mobilize.row_shape`.

Shaping a row used to read the schema dict for every value of every row: build the list of
declared types, look up a check per type, build the warning's path. All of that depends on the
schema alone, so it is worked out here once per property: the exact Python types of the JSON
values the property accepts (``type(value) in accepted`` answers almost every value; any other
value gets the full check, :func:`fits`, so the answer is always the same), its nested object
and array item schemas compiled in turn, and the paths the warnings name (the shaper's
``event.timeslots[].start_date``, the SDK's ``event.timeslots.start_date``).

:func:`conformance_is_covered` says whether a schema stays within what the shaper does exactly
as singer-sdk's record conformance would (see ``RowShaper``): plain ``type`` lists, objects with
``properties`` (and any ``additionalProperties``), arrays with one ``items`` schema; no
``anyOf``, ``$ref`` and the like, whose treatment by the SDK the shaper does not copy.
"""

from __future__ import annotations

import decimal
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
# JSON Schema type -> the exact Python types of a parsed JSON value that pass its check.
_EXACT: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float, decimal.Decimal),
    "string": (str,),
    "object": (dict,),
    "array": (list,),
}
# Keywords whose meaning to singer-sdk's conformance the shaper does not reproduce.
_UNCOVERED = frozenset(
    {"anyOf", "oneOf", "allOf", "not", "$ref", "prefixItems", "patternProperties"}
)


def declared_types(schema: dict[str, t.Any]) -> list[t.Any] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return declared if isinstance(declared, list) else [declared]


def fits(value: t.Any, schema: dict[str, t.Any]) -> bool:
    """Whether a parsed JSON value is of one of the schema's types (any, without ``type``)."""
    types = declared_types(schema)
    if types is None:
        return True
    return any(_CHECKS.get(name, lambda v: True)(value) for name in types)


def wanted(schema: dict[str, t.Any]) -> str:
    """The schema's types as a warning says them: "integer", "string or array"."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    return " or ".join(str(x) for x in types if x != "null") or "null"


class Field:
    """One property (or an array's items) of a compiled schema."""

    __slots__ = ("accepted", "items", "name", "number", "path", "schema", "shape", "wanted")

    def __init__(self, name: str, schema: dict[str, t.Any], path: str, sdk_path: str) -> None:
        self.name = name
        self.schema = schema
        self.path = path
        self.wanted = wanted(schema)
        types = declared_types(schema)
        self.accepted: frozenset[type] | None = None  # None: every value fits
        if types is not None and all(declared in _EXACT for declared in types):
            self.accepted = frozenset(kind for declared in types for kind in _EXACT[declared])
        # A number may be NaN or infinite, which the SDK's conformance turns into null.
        self.number = types is None or "number" in types
        self.shape: Shape | None = None
        if "properties" in schema:
            self.shape = Shape(schema, f"{path}.", f"{sdk_path}.")
        self.items: Field | None = None
        if isinstance(schema.get("items"), dict):
            # The SDK names an array item's fields through the array: "tags.name".
            self.items = Field(name, schema["items"], f"{path}[]", sdk_path)


class Shape:
    """An object schema's properties, compiled, in the schema's order."""

    __slots__ = ("by_name", "fields", "keeps_unknown", "names", "sdk_prefix")

    def __init__(self, schema: dict[str, t.Any], prefix: str = "", sdk_prefix: str = "") -> None:
        properties: dict[str, t.Any] = schema.get("properties") or {}
        self.fields = tuple(
            Field(name, prop, f"{prefix}{name}", f"{sdk_prefix}{name}")
            for name, prop in properties.items()
        )
        self.by_name = {field.name: field for field in self.fields}
        self.names = frozenset(self.by_name)
        self.sdk_prefix = sdk_prefix
        # As the SDK reads it: any additionalProperties but false keeps unknown properties
        # as they are (singer-sdk's ObjectType says true unless told otherwise).
        self.keeps_unknown = bool(schema.get("additionalProperties"))


def conformance_is_covered(schema: dict[str, t.Any]) -> bool:
    """True if the SDK's conformance of rows already shaped to ``schema`` only leaves out
    properties the schema lacks (and nulls NaN and infinite numbers), all of which
    ``RowShaper`` can do in its own walk, with the SDK's warning."""
    if "properties" not in schema or _UNCOVERED & schema.keys():
        return False
    return all(_property_is_covered(prop) for prop in schema["properties"].values())


def _property_is_covered(schema: t.Any) -> bool:
    if not isinstance(schema, dict) or _UNCOVERED & schema.keys():
        return False
    types = declared_types(schema)
    if types is None or not all(declared in _EXACT for declared in types):
        return False
    # The SDK walks into an object (or array) exactly when the shaper does: its type says
    # so and it has properties (or one items schema).
    if ("object" in types) != ("properties" in schema):
        return False
    if ("array" in types) != isinstance(schema.get("items"), dict):
        return False
    if "properties" in schema and not conformance_is_covered(schema):
        return False
    return "items" not in schema or _property_is_covered(schema["items"])
