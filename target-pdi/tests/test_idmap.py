"""The id map on SQLite and on PostgreSQL: long keys, dropped entries, tombstones survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from target_pdi.idmap import KEY_LIMIT, IdMap, stored_key

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
