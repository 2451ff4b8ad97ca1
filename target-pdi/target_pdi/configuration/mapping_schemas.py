"""Builds the JSON Schemas of the mapping files from what the target knows about them.

The schemas are committed as ``target_pdi/schemas/{calendars,fields}.schema.json``: analysts'
editors read them (``# yaml-language-server: $schema=...`` at the top of each file) and
``mapping_yaml`` validates with the same files, so the editor and the run never disagree.
They are built here, from the event types, streams and PDI fields the target knows, so that a
type Mobilize adds is added in one place; tests/test_mapping_schemas.py fails when the
committed files differ from what this builds. After changing the vocabulary, run:

    python -m target_pdi.configuration.mapping_schemas

The schemas are draft-07, which every YAML language server reads. ``errorMessage`` is the
language server's own keyword (the editor shows it instead of a generic message); the
``jsonschema`` library ignores it, and the target words its own messages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from target_pdi.configuration.calendars_file import EVENT_TYPE_LABELS, KNOWN_EVENT_TYPES
from target_pdi.configuration.fields_file import (
    EXAMPLE_FIELD,
    EXPRESSION_NAMES,
    PDI_FIELDS,
    STREAM_FEEDS,
    STREAM_FIELDS,
    feedable_fields,
)

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"
DRAFT = "http://json-schema.org/draft-07/schema#"
ENUM_SHAPE = "^[A-Z][A-Z0-9_]*$"
# A value with something to read: blank strings are mistakes, never meant.
NOT_BLANK = r"\S"
IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]*"
NOT_AN_EVENT_TYPE = (
    "not an event type: write an API enum such as CANVASS or a label such as Phone Bank"
)


def _any_case(label: str) -> str:
    """A regex matching ``label`` in any letter case: editors' regexes take no ``(?i)``."""
    return "".join(
        f"[{c.upper()}{c.lower()}]" if c.isalpha() else c if c in " -" else re.escape(c)
        for c in label
    )


def _event_type_properties() -> dict[str, Any]:
    """Every label and documented event type, each described, for the editor to offer."""
    return {
        **{
            label: {"$ref": "#/definitions/calendar", "description": f"Mobilize's label for {enum}"}
            for label, enum in EVENT_TYPE_LABELS.items()
        },
        **{
            enum: {"$ref": "#/definitions/calendar", "description": f"Mobilize event type {enum}"}
            for enum in sorted(KNOWN_EVENT_TYPES)
        },
    }


def calendars_schema() -> dict[str, Any]:
    labels = "|".join(_any_case(label) for label in EVENT_TYPE_LABELS)
    return {
        "$schema": DRAFT,
        "title": "mobilize-pdi calendars.yml",
        "description": "Which PDI calendar each Mobilize event type goes to.",
        "type": "object",
        "additionalProperties": False,
        "errorMessage": "a mapping with the keys default_calendar and event_types",
        "properties": {
            "default_calendar": {
                "description": "The PDI calendar (name or id) for event types not listed "
                "under event_types. Without it, their events are skipped and reported.",
                "type": ["string", "integer", "null"],
                "pattern": NOT_BLANK,
            },
            "event_types": {
                "description": "Mobilize event type (API enum such as CANVASS, or the label "
                "the Mobilize UI shows, such as Phone Bank) to PDI calendar (name or id).",
                "type": ["object", "null"],
                "properties": _event_type_properties(),
                "additionalProperties": {"$ref": "#/definitions/calendar"},
                "propertyNames": {
                    "anyOf": [
                        {"pattern": ENUM_SHAPE, "patternErrorMessage": NOT_AN_EVENT_TYPE},
                        {
                            "pattern": rf"^\s*(?:{labels})\s*$",
                            "patternErrorMessage": NOT_AN_EVENT_TYPE,
                        },
                    ]
                },
            },
        },
        "definitions": {
            "calendar": {
                "description": "A PDI calendar: its name as PDI shows it, or its id. It must "
                "already exist in PDI.",
                "type": ["string", "integer"],
                "pattern": NOT_BLANK,
                "errorMessage": "one PDI calendar name or id (not a list, not empty)",
            }
        },
    }


def fields_schema() -> dict[str, Any]:
    sections: dict[str, Any] = {}
    expressions: dict[str, Any] = {}
    for stream, objects in STREAM_FEEDS.items():
        sections[stream] = {
            "description": f"PDI field -> expression over a Mobilize {stream} record.",
            "type": ["object", "null"],
            "additionalProperties": False,
            "errorMessage": f"{stream} can feed: {', '.join(feedable_fields(stream))}",
            "properties": {
                f"{obj.label}.{name}": {
                    "$ref": f"#/definitions/{stream}_expression",
                    "description": f"PDI {obj.label} {name}; left out, the built-in rule applies",
                }
                for obj in objects
                for name in PDI_FIELDS[obj]
            },
        }
        # A bare name must be one of the record's fields (or a name stream maps provide);
        # anything longer is a Python expression, which the target parses itself.
        other_names = "|".join(sorted(EXPRESSION_NAMES))
        expressions[f"{stream}_expression"] = {
            "description": f"A field of the {stream} record (such as "
            f"{EXAMPLE_FIELD[stream]}) or a singer-sdk stream-map expression "
            "over it; quote it if it holds ':'.",
            "anyOf": [
                {
                    "enum": sorted(STREAM_FIELDS[stream]),
                    "errorMessage": f"not a field of the {stream} record: write one such as "
                    f"{EXAMPLE_FIELD[stream]}, or an expression over the record in quotes",
                },
                {
                    "type": "string",
                    "pattern": NOT_BLANK,
                    "not": {"pattern": rf"^\s*(?!(?:{other_names})\s*$){IDENTIFIER}\s*$"},
                },
            ],
        }
    return {
        "$schema": DRAFT,
        "title": "mobilize-pdi fields.yml",
        "description": "Which Mobilize field feeds which PDI field, per Mobilize stream.",
        # Empty is fine: every PDI field keeps its built-in rule.
        "type": ["object", "null"],
        "additionalProperties": False,
        "errorMessage": "a mapping with the sections " + ", ".join(STREAM_FEEDS),
        "properties": sections,
        "definitions": expressions,
    }


BUILDERS = {"calendars": calendars_schema, "fields": fields_schema}


def rendered(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    for name, build in BUILDERS.items():
        path = SCHEMA_DIR / f"{name}.schema.json"
        path.write_text(rendered(build()), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
