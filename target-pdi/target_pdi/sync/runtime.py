"""What one run needs once it talks to PDI: client, calendar routing, id map, dead letters, engine.

Built from `Settings` (lazily, at the first record: a login failure stops the run before it reads
on); building it logs in and checks every calendar, so a bad setting stops before any write.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from target_pdi.configuration.calendars_file import unknown_calendars
from target_pdi.configuration.mapping_files import Mappings
from target_pdi.configuration.mapping_problems import MappingError
from target_pdi.configuration.settings import INITIAL_CONCURRENCY, Settings
from target_pdi.errors import ConfigurationError
from target_pdi.pdi.client import PDIClient
from target_pdi.pdi.dry_run import DryRunClient
from target_pdi.rules.routing import CalendarRouter
from target_pdi.stores.configured import dead_letter_store
from target_pdi.stores.idmap import IdMap
from target_pdi.stores.pdi_account import claim
from target_pdi.sync.engine import SyncEngine
from target_pdi.sync.summary import Summary


class Runtime:
    """Everything one run needs once it talks to PDI."""

    def __init__(
        self, settings: Settings, summary: Summary, mappings: Mappings | None = None
    ) -> None:
        self.settings = settings
        self.dry_run = settings.dry_run
        self.client = make_client(settings)
        self.router = router_for(settings, mappings)
        # Fatal before any write: bad credentials, unknown calendar names/ids.
        self.client.login()
        calendars = self.client.list_all("/calendars")
        calendars_file = mappings.calendars if mappings else None
        if calendars_file is not None:
            problems = unknown_calendars(calendars_file, calendars)
            if problems:
                raise ConfigurationError(str(MappingError(problems)))
        self.router.resolve(calendars)
        self.idmap = IdMap(
            settings.id_map_url, read_only=settings.dry_run, organization=settings.organization
        )
        if not settings.dry_run:
            try:
                claim(self.idmap, settings)  # another PDI's map stops the run; a new one is ours
            except BaseException:
                self.idmap.close()
                self.client.close()
                raise
        self.deadletters = dead_letter_store(settings)
        self.engine = SyncEngine(
            self.client,
            self.idmap,
            self.router,
            self.deadletters,
            summary,
            max_concurrency=settings.max_concurrency,
            sync_all_people=settings.sync_all_people,
            approval_statuses=settings.approval_statuses,
            recovery_window_days=settings.recovery_window_days,
            show_plan=settings.dry_run,
        )

    def close(self) -> None:
        self.engine.close()
        self.idmap.close()
        self.deadletters.close()
        self.client.close()


def make_client(settings: Settings) -> PDIClient:
    """The PDI client (a read-only one on a dry run)."""
    client_class = DryRunClient if settings.dry_run else PDIClient
    return client_class(
        settings.api_url,
        settings.username,
        settings.password,
        settings.api_token,
        max_requests_per_second=settings.max_requests_per_second,
        pool_size=settings.max_concurrency,
        initial_concurrency=min(INITIAL_CONCURRENCY, settings.max_concurrency),
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        backoff_base=settings.backoff_base_seconds,
        outage_seconds=settings.outage_seconds,
        time_budget_seconds=settings.time_budget_seconds,
    )


def router_for(settings: Settings, mappings: Mappings | None) -> CalendarRouter:
    """Routing from calendars_file, overlaid by event_type_calendars and default_calendar."""
    table: dict[str, Any] = {}
    default = settings.default_calendar
    calendars_file = mappings.calendars if mappings else None
    if calendars_file is not None:
        table.update(calendars_file.event_types)
        if default in (None, ""):
            default = calendars_file.default_calendar
    table.update(settings.event_type_calendars)
    if calendars_file is None:
        return CalendarRouter(table, default)
    return CalendarRouter(
        table,
        default,
        mapping_setting=f"{calendars_file.file} event_types",
        default_setting=f"{calendars_file.file} default_calendar",
    )


def log_in_once(settings: Settings) -> None:
    """Log in to PDI and nothing more (read-only): raises what a refused login raises."""
    client = make_client(replace(settings, dry_run=True))
    try:
        client.login()
    finally:
        client.close()
