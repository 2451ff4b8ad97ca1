"""An organization's name names its id-map table, run lock, dead-letter and summary tables:
one name, one set of them (issue 19, defect 6).

Names were folded to a slug (lower case, each run of other characters one ``_``), so
``south-east`` and ``south_east``, ``North`` and ``north``, ``st. louis`` and ``st-louis`` got
the same tables and the same lock, and both names were accepted: on a shared database each
organization would heal the other's ids as stale and copy invitations across PDI accounts.
Now only a name already in that form is accepted (it is its own slug, so two names never
share); any other is refused before anything is read, with one line naming the one to use,
which keeps the tables and lock the name had.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from target_pdi.errors import ConfigurationError
from target_pdi.stores.dead_letter_schema import TABLE as DEAD_LETTERS
from target_pdi.stores.id_map_table import organization_slug, table_name
from target_pdi.stores.run_lock import acquire
from target_pdi.stores.summary_table import TABLE as SUMMARIES

FIXTURES = Path(__file__).parent / "fixtures"
Pdi = Any  # the `pdi` fixture (conftest.Pdi)


@pytest.mark.parametrize("name", ["north", "south", "acme_2", "st_louis", "9", "a" * 29])
def test_a_name_in_slug_form_names_its_own_tables(name: str) -> None:
    assert organization_slug(name) == name
    assert table_name(name) == f"target_pdi_id_map__{name}"
    assert table_name(name, DEAD_LETTERS) == f"target_pdi_dead_letters__{name}"
    assert table_name(name, SUMMARIES) == f"target_pdi_run_summaries__{name}"


@pytest.mark.parametrize(
    ("name", "instead"),
    [
        ("south-east", "south_east"),
        ("South_East", "south_east"),
        ("North", "north"),
        ("st. louis", "st_louis"),
        ("st-louis", "st_louis"),
        ("a__b", "a_b"),
        ("_north_", "north"),
    ],
)
def test_a_name_its_slug_would_change_is_refused_naming_the_one_to_use(
    name: str, instead: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        organization_slug(name)
    assert str(refused.value) == (
        f"organization {name!r} names its id map, run lock, dead letters and run summaries as "
        f"{instead!r}, which other spellings of it would share: set organization to "
        f"{instead!r} (lower-case letters and digits, words joined by single '_'; the same "
        "tables and lock)"
    )


@pytest.mark.parametrize("name", ["---", "ünïcode", "a" * 30])
def test_a_name_that_cannot_name_tables_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot name its id map"):
        organization_slug(name)


def test_the_pairs_issue_19_found_sharing_a_table_never_both_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'idmap.sqlite'}"
    for pair in [("south-east", "south_east"), ("North", "north"), ("st. louis", "st-louis")]:
        accepted = []
        for name in pair:
            try:
                acquire(url, name).release()
            except ConfigurationError:
                continue
            accepted.append(name)
        assert len(accepted) <= 1, pair


def test_a_sync_of_a_name_that_would_share_stops_before_reading_anything(
    pdi: Pdi, config: dict[str, Any], tmp_path: Path
) -> None:
    config = {**config, "organization": "South-East"}
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    ran = subprocess.run(
        [sys.executable, "-m", "target_pdi.target", "--config", str(config_file)],
        stdin=(FIXTURES / "run1.singer").open(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 1
    assert ran.stdout == ""  # no STATE
    [line] = [line for line in ran.stderr.splitlines() if "South-East" in line]
    assert line.endswith(
        "target-pdi stopped: organization 'South-East' names its id map, run lock, dead "
        "letters and run summaries as 'south_east', which other spellings of it would share: "
        "set organization to 'south_east' (lower-case letters and digits, words joined by "
        "single '_'; the same tables and lock)"
    )
    assert "Traceback" not in ran.stderr
    assert pdi.admin("stats")["requests"] == 0
    # Nothing read, nothing kept: no id map, lock, dead letters or run summary.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
