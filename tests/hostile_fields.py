"""What both fuzz tests (the tap's pages, the target's records) make hostile: every field of a
stream's schema, nested ones included, and the marker for "remove this key"."""

from __future__ import annotations

from typing import Any

MISSING = object()  # as a drawn value: the field is removed, not set


def field_paths(schema: dict[str, Any], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field of a schema, containers and the fields inside them (an array's through its
    first item)."""
    out: list[tuple[Any, ...]] = []
    for name, prop in (schema.get("properties") or {}).items():
        path = (*prefix, name)
        out.append(path)
        if "properties" in prop:
            out += field_paths(prop, path)
        items = prop.get("items")
        if isinstance(items, dict) and "properties" in items:
            out += field_paths(items, (*path, 0))
    return out
