"""target-pdi's rooms import one way: from the entry points and the operator's tools down to
the sync, the stores, the configuration, the rules and the PDI boundary, never back up.

Every `import` counts, those under `TYPE_CHECKING` and inside functions too: an arrow drawn
only for the type checker still ties the rooms together. Within a room, modules may import
each other; between rooms, only downward.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "target-pdi" / "target_pdi"
# Top to bottom. A module may import from its own room and the rooms below it.
LAYERS = (
    ("target", "cli"),
    ("operator_tools",),
    ("sync",),
    ("stores",),
    ("configuration",),
    ("rules",),
    ("pdi",),
    ("errors", "redact"),
)
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}


def room_of(dotted: str) -> str | None:
    """The room of a `target_pdi.<room>...` name; None outside the package."""
    parts = dotted.split(".")
    if parts[0] != "target_pdi" or len(parts) < 2:
        return None
    return parts[1]


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every target_pdi import in the module at ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "target_pdi":
                for alias in node.names:
                    yield node.lineno, f"target_pdi.{alias.name}"
            else:
                yield node.lineno, node.module


def upward_imports(package: Path = PACKAGE) -> Iterator[str]:
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts == ("__init__.py",):
            continue
        room = relative.parts[0].removesuffix(".py")
        for line, module in imported(path):
            target = room_of(module)
            if target is None or target == room:
                continue
            if target not in RANK:
                yield f"{relative}:{line}: imports {module}, in no room of LAYERS"
            elif RANK[target] < RANK[room]:
                yield f"{relative}:{line}: {room} imports {module} from {target}, a room above it"


def test_every_module_is_in_a_room() -> None:
    # A folder is a room when it is a package (one left holding only __pycache__ is not).
    rooms = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.parent.name for p in PACKAGE.glob("*/__init__.py")
    }
    rooms.discard("__init__")
    assert rooms == set(RANK), "rooms on disk and in LAYERS differ"


def test_imports_point_down() -> None:
    found = list(upward_imports())
    assert not found, "imports pointing up:\n" + "\n".join(found)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The rules importing the sync must be caught, or the test above proves nothing.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "payloads.py").write_text(
        "import target_pdi.rules.routing\n"
        "def late():\n    from target_pdi.sync.engine import SyncEngine\n"
    )
    assert list(upward_imports(tmp_path)) == [
        "rules/payloads.py:3: rules imports target_pdi.sync.engine from sync, a room above it"
    ]
