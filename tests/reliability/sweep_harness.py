"""The sweeps' machinery: PDI that loses an answer or sees its client die at a chosen write,
and target-pdi run in-process, killed there as SIGKILL would kill it.

- `SweptPdi` is the PDI simulator (sandbox/pdi/, harsh answers) numbering the writes it
  applies (POST/PUT/DELETE that changed its state, as its `writes` stat counts them). At write
  `kill_at` it applies the write and then the client dies before the answer arrives; at a write
  `lose` picks, it applies the write and closes the connection unanswered (the client retries,
  or looks for what it created).
- `InProcessSync.run` is one sync, as `meltano run` would make it: target-pdi's own `sync`
  under its run lock, fed the scenario run's input with tap-mobilize's markers, on the real
  HTTP client against the simulator on 127.0.0.1. One request at a time (`max_concurrency` 1):
  the writes come in the same order in every play, so write k is the same write each time.
- A death: the client's stand-in (`PDIClient._send`) raises `Killed`, a BaseException no
  handler of the target catches. What SIGKILL leaves is what was on disk at that moment: the
  stand-in copies the run's files then (the id map as committed, the dead letters and summary
  as last saved), and once the target has unwound (its `finally` blocks flush and save, which
  a killed process never does) the copy is put back. No STATE of the run reaches the next
  one: the next run gets the same input, as the tap would resend it from the last bookmark.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import fastjsonschema
import target_pdi.sync.sinks as target_sinks
from tap_mobilize.schemas import (
    ATTENDANCES_SCHEMA,
    DELETED_EVENTS_SCHEMA,
    EVENTS_SCHEMA,
    PEOPLE_SCHEMA,
)
from target_pdi.pdi.client import PDIClient
from target_pdi.stores.run_lock import holding
from target_pdi.target import TargetPDI

from sandbox.pdi.app import PdiApp
from sandbox.server.http_server import SandboxServer, make_server
from sandbox.server.messages import Request, Response
from tests.reliability.sweep_scenario import Record, Run


class Killed(BaseException):
    """The target's process died here (SIGKILL): nothing it would do next is done."""


@dataclass(frozen=True)
class Write:
    """One write PDI applied: its number in the play, the run it came in, what it was."""

    number: int
    run: int
    method: str
    route: str  # its template: "/events/{id}"
    path: str
    body: Any
    answer: Any  # what PDI answered (whether or not the client got it)

    @property
    def what(self) -> str:
        body = self.body if isinstance(self.body, dict) else {}
        detail = (
            body.get("name")
            or body.get("locationName")
            or body.get("emailAddress")
            or body.get("phoneNumber")
            or body.get("rsvpStatus")
            or (f"{body.get('firstName')} {body.get('lastName')}" if "firstName" in body else "")
        )
        return f"{self.method} {self.route} ({detail})" if detail else f"{self.method} {self.route}"

    def __str__(self) -> str:
        return f"write {self.number} (run {self.run}): {self.what}"


def never(_write: Write) -> bool:
    return False


@dataclass
class Faults:
    """What PDI does at which write of a play, and what it saw."""

    kill_at: int | None = None  # the client dies right after PDI applied this write
    lose: Callable[[Write], bool] = never  # writes whose answer is lost (connection closed)
    killed: bool = False
    run: int = 0  # the scenario run now going on (for the write log)
    writes: list[Write] = field(default_factory=list)
    lost: list[Write] = field(default_factory=list)  # the writes whose answer was lost


class SweptPdi(PdiApp):
    """The PDI simulator, its writes numbered, some answers lost, its client mortal."""

    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults
        self._one_at_a_time = threading.Lock()

    def handle(self, request: Request) -> Response:
        faults = self.faults
        with self._one_at_a_time:
            if faults.killed:
                return Response(drop=True)  # a dead client sends nothing: a safety net
            before = self.extra_stats()["writes"]
            response = super().handle(request)
            if self.extra_stats()["writes"] == before:
                return response
            write = Write(
                len(faults.writes) + 1,
                faults.run,
                request.method,
                (request.route or request.path).removeprefix(f"{request.method} "),
                request.path,
                _json(request.body),
                response.body,
            )
            faults.writes.append(write)
            if write.number == faults.kill_at:
                faults.killed = True
                return Response(drop=True)
            if faults.lose(write):
                faults.lost.append(write)
                return Response(drop=True)
            return response


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


@contextlib.contextmanager
def running_pdi(faults: Faults) -> Iterator[tuple[SweptPdi, SandboxServer]]:
    app = SweptPdi(faults)
    server = make_server(app)
    # Polled often, so that each play's shutdown does not wait half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield app, server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the target, in-process ----------------------------------------------------------------


# The tap's own schemas: records are validated as they would be behind tap-mobilize.
SCHEMAS = {
    "events": EVENTS_SCHEMA,
    "deleted_events": DELETED_EVENTS_SCHEMA,
    "people": PEOPLE_SCHEMA,
    "attendances": ATTENDANCES_SCHEMA,
}


KEY = ["id"]


def tap_output(run: Run) -> str:
    """What tap-mobilize sends for this run: its markers around the changed records."""
    lines: list[Record] = [
        # The tap opens with the state it was given: the last run's bookmark.
        {"type": "STATE", "value": run.given_state, "tap_mobilize": {"outcome": "started"}},
    ]
    for stream, records in run.input.items():
        lines.append(
            {
                "type": "SCHEMA",
                "stream": stream,
                "schema": SCHEMAS[stream],
                "key_properties": ["id"],
            }
        )
        lines += [{"type": "RECORD", "stream": stream, "record": r} for r in records]
    lines.append({"type": "STATE", "value": run.bookmark, "tap_mobilize": {"outcome": "completed"}})
    return "".join(json.dumps(line) + "\n" for line in lines)


@dataclass
class RunResult:
    killed: bool
    writes: int  # writes PDI applied during the run
    states: list[Any]  # the states the target passed on (for Meltano to save)


class InProcessSync:
    """target-pdi run in this process on files of its own, against one PDI simulator."""

    def __init__(self, folder: Path, pdi: SandboxServer, faults: Faults, batch_size: int) -> None:
        self.folder = folder
        self.pdi = pdi
        self.faults = faults
        self.calendars = folder / "calendars.yml"
        self.config = {
            "api_url": pdi.url,
            "username": "sandbox",
            "password": "sandbox-password",
            "api_token": "sandbox-token",
            "id_map_url": f"sqlite:///{folder / 'idmap.sqlite'}",
            "dead_letter_path": str(folder / "dead_letters.jsonl"),
            "summary_path": str(folder / "summary.json"),
            "calendars_file": str(self.calendars),
            "max_concurrency": 1,
            "max_requests_per_second": 1000,
            "backoff_base_seconds": 0.01,
            "request_timeout": 10,
            "batch_size_rows": batch_size,
        }
        self._snapshot: Path | None = None
        self.runs = 0

    def run(self, run: Run) -> RunResult:
        """One sync of ``run``'s input: killed (its files as they were when it died) or not."""
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"  {t}: {c}" for t, c in run.routes.items()]
        self.calendars.write_text("event_types:\n" + "\n".join(lines) + "\n")
        self.faults.run = run.number
        # PDI refuses the record for a reason of its own, during this run only.
        self.pdi.switches.update({"fail_body_containing": run.refused_email, "fail_status": 400})
        writes_before = len(self.faults.writes)
        self.runs += 1
        target = TargetPDI(config=dict(self.config), validate_config=True)
        out = io.StringIO()
        killed = False
        try:
            with (
                dying_client(self.faults, self._remember_files),
                schemas_compiled_once(),
                redirect_stdout(out),
                holding(target.settings),
            ):
                target.sync(io.StringIO(tap_output(run)))
        except Killed:
            killed = True
            runtime = target.drain.runtime
            if runtime is not None:
                runtime.close()
            self._restore_files()
            self.faults.killed = False  # the next run is a new process
        finally:
            self.pdi.switches.update({"fail_body_containing": None})
        # A Singer target writes each state it passes on as one JSON line (the value alone).
        states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
        return RunResult(killed, len(self.faults.writes) - writes_before, states)

    # --- what SIGKILL leaves ---------------------------------------------------------------

    def _remember_files(self) -> None:
        """At the moment of death: the files as they are on disk."""
        snapshot = self.folder.parent / f"{self.folder.name}.at-death"
        shutil.rmtree(snapshot, ignore_errors=True)
        snapshot.mkdir()
        for path in self.folder.iterdir():
            if path.suffix == ".sqlite":
                # What is committed, read as another process would (a copy of the file could
                # catch a transaction half-written).
                with (
                    contextlib.closing(sqlite3.connect(path)) as source,
                    contextlib.closing(sqlite3.connect(snapshot / path.name)) as copy,
                ):
                    source.backup(copy)
            elif path.is_file() and not path.name.endswith(("-journal", ".lock")):
                shutil.copy2(path, snapshot / path.name)
        self._snapshot = snapshot

    def _restore_files(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        assert snapshot is not None, "killed without the moment of death seen"
        for path in self.folder.iterdir():
            if path.is_file() and not path.name.endswith(".lock") and path != self.calendars:
                path.unlink()
        for path in snapshot.iterdir():
            if path.name != self.calendars.name:
                shutil.copy2(path, self.folder / path.name)
        shutil.rmtree(snapshot)


_compile = fastjsonschema.compile


@functools.cache
def _compiled(schema: str) -> Callable[[Any], Any]:
    return _compile(json.loads(schema))  # type: ignore[no-any-return]


@contextlib.contextmanager
def schemas_compiled_once() -> Iterator[None]:
    """The sinks' record validators, compiled once per schema for all the plays (each run
    would compile the tap's four schemas again: a quarter of a play's time)."""
    with mock.patch.object(
        target_sinks.fastjsonschema,
        "compile",
        lambda schema: _compiled(json.dumps(schema, sort_keys=True)),
    ):
        yield


@contextlib.contextmanager
def dying_client(faults: Faults, at_death: Callable[[], None]) -> Iterator[None]:
    """PDIClient whose process dies once PDI has applied the kill write: the request that
    carried it never gets its answer, and no request is sent after it."""
    send = PDIClient._send

    def mortal_send(client: PDIClient, method: str, url: str, **kwargs: Any) -> Any:
        if faults.killed:
            raise Killed
        try:
            response = send(client, method, url, **kwargs)
        except Exception:
            if faults.killed:
                at_death()
                raise Killed from None
            raise
        if faults.killed:
            at_death()
            raise Killed
        return response

    with mock.patch.object(PDIClient, "_send", mortal_send):
        yield
