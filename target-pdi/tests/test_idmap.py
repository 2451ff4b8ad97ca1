"""The id map on SQLite and on PostgreSQL: long keys, dropped entries, tombstones survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from target_pdi.stores.idmap import KEY_LIMIT, IdMap, stored_key

LONG_ADDRESS = "addr:the great hall|" + ", ".join(f"{n} long street" for n in range(200))


def test_stored_key_is_short_unique_and_stable() -> None:
    assert stored_key("ts:1") == "ts:1"
    long = stored_key(LONG_ADDRESS)
    assert len(long) <= KEY_LIMIT
    assert long == stored_key(LONG_ADDRESS)
    assert long != stored_key(LONG_ADDRESS + "x")
    assert long.startswith("addr:the great hall|")


def roundtrip(url: str) -> None:
    idmap = IdMap(url)
    idmap.put("location", LONG_ADDRESS, "L1", "h1")
    idmap.put("event", "ts:1", "E1", "h2", mobilize_id=7, extra={"calendar_id": "C"})
    idmap.put("invitation", "E1:K1", "I1", "h3", mobilize_id=70)
    idmap.put("tombstone", "event:9", "", None, mobilize_id=9)
    idmap.flush()
    idmap.drop("invitation", "E1:K1")
    idmap.close()

    again = IdMap(url)
    entry = again.get("location", LONG_ADDRESS)
    assert entry is not None
    assert entry.pdi_id == "L1"
    assert again.get("invitation", "E1:K1") is None
    assert again.get("tombstone", "event:9") is not None
    assert [k for k, _ in again.keys_for_mobilize_id("event", 7)] == ["ts:1"]
    assert again.keys_for_pdi_id("event", "E1") == ["ts:1"]
    assert again.owns("event", "E1")
    again.close()


def test_sqlite_roundtrip(tmp_path: Path) -> None:
    roundtrip(f"sqlite:///{tmp_path / 'idmap.sqlite'}")


@pytest.mark.postgres
def test_postgres_roundtrip_with_a_key_longer_than_the_column(postgres_url: str) -> None:
    # PostgreSQL enforces VARCHAR(512), which a long venue address exceeds (SQLite does not).
    roundtrip(postgres_url)


def old_map(url: str) -> Engine:
    """An id map as versions before key groups wrote it: no key_group column, no indexes."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE target_pdi_id_map (object_type VARCHAR(32), source_key "
                "VARCHAR(512), pdi_id VARCHAR(128) NOT NULL, content_hash VARCHAR(64), "
                "mobilize_id BIGINT, extra TEXT, updated_at VARCHAR(40) NOT NULL, "
                "PRIMARY KEY (object_type, source_key))"
            )
        )
    return engine


def test_a_map_written_before_key_groups_is_given_them(tmp_path: Path) -> None:
    # An id map from before the key_group column: its invitations must still be found by
    # event, or a moved event would leave its invitations behind.
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = old_map(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO target_pdi_id_map VALUES "
                "('invitation', 'E1:K1', 'I1', 'h', 70, NULL, 'x'), "
                "('invitation', 'E2:K1', 'I2', 'h', 71, NULL, 'x')"
            )
        )
    engine.dispose()
    idmap = IdMap(url)
    assert [k for k, _ in idmap.keys_in_group("invitation", "E1")] == ["E1:K1"]
    idmap.close()


def test_reads_see_writes_not_yet_flushed_and_pages_walk_every_entry(tmp_path: Path) -> None:
    idmap = IdMap(f"sqlite:///{tmp_path / 'idmap.sqlite'}")
    for n in range(2500):
        idmap.put("invitation", f"E{n % 7}:K{n}", f"I{n}", "h", mobilize_id=n)
    idmap.flush()
    idmap.put("invitation", "E1:new", "I-new", "h", mobilize_id=9999)  # pending
    idmap.drop("invitation", "E1:K1")  # pending delete
    assert idmap.get("invitation", "E1:new") is not None
    assert idmap.get("invitation", "E1:K1") is None
    group = [k for k, _ in idmap.keys_in_group("invitation", "E1")]
    assert "E1:new" in group
    assert "E1:K1" not in group
    assert len(group) == len([n for n in range(2500) if n % 7 == 1])
    walked = [k for k, _ in idmap.items("invitation")]
    assert len(walked) == len(set(walked)) == 2500 == len(idmap)
    assert idmap.keys_for_pdi_id("invitation", "I-new") == ["E1:new"]
    idmap.close()


def test_a_dry_run_over_a_map_from_before_key_groups_plans_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old_map(url).dispose()
    idmap = IdMap(url, read_only=True)
    assert idmap.get("invitation", "E1:K1") is None
    assert "predates this version" in caplog.text
    engine = create_engine(url)
    with engine.connect() as conn:  # a dry run changed nothing
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(target_pdi_id_map)"))]
    engine.dispose()
    assert "key_group" not in columns


def check_organizations_never_meet(url: str) -> None:
    """Two organizations' maps in one database: the same keys, each its own ids."""
    north = IdMap(url, organization="north")
    south = IdMap(url, organization="south")
    north.put("event", "ts:1", "N1", "h", mobilize_id=7)
    south.put("event", "ts:1", "S1", "h", mobilize_id=7)
    south.put("contact", "a@example.org", "SC", "h")
    north.close()
    south.close()
    north, south = IdMap(url, organization="north"), IdMap(url, organization="south")
    assert [(k, e.pdi_id) for k, e in north.items("event")] == [("ts:1", "N1")]
    assert [(k, e.pdi_id) for k, e in south.items("event")] == [("ts:1", "S1")]
    assert north.get("contact", "a@example.org") is None
    assert (len(north), len(south)) == (1, 2)
    north.close()
    south.close()
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"target_pdi_id_map__north", "target_pdi_id_map__south"} <= tables


def test_organizations_sharing_a_sqlite_file_never_meet(tmp_path: Path) -> None:
    check_organizations_never_meet(f"sqlite:///{tmp_path / 'shared.sqlite'}")


@pytest.mark.postgres
def test_organizations_sharing_a_postgres_database_never_meet(postgres_url: str) -> None:
    check_organizations_never_meet(postgres_url)


def test_a_sqlite_map_from_before_organizations_becomes_the_organizations(
    tmp_path: Path,
) -> None:
    # A one-organization project that names its organization keeps its map (no recovery).
    url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    before = IdMap(url)
    before.put("event", "ts:1", "E1", "h", mobilize_id=7)
    before.close()
    dry = IdMap(url, read_only=True, organization="acme")  # a dry run reads it, renames nothing
    assert dry.get("event", "ts:1") is not None
    dry.close()
    assert "target_pdi_id_map" in inspect(create_engine(url)).get_table_names()
    adopted = IdMap(url, organization="acme")
    assert [k for k, _ in adopted.keys_for_mobilize_id("event", 7)] == ["ts:1"]
    adopted.close()
    found = inspect(create_engine(url))
    assert found.get_table_names() == ["target_pdi_id_map__acme"]
    assert sorted(i["name"] for i in found.get_indexes("target_pdi_id_map__acme")) == [
        "ix_target_pdi_id_map__acme_mobilize_id",
        "target_pdi_id_map__acme_by_group",
        "target_pdi_id_map__acme_by_pdi_id",
    ]


@pytest.mark.postgres
def test_a_shared_database_leaves_a_map_from_before_organizations_alone(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.postgres_server import create_database

    url = create_database(postgres_url, "legacy_map")
    before = IdMap(url)
    before.put("event", "ts:1", "E1", "h")
    before.close()
    org = IdMap(url, organization="acme")  # it may be another organization's: not taken
    assert org.get("event", "ts:1") is None
    org.close()
    assert "table from before organizations (target_pdi_id_map)" in caplog.text
    kept = IdMap(url)
    assert kept.get("event", "ts:1") is not None
    kept.close()
