"""The id map on SQLite and on PostgreSQL: long keys, dropped entries, tombstones survive."""

from __future__ import annotations

from pathlib import Path

import pytest
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
