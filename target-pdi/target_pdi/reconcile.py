"""Reconcile: every discrepancy between Mobilize and PDI (being built for issue 11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_pdi.target import TargetPDI


def run_reconcile(target: TargetPDI, *, fix: bool) -> int:
    """Exit status: 0 when Mobilize and PDI agree, 1 when anything was found."""
    raise NotImplementedError("reconcile is not built yet")
