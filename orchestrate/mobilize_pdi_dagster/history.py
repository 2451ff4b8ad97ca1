"""Each organization's sync history as Dagster recorded it, as JSON: what the UI shows on the
runs and on the asset ``pdi/<org>``, for scripts, alerting and tests.

    DAGSTER_HOME=... .venv-dagster/bin/python -m mobilize_pdi_dagster.history [--limit N]

Per organization of the project: ``runs``, newest first, every run that set out to
materialize its asset (however it was started: its job, the Materialize button, a schedule, a
re-execution; found by the asset, not by a tag), each with its id, job, status, start and end,
tags, the metadata it recorded (a materialization's, or a failed run's observation), its
failure and the checks evaluated in it; and ``checks``, the latest result of each check.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from mobilize_pdi_dagster.checks import CHECK_NAMES
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import find_organizations


def plain(metadata: dg.MetadataMapping) -> dict[str, Any]:
    return {key: value.value for key, value in metadata.items()}


def _time(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def _planned_run_ids(instance: dg.DagsterInstance, key: dg.AssetKey, limit: int) -> list[str]:
    """Runs that planned to materialize ``key``, newest first: Dagster records the plan when a
    run is created, so a run that failed, or was canceled in the queue, is there too."""
    records = instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=key
        ),
        limit=limit,
        ascending=False,
    )
    return list(dict.fromkeys(record.run_id for record in records))


def _asset_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, limit: int) -> dict[str, Any]:
    """run id -> the metadata of that run's materialization, or else of its observation."""
    found: dict[str, Any] = {}
    for record in instance.fetch_observations(key, limit=limit).records:
        if record.asset_observation is not None:
            found[record.run_id] = plain(record.asset_observation.metadata)
    for record in instance.fetch_materializations(key, limit=limit).records:
        if record.asset_materialization is not None:
            found[record.run_id] = plain(record.asset_materialization.metadata)
    return found


def _failure(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any] | None:
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        data = event.step_failure_data if event is not None else None
        if data is not None and data.user_failure_data is not None:
            return {
                "description": data.user_failure_data.description,
                "metadata": plain(data.user_failure_data.metadata),
            }
        if data is not None and data.error is not None:
            return {"description": data.error.message, "metadata": {}}
    return None


def _evaluation(evaluation: Any, run_id: str) -> dict[str, Any]:
    return {
        "passed": evaluation.passed,
        "severity": evaluation.severity.value,
        "description": evaluation.description,
        "metadata": plain(evaluation.metadata),
        "run_id": run_id,
    }


def _run_checks(instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> dict[str, Any]:
    found = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        event = entry.dagster_event
        evaluation = event.asset_check_evaluation_data if event is not None else None
        if evaluation is not None and evaluation.asset_key == key:
            found[evaluation.check_name] = _evaluation(evaluation, run_id)
    return found


def _latest_checks(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, Any]:
    """Each check's last completed result: what the asset page shows in red and green (a run
    that failed before its checks ran leaves them as they were)."""
    keys = [dg.AssetCheckKey(key, name) for name in CHECK_NAMES]
    summaries = instance.event_log_storage.get_asset_check_summary_records(keys)
    found = {}
    for check_key in keys:
        summary = summaries.get(check_key)
        record = summary.last_completed_check_execution_record if summary else None
        event = record.event if record is not None else None
        evaluation = event.asset_check_evaluation if event is not None else None
        if record is not None and evaluation is not None:
            found[check_key.name] = _evaluation(evaluation, record.run_id)
    return found


def organization_history(
    instance: dg.DagsterInstance, organizations: list[str], limit: int = 20
) -> dict[str, Any]:
    """``organizations``: their Dagster names (the asset of each is ``pdi/<name>``)."""
    history: dict[str, Any] = {}
    for org in sorted(organizations):
        key = dg.AssetKey(["pdi", org])
        run_ids = _planned_run_ids(instance, key, limit)
        records = {
            record.dagster_run.run_id: record
            for record in (
                instance.get_run_records(dg.RunsFilter(run_ids=run_ids)) if run_ids else []
            )
        }
        metadata = _asset_metadata(instance, key, limit * 2)
        runs = []
        for run_id in run_ids:
            if run_id not in records:
                continue
            record, run = records[run_id], records[run_id].dagster_run
            runs.append(
                {
                    "run_id": run_id,
                    "job": run.job_name,
                    "status": run.status.value,
                    "started": _time(record.start_time),
                    "ended": _time(record.end_time),
                    "tags": dict(run.tags),
                    "metadata": metadata.get(run_id),
                    "failure": _failure(instance, run_id) if run.is_failure else None,
                    "checks": _run_checks(instance, run_id, key),
                }
            )
        history[org] = {"runs": runs, "checks": _latest_checks(instance, key)}
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="runs per organization")
    args = parser.parse_args()
    organizations = [org.dagster_name for org in find_organizations(MeltanoProject().root)]
    with dg.DagsterInstance.get() as instance:
        history = organization_history(instance, organizations, args.limit)
    print(json.dumps(history, indent=2, default=str))


if __name__ == "__main__":
    main()
