"""The code location for this project: an asset, job and schedule per organization."""

from __future__ import annotations

import dagster as dg
from mobilize_pdi_dagster.definitions import defs
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG


def test_each_organization_has_its_asset_job_and_eastern_schedule() -> None:
    assert sorted(job.name for job in defs.jobs or []) == ["sync_north", "sync_south"]
    schedules = {s.name: s for s in defs.schedules or [] if isinstance(s, dg.ScheduleDefinition)}
    assert {name: (s.job_name, s.cron_schedule) for name, s in schedules.items()} == {
        "sync_north_twice_daily": ("sync_north", "0 0,12 * * *"),
        "sync_south_twice_daily": ("sync_south", "30 0,12 * * *"),
    }
    assert {s.execution_timezone for s in schedules.values()} == {"America/New_York"}
    for org in ("north", "south"):
        job = defs.resolve_job_def(f"sync_{org}")
        assert job.run_tags[ORGANIZATION_TAG] == org
        assert job.asset_layer.executable_asset_keys == {dg.AssetKey(["pdi", org])}
