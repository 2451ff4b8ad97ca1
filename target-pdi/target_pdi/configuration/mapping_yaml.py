"""A mapping file read as the analyst wrote it: ruamel.yaml round-trip, so every mapping knows
the line of each key and duplicate keys are problems, not a silent last-wins; then checked
against its JSON Schema (``schemas/*.schema.json``, built by ``mapping_schemas``), the same
file an analyst's editor reads, each of jsonschema's errors reworded by the file's own rules
(calendars_file.py, fields_file.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedBase, CommentedMap
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor

from target_pdi.configuration.mapping_problems import MappingError, Problem


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
class Document:
    """One mapping file as ruamel loaded it (mappings carry lines), or why it could not."""

    file: str
    data: Any = None
    problems: list[Problem] = field(default_factory=list)


def load(file: str, text: str) -> Document:
    yaml = YAML()  # round-trip: CommentedMap.lc knows the line of each key
    yaml.Constructor = _Constructor
    doc = Document(file)
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


def line_of(data: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest key along ``path`` the file has; the top's line for none."""
    line = data.lc.line + 1 if isinstance(data, CommentedBase) else None
    for part in path:
        if not isinstance(data, CommentedMap) or part not in data:
            break
        line, data = data.lc.key(part)[0] + 1, data[part]
    return line


def entries(data: Any, key: str) -> list[tuple[str, str, int]]:
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


def schema_problems(file: str, data: Any, name: str, reword: Reword) -> list[Problem]:
    validator_class = jsonschema.validators.validator_for(schema(name))
    validator = validator_class(schema(name))
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        # Never fewer than one: whatever the editor underlines must stop the run too.
        problems.extend(reword(file, data, error) or [Problem(file, None, error.message)])
    return problems


def unexpected_keys(data: Any, path: Sequence[Any], allowed: Iterable[str]) -> list[str]:
    section = data
    for part in path:
        section = section[part]
    return [str(key) for key in section if key not in set(allowed)]


def read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            [Problem(str(path), None, f"cannot read the file: {exc.strerror}", "check the path")]
        ) from exc
