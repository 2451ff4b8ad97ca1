"""Each organization's sync history as Dagster recorded it, as JSON: what the UI shows on
the runs and on the asset ``pdi/<org>``, for scripts, alerting and tests.

    DAGSTER_HOME=... .venv-dagster/bin/python -m mobilize_pdi_dagster.history [--limit N]

Per organization (the run tag ``mobilize_pdi/organization``), newest run first: its id, job,
status, start and end, the metadata its asset recorded (the run summary's counts; a failed
run's from its observation) and, for a failed run, the failure's description and metadata.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG


def plain(metadata: dg.MetadataMapping) -> dict[str, Any]:
    return {key: value.value for key, value in metadata.items()}


def _time(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


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


def organization_history(instance: dg.DagsterInstance, limit: int = 20) -> dict[str, Any]:
    history: dict[str, list[dict[str, Any]]] = {}
    for record in instance.get_run_records(limit=limit * 10):
        run = record.dagster_run
        org = run.tags.get(ORGANIZATION_TAG)
        if org is None or len(history.get(org, [])) >= limit:
            continue
        history.setdefault(org, []).append(
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "status": run.status.value,
                "started": _time(record.start_time),
                "ended": _time(record.end_time),
                "metadata": None,
                "failure": _failure(instance, run.run_id) if run.is_failure else None,
            }
        )
    for org, entries in history.items():
        metadata = _asset_metadata(instance, dg.AssetKey(["pdi", org]), limit)
        for entry in entries:
            entry["metadata"] = metadata.get(entry["run_id"])
    return dict(sorted(history.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="runs per organization")
    args = parser.parse_args()
    with dg.DagsterInstance.get() as instance:
        print(json.dumps(organization_history(instance, args.limit), indent=2, default=str))


if __name__ == "__main__":
    main()
