"""Shared fixtures: repo root importable (``sandbox``), an in-process PDI simulator per test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
    from sandbox._server import make_server
    from sandbox.pdi import PdiApp

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


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses to run as root; the server runs as the postgres user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own (Debian's postgresql-15), on 127.0.0.1, for the session."""
    try:
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("PostgreSQL is not installed (pg_config not found)")
    root = Path(tempfile.mkdtemp(prefix="target-pdi-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        _as_postgres([f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(root / "server.log")]
    subprocess.run(_as_postgres([*ctl, "-o", options, "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([*ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
