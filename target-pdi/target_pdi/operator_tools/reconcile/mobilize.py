"""Mobilize as the sync sees it: the project's tap, read in full, through target-pdi's own
stream maps (fields_file and `stream_maps`), so that what PDI should hold is computed from the
very records a sync would write.
"""

from __future__ import annotations

import copy
import json
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from singer_sdk.mapper import PluginMapper

from target_pdi.configuration.mobilize_tap import tap_command, tap_cwd
from target_pdi.configuration.settings import Settings
from target_pdi.errors import FatalError
from target_pdi.redact import redact
from target_pdi.rules.vocabulary import WRITTEN_STREAMS
from target_pdi.sync.planning import events as plans

Record = Mapping[str, Any]
# Lines of the tap's own output shown when it fails.
ERROR_LINES = 15


@dataclass
class MobilizeData:
    """The latest record of each id of every stream the sync writes (masked ones left out)."""

    events: dict[int, Record] = field(default_factory=dict)
    deleted_events: dict[int, Record] = field(default_factory=dict)
    people: dict[int, Record] = field(default_factory=dict)
    attendances: dict[int, Record] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Mapping[str, Iterable[Record]]) -> MobilizeData:
        def latest(stream: str) -> dict[int, Record]:
            return {
                int(k): v
                for k, v in plans.latest_by(records.get(stream, []), plans.record_id).items()
            }

        attendances = [a for a in records.get("attendances", []) if not plans.is_masked(a)]
        return cls(
            events=latest("events"),
            deleted_events=latest("deleted_events"),
            people=latest("people"),
            attendances={
                int(k): v for k, v in plans.latest_by(attendances, plans.record_id).items()
            },
        )


class MappedReader:
    """Singer messages in, the records target-pdi's sinks would get out (after its maps)."""

    def __init__(self, mapper: PluginMapper) -> None:
        self.mapper = mapper
        self.records: dict[str, list[dict[str, Any]]] = {s: [] for s in WRITTEN_STREAMS}
        self._schemas: dict[str, Any] = {}

    def line(self, line: str) -> None:
        if not line.strip():
            return
        try:
            # As singer-sdk reads its input: numbers with a fraction as Decimal.
            message = json.loads(line, parse_float=Decimal)
        except ValueError:
            return  # not a Singer message (a stray print): the sync would stop, we read on
        if not isinstance(message, dict):
            return
        kind, stream = message.get("type"), str(message.get("stream"))
        if kind == "SCHEMA":
            schema = message.get("schema")
            if isinstance(schema, dict) and self._schemas.get(stream) != schema:
                self._schemas[stream] = schema
                self.mapper.register_raw_stream_schema(
                    stream, schema, message.get("key_properties")
                )
        elif kind == "RECORD" and stream in self.mapper.stream_maps:
            for stream_map in self.mapper.stream_maps[stream]:
                mapped = stream_map.transform(copy.copy(message.get("record") or {}))
                if mapped is not None and stream_map.stream_alias in self.records:
                    self.records[stream_map.stream_alias].append(mapped)

    def data(self) -> MobilizeData:
        return MobilizeData.of(self.records)


def read_mobilize(settings: Settings, mapper: PluginMapper) -> MobilizeData:
    """Run the project's tap (`meltano invoke <mobilize_tap>`: the project's catalog and the
    tap's config, no state, so every record since its start_date) and read its records."""
    argv = tap_command(settings)
    reader = MappedReader(mapper)
    with (
        tempfile.TemporaryFile(mode="w+") as errors,
        subprocess.Popen(
            argv, cwd=tap_cwd(), stdout=subprocess.PIPE, stderr=errors, text=True
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            reader.line(line)
        code = process.wait()
        if code != 0:
            raise FatalError(
                f"reading Mobilize through {settings.mobilize_tap} failed (exit {code}): "
                + tail(errors)
            )
    return reader.data()


def tail(output: IO[str]) -> str:
    output.seek(0)
    lines = [line.rstrip() for line in output if line.strip()]
    return redact(" | ".join(lines[-ERROR_LINES:]))
