"""Sinks only buffer. All writing happens in TargetPDI._drain_all, in dependency order.

The SDK drains a sink on its own when `is_full` and drains different sinks in parallel threads; both
would break "an invitation is never written before its event and contact exist". So `is_full` is
never true and the target takes the buffered records itself.
"""

from __future__ import annotations

from typing import Any

from singer_sdk.sinks import BatchSink

# Streams that carry data for PDI; anything else is accepted and ignored.
WRITTEN_STREAMS = ("events", "deleted_events", "people", "attendances")


class BufferSink(BatchSink):
    # Be tolerant of records that do not match the tap's schema (extra/missing fields): log, keep.
    fail_on_record_validation_exception = False

    @property
    def is_full(self) -> bool:
        return False

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        context.setdefault("records", []).append(record)

    def take_records(self) -> list[dict[str, Any]]:
        """Hand the buffered records to the target (the sink's buffer is emptied)."""
        context = self.start_drain()
        records: list[dict[str, Any]] = context.get("records", [])
        return records

    def process_batch(self, context: dict[str, Any]) -> None:  # pragma: no cover - never called
        raise RuntimeError("target-pdi drains its sinks itself (TargetPDI._drain_all)")


class IgnoredSink(BufferSink):
    """`timeslots` (events carry them), `organization`, unknown streams: read and dropped."""

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        context["ignored"] = int(context.get("ignored", 0)) + 1
