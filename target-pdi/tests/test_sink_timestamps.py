"""The sinks' timestamp pass (sync/sinks.py): the SDK's, given only what it acts on."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from target_pdi.target import TargetPDI

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "modified_date": {"type": ["integer", "null"]},
        "seen_at": {"type": ["string", "null"], "format": "date-time"},
        "title": {"type": ["string", "null"]},
    },
}


def test_date_times_are_parsed_and_unknown_properties_named_once(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    target = TargetPDI(config=config, validate_config=False)
    sink = target.get_sink("events", schema=SCHEMA, key_properties=["id"])
    caplog.set_level(logging.WARNING)
    records = [
        {"id": 1, "modified_date": 5, "seen_at": "2026-12-05T09:00:00+00:00", "title": "A"},
        {"id": 2, "modified_date": 6, "seen_at": None, "title": "B", "extra": 1, "more": 2},
        {"id": 3, "modified_date": 7, "seen_at": "2026-12-06T09:00:00+00:00", "extra": 3},
    ]
    parsed = [sink._validate_and_parse(dict(r)) for r in records]
    assert parsed[0] == {**records[0], "seen_at": datetime.fromisoformat(records[0]["seen_at"])}
    assert parsed[1] == records[1]
    assert list(parsed[2]) == ["id", "modified_date", "seen_at", "extra"]  # order kept
    assert isinstance(parsed[2]["seen_at"], datetime)
    named = [
        r.getMessage() for r in caplog.records if "No schema for record field" in r.getMessage()
    ]
    assert named == ["No schema for record field 'extra'", "No schema for record field 'more'"]
