"""Build hook: ship the repository's shared `pacing` package inside this plugin's sdist and wheel.

`pacing` (../pacing/pacing) is written once for both plugins but published nowhere, so a plugin
installed on its own (`pip install ./tap-mobilize`, a git URL with `#subdirectory=`, its sdist)
must carry it. The sdist gets a copy at its root (`pacing/`) and the wheel is built from that
copy, or from ../pacing when built straight from the repository. An editable install carries
no copy: the project installs `-e ./pacing` beside it, and a copy in site-packages would shadow
edits to ../pacing. target-pdi/hatch_build.py is the same file (tests/test_packaging.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class VendorPacing(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "vendor-pacing"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        source = self.pacing_source()
        # File by file: never a __pycache__ or an editor's leftovers.
        for path in sorted(source.iterdir()):
            if path.suffix == ".py" or path.name == "py.typed":
                build_data["force_include"][str(path)] = f"pacing/{path.name}"

    def pacing_source(self) -> Path:
        root = Path(self.root)
        # Inside an unpacked sdist, its own copy; in the repository, the shared folder.
        for candidate in (root / "pacing", root.parent / "pacing" / "pacing"):
            if (candidate / "__init__.py").is_file():
                return candidate
        raise FileNotFoundError(
            f"the shared package `pacing` is neither in {root / 'pacing'} (an sdist) nor in "
            f"{root.parent / 'pacing' / 'pacing'} (the repository): build from a full clone"
        )
