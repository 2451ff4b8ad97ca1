"""``calendars.yml``: Mobilize event type (API enum or the label the Mobilize UI shows) to PDI
calendar (name or id), plus an optional ``default_calendar``.

The event types Mobilize documents are known here; an unlisted UPPER_SNAKE key is taken as a
type Mobilize added since (with a warning), unless it is one typo away from a known one.
Whether the calendars exist needs PDI: `unknown_calendars` runs after login, still before any
write.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
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

# The list Mobilize shows when an organization sets up its PDI integration.
EVENT_TYPE_LABELS: dict[str, str] = {
    "Canvass": "CANVASS",
    "Phone Bank": "PHONE_BANK",
    "Text Bank": "TEXT_BANK",
    "Meeting": "MEETING",
    "Community Event": "COMMUNITY",
    "Fundraiser": "FUNDRAISER",
    "Meet-and-Greet": "MEET_GREET",
    "House Party": "HOUSE_PARTY",
    "Voter Registration": "VOTER_REG",
    "Training": "TRAINING",
    "Friend-to-Friend Outreach": "FRIEND_TO_FRIEND_OUTREACH",
    "Contact Your Representative": "ADVOCACY_CALL",
    "Watch Party": "DEBATE_WATCH_PARTY",
    "Rally": "RALLY",
    "Town Hall": "TOWN_HALL",
    "Office Opening": "OFFICE_OPENING",
    "Barnstorm": "BARNSTORM",
    "Solidarity Event": "SOLIDARITY_EVENT",
    "Community Canvass": "COMMUNITY_CANVASS",
    "Signature Gathering": "SIGNATURE_GATHERING",
    "Carpool": "CARPOOL",
    "Other": "OTHER",
    "Workshop": "WORKSHOP",
}

# Every event type documented or observed (mobilize-api.md section 2). The API adds
# types over time, so an unlisted UPPER_SNAKE key is accepted too, with a warning.
KNOWN_EVENT_TYPES: frozenset[str] = frozenset(EVENT_TYPE_LABELS.values()) | {
    "PETITION",
    "AUTOMATED_PHONE_BANK",
    "LETTER_WRITING",
    "LITERATURE_DROP_OFF",
    "VISIBILITY_EVENT",
    "PLEDGE",
    "INTEREST_FORM",
    "DONATION_CAMPAIGN",
    "SOCIAL_MEDIA_CAMPAIGN",
    "POSTCARD_WRITING",
    "GROUP",
    "VOLUNTEER_SHIFT",
    "ADVOCACY",
    "RELATIONAL",
    "DATA_ENTRY",
    "POLL_MONITORING",
    "HOTLINE",
    "VOTER_PROTECTION",
}

_ENUM_SHAPE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_LABELS_FOLDED = {label.casefold(): enum for label, enum in EVENT_TYPE_LABELS.items()}


@dataclass
class CalendarMapping:
    file: str
    event_types: dict[str, str] = field(default_factory=dict)
    default_calendar: str | None = None
    # Where each entry was written, so calendar problems found later can name a line.
    lines: dict[str, int] = field(default_factory=dict)
    default_line: int | None = None
    warnings: list[Problem] = field(default_factory=list)


def event_type_enum(key: str) -> str | None:
    """The API enum for a calendars.yml key, or None when the key is not an event type.

    An UPPER_SNAKE key that is not documented is taken as a type Mobilize added since,
    unless it is one typo away from a documented one (``CANVAS``).
    """
    if key in KNOWN_EVENT_TYPES:
        return key
    if _ENUM_SHAPE.match(key):
        near = difflib.get_close_matches(key, list(KNOWN_EVENT_TYPES), n=1, cutoff=0.85)
        return None if near else key
    return _LABELS_FOLDED.get(key.strip().casefold())


def parse_calendars(text: str, file: str = "calendars.yml") -> CalendarMapping:
    doc = load(file, text)
    if doc.data is None and not doc.problems:
        doc.problems.append(Problem(file, None, "the file is empty", "add an event_types: section"))
    if doc.data is None:
        raise MappingError(doc.problems)
    problems = doc.problems + schema_problems(file, doc.data, "calendars", reword_calendars)
    if not isinstance(doc.data, dict):
        raise MappingError(problems)

    mapping = CalendarMapping(file=file)
    default = doc.data.get("default_calendar")
    if isinstance(default, str | int):
        mapping.default_calendar = str(default)
        mapping.default_line = line_of(doc.data, ["default_calendar"])
    for key, calendar, line in entries(doc.data, "event_types"):
        problem = _add_event_type(mapping, key, calendar, line)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise MappingError(in_file_order(problems))
    return mapping


def _unknown_event_type(file: str, line: int | None, key: str) -> Problem:
    suggestion = suggest(key, [*EVENT_TYPE_LABELS, *KNOWN_EVENT_TYPES])
    hint = (
        f"did you mean {suggestion!r}?"
        if suggestion
        else "use an API enum such as CANVASS or a label such as 'Phone Bank'"
    )
    return Problem(file, line, f"unknown event type {key!r}", hint)


def _add_event_type(mapping: CalendarMapping, key: str, calendar: str, line: int) -> Problem | None:
    """Route the event type ``key`` (enum or label) to ``calendar``, or say why not."""
    enum = event_type_enum(key)
    if enum is None:
        return _unknown_event_type(mapping.file, line, key)
    if enum in mapping.lines:
        return Problem(
            mapping.file,
            line,
            f"event type {key!r} is mapped twice (as {enum})",
            f"it is already mapped on line {mapping.lines[enum]}; keep one",
        )
    if enum not in KNOWN_EVENT_TYPES:
        mapping.warnings.append(
            Problem(mapping.file, line, f"{key!r} is not a documented Mobilize event type; kept")
        )
    mapping.event_types[enum] = calendar
    mapping.lines[enum] = line
    return None


def reword_calendars(file: str, data: Any, error: jsonschema.ValidationError) -> list[Problem]:
    """A schema error in calendars.yml as what to fix."""
    path = list(error.absolute_path)
    if not path:
        return _reword_top(file, data, error)
    line = line_of(data, path)
    if path == ["default_calendar"]:
        return [
            Problem(
                file,
                line,
                f"default_calendar must be one PDI calendar name or id, not {what(error.instance)}",
                "write one calendar, or delete the line to skip event types not listed",
            )
        ]
    if path == ["event_types"] and "propertyNames" in error.absolute_schema_path:
        # A key's error is reported at its mapping, with the key as the instance.
        return [_unknown_event_type(file, line_of(data, [*path, error.instance]), error.instance)]
    if path == ["event_types"]:
        return [
            Problem(
                file,
                line,
                f"event_types must be a mapping of event type to calendar, "
                f"not {what(error.instance)}",
                "write one 'CANVASS: Canvassing' per line, indented, without a leading '-'",
            )
        ]
    if len(path) == 2 and path[0] == "event_types":
        many = isinstance(error.instance, list)
        return [
            Problem(
                file,
                line,
                f"event type {path[1]!r} must go to one PDI calendar name or id, "
                f"not {what(error.instance)}",
                "an event type goes to one calendar: keep one"
                if many
                else "write the calendar after the colon, or delete the line",
            )
        ]
    return [Problem(file, line, error.message)]


def _reword_top(file: str, data: Any, error: jsonschema.ValidationError) -> list[Problem]:
    """A schema error about the whole file: keys other than the two, or not a mapping."""
    if error.validator == "additionalProperties":
        keys = ("default_calendar", "event_types")
        return [
            Problem(
                file,
                line_of(data, [key]),
                f"unknown key {key!r}",
                f"did you mean {near!r}?"
                if (near := suggest(key, keys))
                else "an event type goes indented under event_types:"
                if event_type_enum(key) is not None
                else "the keys are default_calendar and event_types",
            )
            for key in unexpected_keys(data, [], keys)
        ]
    return [
        Problem(
            file,
            line_of(data, []),
            f"the file must be a mapping (default_calendar:, event_types:), not {what(data)}",
            "start from mappings/calendars.example.yml",
        )
    ]


def load_calendars(path: str | Path) -> CalendarMapping:
    return parse_calendars(read(path), str(path))


def unknown_calendars(
    mapping: CalendarMapping, calendars: Sequence[Mapping[str, Any]]
) -> list[Problem]:
    """Problems for every calendar in ``mapping`` that PDI does not have (by name or id)."""
    by_name = {str(c.get("name", "")).strip().casefold() for c in calendars}
    ids = {str(c.get("id")) for c in calendars}
    names = [str(c.get("name", "")) for c in calendars]

    def check(value: str, line: int | None, what: str) -> Problem | None:
        if value in ids or value.strip().casefold() in by_name:
            return None
        suggestion = suggest(value, names)
        hint = (
            f"did you mean {suggestion!r}?"
            if suggestion
            else f"PDI has: {', '.join(sorted(names)) or 'no calendars'}; create it in PDI first"
        )
        return Problem(mapping.file, line, f"{what}: PDI has no calendar {value!r}", hint)

    found = [
        check(calendar, mapping.lines.get(enum), f"event type {enum}")
        for enum, calendar in mapping.event_types.items()
    ]
    if mapping.default_calendar is not None:
        found.append(check(mapping.default_calendar, mapping.default_line, "default_calendar"))
    return [p for p in found if p is not None]
