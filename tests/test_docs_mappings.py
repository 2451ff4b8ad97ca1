"""Every broken example of docs/mappings.md gives exactly the messages the page shows under it,
so the analysts' page says what the validator says; the editor (the YAML language server, with
the same schemas) underlines exactly those the page says it does.

An example is a ```yaml block whose first line names the file (`# mappings/calendars.yml`,
optionally followed by the PDI calendars it is checked against), then a ```text block with the
expected problems, one a line, as `str(Problem)` gives them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from target_pdi.configuration import (
    calendars_file,
    fields_file,
    mapping_files,
    mapping_problems,
    mapping_yaml,
)
from target_pdi.configuration.calendars_file import parse_calendars, unknown_calendars
from target_pdi.configuration.fields_file import parse_fields
from target_pdi.configuration.mapping_problems import MappingError, Problem

from tests.editor.language_server import LanguageServer

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "mappings.md"
EXAMPLE = re.compile(
    r"```yaml\n(?P<yaml># (?P<file>mappings/\w+\.yml).*?\n.*?)```\n"
    r"```text\n(?P<expected>.*?)```",
    re.S,
)
CALENDARS_IN_PDI = re.compile(r"\(PDI has the calendars (?P<names>[^)]*)\)")


def examples() -> list[tuple[str, str, list[str]]]:
    found = [
        (m["file"], m["yaml"], m["expected"].splitlines())
        for m in EXAMPLE.finditer(PAGE.read_text(encoding="utf-8"))
    ]
    assert len(found) >= 15, "the page's examples are no longer found"
    return found


def problems(file: str, text: str) -> list[Problem]:
    """What target-pdi reports for ``text`` as ``file``: errors, else warnings, else what PDI
    (with the calendars the example's first line names) would refuse."""
    try:
        if file.endswith("calendars.yml"):
            mapping = parse_calendars(text, file)
        else:
            parse_fields(text, file)
            return []
    except MappingError as exc:
        return exc.problems
    pdi = CALENDARS_IN_PDI.search(text.splitlines()[0])
    if pdi is None:
        return mapping.warnings
    names = re.split(r", | and ", pdi["names"])
    return unknown_calendars(mapping, [{"id": i, "name": n} for i, n in enumerate(names, 100)])


@pytest.mark.parametrize(("file", "text", "expected"), examples())
def test_each_broken_example_gives_the_messages_the_page_shows(
    file: str, text: str, expected: list[str]
) -> None:
    assert [str(problem) for problem in problems(file, text)] == expected


def validator_texts() -> set[str]:
    """The fixed words of every message and hint the mapping files' validator builds (the
    modules of target_pdi/configuration it is made of)."""
    validator = (mapping_files, mapping_yaml, mapping_problems, calendars_file, fields_file)
    sources = [Path(module.__file__).read_text(encoding="utf-8") for module in validator]
    texts: set[str] = set()

    def words(node: ast.AST) -> None:
        parts = node.values if isinstance(node, ast.JoinedStr) else [node]
        for part in parts:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                text = part.value.strip(" :;(),")
                if len(text) >= 6:
                    texts.add(text)

    for node in (node for source in sources for node in ast.walk(ast.parse(source))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem":
            for arg in node.args[2:]:
                for inner in ast.walk(arg):
                    words(inner)
        if isinstance(node, ast.Assign) and any(
            getattr(target, "id", None) == "hint" for target in node.targets
        ):
            for inner in ast.walk(node.value):
                words(inner)
    return texts


def test_the_page_shows_every_message_of_the_validator() -> None:
    page = PAGE.read_text(encoding="utf-8")
    texts = validator_texts()
    assert len(texts) >= 15, texts
    assert sorted(text for text in texts if text not in page) == []


def test_the_editor_underlines_the_examples_of_the_first_part_only() -> None:
    """The YAML language server, with each file's schema: it underlines every example of
    "Underlined by the editor too" that has anything in it, and none of "Seen by the run only"."""
    page = PAGE.read_text(encoding="utf-8")
    run_only_from = page.index("### Seen by the run only")
    underlined: dict[str, bool] = {}
    expected: dict[str, bool] = {}
    with LanguageServer(ROOT) as editor:
        for number, match in enumerate(EXAMPLE.finditer(page)):
            shipped = ROOT / match["file"]
            header = shipped.read_text(encoding="utf-8").splitlines()[0]
            example = match["yaml"]
            # An unsaved file of its own beside the shipped one, so that its $schema resolves
            # (the server answers a reopened document with what it said of it before).
            unsaved = shipped.with_name(f"docs-example-{number}-{shipped.name}")
            underlined[example] = bool(editor.problems(unsaved, f"{header}\n{example}"))
            has_content = any(not line.startswith("#") for line in example.splitlines())
            expected[example] = match.start() < run_only_from and has_content
    assert len(expected) >= 20
    assert underlined == expected
