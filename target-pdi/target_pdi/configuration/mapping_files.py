"""Owns the analyst-edited YAML under ``mappings/``: parse it, check it, turn it into config.

Two files:

- ``calendars.yml``: Mobilize event type (API enum or the label the Mobilize UI shows)
  to PDI calendar (name or id), plus an optional ``default_calendar``.
- ``fields.yml``: for each Mobilize stream, which expression feeds which PDI field.
  The expressions are singer-sdk stream-map expressions; they become the target's
  ``stream_maps`` so the SDK evaluates them before any sink code.

ruamel.yaml parses both (round-trip, so every mapping knows the line of each key, and
duplicate keys are errors). Every problem is reported with file, line and a hint, all at
once, so an analyst can fix a file in one pass. Checks that need PDI (do the calendars
exist?) live in ``unknown_calendars`` and run after login, still before any write.

The shape of each file is checked against its JSON Schema (``schemas/*.schema.json``, built by
``mapping_schemas``), the same file an analyst's editor reads, so the editor and the run never
disagree. jsonschema's errors are reworded here into the one-line, say-what-to-fix messages;
what a schema cannot say (a documented type one typo away, a type mapped twice under two
names, an expression's syntax and the fields it reads) is checked in code.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedBase, CommentedMap
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor

from target_pdi.rules.vocabulary import PdiObject, mapped_property

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


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class MappingError(Exception):
    """One or more problems in the mapping files; str() lists them all."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid mappings ({len(self.problems)} problem(s)):\n{lines}")


@dataclass
class CalendarMapping:
    file: str
    event_types: dict[str, str] = field(default_factory=dict)
    default_calendar: str | None = None
    # Where each entry was written, so calendar problems found later can name a line.
    lines: dict[str, int] = field(default_factory=dict)
    default_line: int | None = None
    warnings: list[Problem] = field(default_factory=list)


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


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, noting every duplicate key instead of stopping."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (key, its line, the line it was first set on), all 1-based
        self.duplicates: list[tuple[str, int, int]] = []

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        try:
            return bool(super().check_mapping_key(node, key_node, mapping, key, value))
        except DuplicateKeyError:
            first = mapping.lc.key(key)[0] + 1
            self.duplicates.append((str(key), key_node.start_mark.line + 1, first))
            return False  # keep the first value, as ruamel does when duplicates are allowed


@dataclass
class _Document:
    """One mapping file as ruamel loaded it (mappings carry lines), or why it could not."""

    file: str
    data: Any = None
    problems: list[Problem] = field(default_factory=list)


def _load(file: str, text: str) -> _Document:
    yaml = YAML()  # round-trip: CommentedMap.lc knows the line of each key
    yaml.Constructor = _Constructor
    doc = _Document(file)
    try:
        doc.data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        doc.problems.append(Problem(file, line, f"not valid YAML: {problem}"))
        return doc
    for key, line, first in sorted(yaml.constructor.duplicates, key=lambda d: d[1]):
        hint = f"it is already set on line {first}; keep one"
        doc.problems.append(Problem(file, line, f"duplicate key {key!r}", hint))
    return doc


def _line_of(data: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest key along ``path`` the file has; the top's line for none."""
    line = data.lc.line + 1 if isinstance(data, CommentedBase) else None
    for part in path:
        if not isinstance(data, CommentedMap) or part not in data:
            break
        line, data = data.lc.key(part)[0] + 1, data[part]
    return line


def _entries(data: Any, key: str) -> list[tuple[str, str, int]]:
    """(key, value, line) for each scalar entry of the top-level mapping ``key``."""
    section = data.get(key) if isinstance(data, CommentedMap) else None
    if not isinstance(section, CommentedMap):
        return []
    return [
        (str(k), "" if v is None else str(v), section.lc.key(k)[0] + 1)
        for k, v in section.items()
        if not isinstance(v, dict | list)
    ]


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of ``name`` ("calendars" or "fields"), as shipped in this package."""
    text = resources.files("target_pdi").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# Rewords one jsonschema error, given its location in the file, into what to fix.
Reword = Callable[[str, Any, "jsonschema.ValidationError"], list[Problem]]


def _schema_problems(file: str, data: Any, name: str, reword: Reword) -> list[Problem]:
    validator_class = jsonschema.validators.validator_for(schema(name))
    validator = validator_class(schema(name))
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        # Never fewer than one: whatever the editor underlines must stop the run too.
        problems.extend(reword(file, data, error) or [Problem(file, None, error.message)])
    return problems


def _what(value: Any) -> str:
    """How a YAML value reads to an analyst, for "must be X, not Y"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "an empty value"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int | float):
        return f"the number {value}"
    return repr(str(value))


def _unexpected_keys(data: Any, path: Sequence[Any], allowed: Iterable[str]) -> list[str]:
    section = data
    for part in path:
        section = section[part]
    return [str(key) for key in section if key not in set(allowed)]


def _reword_calendars(file: str, data: Any, error: jsonschema.ValidationError) -> list[Problem]:
    path = list(error.absolute_path)
    line = _line_of(data, path)
    if not path and error.validator == "additionalProperties":
        keys = ("default_calendar", "event_types")
        return [
            Problem(
                file,
                _line_of(data, [key]),
                f"unknown key {key!r}",
                f"did you mean {near!r}?"
                if (near := _suggest(key, keys))
                else "an event type goes indented under event_types:"
                if event_type_enum(key) is not None
                else "the keys are default_calendar and event_types",
            )
            for key in _unexpected_keys(data, path, keys)
        ]
    if not path:
        return [
            Problem(
                file,
                line,
                f"the file must be a mapping (default_calendar:, event_types:), not {_what(data)}",
                "start from mappings/calendars.example.yml",
            )
        ]
    if path == ["default_calendar"]:
        return [
            Problem(
                file,
                line,
                "default_calendar must be one PDI calendar name or id, "
                f"not {_what(error.instance)}",
                "write one calendar, or delete the line to skip event types not listed",
            )
        ]
    if path == ["event_types"] and "propertyNames" in error.absolute_schema_path:
        # A key's error is reported at its mapping, with the key as the instance.
        return [_unknown_event_type(file, _line_of(data, [*path, error.instance]), error.instance)]
    if path == ["event_types"]:
        return [
            Problem(
                file,
                line,
                f"event_types must be a mapping of event type to calendar, "
                f"not {_what(error.instance)}",
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
                f"not {_what(error.instance)}",
                "an event type goes to one calendar: keep one"
                if many
                else "write the calendar after the colon, or delete the line",
            )
        ]
    return [Problem(file, line, error.message)]


def _reword_fields(file: str, data: Any, error: jsonschema.ValidationError) -> list[Problem]:
    path = list(error.absolute_path)
    line = _line_of(data, path)
    if not path and error.validator == "additionalProperties":
        return [
            Problem(
                file,
                _line_of(data, [key]),
                f"unknown section {key!r}",
                f"did you mean {near!r}?"
                if (near := _suggest(key, STREAM_FEEDS))
                else f"the sections are {', '.join(STREAM_FEEDS)}",
            )
            for key in _unexpected_keys(data, path, STREAM_FEEDS)
        ]
    if not path:
        return [
            Problem(
                file,
                line,
                f"the file must be a mapping of sections ({', '.join(STREAM_FEEDS)}), "
                f"not {_what(data)}",
                "start from mappings/fields.yml",
            )
        ]
    stream = str(path[0])
    if len(path) == 1 and error.validator == "additionalProperties":
        allowed = feedable_fields(stream)
        return [
            _pdi_field_problem(file, _line_of(data, [stream, key]), stream, key)
            for key in _unexpected_keys(data, path, allowed)
        ]
    if len(path) == 1:
        return [
            Problem(
                file,
                line,
                f"{stream} must be a mapping of PDI field to expression, "
                f"not {_what(error.instance)}",
                "write one 'Object.field: expression' per line, indented, without a leading '-'",
            )
        ]
    pdi_field, value = str(path[1]), error.instance
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
            f"{pdi_field} must be an expression over the record, not {_what(value)}",
            "a constant is an expression in quotes, e.g. \"'Mobilize'\"",
        )
    ]


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return close[0] if close else None


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
    doc = _load(file, text)
    if doc.data is None and not doc.problems:
        doc.problems.append(Problem(file, None, "the file is empty", "add an event_types: section"))
    if doc.data is None:
        raise MappingError(doc.problems)
    problems = doc.problems + _schema_problems(file, doc.data, "calendars", _reword_calendars)
    if not isinstance(doc.data, dict):
        raise MappingError(problems)

    mapping = CalendarMapping(file=file)
    default = doc.data.get("default_calendar")
    if isinstance(default, str | int):
        mapping.default_calendar = str(default)
        mapping.default_line = _line_of(doc.data, ["default_calendar"])
    for key, calendar, line in _entries(doc.data, "event_types"):
        problem = _add_event_type(mapping, key, calendar, line)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise MappingError(_in_file_order(problems))
    return mapping


def _in_file_order(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once (the schema and the code may both see one), by line."""
    return sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)


def _unknown_event_type(file: str, line: int | None, key: str) -> Problem:
    suggestion = _suggest(key, [*EVENT_TYPE_LABELS, *KNOWN_EVENT_TYPES])
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
            suggestion = _suggest(node.id, STREAM_FIELDS[stream])
            hint = f"did you mean {suggestion!r}?" if suggestion else None
            problems.append(
                Problem(file, line, f"{stream} records have no field {node.id!r}", hint)
            )
    return problems


def parse_fields(text: str, file: str = "fields.yml") -> FieldMapping:
    doc = _load(file, text)
    if doc.data is None and doc.problems:
        raise MappingError(doc.problems)
    data = doc.data or {}
    problems = doc.problems + _schema_problems(file, data, "fields", _reword_fields)
    mapping = FieldMapping(file=file)
    for stream in STREAM_FEEDS:
        for pdi_field, expr, line in _entries(data, stream):
            if pdi_field not in feedable_fields(stream) or not expr.strip():
                continue  # the schema check said why
            problems.extend(_expression_problems(file, line, stream, expr))
            mapping.streams.setdefault(stream, {})[pdi_field] = expr
    if problems:
        raise MappingError(_in_file_order(problems))
    return mapping


def feedable_fields(stream: str) -> list[str]:
    """The PDI fields ("Event.name") the Mobilize ``stream`` may feed."""
    return [f"{obj.label}.{name}" for obj in STREAM_FEEDS[stream] for name in PDI_FIELDS[obj]]


def _pdi_field_problem(file: str, line: int | None, stream: str, pdi_field: str) -> Problem:
    """Why ``pdi_field`` ("Event.nme", "Contact.phone" under events) cannot be fed by ``stream``."""
    label, _, name = pdi_field.partition(".")
    obj = _MAPPABLE_BY_LABEL.get(label)
    if obj is None:
        suggestion = _suggest(pdi_field, feedable_fields(stream))
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
    suggestion = _suggest(name, PDI_FIELDS[obj])
    return Problem(
        file,
        line,
        f"PDI {obj.label} has no field {name!r} that can be mapped",
        f"did you mean {suggestion!r}?"
        if suggestion
        else f"mappable {obj.label} fields: {', '.join(PDI_FIELDS[obj])}",
    )


def load_calendars(path: str | Path) -> CalendarMapping:
    return parse_calendars(_read(path), str(path))


def load_fields(path: str | Path) -> FieldMapping:
    return parse_fields(_read(path), str(path))


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            [Problem(str(path), None, f"cannot read the file: {exc.strerror}", "check the path")]
        ) from exc


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
        suggestion = _suggest(value, names)
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


@dataclass
class Mappings:
    """What the mapping settings of one run amount to."""

    calendars: CalendarMapping | None = None
    fields: FieldMapping | None = None


def load_mappings(config: Mapping[str, Any], base: Path) -> Mappings:
    """Load and check the files named by ``calendars_file`` and ``fields_file``.

    Relative paths are taken from ``base`` (the Meltano project). Problems in both files
    are reported together.
    """
    found = Mappings()
    problems: list[Problem] = []
    for setting, loader, attr in (
        ("calendars_file", load_calendars, "calendars"),
        ("fields_file", load_fields, "fields"),
    ):
        value = config.get(setting)
        if not value:
            continue
        path = Path(str(value))
        try:
            setattr(found, attr, loader(path if path.is_absolute() else base / path))
        except MappingError as exc:
            problems.extend(exc.problems)
    if problems:
        raise MappingError(problems)
    return found
