"""An id map records the PDI it describes (pdi_account.py) and is refused against another;
`--retarget-id-map` (retarget.py) makes it this PDI's on purpose. On SQLite and PostgreSQL,
one table per organization."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from target_pdi.configuration.settings import Settings
from target_pdi.operator_tools.retarget import retarget, run_retarget
from target_pdi.operator_tools.status import Check, check_id_map, render
from target_pdi.stores import pdi_account
from target_pdi.stores.idmap import IdMap
from target_pdi.stores.pdi_account import (
    IdMapOfAnotherPdi,
    claim,
    normalised_api_url,
    problem_of,
    read_record,
)

Pdi = Any  # the `pdi` fixture (conftest.Pdi)
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 29, 12, 10, tzinfo=UTC)

TEST_ACCOUNT = Settings(
    api_url="https://apiqa.bluevote.com", username="jane@example.org", password="pw", api_token="t"
)
REAL_ACCOUNT = replace(
    TEST_ACCOUNT, api_url="https://api.bluevote.com/", username="ops@example.org"
)


def settings_for(url: str, base: Settings = TEST_ACCOUNT, organization: str = "") -> Settings:
    return replace(base, id_map_url=url, organization=organization)


def filled_map(settings: Settings) -> None:
    """A map as a run against ``settings``' PDI leaves it: its record and some entries."""
    idmap = IdMap(settings.id_map_url, organization=settings.organization)
    claim(idmap, settings)
    idmap.put("event", "ts:1", "E1", "h1", mobilize_id=1)
    idmap.put("contact", "email:a@example.org", "C1", "h2", mobilize_id=7)
    idmap.put("tombstone", "event:9", "", None, mobilize_id=9)
    idmap.close()


def every_row(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                    if url.startswith("sqlite")
                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            )
        ]
        rows = [
            repr(tuple(r))
            for t in tables
            for r in conn.execute(text(f'SELECT * FROM "{t}"'))  # noqa: S608 - test's own tables
        ]
    engine.dispose()
    return "\n".join(rows)


def test_one_pdi_is_always_spelled_the_same() -> None:
    assert normalised_api_url("https://API.BlueVote.com:443/") == "https://api.bluevote.com"
    assert normalised_api_url(" http://127.0.0.1:8002 ") == "http://127.0.0.1:8002"
    assert normalised_api_url("http://user:secret@host:80/v1/") == "http://host/v1"
    assert normalised_api_url("https://apiqa.bluevote.com") != "https://api.bluevote.com"


def test_the_first_real_run_records_its_pdi_and_never_the_username(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'idmap.sqlite'}")
    idmap = IdMap(settings.id_map_url)
    claim(idmap, settings)
    recorded = read_record(idmap)
    idmap.close()
    assert recorded is not None
    assert recorded.api_url == "https://apiqa.bluevote.com"
    assert recorded.describes(settings)
    assert not recorded.describes(replace(settings, username="other@example.org"))
    rows = every_row(settings.id_map_url)
    assert "jane" not in rows
    assert "example.org" not in rows
    # Salted: the same username is another fingerprint in another map.
    other = settings_for(f"sqlite:///{tmp_path / 'other.sqlite'}")
    again = IdMap(other.id_map_url)
    claim(again, other)
    second = read_record(again)
    again.close()
    assert second is not None
    assert second.account != recorded.account


def test_a_map_from_before_records_is_adopted_by_its_next_real_run_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'idmap.sqlite'}")
    old = IdMap(settings.id_map_url)
    old.put("event", "ts:1", "E1", "h1", mobilize_id=1)
    old.close()
    # A dry run reads it as it is and records nothing.
    assert problem_of(settings) is None
    with caplog.at_level(logging.INFO, logger="target-pdi"):
        for _ in range(2):
            idmap = IdMap(settings.id_map_url)
            claim(idmap, settings)
            idmap.close()
    lines = [r.getMessage() for r in caplog.records if "did not record" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "it now records this one (https://apiqa.bluevote.com, this account)" in lines[0]
    idmap = IdMap(settings.id_map_url)
    assert idmap.get("event", "ts:1") is not None  # its entries are kept
    assert read_record(idmap) is not None
    idmap.close()


def check_another_pdi_is_refused(url: str) -> None:
    """A map filled against the test account, used against the real one: refused, before
    any request (read only), and by a real run's claim; each organization its own record."""
    test = settings_for(url, TEST_ACCOUNT, "north")
    filled_map(test)
    real = settings_for(url, REAL_ACCOUNT, "north")
    before = every_row(url)

    problem = problem_of(real)
    assert problem is not None
    assert "was filled against another PDI (another account at https://apiqa.bluevote.com)" in (
        problem
    )
    assert "not this run's (https://api.bluevote.com)" in problem
    assert "(setting id_map_url, TARGET_PDI_ID_MAP_URL)" in problem
    assert "`meltano invoke target-pdi:retarget-id-map`" in problem
    for username in (TEST_ACCOUNT.username, REAL_ACCOUNT.username):
        assert username not in problem
    idmap = IdMap(url, organization="north")
    with pytest.raises(IdMapOfAnotherPdi) as refused:
        claim(idmap, real)
    idmap.close()
    assert str(refused.value) == problem
    assert every_row(url) == before  # nothing recorded, nothing forgotten

    # Same URL, another username: another account; same account at another URL: another PDI.
    other_user = replace(test, username="someone@example.org")
    assert "(another account at https://apiqa.bluevote.com)" in (problem_of(other_user) or "")
    moved = replace(test, api_url="https://apiqa2.bluevote.com")
    assert "another PDI (https://apiqa.bluevote.com), not this run's (https://apiqa2" in (
        problem_of(moved) or ""
    )
    assert problem_of(replace(test, api_url="https://APIQA.bluevote.com/")) is None
    # Another organization of the same database has a map and a record of its own.
    assert problem_of(settings_for(url, REAL_ACCOUNT, "south")) is None

    # Re-targeted (retarget.py, after its login): the other PDI's ids go, the tombstone stays.
    said = retarget(real)
    assert "It forgot 2 PDI ids and kept its tombstones" in said, said
    assert problem_of(real) is None
    assert problem_of(test) is not None
    idmap = IdMap(url, organization="north")
    assert idmap.get("event", "ts:1") is None
    assert idmap.get("tombstone", "event:9") is not None
    idmap.close()


def test_sqlite_a_map_of_another_pdi_is_refused(tmp_path: Path) -> None:
    check_another_pdi_is_refused(f"sqlite:///{tmp_path / 'idmap.sqlite'}")


@pytest.mark.postgres
def test_postgres_a_map_of_another_pdi_is_refused(postgres_url: str) -> None:
    from tests.postgres_server import create_database

    check_another_pdi_is_refused(create_database(postgres_url, "another_pdi"))


def test_reading_the_record_creates_nothing(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'maps' / 'idmap.sqlite'}")
    assert problem_of(settings) is None
    assert not (tmp_path / "maps").exists()


def sync(config: dict[str, Any], *flags: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    return subprocess.run(
        [sys.executable, "-m", "target_pdi.target", "--config", str(config_file), *flags],
        stdin=(FIXTURES / "run1.singer").open(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_sync_with_another_pdis_map_stops_before_any_request(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path, dry_run: bool
) -> None:
    config = {**config, "summary_path": str(tmp_path / "summary.json"), "dry_run": dry_run}
    settings = Settings.from_config(config)
    filled_map(replace(settings, api_url="http://127.0.0.1:9"))
    ran = sync(config, tmp_path=tmp_path)
    assert ran.returncode == 1
    assert ran.stdout == ""  # no STATE: the bookmark stays where it was
    [line] = [line for line in ran.stderr.splitlines() if "filled against another PDI" in line]
    assert "target-pdi stopped: the id map sqlite:///" in line
    assert f"(http://127.0.0.1:9), not this run's ({pdi.url})" in line
    assert pdi.admin("stats")["requests"] == 0
    # A dry run's summary is kept apart from the real runs' (run_summary.written_path).
    written = tmp_path / ("summary.dry-run.json" if dry_run else "summary.json")
    summary = json.loads(written.read_text())
    assert summary["status"] == "failed"
    assert "filled against another PDI" in summary["error"]


def test_a_mistyped_username_at_the_maps_pdi_is_a_refused_login_not_another_account(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    """At the map's own URL another username may be a typo: the login is tried first, and a
    refused one is the reason given (re-targeting the map would not help)."""
    config = {**config, "summary_path": str(tmp_path / "summary.json")}
    filled_map(Settings.from_config(config))
    ran = sync({**config, "username": "sandbox-typo"}, tmp_path=tmp_path)
    assert ran.returncode == 1
    assert "target-pdi stopped: PDI login failed" in ran.stderr, ran.stderr
    assert "filled against another PDI" not in ran.stderr
    assert pdi.writes() == 0
    # An account PDI accepts, at the same URL, is another account: its map is refused.
    pdi.server.app.username = "other"
    ran = sync({**config, "username": "other"}, tmp_path=tmp_path)
    assert ran.returncode == 1
    assert "filled against another PDI (another account at" in ran.stderr, ran.stderr
    assert pdi.writes() == 0


def test_reconcile_refuses_another_pdis_map_before_reading_anything(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    filled_map(replace(Settings.from_config(config), api_url="http://127.0.0.1:9"))
    ran = sync(config, "--reconcile", tmp_path=tmp_path)
    assert ran.returncode == 1
    assert len([s for s in ran.stderr.splitlines() if "filled against another PDI" in s]) == 1
    assert pdi.admin("stats")["requests"] == 0


def test_status_gives_the_refusal_as_its_reason(config: dict[str, Any]) -> None:
    settings = Settings.from_config(config)
    assert check_id_map(settings) is None
    filled_map(replace(settings, api_url="http://127.0.0.1:9"))
    problem = check_id_map(settings)
    assert problem is not None
    last = {"status": "succeeded", "finished_at": "2026-11-29T12:00:12+00:00"}
    shown = render(
        "north",
        last,
        summary_path="/s.json",
        dead_letters=[],
        dead_letter_path="/d.jsonl",
        pdi=Check(True, "OK"),
        mobilize=Check(True, "OK"),
        now=NOW,
        last_success=last,
        id_map=problem,
    )
    assert not shown.healthy
    assert f"Id map: {problem_of(settings)}" in shown.lines
    assert shown.lines[-1] == "Status: ATTENTION (id map of another PDI)"


def test_retarget_forgets_the_other_pdis_ids_and_keeps_the_tombstones(
    pdi: Pdi, config: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_config(config)
    filled_map(replace(settings, api_url="http://127.0.0.1:9"))
    assert run_retarget(settings) == 0
    said = capsys.readouterr().out
    assert "described another PDI (http://127.0.0.1:9); it now describes this PDI " in said
    assert f"({pdi.url}, this account). It forgot 2 PDI ids and kept its tombstones" in said
    assert pdi.writes() == 0
    idmap = IdMap(settings.id_map_url)
    assert idmap.get("event", "ts:1") is None
    assert idmap.get("contact", "email:a@example.org") is None
    assert idmap.get("tombstone", "event:9") is not None
    idmap.close()
    assert problem_of(settings) is None
    # Once more: nothing to do.
    assert run_retarget(settings) == 0
    assert "already describes this PDI" in capsys.readouterr().out


def test_retarget_records_nothing_for_an_account_pdi_refuses(
    pdi: Pdi, config: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_config(config)
    filled_map(replace(settings, api_url="http://127.0.0.1:9"))
    assert run_retarget(replace(settings, password="wrong-password")) == 1
    said = capsys.readouterr().out
    assert said.startswith("FAILED: PDI login failed")
    assert said.rstrip().endswith("the id map was not changed")
    assert "wrong-password" not in said
    assert problem_of(settings) is not None  # still the other PDI's


def test_the_record_is_a_row_of_the_organizations_table(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'idmap.sqlite'}", organization="north")
    filled_map(settings)
    engine = create_engine(settings.id_map_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key FROM target_pdi_id_map__north WHERE object_type = :t"),
            {"t": pdi_account.RECORD_TYPE},
        ).all()
    engine.dispose()
    assert rows == [(pdi_account.RECORD_KEY,)]


def test_an_organizations_refusal_names_its_own_setting_and_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Meltano runs orgs/north.meltano.yml's target in prod."""
    monkeypatch.setenv("MELTANO_LOADER_NAME", "target-pdi--north")
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "prod")
    url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    filled_map(settings_for(url, TEST_ACCOUNT, "north"))
    problem = problem_of(settings_for(url, REAL_ACCOUNT, "north")) or ""
    assert "(setting id_map_url, TARGET_PDI__NORTH_ID_MAP_URL)" in problem
    assert "`meltano --environment=prod invoke target-pdi--north:retarget-id-map`" in problem
