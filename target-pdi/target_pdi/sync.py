"""Transitional: the engine moved to engine.py, the batch to plan.py."""

from target_pdi.engine import SyncEngine
from target_pdi.plan import DEFAULT_APPROVAL_STATUSES, Batch

__all__ = ["DEFAULT_APPROVAL_STATUSES", "Batch", "SyncEngine"]
