"""The orchestrator, through Dagster itself: every way of starting a sync, the run queue, what
the asset page shows of a run, the checks, the alerts, and a UI that answers on 127.0.0.1 only.

One Dagster deployment for the module, started as docs/dagster.md's local recipe starts it
(`dagster dev -h 127.0.0.1 -m mobilize_pdi_dagster.definitions`: the UI and the daemon) over
PostgreSQL started by the test (Meltano's state and both id maps in one database, Dagster's
storage in another, orchestrate/dagster.yaml as the instance's settings) and a Mobilize and a
PDI sandbox per organization (north, south). The fixture starts runs the ways a person does:

1. South's schedule, started (backdated) 13 hours ago, ticks as the daemon comes up, while
   `dagster job launch` starts north twice and south once, all at once, both PDIs slowed.
2. North through the UI's Materialize button (`__ASSET_JOB` with the asset's checks, as the
   button submits it) while north's PDI refuses every request (HTTP 401, as for a wrong
   password): it fails. South's first launched run re-executed, all steps.
3. One of north's PDI events deleted behind the sync's back (for reconcile to find), then
   north's failed run re-executed from failure: the sync, then every check of the asset.

The test then checks, a subtest each, what a user would notice.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.conftest import organization_model
from tests.e2e.dagster_deployment import (
    MODULE,
    ORGANIZATION_TAG,
    WEBHOOK_SECRET,
    Deployment,
    documented_command,
    finished,
    materialize,
    prepare_deployment,
    reexecute,
    sigint_as_default,
    start_dagster_dev,
    stop,
    wait_until_up,
)
from tests.e2e.expect import differences
from tests.e2e.harness import REPO, free_port, org_mobilize_key, org_pdi_credentials

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

OBJECTS = ("locations", "events", "contacts", "invitations")
OUTCOMES = ("created", "updated", "unchanged", "failed")


@pytest.fixture
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("orchestrator")
    with contextlib.ExitStack() as stack:
        deployment = prepare_deployment(workdir, stack)
        project = deployment.project
        # The organizations' pools (the page's last step before the first start), and
        # south's schedule, started 13 hours ago: the daemon launches the tick it missed.
        finished(
            deployment.start("-m", "mobilize_pdi_dagster.pools", python=True),
            deployment.start("schedule", "start", "sync_south_twice_daily", "-m", MODULE),
        )
        backdate = str(REPO / "tests" / "e2e" / "backdate_schedule.py")
        deployment.dagster(backdate, "sync_south_twice_daily", "13", python=True)

        # Slower PDIs: without the queue, the runs of one organization would overlap.
        for org in project.orgs.values():
            org.pdi.admin("switches", {"latency_ms": 20})
        # 1. Two of north and one of south at once (and south's schedule tick, meanwhile),
        # queued while docs/dagster.md's local recipe starts the UI and the daemon.
        launches = [
            deployment.start("job", "launch", "-m", MODULE, "-j", f"sync_{org}")
            for org in ("north", "north", "south")
        ]
        dev = start_dagster_dev(deployment, stack)
        finished(*launches)
        wait_until_up(deployment.url, deployment.log, dev)
        north_1, north_2 = deployment.wait_for(2, "sync_north")
        south_runs = deployment.wait_for(2, "sync_south")
        (tick,) = [r for r in south_runs if "dagster/schedule_name" in r["tags"]]
        (launched_south,) = [r for r in south_runs if r is not tick]
        deployment.runs.update(
            north_launch_1=north_1["runId"],
            north_launch_2=north_2["runId"],
            south_launch=launched_south["runId"],
            south_tick=tick["runId"],
        )
        deployment.pdi_after_first_runs = {n: o.pdi_state() for n, o in project.orgs.items()}
        for org in project.orgs.values():
            org.pdi.admin("switches", {"latency_ms": 0})

        # 2. North's PDI refuses every request while north is materialized from the UI.
        north_pdi = project.orgs["north"].pdi
        north_pdi.admin("switches", {"fail_rate": 1.0, "fail_status": 401})
        deployment.runs["north_materialize"] = materialize(deployment, "north")
        deployment.runs["south_all_steps"] = reexecute(
            deployment, deployment.runs["south_launch"], "ALL_STEPS"
        )
        deployment.wait_for_run(deployment.runs["north_materialize"])
        deployment.wait_for_run(deployment.runs["south_all_steps"])
        north_pdi.admin("switches", {"fail_rate": 0.0, "fail_status": 503})

        # 3. A PDI user deletes one of north's events; north's failed run is re-executed.
        live = [e for e in north_pdi.admin("state")["events"] if "[Canceled]" not in e["name"]]
        north_pdi.admin("delete", {"kind": "events", "id": live[0]["id"]})
        deployment.runs["north_from_failure"] = reexecute(
            deployment, deployment.runs["north_materialize"], "FROM_FAILURE"
        )
        deployment.wait_for_run(deployment.runs["north_from_failure"])
        yield deployment


def by_start(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(runs, key=lambda r: r["startTime"])


def every_way_of_starting_a_sync_names_its_organization(deployment: Deployment) -> None:
    started = {
        "north_launch_1": ("north", "sync_north"),  # dagster job launch
        "north_launch_2": ("north", "sync_north"),
        "south_launch": ("south", "sync_south"),
        "south_tick": ("south", "sync_south"),  # the schedule
        "north_materialize": ("north", "__ASSET_JOB"),  # the UI's Materialize button
        "south_all_steps": ("south", "sync_south"),  # re-executed, all steps
        "north_from_failure": ("north", "__ASSET_JOB"),  # re-executed from failure
    }
    for name, (org, job) in started.items():
        run = deployment.run(name)
        assert (name, run["jobName"], run["tags"].get(ORGANIZATION_TAG)) == (name, job, org)
    assert deployment.run("south_tick")["tags"]["dagster/schedule_name"] == "sync_south_twice_daily"
    # The history lists every run of each organization, whoever started it.
    history = deployment.history()
    listed = {org: {run["run_id"] for run in history[org]["runs"]} for org in history}
    assert listed == {
        org: {deployment.runs[name] for name, (owner, _) in started.items() if owner == org}
        for org in ("north", "south")
    }


def a_second_run_of_an_organization_waits_in_the_queue(deployment: Deployment) -> None:
    started_together = {
        "north": ("north_launch_1", "north_launch_2"),
        "south": ("south_launch", "south_tick"),
    }
    for names in started_together.values():
        first, second = by_start([deployment.run(name) for name in names])
        assert (first["status"], second["status"]) == ("SUCCESS", "SUCCESS")
        # Queued until the first ended, rather than started beside it and refused.
        assert second["startTime"] >= first["endTime"]
    # Different organizations ran at the same time: a run of north beside one of south.
    norths, souths = ([deployment.run(n) for n in names] for names in started_together.values())
    beside = [
        (north["runId"], south["runId"])
        for north in norths
        for south in souths
        if north["startTime"] < south["endTime"] and south["startTime"] < north["endTime"]
    ]
    assert beside, (norths, souths)
    # Each PDI holds its own organization's whole state.
    for name, state in deployment.pdi_after_first_runs.items():
        model = organization_model(name)
        model.sync(deployment.project.orgs[name].dataset())
        found = differences(model, state)
        assert not found, f"{name}: {len(found)} discrepancies:\n" + "\n".join(found[:40])


def table_rows(markdown: str) -> dict[str, list[int]]:
    """The rows of the metadata's Markdown table: PDI object -> its four counts."""
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].isdigit():
            rows[cells[0]] = [int(cell) for cell in cells[1:]]
    return rows


def the_asset_shows_each_run_at_a_glance_with_its_checks(deployment: Deployment) -> None:
    history = deployment.history()
    runs = {run["run_id"]: run for run in history["north"]["runs"]}

    # A succeeded run: a table, four numbers to plot, the summary; no wall of zeros.
    succeeded = runs[deployment.runs["north_launch_1"]]
    metadata = succeeded["metadata"]
    summary = metadata["run_summary"]
    assert (summary["run_id"], summary["status"]) == (succeeded["run_id"], "succeeded")
    assert sorted(metadata) == [
        "changes",
        "dead_letters_waiting",
        "duration_seconds",
        "pdi_writes",
        "records_failed",
        "run_summary",
    ]
    assert table_rows(metadata["changes"]) == {
        kind: [summary["objects"][kind][outcome] for outcome in OUTCOMES] for kind in OBJECTS
    }
    writes = sum(
        summary["objects"][k]["created"] + summary["objects"][k]["updated"] for k in OBJECTS
    )
    assert (metadata["pdi_writes"], metadata["records_failed"]) == (writes, 0)
    assert writes > 0
    assert metadata["dead_letters_waiting"] == summary["dead_letters"]["waiting"] > 0
    assert metadata["duration_seconds"] == summary["duration_seconds"]
    checks = succeeded["checks"]
    # Dead letters wait (people without an email), none for longer than status allows.
    assert {name: check["passed"] for name, check in checks.items()} == {
        "attention": True,
        "dead_letters": True,
        "freshness_check": True,
    }
    assert checks["dead_letters"]["severity"] == "WARN"

    # A failed run: its reason, and no count to be read as "nothing happened".
    failed = runs[deployment.runs["north_materialize"]]
    assert failed["status"] == "FAILURE"
    reason = failed["metadata"]["reason"]
    assert failed["metadata"] == {"status": "failed", "reason": reason}
    assert "PDI login failed (HTTP 401)" in reason
    assert failed["failure"]["description"].endswith(reason)
    # Its checks are judged too, in status's words (tests/e2e/test_outcomes_agree.py).
    assert failed["checks"]["attention"]["passed"] is False
    assert failed["checks"]["attention"]["description"] == "last run failed"

    # Re-executed from failure: the sync, then every check; reconcile finds the deleted event.
    fixed = runs[deployment.runs["north_from_failure"]]
    assert fixed["status"] == "SUCCESS"
    checks = fixed["checks"]
    assert {name: check["passed"] for name, check in checks.items()} == {
        "attention": True,
        "dead_letters": True,
        "freshness_check": True,
        "reconcile": False,
    }
    assert checks["reconcile"]["description"] == "1 discrepancy: 1 timeslot without PDI event"
    assert checks["reconcile"]["metadata"]["discrepancies"] == 1
    # The latest result of each check: the asset page's red and green.
    latest = history["north"]["checks"]
    assert {name: check["run_id"] for name, check in latest.items()} == {
        name: fixed["run_id"]
        for name in ("attention", "dead_letters", "freshness_check", "reconcile")
    }


def stored_text(deployment: Deployment) -> str:
    """Everything Dagster keeps: its database (runs, event logs with every log line, tags),
    the files under DAGSTER_HOME (captured output), and the UI's and daemon's log."""
    texts = [deployment.log.read_text()]
    for path in deployment.home.rglob("*"):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    url = deployment.storage_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            rows = connection.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            texts.extend(row[0] for row in rows)
    return "\n".join(texts)


def alerts_reach_the_webhook_and_secrets_stay_out_of_dagster(
    deployment: Deployment,
) -> None:
    receiver = deployment.receiver
    deadline = time.monotonic() + 180
    while len(receiver.posts) < 2:
        assert time.monotonic() < deadline, receiver.texts()
        time.sleep(1)
    texts = receiver.texts()
    assert {post["path"] for post in receiver.posts} == {f"/hooks/{WEBHOOK_SECRET}"}
    (failure,) = [t for t in texts if deployment.runs["north_materialize"][:8] in t]
    assert failure.startswith("mobilize-pdi: north: run ")
    assert "PDI login failed (HTTP 401)" in failure
    assert f"{deployment.url}/runs/{deployment.runs['north_materialize']}" in failure
    (checks,) = [t for t in texts if deployment.runs["north_from_failure"][:8] in t]
    assert "pdi/north reconcile: 1 discrepancy: 1 timeslot without PDI event" in checks
    # Nothing red in south's runs: they sent no alert.
    assert len(texts) == 2

    stored = stored_text(deployment) + json.dumps(deployment.history())
    secrets = [WEBHOOK_SECRET]
    for name in deployment.project.orgs:
        secrets.append(org_mobilize_key(name))
        secrets += [v for k, v in org_pdi_credentials(name).items() if k != "username"]
    assert [secret for secret in secrets if secret in stored] == []


def host_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (SIOCGIFADDR on each interface)."""
    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        address = socket.inet_ntoa(packed[20:24])
        if not ipaddress.ip_address(address).is_loopback:
            found.append(address)
    return found


@contextlib.contextmanager
def other_address() -> Iterator[str]:
    """An address of this machine that is not loopback: one it has, or else one the test gives
    it on a dummy interface of its own (root only; skipped, saying why, when impossible)."""
    found = host_addresses()
    if found:
        yield found[0]
        return
    interface, address = "mpdi-test0", "198.51.100.7"
    try:
        subprocess.run(
            ["ip", "link", "add", interface, "type", "dummy"], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"this machine has only loopback and cannot be given an address: {exc}")
    try:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", interface], check=True)
        subprocess.run(["ip", "link", "set", interface, "up"], check=True)
        yield address
    finally:
        subprocess.run(["ip", "link", "del", interface], check=False)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium (Debian's `chromium`) with an empty profile, nothing but the page."""
    program = shutil.which("chromium")
    assert program, "chromium is not installed: apt-get install -y chromium (scripts/test.sh does)"
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    profile.mkdir()
    return subprocess.run(
        [
            program,
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
            *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
            f"--user-data-dir={profile}",
            "--window-size=1440,1200",
            # The UI loads its data after the page: let it settle before the shot.
            "--virtual-time-budget=30000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def the_ui_answers_on_loopback_only(deployment: Deployment) -> None:
    """Both ways docs/dagster.md starts the UI (`dagster dev` of the local recipe, running, and the
    production `dagster-webserver`, started here) answer on 127.0.0.1, and refuse a connection
    on another address of this machine."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = deployment.log.with_name("dagster-webserver.log")
    with log.open("w") as out:
        webserver = subprocess.Popen(
            documented_command("dagster-webserver", port),
            cwd=REPO,
            env=deployment.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=sigint_as_default,
        )
    try:
        wait_until_up(url, log, webserver)
        with other_address() as address:
            for answering in (deployment.url, url):
                with urllib.request.urlopen(f"{answering}/server_info", timeout=30) as answer:  # noqa: S310
                    assert answer.status == 200
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection((address, int(answering.rsplit(":", 1)[1])), 30)
    finally:
        stop(webserver)


def the_ui_shows_the_organization_to_its_staff(deployment: Deployment, tmp_path: Path) -> None:
    """Headless Chromium on the UI: screenshots (kept in the test's folder, out of git) and
    what the pages show."""
    # What staff see: north's asset page (its last run at a glance), the page of its failed
    # run (the reason) and that of its re-execution (the sync and every check).
    asset = f"{deployment.url}/assets/pdi/north"
    pages = {
        "asset": asset,
        "failed-run": f"{deployment.url}/runs/{deployment.runs['north_materialize']}",
        "run": f"{deployment.url}/runs/{deployment.runs['north_from_failure']}",
    }
    for name, url in pages.items():
        shot = tmp_path / f"{name}.png"
        done = chromium(tmp_path, f"--screenshot={shot}", url)
        assert shot.exists(), done.stderr[-2000:]
        assert shot.stat().st_size > 20_000, shot
    shown = {
        asset: (
            "PDI object",
            "invitations",
            "pdi_writes",
            "records_failed",
            "dead_letters_waiting",
        ),
        f"{asset}?view=checks": ("attention", "dead_letters", "freshness_check", "reconcile"),
        pages["failed-run"]: ("PDI login failed (HTTP 401)",),
    }
    for url, texts in shown.items():
        dom = chromium(tmp_path, "--dump-dom", url).stdout
        assert [text for text in texts if text not in dom] == [], url


def test_dagster_runs_each_organization_as_its_staff_expect(
    deployment: Deployment, tmp_path: Path, subtests: pytest.Subtests
) -> None:
    """One deployment, built once (minutes on two cores, so one test: pytest-xdist 3.8's
    loadgroup cannot keep several on one worker under pytest 9.2, pytest-xdist#1386), checked
    six ways, each a subtest of its own: reported on its own, none stopping the others."""
    for check in (
        every_way_of_starting_a_sync_names_its_organization,
        a_second_run_of_an_organization_waits_in_the_queue,
        the_asset_shows_each_run_at_a_glance_with_its_checks,
        alerts_reach_the_webhook_and_secrets_stay_out_of_dagster,
        the_ui_answers_on_loopback_only,
    ):
        with subtests.test(msg=check.__name__):
            check(deployment)
    with subtests.test(msg=the_ui_shows_the_organization_to_its_staff.__name__):
        the_ui_shows_the_organization_to_its_staff(deployment, tmp_path)
