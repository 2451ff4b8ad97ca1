"""Reconcile's parts around the comparison: the tap's records through the target's stream maps,
the table and the CSV, and the id-map corrections --fix makes before the sync's engine runs."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
from singer_sdk.mapper import PluginMapper
from target_pdi.operator_tools.reconcile.fix import FORGOTTEN, correct_id_map, mend_batch, merged
from target_pdi.operator_tools.reconcile.found import (
    SHARED_EMAIL,
    WRONG_TIME,
    Checked,
    Discrepancy,
    Mend,
)
from target_pdi.operator_tools.reconcile.mobilize import MappedReader, MobilizeData
from target_pdi.operator_tools.reconcile.report import before_fix_path, table, write_csv
from target_pdi.rules.vocabulary import PdiObject
from target_pdi.stores.idmap import IdMap

EVENT, CONTACT, TOMBSTONE = PdiObject.EVENT, PdiObject.CONTACT, PdiObject.TOMBSTONE

WRONG = Discrepancy(
    WRONG_TIME,
    "timeslot:11",
    "E1",
    "2027-01-15 08:00-09:00 UTC",
    "2027-01-15 09:00-10:00 UTC",
    "rewritten by the sync",
    Mend(forget=((EVENT, "ts:11"),), events=(10,)),
)
SHARED = Discrepancy(
    SHARED_EMAIL,
    "email:ann@example.org",
    "C1 C2",
    "one contact",
    "2 contacts",
    "cannot: merge them in PDI",
)


def test_records_come_through_the_targets_stream_maps() -> None:
    mapper = PluginMapper(
        plugin_config={"stream_maps": {"events": {"pdi_event_name": "title.upper()"}}},
        logger=logging.getLogger("test"),
    )
    reader = MappedReader(mapper)
    schema = {"properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}
    lines = [
        {"type": "SCHEMA", "stream": "events", "schema": schema, "key_properties": ["id"]},
        {
            "type": "RECORD",
            "stream": "events",
            "record": {"id": 1, "title": "a", "modified_date": 1},
        },
        {
            "type": "RECORD",
            "stream": "events",
            "record": {"id": 1, "title": "b", "modified_date": 2},
        },
        {"type": "STATE", "value": {}},
    ]
    for line in lines:
        reader.line(json.dumps(line))
    reader.line("not json")
    data = reader.data()
    assert data.events == {1: {"id": 1, "title": "b", "modified_date": 2, "pdi_event_name": "B"}}
    assert (data.people, data.attendances, data.deleted_events) == ({}, {}, {})


def test_the_table_aligns_its_columns_and_counts_by_kind() -> None:
    lines = table([WRONG, SHARED], Checked(timeslots=3, signups=5, contacts=2, locations=4))
    header, first, second = lines[:3]
    assert header.split() == ["KIND", "MOBILIZE", "PDI", "ID", "EXPECTED", "FOUND", "FIX"]
    for column in ("MOBILIZE", "PDI ID", "EXPECTED", "FOUND", "FIX"):
        at = header.index(column)
        for line in (first, second):
            assert line[at - 2 : at] == "  "
            assert line[at] != " "
    assert lines[3:] == [
        "",
        "2 discrepancies, 1 that --fix cannot mend",
        f"  {WRONG_TIME}      1",
        f"  {SHARED_EMAIL}  1",
        "(3 timeslots, 5 signups, 2 PDI contacts and 4 locations compared)",
        "(emails are shown as <email>: the CSV has them)",
    ]
    assert table([], Checked(timeslots=3, signups=5, contacts=2, dead_lettered=1)) == [
        "No discrepancies: PDI holds what Mobilize says (3 timeslots, 5 signups, 2 PDI "
        "contacts and 0 locations compared; 1 signups left out: in the dead letters)."
    ]


def test_the_table_shows_no_email_and_says_where_they_are() -> None:
    """The table goes to a terminal and to orchestrators' logs: the ids name each row."""
    signup = Discrepancy(
        "signup without invitation",
        "attendance:5",
        "E1",
        "bo.kim@example.org: Yes",
        "none",
        "invited by the sync",
    )
    lines = table([signup, SHARED], Checked(), "/out/reconcile.csv")
    assert not [line for line in lines if "@" in line], lines
    assert any("attendance:5" in line and "<email>: Yes" in line for line in lines), lines
    assert any("email:<email>" in line and "C1 C2" in line for line in lines), lines
    assert lines[-1] == "(emails are shown as <email>: the CSV has them, /out/reconcile.csv)"
    assert "<email>" not in "\n".join(table([WRONG], Checked()))
    assert "emails are shown" not in "\n".join(table([WRONG], Checked()))


def test_the_csv_holds_every_field_in_full(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "report.csv"
    long = Discrepancy(WRONG_TIME, "timeslot:1", "E", "x" * 80, "y", "z")
    write_csv(path, [long, SHARED])
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [long.row(), SHARED.row()]
    assert table([long], Checked())[1].count("x") < 80  # cut in the table only
    write_csv(path, [])
    assert path.read_text().strip() == "kind,mobilize_key,pdi_id,expected,found,fix"
    assert before_fix_path(path) == tmp_path / "deep" / "report.before-fix.csv"


def test_fix_corrects_the_id_map_then_hands_the_records_to_the_engine() -> None:
    idmap = IdMap("sqlite://")
    extra = {"payload": {"name": "[Canceled] A"}, "calendar_id": "c1", "canceled": "deleted"}
    idmap.put(EVENT, "ts:1", "E1", "h1", mobilize_id=10, extra=extra)
    idmap.put(EVENT, "ts:2", "E2", "h2", mobilize_id=10, extra={"calendar_id": "c1"})
    idmap.put(CONTACT, "email:a@b.org", "C1", "h3", mobilize_id=7)
    idmap.put(CONTACT, "email:gone@b.org", "C2", "h4")
    cancel = Mend(forget=((EVENT, "ts:1"),), cancel=(("ts:1", "deleted"),), deleted_events=(10,))
    mend = merged(
        [
            Discrepancy("k", "a", "", "", "", "", cancel),
            Discrepancy("k", "b", "", "", "", "", Mend(calendar=(("ts:2", "c2"),), events=(10,))),
            Discrepancy("k", "c", "", "", "", "", Mend(forget=((CONTACT, "email:a@b.org"),))),
            Discrepancy("k", "d", "", "", "", "", Mend(drop=((CONTACT, "email:gone@b.org"),))),
            Discrepancy("k", "e", "", "", "", "", Mend(tombstones=("ts:3",), events=(10,))),
            SHARED,  # cannot be mended: nothing of it
        ]
    )
    assert (mend.events, mend.cancel) == ((10,), (("ts:1", "deleted"),))
    correct_id_map(idmap, mend)
    # Forgotten, so the canceller writes it again; still canceled, for good.
    canceled = idmap.get(EVENT, "ts:1")
    assert canceled is not None
    assert (canceled.content_hash, canceled.extra["canceled"]) == (FORGOTTEN, "deleted")
    moved = idmap.get(EVENT, "ts:2")
    assert moved is not None
    assert (moved.content_hash, moved.extra["calendar_id"]) == ("h2", "c2")
    forgotten = idmap.get(CONTACT, "email:a@b.org")
    assert forgotten is not None
    assert (forgotten.pdi_id, forgotten.content_hash, forgotten.mobilize_id) == ("C1", FORGOTTEN, 7)
    assert idmap.get(CONTACT, "email:gone@b.org") is None
    assert idmap.get(TOMBSTONE, "ts:3") is not None
    data = MobilizeData(events={10: {"id": 10}}, deleted_events={10: {"id": 10}})
    batch = mend_batch(mend, data)
    assert (batch.events, batch.deleted_events, batch.people) == ([{"id": 10}], [{"id": 10}], [])


def test_missing_pdi_credentials_are_named_before_anything_is_read(tmp_path: Path) -> None:
    from target_pdi.errors import ConfigurationError
    from target_pdi.operator_tools.reconcile import run_reconcile
    from target_pdi.target import TargetPDI

    target = TargetPDI(
        config={
            "api_url": "http://127.0.0.1:9",  # nothing listens: a read would fail otherwise
            "username": "sandbox",
            "id_map_url": f"sqlite:///{tmp_path / 'idmap.sqlite'}",
            "reconcile_report_path": str(tmp_path / "report.csv"),
        },
        validate_config=True,
    )
    with pytest.raises(ConfigurationError, match=r"password .*api_token"):
        run_reconcile(target, fix=True)
    assert not (tmp_path / "report.csv").exists()
    assert not (tmp_path / "idmap.sqlite").exists()
