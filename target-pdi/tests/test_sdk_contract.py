"""The singer-sdk behaviour target-pdi relies on, pinned: these fail if an SDK upgrade changes it.

TargetPDI overrides private SDK methods (target.py, "SDK hooks"); drain.py relies on what the SDK
does around them. Each test below runs the SDK's own code (a bare `Target` with spies, fed real
Singer lines) and checks one promise:

- `drain_all` calls `_drain_all(self._sinks_to_clear, 1)` (that very list: the hook tells archived
  sinks by identity), then `_drain_all(<active sinks>, max_parallelism)`, then writes STATE; when
  `_drain_all` raises, no STATE is written (the exactly-once promise rests on this).
- a schema change archives the old sink, with its buffered records, in `_sinks_to_clear`;
- `_process_record_message` / `_process_state_message` are called once per RECORD / STATE line,
  and the end of input calls `drain_all(is_endofpipe=True)` through `process_endofpipe`;
- `_handle_termination` is the SIGTERM and SIGINT handler;
- a sink's `process_record` context is what `start_drain` hands over, and `is_full` false means
  the SDK never drains a sink on its own;
- `_write_state_message` is the only way STATE reaches stdout (a dry run passes none on);
- `_env_var_config` is the classproperty the SDK reads environment config from;
- every private method TargetPDI overrides still exists in the SDK with the same parameters, and
  the SDK has no attribute of the names TargetPDI adds.
"""

from __future__ import annotations

import inspect
import io
import json
import signal
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target
from target_pdi.sync.sinks import RECORDS, BufferSink
from target_pdi.target import TargetPDI

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}
WIDER = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}

# The private SDK methods TargetPDI overrides (target.py, "SDK hooks").
OVERRIDDEN = (
    "_drain_all",
    "_process_record_message",
    "_process_state_message",
    "_handle_termination",
    "_write_state_message",
)


class Spy(Target):
    """A bare SDK target that records what the SDK calls, and drains nothing itself."""

    name = "target-spy"
    config_jsonschema: dict[str, Any] = {"properties": {}}  # noqa: RUF012
    default_sink_class = BufferSink

    def __init__(self, *, fail_drain: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail_drain = fail_drain
        super().__init__(config={}, parse_env_config=False, validate_config=False)

    def _process_record_message(self, message_dict: dict) -> None:
        self.calls.append(("record", message_dict["record"]["id"]))
        super()._process_record_message(message_dict)

    def _process_state_message(self, message_dict: dict) -> None:
        self.calls.append(("state", message_dict["value"]))
        super()._process_state_message(message_dict)

    def _drain_all(self, sink_list: Iterable[Sink], parallelism: int) -> None:
        archived = sink_list is self._sinks_to_clear
        sinks = list(sink_list)
        # As drain.Drain does: take each sink's buffer, write, then release the sink.
        records = {id(s): s.start_drain().get(RECORDS, []) for s in sinks}
        self.calls.append(("drain", archived, sinks, parallelism, records))
        if self.fail_drain and not archived:
            raise RuntimeError("the ordered write failed")
        for sink in sinks:
            sink.mark_drained()

    def _write_state_message(self, state: dict) -> None:
        self.calls.append(("STATE", state))


def lines(*messages: dict[str, Any]) -> io.StringIO:
    return io.StringIO("".join(json.dumps(m) + "\n" for m in messages))


def schema(stream: str, properties: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": properties, "key_properties": ["id"]}


def record(stream: str, id_: int) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": {"id": id_}}


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """Building a target installs its SIGTERM/SIGINT handlers in this process."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def kinds(calls: list[tuple[Any, ...]]) -> list[str]:
    return [c[0] for c in calls]


def test_drain_all_drains_archived_then_active_sinks_and_only_then_writes_state() -> None:
    spy = Spy()
    spy.max_parallelism = 8
    spy.listen(lines(schema("events"), record("events", 1), state({"bookmark": 1})))

    drains = [c for c in spy.calls if c[0] == "drain"]
    assert kinds(spy.calls) == ["record", "state", "drain", "drain", "STATE"]
    archived, active = drains
    assert archived[1] is True  # the very list self._sinks_to_clear
    assert archived[2] == []
    assert archived[3] == 1
    assert active[1] is False
    assert [s.stream_name for s in active[2]] == ["events"]
    assert active[3] == 8
    assert spy.calls[-1] == ("STATE", {"bookmark": 1})


def test_state_reaches_stdout_only_through_write_state_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A dry run's target passes no STATE on by overriding this one method."""
    spy = Spy()
    spy.listen(lines(schema("events"), record("events", 1), state({"bookmark": 1})))
    assert spy.calls[-1] == ("STATE", {"bookmark": 1})
    assert capsys.readouterr().out == ""


def test_no_state_is_written_when_the_drain_raises() -> None:
    spy = Spy(fail_drain=True)
    with pytest.raises(RuntimeError, match="ordered write failed"):
        spy.listen(lines(schema("events"), record("events", 1), state({"bookmark": 1})))
    assert "STATE" not in kinds(spy.calls)


def test_a_schema_change_archives_the_old_sink_with_its_records_for_the_next_drain() -> None:
    spy = Spy()
    spy.listen(
        lines(
            schema("events"),
            record("events", 1),
            schema("events", WIDER),
            record("events", 2),
            state({"bookmark": 2}),
        )
    )
    (_, _, old, _, old_records), (_, _, new, _, new_records) = [
        c for c in spy.calls if c[0] == "drain"
    ]
    assert [s.stream_name for s in old] == ["events"]
    assert [r["id"] for r in old_records[id(old[0])]] == [1]
    assert [r["id"] for r in new_records[id(new[0])]] == [2]
    assert old[0] is not new[0]


def test_each_record_and_state_line_reaches_its_hook_and_the_end_of_input_drains() -> None:
    spy = Spy()
    spy.listen(
        lines(
            schema("people"),
            record("people", 1),
            state({"a": 1}),
            record("people", 2),
            state({"a": 2}),
        )
    )
    assert [c[:2] for c in spy.calls if c[0] in ("record", "state")] == [
        ("record", 1),
        ("state", {"a": 1}),
        ("record", 2),
        ("state", {"a": 2}),
    ]
    # No drain before the end of input (is_full is never true), then one drain_all.
    assert kinds(spy.calls) == ["record", "state", "record", "state", "drain", "drain", "STATE"]


def test_a_sinks_buffer_is_what_start_drain_hands_over_and_mark_drained_empties_it() -> None:
    spy = Spy()
    spy.listen(lines(schema("people"), record("people", 1), record("people", 2)))
    (_, _, sinks, _, records) = [c for c in spy.calls if c[0] == "drain"][-1]
    assert [r["id"] for r in records[id(sinks[0])]] == [1, 2]
    assert sinks[0].current_size == 0
    assert sinks[0].start_drain() == {}


def test_the_termination_hook_is_the_sigterm_and_sigint_handler() -> None:
    spy = Spy()
    assert signal.getsignal(signal.SIGTERM) == spy._handle_termination
    assert signal.getsignal(signal.SIGINT) == spy._handle_termination


def test_environment_config_is_read_through_the_env_var_config_classproperty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert callable(vars(PluginBase)["_env_var_config"].fget)
    monkeypatch.setenv("TARGET_PDI_BATCH_WAIT_SECONDS", "0.5")
    monkeypatch.setenv("TARGET_PDI_MAX_CONCURRENCY", "3")
    config = TargetPDI._env_var_config
    assert config["batch_wait_seconds"] == 0.5
    assert config["max_concurrency"] == 3


@pytest.mark.parametrize("name", OVERRIDDEN)
def test_every_overridden_private_method_is_still_the_sdks(name: str) -> None:
    ours = vars(TargetPDI)[name]
    theirs = getattr(Target, name)
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)


def test_the_sdk_has_no_attribute_of_the_names_target_pdi_adds() -> None:
    for name in ("drain", "settings", "summary", "mappings", "tap_outcome"):
        assert not hasattr(Target, name), name
