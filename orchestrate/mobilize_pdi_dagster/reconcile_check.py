"""The ``reconcile`` asset check of ``pdi/<org>``: `meltano invoke target-pdi--<org>:reconcile`.

Reconcile reads all of Mobilize and all of PDI and lists every discrepancy (docs/
reconcile.md): a table on stdout, one CSV row per discrepancy at ``reconcile_report_path``, exit
1 when anything is found. The check is green when nothing is, red with how many of which kind
otherwise. It fails (rather than reporting a result) when reconcile could not read an API: no
fresh CSV. It writes nothing, but it holds the organization's pool, so it never reads a PDI a
sync is halfway through writing (and a sync waits for it).
"""

# No `from __future__ import annotations`: Dagster reads the context parameter's type at
# definition time and refuses a string.
import csv
from collections import Counter
from pathlib import Path

import dagster as dg

from mobilize_pdi_dagster.checks import RECONCILE_CHECK
from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import Organization
from mobilize_pdi_dagster.sync_asset import asset_key, failure_reason, pool

# target-pdi's own default (target_pdi/configuration/settings.py).
DEFAULT_REPORT = "output/reconcile.csv"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def discrepancy_kinds(report: Path) -> Counter[str]:
    """How many discrepancies of each kind the CSV lists."""
    with report.open(newline="", encoding="utf-8") as fh:
        return Counter(row.get("kind") or "unknown" for row in csv.DictReader(fh))


def describe(kinds: Counter[str]) -> str:
    if not kinds:
        return "Mobilize and PDI agree."
    total = sum(kinds.values())
    noun = "discrepancy" if total == 1 else "discrepancies"
    return f"{total} {noun}: " + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())


def kinds_markdown(kinds: Counter[str]) -> str:
    return "\n".join(
        ["| kind | count |", "|---|--:|", *(f"| {k} | {n} |" for k, n in kinds.most_common())]
    )


def reconcile_check(org: Organization) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key(org),
        name=RECONCILE_CHECK,
        pool=pool(org),
        description=(
            f"Every discrepancy between {org.name}'s Mobilize and PDI "
            f"(`meltano invoke {org.loader}:reconcile`); a daily job of its own."
        ),
    )
    def reconcile(
        context: dg.AssetCheckExecutionContext, meltano: MeltanoProject
    ) -> dg.AssetCheckResult:
        report = meltano.setting_path(org.loader, "reconcile_report_path", DEFAULT_REPORT)
        before = _stamp(report)
        run = meltano.invoke(f"{org.loader}:reconcile", context.log.info)
        if run.returncode not in (0, 1) or (run.returncode == 1 and _stamp(report) == before):
            raise dg.Failure(
                description=f"reconcile of {org.name} could not run (exit {run.returncode}): "
                f"{failure_reason(None, run.tail)}",
                metadata={
                    "log_tail": dg.MetadataValue.text("\n".join(run.plugin_tail or run.tail))
                },
            )
        kinds = discrepancy_kinds(report) if _stamp(report) != before else Counter[str]()
        metadata: dict[str, dg.MetadataValue] = {
            "discrepancies": dg.MetadataValue.int(sum(kinds.values())),
            "report": dg.MetadataValue.path(str(report)),
        }
        if kinds:
            metadata["by_kind"] = dg.MetadataValue.md(kinds_markdown(kinds))
        return dg.AssetCheckResult(
            passed=not kinds,
            severity=dg.AssetCheckSeverity.ERROR,
            description=describe(kinds),
            metadata=metadata,
        )

    return reconcile
