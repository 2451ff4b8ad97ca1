"""Status: the last run, dead letters waiting, credentials (being built for issue 11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_pdi.target import TargetPDI


def run_status(target: TargetPDI) -> int:
    """Exit status: 0 when the last run succeeded and both credentials work."""
    raise NotImplementedError("status is not built yet")
