"""Mobilize event type -> PDI calendar id.

`CalendarRouter(mapping, default)` takes calendar *references* (a PDI calendar name or id, as an
analyst would write them); `resolve(calendars)` turns them into ids against the calendars PDI has
(GET /calendars, once per run) and fails loudly on any reference PDI does not know, before a write.
A YAML loader (label -> enum etc.) can sit on top: it only has to produce `mapping` and `default`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from target_pdi.errors import ConfigurationError

CalendarRef = str | int


class CalendarRouter:
    def __init__(
        self,
        mapping: Mapping[str, CalendarRef] | None = None,
        default: CalendarRef | None = None,
        *,
        mapping_setting: str = "event_type_calendars",
        default_setting: str = "default_calendar",
    ) -> None:
        # Mobilize event types are upper-case enum values; normalise so "canvass" also matches.
        self._mapping = {str(k).strip().upper(): v for k, v in (mapping or {}).items()}
        self._default = default if default not in ("", None) else None
        self._mapping_setting = mapping_setting
        self._default_setting = default_setting
        self._resolved: dict[str, str] | None = None
        self._default_id: str | None = None
        self.calendar_names: dict[str, str] = {}

    @property
    def resolved(self) -> bool:
        return self._resolved is not None

    def resolve(self, calendars: Iterable[Mapping[str, Any]]) -> None:
        """Resolve every reference to a calendar id; raise ConfigurationError on unknown ones."""
        by_id: dict[str, str] = {}
        by_name: dict[str, list[str]] = {}
        for cal in calendars:
            cal_id = cal.get("id", cal.get("Id"))
            if cal_id is None:
                continue
            name = str(cal.get("name", cal.get("Name")) or "")
            by_id[str(cal_id)] = name
            by_name.setdefault(name.strip().lower(), []).append(str(cal_id))
        self.calendar_names = by_id
        available = ", ".join(
            f"{n!r} (id {i})" for i, n in sorted(by_id.items(), key=lambda x: x[1])
        )

        def lookup(ref: CalendarRef, where: str) -> str:
            text = str(ref).strip()
            if text in by_id:
                return text
            ids = by_name.get(text.lower(), [])
            if len(ids) == 1:
                return ids[0]
            problem = "matches several PDI calendars" if ids else "is not a PDI calendar"
            raise ConfigurationError(
                f"{where}: calendar {text!r} {problem}; fix that setting. "
                f"Calendars in PDI: {available or 'none'}"
            )

        resolved = {
            event_type: lookup(ref, f"setting {self._mapping_setting}[{event_type}]")
            for event_type, ref in self._mapping.items()
        }
        self._default_id = (
            lookup(self._default, f"setting {self._default_setting}")
            if self._default is not None
            else None
        )
        self._resolved = resolved

    def route(self, event_type: Any) -> str | None:
        """Calendar id for an event type; None = not mapped and no default (skip and report)."""
        if self._resolved is None:
            raise RuntimeError("CalendarRouter.resolve() must run before route()")
        key = str(event_type or "").strip().upper()
        return self._resolved.get(key, self._default_id)
