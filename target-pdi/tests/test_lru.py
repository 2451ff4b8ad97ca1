"""What the run keeps of PDI reads: the most recently used, and a kept None is not a miss."""

from __future__ import annotations

from target_pdi.sync.lru import Lru


def test_the_least_recently_used_entry_goes_first() -> None:
    kept: Lru[str, int] = Lru(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" is now the most recent
    kept.put("c", 3)
    assert "b" not in kept
    assert (kept.get("a"), kept.get("c")) == (1, 3)


def test_a_kept_none_is_told_apart_from_a_miss() -> None:
    kept: Lru[str, int | None] = Lru(4)
    kept.put("gone", None)  # PDI said 404: remembered as such
    assert kept.lookup("gone") == (True, None)
    assert kept.lookup("never read") == (False, None)
    kept.pop("gone")
    assert kept.lookup("gone") == (False, None)
