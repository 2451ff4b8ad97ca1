"""What the operator's tools need of a target built from the project's configuration.

Status and reconcile run on the target the command line built (its config validated, its
mapping files loaded, its stream maps set up) but only read these three things; naming them
here keeps the tools below the target, which dispatches to them.
"""

from __future__ import annotations

from typing import Protocol

from singer_sdk.mapper import PluginMapper

from target_pdi.configuration.mapping_files import Mappings
from target_pdi.configuration.settings import Settings


class ConfiguredTarget(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def mappings(self) -> Mappings: ...

    @property
    def mapper(self) -> PluginMapper: ...
