"""One organization's sync as a Dagster asset: its PDI account, kept level with Mobilize.

An asset rather than a bare op because Dagster keeps an asset's materializations, with their
metadata, as its history: the asset page of ``pdi/<org>`` lists every sync of that
organization with what it created, updated and failed, and plots each count over time.
"""

# No `from __future__ import annotations`: Dagster reads the context parameter's type at
# definition time and refuses a string.
from pathlib import Path

import dagster as dg

from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization
from mobilize_pdi_dagster.summary import read_summary, summary_metadata

# Every run of an organization's job carries this tag; dagster.yaml can allow one run per
# value (orchestrate/dagster.yaml), and target-pdi refuses a second sync of one organization
# whatever the orchestrator does.
ORGANIZATION_TAG = "mobilize_pdi/organization"
ASSET_GROUP = "mobilize_pdi"
REASON_WORDS = ("error", "failed", "stopped", "refused", "missing")


def asset_key(org: Organization) -> dg.AssetKey:
    return dg.AssetKey(["pdi", org.dagster_name])


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def failure_reason(error: object, tail: list[str]) -> str:
    """The summary's error when this run wrote one, else the last line that says what went
    wrong (a crash before target-pdi started, a refused lock), else the last line."""
    if error:
        return str(error)
    for line in reversed(tail):
        if any(word in line.lower() for word in REASON_WORDS):
            return line
    return tail[-1] if tail else "no output"


def sync_asset(org: Organization) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(org),
        group_name=ASSET_GROUP,
        kinds={"meltano"},
        tags={ORGANIZATION_TAG: org.dagster_name},
        description=(
            f"{org.name}'s PDI account, synced from Mobilize by `meltano run {org.meltano_job}`."
        ),
    )
    def sync(context: dg.AssetExecutionContext, meltano: MeltanoProject) -> dg.MaterializeResult:
        path = meltano.summary_path(org.loader)
        before = _stamp(path)
        context.log.info(f"meltano run {org.meltano_job} in {meltano.root}")
        run = meltano.run(org.meltano_job, context.log.info)
        # A summary left by an earlier run is not this run's (a run refused at once writes none).
        summary = read_summary(path) if _stamp(path) != before else None
        metadata: dict[str, dg.MetadataValue] = (
            summary_metadata(summary, path)
            if summary is not None
            else {"status": dg.MetadataValue.text("no summary written")}
        )
        if run.returncode != 0:
            reason = failure_reason((summary or {}).get("error"), run.tail)
            # A failed step materializes nothing; an observation keeps the failed run's
            # summary in the organization's history too.
            context.log_event(dg.AssetObservation(asset_key=asset_key(org), metadata=metadata))
            raise dg.Failure(
                description=f"meltano run {org.meltano_job} failed (exit {run.returncode}): "
                f"{reason}",
                metadata={
                    **metadata,
                    "reason": dg.MetadataValue.text(reason),
                    "log_tail": dg.MetadataValue.text("\n".join(run.tail)),
                },
                allow_retries=False,
            )
        if summary is None:
            context.log.warning(f"meltano run {org.meltano_job} wrote no summary at {path}")
        return dg.MaterializeResult(metadata=metadata)

    return sync
