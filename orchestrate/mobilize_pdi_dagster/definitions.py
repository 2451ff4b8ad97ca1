"""The code location: for each organization of the Meltano project, its asset, job and
schedule. `dagster dev -m mobilize_pdi_dagster.definitions` (README, "Deployment")."""

from __future__ import annotations

import dagster as dg

from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization, find_organizations
from mobilize_pdi_dagster.schedules import EASTERN, org_schedules
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG, sync_asset


def job_name(org: Organization) -> str:
    return f"sync_{org.dagster_name}"


def build_definitions(project: MeltanoProject) -> dg.Definitions:
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    for org in find_organizations(project.root):
        asset = sync_asset(org)
        # One step per run: in process, without a subprocess per step. Organizations run in
        # parallel as separate runs (each run its own process under the run launcher).
        job = dg.define_asset_job(
            job_name(org),
            selection=dg.AssetSelection.assets(asset),
            run_tags={ORGANIZATION_TAG: org.dagster_name},
            executor_def=dg.in_process_executor,
            description=f"Sync {org.name}: `meltano run {org.meltano_job}`.",
        )
        assets.append(asset)
        jobs.append(job)
        schedules.extend(
            dg.ScheduleDefinition(
                name=schedule.name,
                job=job,
                cron_schedule=schedule.cron,
                execution_timezone=EASTERN,
                description=f"Sync {org.name} ({schedule.cron}, US Eastern).",
            )
            for schedule in org_schedules(project.root, org)
        )
    return dg.Definitions(
        assets=assets, jobs=jobs, schedules=schedules, resources={"meltano": project}
    )


defs = build_definitions(MeltanoProject())
