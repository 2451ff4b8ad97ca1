"""The mappings files in the YAML language server an analyst's editor runs (issue 20, part 4).

Each file names its JSON Schema on its first line; the server reads it from there, as VS Code's
YAML extension does. The target validates with the same schemas (target-pdi/tests/
test_mapping_schemas.py holds its messages), so: the shipped files show no problem; every
example in mappings/examples/broken/ is underlined; those in caught-by-the-run/ are not (only
the run knows them); and the editor completes event types, PDI fields and Mobilize fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.editor.language_server import LanguageServer

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"
EXAMPLES = MAPPINGS / "examples"
SHIPPED = sorted(p for p in MAPPINGS.rglob("*.yml") if EXAMPLES not in p.parents)
BROKEN = sorted((EXAMPLES / "broken").glob("*.yml"))
RUN_ONLY = sorted((EXAMPLES / "caught-by-the-run").glob("*.yml"))
# A file of nothing but comments is a mistake the run names ("the file is empty"); an editor
# has nothing in it to underline.
NOTHING_TO_UNDERLINE = {"calendars-empty"}


@pytest.fixture
def editor() -> Iterator[LanguageServer]:
    with LanguageServer(REPO) as server:
        yield server


def test_shipped_files_show_no_problem(editor: LanguageServer) -> None:
    found = {str(p.relative_to(MAPPINGS)): editor.problems(p) for p in SHIPPED}
    assert found == {name: [] for name in found}
    assert len(found) >= 6


def test_every_broken_example_is_underlined(editor: LanguageServer) -> None:
    assert len(BROKEN) >= 20
    found = {p.stem: editor.problems(p) for p in BROKEN}
    silent = sorted(name for name, problems in found.items() if not problems)
    assert silent == sorted(NOTHING_TO_UNDERLINE)


def test_what_only_the_run_knows_is_not_underlined(editor: LanguageServer) -> None:
    found = {p.stem: editor.problems(p) for p in RUN_ONLY}
    assert found == {p.stem: [] for p in RUN_ONLY}


def test_the_editor_names_the_mistake(editor: LanguageServer) -> None:
    """The schema's own words (its errorMessage), not a bare 'Value is not accepted'."""
    broken = EXAMPLES / "broken"
    assert editor.problems(broken / "calendars-misspelled-event-type.yml") == [
        "not an event type: write an API enum such as CANVASS or a label such as Phone Bank"
    ]
    assert editor.problems(broken / "fields-unknown-mobilize-field.yml") == [
        "not a field of the events record: write one such as title, or an expression over "
        "the record in quotes"
    ]


def test_the_editor_completes_event_types_pdi_fields_and_mobilize_fields(
    editor: LanguageServer,
) -> None:
    calendars = MAPPINGS / "calendars.yml"
    header = calendars.read_text(encoding="utf-8").splitlines()[0] + "\n"
    offered = editor.completions(calendars, header + "event_types:\n  \n", 2, 2)
    assert {"CANVASS", "Phone Bank", "POSTCARD_WRITING"} <= set(offered), offered
    offered = editor.completions(calendars, header + "\n", 1, 0)
    assert {"default_calendar", "event_types"} == set(offered), offered

    fields = MAPPINGS / "fields.yml"
    header = fields.read_text(encoding="utf-8").splitlines()[0] + "\n"
    offered = editor.completions(fields, header + "people:\n  \n", 2, 2)
    assert {"Contact.firstName", "Contact.lastName", "Contact.phone"} == set(offered), offered
    offered = editor.completions(fields, header + "people:\n  Contact.firstName: \n", 2, 21)
    assert {"given_name", "family_name"} <= set(offered), offered
