"""fields_file's stream maps, where one record's failure is that record's, not the run's.

singer-sdk evaluates a stream map's expressions on each record before any sink code, and an
expression that raises on one record (``contact['phone_number']`` on a contact that is a string,
a key missing) stops the whole target: no STATE, and the same record back in every run. Here a
record whose map raises is set aside with the reason (`Refusals`), left out of the sinks, and
handed to the next batch, whose screen (planning/poison.py) dead-letters it as it came, with one
line.
Its retry goes through the maps again (`remap`), so a fixed fields_file writes it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from singer_sdk.mapper import PluginMapper, StreamMap

from target_pdi.errors import FatalError

Record = dict[str, Any]
Transform = Callable[[Record], Record | None]


class Refusals:
    """Records whose stream map raised, waiting for the next batch: (stream, record, reason)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[tuple[str, Record, str]] = []

    def add(self, stream: str, record: Record, reason: str) -> None:
        with self._lock:
            self._records.append((stream, record, reason))

    def take(self) -> list[tuple[str, Record, str]]:
        with self._lock:
            taken, self._records = self._records, []
        return taken

    def __len__(self) -> int:
        return len(self._records)


def why(stream: str, exc: Exception) -> str:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return f"fields_file's map of stream {stream} failed on it: {type(cause).__name__}: {cause}"


class GuardedMapper(PluginMapper):
    """The SDK's mapper, each stream map guarded: a record it raises on goes to `refusals`."""

    def __init__(self, *args: Any, refusals: Refusals, **kwargs: Any) -> None:
        self.refusals = refusals
        super().__init__(*args, **kwargs)

    def register_raw_stream_schema(self, stream_name: str, *args: Any, **kwargs: Any) -> None:
        super().register_raw_stream_schema(stream_name, *args, **kwargs)
        for stream_map in self.stream_maps.get(stream_name, []):
            guard(stream_map, stream_name, self.refusals)

    def remap(self, stream: str, record: Record) -> tuple[Record | None, str | None]:
        """A record kept before its stream's maps ran (a dead letter of a map that raised),
        through them again: (the mapped record, None) or (None, why it failed again)."""
        for stream_map in self.stream_maps.get(stream, []):
            original: Transform = getattr(stream_map, "_unguarded", stream_map.transform)
            try:
                mapped = original(copy.copy(record))
            except FatalError:
                raise
            except Exception as exc:  # whatever one record raises is its own failure
                return None, why(stream, exc)
            if mapped is not None:
                return mapped, None
        return record, None


def guard(stream_map: StreamMap, stream: str, refusals: Refusals) -> None:
    if getattr(stream_map, "_unguarded", None) is not None:
        return
    original: Transform = stream_map.transform

    def transform(record: Record) -> Record | None:
        try:
            return original(record)
        except FatalError:
            raise
        except Exception as exc:  # whatever one record raises is its own failure
            refusals.add(stream, record, why(stream, exc))
            return None  # to the SDK: filtered out by the map

    stream_map._unguarded = original  # type: ignore[attr-defined]
    stream_map.transform = transform  # type: ignore[method-assign]
