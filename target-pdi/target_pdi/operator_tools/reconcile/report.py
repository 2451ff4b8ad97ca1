"""A reconcile's output: a table a person reads (one line per discrepancy, aligned, then a
count by kind) and a CSV with every field in full.

Neither holds a secret. The table holds no personal data either: it goes to a terminal and to
whatever keeps the command's output (an orchestrator's logs), and the ids it shows (the Mobilize
signup, the PDI event and contacts) are enough to find each record and act on it: merge two
contacts in PDI, or let --fix mend it. An email there is shown as <email>. The CSV, a file the
operator asked for at reconcile_report_path, keeps the email that names a contact or a signup's
invitation, for whoever needs it.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from target_pdi.operator_tools.reconcile.found import CANNOT, KINDS, Checked, Discrepancy

COLUMNS = ("kind", "mobilize_key", "pdi_id", "expected", "found", "fix")
HEADINGS = ("KIND", "MOBILIZE", "PDI ID", "EXPECTED", "FOUND", "FIX")
# The table cuts long values (the CSV keeps them whole); the last column is never cut.
WIDTH = 44
# Anything shaped like an email address, for the table to leave out.
EMAIL = re.compile(r"[^\s:@<>]+@[^\s:@<>]+")
HIDDEN_EMAIL = "<email>"


def cut(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def without_emails(text: str) -> str:
    return EMAIL.sub(HIDDEN_EMAIL, text)


def table(found: Sequence[Discrepancy], checked: Checked, csv_path: str = "") -> list[str]:
    compared = (
        f"{checked.timeslots} timeslots, {checked.signups} signups, "
        f"{checked.contacts} PDI contacts and {checked.locations} locations compared"
    )
    if checked.dead_lettered:
        compared += f"; {checked.dead_lettered} signups left out: in the dead letters"
    if not found:
        return [f"No discrepancies: PDI holds what Mobilize says ({compared})."]
    rows: list[tuple[str, ...]] = [HEADINGS]
    for discrepancy in found:
        values = {column: without_emails(value) for column, value in discrepancy.row().items()}
        rows.append((*(cut(values[c]) for c in COLUMNS[:-1]), values["fix"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join(value.ljust(widths[i]) for i, value in enumerate(row[:-1])) + "  " + row[-1]
        for row in rows
    ]
    lines.append("")
    lines += count_lines(found)
    lines.append(f"({compared})")
    if any(HIDDEN_EMAIL in line for line in lines[1:]):
        lines.append(f"(emails are shown as {HIDDEN_EMAIL}: the CSV has them{_at(csv_path)})")
    return lines


def _at(csv_path: str) -> str:
    return f", {csv_path}" if csv_path else ""


def count_lines(found: Sequence[Discrepancy]) -> list[str]:
    counts = Counter(d.kind for d in found)
    cannot = sum(1 for d in found if d.mend is None)
    out = [
        plural(len(found), "discrepancy", "discrepancies")
        + (f", {cannot} that --fix cannot mend" if cannot else "")
    ]
    width = max(len(kind) for kind in counts)
    order = {kind: n for n, kind in enumerate(KINDS)}
    for kind, n in sorted(counts.items(), key=lambda item: order.get(item[0], len(order))):
        out.append(f"  {kind.ljust(width)}  {n}")
    return out


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def write_csv(path: str | os.PathLike[str], found: Sequence[Discrepancy]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for discrepancy in found:
            writer.writerow(discrepancy.row())
    os.replace(tmp, target)
    return target


def before_fix_path(path: str | os.PathLike[str]) -> Path:
    """Where --fix keeps what the first reconcile found: beside the report, named so."""
    target = Path(path)
    return target.with_name(f"{target.stem}.before-fix{target.suffix}")


__all__ = ["CANNOT", "before_fix_path", "plural", "table", "write_csv"]
