"""Mobilize as the project's tap reads it, for target-pdi's commands that need both APIs.

reconcile and status are Meltano commands of target-pdi (`meltano invoke target-pdi:reconcile`),
yet they must read Mobilize, with the tap's own settings and secrets, which Meltano gives only to
the tap. So they run the tap the way a user would, `meltano invoke <mobilize_tap> ...`, in the
same project and environment: its config is resolved by Meltano, never copied into the target's.
"""

from __future__ import annotations

import os
import shutil

from target_pdi.configuration.settings import Settings, project_dir
from target_pdi.errors import ConfigurationError


def tap_command(settings: Settings, *args: str) -> list[str]:
    """argv of `meltano invoke <mobilize_tap> <args>` in this project and environment."""
    meltano = shutil.which("meltano")
    if meltano is None or not os.environ.get("MELTANO_PROJECT_ROOT"):
        raise ConfigurationError(
            "this command reads Mobilize through the project's tap: run it through Meltano "
            f"(meltano invoke target-pdi:<command>) with `meltano` on PATH "
            f"(mobilize_tap: {settings.mobilize_tap})"
        )
    environment = os.environ.get("MELTANO_ENVIRONMENT")
    chosen = [f"--environment={environment}"] if environment else []
    return [meltano, *chosen, "invoke", settings.mobilize_tap, *args]


def tap_cwd() -> str:
    return str(project_dir())
