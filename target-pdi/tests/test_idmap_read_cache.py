"""The id map's read cache: a key read once is not read again, and never served stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from target_pdi.stores import idmap as idmap_module
from target_pdi.stores.idmap import IdMap


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'idmap.db'}"


def count_reads(idmap: IdMap, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    select = idmap._select

    def counted(query: str, **values: object) -> list:
        reads.append(query)
        return select(query, **values)

    monkeypatch.setattr(idmap, "_select", counted)
    return reads


def pdi_id(idmap: IdMap, object_type: str, key: str) -> str | None:
    entry = idmap.get(object_type, key)
    return None if entry is None else entry.pdi_id


def test_a_key_read_twice_is_read_from_the_database_once(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = IdMap(url)
    seeded.put("contact", "email:a@example.org", "C1", "h")
    seeded.close()
    idmap = IdMap(url)
    reads = count_reads(idmap, monkeypatch)
    assert pdi_id(idmap, "contact", "email:a@example.org") == "C1"
    assert pdi_id(idmap, "contact", "email:a@example.org") == "C1"
    assert pdi_id(idmap, "contact", "email:b@example.org") is None
    assert pdi_id(idmap, "contact", "email:b@example.org") is None
    assert reads == ["key", "key"]
    idmap.close()


def test_a_put_a_drop_and_a_forget_are_never_answered_from_the_cache(url: str) -> None:
    idmap = IdMap(url)
    assert pdi_id(idmap, "event", "ts:1") is None  # remembered as missing
    idmap.put("event", "ts:1", "E1", "h1")
    assert pdi_id(idmap, "event", "ts:1") == "E1"
    idmap.flush()
    assert pdi_id(idmap, "event", "ts:1") == "E1"  # remembered as found
    idmap.put("event", "ts:1", "E2", "h2")  # retargeted
    idmap.flush()
    assert pdi_id(idmap, "event", "ts:1") == "E2"
    idmap.drop("event", "ts:1")
    assert pdi_id(idmap, "event", "ts:1") is None
    idmap.flush()
    assert pdi_id(idmap, "event", "ts:1") is None
    idmap.put("contact", "email:a@example.org", "C1", "h")
    idmap.flush()
    assert pdi_id(idmap, "contact", "email:a@example.org") == "C1"
    assert idmap.forget_all_but("event") == 1
    assert pdi_id(idmap, "contact", "email:a@example.org") is None
    idmap.close()

    again = IdMap(url)  # what the cache answered is what the database holds
    assert pdi_id(again, "event", "ts:1") is None
    assert pdi_id(again, "contact", "email:a@example.org") is None
    again.close()


def test_the_cache_keeps_at_most_its_bound_and_reads_an_evicted_key_again(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idmap_module, "READ_CACHE_SIZE", 3)
    idmap = IdMap(url)
    for n in range(10):
        idmap.put("contact", f"k{n}", f"C{n}", "h")
    idmap.flush()
    assert len(idmap._read) == 3
    reads = count_reads(idmap, monkeypatch)
    assert [pdi_id(idmap, "contact", f"k{n}") for n in (9, 8, 7)] == ["C9", "C8", "C7"]
    assert reads == []  # the last three written are the ones kept
    for n in range(7):
        assert pdi_id(idmap, "contact", f"k{n}") == f"C{n}"
        assert len(idmap._read) <= 3
    assert reads == ["key"] * 7
    idmap.close()
