"""What is wrong in a mapping file, as the analyst reads it: file, line, what, and a hint saying
what to fix; every problem of a run at once (`MappingError`), in the file's order."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


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


def in_file_order(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once (the schema and the code may both see one), by line."""
    return sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` is most likely a typo of, for a "did you mean" hint."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return close[0] if close else None


def what(value: Any) -> str:
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
