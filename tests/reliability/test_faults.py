"""Runs that meet a PDI and a Mobilize in trouble: a 429 storm with 5xx, dropped connections
and latency spikes on both sides, and PDI down for two minutes in the middle of a run.

Each is a real `meltano run` that must end with exit 0 and PDI's whole state exact, then a
re-run that writes nothing. The figures of each run go to `output/reliability/` for
docs/reliability.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import MakeProject
from tests.e2e.expect import PdiModel, router
from tests.e2e.test_sync import (
    CALENDARS_YML,
    ROUTES,
    check,
    check_rerun_writes_nothing,
    sync,
    use_calendars,
)
from tests.reliability.figures import record

pytestmark = pytest.mark.e2e

# Both APIs: 10% of answers 5xx, 2% of connections dropped, 5% of answers 200 ms late.
TROUBLE = {"fail_rate": 0.10, "fail_status": 503, "drop_rate": 0.02}
SPIKES = {"spike_rate": 0.05, "spike_ms": 200}
# PDI's limit, below the client's starting rate (the harness sets 1000/s).
PDI_LIMIT = 20
MOBILIZE_LIMIT = 4


def test_a_429_storm_with_5xx_drops_and_spikes_ends_exact(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    trouble = {**TROUBLE, **SPIKES}
    project.pdi.admin("switches", {**trouble, "rate_limit": PDI_LIMIT, "retry_after": 1})
    # Mobilize too: small pages for enough requests to meet the faults, and a limit below
    # the tap's starting rate (10/s).
    project.extra_env["TAP_MOBILIZE_PER_PAGE"] = "5"
    project.mobilize.admin("switches", {**trouble, "rate_limit": MOBILIZE_LIMIT, "retry_after": 1})
    started = time.monotonic()
    result = sync(project)
    seconds = time.monotonic() - started
    statuses = project.pdi.admin("stats")["statuses"]
    assert int(statuses.get("429", 0)) > 0, "the storm did not happen"
    assert int(project.mobilize.admin("stats")["statuses"].get("429", 0)) > 0
    model.sync(project.dataset())
    check(project, model)
    record(
        "storm",
        project,
        seconds,
        {"switches": trouble, "pdi_rate_limit": PDI_LIMIT, "mobilize_rate_limit": MOBILIZE_LIMIT},
    )
    assert "Traceback" not in result.output

    project.reset_pdi_stats()
    check_rerun_writes_nothing(project, model)


def test_pdi_down_two_minutes_mid_run_then_back(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    project.pdi.admin("switches", {"latency_ms": 20})  # long enough to go down halfway
    started = time.monotonic()
    running = project.start_sync()
    assert project.wait_for_writes(running, 60), "the run ended before PDI went down"
    # Down: every connection closed without an answer (the admin routes keep working).
    project.pdi.admin("switches", {"down": True})
    down_at = project.pdi_writes()
    time.sleep(120)
    assert running.poll() is None, "the run gave up during a two-minute outage"
    assert project.pdi_writes() == down_at
    project.pdi.admin("switches", {"down": False, "latency_ms": 0})
    assert running.wait(timeout=300) == 0, Path(
        project.workdir / "background-sync.log"
    ).read_text()[-4000:]
    seconds = time.monotonic() - started
    model.sync(project.dataset())
    check(project, model)
    record("outage", project, seconds, {"down_seconds": 120, "writes_before_down": down_at})
    check_rerun_writes_nothing(project, model)


def test_access_token_expiring_mid_run(make_project: MakeProject) -> None:
    project = make_project()
    use_calendars(project, CALENDARS_YML)
    model = PdiModel(router(ROUTES, "Other Events"))
    project.pdi.admin("switches", {"latency_ms": 10})
    started = time.monotonic()
    running = project.start_sync()
    for writes in (30, 120):  # twice: in the events phase and among the invitations
        assert project.wait_for_writes(running, writes), "the run ended before its token expired"
        assert project.pdi.admin("tokens/expire", {})["expired"] >= 1
    assert running.wait(timeout=300) == 0
    statuses = project.pdi.admin("stats")["statuses"]
    assert int(statuses.get("401", 0)) >= 2  # PDI did refuse the expired token
    model.sync(project.dataset())
    check(project, model)
    record("token-expiry", project, time.monotonic() - started, {"tokens_expired": 2})
