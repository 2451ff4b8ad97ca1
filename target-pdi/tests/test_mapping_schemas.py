"""The mapping files' JSON Schemas: the editor and the run never disagree.

"The editor's view" is what a YAML language server does with a file: parse it as YAML (a
duplicate key is an error) and validate it with the schema its ``# yaml-language-server:
$schema=...`` line names, read from disk with the ``jsonschema`` library and nothing of the
target. "The run" is the target's own validator (``target_pdi.configuration.mapping_files``).

The examples are files in mappings/examples/ (the mappings docs show them): ``broken/`` holds
one file per kind of mistake, rejected by both; ``caught-by-the-run/`` holds the mistakes only
the run can see (the schema accepts them). Each file says, in its comments, the exact
messages the target stops with; this test holds the files to them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML, YAMLError
from target_pdi.configuration import mapping_schemas
from target_pdi.configuration.calendars_file import load_calendars, parse_calendars
from target_pdi.configuration.fields_file import load_fields, parse_fields
from target_pdi.configuration.mapping_problems import MappingError

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"
EXAMPLES = MAPPINGS / "examples"
SCHEMAS = REPO / "target-pdi" / "target_pdi" / "schemas"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
SAYS = "# target-pdi stops before any write with:"


def kind_of(path: Path) -> str:
    return "calendars" if path.name.startswith("calendars") else "fields"


def schema_named_by(path: Path) -> Path:
    """The schema a YAML language server uses for ``path``: its first line names it."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    found = MODELINE.match(first)
    assert found, f"{path}: the first line must be '# yaml-language-server: $schema=...'"
    return (path.parent / found.group(1)).resolve()


def editor_errors(path: Path) -> list[str]:
    """An editor's errors in ``path``: YAML errors (a duplicate key too), else the schema's."""
    try:
        data: Any = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        return [f"YAML: {exc}"]
    schema = json.loads(schema_named_by(path).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [error.message for error in validator.iter_errors(data)]


def run_messages(path: Path) -> list[str]:
    parse = parse_calendars if kind_of(path) == "calendars" else parse_fields
    try:
        parse(path.read_text(encoding="utf-8"), f"{kind_of(path)}.yml")
    except MappingError as exc:
        return [str(problem) for problem in exc.problems]
    return []


def promised_messages(path: Path) -> list[str]:
    """The messages an example's comments say the target prints."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert SAYS in lines, f"{path} does not say what the target prints"
    start = lines.index(SAYS) + 1
    messages = []
    for line in lines[start:]:
        if not line.startswith("#   "):
            break
        messages.append(line.removeprefix("#   "))
    return messages


SHIPPED = sorted(p for p in MAPPINGS.rglob("*.yml") if EXAMPLES not in p.parents)
BROKEN = sorted((EXAMPLES / "broken").glob("*.yml"))
RUN_ONLY = sorted((EXAMPLES / "caught-by-the-run").glob("*.yml"))


@pytest.mark.parametrize("name", sorted(mapping_schemas.BUILDERS))
def test_committed_schemas_are_what_the_target_builds(name: str) -> None:
    committed = (SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")
    built = mapping_schemas.rendered(mapping_schemas.BUILDERS[name]())
    assert committed == built, "run: .venv/bin/python -m target_pdi.configuration.mapping_schemas"


@pytest.mark.parametrize("name", sorted(mapping_schemas.BUILDERS))
def test_schemas_are_valid_draft_07(name: str) -> None:
    schema = mapping_schemas.BUILDERS[name]()
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(MAPPINGS)))
def test_shipped_files_pass_in_the_editor_and_the_run(path: Path) -> None:
    assert schema_named_by(path) == SCHEMAS / f"{kind_of(path)}.schema.json"
    assert editor_errors(path) == []
    (load_calendars if kind_of(path) == "calendars" else load_fields)(path)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_example_is_rejected_by_the_editor_and_the_run(path: Path) -> None:
    assert schema_named_by(path) == SCHEMAS / f"{kind_of(path)}.schema.json"
    assert editor_errors(path), "the editor accepts it"
    assert run_messages(path) == promised_messages(path)


@pytest.mark.parametrize("path", RUN_ONLY, ids=lambda p: p.stem)
def test_what_a_schema_cannot_say_is_caught_by_the_run(path: Path) -> None:
    assert editor_errors(path) == [], "the schema rejects it: move it to broken/"
    assert run_messages(path) == promised_messages(path)
    assert run_messages(path), "the run accepts it"


def test_every_kind_of_mistake_has_an_example() -> None:
    """Each message the target words about a file's content has an example that shows it."""
    said = [
        re.sub(r"^\w+\.yml(:\d+)?: ", "", message)
        for path in BROKEN + RUN_ONLY
        for message in promised_messages(path)
    ]
    kinds = [
        "not valid YAML",
        "duplicate key",
        "the file is empty",
        "the file must be a mapping (default_calendar:",
        "the file must be a mapping of sections",
        "unknown key",
        "default_calendar must be one PDI calendar",
        "event_types must be a mapping",
        "unknown event type",
        "is mapped twice",
        "must go to one PDI calendar",
        "unknown section",
        "must be a mapping of PDI field to expression",
        "unknown PDI field",
        "records cannot feed PDI",
        "that can be mapped",
        "has no expression",
        "must be an expression over the record",
        "records have no field",
        "malformed expression",
    ]
    missing = [kind for kind in kinds if not any(kind in message for message in said)]
    assert not missing, f"no example says: {missing}"
