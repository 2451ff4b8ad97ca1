"""Which PDI credentials a sync lacks, named as a user sets them (setting and variable)."""

from __future__ import annotations

import os
import re

from target_pdi.configuration.settings import Settings
from target_pdi.errors import ConfigurationError

CREDENTIALS = ("username", "password", "api_token")
PLUGIN = "target-pdi"


def missing_credentials(settings: Settings) -> list[str]:
    return [name for name in CREDENTIALS if not getattr(settings, name)]


def env_var(setting: str) -> str:
    """The variable Meltano reads ``setting`` from for this plugin: TARGET_PDI_PASSWORD, or
    TARGET_PDI__NORTH_PASSWORD for an organization's `target-pdi--north` (Meltano tells a
    plugin its name in MELTANO_LOADER_NAME)."""
    plugin = os.environ.get("MELTANO_LOADER_NAME") or PLUGIN
    return re.sub(r"[^A-Za-z0-9]", "_", f"{plugin}_{setting}").upper()


def missing_message(missing: list[str]) -> str:
    named = ", ".join(f"{name} ({env_var(name)})" for name in missing)
    return (
        f"missing PDI credentials: set {named} in .env or the environment "
        "(or the plugin's config); nothing was read or written"
    )


def require_credentials(settings: Settings) -> None:
    """Stop a sync before it reads its first line when a PDI credential is missing.

    Without this a run whose tap emits nothing (it failed at start, or found nothing new)
    never logs in, and ends "successfully" with an empty summary.
    """
    missing = missing_credentials(settings)
    if missing:
        raise ConfigurationError(missing_message(missing))
