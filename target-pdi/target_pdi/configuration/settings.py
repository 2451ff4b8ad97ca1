"""target-pdi's settings: the config schema (`--about`) and `Settings`, read once, one default each.

Each default is a constant below, used both by the schema (what `--about` and Meltano show) and by
the `Settings` dataclass (what the code reads); `meltano.yml` and the READMEs do not restate them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from target_pdi.rules.verdict import DEAD_LETTER_MAX_AGE_HOURS, MAX_SYNC_AGE_HOURS
from target_pdi.rules.vocabulary import DEFAULT_APPROVAL_STATUSES

API_URL = "https://api.bluevote.com"
# Requests in flight adapt to PDI's answer times, from INITIAL_CONCURRENCY up to this.
MAX_CONCURRENCY = 32
INITIAL_CONCURRENCY = 8
# PDI documents no limit: no ceiling, the rate adapts to its 429s.
MAX_REQUESTS_PER_SECOND = 0
RECOVERY_WINDOW_DAYS = 30
REQUEST_TIMEOUT = 30
MAX_RETRIES = 6
# A batch: enough records for the workers to overlap, few enough to redo after a crash.
BATCH_SIZE_ROWS = 1000
BATCH_WAIT_SECONDS = 60.0
OUTAGE_SECONDS = 600
TIME_BUDGET_SECONDS = 14400
BACKOFF_BASE_SECONDS = 0.5
# The Meltano extractor through which reconcile and status read Mobilize.
MOBILIZE_TAP = "tap-mobilize"

# Settings where 0 (or "") is a value; in the others an empty or zero value means the default.
ZERO_IS_A_VALUE = frozenset({"max_retries", "backoff_base_seconds", "default_calendar"})


def project_dir() -> Path:
    """The Meltano project (relative mapping files, the reconcile report)."""
    return Path(os.environ.get("MELTANO_PROJECT_ROOT") or os.getcwd())


def files_dir() -> Path:
    """Where the default id map, dead letters and run summary live:
    ``<sys>/target-pdi/<environment>``, <sys> being Meltano's system directory
    (MELTANO_SYS_DIR_ROOT, by default <project>/.meltano).

    One folder per Meltano environment (MELTANO_ENVIRONMENT), because an id map describes one
    PDI: dev's (a sandbox, a test account) used against prod's PDI would make a run believe
    everything is there already and write nothing. Without an environment, the folder itself.
    """
    sys_dir = os.environ.get("MELTANO_SYS_DIR_ROOT")
    root = Path(sys_dir) if sys_dir else project_dir() / ".meltano"
    return root / "target-pdi" / os.environ.get("MELTANO_ENVIRONMENT", "")


def default_id_map_url() -> str:
    return f"sqlite:///{files_dir() / 'idmap.sqlite'}"


def default_dead_letter_path() -> str:
    return str(files_dir() / "dead_letters.jsonl")


def default_summary_path() -> str:
    return str(files_dir() / "summary.json")


def default_reconcile_report_path() -> str:
    return str(project_dir() / "output" / "reconcile.csv")


@dataclass(frozen=True)
class Settings:
    """Every target-pdi setting, typed, with its default; built once by `from_config`."""

    api_url: str = API_URL
    username: str = ""
    password: str = ""
    api_token: str = ""
    id_map_url: str = field(default_factory=default_id_map_url)
    dry_run: bool = False
    max_concurrency: int = MAX_CONCURRENCY
    max_requests_per_second: float = MAX_REQUESTS_PER_SECOND
    dead_letter_path: str = field(default_factory=default_dead_letter_path)
    default_calendar: str | int | None = None
    event_type_calendars: Mapping[str, str | int] = field(default_factory=dict)
    calendars_file: str | None = None
    fields_file: str | None = None
    sync_all_people: bool = False
    approval_statuses: tuple[str, ...] = DEFAULT_APPROVAL_STATUSES
    recovery_window_days: float = RECOVERY_WINDOW_DAYS
    request_timeout: float = REQUEST_TIMEOUT
    max_retries: int = MAX_RETRIES
    batch_size_rows: int = BATCH_SIZE_ROWS
    batch_wait_seconds: float = BATCH_WAIT_SECONDS
    outage_seconds: float = OUTAGE_SECONDS
    time_budget_seconds: float = TIME_BUDGET_SECONDS
    backoff_base_seconds: float = BACKOFF_BASE_SECONDS
    organization: str = ""
    mobilize_tap: str = MOBILIZE_TAP
    summary_path: str = field(default_factory=default_summary_path)
    reconcile_report_path: str = field(default_factory=default_reconcile_report_path)
    max_sync_age_hours: int = MAX_SYNC_AGE_HOURS
    dead_letter_max_age_hours: int = DEAD_LETTER_MAX_AGE_HOURS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings of a (validated) config; unset, empty or zero values take the default."""
        given = {
            f.name: _COERCE[f.name](config[f.name])
            for f in fields(cls)
            if _is_set(f.name, config.get(f.name))
        }
        return cls(**given)


def _is_set(name: str, value: Any) -> bool:
    if value is None:
        return False
    if name in ZERO_IS_A_VALUE:
        return True
    return value not in ("", 0, [], {})


def _calendar_ref(value: Any) -> str | int:
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


_COERCE: dict[str, Any] = {
    **dict.fromkeys(
        (
            "api_url",
            "username",
            "password",
            "api_token",
            "id_map_url",
            "dead_letter_path",
            "calendars_file",
            "fields_file",
            "organization",
            "mobilize_tap",
            "summary_path",
            "reconcile_report_path",
        ),
        str,
    ),
    **dict.fromkeys(("dry_run", "sync_all_people"), bool),
    **dict.fromkeys(
        (
            "max_concurrency",
            "max_retries",
            "batch_size_rows",
            "max_sync_age_hours",
            "dead_letter_max_age_hours",
        ),
        int,
    ),
    **dict.fromkeys(
        (
            "max_requests_per_second",
            "recovery_window_days",
            "request_timeout",
            "batch_wait_seconds",
            "outage_seconds",
            "time_budget_seconds",
            "backoff_base_seconds",
        ),
        float,
    ),
    "default_calendar": _calendar_ref,
    "event_type_calendars": dict,
    "approval_statuses": tuple,
}

CALENDAR_REF = th.CustomType({"type": ["string", "integer"]})


def config_schema() -> dict[str, Any]:
    """The JSON schema of the config (a fresh copy: the SDK adds its built-ins to it in place)."""
    return th.PropertiesList(*_CONNECTION, *_RUN, *_ROUTING, *_LIMITS, *_OPERATIONS).to_dict()


_CONNECTION = (
    th.Property("api_url", th.StringType, default=API_URL, description="PDI API base URL"),
    th.Property("username", th.StringType, secret=True, description="PDI API username"),
    th.Property("password", th.StringType, secret=True, description="PDI API password"),
    th.Property("api_token", th.StringType, secret=True, description="PDI API token"),
)
_RUN = (
    th.Property(
        "id_map_url",
        th.StringType,
        description="SQLAlchemy URL of the id map, which records the PDI it describes "
        "(default sqlite:///<sys>/target-pdi/<environment>/idmap.sqlite, "
        "<sys> = MELTANO_SYS_DIR_ROOT or <project>/.meltano, "
        "<environment> = MELTANO_ENVIRONMENT)",
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        description="Read PDI, log the plan, save nothing (no write, no bookmark)",
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType,
        default=MAX_CONCURRENCY,
        description="Most PDI requests in flight: from 8 the number grows while PDI answers "
        "as fast as when idle, and shrinks when its answers slow down or fail",
    ),
    th.Property(
        "max_requests_per_second",
        th.NumberType,
        default=MAX_REQUESTS_PER_SECOND,
        description="Ceiling of the PDI request rate shared by all workers (0: none, the "
        "default); on a 429 every worker pauses for its Retry-After and the rate drops, "
        "then climbs back, slowly near the rate PDI refused",
    ),
    th.Property(
        "dead_letter_path",
        th.StringType,
        description="JSONL of rejected records "
        "(default <sys>/target-pdi/<environment>/dead_letters.jsonl)",
    ),
)
_ROUTING = (
    th.Property(
        "default_calendar",
        CALENDAR_REF,
        description="PDI calendar (name or id) for event types not in event_type_calendars",
    ),
    th.Property(
        "event_type_calendars",
        th.CustomType({"type": "object", "additionalProperties": {"type": ["string", "integer"]}}),
        description="Mobilize event type (e.g. CANVASS) -> PDI calendar name or id",
    ),
    th.Property(
        "calendars_file",
        th.StringType,
        description="YAML file routing Mobilize event types to PDI calendars "
        "(mappings/calendars.yml); relative to the Meltano project",
    ),
    th.Property(
        "fields_file",
        th.StringType,
        description="YAML file saying which Mobilize field feeds which PDI field "
        "(mappings/fields.yml), applied as stream maps; relative to the Meltano project",
    ),
    th.Property(
        "sync_all_people",
        th.BooleanType,
        default=False,
        description="Create contacts for every person, not only those who signed up",
    ),
    th.Property(
        "approval_statuses",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_APPROVAL_STATUSES),
        description="Mobilize approval statuses whose events go to PDI (APPROVED, "
        "NEEDS_APPROVAL, REJECTED, NEEDS_HOST_VERIFICATION). An event that leaves them is "
        "canceled in PDI, and restored if it comes back",
    ),
    th.Property(
        "recovery_window_days",
        th.NumberType,
        default=RECOVERY_WINDOW_DAYS,
        description="When the id map does not know a Mobilize event (it is new, or the map "
        "was lost), its PDI events are looked up by their Mobilize link within this many "
        "days of its timeslots",
    ),
)
_LIMITS = (
    th.Property(
        "request_timeout",
        th.NumberType,
        default=REQUEST_TIMEOUT,
        description="Seconds per PDI request",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=MAX_RETRIES,
        description="Retries of a PDI request that fails (5xx, no answer) while PDI answers "
        "others; then its record goes to the dead letters. 429s use up no retries",
    ),
    th.Property(
        "batch_size_rows",
        th.IntegerType,
        default=BATCH_SIZE_ROWS,
        description="Records read before they are written to PDI and a bookmark saved "
        "(events, deleted events, people and signups counted together)",
    ),
    th.Property(
        "batch_wait_seconds",
        th.NumberType,
        default=BATCH_WAIT_SECONDS,
        description="Longest a read record waits before its batch is written",
    ),
    th.Property(
        "outage_seconds",
        th.IntegerType,
        default=OUTAGE_SECONDS,
        description="How long PDI may answer nothing at all before the run stops "
        "(it waits, and goes on where it was when PDI is back)",
    ),
    th.Property(
        "time_budget_seconds",
        th.IntegerType,
        default=TIME_BUDGET_SECONDS,
        description="Longest a run may take, 429 back-offs included; then it stops and "
        "the next run goes on from the last bookmark",
    ),
    th.Property(
        "backoff_base_seconds",
        th.NumberType,
        default=BACKOFF_BASE_SECONDS,
        description="First retry delay (doubles, jittered)",
    ),
)


_OPERATIONS = (
    th.Property(
        "organization",
        th.StringType,
        description="Name of the organization this sync serves, in its summary, status, locks "
        "and table names: lower-case letters and digits, words joined by '_' (e.g. south_east)",
    ),
    th.Property(
        "mobilize_tap",
        th.StringType,
        default=MOBILIZE_TAP,
        description="Meltano extractor that reconcile and status run to read Mobilize",
    ),
    th.Property(
        "summary_path",
        th.StringType,
        description="JSON summary of the last run, for alerting and status "
        "(default <sys>/target-pdi/<environment>/summary.json)",
    ),
    th.Property(
        "reconcile_report_path",
        th.StringType,
        description="CSV of the discrepancies reconcile finds "
        "(default <project>/output/reconcile.csv)",
    ),
    th.Property(
        "max_sync_age_hours",
        th.IntegerType,
        default=MAX_SYNC_AGE_HOURS,
        description="status says ATTENTION when the last successful run finished longer ago "
        "than this (fit for the twice-daily schedule; 1 for a run every few minutes)",
    ),
    th.Property(
        "dead_letter_max_age_hours",
        th.IntegerType,
        default=DEAD_LETTER_MAX_AGE_HOURS,
        description="status says ATTENTION when a dead letter first failed longer ago than "
        "this (every run retries them: one this old waits for a person)",
    ),
)


def env_numbers(config: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Environment strings of "number" settings as floats.

    singer-sdk turns environment strings into integers, booleans, arrays and objects but leaves
    "number" settings as strings, which then fail validation; Meltano passes config through the
    environment for `meltano test` (--config=ENV).
    """
    properties = schema.get("properties", {})
    for key, value in config.items():
        declared = properties.get(key, {}).get("type")
        types = declared if isinstance(declared, list) else [declared]
        if isinstance(value, str) and "number" in types and value.strip():
            config[key] = float(value)
    return config
