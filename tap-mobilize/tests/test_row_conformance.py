"""The shaper's conformance is the SDK's: where the tap turns singer-sdk's record conformance off
(``TYPE_CONFORMANCE_LEVEL`` NONE) because the shaper does it in its own walk, every message and
every warning is what the SDK's conformance of the shaped rows gives.

Both ways run in the same code: ``shaper_conforms_rows`` answering False is the SDK's way (the
shaper only shapes, the SDK conforms), which is also what the tap does for events, timeslots
and any catalog that changes a schema or deselects a property.
"""

from __future__ import annotations

import copy
import decimal
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.helpers._typing import _warn_unmapped_properties, conform_record_data_types
from singer_sdk.helpers.conform import TypeConformanceLevel
from tests.fuzz_settings import fuzz
from tests.hostile_fields import field_paths
from tests.hostile_rows import garble

from sandbox.datagen.build import generate
from sandbox.datagen.dataset import DatasetSpec
from sandbox.mobilize.app import MobilizeApp
from sandbox.server.http_server import SandboxServer, make_server
from tap_mobilize import schemas
from tap_mobilize.client import MobilizeStream
from tap_mobilize.row_shape import RowShaper
from tap_mobilize.tap import TapMobilize

KEY = "sandbox-mobilize-key"
# Every garble of tests/hostile_rows.py lands on some row (one row in five is garbled).
SPEC = DatasetSpec(seed=3, org_id=1, events=40, timeslots_per_event=2, people=60, attendances=150)
CATALOG = json.loads((Path(__file__).parents[1] / "catalog.json").read_text())
CLOCK_READINGS = re.compile(r'"(time_extracted|version)": ?("[^"]*"|[0-9]+)')
TAKEN_OVER = {"organization", "deleted_events", "people", "attendances"}


@pytest.fixture(scope="module")
def hostile_sandbox() -> Iterator[SandboxServer]:
    dataset = generate(SPEC)
    server = make_server(MobilizeApp(dataset, api_key=KEY)).start_in_thread()
    garble(dataset)  # after the simulator indexed it (tests/hostile_rows.py)
    yield server
    server.stop()


def _sync(server: SandboxServer, caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """One first sync with the committed catalog, as Meltano runs it: its messages with the
    clock readings blanked, and its warnings."""
    _warn_unmapped_properties.cache_clear()  # the SDK says each list once per process
    caplog.clear()
    config = {"api_url": f"{server.url}/v1", "api_key": KEY, "organization_id": SPEC.org_id}
    tap = TapMobilize(config={**config, "per_page": 7}, catalog=CATALOG, parse_env_config=False)
    levels = {name: stream.TYPE_CONFORMANCE_LEVEL for name, stream in tap.streams.items()}
    out = io.StringIO()
    with caplog.at_level(logging.WARNING), redirect_stdout(out):
        tap.sync_all()
    messages = [CLOCK_READINGS.sub(r'"\1": _', line) for line in out.getvalue().splitlines()]
    warnings = [
        f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING
    ]
    taken_over = {name for name, level in levels.items() if level == TypeConformanceLevel.NONE}
    return messages, [*warnings, f"taken over: {sorted(taken_over)}"]


def test_over_hostile_rows_the_output_is_the_sdks_conformance_of_them(
    hostile_sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages, warnings = _sync(hostile_sandbox, caplog)
    assert warnings[-1] == f"taken over: {sorted(TAKEN_OVER)}"
    # The hostile rows reached the tap: unknown properties at the top (left out with the SDK's
    # warning) and nested (kept: singer-sdk's objects allow additional properties).
    assert any("Properties ('zz_0',)" in w and "'attendances' stream" in w for w in warnings)
    assert any('"zz_gclid":"g"' in m for m in messages)
    assert not any('"zz_source"' in m or '"zz_masked"' in m for m in messages)

    monkeypatch.setattr(MobilizeStream, "shaper_conforms_rows", lambda self: False)
    sdk_messages, sdk_warnings = _sync(hostile_sandbox, caplog)

    assert sdk_warnings[-1] == "taken over: []"
    assert warnings[:-1] == sdk_warnings[:-1]
    assert len(messages) == len(sdk_messages)
    for ours, sdks in zip(messages, sdk_messages, strict=True):
        assert ours == sdks


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: _deselect(c, "given_name"), id="deselected"),
        pytest.param(lambda c: c["schema"]["properties"].pop("blocked_date"), id="other schema"),
    ],
)
def test_a_catalog_that_deselects_or_changes_a_schema_keeps_the_sdks_conformance(
    change: Any,
) -> None:
    catalog = copy.deepcopy(CATALOG)
    people = next(s for s in catalog["streams"] if s["tap_stream_id"] == "people")
    change(people)
    config = {"api_url": "http://127.0.0.1:9/v1", "organization_id": 1}
    tap = TapMobilize(config=config, catalog=catalog, parse_env_config=False)
    assert tap.streams["people"].TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.RECURSIVE
    assert tap.streams["attendances"].TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE


def _deselect(entry: dict[str, Any], name: str) -> None:
    for metadata in entry["metadata"]:
        if metadata["breadcrumb"] == ["properties", name]:
            metadata["metadata"]["selected"] = False


# ----------------------------------------------------------- rows drawn by Hypothesis

SCHEMAS = {
    "attendances": schemas.ATTENDANCES_SCHEMA,
    "people": schemas.PEOPLE_SCHEMA,
    "events": schemas.EVENTS_SCHEMA,
}
_SMALL = generate(DatasetSpec(seed=5, events=4, timeslots_per_event=2, people=4, attendances=6))
BASES = {"attendances": _SMALL.attendances, "people": _SMALL.people, "events": _SMALL.events}
VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(max_size=5),
    st.sampled_from([decimal.Decimal("1.5"), decimal.Decimal("1E+999"), float("nan"), -1e309]),
    st.just([{"zz": 1}, "x", 2]),
    st.dictionaries(st.sampled_from(["id", "name", "zz", "primary"]), st.integers(), max_size=3),
)


def _set(row: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set one field (an array's through its first item), if what leads to it is there."""
    node: Any = row
    for step in path[:-1]:
        in_list = isinstance(node, list) and isinstance(step, int) and step < len(node)
        if not (in_list or (isinstance(node, dict) and step in node)):
            return
        node = node[step]
    if isinstance(node, dict):
        node[path[-1]] = value


@st.composite
def hostile_rows(draw: Any, stream: str) -> list[dict[str, Any]]:
    """One to three real rows of the sandbox's, each with values of any type and properties
    the schema lacks set at drawn places, nested ones included."""
    paths = field_paths(SCHEMAS[stream])
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        row = copy.deepcopy(draw(st.sampled_from(BASES[stream])))
        for _ in range(draw(st.integers(1, 6))):
            path = draw(st.sampled_from(paths))
            if draw(st.booleans()):  # a property the schema lacks, beside a known one
                path = (*path[:-1], draw(st.sampled_from(["zz_new", "zz_old"])))
            _set(row, path, draw(VALUES))
        rows.append(row)
    return rows


def _conformed(stream: str, rows: list[dict[str, Any]], ours: bool) -> tuple[str, list[str]]:
    """The rows as RECORDs hold them, and the warnings: shaped, then conformed by the shaper
    (ours) or by the SDK. All are shaped before the first is finished, as a stream that read
    ahead would: only the last one shaped is finished from the shaper's note."""
    _warn_unmapped_properties.cache_clear()
    logger = logging.getLogger(f"tap-mobilize.{stream}")
    said = _Said()
    logger.addHandler(said)
    try:
        shaper = RowShaper(
            stream, SCHEMAS[stream], "modified_date", logger, leaves_out_unmapped=ours
        )
        shaped = [shaper.shape(row) for row in rows]
        level = TypeConformanceLevel.RECURSIVE
        records = [
            shaper.finish(row)
            if ours
            else conform_record_data_types(stream, row, SCHEMAS[stream], level, logger)
            for row in shaped
        ]
    finally:
        logger.removeHandler(said)
    return json.dumps(records, default=repr), said.lines


@pytest.mark.parametrize("stream", sorted(SCHEMAS))
@fuzz(ci_examples=150)
@given(data=st.data())
def test_the_shaper_conforms_drawn_rows_as_the_sdk_does(stream: str, data: Any) -> None:
    rows = data.draw(hostile_rows(stream))
    assert _conformed(stream, copy.deepcopy(rows), ours=True) == _conformed(
        stream, copy.deepcopy(rows), ours=False
    )


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
