"""The settings reference pages (docs/reference/*.md) are each plugin's own `--about
--format=markdown`, as scripts/docs_reference.py writes them: a setting changed in the code
and not in the docs fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_settings_reference_is_what_each_plugin_says_of_itself() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs_reference.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
