"""Owns the analyst-edited YAML under ``mappings/``: parse it, check it, turn it into config.

Two files, each with its module:

- ``calendars.yml`` (calendars_file.py): Mobilize event type (API enum or the label the
  Mobilize UI shows) to PDI calendar (name or id), plus an optional ``default_calendar``.
- ``fields.yml`` (fields_file.py): for each Mobilize stream, which expression feeds which PDI
  field. The expressions are singer-sdk stream-map expressions; they become the target's
  ``stream_maps`` so the SDK evaluates them before any sink code.

ruamel.yaml parses both (mapping_yaml.py: round-trip, so every mapping knows the line of each
key, and duplicate keys are errors). Every problem is reported with file, line and a hint, all
at once (mapping_problems.py), so an analyst can fix a file in one pass. Checks that need PDI
(do the calendars exist?) live in ``calendars_file.unknown_calendars`` and run after login,
still before any write.

The shape of each file is checked against its JSON Schema (``schemas/*.schema.json``, built by
``mapping_schemas``), the same file an analyst's editor reads, so the editor and the run never
disagree. jsonschema's errors are reworded by each file's module into the one-line,
say-what-to-fix messages; what a schema cannot say (a documented type one typo away, a type
mapped twice under two names, an expression's syntax and the fields it reads) is checked in
code there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from target_pdi.configuration.calendars_file import CalendarMapping, load_calendars
from target_pdi.configuration.fields_file import FieldMapping, load_fields
from target_pdi.configuration.mapping_problems import MappingError, Problem


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
