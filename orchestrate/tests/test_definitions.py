"""The code location for this project: per organization its asset and checks, its sync and
reconcile jobs and schedules; the freshness and alert sensors."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from mobilize_pdi_dagster.definitions import build_definitions, defs
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG


def check_names(job: dg.JobDefinition) -> list[str]:
    return sorted(key.name for key in job.asset_layer.asset_graph.asset_check_keys)


def test_each_organization_has_its_jobs_and_eastern_schedules() -> None:
    assert sorted(job.name for job in defs.jobs or []) == [
        "reconcile_north",
        "reconcile_south",
        "sync_north",
        "sync_south",
    ]
    schedules = {s.name: s for s in defs.schedules or [] if isinstance(s, dg.ScheduleDefinition)}
    assert {name: (s.job_name, s.cron_schedule) for name, s in schedules.items()} == {
        "sync_north_twice_daily": ("sync_north", "0 0,12 * * *"),
        "sync_south_twice_daily": ("sync_south", "30 0,12 * * *"),
        # Once a day after the midnight sync, at the organization's own minute.
        "reconcile_north_daily": ("reconcile_north", "0 2 * * *"),
        "reconcile_south_daily": ("reconcile_south", "30 2 * * *"),
    }
    assert {s.execution_timezone for s in schedules.values()} == {"America/New_York"}


def test_a_sync_runs_the_checks_it_feeds_and_reconcile_runs_alone() -> None:
    for org in ("north", "south"):
        sync = defs.resolve_job_def(f"sync_{org}")
        # `tags` (which `dagster job launch` and re-executions copy), not only run_tags.
        assert sync.tags[ORGANIZATION_TAG] == org
        assert sync.asset_layer.executable_asset_keys == {dg.AssetKey(["pdi", org])}
        assert check_names(sync) == ["attention", "dead_letters", "freshness_check"]
        reconcile = defs.resolve_job_def(f"reconcile_{org}")
        assert reconcile.tags[ORGANIZATION_TAG] == org
        assert reconcile.asset_layer.executable_asset_keys == set()
        assert check_names(reconcile) == ["reconcile"]


def test_every_run_of_an_organization_holds_its_pool_whatever_the_job() -> None:
    """The Materialize button runs __ASSET_JOB: its steps hold the same pools as the jobs'."""
    for job_name in ("sync_north", "reconcile_north", "__ASSET_JOB"):
        job = defs.resolve_job_def(job_name)
        pools = {node.pool for node in job.graph.node_defs if isinstance(node, dg.OpDefinition)}
        assert "mobilize_pdi_north" in pools, job_name
    assets = defs.resolve_job_def("__ASSET_JOB")
    pools = {node.name: node.pool for node in assets.graph.node_defs}
    assert pools["pdi__south"] == "mobilize_pdi_south"
    assert pools["pdi__south_reconcile"] == "mobilize_pdi_south"


def test_the_sensors_alert_from_the_start_and_freshness_waits_to_be_started() -> None:
    sensors = {s.name: s.default_status for s in defs.sensors or []}
    assert sensors == {
        "freshness_checks_sensor": dg.DefaultSensorStatus.STOPPED,
        "alert_on_run_failure": dg.DefaultSensorStatus.RUNNING,
        "alert_on_failed_checks": dg.DefaultSensorStatus.RUNNING,
    }


def test_each_organizations_freshness_is_its_own_max_sync_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The setting status reads, however it is given (here: north's in the environment)."""
    monkeypatch.setenv("TARGET_PDI__NORTH_MAX_SYNC_AGE_HOURS", "1")
    monkeypatch.delenv("TARGET_PDI_MAX_SYNC_AGE_HOURS", raising=False)
    checks = build_definitions(MeltanoProject()).asset_checks or []
    found = {}
    for definition in checks:
        for spec in definition.check_specs:
            if spec.name == "freshness_check":
                params = json.loads(json.dumps(spec.metadata["dagster/freshness_params"].value))
                found[spec.asset_key.path[-1]] = params["lower_bound_delta_seconds"] / 3600
    assert found == {"north": 1, "south": 18}
