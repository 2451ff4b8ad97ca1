"""target-pdi's run summary (the JSON `meltano invoke <loader>:last-run` prints) as what the
Dagster UI shows of a run: read at a glance, plotted right.

A succeeded run: one Markdown table of what each PDI object did, the few numbers worth a
trend (PDI writes, records failed, dead letters waiting, duration), and what needs attention.
A failed run: its reason, and counts only when it wrote or failed anything, never as
numbers: a failed run's zeros would be plotted as a sync that found nothing to do.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

PDI_OBJECTS = ("locations", "events", "contacts", "invitations")
OUTCOMES = ("created", "updated", "unchanged", "failed")


def is_this_run(summary: dict[str, Any] | None, run_id: str) -> bool:
    """Whether ``summary`` is the one this Dagster run's sync wrote: a run refused at once, or
    killed before it could write one, leaves the previous run's in place."""
    return summary is not None and summary.get("run_id") == run_id


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def counts(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    objects = summary.get("objects") or {}
    return {
        kind: {outcome: _count((objects.get(kind) or {}).get(outcome)) for outcome in OUTCOMES}
        for kind in PDI_OBJECTS
    }


def pdi_writes(summary: dict[str, Any]) -> int:
    """PDI objects this run created or updated."""
    return sum(row["created"] + row["updated"] for row in counts(summary).values())


def records_failed(summary: dict[str, Any]) -> int:
    return sum(row["failed"] for row in counts(summary).values())


def dead_letters_waiting(summary: dict[str, Any]) -> int:
    return _count((summary.get("dead_letters") or {}).get("waiting"))


def attention(summary: dict[str, Any]) -> list[str]:
    found = summary.get("attention") or []
    return [str(reason) for reason in found] if isinstance(found, list) else [str(found)]


def changes_markdown(summary: dict[str, Any]) -> str:
    """The table of created / updated / unchanged / failed per PDI object, then one line each
    for what needs attention, the dead letters, what was skipped and the requests."""
    rows = counts(summary)
    lines = [
        "| PDI object | created | updated | unchanged | failed |",
        "|---|--:|--:|--:|--:|",
        *(
            f"| {kind} | " + " | ".join(str(rows[kind][outcome]) for outcome in OUTCOMES) + " |"
            for kind in PDI_OBJECTS
        ),
        "",
    ]
    reasons = attention(summary)
    if reasons:
        lines.append(f"**Needs attention:** {'; '.join(reasons)}")
        lines.append("")
    dead = summary.get("dead_letters") or {}
    lines.append(
        f"Dead letters: {_count(dead.get('waiting'))} waiting ({_count(dead.get('new'))} new); "
        "the next sync retries them."
    )
    skipped = summary.get("skipped") or {}
    if skipped:
        lines.append("")
        lines.append("Skipped: " + "; ".join(f"{n} {reason}" for reason, n in skipped.items()))
    requests = summary.get("pdi_requests") or {}
    lines.append("")
    lines.append(
        f"PDI requests: {sum(_count(n) for n in requests.values())}"
        + (" (" + ", ".join(f"{m} {n}" for m, n in requests.items()) + ")" if requests else "")
        + f"; took {float(summary.get('duration_seconds') or 0):.1f} s."
    )
    return "\n".join(lines)


def materialization_metadata(summary: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    """What a succeeded run records on its asset: the table, four series, what needs attention
    (only when something does) and the whole summary for scripts."""
    metadata: dict[str, dg.MetadataValue] = {
        "changes": dg.MetadataValue.md(changes_markdown(summary)),
        "pdi_writes": dg.MetadataValue.int(pdi_writes(summary)),
        "records_failed": dg.MetadataValue.int(records_failed(summary)),
        "dead_letters_waiting": dg.MetadataValue.int(dead_letters_waiting(summary)),
        "duration_seconds": dg.MetadataValue.float(float(summary.get("duration_seconds") or 0)),
    }
    reasons = attention(summary)
    if reasons:
        metadata["attention"] = dg.MetadataValue.text("; ".join(reasons))
    metadata["run_summary"] = dg.MetadataValue.json(summary)
    return metadata


def failure_metadata(summary: dict[str, Any] | None, reason: str) -> dict[str, dg.MetadataValue]:
    """What a failed run records: its status and reason; the table only when the run wrote or
    failed something before it ended (a partial sync), and no number to plot."""
    metadata: dict[str, dg.MetadataValue] = {
        "status": dg.MetadataValue.text(str((summary or {}).get("status") or "failed")),
        "reason": dg.MetadataValue.text(reason),
    }
    if summary is not None and any(
        row["created"] or row["updated"] or row["failed"] for row in counts(summary).values()
    ):
        metadata["changes"] = dg.MetadataValue.md(changes_markdown(summary))
    if summary is not None and attention(summary):
        metadata["attention"] = dg.MetadataValue.text("; ".join(attention(summary)))
    return metadata
