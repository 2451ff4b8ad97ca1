"""Organizations and their schedules come from the Meltano project, never a hand-kept list."""

from __future__ import annotations

from pathlib import Path

from mobilize_pdi_dagster.organizations import Organization, find_organizations
from mobilize_pdi_dagster.schedules import (
    DEFAULT_CRON,
    EasternSchedule,
    eastern_cron,
    org_schedules,
    reconcile_cron,
)

REPO = Path(__file__).resolve().parents[2]

MELTANO_YML = """\
default_environment: dev
include_paths:
- ./orgs/*.meltano.yml
jobs:
- name: sync
  tasks:
  - tap-mobilize target-pdi
- name: warehouse
  tasks: tap-mobilize target-duckdb
"""
ORG_YML = """\
jobs:
- name: sync-{org}
  tasks:
  - tap-mobilize--{org} target-pdi--{org}
schedules:
- name: sync-{org}-twice-daily
  interval: {minute} 4,16 * * *
  job: sync-{org}
- name: sync-{org}-often
  interval: '*/5 * * * *'
  job: sync-{org}
  env:
    TAP_MOBILIZE_RECHECK_DAYS_BEFORE: '0'
"""


def project(tmp_path: Path, orgs: dict[str, int]) -> Path:
    (tmp_path / "meltano.yml").write_text(MELTANO_YML)
    (tmp_path / "orgs").mkdir()
    for org, minute in orgs.items():
        (tmp_path / "orgs" / f"{org}.meltano.yml").write_text(
            ORG_YML.format(org=org, minute=minute)
        )
    return tmp_path


def test_each_included_org_file_is_an_organization(tmp_path: Path) -> None:
    root = project(tmp_path, {"west-coast": 0, "east": 30})
    assert find_organizations(root) == [
        Organization("east", "sync-east", "target-pdi--east"),
        Organization("west-coast", "sync-west-coast", "target-pdi--west-coast"),
    ]
    assert find_organizations(root)[1].dagster_name == "west_coast"


def test_a_project_without_organizations_is_one(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    assert find_organizations(root) == [Organization("default", "sync", "target-pdi")]


def test_this_project_has_north_and_south() -> None:
    names = [org.name for org in find_organizations(REPO)]
    assert names == ["north", "south"]


def test_meltano_utc_hours_become_the_eastern_hours_they_stand_for() -> None:
    assert eastern_cron("0 4,16 * * *") == "0 0,12 * * *"
    assert eastern_cron("30 2 * * 1-5") == "30 22 * * 1-5"
    assert eastern_cron("*/5 * * * *") is None
    assert eastern_cron("@daily") is None


def test_org_schedules_keep_the_stagger_and_leave_env_schedules_to_meltano(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, {"north": 0, "south": 30})
    north, south = find_organizations(root)
    assert [(s.name, s.cron) for s in org_schedules(root, north)] == [
        ("sync_north_twice_daily", "0 0,12 * * *")
    ]
    assert [s.cron for s in org_schedules(root, south)] == ["30 0,12 * * *"]


def test_an_unscheduled_org_syncs_at_midnight_and_noon_eastern(tmp_path: Path) -> None:
    (tmp_path / "meltano.yml").write_text(MELTANO_YML)
    (default,) = find_organizations(tmp_path)
    assert [s.cron for s in org_schedules(tmp_path, default)] == [DEFAULT_CRON]


def test_reconcile_runs_at_two_at_the_organizations_minute() -> None:
    assert reconcile_cron([EasternSchedule("s", "30 0,12 * * *")]) == "30 2 * * *"
    assert reconcile_cron([]) == "0 2 * * *"
