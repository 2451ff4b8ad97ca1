"""Reconcile: every discrepancy between Mobilize and PDI, and --fix to mend them.

    mobilize.py   Mobilize through the project's tap, after target-pdi's stream maps
    pdi_state.py  PDI through target-pdi's client: events, locations, contacts, invitations
    compare.py    what PDI should hold (the sync's plan and payloads) against what it holds,
                  one check per PDI object: events.py, invitations.py, locations.py,
                  contacts.py, canceled.py, stale_ids.py (their state in comparison.py)
    found.py      each kind of discrepancy, and its Mend
    report.py     the table on stdout and the CSV
    fix.py        the mends, through the sync's engine and writers

Exit status: 0 when nothing is found (after --fix: nothing is left), 1 otherwise.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import replace

import click

from target_pdi.configuration.credentials import require_credentials
from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools.configured_target import ConfiguredTarget
from target_pdi.operator_tools.reconcile.compare import compare
from target_pdi.operator_tools.reconcile.fix import apply_fixes
from target_pdi.operator_tools.reconcile.found import Result
from target_pdi.operator_tools.reconcile.mobilize import MobilizeData, read_mobilize
from target_pdi.operator_tools.reconcile.pdi_state import read_pdi
from target_pdi.operator_tools.reconcile.report import before_fix_path, plural, table, write_csv
from target_pdi.stores.configured import dead_letter_store
from target_pdi.stores.pdi_account import refuse_another_pdi
from target_pdi.stores.run_lock import holding
from target_pdi.sync.runtime import Runtime
from target_pdi.sync.summary import Summary

LOGGER = logging.getLogger("target-pdi")


def run_reconcile(target: ConfiguredTarget, *, fix: bool) -> int:
    """Exit status: 0 when Mobilize and PDI agree, 1 when anything was found (or is left)."""
    settings = target.settings
    require_credentials(settings)
    refuse_another_pdi(settings)  # it would compare PDI with another PDI's ids
    # Without --fix nothing is written: PDI through the read-only client, the id map read-only,
    # no run lock (it may run beside a sync). --fix writes as a sync does, under its lock.
    run_settings = settings if fix else replace(settings, dry_run=True)
    with holding(run_settings):
        summary = Summary()
        runtime = Runtime(run_settings, summary, target.mappings)
        try:
            return reconcile(target, runtime, summary, fix=fix)
        finally:
            runtime.close()


def reconcile(target: ConfiguredTarget, runtime: Runtime, summary: Summary, *, fix: bool) -> int:
    settings = target.settings
    LOGGER.info("Reading Mobilize through %s", settings.mobilize_tap)
    mobilize = read_mobilize(settings, target.mapper)
    result = reconcile_once(runtime, settings, mobilize)
    show(result, settings.reconcile_report_path)
    mendable = [d for d in result.found if d.mend is not None]
    if fix and result.found and not mendable:
        click.echo("")
        click.echo("--fix: nothing it can mend; PDI was left as it is")
    if not fix or not mendable:
        write_csv(settings.reconcile_report_path, result.found)
        return 1 if result.found else 0
    write_csv(before_fix_path(settings.reconcile_report_path), result.found)
    mended = apply_fixes(runtime, mendable, mobilize)
    click.echo("")
    click.echo(
        f"--fix: {plural(mended, 'discrepancy', 'discrepancies')} handed to the sync's writers"
    )
    for line in summary.lines(runtime.client.requests_by_method):
        click.echo(f"  {line}")
    click.echo("")
    click.echo("Reconciling again:")
    result = reconcile_once(runtime, settings, mobilize)
    show(result, settings.reconcile_report_path)
    write_csv(settings.reconcile_report_path, result.found)
    return 1 if result.found else 0


def reconcile_once(runtime: Runtime, settings: Settings, mobilize: MobilizeData) -> Result:
    LOGGER.info("Reading PDI")
    pdi = read_pdi(runtime.client, runtime.router.calendar_names, settings.max_concurrency)
    with closing(dead_letter_store(settings, read_only=True)) as store:
        dead = store.keys()
    return compare(mobilize, pdi, runtime.idmap, runtime.router, settings.approval_statuses, dead)


def show(result: Result, csv_path: str) -> None:
    for line in table(result.found, result.checked, csv_path):
        click.echo(line)
