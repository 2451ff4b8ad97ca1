"""`status`, the JSON summary and Dagster agree on every run's outcome (issue 18).

One organization (north) in a Dagster deployment started as docs/dagster.md's local recipe starts
it (tests/e2e/dagster_deployment.py: PostgreSQL, `dagster dev -h 127.0.0.1`), and five runs of
its job `sync_north`, launched through Dagster as the Jobs page launches them, each ending one
way:

1. some records failing: PDI refuses one person's contact (its `fail_body_containing` switch
   with their email, HTTP 400), so their contact and their signups fail; the run succeeds;
2. a Mobilize key refused: Mobilize answers every request with HTTP 403;
3. the tap killed: SIGKILL to the tap process alone, found in the run's process tree, while
   it waits on a slowed Mobilize;
4. PDI refusing the login: PDI answers every request with HTTP 401;
5. none: every cause removed, a clean run.

After each, what a person reads in each of the three places: the JSON summary (`meltano
invoke target-pdi--north:last-run`), `meltano invoke target-pdi--north:status` (its stdout and
exit code) and Dagster (the run's status, its failure's description or its metadata, the
checks evaluated in it and the latest of each, all as `python -m mobilize_pdi_dagster.history`
prints them). They must give the same outcome (succeeded, failed), the same reason (the
summary's `error`), and the same verdict in the same words: status's reasons are Dagster's
failed checks' descriptions, plus the credential checks that only status makes (it logs in to
each API while it runs). The clean run makes all three say OK, with PDI, compared whole, equal
to the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import organization_model
from tests.e2e.dagster_deployment import (
    DONE,
    Deployment,
    finished,
    launch_job,
    prepare_deployment,
    start_dagster_dev,
    wait_until_up,
)
from tests.e2e.expect import differences, email_of
from tests.e2e.harness import REPO, RunResult
from tests.e2e.test_workers import person_to_refuse

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    # Meltano reads the project's .env: a real one would feed these runs a key of its own.
    pytest.mark.skipif((REPO / ".env").exists(), reason="a .env in the project sets secrets"),
]

ORG = "north"
JOB = "sync_north"
LOADER = "target-pdi--north"
PEOPLE_ROUTE = "GET /v1/organizations/{org}/people"
# The checks that judge a run's summary, and Dagster's own on its age.
SUMMARY_CHECKS = ("attention", "dead_letters")
FRESHNESS_CHECK = "freshness_check"
VERDICT = re.compile(r"^Status: (OK|ATTENTION \((?P<reasons>.*)\))$")
NOTHING_NEEDS_ATTENTION = "Nothing needs attention."


@dataclass
class Seen:
    """What each of the three places says after one run."""

    summary: dict[str, Any]  # `last-run`
    status: RunResult  # `status`
    run: dict[str, Any]  # the run, in Dagster's history
    latest_checks: dict[str, Any]  # the latest result of each check (the asset page)

    @property
    def status_lines(self) -> list[str]:
        return self.status.stdout.splitlines()

    def status_reasons(self) -> list[str]:
        """The reasons of status's verdict, its last line ([] for OK)."""
        found = VERDICT.match(self.status_lines[-1] if self.status_lines else "")
        assert found is not None, self.status.output[-3000:]
        reasons = found.group("reasons")
        return reasons.split("; ") if reasons else []

    def dagster_reasons(self) -> list[str]:
        """The descriptions of the checks that failed: those this run evaluated (the summary's
        checks), then the latest freshness check (Dagster evaluates it when a sync succeeds,
        and by its sensor)."""
        evaluated = self.run["checks"]
        found = [
            evaluated[name]["description"]
            for name in SUMMARY_CHECKS
            if name in evaluated and not evaluated[name]["passed"]
        ]
        freshness = self.latest_checks.get(FRESHNESS_CHECK)
        if freshness is not None and not freshness["passed"]:
            found.append(freshness["description"])
        return found


def what_each_says(deployment: Deployment, run_id: str) -> Seen:
    """`last-run`, `status` and Dagster's history, read side by side."""
    project = deployment.project
    with ThreadPoolExecutor(3) as pool:
        last_run = pool.submit(project.meltano, "invoke", f"{LOADER}:last-run")
        status = pool.submit(project.meltano, "invoke", f"{LOADER}:status")
        history = pool.submit(deployment.history)
    printed = last_run.result()
    assert printed.returncode == 0, printed.failure()
    summary: dict[str, Any] = json.loads(printed.stdout)
    (run,) = [r for r in history.result()[ORG]["runs"] if r["run_id"] == run_id]
    return Seen(summary, status.result(), run, history.result()[ORG]["checks"])


def launch_and_wait(deployment: Deployment) -> str:
    run_id = launch_job(deployment, JOB)
    deployment.wait_for_run(run_id)
    return run_id


def kill_the_tap_while_it_reads_people(deployment: Deployment, run_id: str) -> None:
    """SIGKILL to the tap alone, once it has asked (a slowed) Mobilize for people: the
    descendant of `dagster dev` (its daemon, the run's process, Meltano) running
    tap-mobilize."""
    north = deployment.project.orgs[ORG]
    assert deployment.dev is not None
    dev = psutil.Process(deployment.dev.pid)
    deadline = time.monotonic() + 300
    while north.mobilize.admin("stats")["by_route"].get(PEOPLE_ROUTE, 0) < 1:
        (run,) = [r for r in deployment.all_runs() if r["runId"] == run_id]
        assert run["status"] not in DONE, "the run ended before the tap could be killed"
        assert time.monotonic() < deadline, "the tap never got to people"
        time.sleep(0.1)
    taps = []
    for process in dev.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if any(os.path.basename(part) == "tap-mobilize" for part in process.cmdline()):
                taps.append(process)
    assert len(taps) == 1, taps
    os.kill(taps[0].pid, signal.SIGKILL)


@contextlib.contextmanager
def switched(simulator: Any, changes: dict[str, Any], back: dict[str, Any]) -> Iterator[None]:
    simulator.admin("switches", changes)
    try:
        yield
    finally:
        simulator.admin("switches", back)


def assert_they_agree(
    seen: Seen, run_id: str, *, status: str, error: str | None, status_only: list[str]
) -> list[str]:
    """The three give the same outcome, reason and verdict; ``status_only``: the reasons of
    status's own credential checks. Returns the verdict's reasons."""
    summary, run = seen.summary, seen.run
    # This run's summary, and the outcome: succeeded in all three, or failed in all three.
    assert summary["run_id"] == run_id
    assert summary["status"] == status
    assert seen.status_lines[1].startswith(f"Last run: {status}, finished "), seen.status.stdout
    assert run["status"] == ("SUCCESS" if status == "succeeded" else "FAILURE")
    # The reason: the summary's error, word for word, in status and in Dagster.
    if error is None:
        assert summary["error"] is None
        assert not [line for line in seen.status_lines if line.startswith("  error: ")]
        assert run["failure"] is None
        assert run["metadata"]["run_summary"] == summary
    else:
        assert summary["error"].startswith(error), summary["error"]
        assert f"  error: {summary['error']}" in seen.status_lines, seen.status.stdout
        assert re.fullmatch(
            rf"meltano run sync-north failed \(exit \d+\): {re.escape(summary['error'])}",
            run["failure"]["description"],
        ), run["failure"]
        assert (run["metadata"]["status"], run["metadata"]["reason"]) == (
            status,
            summary["error"],
        )
    # The verdict: status's reasons are Dagster's failed checks', in the same words, plus the
    # credential checks status alone makes; OK (exit 0) only when none.
    reasons = seen.status_reasons()
    assert reasons == seen.dagster_reasons() + status_only, (seen.status.stdout, run["checks"])
    assert seen.status.returncode == (1 if reasons else 0), seen.status.output[-3000:]
    # Every summary check was evaluated in this run, failed or not, and is the latest: the
    # asset page shows this run's verdict, not an earlier run's.
    assert sorted(run["checks"]) == sorted(
        [*SUMMARY_CHECKS, *([FRESHNESS_CHECK] if status == "succeeded" else [])]
    ), run["checks"]
    for name in SUMMARY_CHECKS:
        assert seen.latest_checks[name]["run_id"] == run_id, (name, seen.latest_checks)
    assert seen.latest_checks[FRESHNESS_CHECK]["passed"] is True
    return reasons


@pytest.fixture
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("outcomes")
    with contextlib.ExitStack() as stack:
        deployment = prepare_deployment(workdir, stack, [ORG])
        finished(deployment.start("-m", "mobilize_pdi_dagster.pools", python=True))
        dev = start_dagster_dev(deployment, stack)
        wait_until_up(deployment.url, deployment.log, dev)
        yield deployment


def test_status_the_summary_and_dagster_agree_on_each_way_a_run_fails(
    deployment: Deployment, subtests: pytest.Subtests
) -> None:
    north = deployment.project.orgs[ORG]

    # 1. Some records failing: PDI refuses one person's contact, and so their signups.
    email = email_of(person_to_refuse(north.dataset()))
    with switched(
        north.pdi,
        {"fail_body_containing": email, "fail_status": 400},
        {"fail_body_containing": None, "fail_status": 503},
    ):
        run_id = launch_and_wait(deployment)
        seen = what_each_says(deployment, run_id)
    with subtests.test(msg="some records failing"):
        failures = seen.summary["attention"]
        assert [re.sub(r"^\d+ ", "N ", f) for f in failures] == [
            "N contacts failed",
            "N invitations failed",
        ], failures
        reasons = assert_they_agree(seen, run_id, status="succeeded", error=None, status_only=[])
        assert reasons == [f"last run: {', '.join(failures)}"]
        assert seen.run["metadata"]["records_failed"] > 0

    # 2. A Mobilize key refused.
    refused, accepted = (
        {"fail_rate": 1.0, "fail_status": 403},
        {"fail_rate": 0.0, "fail_status": 503},
    )
    with switched(north.mobilize, refused, accepted):
        run_id = launch_and_wait(deployment)
        seen = what_each_says(deployment, run_id)
    with subtests.test(msg="a Mobilize key refused"):
        reasons = assert_they_agree(
            seen,
            run_id,
            status="failed",
            error="tap-mobilize failed: Mobilize refused the request (HTTP 403)",
            status_only=["Mobilize credentials failed"],
        )
        assert reasons == ["last run failed: tap-mobilize failed", "Mobilize credentials failed"]

    # 3. The tap killed while it reads people from a slowed Mobilize.
    north.mobilize.admin("stats/reset", {})
    with switched(north.mobilize, {"latency_ms": 1000}, {"latency_ms": 0}):
        run_id = launch_job(deployment, JOB)
        kill_the_tap_while_it_reads_people(deployment, run_id)
    deployment.wait_for_run(run_id)
    seen = what_each_says(deployment, run_id)
    with subtests.test(msg="the tap killed"):
        reasons = assert_they_agree(
            seen,
            run_id,
            status="failed",
            error="tap-mobilize ended without finishing (killed or crashed: see its log)",
            status_only=[],
        )
        assert reasons == ["last run failed: tap-mobilize ended without finishing"]

    # 4. PDI refusing the login.
    with switched(
        north.pdi, {"fail_rate": 1.0, "fail_status": 401}, {"fail_rate": 0.0, "fail_status": 503}
    ):
        run_id = launch_and_wait(deployment)
        seen = what_each_says(deployment, run_id)
    with subtests.test(msg="PDI refusing the login"):
        reasons = assert_they_agree(
            seen,
            run_id,
            status="failed",
            error="PDI login failed (HTTP 401)",
            status_only=["PDI credentials failed"],
        )
        assert reasons == ["last run failed", "PDI credentials failed"]

    # 5. Every cause removed: all three say OK, and PDI, whole, is the organization's.
    run_id = launch_and_wait(deployment)
    seen = what_each_says(deployment, run_id)
    with subtests.test(msg="a clean run"):
        assert_they_agree(seen, run_id, status="succeeded", error=None, status_only=[])
        assert seen.status_lines[-1] == "Status: OK"
        assert {name: check["passed"] for name, check in seen.run["checks"].items()} == {
            "attention": True,
            "dead_letters": True,
            "freshness_check": True,
        }
        assert seen.run["checks"]["attention"]["description"] == NOTHING_NEEDS_ATTENTION
        # Dead letters wait (people without an email), none for long: not a reason in either.
        assert seen.summary["dead_letters"]["waiting"] > 0
        model = organization_model(ORG)
        model.sync(north.dataset())
        found = differences(model, north.pdi_state())
        assert not found, f"{len(found)} discrepancies:\n" + "\n".join(found[:40])
