"""Backdate a started Dagster schedule, run with .venv-dagster's Python by
tests/e2e/test_orchestrator.py:

    backdate_schedule.py SCHEDULE_NAME HOURS

The schedule then reads as started HOURS ago, so the daemon, when it next looks, launches the
tick it missed meanwhile (the last one only: a schedule without partitions does not catch up),
exactly as after a daemon restart. That is a real schedule tick, through Dagster's scheduler,
without waiting for the organization's hour.
"""

from __future__ import annotations

import sys
import time

import dagster as dg
from dagster._core.scheduler.instigation import InstigatorType, ScheduleInstigatorData


def main() -> None:
    name, hours = sys.argv[1], float(sys.argv[2])
    with dg.DagsterInstance.get() as instance:
        states = instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
        (state,) = [s for s in states if s.name == name]
        assert isinstance(state.instigator_data, ScheduleInstigatorData), state
        backdated = ScheduleInstigatorData(
            state.instigator_data.cron_schedule, start_timestamp=time.time() - hours * 3600
        )
        instance.update_instigator_state(state.with_data(backdated))


if __name__ == "__main__":
    main()
