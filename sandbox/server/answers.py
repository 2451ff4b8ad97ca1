"""The base of the apps' *answers*: one field per open question of an API reference, each
with its allowed values, the harsh one (hardest for a client) by default.

Apps that have answers define ``answers`` and ``update_answers(changes)``; ``admin`` then
serves ``GET|POST /__admin/answers`` for them and ``cli.run_cli`` adds the
``--answers harsh|lenient`` and ``--answer NAME=VALUE`` flags.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol, Self

PRESETS = ("harsh", "lenient")


def answer(*choices: Any, harsh: Any, lenient: Any) -> Any:
    """A field of an ``Answers`` dataclass: its allowed values; the harsh one is the default."""
    if harsh not in choices or lenient not in choices:
        raise ValueError(f"harsh {harsh!r} and lenient {lenient!r} must be among {choices!r}")
    return field(default=harsh, metadata={"choices": choices, "lenient": lenient})


def _same_value(a: Any, b: Any) -> bool:
    # ``1 == True`` in Python; an answer of ``1`` must not pass for ``true``.
    return type(a) is type(b) and a == b


@dataclass
class Answers:
    """Base of an app's answers to the open questions of its API reference.

    A subclass is a dataclass whose fields are made with ``answer(...)``. ``update``
    checks every change before applying any, so a rejected request changes nothing.
    """

    TITLE: ClassVar[str] = "answers"

    @classmethod
    def choices(cls) -> dict[str, tuple[Any, ...]]:
        return {f.name: tuple(f.metadata["choices"]) for f in fields(cls)}

    @classmethod
    def preset(cls, name: str) -> dict[str, Any]:
        """``harsh`` (the defaults) or ``lenient`` (the other answer of each), as a new dict."""
        if name == "harsh":
            return {f.name: f.default for f in fields(cls)}
        if name == "lenient":
            return {f.name: f.metadata["lenient"] for f in fields(cls)}
        raise ValueError(f"unknown preset {name!r}; expected one of {list(PRESETS)}")

    @classmethod
    def check(cls, changes: Mapping[str, Any]) -> None:
        """ValueError naming the first unknown name or invalid value in ``changes``."""
        if not isinstance(changes, Mapping):
            raise ValueError(f"{cls.TITLE}: expected a JSON object of name: value")
        allowed = cls.choices()
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {cls.TITLE} {unknown}; known: {sorted(allowed)}")
        for name, value in changes.items():
            if not any(_same_value(value, choice) for choice in allowed[name]):
                # JSON spellings: the values come from JSON bodies and CLI flags.
                raise ValueError(
                    f"invalid value {json.dumps(value, default=repr)} for {name}; "
                    f"expected one of {json.dumps(list(allowed[name]))}"
                )

    @classmethod
    def build(cls, changes: Mapping[str, Any] | None = None) -> Self:
        """The harsh answers with ``changes`` applied."""
        answers = cls()
        answers.update(changes or {})
        return answers

    def update(self, changes: Mapping[str, Any]) -> None:
        self.check(changes)
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class HasAnswers(Protocol):
    """An app with answers (see ``Answers``); ``update_answers`` returns the new answers."""

    answers: Answers

    def update_answers(self, changes: Mapping[str, Any]) -> dict[str, Any]: ...


def parse_answer_flag(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` with a JSON-ish value: ``true``/``false``/numbers, else the raw string."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--answer {text!r}: expected NAME=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


def answers_from_flags(
    answers_class: type[Answers], preset: str, flags: Sequence[str]
) -> dict[str, Any]:
    """The preset's answers with every ``--answer`` applied in order (ValueError if bad)."""
    values = answers_class.preset(preset)
    for text in flags:
        name, value = parse_answer_flag(text)
        answers_class.check({name: value})
        values[name] = value
    return values


def add_answer_arguments(parser: argparse.ArgumentParser, answers_class: type[Answers]) -> None:
    names = ", ".join(
        f"{name} ({'|'.join(json.dumps(c) for c in choices)})"
        for name, choices in answers_class.choices().items()
    )
    parser.add_argument(
        "--answers",
        choices=PRESETS,
        default="harsh",
        help="preset of answers to the open API questions (default: harsh)",
    )
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override one answer after the preset (repeatable): {names}",
    )
