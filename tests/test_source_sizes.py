"""No module over 400 lines, no class over 250, no function over 50 (tests aside).

Sizes are counted with ``ast``, ``end_lineno - lineno + 1``: a class or function from its
first line (the decorators excluded) to its last, docstring and comments included. A
module that outgrows a limit is split along a real seam, not into grab-bag helpers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE_LINES, CLASS_LINES, FUNCTION_LINES = 400, 250, 50
SOURCE_TREES = ("tap-mobilize/tap_mobilize", "pacing/pacing", "sandbox", "target-pdi/target_pdi")
# Trees not checked yet (a split under way); empty: every tree is checked.
PENDING: tuple[str, ...] = ()


def excesses(path: Path, name: str) -> Iterator[str]:
    """One line per limit the source at ``path`` breaks, naming it as ``name``."""
    source = path.read_text(encoding="utf-8")
    lines = len(source.splitlines())
    if lines > MODULE_LINES:
        yield f"{name}: module of {lines} lines (limit {MODULE_LINES})"
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.ClassDef):
            kind, limit = "class", CLASS_LINES
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            kind, limit = "function", FUNCTION_LINES
        else:
            continue
        size = (node.end_lineno or node.lineno) - node.lineno + 1
        if size > limit:
            yield f"{name}:{node.lineno}: {kind} {node.name} of {size} lines (limit {limit})"


def _pending(name: str) -> bool:
    return any(name == p or name.startswith(f"{p}/") for p in PENDING)


def checked_modules(root: Path) -> Iterator[tuple[Path, str]]:
    """The source modules of every tree, tests and PENDING paths aside."""
    for tree in SOURCE_TREES:
        for path in sorted((root / tree).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if "tests" in path.relative_to(root).parts or _pending(name):
                continue
            yield path, name


def test_no_source_module_class_or_function_over_its_limit() -> None:
    found = [line for path, name in checked_modules(ROOT) for line in excesses(path, name)]
    assert not found, "over the size limits:\n" + "\n".join(found)


def test_the_trees_are_there() -> None:
    # A renamed tree would silently check nothing.
    for tree in SOURCE_TREES:
        assert any((ROOT / tree).rglob("*.py")), f"no Python modules under {tree}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\n" * 401, "big.py: module of 401 lines (limit 400)"),
        ("class Big:\n" + "    x = 1\n" * 250, "big.py:1: class Big of 251 lines (limit 250)"),
        (
            "class Small:\n    async def big(self):\n" + "        pass\n" * 50,
            "big.py:2: function big of 51 lines (limit 50)",
        ),
    ],
    ids=["module", "class", "method"],
)
def test_each_excess_is_named(tmp_path: Path, source: str, expected: str) -> None:
    path = tmp_path / "big.py"
    path.write_text(source, encoding="utf-8")
    assert list(excesses(path, "big.py")) == [expected]


def test_a_module_at_every_limit_passes(tmp_path: Path) -> None:
    body = "    pass\n" * 49
    source = "def f():\n" + body + "\n" * (400 - 50)
    path = tmp_path / "edge.py"
    path.write_text(source, encoding="utf-8")
    assert list(excesses(path, "edge.py")) == []
