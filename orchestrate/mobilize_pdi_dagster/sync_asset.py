"""One organization's sync as a Dagster asset: its PDI account, kept level with Mobilize.

An asset rather than a bare op because Dagster keeps an asset's materializations, with their
metadata, as its history: the asset page of ``pdi/<org>`` lists every sync of that
organization with what it changed, plots the numbers worth a trend, and shows its checks.

Whatever starts it (the job ``sync_<org>``, the UI's Materialize button, which runs Dagster's
``__ASSET_JOB``, a schedule, a re-execution), the run holds the organization's concurrency
pool: with ``granularity: run`` in dagster.yaml a second run of the organization waits in the
queue until the first ends. Run tags cannot do that: those of an asset definition never reach
an ``__ASSET_JOB`` run, and the queue's tag limits only see tags a run has when it is queued.
"""

# No `from __future__ import annotations`: Dagster reads the context parameter's type at
# definition time and refuses a string.
import dagster as dg

from mobilize_pdi_dagster.checks import (
    Judgement,
    judge_summary,
    missing_summary_results,
    summary_check_specs,
)
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization
from mobilize_pdi_dagster.summary import failure_metadata, is_this_run, materialization_metadata

# Names an organization's runs in the UI (filter the runs list by it). Jobs carry it from
# the start; a run started another way (Materialize, re-execution of such a run) gets it when
# its sync begins. The queue limit is the pool's, not this tag's.
ORGANIZATION_TAG = "mobilize_pdi/organization"
ASSET_GROUP = "mobilize_pdi"
REASON_WORDS = ("error", "failed", "stopped", "refused", "missing", "already running")
# Meltano's last line after any run, and the box-drawing of its traceback (rich).
MELTANO_CLOSING = "Block run completed"
TRACEBACK_FRAME = ("│", "╭", "╰")


def asset_key(org: Organization) -> dg.AssetKey:
    return dg.AssetKey(["pdi", org.dagster_name])


def pool(org: Organization) -> str:
    """The organization's concurrency pool: one run holding it at a time (dagster.yaml)."""
    return f"mobilize_pdi_{org.dagster_name}"


def failure_reason(error: object, tail: list[str]) -> str:
    """The summary's error when this run wrote one, else the last line that says what went
    wrong (a crash before target-pdi started, Meltano refusing a second run of the job), else
    the last line. Meltano's closing line and the frames of its traceback say nothing."""
    if error:
        return str(error)
    telling = [line for line in tail if not _says_nothing(line)]
    for line in reversed(telling):
        if any(word in line.lower() for word in REASON_WORDS):
            return line
    return (telling or tail or ["no output"])[-1]


def _says_nothing(line: str) -> bool:
    return line.rstrip().endswith(MELTANO_CLOSING) or line.lstrip().startswith(TRACEBACK_FRAME)


def name_the_run(context: dg.AssetExecutionContext, org: Organization) -> None:
    if context.run.tags.get(ORGANIZATION_TAG) != org.dagster_name:
        context.instance.add_run_tags(context.run.run_id, {ORGANIZATION_TAG: org.dagster_name})


def selected(
    context: dg.AssetExecutionContext, key: dg.AssetKey, judgements: list[Judgement]
) -> list[Judgement]:
    """Those of the checks this run was asked for (a run may select the asset alone)."""
    wanted = {check.name for check in context.selected_asset_check_keys if check.asset_key == key}
    return [judgement for judgement in judgements if judgement.check_name in wanted]


def sync_asset(org: Organization) -> dg.AssetsDefinition:
    key = asset_key(org)

    @dg.asset(
        key=key,
        group_name=ASSET_GROUP,
        kinds={"meltano"},
        pool=pool(org),
        check_specs=summary_check_specs(key),
        description=(
            f"{org.name}'s PDI account, synced from Mobilize by `meltano run {org.meltano_job}`."
        ),
    )
    def sync(context: dg.AssetExecutionContext, meltano: MeltanoProject) -> dg.MaterializeResult:
        name_the_run(context, org)
        context.log.info(f"meltano run {org.meltano_job} in {meltano.root}")
        run = meltano.run(org.meltano_job, context.log.info, run_id=context.run.run_id)
        found = meltano.last_run(org.loader)
        summary = found if is_this_run(found, context.run.run_id) else None
        if run.returncode != 0:
            reason = failure_reason((summary or {}).get("error"), run.tail)
            # A failed step materializes nothing; an observation keeps the failed run, with
            # its reason, in the organization's history.
            metadata = failure_metadata(summary, reason)
            context.log_event(dg.AssetObservation(asset_key=key, metadata=metadata))
            if summary is not None:
                # The checks judge a failed run too, as status does; otherwise the asset page
                # would go on showing an earlier run's green. A run that wrote no summary
                # (refused before target-pdi started) leaves them, and status, as they were.
                for judgement in selected(context, key, judge_summary(summary)):
                    context.log_event(judgement.evaluation(key))
            raise dg.Failure(
                description=f"meltano run {org.meltano_job} failed (exit {run.returncode}): "
                f"{reason}",
                metadata={
                    **metadata,
                    "log_tail": dg.MetadataValue.text("\n".join(run.plugin_tail or run.tail)),
                },
                allow_retries=False,
            )
        if summary is None:
            missing = f"meltano run {org.meltano_job} succeeded but left no run summary"
            context.log.warning(missing)
            return dg.MaterializeResult(check_results=missing_summary_results(missing))
        return dg.MaterializeResult(
            metadata=materialization_metadata(summary),
            check_results=[j.result() for j in selected(context, key, judge_summary(summary))],
        )

    return sync
