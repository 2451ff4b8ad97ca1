"""Each organization's Dagster schedule, from its Meltano schedule.

Meltano's cron has no time zone (it is UTC): ``0 4,16 * * *`` stands for midnight and noon US
Eastern during daylight saving time only (meltano.yml). Dagster knows time zones, so the same
schedule here runs at the hours it stands for, in America/New_York, all year: the hours moved
back by EDT's four hours, the minute (organizations are staggered) kept. A schedule with
`env` (the five-minute one narrows the re-check window) is left to Meltano's own runner: a
Dagster run has no way to pass it that env.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mobilize_pdi_dagster.organizations import Organization, read_project

EASTERN = "America/New_York"
EDT_HOURS_FROM_UTC = 4
# When the organization's job has no Meltano schedule: midnight and noon Eastern.
DEFAULT_CRON = "0 0,12 * * *"


@dataclass(frozen=True)
class EasternSchedule:
    name: str
    cron: str  # in America/New_York


def shift_hours(cron: str, hours: int) -> str | None:
    """A cron of fixed hours with its hours moved by ``hours`` (minute and day fields kept);
    None when its hours are not a plain list of numbers (``*``, ``*/2``: nothing to move).
    An hour moved past midnight keeps its day fields: for crons of every day, as here."""
    fields = cron.split()
    if len(fields) != 5 or not all(h.isdigit() for h in fields[1].split(",")):
        return None
    moved = sorted({(int(h) + hours) % 24 for h in fields[1].split(",")})
    return " ".join([fields[0], ",".join(map(str, moved)), *fields[2:]])


def eastern_cron(utc_cron: str) -> str | None:
    """A UTC cron of fixed hours as the same hours in Eastern (daylight) time; None when its
    hours are not a plain list of numbers."""
    return shift_hours(utc_cron, -EDT_HOURS_FROM_UTC)


def org_schedules(project_dir: Path, org: Organization) -> list[EasternSchedule]:
    found = []
    for schedule in read_project(project_dir).get("schedules", []):
        if schedule.get("job") != org.meltano_job or schedule.get("env"):
            continue
        cron = eastern_cron(str(schedule.get("interval") or ""))
        if cron:
            found.append(EasternSchedule(str(schedule["name"]).replace("-", "_"), cron))
    return found or [EasternSchedule(f"sync_{org.dagster_name}_twice_daily", DEFAULT_CRON)]


# Reconcile reads all of Mobilize and PDI: once a day, in the night's quiet after the midnight
# sync, at the organization's own minute so that organizations do not all read at once.
RECONCILE_HOUR = 2


def reconcile_cron(schedules: list[EasternSchedule]) -> str:
    minute = schedules[0].cron.split()[0] if schedules else "0"
    return f"{minute if minute.isdigit() else '0'} {RECONCILE_HOUR} * * *"
