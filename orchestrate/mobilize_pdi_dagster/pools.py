"""Set each organization's concurrency pool to one run at a time, before its first runs.

    DAGSTER_HOME=... .venv-dagster/bin/python -m mobilize_pdi_dagster.pools

dagster.yaml's ``default_limit: 1`` gives a pool its limit when the daemon first sees it, but
the daemon reads the known pools before it adds a new one: in that first pass, two runs of a
new organization queued together are both launched (target-pdi's run lock then refuses the
second). Setting the limits beforehand closes that gap; run this after `dagster instance
migrate` and after adding an organization. It prints one line per pool.
"""

from __future__ import annotations

import argparse

import dagster as dg

from mobilize_pdi_dagster.meltano import MeltanoProject
from mobilize_pdi_dagster.organizations import find_organizations
from mobilize_pdi_dagster.sync_asset import pool

RUNS_PER_ORGANIZATION = 1


def set_pools(instance: dg.DagsterInstance, pools: list[str]) -> None:
    for name in pools:
        instance.event_log_storage.set_concurrency_slots(name, RUNS_PER_ORGANIZATION)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    pools = [pool(org) for org in find_organizations(MeltanoProject().root)]
    with dg.DagsterInstance.get() as instance:
        set_pools(instance, pools)
    for name in pools:
        print(f"pool {name}: {RUNS_PER_ORGANIZATION} run at a time")


if __name__ == "__main__":
    main()
