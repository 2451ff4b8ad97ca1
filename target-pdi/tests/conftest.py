"""Shared fixtures: repo root importable (``sandbox``), an in-process PDI simulator per test."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from target_pdi.configuration.settings import Settings
from target_pdi.sync.runtime import Runtime
from target_pdi.sync.summary import Summary

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = Path(__file__).parent / "fixtures"


class Pdi:
    """Handle on a running PDI simulator (real HTTP on 127.0.0.1)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url: str = server.url

    def admin(self, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 simulator
            f"{self.url}/__admin/{path}",
            data=data,
            method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local simulator
            return json.loads(resp.read() or b"null")

    def state(self) -> dict[str, Any]:
        return self.admin("state")  # type: ignore[no-any-return]

    def writes(self) -> int:
        return int(self.admin("stats")["writes"])

    def switches(self, **changes: Any) -> None:
        self.admin("switches", changes)


@pytest.fixture
def pdi() -> Iterator[Pdi]:
    from sandbox.pdi.app import PdiApp
    from sandbox.server.http_server import make_server

    server = make_server(PdiApp()).start_in_thread()
    try:
        yield Pdi(server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def config(pdi: Pdi, tmp_path: Path) -> dict[str, Any]:
    return {
        **sandbox_config(pdi, tmp_path),
        "event_type_calendars": {"CANVASS": "Canvassing", "PHONE_BANK": "Phone Banks"},
        "max_concurrency": 4,
        "backoff_base_seconds": 0.01,
        "request_timeout": 5,
    }


# The `.singer` builders (make_fixtures.py) for tests that write their own input.
HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from make_fixtures import sandbox_config  # noqa: E402 - found through the path just set


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own (the system's PostgreSQL 15) on 127.0.0.1, for the session:
    the URL of its ``postgres`` database (tests/postgres_server.py)."""
    from tests.postgres_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def runtime(config: dict[str, Any]) -> Iterator[Runtime]:
    """One run of the engine against the per-test PDI simulator: each `engine.run(batch)` is
    one drain (one batch) of it."""
    run = Runtime(Settings.from_config(config), Summary())
    try:
        yield run
    finally:
        run.close()
