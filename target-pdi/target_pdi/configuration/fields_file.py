"""``fields.yml``: for each Mobilize stream, which expression feeds which PDI field.

The expressions are singer-sdk stream-map expressions; they become the target's
``stream_maps`` (`FieldMapping.stream_maps`) so the SDK evaluates them before any sink code.
What a schema cannot say is checked here: an expression's syntax and the fields it reads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from target_pdi.configuration.mapping_problems import (
    MappingError,
    Problem,
    in_file_order,
    suggest,
    what,
)
from target_pdi.configuration.mapping_yaml import (
    entries,
    line_of,
    load,
    read,
    schema_problems,
    unexpected_keys,
)
from target_pdi.rules.vocabulary import PdiObject, mapped_property

# The PDI fields an analyst may feed, per PDI object (written "Event.name" in fields.yml).
# Location fields are optional: without them the built-in rules (venue, address,
# "Private Venue", "Virtual") apply.
PDI_FIELDS: dict[PdiObject, tuple[str, ...]] = {
    PdiObject.EVENT: ("name", "description", "website", "phone", "contactEmail"),
    PdiObject.LOCATION: ("locationName", "locationAddress"),
    PdiObject.CONTACT: ("firstName", "lastName", "phone"),
}
_MAPPABLE_BY_LABEL = {obj.label: obj for obj in PDI_FIELDS}
# The PDI objects each Mobilize stream may feed in fields.yml.
STREAM_FEEDS: dict[str, tuple[PdiObject, ...]] = {
    "events": (PdiObject.EVENT, PdiObject.LOCATION),
    "people": (PdiObject.CONTACT,),
    "attendances": (PdiObject.CONTACT,),
}
# Top-level fields of each Mobilize stream (mobilize-api.md section 4), to catch typos.
# The tap's schemas say the same; tests/test_mapping_files.py checks the two agree (the
# target cannot import the tap: each plugin has its own venv).
STREAM_FIELDS: dict[str, frozenset[str]] = {
    "events": frozenset(
        "id title summary description featured_image_url high_priority sponsor timeslots "
        "location timezone event_type browser_url created_date modified_date visibility "
        "address_visibility created_by_volunteer_host is_virtual virtual_action_url contact "
        "accessibility_status accessibility_notes tags approval_status event_campaign "
        "instructions".split()
    ),
    "people": frozenset(
        "id person_id user_id created_date modified_date given_name family_name "
        "email_addresses phone_numbers postal_addresses sms_opt_in_status blocked_date".split()
    ),
    "attendances": frozenset(
        "id created_date modified_date person event timeslot sponsor status attended "
        "referrer custom_signup_field_values rating feedback person_id event_id "
        "timeslot_id sponsor_id".split()
    ),
}
# A field of each stream to show in hints and the schema's descriptions.
EXAMPLE_FIELD: dict[str, str] = {"events": "title", "people": "given_name", "attendances": "status"}
# Names a stream-map expression may use besides the record's fields (singer-sdk docs).
EXPRESSION_NAMES = frozenset(
    "record _ self config fake __stream_name__ __original_stream_name__ "
    "md5 sha256 datetime json bool int float str len None True False".split()
)


@dataclass
class FieldMapping:
    file: str
    # stream -> {PDI field ("Event.name") -> expression}
    streams: dict[str, dict[str, str]] = field(default_factory=dict)

    def stream_maps(self) -> dict[str, dict[str, str]]:
        """singer-sdk ``stream_maps`` that add one ``pdi_*`` property per mapped field."""
        return {
            stream: {mapped_property(pdi): expr for pdi, expr in fields.items()}
            for stream, fields in self.streams.items()
            if fields
        }


def parse_fields(text: str, file: str = "fields.yml") -> FieldMapping:
    doc = load(file, text)
    if doc.data is None and doc.problems:
        raise MappingError(doc.problems)
    data = doc.data or {}
    problems = doc.problems + schema_problems(file, data, "fields", reword_fields)
    mapping = FieldMapping(file=file)
    for stream in STREAM_FEEDS:
        for pdi_field, expr, line in entries(data, stream):
            if pdi_field not in feedable_fields(stream) or not expr.strip():
                continue  # the schema check said why
            problems.extend(_expression_problems(file, line, stream, expr))
            mapping.streams.setdefault(stream, {})[pdi_field] = expr
    if problems:
        raise MappingError(in_file_order(problems))
    return mapping


def feedable_fields(stream: str) -> list[str]:
    """The PDI fields ("Event.name") the Mobilize ``stream`` may feed."""
    return [f"{obj.label}.{name}" for obj in STREAM_FEEDS[stream] for name in PDI_FIELDS[obj]]


def _pdi_field_problem(file: str, line: int | None, stream: str, pdi_field: str) -> Problem:
    """Why ``pdi_field`` ("Event.nme", "Contact.phone" under events) cannot be fed by ``stream``."""
    label, _, name = pdi_field.partition(".")
    obj = _MAPPABLE_BY_LABEL.get(label)
    if obj is None:
        suggestion = suggest(pdi_field, feedable_fields(stream))
        return Problem(
            file,
            line,
            f"unknown PDI field {pdi_field!r}",
            f"did you mean {suggestion!r}?"
            if suggestion
            else f"{stream} can feed: {', '.join(feedable_fields(stream))}",
        )
    if obj not in STREAM_FEEDS[stream]:
        feeders = [s for s, objects in STREAM_FEEDS.items() if obj in objects]
        return Problem(
            file,
            line,
            f"{stream} records cannot feed PDI {obj.label}",
            f"move {pdi_field} under {' or '.join(feeders)}",
        )
    suggestion = suggest(name, PDI_FIELDS[obj])
    return Problem(
        file,
        line,
        f"PDI {obj.label} has no field {name!r} that can be mapped",
        f"did you mean {suggestion!r}?"
        if suggestion
        else f"mappable {obj.label} fields: {', '.join(PDI_FIELDS[obj])}",
    )


def reword_fields(file: str, data: Any, error: jsonschema.ValidationError) -> list[Problem]:
    """A schema error in fields.yml as what to fix."""
    path = list(error.absolute_path)
    line = line_of(data, path)
    if not path and error.validator == "additionalProperties":
        return [
            Problem(
                file,
                line_of(data, [key]),
                f"unknown section {key!r}",
                f"did you mean {near!r}?"
                if (near := suggest(key, STREAM_FEEDS))
                else f"the sections are {', '.join(STREAM_FEEDS)}",
            )
            for key in unexpected_keys(data, path, STREAM_FEEDS)
        ]
    if not path:
        return [
            Problem(
                file,
                line,
                f"the file must be a mapping of sections ({', '.join(STREAM_FEEDS)}), "
                f"not {what(data)}",
                "start from mappings/fields.yml",
            )
        ]
    stream = str(path[0])
    if len(path) == 1 and error.validator == "additionalProperties":
        allowed = feedable_fields(stream)
        return [
            _pdi_field_problem(file, line_of(data, [stream, key]), stream, key)
            for key in unexpected_keys(data, path, allowed)
        ]
    if len(path) == 1:
        return [
            Problem(
                file,
                line,
                f"{stream} must be a mapping of PDI field to expression, "
                f"not {what(error.instance)}",
                "write one 'Object.field: expression' per line, indented, without a leading '-'",
            )
        ]
    return _reword_expression(file, line, stream, str(path[1]), error.instance)


def _reword_expression(
    file: str, line: int | None, stream: str, pdi_field: str, value: Any
) -> list[Problem]:
    """A field's value the schema refused: an unknown name, nothing, or not an expression."""
    if isinstance(value, str) and value.strip():
        # A bare name that is not one of the record's fields: the code's own message.
        return _expression_problems(file, line, stream, value)
    if value is None or isinstance(value, str):
        return [
            Problem(
                file,
                line,
                f"{pdi_field} has no expression",
                f"write a field such as {EXAMPLE_FIELD[stream]}, "
                "or delete the line to keep the built-in rule",
            )
        ]
    return [
        Problem(
            file,
            line,
            f"{pdi_field} must be an expression over the record, not {what(value)}",
            "a constant is an expression in quotes, e.g. \"'Mobilize'\"",
        )
    ]


def _expression_problems(file: str, line: int | None, stream: str, expr: str) -> list[Problem]:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        return [
            Problem(
                file,
                line,
                f"malformed expression {expr!r}: {exc.msg}",
                "an expression is one Python expression over the record, e.g. title "
                "or contact['phone_number'] if contact else ''; quote it if it holds ':'",
            )
        ]
    bound = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.comprehension)
        for target in ast.walk(node.target)
        if isinstance(target, ast.Name)
    }
    known = STREAM_FIELDS[stream] | EXPRESSION_NAMES | bound
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in known:
            suggestion = suggest(node.id, STREAM_FIELDS[stream])
            hint = f"did you mean {suggestion!r}?" if suggestion else None
            problems.append(
                Problem(file, line, f"{stream} records have no field {node.id!r}", hint)
            )
    return problems


def load_fields(path: str | Path) -> FieldMapping:
    return parse_fields(read(path), str(path))
