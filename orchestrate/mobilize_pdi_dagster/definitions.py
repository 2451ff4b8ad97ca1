"""The code location: for each organization of the Meltano project, its asset and checks, its
sync job and schedule, its reconcile job and schedule; one sensor that evaluates the
freshness checks and two that post alerts. `dagster dev -m mobilize_pdi_dagster.definitions`
(docs/dagster.md). Loading it reads each organization's target-pdi settings
(`meltano config print`, side by side) for the threshold of its freshness check."""

from __future__ import annotations

import dagster as dg

from mobilize_pdi_dagster.alerts import alert_on_failed_checks, alert_on_run_failure
from mobilize_pdi_dagster.checks import freshness_checks, freshness_sensor, max_sync_age
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization, find_organizations
from mobilize_pdi_dagster.reconcile_check import reconcile_check
from mobilize_pdi_dagster.schedules import EASTERN, org_schedules, reconcile_cron
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG, asset_key, sync_asset


def job_name(org: Organization) -> str:
    return f"sync_{org.dagster_name}"


def reconcile_job_name(org: Organization) -> str:
    return f"reconcile_{org.dagster_name}"


def build_definitions(project: MeltanoProject) -> dg.Definitions:
    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    freshness: list[dg.AssetChecksDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    organizations = find_organizations(project.root)
    # Each organization's thresholds, as its `status` reads them.
    settings = project.settings([org.loader for org in organizations])
    for org in organizations:
        asset = sync_asset(org)
        reconcile = reconcile_check(org)
        org_tags = {ORGANIZATION_TAG: org.dagster_name}
        syncs = org_schedules(project.root, org)
        # `tags`, not `run_tags`: `dagster job launch` and re-executions copy a job's tags
        # onto its runs, not its run_tags.
        job = dg.define_asset_job(
            job_name(org),
            # The sync and the checks it feeds; reconcile has a job of its own.
            selection=dg.AssetSelection.assets(asset) - dg.AssetSelection.checks(reconcile),
            tags=org_tags,
            description=f"Sync {org.name}: `meltano run {org.meltano_job}`.",
        )
        reconcile_job = dg.define_asset_job(
            reconcile_job_name(org),
            selection=dg.AssetSelection.checks(reconcile),
            tags=org_tags,
            description=f"Reconcile {org.name}: `meltano invoke {org.loader}:reconcile`.",
        )
        assets.append(asset)
        checks.append(reconcile)
        freshness.extend(freshness_checks(asset_key(org), max_sync_age(settings[org.loader])))
        jobs += [job, reconcile_job]
        schedules.extend(
            dg.ScheduleDefinition(
                name=schedule.name,
                job=job,
                cron_schedule=schedule.cron,
                execution_timezone=EASTERN,
                description=f"Sync {org.name} ({schedule.cron}, US Eastern).",
            )
            for schedule in syncs
        )
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{reconcile_job_name(org)}_daily",
                job=reconcile_job,
                cron_schedule=reconcile_cron(syncs),
                execution_timezone=EASTERN,
                description=f"Reconcile {org.name} once a day ({reconcile_cron(syncs)}, "
                "US Eastern).",
            )
        )
    sensors = [
        freshness_sensor(freshness),
        alert_on_run_failure,
        alert_on_failed_checks,
    ]
    return dg.Definitions(
        assets=assets,
        asset_checks=[*checks, *freshness],
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={"meltano": project},
        # Every job, Dagster's __ASSET_JOB included, runs its steps in its run's process: no
        # process per step. Organizations run in parallel as separate runs (each run a process
        # of its own under the run launcher).
        executor=dg.in_process_executor,
    )


defs = build_definitions(MeltanoProject())
