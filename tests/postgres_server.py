"""A real PostgreSQL server for tests: the system's PostgreSQL 15, started in a temporary folder.

Shared by target-pdi's unit tests (the id map and run lock on PostgreSQL), the end-to-end tests
(Meltano's state and every organization's id map in one database) and the orchestrator's tests:

    with postgres_server() as url:          # postgresql+psycopg://postgres@127.0.0.1:<port>/postgres
        db = create_database(url, "shared")  # a fresh, empty database on it: its URL

docs/dagster.md's "Try Dagster locally" runs one from the shell, until Ctrl-C or SIGTERM:

    .venv/bin/python -m tests.postgres_server --port 5433 mobilize_pdi dagster

The server listens on 127.0.0.1 only (a free port), trusts local connections (no password, so
no secret to leak) and is stopped and deleted when the block ends. Without PostgreSQL installed
it fails, naming the package: a test that needs it must not pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE = "postgresql-15"


def _bindir() -> Path:
    try:
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found = ""
    bindir = Path(found) if found else Path("/usr/lib/postgresql/15/bin")
    if not (bindir / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL is not installed: install the system package ({PACKAGE}, e.g. "
            f"`apt-get install -y {PACKAGE}`; scripts/setup.sh does it)"
        )
    return bindir


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and the server refuse to run as root; they run as the postgres user then.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_server(port: int = 0) -> Iterator[str]:
    """A PostgreSQL server of its own for the block (on ``port``, else a free one); yields the
    SQLAlchemy URL of its ``postgres`` database,
    ``postgresql+psycopg://postgres@127.0.0.1:<port>/postgres``."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="mobilize-pdi-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    port = port or _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    # fsync off: a test server's data need not survive a power cut, and it is much faster.
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "server.log")]
    subprocess.run(_as_postgres([*ctl, "-o", options, "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([*ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Create an empty database ``name`` on the server of ``server_url``; return its URL."""
    import psycopg

    base, _, _ = server_url.rpartition("/")
    plain = base.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # a test's own name, never user input
    return f"{base}/{name}"


def main() -> None:
    import argparse
    import contextlib
    import signal

    parser = argparse.ArgumentParser(
        description="A PostgreSQL server on 127.0.0.1 with empty databases, until stopped "
        "(Ctrl-C or SIGTERM), then deleted with its data."
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("databases", nargs="*", help="databases to create")
    args = parser.parse_args()
    # SIGTERM (`kill %1`) stops it as Ctrl-C does: through the block's cleanup.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt), postgres_server(args.port) as url:
        for name in args.databases:
            print(create_database(url, name), flush=True)
        signal.pause()


if __name__ == "__main__":
    main()
