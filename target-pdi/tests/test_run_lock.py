"""The run lock (run_lock.py): one sync at a time per organization, on SQLite and PostgreSQL.

A second run of the same organization is refused at once with one line saying since when the
other holds the lock; another organization's run is never refused; a lock dies with the
process that held it, however it ends.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from target_pdi.configuration.settings import Settings
from target_pdi.errors import FatalError
from target_pdi.stores.run_lock import AlreadyRunning, acquire, holding

FIXTURES = Path(__file__).parent / "fixtures"
SINCE = r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"


def refused(url: str, organization: str) -> str:
    with pytest.raises(AlreadyRunning) as caught:
        acquire(url, organization)
    return str(caught.value)


def check_one_run_per_organization(url: str, first: str = "north", second: str = "south") -> None:
    held = acquire(url, first)
    message = refused(url, first)
    assert re.fullmatch(
        rf"organization {first} is already being synced \(another run holds its lock {SINCE}"
        r"(, process \d+)?\); this run changed nothing",
        message,
    ), message
    other = acquire(url, second)  # another organization is never held up
    held.release()
    again = acquire(url, first)  # released: the next run goes on
    again.release()
    other.release()


def test_sqlite_one_run_per_organization(tmp_path: Path) -> None:
    check_one_run_per_organization(f"sqlite:///{tmp_path / 'idmap.sqlite'}")
    # The lock files sit next to the id map, one per organization.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "idmap.sqlite.north.lock",
        "idmap.sqlite.south.lock",
    ]


@pytest.mark.postgres
def test_postgres_one_run_per_organization(postgres_url: str) -> None:
    # Names no other test locks: the session's server is shared with every test of this
    # worker, and a lock another one took in a process of its own is held until PostgreSQL
    # has ended that process's backend (once, under load, this test met "north" still held).
    check_one_run_per_organization(postgres_url, "lock_north", "lock_south")


def test_a_map_without_organization_has_its_lock_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    held = acquire(url)
    assert refused(url, "").startswith("this project's organization is already being synced")
    held.release()
    assert (tmp_path / "idmap.sqlite.lock").exists()


def hold_in_a_process(url: str, organization: str) -> subprocess.Popen[str]:
    """Another process holding the lock, as a running sync would."""
    code = (
        "import sys, time\n"
        "from target_pdi.stores.run_lock import acquire\n"
        "acquire(sys.argv[1], sys.argv[2])\n"
        "print('held', flush=True)\n"
        "time.sleep(300)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, url, organization], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def check_a_killed_holder_releases_it(url: str) -> None:
    holder = hold_in_a_process(url, "north")
    try:
        assert "another run holds its lock since" in refused(url, "north")
    finally:
        holder.kill()  # SIGKILL: nothing of the holder's runs after this
        holder.wait()
    deadline = time.monotonic() + 10  # PostgreSQL notices the closed connection at once
    while True:
        try:
            acquire(url, "north").release()
            return
        except AlreadyRunning:
            assert time.monotonic() < deadline, "the lock outlived the process that held it"
            time.sleep(0.05)


def test_sqlite_a_killed_holder_releases_it(tmp_path: Path) -> None:
    check_a_killed_holder_releases_it(f"sqlite:///{tmp_path / 'idmap.sqlite'}")


@pytest.mark.postgres
def test_postgres_a_killed_holder_releases_it(postgres_url: str) -> None:
    check_a_killed_holder_releases_it(postgres_url)


def test_a_dry_run_takes_no_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    held = acquire(url, "north")
    with holding(Settings(id_map_url=url, organization="north", dry_run=True)):
        pass  # a dry run writes nothing: it may preview while the sync runs
    with pytest.raises(AlreadyRunning), holding(Settings(id_map_url=url, organization="north")):
        pass
    held.release()


def test_an_in_memory_map_needs_no_lock() -> None:
    first = acquire("sqlite://", "north")
    acquire("sqlite://", "north").release()
    first.release()


def test_an_unreachable_database_stops_with_one_line_and_no_password() -> None:
    url = "postgresql+psycopg://sync:s3cret-pw@127.0.0.1:9/idmaps"  # port 9: nothing listens
    with pytest.raises(FatalError) as caught:
        acquire(url, "north")
    message = str(caught.value)
    assert message.startswith("cannot reach the id map's database postgresql+psycopg://sync:***@")
    assert "s3cret-pw" not in message
    assert "\n" not in message


def test_an_organization_name_that_cannot_name_a_lock_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(FatalError, match="cannot name its id map"):
        acquire(f"sqlite:///{tmp_path / 'idmap.sqlite'}", "---")


def test_a_sync_of_an_organization_already_syncing_stops_at_once_having_changed_nothing(
    pdi: Any, config: dict[str, Any], tmp_path: Path
) -> None:
    config = {**config, "organization": "north", "summary_path": str(tmp_path / "summary.json")}
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    held = acquire(config["id_map_url"], "north")
    try:
        ran = subprocess.run(
            [sys.executable, "-m", "target_pdi.target", "--config", str(config_file)],
            stdin=(FIXTURES / "run1.singer").open(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        held.release()
    assert ran.returncode == 1
    assert ran.stdout == ""  # no STATE: the bookmark stays where it was
    [line] = [line for line in ran.stderr.splitlines() if "already being synced" in line]
    assert line.endswith("this run changed nothing")
    assert pdi.admin("stats")["requests"] == 0
    # Nothing written on this side either: no id map, dead letters or run summary.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "idmap.sqlite.north.lock"]
